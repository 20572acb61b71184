package engine

import (
	"math"

	"charrnn/kernels"
)

// Clip bounds gradients before the update, against exploding gradients.
type Clip struct {
	Mode  string  `json:"mode"`  // "value": each element to ±Limit (the notebook's); "norm": rescale to global L2 norm ≤ Limit; "none"
	Limit float32 `json:"limit"` // the bound; the notebook uses 5
}

// Validate reports a clear error for an unusable setting.
func (c Clip) Validate() error {
	switch c.Mode {
	case "none": // the limit is unused, but kept in checkpoints: a number JSON can hold
		if math.IsNaN(float64(c.Limit)) || math.IsInf(float64(c.Limit), 0) {
			return fieldErrorf("Clip.Limit", "must be a number, got %v", c.Limit)
		}
		return nil
	case "value", "norm":
		if !(c.Limit > 0) || math.IsInf(float64(c.Limit), 0) {
			return fieldErrorf("Clip.Limit", "must be a positive number, got %v", c.Limit)
		}
		return nil
	}
	return fieldErrorf("Clip.Mode", "must be value, norm or none, got %q", c.Mode)
}

// Conditioning is what the optimizer does to each gradient element before
// using it: g' = clamp(Scale·g, ±Limit). Folding the clipping into the
// update pass saves a pass over the whole gradient slab.
type Conditioning struct {
	Scale, Limit float32
	Norm         float64 // the gradient's L2 norm before clipping
}

// Conditioning measures g and returns how to clip it.
func (c Clip) Conditioning(k kernels.Backend, g []float32) Conditioning {
	norm := math.Sqrt(k.SumSquares(g))
	cond := Conditioning{Scale: 1, Limit: float32(math.Inf(1)), Norm: norm}
	switch c.Mode {
	case "value":
		cond.Limit = c.Limit
	case "norm":
		if norm > float64(c.Limit) {
			cond.Scale = float32(float64(c.Limit) / norm)
		}
	}
	return cond
}
