package main

import (
	"charrnn/engine"
	"fmt"
	"net"
	"net/http"
	_ "net/http/pprof" // serves /debug/pprof/ for -pprof
	"os"
	"runtime"
	"runtime/pprof"
)

// profiling is the -cpuprofile, -memprofile and -pprof flags that train,
// sample and bench share.
type profiling struct {
	cpu, mem, addr string
}

func (p *profiling) register(fs *commandFlags) {
	fs.StringVar(&p.cpu, "cpuprofile", "", "write a CPU profile to `FILE` (phases labelled: go tool pprof -tagfocus phase=backward)")
	fs.StringVar(&p.mem, "memprofile", "", "write a heap profile to `FILE` at the end")
	fs.StringVar(&p.addr, "pprof", "", "serve net/http/pprof on `ADDR` (e.g. localhost:6060) while running")
}

// check finds, before any work, profile files that could not be written.
func (p *profiling) check() error {
	for _, f := range []struct{ flag, path string }{{"-cpuprofile", p.cpu}, {"-memprofile", p.mem}} {
		if f.path == "" {
			continue
		}
		if err := checkOutputDir(f.flag, f.path); err != nil {
			return err
		}
		if err := engine.CheckWritable(f.path); err != nil {
			return badInputf("%s %s: %v", f.flag, f.path, err)
		}
	}
	return nil
}

// start begins what was asked for and returns the function that finishes
// it (writing the heap profile, stopping the CPU profile).
func (p *profiling) start() (stop func() error, err error) {
	var cpuFile *os.File
	if p.cpu != "" {
		if cpuFile, err = os.Create(p.cpu); err != nil {
			return nil, badInputf("-cpuprofile: %v", err)
		}
		if err := pprof.StartCPUProfile(cpuFile); err != nil {
			cpuFile.Close()
			return nil, fmt.Errorf("-cpuprofile: %v", err)
		}
	}
	if p.addr != "" {
		ln, err := net.Listen("tcp", p.addr)
		if err != nil {
			if cpuFile != nil {
				pprof.StopCPUProfile()
				cpuFile.Close()
			}
			return nil, badInputf("-pprof: %v", err)
		}
		fmt.Fprintf(os.Stderr, "charrnn: pprof at http://%s/debug/pprof/\n", ln.Addr())
		go http.Serve(ln, nil)
	}
	return func() error {
		if cpuFile != nil {
			pprof.StopCPUProfile()
			if err := cpuFile.Close(); err != nil {
				return fmt.Errorf("-cpuprofile: %v", err)
			}
		}
		if p.mem != "" {
			f, err := os.Create(p.mem)
			if err != nil {
				return fmt.Errorf("-memprofile: %v", err)
			}
			runtime.GC()
			if err := pprof.WriteHeapProfile(f); err != nil {
				f.Close()
				return fmt.Errorf("-memprofile: %v", err)
			}
			return f.Close()
		}
		return nil
	}, nil
}
