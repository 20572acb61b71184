package engine

import "slices"

// Tensor is one named parameter tensor in a model's flat slab. The same
// layout serves for the parameters, the gradients and each slab of the
// optimizer's state, so optimizers and clipping are plain loops over a slab.
type Tensor struct {
	Name string `json:"name"`
	// Shape is the tensor's shape as stored, rows then columns (one
	// number for a vector), row-major.
	Shape []int `json:"shape"`
	// Lookup marks the input weights of a one-hot input: stored one row
	// per symbol, so the input is a row lookup, never a product. That is
	// the transpose of the shape the weights have in the equations (and in
	// an export).
	Lookup bool `json:"lookup,omitempty"`
	Offset int  `json:"offset"` // in floats, from the start of the slab
}

// Size is the number of floats the tensor holds.
func (t Tensor) Size() int {
	n := 1
	for _, d := range t.Shape {
		n *= d
	}
	return n
}

// Of returns the tensor's part of a slab laid out by its layout.
func (t Tensor) Of(slab []float32) []float32 {
	end := t.Offset + t.Size()
	return slab[t.Offset:end:end]
}

// Layout is the single place a model's shape is written: its tensors in
// slab order. The parameter count, the optimizer state, the memory
// estimate, checkpoint validation, inspect and export all follow from it.
//
// The order is every matrix (layer by layer, the output layer's last), then
// every vector in the same order. For the notebook's model that is U, W, V,
// b, c, the order of the first checkpoints.
type Layout struct {
	Tensors []Tensor
	Floats  int // the slab's length
}

// NewLayout lays out the tensors of a model of configuration c.
func NewLayout(c ModelConfig) (Layout, error) {
	if err := c.Validate(); err != nil {
		return Layout{}, err
	}
	var all []Tensor
	for l := 0; l < c.Layers; l++ {
		all = append(all, cells[c.Cell].Tensors(c, l)...)
	}
	all = append(all, outputTensors(c)...)
	var lay Layout
	for _, matrices := range []bool{true, false} {
		for _, t := range all {
			if (len(t.Shape) == 2) == matrices {
				t.Offset = lay.Floats
				lay.Tensors = append(lay.Tensors, t)
				lay.Floats += t.Size()
			}
		}
	}
	names := map[string]bool{}
	for _, t := range lay.Tensors {
		if names[t.Name] {
			panic("engine: tensor " + t.Name + " laid out twice")
		}
		names[t.Name] = true
	}
	return lay, nil
}

// Tensor returns the tensor called name; it panics if there is none, which
// is a programming error.
func (l Layout) Tensor(name string) Tensor {
	i := slices.IndexFunc(l.Tensors, func(t Tensor) bool { return t.Name == name })
	if i < 0 {
		panic("engine: no tensor " + name)
	}
	return l.Tensors[i]
}

// Equal reports whether two layouts are the same table.
func (l Layout) Equal(o Layout) bool {
	return l.Floats == o.Floats && slices.EqualFunc(l.Tensors, o.Tensors, func(a, b Tensor) bool {
		return a.Name == b.Name && slices.Equal(a.Shape, b.Shape) && a.Lookup == b.Lookup && a.Offset == b.Offset
	})
}

// outputTensors are the output layer's: o = V·h + c.
func outputTensors(c ModelConfig) []Tensor {
	v, bias := "decoder.weight", "decoder.bias"
	if c.Notebook() {
		v, bias = "V", "c"
	}
	return []Tensor{
		{Name: v, Shape: []int{c.Vocab, c.Hidden}},
		{Name: bias, Shape: []int{c.Vocab}},
	}
}

// ExportShape is the tensor's shape in the equations and in an export: a
// Lookup tensor's transpose of how it is stored.
func (t Tensor) ExportShape() []int {
	if t.Lookup {
		return []int{t.Shape[1], t.Shape[0]}
	}
	return t.Shape
}
