package engine

import (
	"math"
	"math/rand/v2"

	"charrnn/kernels"
)

// dropout is inverted dropout on one layer's output while training: each
// unit is kept with probability 1-p and then scaled by 1/(1-p), so the
// model runs unchanged outside training. Only the connections between
// layers (and into the output layer) are dropped, never the recurrent
// state, as in PyTorch's nn.LSTM and char-rnn.
//
// A stream's masks at a step are a pure function of the run's seed, the
// step, the layer and the stream's global index: a resumed run draws the
// ones an uninterrupted run would have, and a stream draws the same ones
// whichever process trains it.
type dropout struct {
	keep  uint32 // a 32-bit draw at or above it keeps the unit
	scale float32
	mask  []float32 // T·B rows of H: 0 or scale
	out   []float32 // the layer's output, dropped
	rng   rand.PCG
}

func newDropout(p float64, n int) *dropout {
	return &dropout{
		keep:  uint32(math.Round(p * (1 << 32))),
		scale: float32(1 / (1 - p)),
		mask:  make([]float32, n),
		out:   make([]float32, n),
	}
}

// dropoutSalt keeps the masks' random streams apart from the other uses
// of the run's seed.
const dropoutSalt = 0xd209_0a7c_11e5_3b5d

// draw makes the masks of update number step for layer l, whose T·B rows of
// H hold streams firstStream, firstStream+1, ... of the whole run.
func (d *dropout) draw(seed uint64, step int64, l, firstStream, T, B, H int) {
	for s := 0; s < B; s++ {
		d.rng.Seed(seed^dropoutSalt, splitmix(uint64(step)<<30^uint64(l)<<24^uint64(firstStream+s)))
		for t := 0; t < T; t++ {
			row := d.mask[(t*B+s)*H : (t*B+s+1)*H]
			for i := 0; i < len(row); i += 2 {
				r := d.rng.Uint64()
				row[i] = d.unit(uint32(r))
				if i+1 < len(row) {
					row[i+1] = d.unit(uint32(r >> 32))
				}
			}
		}
	}
}

func (d *dropout) unit(r uint32) float32 {
	if r < d.keep {
		return 0
	}
	return d.scale
}

// apply returns x with the mask applied.
func (d *dropout) apply(k kernels.Backend, x []float32) []float32 {
	out := d.out[:len(x)]
	k.Mul(out, x, d.mask)
	return out
}

// backward turns the gradient with respect to the dropped output into the
// gradient with respect to the output, in place.
func (d *dropout) backward(k kernels.Backend, dh []float32) { k.Mul(dh, dh, d.mask) }

// splitmix is SplitMix64's finaliser: nearby inputs give unrelated outputs.
func splitmix(x uint64) uint64 {
	x += 0x9e37_79b9_7f4a_7c15
	x = (x ^ x>>30) * 0xbf58_476d_1ce4_e5b9
	x = (x ^ x>>27) * 0x94d0_49bb_1331_11eb
	return x ^ x>>31
}
