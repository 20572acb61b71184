//go:build mpi

package bench

import (
	"flag"
	"fmt"
	"os"
	"runtime"
	"slices"
	"strings"
	"testing"
	"time"

	"charrnn/dist"
	"charrnn/kernels"
)

// Data-parallel training measured: the same benchmark runs as one process
// (the whole batch, on every core) and under mpirun (the batch shared over
// the ranks, each on its cores), so the two are compared side by side:
//
//	go test -tags mpi -c -o bench.test ./bench
//	./bench.test -test.run '^$' -test.bench Distributed -test.benchtime 20x
//	mpirun -np 2 ./bench.test -test.run '^$' -test.bench Distributed -test.benchtime 20x
//
// Under mpirun, -test.benchtime must be a count (Nx): every rank must run
// as many steps.

// mpiComm is the job's communicator when mpirun started the test binary.
var mpiComm dist.Comm = dist.Local{}

func TestMain(m *testing.M) {
	if !dist.Launched() {
		os.Exit(m.Run())
	}
	c, err := dist.Init()
	if err != nil {
		fmt.Fprintln(os.Stderr, "bench:", err)
		os.Exit(1)
	}
	mpiComm = c
	code := m.Run()
	if err := c.Close(); err != nil {
		fmt.Fprintln(os.Stderr, "bench:", err)
		code = 1
	}
	os.Exit(code)
}

// distributedWorkloads are the throughput workloads, whose batch of 32
// can be shared between ranks.
var distributedWorkloads = []string{"h512b32", "lstm512b32", "gru512b32"}

// BenchmarkDistributedTrain trains a workload's batch over the job's ranks
// (Batch/ranks streams each) on the cores each rank has, and reports the
// job's characters per second, the time of a step, the time a step spends
// waiting for and summing gradients, and the time of one all-reduce of the
// gradient slab alone, with every rank idle.
func BenchmarkDistributedTrain(b *testing.B) {
	c := mpiComm
	if bt := flag.Lookup("test.benchtime"); c.Size() > 1 && !strings.HasSuffix(bt.Value.String(), "x") {
		b.Fatalf("under mpirun, run with -test.benchtime Nx (now %s)", bt.Value)
	}
	data, err := NewData(65, 1<<22)
	if err != nil {
		b.Fatal(err)
	}
	defer data.Close()
	threads := runtime.GOMAXPROCS(0)
	for _, w := range Standard {
		if !slices.Contains(distributedWorkloads, w.Name) {
			continue
		}
		name := fmt.Sprintf("workload=%s/ranks=%d/threads=%d", w.Name, c.Size(), threads)
		share := w
		share.Batch /= c.Size()
		b.Run(name, func(b *testing.B) {
			tr, err := data.NewTrainer(kernels.Parallel(kernels.Best(), threads), share)
			if err != nil {
				b.Fatal(err)
			}
			if err := tr.Join(c); err != nil {
				b.Fatal(err)
			}
			for range 2 { // warm up
				if _, err := tr.TrainStep(); err != nil {
					b.Fatal(err)
				}
			}
			slab := make([]float32, len(tr.Model.Params))
			reduce := func() time.Duration {
				const n = 10
				c.Barrier()
				start := time.Now()
				for range n {
					c.AllReduceSum32(slab)
				}
				return time.Since(start) / n
			}
			alone := reduce()
			chars, comm := tr.CharsSeen, tr.CommTime()
			c.Barrier()
			b.ResetTimer()
			for range b.N {
				if _, err := tr.TrainStep(); err != nil {
					b.Fatal(err)
				}
			}
			b.StopTimer()
			elapsed := b.Elapsed()
			alone = (alone + reduce()) / 2
			steps := float64(b.N)
			b.ReportMetric(float64(tr.CharsSeen-chars)/elapsed.Seconds(), "chars/s")
			b.ReportMetric(elapsed.Seconds()*1e3/steps, "ms/step")
			b.ReportMetric((tr.CommTime()-comm).Seconds()*1e3/steps, "comm-ms/step")
			b.ReportMetric(alone.Seconds()*1e3, "allreduce-ms")
			b.ReportMetric(float64(4*len(slab))/1e6, "slab-MB")
		})
	}
}
