package engine

import "fmt"

// TrainingBytes estimates the memory a trainer for this configuration
// holds at its peak: parameters, gradients, optimizer state, the rollback
// snapshot, a window's activations (the cells' buffers), and a checkpoint
// being encoded. The corpus is memory-mapped and not counted.
func (c TrainConfig) TrainingBytes() (float64, error) {
	lay, err := NewLayout(c.Model)
	if err != nil {
		return 0, err
	}
	opt, err := NewOptimizer(c, 0)
	if err != nil {
		return 0, err
	}
	params, slabs := float64(lay.Floats), float64(len(opt.State()))
	state := float64(c.Batch * cells[c.Model.Cell].StateVectors() * c.Model.Layers * c.Model.Hidden)
	floats := params * (2 + slabs) // parameters, gradients, optimizer state
	if c.Guard.SnapshotEvery > 0 {
		floats += params*(1+slabs) + state
	}
	floats += params*(1+slabs) + state // the checkpoint file, encoded in memory
	ws, err := workspaceFloats(c.Model, c.Seq, c.Batch, true, c.Precision)
	if err != nil {
		return 0, err
	}
	floats += float64(ws)
	// Small buffers are not counted one by one (the window's ids, the
	// cursors, the sampler's, a checkpoint header's JSON): an allowance
	// covers them.
	const small = 256 << 10
	return 4*floats + small, nil
}

// checkMemory refuses to start a run whose buffers cannot fit in the memory
// this process may use, with an error saying so, instead of letting the Go
// runtime die with an out-of-memory trace halfway through allocating them.
// Where the limit is unknown, it checks nothing.
func checkMemory(need float64) error {
	avail, ok := availableMemory()
	if !ok || need <= float64(avail) {
		return nil
	}
	return fmt.Errorf("training this model needs about %s of memory, more than the %s available (make the model or the batch smaller)", byteSize(need), byteSize(float64(avail)))
}

// byteSize prints a size in bytes with a binary unit.
func byteSize(n float64) string {
	units := []string{"B", "KiB", "MiB", "GiB", "TiB", "PiB"}
	i := 0
	for n >= 1024 && i < len(units)-1 {
		n /= 1024
		i++
	}
	if i == 0 {
		return fmt.Sprintf("%.0f B", n)
	}
	return fmt.Sprintf("%.1f %s", n, units[i])
}
