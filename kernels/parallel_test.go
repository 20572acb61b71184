package kernels

import (
	"fmt"
	"io"
	"math/rand/v2"
	"runtime"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
	"unsafe"
)

func TestParallelUnwrapped(t *testing.T) {
	for _, w := range []int{-1, 0, 1} {
		if b := Parallel(Generic{}, w); b != (Generic{}) {
			t.Fatalf("Parallel(generic, %d) = %T, want the backend itself", w, b)
		}
	}
	b := Parallel(Generic{}, 2)
	defer b.(io.Closer).Close()
	if b.Name() != "generic" {
		t.Fatalf("Parallel(generic, 2).Name() = %q", b.Name())
	}
	// Unsplit gives back the backend a Parallel one wraps, any other as it is.
	if u := Unsplit(b); u != (Generic{}) {
		t.Fatalf("Unsplit(Parallel(generic, 2)) = %T, want generic", u)
	}
	if u := Unsplit(Generic{}); u != (Generic{}) {
		t.Fatalf("Unsplit(generic) = %T, want generic", u)
	}
}

func TestBlockStart(t *testing.T) {
	for _, c := range []struct {
		total, workers int
		want           []int
	}{
		{512, 2, []int{0, 256, 512}},
		{513, 2, []int{0, 256, 513}},
		{65, 2, []int{0, 32, 65}},
		{100, 2, []int{0, 48, 100}},
		{17, 2, []int{0, 16, 17}},
		{7, 2, []int{0, 0, 7}},
		{513, 3, []int{0, 176, 336, 513}},
		{33, 3, []int{0, 16, 16, 33}},
		{1024, 4, []int{0, 256, 512, 768, 1024}},
	} {
		var got []int
		for i := 0; i <= c.workers; i++ {
			got = append(got, blockStart(i, c.total, c.workers))
		}
		if fmt.Sprint(got) != fmt.Sprint(c.want) {
			t.Errorf("blocks of %d over %d workers start at %v, want %v", c.total, c.workers, got, c.want)
		}
	}
}

// recorder is a backend that records the calls it gets and holds each one
// until `meet` calls are in progress at once, so that a test can tell that
// the blocks of one split call really run concurrently.
type recorder struct {
	Generic
	base *float32 // &C[0] (or &y[0]) of the whole call
	meet int

	mu      sync.Mutex
	arrived int
	all     chan struct{}
	calls   []string
}

func (r *recorder) record(format string, args ...any) {
	r.mu.Lock()
	r.calls = append(r.calls, fmt.Sprintf(format, args...))
	r.arrived++
	if r.arrived == r.meet {
		close(r.all)
	}
	r.mu.Unlock()
	select {
	case <-r.all:
	case <-time.After(5 * time.Second):
	}
}

// offset is where s starts in the call's output.
func (r *recorder) offset(s []float32) int {
	return int(uintptr(unsafe.Pointer(&s[0]))-uintptr(unsafe.Pointer(r.base))) / 4
}

func (r *recorder) Gemv(trans bool, m, n int, alpha float32, a []float32, lda int, x []float32, beta float32, y []float32) {
	r.record("gemv trans=%v %dx%d y+%d", trans, m, n, r.offset(y))
	r.Generic.Gemv(trans, m, n, alpha, a, lda, x, beta, y)
}

func (r *recorder) Gemm(transA, transB bool, m, n, k int, alpha float32, a []float32, lda int, b []float32, ldb int, beta float32, c []float32, ldc int) {
	r.record("gemm %dx%dx%d C+%d", m, n, k, r.offset(c))
	r.Generic.Gemm(transA, transB, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc)
}

