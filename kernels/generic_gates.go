package kernels

import "math"

// The gated cells' element-wise steps: the readable specification of what
// the assembly versions compute, in float64 per element.

func sigmoid(x float64) float64 { return 1 / (1 + math.Exp(-min(max(x, -SigmoidLimit), SigmoidLimit))) }

// LSTMForward implements Backend.
func (Generic) LSTMForward(gates, in, bias, cPrev, c, tc, h []float32) {
	H := len(h)
	gates, in, bias = gates[:4*H], in[:4*H], bias[:4*H]
	cPrev, c, tc = cPrev[:H], c[:H], tc[:H]
	for j := range h {
		pre := func(k int) float64 { return float64(gates[k*H+j] + in[k*H+j] + bias[k*H+j]) }
		i, f, g, o := sigmoid(pre(0)), sigmoid(pre(1)), math.Tanh(pre(2)), sigmoid(pre(3))
		cj := float32(f*float64(cPrev[j]) + i*g)
		t := float32(math.Tanh(float64(cj)))
		gates[j], gates[H+j], gates[2*H+j], gates[3*H+j] = float32(i), float32(f), float32(g), float32(o)
		c[j], tc[j], h[j] = cj, t, float32(o)*t
	}
}

// LSTMBackward implements Backend.
func (Generic) LSTMBackward(dgates, gates, cPrev, tc, dh, dc []float32) {
	H := len(dc)
	dgates, gates = dgates[:4*H], gates[:4*H]
	cPrev, tc, dh = cPrev[:H], tc[:H], dh[:H]
	for j := range dc {
		i, f, g, o := gates[j], gates[H+j], gates[2*H+j], gates[3*H+j]
		t := tc[j]
		dct := dc[j] + dh[j]*o*(1-t*t)
		dgates[j] = dct * g * i * (1 - i)
		dgates[H+j] = dct * cPrev[j] * f * (1 - f)
		dgates[2*H+j] = dct * i * (1 - g*g)
		dgates[3*H+j] = dh[j] * t * o * (1 - o)
		dc[j] = dct * f
	}
}

// GRUForward implements Backend.
func (Generic) GRUForward(act, hg, in, bih, bhh, hPrev, h []float32) {
	H := len(h)
	act, hg, in, bih, bhh, hPrev = act[:3*H], hg[:3*H], in[:3*H], bih[:3*H], bhh[:3*H], hPrev[:H]
	for j := range h {
		r := sigmoid(float64(in[j] + bih[j] + hg[j] + bhh[j]))
		z := sigmoid(float64(in[H+j] + bih[H+j] + hg[H+j] + bhh[H+j]))
		hn := hg[2*H+j] + bhh[2*H+j]
		n := math.Tanh(float64(in[2*H+j]+bih[2*H+j]) + r*float64(hn))
		act[j], act[H+j], act[2*H+j] = float32(r), float32(z), float32(n)
		hg[2*H+j] = hn
		h[j] = float32((1-z)*n + z*float64(hPrev[j]))
	}
}

// GRUBackward implements Backend.
func (Generic) GRUBackward(dx, dhg, act, hg, hPrev, dh, dhPrev []float32) {
	H := len(dh)
	dx, dhg, act, hg, hPrev = dx[:3*H], dhg[:3*H], act[:3*H], hg[:3*H], hPrev[:H]
	if dhPrev != nil {
		dhPrev = dhPrev[:H]
	}
	for j := range dh {
		r, z, n := act[j], act[H+j], act[2*H+j]
		dn := dh[j] * (1 - z)
		dz := dh[j] * (hPrev[j] - n)
		dan := dn * (1 - n*n)
		dar := dan * hg[2*H+j] * r * (1 - r)
		daz := dz * z * (1 - z)
		dx[j], dx[H+j], dx[2*H+j] = dar, daz, dan
		dhg[j], dhg[H+j], dhg[2*H+j] = dar, daz, dan*r
		if dhPrev != nil {
			dhPrev[j] += dh[j] * z
		}
	}
}
