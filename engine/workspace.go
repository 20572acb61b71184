package engine

import "charrnn/kernels"

// Workspace holds every activation buffer of a model's passes over windows
// of B streams × T characters, and runs them. It is allocated once and
// reused, so a step allocates nothing. Rows are time-major: row t·B+s is
// stream s at time t.
type Workspace struct {
	T, B int

	// Inputs and Targets are the window's ids: Targets[i] is the character
	// that follows Inputs[i].
	Inputs, Targets []int32

	m      *Model
	grads  []float32 // laid out as m.Params; nil when only Forward runs
	layers []Layer
	ctx    *passContext

	// drop is each layer's dropout while training (nil otherwise); the
	// masks of Forward are those of update number dropStep.
	drop        []*dropout
	dropSeed    uint64
	dropStep    int64
	firstStream int

	// lossStreams is the number of streams the loss is averaged over: B,
	// or in a data-parallel job every rank's streams together.
	lossStreams int

	// top is what the output layer read in the last Forward.
	top []float32
	// k is the backend of the pass running, and outParams outputParams and
	// outWeights the output weights' refresh as func values made once, for
	// the helper core.
	k                     kernels.Backend
	outParams, outWeights func()
	// logits holds T·B rows of Vocab: o_t, turned in place into dO = y - onehot.
	logits []float32
	// dh and dx hold T·B rows of H: the loss's gradient with respect to a
	// layer's output and to its input, which is the output of the one below.
	dh, dx []float32
	// v is V as the output layer reads it, c its bias.
	v weights
	c Tensor
	// bfWidth is the bfloat16 scratch's width, found once.
	bfWidth int
	// paired holds the layers' hidden states pair-packed for the weight
	// gradients, in mixed-precision training over an even number of
	// streams (see pairedStates); nil otherwise.
	paired []pairedStates
	// single is how a single stream's training shares the cores.
	single singleWays
}

// NewWorkspace allocates the buffers for passes of model m over windows of
// t characters of b streams. grads, laid out as m's parameters, receives
// Backward's gradients; it is nil when only Forward runs.
func NewWorkspace(m *Model, grads []float32, t, b int) *Workspace {
	c := m.Config
	H, V := c.Hidden, c.Vocab
	ws := &Workspace{
		T: t, B: b, m: m, grads: grads,
		Inputs:      make([]int32, t*b),
		Targets:     make([]int32, t*b),
		ctx:         newPassContext(b, m.Precision),
		lossStreams: b,
		logits:      make([]float32, t*b*V),
	}
	vt, ct := m.output()
	ws.v, ws.c, ws.bfWidth = newWeights(vt, ws.ctx), ct, bf16Width(m.Layout)
	ws.outParams = func() { ws.outputParams(true) }
	ws.outWeights = func() { ws.v.refresh(ws.k, ws.m.Params) }
	for l := 0; l < c.Layers; l++ {
		ws.layers = append(ws.layers, cells[c.Cell].NewLayer(m, l, grads, t, b, ws.ctx))
	}
	ws.single.on = grads != nil && b == 1 && m.Precision == BF16
	if grads != nil {
		ws.ctx.ones = make([]float32, t*b)
		for i := range ws.ctx.ones {
			ws.ctx.ones[i] = 1
		}
		ws.dh = make([]float32, t*b*H)
		if c.Layers > 1 {
			ws.dx = make([]float32, t*b*H)
		}
		if pairsStates(c, m.Precision, b) {
			for _, l := range ws.layers {
				hs := l.Window()
				ws.paired = append(ws.paired, pairedStates{hs: hs, words: make([]uint16, kernels.PairsWords(len(hs)/H, kernels.PairsLD(H)))})
			}
		}
	}
	return ws
}

// pairsStates reports whether a training workspace over b streams keeps
// its layers' states pair-packed for the weight gradients (pairedStates):
// in mixed precision, with b even, and without dropout, whose gradients
// read the dropped-out copies instead.
func pairsStates(c ModelConfig, p Precision, b int) bool {
	return p == BF16 && b%2 == 0 && c.Dropout == 0
}

