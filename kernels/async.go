package kernels

// Async is what a Parallel backend offers besides splitting calls: running
// one task of the caller's on a helper core while the caller goes on. The
// engine uses it to give each core whole streams of a batch for the length
// of a window, where splitting each step's small products would move the
// hidden states between the cores at every step.
type Async interface {
	// Go starts task on a helper and reports true, or does nothing and
	// reports false when none is free (the caller then runs the task
	// itself). After true the caller must call Wait, also on its error
	// paths, before calling Go again; meanwhile the backend's calls, the
	// task's included, run unsplit.
	Go(task func()) bool
	// Wait returns once the task has run, running it here if no helper has
	// started it yet, and re-raises a panic of the task.
	Wait()
}

// Go implements Async.
func (pb *parallelBackend) Go(task func()) bool {
	p := pb.pool
	if !p.busy.CompareAndSwap(false, true) {
		return false
	}
	h := p.helpers[0]
	h.job = job{op: opFunc, fn: task}
	p.pending.Store(1)
	h.state.Store(jobPosted)
	h.gate.signal()
	return true
}

// Wait implements Async.
func (pb *parallelBackend) Wait() { pb.pool.finish(nil) }