func TestParallelSplits(t *testing.T) {
	a := make([]float32, 600*600)
	x := make([]float32, 3000)
	y := make([]float32, 600)
	c := make([]float32, 600*600)
	for _, tc := range []struct {
		name string
		call func(b Backend)
		out  []float32
		want []string // in any order; one entry means "not split"
	}{
		{"gemv 512x512", func(b Backend) { b.Gemv(false, 512, 512, 1, a, 512, x, 0, y) }, y,
			[]string{"gemv trans=false 256x512 y+0", "gemv trans=false 256x512 y+256"}},
		{"gemv trans 512x513", func(b Backend) { b.Gemv(true, 512, 513, 1, a, 513, x, 0, y) }, y,
			[]string{"gemv trans=true 512x256 y+0", "gemv trans=true 512x257 y+256"}},
		{"gemv 100x2622 (by size)", func(b Backend) { b.Gemv(false, 100, 2622, 1, a, 2622, x, 0, y) }, y,
			[]string{"gemv trans=false 48x2622 y+0", "gemv trans=false 52x2622 y+48"}},
		{"gemv 65x512 (small)", func(b Backend) { b.Gemv(false, 65, 512, 1, a, 512, x, 0, y) }, y,
			[]string{"gemv trans=false 65x512 y+0"}},
		{"gemm 512x32x512 by rows", func(b Backend) { b.Gemm(false, false, 512, 32, 512, 1, a, 512, a, 32, 0, c, 40) }, c,
			[]string{"gemm 256x32x512 C+0", "gemm 256x32x512 C+10240"}},
		{"gemm 32x512x512 by columns", func(b Backend) { b.Gemm(true, true, 32, 512, 512, 1, a, 32, a, 512, 0, c, 520) }, c,
			[]string{"gemm 32x256x512 C+0", "gemm 32x256x512 C+256"}},
		{"gemm 64x65x16 (small)", func(b Backend) { b.Gemm(false, false, 64, 65, 16, 1, a, 16, a, 65, 0, c, 65) }, c,
			[]string{"gemm 64x65x16 C+0"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := &recorder{base: &tc.out[0], meet: len(tc.want), all: make(chan struct{})}
			p := Parallel(r, 2)
			defer p.(io.Closer).Close()
			start := time.Now()
			tc.call(p)
			if d := time.Since(start); d > 4*time.Second {
				t.Fatalf("the %d blocks did not run concurrently (took %v)", len(tc.want), d)
			}
			got := fmt.Sprint(sortedStrings(r.calls))
			if want := fmt.Sprint(sortedStrings(tc.want)); got != want {
				t.Fatalf("calls %s, want %s", got, want)
			}
		})
	}
}

// TestParallelConcurrentCallers has several goroutines share one Parallel
// backend: one of them gets the pool, the others run inline, and every
// result must be right (and, under -race, free of data races).
func TestParallelConcurrentCallers(t *testing.T) {
	p := Parallel(Generic{}, 2)
	defer p.(io.Closer).Close()
	const m, n = 600, 520
	rng := rand.New(rand.NewPCG(13, 14))
	a := randomSlice(rng, m*n)
	var wg sync.WaitGroup
	for g := range 4 {
		x := randomSlice(rng, n)
		want := make([]float32, m)
		Generic{}.Gemv(false, m, n, 1, a, n, x, 0, want)
		wg.Go(func() {
			y := make([]float32, m)
			for it := range 50 {
				clear(y)
				p.Gemv(false, m, n, 1, a, n, x, 0, y)
				for i := range y {
					if y[i] != want[i] {
						t.Errorf("goroutine %d, call %d: y[%d] = %v, want %v", g, it, i, y[i], want[i])
						return
					}
				}
			}
		})
	}
	wg.Wait()
}

func TestParallelClose(t *testing.T) {
	// Pools that earlier tests dropped stop when the garbage collector finds
	// them: let that happen first, so only this pool's goroutines move.
	before := settledPoolGoroutines()
	p := Parallel(Generic{}, 4)
	// The goroutines are started; give them a moment to be running.
	n := poolGoroutines()
	for deadline := time.Now().Add(2 * time.Second); n < before+3 && time.Now().Before(deadline); n = poolGoroutines() {
		time.Sleep(time.Millisecond)
	}
	if n != before+3 {
		t.Fatalf("Parallel(_, 4) started %d goroutines, want 3", n-before)
	}
	c := p.(io.Closer)
	if err := c.Close(); err != nil {
		t.Fatal(err)
	}
	if err := c.Close(); err != nil {
		t.Fatal("second Close:", err)
	}
	for deadline := time.Now().Add(5 * time.Second); poolGoroutines() > before; {
		if time.Now().After(deadline) {
			t.Fatalf("%d pool goroutines still running after Close", poolGoroutines()-before)
		}
		time.Sleep(time.Millisecond)
	}
	// A closed pool still computes, inline: exactly as its backend does.
	rng := rand.New(rand.NewPCG(15, 16))
	a, x, y := randomSlice(rng, 512*512), randomSlice(rng, 512), randomSlice(rng, 512)
	want := slices.Clone(y)
	Generic{}.Gemv(false, 512, 512, 1.5, a, 512, x, 0.25, want)
	p.Gemv(false, 512, 512, 1.5, a, 512, x, 0.25, y)
	if !slices.Equal(y, want) {
		t.Fatal("Gemv after Close differs from the generic backend's")
	}
}

