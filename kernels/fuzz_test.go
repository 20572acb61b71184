package kernels

import (
	"math"
	"math/rand/v2"
	"testing"
)

// FuzzGemm runs GEMM (and GEMV, which is the same contract with one
// dimension fixed) on random shapes, transposes, strides, alpha and beta,
// and compares every supported backend with the float64 reference (through
// the conformance checks: guards, padding, unchanged inputs) and with the
// generic backend.
func FuzzGemm(f *testing.F) {
	// Seeds: the engine's shapes scaled down, edges around the vector
	// widths and micro-kernel blocks, and the degenerate ones.
	for _, s := range [][6]uint8{
		{1, 1, 1, 0, 0, 0}, {0, 5, 3, 1, 0, 0}, {5, 0, 3, 2, 1, 0}, {5, 3, 0, 3, 2, 1},
		{32, 64, 64, 1, 3, 2}, {65, 17, 100, 0, 1, 1}, {7, 65, 33, 2, 2, 2}, {6, 64, 255, 0, 0, 3},
		{4, 4, 17, 1, 4, 3}, {13, 129, 15, 4, 5, 1}, {100, 65, 16, 5, 6, 0}, {3, 200, 70, 6, 7, 2},
	} {
		f.Add(uint64(s[0])*7919+uint64(s[5]), s[0], s[1], s[2], s[3], s[4])
	}
	f.Fuzz(func(t *testing.T, seed uint64, m8, n8, k8, mode, pad uint8) {
		m, n, k := int(m8)%160, int(n8)%160, int(k8)%300
		rng := rand.New(rand.NewPCG(seed, uint64(m8)<<16|uint64(n8)<<8|uint64(k8)))
		betas := [][2]float32{{1, 0}, {-0.5, 1}, {1.5, 0.25}, {0, 2}}
		ab := betas[int(pad>>4)%len(betas)]
		transA, transB := mode&1 != 0, mode&2 != 0
		gemv := mode&4 != 0
		for _, b := range Supported() {
			if gemv {
				checkGemv(t, b, rng, b.Name()+" gemv", transA, m, n, ab[0], ab[1])
			} else {
				checkGemm(t, b, rng, transA, transB, m, n, k, ab[0], ab[1])
			}
		}
		if gemv {
			return
		}
		// Same inputs for every backend, results compared with generic's.
		ar, ac, br, bc := m, k, k, n
		if transA {
			ar, ac = k, m
		}
		if transB {
			br, bc = n, k
		}
		lda, ldb, ldc := ac+int(pad)%3, bc+int(pad/3)%3, n+int(pad/9)%3
		a := randSlice(rng, max(0, (ar-1)*lda+ac))
		bb := randSlice(rng, max(0, (br-1)*ldb+bc))
		c0 := randSlice(rng, max(0, (m-1)*ldc+n))
		want := clone(c0)
		Generic{}.Gemm(transA, transB, m, n, k, ab[0], a, lda, bb, ldb, ab[1], want, ldc)
		for _, b := range Supported() {
			got := clone(c0)
			b.Gemm(transA, transB, m, n, k, ab[0], a, lda, bb, ldb, ab[1], got, ldc)
			for i := 0; i < m; i++ {
				for j := 0; j < n; j++ {
					// Both sides round; bound by twice one side's error.
					var abs float64
					for l := 0; l < k; l++ {
						var av, bv float32
						if transA {
							av = a[l*lda+i]
						} else {
							av = a[i*lda+l]
						}
						if transB {
							bv = bb[j*ldb+l]
						} else {
							bv = bb[l*ldb+j]
						}
						abs += math.Abs(float64(ab[0]) * float64(av) * float64(bv))
					}
					abs += math.Abs(float64(ab[1]) * float64(c0[i*ldc+j]))
					g, w := got[i*ldc+j], want[i*ldc+j]
					if d := math.Abs(float64(g) - float64(w)); !(d <= 2*tolerance(k, abs)) {
						t.Fatalf("%s: transA=%v transB=%v m=%d n=%d k=%d: C[%d,%d] = %v, generic %v", b.Name(), transA, transB, m, n, k, i, j, g, w)
					}
				}
			}
		}
	})
}