// workspaceFloats is how many floats NewWorkspace allocates, for the memory
// estimate (ids aside).
func workspaceFloats(c ModelConfig, t, b int, training bool, p Precision) (int, error) {
	H, V := c.Hidden, c.Vocab
	n := t*b*V + weightsFloats(V, H, p)
	for l := 0; l < c.Layers; l++ {
		n += cells[c.Cell].WindowFloats(c, l, t, b, p)
	}
	if p == BF16 { // two bfloat16 scratch buffers, and two more for sides
		lay, err := NewLayout(c)
		if err != nil {
			return 0, err
		}
		scratch := (t*b + 1) * kernels.PairsLD(bf16Width(lay))
		n += scratch
		if b == 1 && training {
			n += scratch
		}
	}
	if training && pairsStates(c, p, b) { // the pair-packed states, in words
		n += c.Layers * kernels.PairsWords((t+1)*b, kernels.PairsLD(H))
	}
	if training {
		n += t*b + t*b*H // the row sums' ones, dh
		if c.Layers > 1 {
			n += t * b * H
		}
		if c.Dropout > 0 {
			n += 2 * c.Layers * t * b * H
		}
	}
	return n, nil
}

// trainDropout switches dropout on for Forward (when the model has any):
// the masks are drawn from seed, and this workspace's streams are the run's
// streams firstStream, firstStream+1, ...
func (ws *Workspace) trainDropout(seed uint64, firstStream int) {
	p := ws.m.Config.Dropout
	if p == 0 {
		return
	}
	ws.dropSeed, ws.firstStream = seed, firstStream
	ws.drop = make([]*dropout, len(ws.layers))
	for l := range ws.drop {
		ws.drop[l] = newDropout(p, ws.T*ws.B*ws.m.Config.Hidden)
	}
}

// Forward runs the window through the model and returns the summed
// cross-entropy loss in nats. It leaves dO (the loss's gradient with respect
// to the logits) in place for Backward.
func (ws *Workspace) Forward(k kernels.Backend) float64 {
	c := ws.m.Config
	H, V, n := c.Hidden, c.Vocab, ws.T*ws.B
	ws.ctx.bindBF16(k, ws.T*ws.B, ws.bfWidth, ws.B == 1 && ws.grads != nil)
	ws.k = k
	ws.single.begin(ws.ctx)
	var x []float32
	for l, layer := range ws.layers {
		ids := ws.Inputs
		if l > 0 {
			ids = nil
		}
		if l == len(ws.layers)-1 {
			// The output weights' bfloat16 copies are made on the helper
			// core, if the top layer's pass has it beside (a single
			// stream): made here, from where the update left V, they
			// took 27 µs of each 100-character window of h512b1 in bf16.
			ws.ctx.also = ws.outWeights
		}
		layer.Forward(k, ids, x)
		x = layer.Out()
		if ws.drop != nil {
			ws.drop[l].draw(ws.dropSeed, ws.dropStep, l, ws.firstStream, ws.T, ws.B, H)
			x = ws.drop[l].apply(k, x)
		}
	}
	ws.top = x
	// The output projection for the whole window is one GEMM: O = Hs·Vᵀ.
	if ws.ctx.also = nil; !ws.ctx.alsoDone {
		ws.v.refresh(k, ws.m.Params)
	}
	ws.v.mulT(k, false, 0, n, 1, x, 0, ws.logits)
	bias := ws.c.Of(ws.m.Params)
	var loss float64
	for i, target := range ws.Targets {
		row := ws.logits[i*V : (i+1)*V]
		loss += float64(k.SoftmaxXent(row, row, bias, int(target)))
	}
	return loss
}

