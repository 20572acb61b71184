package disttest

import (
	"fmt"
	"strings"
	"testing"

	"charrnn/dist"
)

func TestCollectives(t *testing.T) {
	const n = 3
	errs := make([]error, n)
	Run(n, func(c dist.Comm) {
		errs[c.Rank()] = collectives(c)
	})
	for r, err := range errs {
		if err != nil {
			t.Errorf("rank %d: %v", r, err)
		}
	}
}

// collectives runs each collective once and checks what this rank got.
func collectives(c dist.Comm) error {
	r, n := c.Rank(), c.Size()
	f32 := []float32{float32(r), 0.1}
	if err := c.AllReduceSum32(f32); err != nil {
		return err
	}
	// Summed in rank order: 0.1 + 0.1 + 0.1 rounded at each step.
	if want := float32(0.1) + float32(0.1) + float32(0.1); f32[0] != 3 || f32[1] != want {
		return fmt.Errorf("AllReduceSum32 gave %v, want [3 %v]", f32, want)
	}
	f64 := []float64{float64(r) + 0.5}
	if err := c.AllReduceSum64(f64); err != nil {
		return err
	}
	if f64[0] != 4.5 {
		return fmt.Errorf("AllReduceSum64 gave %v, want 4.5", f64)
	}
	req, err := c.IAllReduceSum32(f32)
	if err != nil {
		return err
	}
	if err := req.Wait(); err != nil || f32[0] != 9 {
		return fmt.Errorf("IAllReduceSum32 gave %v, %v; want 9 first", f32, err)
	}
	b := []byte{byte(r), byte(r)}
	if err := c.Broadcast(b, 2); err != nil || b[0] != 2 || b[1] != 2 {
		return fmt.Errorf("Broadcast from rank 2 gave %v, %v", b, err)
	}
	var all []int64
	if r == 1 {
		all = make([]int64, n)
	}
	if err := dist.GatherSlice(c, []int64{int64(10 * r)}, all, 1); err != nil {
		return err
	}
	if r == 1 && (all[0] != 0 || all[1] != 10 || all[2] != 20) {
		return fmt.Errorf("Gather to rank 1 gave %v", all)
	}
	same, err := dist.AllEqual(c, []byte(fmt.Sprint(r == 2)))
	if err != nil || same {
		return fmt.Errorf("AllEqual with rank 2 different: %v, %v", same, err)
	}
	if err := c.Broadcast(nil, n); err == nil {
		return fmt.Errorf("Broadcast from rank %d of %d: no error", n, n)
	}
	return c.Barrier()
}

// Ranks that call different collectives, or the same one on different
// lengths, panic instead of going on with wrong data.
func TestMismatchPanics(t *testing.T) {
	for _, tc := range []struct {
		name string
		f    func(c dist.Comm)
		says string
	}{
		{"op", func(c dist.Comm) {
			if c.Rank() == 0 {
				c.Barrier()
			} else {
				c.AllReduceSum64(make([]float64, 1))
			}
		}, "called"},
		{"length", func(c dist.Comm) { c.AllReduceSum32(make([]float32, 1+c.Rank())) }, "of 1 while rank 1 called AllReduceSum32 of 2"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			defer func() {
				p := recover()
				if p == nil || !strings.Contains(fmt.Sprint(p), tc.says) {
					t.Fatalf("panic %v, want one saying %q", p, tc.says)
				}
			}()
			Run(2, tc.f)
		})
	}
}
