//go:build mpi

package dist

import (
	"flag"
	"fmt"
	"strings"
	"testing"
)

// The benchmarks of the MPI Comm run under mpirun, and every rank must run
// the same collectives: so a fixed iteration count (-test.benchtime Nx), and
// every rank loops as many times as rank 0 says.
//
//	mpirun -np 2 ./dist.test -test.run '^$' -test.bench . -test.benchtime 200x
//	mpirun -np 2 --mca btl tcp,self ./dist.test ...      (TCP only, as between machines)

// benchIterations returns rank 0's b.N, after all ranks have met at a
// barrier so that they start timing together.
func benchIterations(b *testing.B, c Comm) int {
	b.Helper()
	if bt := flag.Lookup("test.benchtime"); c.Size() > 1 && !strings.HasSuffix(bt.Value.String(), "x") {
		b.Fatalf("under mpirun, run benchmarks with -test.benchtime Nx (now %s): with a duration, ranks could disagree on the number of runs and wait for each other forever", bt.Value)
	}
	n := []int64{int64(b.N)}
	if err := BroadcastSlice(c, n, 0); err != nil {
		b.Fatal(err)
	}
	if err := c.Barrier(); err != nil {
		b.Fatal(err)
	}
	return int(n[0])
}

func BenchmarkAllReduceSum32(b *testing.B) {
	c := mpiForTest(b)
	for _, n := range []int{1, 1 << 10, 1 << 14, 1 << 18, 1 << 20, 1 << 22} { // 4 B: latency; ...; 1-16 MB: gradient slabs
		b.Run(fmt.Sprintf("ranks=%d/bytes=%d", c.Size(), 4*n), func(b *testing.B) {
			buf := make([]float32, n)
			iters := benchIterations(b, c)
			b.SetBytes(int64(4 * n))
			b.ReportAllocs()
			b.ResetTimer()
			for range iters {
				if err := c.AllReduceSum32(buf); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// BenchmarkOverlap measures whether a 4 MB all-reduce overlaps work done
// meanwhile by the same rank: work alone, all-reduce alone, one after the
// other, the non-blocking all-reduce started before the work and waited for
// after it, and the same with Test called between pieces of the work.
func BenchmarkOverlap(b *testing.B) {
	c := mpiForTest(b)
	grad := make([]float32, 1<<20)
	work := make([]float32, 1<<14)
	const pieces = 64
	compute := func(between func()) {
		for range pieces {
			for i := range work {
				work[i] = work[i]*0.999 + 1
			}
			between()
		}
	}
	nothing := func() {}
	allReduce := func() {
		if err := c.AllReduceSum32(grad); err != nil {
			b.Fatal(err)
		}
	}
	overlapped := func(test bool) func() {
		return func() {
			req, err := c.IAllReduceSum32(grad)
			if err != nil {
				b.Fatal(err)
			}
			poll := nothing
			if test {
				poll = func() { req.Test() }
			}
			compute(poll)
			if err := req.Wait(); err != nil {
				b.Fatal(err)
			}
		}
	}
	for _, mode := range []struct {
		name string
		step func()
	}{
		{"work", func() { compute(nothing) }},
		{"allreduce", allReduce},
		{"sequential", func() { compute(nothing); allReduce() }},
		{"nonblocking", overlapped(false)},
		{"nonblocking+test", overlapped(true)},
	} {
		b.Run(fmt.Sprintf("ranks=%d/mode=%s", c.Size(), mode.name), func(b *testing.B) {
			iters := benchIterations(b, c)
			b.ResetTimer()
			for range iters {
				mode.step()
			}
		})
	}
}