// Backward writes the gradients of the window's loss into the gradient slab
// (overwriting what was there), by back-propagation through time over the
// activations Forward left. The loss is summed over time and averaged over
// streams, so B = 1 is exactly the notebook's gradient. In a data-parallel
// job the average is over every rank's streams: scaling here, in the output
// layer's GEMMs, rather than after the sum over ranks costs no pass over
// the slab, and each rank's gradient is then its share of the sum.
func (ws *Workspace) Backward(k kernels.Backend) {
	n := ws.T * ws.B
	scale := 1 / float32(ws.lossStreams)
	dO := ws.logits

	// Output layer, window-wide: dV = dOᵀ·Hs, dc = Σ dO, dh = dO·V. When
	// the top layer's passes had the helper core beside them (a single
	// stream: passContext.forward), dV and dc are summed there while dh is
	// computed here, unsplit: the backward pass then finds dh in this
	// core's caches. Split, half of it came from the other core's, and
	// h512b1 trained 10% slower in bf16.
	dh, dx := ws.dh, ws.dx
	ws.k = k
	if ws.paired != nil && ws.ctx.bf != nil {
		for i := range ws.paired {
			ws.paired[i].made = false
		}
		ws.ctx.bf.states = ws.paired
		defer func() { ws.ctx.bf.states = nil }()
	}
	a, ok := k.(kernels.Async)
	beside := ok && ws.ctx.beside && a.Go(ws.outParams)
	if !beside {
		ws.outputParams(false)
	}
	ws.v.mul(k, false, 0, n, scale, dO, 0, dh)
	if beside {
		a.Wait()
	}

	// Down the layers; each takes the gradient of its output and gives the
	// one of its input, the output of the layer below.
	for l := len(ws.layers) - 1; l >= 0; l-- {
		if ws.drop != nil {
			ws.drop[l].backward(k, dh)
		}
		var below []float32
		if l > 0 {
			below = dx
		}
		ws.layers[l].Backward(k, dh, below)
		dh, dx = dx, dh
	}
	ws.single.end(ws.ctx)
}

// outputParams writes the output layer's parameter gradients, dV = dOᵀ·Hs
// and dc = Σ dO, scaled as Backward says, with Backward's backend; side
// says that it runs on the helper core (weights.gradient).
func (ws *Workspace) outputParams(side bool) {
	V, n := ws.m.Config.Vocab, ws.T*ws.B
	scale := 1 / float32(ws.lossStreams)
	dO := ws.logits
	ws.v.gradient(ws.k, n, scale, dO, ws.top, ws.grads, side)
	dc := ws.c.Of(ws.grads)
	clear(dc)
	for i := 0; i < n; i++ {
		ws.k.Axpy(scale, dO[i*V:(i+1)*V], dc)
	}
}

// Carry moves the last states into the slots the next window starts from,
// so state flows across windows.
func (ws *Workspace) Carry() {
	for _, l := range ws.layers {
		l.Carry()
	}
}

// StateFloats is the size of the carried state of all the streams.
func (ws *Workspace) StateFloats() int {
	return len(ws.layers) * cells[ws.m.Config.Cell].StateVectors() * ws.B * ws.m.Config.Hidden
}

// state calls f with each slab of carried state (B rows of H), layer by
// layer, h first.
func (ws *Workspace) state(f func(slab []float32)) {
	for _, l := range ws.layers {
		for _, s := range l.State() {
			f(s)
		}
	}
}

// SaveState copies the carried state of all the streams into dst
// (StateFloats long): layer by layer, each state vector's B rows of H.
func (ws *Workspace) SaveState(dst []float32) {
	off := 0
	ws.state(func(s []float32) { off += copy(dst[off:], s) })
}

// LoadState sets the carried state from what SaveState wrote.
func (ws *Workspace) LoadState(src []float32) {
	off := 0
	ws.state(func(s []float32) { off += copy(s, src[off:]) })
}

// ResetStream zeroes stream s's carried state (a stream that wrapped around
// the corpus starts afresh).
func (ws *Workspace) ResetStream(s int) {
	H := ws.m.Config.Hidden
	ws.state(func(slab []float32) { clear(slab[s*H : (s+1)*H]) })
}
