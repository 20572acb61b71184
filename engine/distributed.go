package engine

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"hash/crc32"
	"math"
	"time"
	"unsafe"

	"charrnn/dist"
)

// Data-parallel training. A trainer that has joined a job of N ranks (Join)
// trains Config.Batch streams of its own, which are streams rank·B ...
// rank·B+B-1 of the N·B of the whole job: their cursors and dropout masks
// are the ones a single process with N·B streams gives those streams. After
// the backward pass, the gradient slab is summed over the ranks; the output
// layer scales by 1/(N·B), as one process with N·B streams would, so the sum
// is that process's gradient (to rounding) and every rank applies the same
// update to the same parameters.
//
// Anything that could make ranks go different ways is decided once, here,
// and every rank learns the decision:
//   - stop for time (rank 0's clock) or a signal (any rank's): agreeStop;
//   - a non-finite loss or gradient, and with it the rollback and the
//     learning-rate cut (a sum over ranks): reduceLoss;
//   - the state's finiteness before a snapshot or a save (any rank's):
//     finiteEverywhere;
//   - a window some rank could not read (any rank's): agreeRead;
//   - validation, and so the best loss, patience and plateau cuts (rank 0
//     measures, every rank gets its result): heldOutLoss;
//   - whether a checkpoint was written (rank 0's write): rootOutcome;
//   - the parameters being identical on every rank (a checksum compared at
//     every save): checkInSync.
// Without Join (job == nil) none of this runs, and a single process trains
// exactly as it always has.

// MaxRanks bounds the ranks a checkpoint may say trained it.
const MaxRanks = 1 << 20

// ErrOtherRank is wrapped by the error a rank returns when the job stops
// for a reason another rank reports (rank 0, for decisions taken once): the
// ranks stop together, and the one that knows why says so.
var ErrOtherRank = errors.New("stopped with the other ranks")

// otherRankError is err, as a rank that does not report it returns it.
type otherRankError struct{ err error }

func (e *otherRankError) Error() string   { return e.err.Error() }
func (e *otherRankError) Unwrap() []error { return []error{ErrOtherRank, e.err} }

// CommError is a collective operation between ranks that failed. The ranks
// may no longer agree on what comes next, so nothing collective (not even a
// save) follows one: the front end ends the job (dist.Comm.Abort).
type CommError struct{ Err error }

func (e *CommError) Error() string { return "communication between ranks failed: " + e.Err.Error() }
func (e *CommError) Unwrap() error { return e.Err }

// job is a trainer's part in a data-parallel job of more than one rank.
type job struct {
	comm       dist.Comm
	rank, size int
	scalars    []float64 // a step's votes and loss, allocated once
	// commTime is the time spent in the gradient and loss reductions.
	commTime time.Duration
}

// Join makes the trainer rank c.Rank() of a data-parallel job of c.Size()
// ranks. Every rank calls it, after NewTrainer and before Restore and the
// first step, with the same configuration, vocabulary and corpus: Join
// checks that they are (a rank's differing setup is an error on every
// rank, reported by rank 0), and that every stream of the job has at least
// one window of the training part to itself. A job of one rank is a single
// process: Join does nothing. A trainer whose Join failed is not to be used.
func (t *Trainer) Join(c dist.Comm) error {
	if t.job != nil || t.Step != 0 {
		return errors.New("engine: Join is for a new trainer, before its first step")
	}
	if c.Size() == 1 {
		return nil
	}
	B, T := t.Config.Batch, t.Config.Seq
	t.job = &job{comm: c, rank: c.Rank(), size: c.Size(), scalars: make([]float64, 2)}
	shape, err := json.Marshal(struct {
		Config     TrainConfig
		VocabKind  string
		Vocab      []int32
		CorpusSize int64
	}{t.Config, t.Vocab.Kind, t.Vocab.Symbols, t.size})
	if err != nil {
		return err
	}
	same, err := dist.AllEqual(c, shape)
	if err != nil {
		return &CommError{err}
	}
	if !same {
		return t.shared(errors.New("the ranks are not set up alike: rank 0's settings, vocabulary or corpus size differ from another rank's (every rank must run the same command on the same corpus)"))
	}
	total := t.totalStreams()
	if share := t.trainSize / int64(total); share < int64(T)+1 {
		return t.shared(fieldErrorf("Batch", "(%d per rank, %d ranks: %d streams) leaves each stream %d characters of the %d trained on, fewer than one window of %d: use fewer ranks or streams",
			B, c.Size(), total, share, t.trainSize, T+1))
	}
	t.ws.firstStream, t.ws.lossStreams = t.firstStream(), total
	return t.placeStreams()
}

// Ranks is the number of ranks in the trainer's job (1 for a single
// process); every rank trains Config.Batch streams.
func (t *Trainer) Ranks() int {
	if t.job == nil {
		return 1
	}
	return t.job.size
}

