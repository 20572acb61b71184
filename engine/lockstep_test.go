package engine

import (
	"fmt"
	"io"
	"testing"

	"charrnn/kernels"
)

// Two cores in lockstep see each other's halves of every vector, in order:
// here each vector's units are made from the sum of the whole previous
// vector, so a half read too early or overwritten too soon changes the
// result. A half that panics ends the other's wait: the panic reaches the
// caller, and the backend runs the next lockstep.
func TestLockstep(t *testing.T) {
	const n, steps = 100, 2000
	next := func(prev []uint16, j, i int) uint16 {
		var s int
		for _, v := range prev {
			s += int(v)
		}
		return uint16(s*7 + 31*j + i)
	}
	want := make([][]uint16, steps)
	want[0] = make([]uint16, n)
	for j := 1; j < steps; j++ {
		want[j] = make([]uint16, n)
		for i := range want[j] {
			want[j][i] = next(want[j-1], j, i)
		}
	}
	two := kernels.Parallel(kernels.Supported()[0], 2)
	defer two.(io.Closer).Close()
	l := newLockstep()
	var got [2][][]uint16 // what each core saw of each vector
	// The vectors, double-buffered as in mixed precision (lockstep.vecs).
	bufs := [2][]uint16{make([]uint16, n), make([]uint16, n)}
	vec := func(j int) []uint16 { return bufs[j%2] }
	half := func(failCore, failAt int) func(c, lo, hi int) {
		return func(c, lo, hi int) {
			got[c] = got[c][:0]
			v := vec(0)
			clear(v[lo:hi])
			for j := 0; j < steps; j++ {
				if c == failCore && j == failAt {
					panic(fmt.Sprintf("core %d failed", c))
				}
				if !l.share(c, j) {
					return
				}
				got[c] = append(got[c], append([]uint16(nil), vec(j)[:n]...))
				if j+1 < steps {
					for i := lo; i < hi; i++ {
						vec(j + 1)[i] = next(vec(j)[:n], j+1, i)
					}
				}
			}
		}
	}
	for _, fail := range []struct{ core, at int }{{-1, 0}, {0, 500}, {1, 700}, {-1, 0}} {
		var recovered any
		ran := func() bool {
			defer func() { recovered = recover() }()
			return l.run(two, nil, n, lockstepMid(n), half(fail.core, fail.at))
		}()
		if fail.core >= 0 {
			if w := fmt.Sprintf("core %d failed", fail.core); recovered != w {
				t.Fatalf("a half that panics: recovered %v, want %q", recovered, w)
			}
			continue
		}
		if recovered != nil || !ran {
			t.Fatalf("lockstep ran %v, panicked %v", ran, recovered)
		}
		for c := range got {
			if len(got[c]) != steps {
				t.Fatalf("core %d saw %d vectors, want %d", c, len(got[c]), steps)
			}
			for j := range steps {
				for i := range n {
					if got[c][j][i] != want[j][i] {
						t.Fatalf("core %d, vector %d, unit %d: %d, want %d", c, j, i, got[c][j][i], want[j][i])
					}
				}
			}
		}
	}
}
