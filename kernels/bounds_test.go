package kernels

import (
	"fmt"
	"testing"
)

// TestShortSlicesPanic pins memory safety: a matrix or vector too short for
// the shape must panic (as the generic backend's bounds checks do), never
// be read or written past its end by assembly.
func TestShortSlicesPanic(t *testing.T) {
	const m, n, k = 20, 30, 40
	full := func(r, c int) []float32 { return make([]float32, r*c) }
	short := func(r, c int) []float32 { return make([]float32, r*c-1) }
	forEachBackend(t, func(t *testing.T, b Backend) {
		cases := map[string]func(){
			"Gemv A":           func() { b.Gemv(false, m, n, 1, short(m, n), n, full(1, n), 0, full(1, m)) },
			"Gemv x":           func() { b.Gemv(false, m, n, 1, full(m, n), n, short(1, n), 0, full(1, m)) },
			"Gemv y":           func() { b.Gemv(false, m, n, 1, full(m, n), n, full(1, n), 0, short(1, m)) },
			"GemvT x":          func() { b.Gemv(true, m, n, 1, full(m, n), n, short(1, m), 0, full(1, n)) },
			"GemvT y":          func() { b.Gemv(true, m, n, 1, full(m, n), n, full(1, m), 0, short(1, n)) },
			"GemmNN A":         func() { b.Gemm(false, false, m, n, k, 1, short(m, k), k, full(k, n), n, 0, full(m, n), n) },
			"GemmNT B":         func() { b.Gemm(false, true, m, n, k, 1, full(m, k), k, short(n, k), k, 0, full(m, n), n) },
			"GemmTN C":         func() { b.Gemm(true, false, m, n, k, 1, full(k, m), m, full(k, n), n, 0, short(m, n), n) },
			"GemmTT A":         func() { b.Gemm(true, true, m, n, k, 1, short(k, m), m, full(n, k), k, 0, full(m, n), n) },
			"Axpy y":           func() { b.Axpy(1, full(1, n), short(1, n)) },
			"Dot y":            func() { b.Dot(full(1, n), short(1, n)) },
			"AddTanh a":        func() { b.AddTanh(full(1, n), short(1, n), full(1, n), full(1, n)) },
			"TanhGrad":         func() { b.TanhGrad(full(1, n), full(1, n), short(1, n)) },
			"Softmax":          func() { b.SoftmaxXent(full(1, n), full(1, n), short(1, n), 0) },
			"SGDUpdate g":      func() { b.SGDUpdate(full(1, n), short(1, n), 1, 1, 1) },
			"AdagradUpdate g":  func() { b.AdagradUpdate(full(1, n), short(1, n), full(1, n), 1, 1, 1) },
			"AdagradUpdate m":  func() { b.AdagradUpdate(full(1, n), full(1, n), short(1, n), 1, 1, 1) },
			"AdamUpdate g":     func() { b.AdamUpdate(full(1, n), short(1, n), full(1, n), full(1, n), 1, 0.9, 0.9, 1, 1, 1) },
			"AdamUpdate m":     func() { b.AdamUpdate(full(1, n), full(1, n), short(1, n), full(1, n), 1, 0.9, 0.9, 1, 1, 1) },
			"AdamUpdate v":     func() { b.AdamUpdate(full(1, n), full(1, n), full(1, n), short(1, n), 1, 0.9, 0.9, 1, 1, 1) },
			"MomentumUpdate g": func() { b.MomentumUpdate(full(1, n), short(1, n), full(1, n), 1, 0.9, 1, 1) },
			"MomentumUpdate v": func() { b.MomentumUpdate(full(1, n), full(1, n), short(1, n), 1, 0.9, 1, 1) },
			"RMSpropUpdate g":  func() { b.RMSpropUpdate(full(1, n), short(1, n), full(1, n), 1, 0.9, 1, 1, 1) },
			"RMSpropUpdate ms": func() { b.RMSpropUpdate(full(1, n), full(1, n), short(1, n), 1, 0.9, 1, 1, 1) },
			"AdamWUpdate g":    func() { b.AdamWUpdate(full(1, n), short(1, n), full(1, n), full(1, n), 1, 0.9, 0.9, 1, 0.1, 1, 1) },
			"AdamWUpdate m":    func() { b.AdamWUpdate(full(1, n), full(1, n), short(1, n), full(1, n), 1, 0.9, 0.9, 1, 0.1, 1, 1) },
			"AdamWUpdate v":    func() { b.AdamWUpdate(full(1, n), full(1, n), full(1, n), short(1, n), 1, 0.9, 0.9, 1, 0.1, 1, 1) },
		}
		for name, f := range cases {
			if err := catch(f); err == nil {
				t.Errorf("%s: a slice one element short did not panic", name)
			}
		}
	})
}

func catch(f func()) (err error) {
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("%v", r)
		}
	}()
	f()
	return nil
}
