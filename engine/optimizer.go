package engine

import (
	"fmt"
	"math"
	"strings"

	"charrnn/kernels"
)

// Optimizer updates a flat parameter slab from a matching gradient slab.
type Optimizer interface {
	Name() string
	// Update applies update number step (1, 2, ...) with learning rate lr to
	// p, from the gradient g conditioned by c (see Clip).
	Update(k kernels.Backend, p, g []float32, lr float32, step int64, c Conditioning)
	// State is the optimizer's own slabs (each as long as p), saved in
	// checkpoints so training resumes exactly.
	State() [][]float32
}

// Optimizers lists the names NewOptimizer accepts.
var Optimizers = []string{"sgd", "adagrad", "adam"}

// NewOptimizer returns the named optimizer for n parameters.
func NewOptimizer(name string, n int) (Optimizer, error) {
	switch name {
	case "sgd":
		return sgd{}, nil
	case "adagrad":
		return &adagrad{mem: make([]float32, n)}, nil
	case "adam":
		return &adam{m: make([]float32, n), v: make([]float32, n)}, nil
	}
	return nil, fmt.Errorf("unknown optimizer %q (want one of %s)", name, strings.Join(Optimizers, ", "))
}

// DefaultLR is the learning rate each optimizer starts from when none is
// given: the notebook's and min-char-rnn's for sgd and adagrad, Karpathy's
// char-rnn's for adam.
func DefaultLR(name string) float32 {
	switch name {
	case "sgd":
		return 0.01
	case "adagrad":
		return 0.1
	default:
		return 0.002
	}
}

// sgd is the notebook's update: p -= lr·g.
type sgd struct{}

func (sgd) Name() string       { return "sgd" }
func (sgd) State() [][]float32 { return nil }
func (sgd) Update(k kernels.Backend, p, g []float32, lr float32, _ int64, c Conditioning) {
	k.SGDUpdate(p, g, lr, c.Scale, c.Limit)
}

// adagrad is min-char-rnn's: mem += g², p -= lr·g/√(mem + 1e-8).
type adagrad struct{ mem []float32 }

func (o *adagrad) Name() string       { return "adagrad" }
func (o *adagrad) State() [][]float32 { return [][]float32{o.mem} }
func (o *adagrad) Update(k kernels.Backend, p, g []float32, lr float32, _ int64, c Conditioning) {
	k.AdagradUpdate(p, g, o.mem, lr, c.Scale, c.Limit)
}

// adam is Kingma & Ba's, with bias correction (β1 0.9, β2 0.999, ε 1e-8).
type adam struct{ m, v []float32 }

func (o *adam) Name() string       { return "adam" }
func (o *adam) State() [][]float32 { return [][]float32{o.m, o.v} }
func (o *adam) Update(k kernels.Backend, p, g []float32, lr float32, step int64, c Conditioning) {
	const b1, b2, eps = 0.9, 0.999, 1e-8
	// Fold both bias corrections into the step size and epsilon:
	// lr·m̂/(√v̂+ε) = (lr·√c2/c1)·m/(√v + ε·√c2).
	c1 := 1 - math.Pow(b1, float64(step))
	c2 := 1 - math.Pow(b2, float64(step))
	alpha := float32(float64(lr) * math.Sqrt(c2) / c1)
	k.AdamUpdate(p, g, o.m, o.v, alpha, b1, b2, float32(eps*math.Sqrt(c2)), c.Scale, c.Limit)
}
