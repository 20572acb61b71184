package engine

import "fmt"

// TrainingBytes estimates the memory a trainer for this configuration and a
// vocabulary of vocab symbols holds at its peak: parameters, gradients,
// optimizer state, the rollback snapshot, the aligned copies of W and V,
// a window's activations, and a checkpoint being encoded. The corpus is
// memory-mapped and not counted.
func (c TrainConfig) TrainingBytes(vocab int) float64 {
	h, v := float64(c.Hidden), float64(vocab)
	t, b := float64(c.Seq), float64(c.Batch)
	params := 2*h*v + h*h + h + v
	state := 0.0 // optimizer state, in slabs the size of the parameters
	switch c.Optimizer {
	case "sgd":
		if c.Momentum != 0 {
			state = 1
		}
	case "adagrad", "rmsprop":
		state = 1
	case "adam", "adamw":
		state = 2
	}
	floats := params * (2 + state) // parameters, gradients, state
	if c.Guard.SnapshotEvery > 0 {
		floats += params*(1+state) + b*h
	}
	floats += params * (1 + state)  // the checkpoint file, encoded in memory
	floats += (h + v) * (h + 16)    // padded copies of W and V
	floats += (t+1)*b*h + t*b*(v+h) // hidden states, logits, dh
	return 4*floats + 2*4*t*b + 8*b // and the window's ids, the cursors
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
	return fmt.Errorf("training this model needs about %s of memory, more than the %s available (lower -hidden, -batch or -seq)", byteSize(need), byteSize(float64(avail)))
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
