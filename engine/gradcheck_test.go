package engine

import (
	"fmt"
	"math"
	"math/rand/v2"
	"testing"

	"charrnn/kernels"
)

// ref64 is a float64 copy of the model written straight from the notebook's
// equations, one stream and one timestep at a time, with no kernels: the
// plain reference the engine's gradients are checked against.
type ref64 struct {
	H, V           int
	U, W, Vo, b, c []float64 // U is H×Vocab here, as in the equations
}

func ref64From(m *Model) *ref64 {
	H, V := m.Config.Hidden, m.Config.Vocab
	r := &ref64{H: H, V: V, U: make([]float64, H*V), W: f64(m.Tensor("W")), Vo: f64(m.Tensor("V")), b: f64(m.Tensor("b")), c: f64(m.Tensor("c"))}
	u := m.Tensor("U")
	for x := 0; x < V; x++ {
		for i := 0; i < H; i++ {
			r.U[i*V+x] = float64(u[x*H+i]) // engine stores Uᵀ
		}
	}
	return r
}

func f64(s []float32) []float64 {
	out := make([]float64, len(s))
	for i, v := range s {
		out[i] = float64(v)
	}
	return out
}

// loss is (1/B) Σ_s Σ_t -log y_t[target]; inputs and targets are time-major.
func (r *ref64) loss(h0 [][]float64, inputs, targets []int32, B int) float64 {
	loss, _ := r.run(h0, inputs, targets, B, false)
	return loss
}

// run returns the loss and, if grads, the analytic gradients [U, W, V, b, c]
// by back-propagation through time.
func (r *ref64) run(h0 [][]float64, inputs, targets []int32, B int, grads bool) (float64, [5][]float64) {
	H, V := r.H, r.V
	T := len(inputs) / B
	var g [5][]float64
	g[0], g[1], g[2], g[3], g[4] = make([]float64, H*V), make([]float64, H*H), make([]float64, V*H), make([]float64, H), make([]float64, V)
	var total float64
	for s := 0; s < B; s++ {
		hs := [][]float64{h0[s]}
		var ys [][]float64
		for t := 0; t < T; t++ {
			x := int(inputs[t*B+s])
			h := make([]float64, H)
			for i := 0; i < H; i++ {
				a := r.b[i] + r.U[i*V+x]
				for j := 0; j < H; j++ {
					a += r.W[i*H+j] * hs[t][j]
				}
				h[i] = math.Tanh(a)
			}
			hs = append(hs, h)
			o := make([]float64, V)
			mx := math.Inf(-1)
			for k := 0; k < V; k++ {
				o[k] = r.c[k]
				for j := 0; j < H; j++ {
					o[k] += r.Vo[k*H+j] * h[j]
				}
				mx = math.Max(mx, o[k])
			}
			var sum float64
			for k := range o {
				o[k] = math.Exp(o[k] - mx)
				sum += o[k]
			}
			for k := range o {
				o[k] /= sum
			}
			total -= math.Log(o[targets[t*B+s]]) / float64(B)
			ys = append(ys, o)
		}
		if !grads {
			continue
		}
		dnext := make([]float64, H)
		for t := T - 1; t >= 0; t-- {
			dy := append([]float64(nil), ys[t]...)
			dy[targets[t*B+s]]--
			for k := range dy {
				dy[k] /= float64(B)
			}
			h, hp := hs[t+1], hs[t]
			dh := append([]float64(nil), dnext...)
			for k := 0; k < V; k++ {
				g[4][k] += dy[k]
				for j := 0; j < H; j++ {
					g[2][k*H+j] += dy[k] * h[j]
					dh[j] += r.Vo[k*H+j] * dy[k]
				}
			}
			x := int(inputs[t*B+s])
			for i := 0; i < H; i++ {
				dr := (1 - h[i]*h[i]) * dh[i]
				g[3][i] += dr
				g[0][i*V+x] += dr
				for j := 0; j < H; j++ {
					g[1][i*H+j] += dr * hp[j]
				}
			}
			for j := 0; j < H; j++ {
				dnext[j] = 0
				for i := 0; i < H; i++ {
					dnext[j] += r.W[i*H+j] * (1 - h[i]*h[i]) * dh[i]
				}
			}
		}
	}
	return total, g
}

func (r *ref64) tensors() [5][]float64 { return [5][]float64{r.U, r.W, r.Vo, r.b, r.c} }

