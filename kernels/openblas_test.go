//go:build openblas

package kernels

import (
	"fmt"
	"os"
	"os/exec"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"charrnn/kernels/internal/openblas"
)

func TestOpenBLASStatus(t *testing.T) {
	core, weak, fix := OpenBLASStatus()
	t.Logf("corename %q (%v), host %v, weak %v, fix %q, %s", core, openblasCoreTier(core), hostTier(), weak, fix, openblas.Config())
	if w := OpenBLASWarning(); w != "" {
		t.Log(w)
	}
	if core == "" || core != openblas.CoreName() {
		t.Fatalf("OpenBLASStatus corename %q, library says %q", core, openblas.CoreName())
	}
	if !strings.Contains(openblas.Config(), "OpenBLAS") {
		t.Fatalf("openblas.Config() %q does not name OpenBLAS", openblas.Config())
	}
	if weak != (fix != "") || weak != (OpenBLASWarning() != "") {
		t.Fatalf("weak %v but fix %q and warning %q", weak, fix, OpenBLASWarning())
	}
	wantRank := openblasRank
	if weak {
		wantRank = openblasWeakRank
	}
	if got := openblasRegisteredRank(t); got != wantRank {
		t.Fatalf("openblas registered with rank %d, want %d (weak %v)", got, wantRank, weak)
	}
}

func openblasRegisteredRank(t *testing.T) int {
	for _, r := range sortedRegistrations() {
		if r.backend.Name() == "openblas" {
			return r.rank
		}
	}
	t.Fatal("openblas is not registered")
	return 0
}

func TestOpenBLASThreads(t *testing.T) {
	if n := openblas.NumThreads(); n != 1 {
		t.Fatalf("OpenBLAS runs %d threads per call by default, want 1", n)
	}
	openblas.SetNumThreads(2)
	defer openblas.SetNumThreads(1)
	if n := openblas.NumThreads(); n != 2 {
		t.Fatalf("after SetNumThreads(2): %d threads", n)
	}
}

// The helper process reports what OpenBLAS selected in a fresh process, or
// first re-executes itself, depending on helperEnv.
const helperEnv = "CHARRNN_TEST_OPENBLAS_HELPER"

func TestOpenBLASHelperProcess(t *testing.T) {
	mode := os.Getenv(helperEnv)
	if mode == "" {
		t.Skip("helper process for the OPENBLAS_CORETYPE tests")
	}
	if _, guarded := os.LookupEnv(reexecGuardEnv); mode == "reexec" && !guarded {
		err := reexecWith(coretypeFor(hostTier()), syscall.Exec)
		t.Fatalf("reexecWith returned: %v", err)
	}
	core, weak, _ := OpenBLASStatus()
	fmt.Printf("REPORT core=%s weak=%v rank=%d env=%s guard=%s args=%d\n",
		core, weak, openblasRegisteredRank(t), os.Getenv(coretypeEnv), os.Getenv(reexecGuardEnv), len(os.Args))
}

// runHelper runs the test binary's helper in a child process with
// OPENBLAS_CORETYPE set to coretype and returns its report line.
func runHelper(t *testing.T, mode, coretype string) string {
	t.Helper()
	cmd := exec.Command(os.Args[0], "-test.run=^TestOpenBLASHelperProcess$", "-test.v")
	var env []string
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, coretypeEnv+"=") && !strings.HasPrefix(kv, reexecGuardEnv+"=") {
			env = append(env, kv)
		}
	}
	cmd.Env = append(env, helperEnv+"="+mode, coretypeEnv+"="+coretype)
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("helper (%s, %s=%s): %v\n%s", mode, coretypeEnv, coretype, err, out)
	}
	for _, line := range strings.Split(string(out), "\n") {
		if r, ok := strings.CutPrefix(line, "REPORT "); ok {
			return r
		}
	}
	t.Fatalf("helper printed no report:\n%s", out)
	return ""
}

