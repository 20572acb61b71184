package engine

import (
	"fmt"
	"math"
)

// Clip bounds gradients before the update, against exploding gradients.
type Clip struct {
	Mode  string  // "value": each element to ±Limit (the notebook's); "norm": rescale to global L2 norm ≤ Limit; "none"
	Limit float32 // the bound; the notebook uses 5
}

// ClipModes lists the accepted modes.
var ClipModes = []string{"value", "norm", "none"}

// Validate reports a clear error for an unusable setting.
func (c Clip) Validate() error {
	switch c.Mode {
	case "none":
		return nil
	case "value", "norm":
		if !(c.Limit > 0) || math.IsInf(float64(c.Limit), 0) {
			return fmt.Errorf("clip limit must be a positive number, got %v", c.Limit)
		}
		return nil
	}
	return fmt.Errorf("unknown clip mode %q (want value, norm or none)", c.Mode)
}

// Apply clips g in place and returns the gradient's L2 norm before clipping.
func (c Clip) Apply(g []float32) float64 {
	var sq float64
	for _, v := range g {
		sq += float64(v) * float64(v)
	}
	norm := math.Sqrt(sq)
	switch c.Mode {
	case "value":
		lim := c.Limit
		for i, v := range g {
			g[i] = min(max(v, -lim), lim)
		}
	case "norm":
		if norm > float64(c.Limit) {
			s := float32(float64(c.Limit) / norm)
			for i := range g {
				g[i] *= s
			}
		}
	}
	return norm
}