var tensorNames = [5]string{"U", "W", "V", "b", "c"}

// TestGradients checks, on random small configurations, that (1) the float64
// reference's analytic gradients match central finite differences, and (2)
// the float32 engine's gradients match the float64 ones, on every backend.
func TestGradients(t *testing.T) {
	rng := rand.New(rand.NewPCG(42, 7))
	for trial := 0; trial < 24; trial++ {
		H, V, T, B := 1+rng.IntN(17), 2+rng.IntN(10), 1+rng.IntN(9), 1+rng.IntN(3)
		name := fmt.Sprintf("H=%d/V=%d/T=%d/B=%d", H, V, T, B)
		t.Run(name, func(t *testing.T) {
			m, err := NewModel(rnnShape(H, V), uint64(trial))
			if err != nil {
				t.Fatal(err)
			}
			for _, name := range []string{"b", "c"} { // non-zero biases exercise db and dc
				bias := m.Tensor(name)
				for i := range bias {
					bias[i] = float32(rng.Float64() - 0.5)
				}
			}
			inputs, targets := make([]int32, T*B), make([]int32, T*B)
			for i := range inputs {
				inputs[i], targets[i] = int32(rng.IntN(V)), int32(rng.IntN(V))
			}
			h0 := make([][]float64, B)
			for s := range h0 {
				h0[s] = make([]float64, H)
				for i := range h0[s] {
					h0[s][i] = float64(float32(rng.Float64() - 0.5))
				}
			}

			ref := ref64From(m)
			refLoss, analytic := ref.run(h0, inputs, targets, B, true)

			// (1) the reference against finite differences.
			const eps = 1e-5
			for ti, p := range ref.tensors() {
				for i := range p {
					old := p[i]
					p[i] = old + eps
					up := ref.loss(h0, inputs, targets, B)
					p[i] = old - eps
					down := ref.loss(h0, inputs, targets, B)
					p[i] = old
					numeric := (up - down) / (2 * eps)
					if e := relErr(analytic[ti][i], numeric, 1e-6); e > 1e-4 {
						t.Fatalf("reference d%s[%d]: analytic %g, numeric %g, relative error %g", tensorNames[ti], i, analytic[ti][i], numeric, e)
					}
				}
			}

			// (2) the engine against the reference, on every backend.
			for _, k := range kernels.Supported() {
				g := make([]float32, len(m.Params))
				for i := range g { // Backward must overwrite, never read, g
					g[i] = float32(math.NaN())
				}
				ws := NewWorkspace(m, g, T, B)
				copy(ws.Inputs, inputs)
				copy(ws.Targets, targets)
				state := make([]float32, ws.StateFloats())
				for s := 0; s < B; s++ {
					for i, v := range h0[s] {
						state[s*H+i] = float32(v)
					}
				}
				ws.LoadState(state)
				loss := ws.Forward(k) / float64(B)
				ws.Backward(k)
				if e := relErr(loss, refLoss, 1e-6); e > 1e-5 {
					t.Fatalf("%s: loss %g, reference %g", k.Name(), loss, refLoss)
				}
				grad := func(name string) []float32 { return m.Layout.Tensor(name).Of(g) }
				engine := [5][]float32{transposeUT(grad("U"), H, V), grad("W"), grad("V"), grad("b"), grad("c")}
				for ti := range engine {
					for i, v := range engine[ti] {
						if e := relErr(float64(v), analytic[ti][i], 1e-4); e > 1e-3 {
							t.Fatalf("%s: d%s[%d] = %g, reference %g, relative error %g", k.Name(), tensorNames[ti], i, v, analytic[ti][i], e)
						}
					}
				}
			}
		})
	}
}

// transposeUT turns the engine's stored Uᵀ (Vocab×H) back into U (H×Vocab).
func transposeUT(ut []float32, H, V int) []float32 {
	u := make([]float32, H*V)
	for x := 0; x < V; x++ {
		for i := 0; i < H; i++ {
			u[i*V+x] = ut[x*H+i]
		}
	}
	return u
}

// relErr is |a-b| relative to the larger magnitude, with a floor so that
// gradients that are zero up to rounding do not divide by nothing.
func relErr(a, b, floor float64) float64 {
	return math.Abs(a-b) / math.Max(math.Max(math.Abs(a), math.Abs(b)), floor)
}