func TestOpenBLASCoretypeInChild(t *testing.T) {
	host := hostTier()
	if host < tierAVX {
		t.Skipf("this CPU (%v) has nothing better than OpenBLAS's SSE kernels", host)
	}
	// Prescott stands in for a misdetected CPU: the library must honour
	// the variable at load, and the backend must see it is weak and rank
	// itself below the assembly backends.
	want := fmt.Sprintf("core=Prescott weak=true rank=%d env=Prescott guard=", openblasWeakRank)
	if got := runHelper(t, "report", "Prescott"); !strings.HasPrefix(got, want) {
		t.Fatalf("child with Prescott: %q, want prefix %q", got, want)
	}
	best := coretypeFor(host)
	want = fmt.Sprintf("core=%s weak=false rank=%d env=%s guard=", best, openblasRank, best)
	if got := runHelper(t, "report", best); !strings.HasPrefix(got, want) {
		t.Fatalf("child with %s: %q, want prefix %q", best, got, want)
	}
}

func TestReexecWithCoretype(t *testing.T) {
	host := hostTier()
	if host < tierAVX {
		t.Skipf("this CPU (%v) has nothing better than OpenBLAS's SSE kernels", host)
	}
	// The child starts with Prescott, re-executes itself through
	// /proc/self/exe, and the new image must run the right kernels with
	// the guard set and the same arguments.
	best := coretypeFor(host)
	want := fmt.Sprintf("core=%s weak=false rank=%d env=%s guard=1 args=3", best, openblasRank, best)
	if got := runHelper(t, "reexec", "Prescott"); got != want {
		t.Fatalf("re-executed child: %q, want %q", got, want)
	}
}

// BenchmarkOpenBLAS times the backend on the engine's shapes under the
// kernel set OpenBLAS selected at load. To compare kernel sets side by side,
// run the test binary several times with different OPENBLAS_CORETYPE
// values; the core name is part of the benchmark name.
func BenchmarkOpenBLAS(b *testing.B) {
	core, _, _ := OpenBLASStatus()
	be := newOpenBLAS()
	for _, s := range []struct {
		name    string
		m, n, k int // k == 0: GEMV m×n
		trans   bool
	}{
		{name: "gemv", m: 512, n: 512},
		{name: "gemv-trans", m: 512, n: 512, trans: true},
		{name: "gemm", m: 512, n: 32, k: 512},
		{name: "gemm", m: 512, n: 512, k: 512},
	} {
		shape := fmt.Sprintf("%dx%d", s.m, s.n)
		flops := 2 * float64(s.m*s.n)
		if s.k > 0 {
			shape += fmt.Sprintf("x%d", s.k)
			flops *= float64(s.k)
		}
		b.Run(fmt.Sprintf("core=%s/%s/%s", core, s.name, shape), func(b *testing.B) {
			a := make([]float32, s.m*max(s.n, s.k))
			x := make([]float32, max(s.m, s.n, s.k)*s.n)
			y := make([]float32, s.m*s.n)
			for i := range a {
				a[i] = float32(i%13) / 13
			}
			for b.Loop() {
				if s.k == 0 {
					be.Gemv(s.trans, s.m, s.n, 1, a, s.n, x, 0, y)
				} else {
					be.Gemm(false, false, s.m, s.n, s.k, 1, a, s.k, x, s.n, 0, y, s.n)
				}
			}
			b.ReportMetric(flops*float64(b.N)/b.Elapsed().Seconds()/1e9, "GFLOP/s")
		})
	}
}

// TestOpenBLASElementwise: what BLAS lacks, the registered openblas backend
// takes from the best other backend this CPU runs, not from Generic.
func TestOpenBLASElementwise(t *testing.T) {
	b, err := Lookup("openblas")
	if err != nil {
		t.Fatal(err)
	}
	var want Backend = Generic{}
	for _, c := range Supported() {
		if _, ok := c.(openblasBackend); !ok {
			want = c
			break
		}
	}
	if got := b.(openblasBackend).Backend.Name(); got != want.Name() {
		t.Fatalf("element-wise ops from %s, want %s", got, want.Name())
	}
}

