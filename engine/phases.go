package engine

import (
	"context"
	"runtime/pprof"
)

// Training phases, as pprof labels, so a CPU profile splits by phase
// (go tool pprof -tagfocus phase=backward). The labelled contexts are made
// once: switching labels per step allocates nothing.
type phase int

const (
	phaseData phase = iota
	phaseForward
	phaseBackward
	phaseReduce // summing gradients over the ranks of a data-parallel job
	phaseUpdate
	phaseNone
)

var phaseContexts = func() [phaseNone + 1]context.Context {
	var ctxs [phaseNone + 1]context.Context
	for p, name := range []string{"data", "forward", "backward", "reduce", "update"} {
		ctxs[p] = pprof.WithLabels(context.Background(), pprof.Labels("phase", name))
	}
	ctxs[phaseNone] = context.Background()
	return ctxs
}()

// enter labels the calling goroutine with the phase.
func enter(p phase) { pprof.SetGoroutineLabels(phaseContexts[p]) }