func TestParallelAllocs(t *testing.T) {
	p := Parallel(Generic{}, 2)
	defer p.(io.Closer).Close()
	a := make([]float32, 512*512)
	x := make([]float32, 512)
	y := make([]float32, 512)
	c := make([]float32, 512*512)
	for name, f := range map[string]func(){
		"gemv":         func() { p.Gemv(false, 512, 512, 1, a, 512, x, 0, y) },
		"gemv trans":   func() { p.Gemv(true, 512, 512, 1, a, 512, x, 1, y) },
		"gemv small":   func() { p.Gemv(false, 65, 512, 1, a, 512, x, 0, y) },
		"gemm rows":    func() { p.Gemm(false, true, 512, 32, 512, 1, a, 512, a, 512, 0, c, 32) },
		"gemm cols":    func() { p.Gemm(true, false, 32, 512, 512, 1, a, 32, a, 512, 0, c, 512) },
		"gemm small":   func() { p.Gemm(false, false, 16, 16, 16, 1, a, 16, a, 16, 0, c, 16) },
		"update split": func() { p.AdagradUpdate(c, a, a, 0.1, 1, 5) },
		"sumsq split":  func() { p.SumSquares(c) },
	} {
		if n := testing.AllocsPerRun(20, f); n != 0 {
			t.Errorf("%s: %v allocations per call", name, n)
		}
	}
}

func randomSlice(rng *rand.Rand, n int) []float32 {
	s := make([]float32, n)
	for i := range s {
		s[i] = rng.Float32()*2 - 1
	}
	return s
}

func sortedStrings(s []string) []string {
	s = slices.Clone(s)
	slices.Sort(s)
	return s
}

// BenchmarkParallelGemv measures the pool on the recurrence's GEMV: the
// workers=2 case reports its speed-up over workers=1 of the same backend,
// measured just before it in the same run.
func BenchmarkParallelGemv(b *testing.B) {
	const m, n = 512, 512
	rng := rand.New(rand.NewPCG(17, 18))
	a, x, y := randomSlice(rng, m*n), randomSlice(rng, n), make([]float32, m)
	for _, be := range Supported() {
		var single time.Duration // ns/op of workers=1
		for _, workers := range []int{1, 2} {
			b.Run(fmt.Sprintf("backend=%s/workers=%d/%dx%d", be.Name(), workers, m, n), func(b *testing.B) {
				p := Parallel(be, workers)
				if c, ok := p.(io.Closer); ok {
					defer c.Close()
				}
				for b.Loop() {
					p.Gemv(false, m, n, 1, a, n, x, 0, y)
				}
				perOp := b.Elapsed() / time.Duration(b.N)
				b.ReportMetric(2*m*n/perOp.Seconds()/1e9, "GFLOP/s")
				if workers == 1 {
					single = perOp
				} else if single > 0 {
					b.ReportMetric(single.Seconds()/perOp.Seconds(), "speedup")
				}
			})
		}
	}
}

// nop is a backend whose Gemv does nothing, to time the pool's own cost.
type nop struct{ Generic }

func (nop) Gemv(bool, int, int, float32, []float32, int, []float32, float32, []float32) {}

// BenchmarkParallelDispatch is the cost of splitting a 512×512 GEMV over
// two workers with no work in it: hand-off, wake-up and waiting, or taking
// the block back when the helper is slower to pick it up than the caller's
// empty block takes. "spinning" calls back to back, so the helper is still
// spinning; "parked" lets it park first (the sleep is not counted).
func BenchmarkParallelDispatch(b *testing.B) {
	a, x, y := make([]float32, 512*512), make([]float32, 512), make([]float32, 512)
	for _, idle := range []time.Duration{0, 2 * helperSpin} {
		name := "spinning"
		if idle > 0 {
			name = "parked"
		}
		b.Run(name, func(b *testing.B) {
			p := Parallel(nop{}, 2)
			defer p.(io.Closer).Close()
			// Timed call by call: Stop/StartTimer around the sleep would
			// cost more than what is measured.
			var inCalls time.Duration
			for b.Loop() {
				if idle > 0 {
					time.Sleep(idle)
				}
				start := time.Now()
				p.Gemv(false, 512, 512, 1, a, 512, x, 0, y)
				inCalls += time.Since(start)
			}
			b.ReportMetric(float64(inCalls.Nanoseconds())/float64(b.N), "ns/call")
		})
	}
}

// poolGoroutines counts the goroutines serving a Parallel pool.
func poolGoroutines() int {
	buf := make([]byte, 1<<20)
	for {
		n := runtime.Stack(buf, true)
		if n < len(buf) {
			return strings.Count(string(buf[:n]), "kernels.(*pool).serve(")
		}
		buf = make([]byte, 2*len(buf))
	}
}