// Operands for TestOpenBLASFlushesSubnormals, package variables so that the
// compiler cannot fold the products after the calls.
var (
	obSubnormal float32 = 0x1p-130
	obBig       float32 = 0x1p20
	obMinNormal float32 = 0x1p-126
	obHalf      float32 = 0.5
)

// TestOpenBLASFlushesSubnormals: a product of flushMinMACs multiply-adds or
// more runs with DAZ and FTZ set (a subnormal operand reads as zero), a
// smaller one computes subnormals exactly, and Go code after either still
// computes subnormals.
func TestOpenBLASFlushesSubnormals(t *testing.T) {
	if runtime.GOARCH != "amd64" {
		t.Skip("MXCSR is x86's")
	}
	k := newOpenBLAS()
	fill := func(n int, v float32) []float32 {
		x := make([]float32, n)
		for i := range x {
			x[i] = v
		}
		return x
	}
	for _, c := range []struct {
		name    string
		m, n, l int
		flushed bool
	}{
		{"GEMM of 2^20 multiply-adds", 64, 128, 128, true},
		{"GEMM below", 8, 8, 8, false},
		{"GEMV of 2^20", 1024, 1024, 0, true},
		{"GEMV below", 64, 64, 0, false},
	} {
		var out []float32
		if c.l > 0 {
			out = make([]float32, c.m*c.n)
			k.Gemm(false, false, c.m, c.n, c.l, 1, fill(c.m*c.l, obSubnormal), c.l, fill(c.l*c.n, obBig), c.n, 0, out, c.n)
		} else {
			out = make([]float32, c.m)
			k.Gemv(false, c.m, c.n, 1, fill(c.m*c.n, obSubnormal), c.n, fill(c.n, obBig), 0, out)
		}
		for i, v := range out {
			if (v == 0) != c.flushed {
				t.Fatalf("%s: output %d = %v, want it flushed: %v", c.name, i, v, c.flushed)
			}
		}
		if x := obMinNormal * obHalf; x == 0 {
			t.Fatalf("%s left FTZ set", c.name)
		}
		if x := obSubnormal * obBig; x == 0 {
			t.Fatalf("%s left DAZ set", c.name)
		}
	}
}

// TestOpenBLASFlushingStaysInTheCalls: goroutines computing subnormals
// beside flushed OpenBLAS calls, more goroutines than threads, never see
// the calls' MXCSR (the calling goroutine holds its thread meanwhile).
func TestOpenBLASFlushingStaysInTheCalls(t *testing.T) {
	if runtime.GOARCH != "amd64" {
		t.Skip("MXCSR is x86's")
	}
	k := newOpenBLAS()
	var wg sync.WaitGroup
	stop := make(chan struct{})
	for range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			const n = 128 // 2^21 multiply-adds a call: flushed
			a, b, c := make([]float32, n*n), make([]float32, n*n), make([]float32, n*n)
			for {
				select {
				case <-stop:
					return
				default:
				}
				k.Gemm(false, false, n, n, n, 1, a, n, b, n, 0, c, n)
			}
		}()
	}
	var zeros atomic.Int64
	ops, mul := []float32{obMinNormal, obSubnormal}, []float32{obHalf, obBig}
	for range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; ; i++ {
				select {
				case <-stop:
					return
				default:
				}
				for j := range 1000 {
					if ops[(i+j)%2]*mul[(i+j)%2] == 0 {
						zeros.Add(1)
					}
				}
			}
		}()
	}
	time.Sleep(300 * time.Millisecond)
	close(stop)
	wg.Wait()
	if n := zeros.Load(); n != 0 {
		t.Fatalf("%d products computed beside the OpenBLAS calls were flushed to zero", n)
	}
}