// Rank is the trainer's rank in its job (0 for a single process).
func (t *Trainer) Rank() int {
	if t.job == nil {
		return 0
	}
	return t.job.rank
}

// CommTime is the time the trainer's steps have spent summing gradients
// and losses over the ranks (0 for a single process).
func (t *Trainer) CommTime() time.Duration {
	if t.job == nil {
		return 0
	}
	return t.job.commTime
}

// firstStream is the global index of the trainer's first stream.
func (t *Trainer) firstStream() int { return t.Rank() * t.Config.Batch }

// totalStreams is the number of streams of the whole job.
func (t *Trainer) totalStreams() int { return t.Ranks() * t.Config.Batch }

// placeStreams puts the trainer's streams at their starting cursors: the
// job's streams evenly spaced over the training part, by global index.
func (t *Trainer) placeStreams() error {
	first, spacing := t.firstStream(), t.trainSize/int64(t.totalStreams())
	for s := range t.Cursors {
		var err error
		if t.Cursors[s], err = t.tokens.TokenStart(int64(first+s) * spacing); err != nil {
			return err
		}
	}
	return nil
}

// shared is an error every rank has reached together: rank 0 returns it,
// the others return it marked as reported by another rank.
func (t *Trainer) shared(err error) error {
	if err == nil || t.Rank() == 0 {
		return err
	}
	return &otherRankError{err}
}

// anyRank reports whether cond holds on at least one rank, the same answer
// on every rank.
func (t *Trainer) anyRank(cond bool) (bool, error) {
	if t.job == nil {
		return cond, nil
	}
	votes := t.job.scalars[:1]
	votes[0] = 0
	if cond {
		votes[0] = 1
	}
	if err := t.job.comm.AllReduceSum64(votes); err != nil {
		return false, &CommError{err}
	}
	return votes[0] > 0, nil
}

// agreeStop turns this rank's view (the time is up, an interrupt arrived)
// into the job's: the time is rank 0's to judge, an interrupt on any rank
// stops every rank.
func (t *Trainer) agreeStop(timeUp, interrupted bool) (bool, bool, error) {
	if t.job == nil {
		return timeUp, interrupted, nil
	}
	votes := t.job.scalars[:2]
	votes[0], votes[1] = 0, 0
	if timeUp && t.job.rank == 0 {
		votes[0] = 1
	}
	if interrupted {
		votes[1] = 1
	}
	if err := t.job.comm.AllReduceSum64(votes); err != nil {
		return false, false, &CommError{err}
	}
	return votes[0] > 0, votes[1] > 0, nil
}

// agreeRead turns this rank's error reading its windows (nil when it read
// them) into the job's: if any rank failed, every rank returns an error,
// and nothing of the step happens anywhere.
func (t *Trainer) agreeRead(err error) error {
	failed, cerr := t.anyRank(err != nil)
	switch {
	case cerr != nil:
		return cerr
	case err != nil:
		return err
	case failed:
		return &otherRankError{errors.New("another rank could not read its windows of the corpus")}
	}
	return nil
}

// finiteEverywhere reports whether the training state is finite on every
// rank: parameters and optimizer state (the same everywhere) and each
// rank's carried states.
func (t *Trainer) finiteEverywhere() (bool, error) {
	notFinite, err := t.anyRank(!t.Finite())
	return !notFinite, err
}

// reduceLoss sums a step's loss over the ranks, and its verdict on
// whether the loss or gradient was finite, so that every rank rolls back
// or updates together.
func (j *job) reduceLoss(loss float64, nonFinite bool) (float64, bool, error) {
	start := time.Now()
	v := j.scalars
	v[0], v[1] = loss, 0
	if nonFinite {
		v[1] = 1
	}
	err := j.comm.AllReduceSum64(v)
	j.commTime += time.Since(start)
	if err != nil {
		return 0, false, &CommError{err}
	}
	return v[0], v[1] > 0 || math.IsNaN(v[0]) || math.IsInf(v[0], 0), nil
}

// reduceGradients sums the gradient slab over the ranks, in one
// all-reduce once the backward pass is over. (Starting the output layer's
// share early, to overlap the layers' backward pass, does not pay: see
// bench/RESULTS.md.)
func (j *job) reduceGradients(grads []float32) error {
	start := time.Now()
	err := j.comm.AllReduceSum32(grads)
	j.commTime += time.Since(start)
	if err != nil {
		return &CommError{err}
	}
	return nil
}

