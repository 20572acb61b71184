package kernels

import (
	"math/rand/v2"
	"testing"
)

func BenchmarkTmpTinyGemm(b *testing.B) {
	be, _ := Lookup("avx512")
	const T, H, V = 25, 100, 65
	rng := rand.New(rand.NewPCG(1, 2))
	hs, vv, dO, dh, w, c := randSlice(rng, (T+1)*H), randSlice(rng, V*H), randSlice(rng, T*V), randSlice(rng, T*H), randSlice(rng, H*H), make([]float32, 100*100)
	b.Run("logits", func(b *testing.B) {
		for b.Loop() {
			be.Gemm(false, true, T, V, H, 1, hs[H:], H, vv, H, 0, c, V)
		}
	})
	b.Run("dV", func(b *testing.B) {
		for b.Loop() {
			be.Gemm(true, false, V, H, T, 1, dO, V, hs[H:], H, 0, c, H)
		}
	})
	b.Run("dh", func(b *testing.B) {
		for b.Loop() {
			be.Gemm(false, false, T, H, V, 1, dO, V, vv, H, 0, c, H)
		}
	})
	b.Run("dW", func(b *testing.B) {
		for b.Loop() {
			be.Gemm(true, false, H, H, T, 1, dh, H, hs, H, 0, w, H)
		}
	})
	p, g, mem := randSlice(rng, 23230), randSlice(rng, 23230), randSlice(rng, 23230)
	for i := range mem {
		mem[i] = mem[i]*mem[i] + 1
	}
	b.Run("adagrad", func(b *testing.B) {
		for b.Loop() {
			be.AdagradUpdate(p, g, mem, 0.1, 1, 5)
		}
	})
	b.Run("softmax25", func(b *testing.B) {
		for b.Loop() {
			for i := 0; i < T; i++ {
				row := dO[i*V : (i+1)*V]
				be.SoftmaxXent(row, row, vv[:V], 3)
			}
		}
	})
}
