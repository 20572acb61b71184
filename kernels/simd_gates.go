//go:build amd64 && !noasm

package kernels

// The gated cells' element-wise steps on the assembly backends. The routines
// do not check bounds, so every slice is cut to the length the step reads or
// writes first: a short one panics here, as in the generic backend.

// LSTMForward implements Backend.
func (be simdBackend) LSTMForward(gates, in, bias, cPrev, c, tc, h []float32) {
	H := len(h)
	be.k.lstmForward(gates[:4*H], in[:4*H], bias[:4*H], cPrev[:H], c[:H], tc[:H], h)
}

// LSTMBackward implements Backend.
func (be simdBackend) LSTMBackward(dgates, gates, cPrev, tc, dh, dc []float32) {
	H := len(dc)
	be.k.lstmBackward(dgates[:4*H], gates[:4*H], cPrev[:H], tc[:H], dh[:H], dc)
}

// GRUForward implements Backend.
func (be simdBackend) GRUForward(act, hg, in, bih, bhh, hPrev, h []float32) {
	H := len(h)
	be.k.gruForward(act[:3*H], hg[:3*H], in[:3*H], bih[:3*H], bhh[:3*H], hPrev[:H], h)
}

// GRUBackward implements Backend. The routine skips dhPrev when it is
// empty, which a nil dhPrev is.
func (be simdBackend) GRUBackward(dx, dhg, act, hg, hPrev, dh, dhPrev []float32) {
	H := len(dh)
	if dhPrev != nil {
		dhPrev = dhPrev[:H]
	}
	be.k.gruBackward(dx[:3*H], dhg[:3*H], act[:3*H], hg[:3*H], hPrev[:H], dh, dhPrev)
}