// checkInSync returns an error, on every rank, unless the parameters and
// optimizer state are bit for bit the same on every rank.
func (t *Trainer) checkInSync() error {
	if t.job == nil {
		return nil
	}
	sum := crc32.Checksum(floatBytes(t.Model.Params), castagnoli)
	for _, s := range t.optState {
		sum = crc32.Update(sum, castagnoli, floatBytes(s))
	}
	same, err := dist.AllEqual(t.job.comm, []byte(fmt.Sprintf("%08x", sum)))
	if err != nil {
		return &CommError{err}
	}
	if !same {
		return t.shared(fmt.Errorf("step %d: the parameters differ between ranks (rank 0's checksum %08x is not every rank's): the ranks no longer train one model", t.Step, sum))
	}
	return nil
}

// floatBytes is the memory of s as bytes.
func floatBytes(s []float32) []byte {
	if len(s) == 0 {
		return nil
	}
	return unsafe.Slice((*byte)(unsafe.Pointer(&s[0])), 4*len(s))
}

// gatherStreams returns, on rank 0, the carried states and cursors of every
// stream of the job, in global stream order, as a single process with all
// of them would have them (state is this rank's, as Workspace.SaveState
// lays it out); nil on the other ranks.
func (t *Trainer) gatherStreams(state []float32) ([]float32, []int64, error) {
	j := t.job
	var all []float32
	var cursors []int64
	if j.rank == 0 {
		all = make([]float32, j.size*len(state))
		cursors = make([]int64, j.size*len(t.Cursors))
	}
	if err := dist.GatherSlice(j.comm, state, all, 0); err != nil {
		return nil, nil, &CommError{err}
	}
	if err := dist.GatherSlice(j.comm, t.Cursors, cursors, 0); err != nil {
		return nil, nil, &CommError{err}
	}
	if j.rank != 0 {
		return nil, nil, nil
	}
	// Gathered rank by rank, each rank's slabs in turn; a single process
	// has slab by slab, each holding every rank's rows in turn.
	rows := t.Config.Batch * t.Model.Config.Hidden
	global := make([]float32, len(all))
	slabs := len(state) / rows
	for r := range j.size {
		for k := range slabs {
			copy(global[(k*j.size+r)*rows:(k*j.size+r+1)*rows], all[(r*slabs+k)*rows:])
		}
	}
	return global, cursors, nil
}

// ownStreams returns this rank's part of the carried states and cursors of
// every stream of the job, in global stream order (as a checkpoint holds
// them).
func (t *Trainer) ownStreams(state []float32, cursors []int64) ([]float32, []int64) {
	n, first, B := t.Ranks(), t.firstStream(), t.Config.Batch
	if n == 1 {
		return state, cursors
	}
	rows := B * t.Model.Config.Hidden
	own := make([]float32, len(state)/n)
	for k := range len(own) / rows {
		copy(own[k*rows:(k+1)*rows], state[(k*n+t.Rank())*rows:])
	}
	return own, cursors[first : first+B]
}

// heldOutLoss measures the loss on the held-out tail. In a job, rank 0
// measures it and every rank gets its result (or learns that it failed, or
// that rank 0 was interrupted: context.Canceled).
func (t *Trainer) heldOutLoss(ctx context.Context) (Evaluation, error) {
	from, to := t.HeldOut()
	if t.job == nil {
		return evaluateRange(ctx, t.k, t.Model, t.Vocab, t.corpus, from, to)
	}
	const ok, interrupted, failed = 0, 1, 2
	var ev Evaluation
	var err error
	msg := []float64{ok, 0, 0}
	if t.job.rank == 0 {
		ev, err = evaluateRange(ctx, t.k, t.Model, t.Vocab, t.corpus, from, to)
		switch {
		case err != nil && ctx.Err() != nil:
			msg[0] = interrupted
		case err != nil:
			msg[0] = failed
		}
		msg[1], msg[2] = ev.LossNats, float64(ev.Chars)
	}
	if cerr := dist.BroadcastSlice(t.job.comm, msg, 0); cerr != nil {
		return Evaluation{}, &CommError{cerr}
	}
	switch {
	case t.job.rank == 0:
		return ev, err
	case msg[0] == interrupted:
		return Evaluation{}, &otherRankError{context.Canceled}
	case msg[0] == failed:
		return Evaluation{}, &otherRankError{errors.New("validation failed on rank 0")}
	}
	return Evaluation{LossNats: msg[1], Chars: int64(msg[2])}, nil
}

// rootOutcome makes rank 0's outcome (of writing a checkpoint) every
// rank's.
func (t *Trainer) rootOutcome(err error) error {
	if t.job == nil {
		return err
	}
	failed := []float64{0}
	if err != nil {
		failed[0] = 1
	}
	if cerr := dist.BroadcastSlice(t.job.comm, failed, 0); cerr != nil {
		return &CommError{cerr}
	}
	if t.job.rank == 0 || failed[0] == 0 {
		return err
	}
	return &otherRankError{errors.New("rank 0 could not save the checkpoint")}
}
