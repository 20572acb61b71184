//go:build !amd64 || noasm

package asm

// The pure-Go twins of gates_amd64.s, for other platforms and the noasm
// build tag. ref.go says what each computes.

func LSTMForwardAVX512(gates, in, bias, cPrev, c, tc, h []float32) {
	lstmForwardRef(gates, in, bias, cPrev, c, tc, h)
}

func LSTMBackwardAVX512(dgates, gates, cPrev, tc, dh, dc []float32) {
	lstmBackwardRef(dgates, gates, cPrev, tc, dh, dc)
}

func GRUForwardAVX512(act, hg, in, bih, bhh, hPrev, h []float32) {
	gruForwardRef(act, hg, in, bih, bhh, hPrev, h)
}

func GRUBackwardAVX512(dx, dhg, act, hg, hPrev, dh, dhPrev []float32) {
	gruBackwardRef(dx, dhg, act, hg, hPrev, dh, dhPrev)
}

func LSTMForwardAVX2(gates, in, bias, cPrev, c, tc, h []float32) {
	lstmForwardRef(gates, in, bias, cPrev, c, tc, h)
}

func LSTMBackwardAVX2(dgates, gates, cPrev, tc, dh, dc []float32) {
	lstmBackwardRef(dgates, gates, cPrev, tc, dh, dc)
}

func GRUForwardAVX2(act, hg, in, bih, bhh, hPrev, h []float32) {
	gruForwardRef(act, hg, in, bih, bhh, hPrev, h)
}

func GRUBackwardAVX2(dx, dhg, act, hg, hPrev, dh, dhPrev []float32) {
	gruBackwardRef(dx, dhg, act, hg, hPrev, dh, dhPrev)
}