// settledPoolGoroutines collects garbage until no more pool goroutines stop,
// and returns how many are left.
func settledPoolGoroutines() int {
	n := poolGoroutines()
	for i := 0; i < 50; i++ {
		runtime.GC()
		time.Sleep(2 * time.Millisecond)
		m := poolGoroutines()
		if m == n && i >= 2 {
			return m
		}
		n = m
	}
	return n
}

// BenchmarkHandoff is the round trip of a cache line between two goroutines
// on two cores: one stores, the other sees it and answers. It bounds how
// finely two cores can share a step's work (set it beside a small GEMV's
// time, BenchmarkGemv/backend=.../100x100), whatever the pool's own overheads.
func BenchmarkHandoff(b *testing.B) {
	if runtime.GOMAXPROCS(0) < 2 {
		b.Skip("needs two cores")
	}
	var line atomic.Int64
	done := make(chan struct{})
	go func() {
		defer close(done)
		for want := int64(1); ; want += 2 {
			for line.Load() != want {
				if line.Load() < 0 {
					return
				}
			}
			line.Store(want + 1)
		}
	}()
	var v int64
	for b.Loop() {
		line.Store(v + 1)
		for line.Load() != v+2 {
		}
		v += 2
	}
	line.Store(-1)
	<-done
}

// TestParallelGemvSameBits pins that a GEMV on two or four workers gives the
// bits it gives on one, on every backend but OpenBLAS (which may sum a shorter
// call another way): the engine's results must not depend on the cores.
// The widths straddle the AVX-512 short kernels' 128 floats, whose halves
// would be short while the whole is not; 3200 rows are a window's bias
// sums (sumRows).
func TestParallelGemvSameBits(t *testing.T) {
	rng := rand.New(rand.NewPCG(21, 22))
	const m = 3200
	for _, b := range Supported() {
		if b.Name() == "openblas" {
			continue
		}
		two, four := Parallel(b, 2), Parallel(b, 4)
		for _, n := range []int{100, 129, 200, 256, 257, 300, 512, 600} {
			a, x := make([]float32, m*n), make([]float32, m)
			for i := range a {
				a[i] = float32(rng.NormFloat64())
			}
			for i := range x {
				x[i] = float32(rng.NormFloat64())
			}
			for _, trans := range []bool{false, true} {
				rows, cols, in, out := m, n, n, m
				if trans {
					in, out = m, n
				}
				want := make([]float32, out)
				b.Gemv(trans, rows, cols, 1, a, n, x[:in], 0, want)
				for w, p := range map[int]Backend{2: two, 4: four} {
					got := make([]float32, out)
					p.Gemv(trans, rows, cols, 1, a, n, x[:in], 0, got)
					for i := range want {
						if got[i] != want[i] {
							t.Fatalf("%s, %d×%d, trans=%v, on %d workers: y[%d] = %v, on one %v", b.Name(), m, n, trans, w, i, got[i], want[i])
						}
					}
				}
			}
		}
		two.(io.Closer).Close()
		four.(io.Closer).Close()
	}
}

// TestParallelGemvBF16SameBits pins that a bfloat16 GEMV split over two or
// four workers gives the bits it gives whole, on every backend with BF16:
// the engine splits it or not with the machine's speed (engine/single.go).
// The shapes are at and above the split's size, with odd row counts and
// rows of 300 (not a multiple of the kernels' 32 elements).
func TestParallelGemvBF16SameBits(t *testing.T) {
	rng := rand.New(rand.NewPCG(23, 24))
	ran := false
	for _, b := range Supported() {
		ops, ok := BF16Of(b)
		if !ok || b.Name() == "openblas" {
			continue
		}
		ran = true
		two, four := Parallel(b, 2), Parallel(b, 4)
		for _, s := range [][2]int{{512, 512}, {1031, 256}, {2048, 512}, {1024, 300}, {4096, 64}} {
			m, n := s[0], s[1]
			a, x := randBF16(ops, rng, m*n), randBF16(ops, rng, n)
			want := make([]float32, m)
			ops.GemvBF16(m, n, 1, a, n, x, 0, want)
			for w, p := range map[int]Backend{2: two, 4: four} {
				pops, _ := BF16Of(p)
				got := make([]float32, m)
				pops.GemvBF16(m, n, 1, a, n, x, 0, got)
				for i := range want {
					if got[i] != want[i] {
						t.Fatalf("%s, %d×%d on %d workers: y[%d] = %v, whole %v", b.Name(), m, n, w, i, got[i], want[i])
					}
				}
			}
		}
		two.(io.Closer).Close()
		four.(io.Closer).Close()
	}
	if !ran {
		t.Skip("no backend with bfloat16 products on this machine")
	}
}
