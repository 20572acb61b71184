package engine

import (
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
var Optimizers = []string{"sgd", "adagrad", "rmsprop", "adam", "adamw"}

// Default hyperparameters: RMSprop's ρ is PyTorch's (0.99), AdamW's weight
// decay is Loshchilov & Hutter's PyTorch default (0.01).
const (
	DefaultRho         = 0.99
	DefaultWeightDecay = 0.01
	rmspropEpsilon     = 1e-8
)

// NewOptimizer returns the optimizer c names for n parameters, with c's
// momentum (sgd), ρ (rmsprop) or weight decay (adamw). Its State has one
// slab per n-float vector of state it keeps (the memory estimate asks an
// optimizer for 0 parameters how many that is).
func NewOptimizer(c TrainConfig, n int) (Optimizer, error) {
	switch c.Optimizer {
	case "sgd":
		if c.Momentum != 0 {
			return &momentum{mu: c.Momentum, vel: make([]float32, n)}, nil
		}
		return sgd{}, nil
	case "adagrad":
		return &adagrad{mem: make([]float32, n)}, nil
	case "rmsprop":
		return &rmsprop{rho: c.Rho, ms: make([]float32, n)}, nil
	case "adam":
		return &adam{m: make([]float32, n), v: make([]float32, n)}, nil
	case "adamw":
		return &adam{m: make([]float32, n), v: make([]float32, n), decay: c.WeightDecay, w: true}, nil
	}
	return nil, fieldErrorf("Optimizer", "must be one of %s, got %q", strings.Join(Optimizers, ", "), c.Optimizer)
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
	default: // rmsprop, adam, adamw
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

// momentum is SGD with heavy-ball momentum: v = μ·v + g', p -= lr·v.
type momentum struct {
	mu  float32
	vel []float32
}

func (o *momentum) Name() string       { return "sgd" }
func (o *momentum) State() [][]float32 { return [][]float32{o.vel} }
func (o *momentum) Update(k kernels.Backend, p, g []float32, lr float32, _ int64, c Conditioning) {
	k.MomentumUpdate(p, g, o.vel, lr, o.mu, c.Scale, c.Limit)
}

// rmsprop is Hinton's: ms = ρ·ms + (1-ρ)·g'², p -= lr·g'/(√ms + 1e-8).
type rmsprop struct {
	rho float32
	ms  []float32
}

func (o *rmsprop) Name() string       { return "rmsprop" }
func (o *rmsprop) State() [][]float32 { return [][]float32{o.ms} }
func (o *rmsprop) Update(k kernels.Backend, p, g []float32, lr float32, _ int64, c Conditioning) {
	k.RMSpropUpdate(p, g, o.ms, lr, o.rho, rmspropEpsilon, c.Scale, c.Limit)
}

// adam is Kingma & Ba's, with bias correction (β1 0.9, β2 0.999, ε 1e-8);
// with w set it is AdamW (Loshchilov & Hutter): the weight decay is
// decoupled from the gradient, p -= lr·decay·p, in the same pass.
type adam struct {
	m, v  []float32
	decay float32
	w     bool
}

func (o *adam) Name() string {
	if o.w {
		return "adamw"
	}
	return "adam"
}
func (o *adam) State() [][]float32 { return [][]float32{o.m, o.v} }
func (o *adam) Update(k kernels.Backend, p, g []float32, lr float32, step int64, c Conditioning) {
	const b1, b2, eps = 0.9, 0.999, 1e-8
	// Fold both bias corrections into the step size and epsilon:
	// lr·m̂/(√v̂+ε) = (lr·√c2/c1)·m/(√v + ε·√c2).
	c1 := 1 - math.Pow(b1, float64(step))
	c2 := 1 - math.Pow(b2, float64(step))
	alpha := float32(float64(lr) * math.Sqrt(c2) / c1)
	if o.w {
		k.AdamWUpdate(p, g, o.m, o.v, alpha, b1, b2, float32(eps*math.Sqrt(c2)), lr*o.decay, c.Scale, c.Limit)
		return
	}
	k.AdamUpdate(p, g, o.m, o.v, alpha, b1, b2, float32(eps*math.Sqrt(c2)), c.Scale, c.Limit)
}
