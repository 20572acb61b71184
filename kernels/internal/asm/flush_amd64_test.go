//go:build !noasm

package asm

import (
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// Operands for the flushing tests, package variables so that the compiler
// cannot fold the products below.
var (
	subnormal float32 = 0x1p-130 // read as zero under DAZ
	big       float32 = 0x1p20   // subnormal·big = 2^-110 is normal
	tiny      float32 = 0x1p-100 // tiny·small = 2^-130 is written as zero under FTZ
	small     float32 = 0x1p-30
	minNormal float32 = 0x1p-126
	half      float32 = 0.5
)

// TestProductsFlushSubnormals holds the GEMM and GEMV routines to running
// with MXCSR's DAZ and FTZ set (a subnormal operand reads as zero, a
// subnormal result is written as zero) and to giving the caller its MXCSR
// back: Go code after them still computes subnormals.
func TestProductsFlushSubnormals(t *testing.T) {
	forEachISA(t, func(t *testing.T, s isaSet) {
		for name, run := range flushingRoutines(s) {
			for _, c := range []struct {
				what       string
				a, b, want float32
			}{
				{"normal operands", 1, 1, 1},
				{"a subnormal operand (DAZ)", subnormal, big, 0},
				{"a subnormal product (FTZ)", tiny, small, 0},
			} {
				for i, got := range run(c.a, c.b) {
					if got != c.want && !(c.want != 0 && got > 0) {
						t.Fatalf("%s, %s: output %d = %v, want %v", name, c.what, i, got, c.want)
					}
				}
			}
			if x := minNormal * half; x == 0 {
				t.Fatalf("%s left FTZ set: 2^-126 · 0.5 = 0 after it", name)
			}
			if x := subnormal * big; x == 0 {
				t.Fatalf("%s left DAZ set: 2^-130 · 2^20 = 0 after it", name)
			}
		}
	})
}

// flushingRoutines returns each GEMM and GEMV routine of s as a function of
// the value every element of A and of B (or x) holds, returning C (or y).
func flushingRoutines(s isaSet) map[string]func(a, b float32) []float32 {
	fill := func(n int, v float32) []float32 {
		x := make([]float32, n)
		for i := range x {
			x[i] = v
		}
		return x
	}
	const k = 8
	runs := map[string]func(a, b float32) []float32{}
	for r, kern := range s.bcast {
		runs[fmt.Sprintf("GemmBcast%d", r+1)] = func(a, b float32) []float32 {
			c := make([]float32, (r+1)*s.bcastW)
			kern(k, fill((r+1)*k, a), k, 1, fill(k*s.bcastW, b), s.bcastW, s.bcastW, c, s.bcastW, 1, 0, false)
			return c
		}
	}
	if s.name == "AVX512" {
		for r, kern := range panelKernels {
			runs[fmt.Sprintf("GemmPanel%d", r+1)] = func(a, b float32) []float32 {
				c := make([]float32, (r+1)*16)
				kern(k, fill((r+1)*k, a), k, fill(k*16, b), 16, c, 16, 1, 0, false)
				return c
			}
		}
	}
	runs["GemvT"] = func(a, b float32) []float32 {
		c := make([]float32, s.gemvTW)
		s.gemvT(k, fill(k, a), 0, 1, fill(k*s.gemvTW, b), s.gemvTW, s.gemvTW, c, s.gemvTW, 1, 0, false)
		return c
	}
	for i, kern := range s.dotNT {
		rows, cols := s.dotShape[i][0], s.dotShape[i][1]
		runs[fmt.Sprintf("DotNT%dx%d", rows, cols)] = func(a, b float32) []float32 {
			n := 2 * s.lanes
			c := make([]float32, rows*cols)
			kern(n, fill(rows*n, a), n, rows, fill(cols*n, b), n, cols, c, cols, 1, 0, false)
			return c
		}
	}
	for name, kern := range map[string]gemvKernel{"GemvN": s.gemvN, "GemvTrans": s.gemvTrans,
		"GemvRows": s.gemvRows, "GemvShortN": s.gemvShortN, "GemvShortT": s.gemvShortT} {
		if kern == nil {
			continue
		}
		runs[name] = func(a, b float32) []float32 {
			n := 2 * s.lanes
			y := make([]float32, n)
			kern(n, n, fill(n*n, a), n, fill(n, b), y, 1, 0, false)
			return y
		}
	}
	return runs
}

// TestFlushingStaysInTheRoutines runs GEMMs on goroutines beside others
// that keep computing subnormals, more goroutines than threads: if a
// routine's MXCSR ever reached other code (a goroutine switched out in the
// middle of a routine, a thread left flushing), those would see zeros.
func TestFlushingStaysInTheRoutines(t *testing.T) {
	forEachISA(t, func(t *testing.T, s isaSet) {
		var wg sync.WaitGroup
		stop := make(chan struct{})
		kern := s.bcast[len(s.bcast)-1]
		rows, k := len(s.bcast), 256
		for range 4 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				a, b, c := make([]float32, rows*k), make([]float32, k*s.bcastW), make([]float32, rows*s.bcastW)
				for {
					select {
					case <-stop:
						return
					default:
					}
					for range 100 {
						kern(k, a, k, 1, b, s.bcastW, s.bcastW, c, s.bcastW, 1, 0, false)
					}
				}
			}()
		}
		var zeros atomic.Int64
		ops := []float32{minNormal, subnormal}
		mul := []float32{half, big}
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
			t.Fatalf("%d products computed beside the routines were flushed to zero", n)
		}
	})
}
