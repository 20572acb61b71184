package engine

import "time"

// singleWays picks, window by window, how a single stream's training shares
// the two cores where it has the choice (passContext.besideSingle: mixed
// precision, recurrent weights that fit a core's L2): the helper core
// beside the passes, making Wᵀ and the output layer's gradient while this
// core runs every step's product alone, or both cores sharing the
// recurrence (the vanilla RNN's in lockstep, lockstep.go; the gated cells'
// by splitting each product), the rest done in turn. Which is faster is
// the machine's: on a Zen 5 one core read h512b1's 512 KB bfloat16 W from
// its L2 about as fast as two cores split each GEMV through the pool; on a
// Zen 4 one core took 5.9 µs and two 3.6-3.9, and the lockstep less
// (bench/RESULTS.md). Both ways compute every value with the same calls on
// the same operands, summed in the same order, so they give the same bits.
type singleWays struct {
	on    bool // a training workspace of one stream in mixed precision
	tuner tuner
	// beside is the way of the window begun at start.
	beside bool
	start  time.Time
	// force, when set by a test, is the way every window takes: 1 beside,
	// 2 shared.
	force int
}

// The ways, as the tuner numbers them: beside is timed first.
const (
	wayBeside = iota
	wayShared
)

// begin picks the way of the window Forward begins.
func (sw *singleWays) begin(ctx *passContext) {
	ctx.couldBeside = false
	if !sw.on {
		ctx.shareSingle = false
		return
	}
	switch sw.force {
	case 1:
		sw.beside = true
	case 2:
		sw.beside = false
	default:
		sw.beside = sw.tuner.pick() == wayBeside
	}
	ctx.shareSingle = !sw.beside
	sw.start = time.Now()
}

// end times the window Backward ends. A model none of whose layers had the
// choice never has it: the timing stops for good.
func (sw *singleWays) end(ctx *passContext) {
	if !sw.on {
		return
	}
	if !ctx.couldBeside {
		sw.on = false
		return
	}
	way := wayShared
	if sw.beside {
		way = wayBeside
	}
	sw.tuner.record(way, time.Since(sw.start))
}
