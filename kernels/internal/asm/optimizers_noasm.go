//go:build !amd64 || noasm

package asm

// The pure-Go twins of optimizers_amd64.s, for other platforms and the noasm
// build tag. ref.go says what each computes.

func SumSquaresAVX512(x []float32) float64                     { return sumSquaresRef(x) }
func SumSquaresWideAVX512(x []float32) float64                 { return sumSquaresRef(x) }
func SGDUpdateAVX512(p, g []float32, lr, scale, limit float32) { sgdUpdateRef(p, g, lr, scale, limit) }
func AdagradUpdateAVX512(p, g, mem []float32, lr, eps, scale, limit float32) {
	adagradUpdateRef(p, g, mem, lr, eps, scale, limit)
}
func AdamUpdateAVX512(p, g, m, v []float32, alpha, beta1, beta2, eps, scale, limit float32) {
	adamWUpdateRef(p, g, m, v, alpha, beta1, beta2, eps, 0, scale, limit)
}
func AdamWUpdateAVX512(p, g, m, v []float32, alpha, beta1, beta2, eps, decay, scale, limit float32) {
	adamWUpdateRef(p, g, m, v, alpha, beta1, beta2, eps, decay, scale, limit)
}
func MomentumUpdateAVX512(p, g, vel []float32, lr, mu, scale, limit float32) {
	momentumUpdateRef(p, g, vel, lr, mu, scale, limit)
}
func RMSpropUpdateAVX512(p, g, ms []float32, lr, rho, eps, scale, limit float32) {
	rmspropUpdateRef(p, g, ms, lr, rho, eps, scale, limit)
}
func SumSquaresAVX2(x []float32) float64                     { return sumSquaresRef(x) }
func SumSquaresWideAVX2(x []float32) float64                 { return sumSquaresRef(x) }
func SGDUpdateAVX2(p, g []float32, lr, scale, limit float32) { sgdUpdateRef(p, g, lr, scale, limit) }
func AdagradUpdateAVX2(p, g, mem []float32, lr, eps, scale, limit float32) {
	adagradUpdateRef(p, g, mem, lr, eps, scale, limit)
}
func AdamUpdateAVX2(p, g, m, v []float32, alpha, beta1, beta2, eps, scale, limit float32) {
	adamWUpdateRef(p, g, m, v, alpha, beta1, beta2, eps, 0, scale, limit)
}
func AdamWUpdateAVX2(p, g, m, v []float32, alpha, beta1, beta2, eps, decay, scale, limit float32) {
	adamWUpdateRef(p, g, m, v, alpha, beta1, beta2, eps, decay, scale, limit)
}
func MomentumUpdateAVX2(p, g, vel []float32, lr, mu, scale, limit float32) {
	momentumUpdateRef(p, g, vel, lr, mu, scale, limit)
}
func RMSpropUpdateAVX2(p, g, ms []float32, lr, rho, eps, scale, limit float32) {
	rmspropUpdateRef(p, g, ms, lr, rho, eps, scale, limit)
}
