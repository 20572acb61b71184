package main

import (
	"errors"
	"fmt"
	"io"
	"os"
	"strings"

	"charrnn/dist"
	"charrnn/engine"
)

// trainJob is the data-parallel job a train command is one rank of: under
// mpirun, with a binary built with -tags mpi, one rank of N; otherwise a
// job of one, where every method here passes errors through and
// communicates nothing.
//
// The ranks run the same steps and must issue the same collectives. So
// every failure that could happen on one rank alone (a file it cannot
// read) is agreed on (agree) before the next collective; a decision every
// rank reaches alike is reported by rank 0 only (shared); a failed
// collective ends the job (end), since the other ranks may be waiting in
// one.
type trainJob struct {
	comm dist.Comm
}

// startTrainJob joins the job mpirun started, or makes a job of one (and
// says so once when this binary could have been one rank of many).
func startTrainJob() (*trainJob, error) {
	c, err := dist.Init()
	if err != nil {
		return nil, err
	}
	if dist.MPICompiled && !dist.Launched() {
		fmt.Fprintln(os.Stderr, "charrnn: not started by mpirun: training as a single process")
	}
	return &trainJob{c}, nil
}

func (j *trainJob) root() bool  { return j.comm.Rank() == 0 }
func (j *trainJob) multi() bool { return j.comm.Size() > 1 }

// quietError is an error that another rank reports: this rank exits with
// its status and says nothing.
type quietError struct{ err error }

func (e *quietError) Error() string   { return e.err.Error() }
func (e *quietError) Unwrap() []error { return []error{e.err, engine.ErrOtherRank} }

// shared is an error every rank has reached alike: rank 0 reports it, the
// others exit with the same status quietly.
func (j *trainJob) shared(err error) error {
	if err == nil || j.root() {
		return err
	}
	return &quietError{err}
}

// sameArgs checks that every rank was given the same command line: the
// ranks then take the same steps, and issue the same collectives, up to
// the first that a file could make differ.
func (j *trainJob) sameArgs(args []string) error {
	if !j.multi() {
		return nil
	}
	same, err := dist.AllEqual(j.comm, []byte(strings.Join(args, "\x00")))
	if err != nil {
		return &engine.CommError{Err: err}
	}
	if !same {
		return j.shared(badInputf("the ranks were given different flags; every rank must run the same command (rank 0 has: train %s)", strings.Join(args, " ")))
	}
	return nil
}

// agree makes one rank's failure every rank's: if any rank failed, every
// rank returns an error, with exit status 2 when every failure was bad
// input. A rank that failed reports its own error, unless every rank
// failed, when rank 0's speaks for all.
func (j *trainJob) agree(err error) error {
	if !j.multi() {
		return err
	}
	var bad *badInputError
	votes := []float64{0, 0}
	if err != nil {
		votes[0] = 1
		if errors.As(err, &bad) {
			votes[1] = 1
		}
	}
	if cerr := j.comm.AllReduceSum64(votes); cerr != nil {
		return &engine.CommError{Err: cerr}
	}
	failed, badInputs := int(votes[0]), int(votes[1])
	switch {
	case err != nil && failed == j.comm.Size():
		return j.shared(err)
	case err != nil:
		return err
	case failed == 0:
		return nil
	}
	other := &quietError{errors.New("another rank failed")}
	if badInputs == failed {
		return badInput(other)
	}
	return other
}

// loadCheckpoint is engine.LoadCheckpoint of rank 0's file, on every rank:
// rank 0 reads it and sends it to the others, whose machines need not have
// it.
func (j *trainJob) loadCheckpoint(path string) (*engine.Checkpoint, error) {
	if !j.multi() {
		return engine.LoadCheckpoint(path)
	}
	var data []byte
	var err error
	size := []int64{-1}
	if j.root() {
		if data, err = os.ReadFile(path); err == nil {
			size[0] = int64(len(data))
		}
	}
	if cerr := dist.BroadcastSlice(j.comm, size, 0); cerr != nil {
		return nil, &engine.CommError{Err: cerr}
	}
	if size[0] < 0 {
		if err == nil {
			err = errors.New("rank 0 could not read the checkpoint")
		}
		return nil, j.shared(fmt.Errorf("load checkpoint: %w", err))
	}
	if !j.root() {
		data = make([]byte, size[0])
	}
	// In pieces: MPI counts are C ints.
	const piece = 1 << 30
	for off := 0; off < len(data); off += piece {
		if cerr := j.comm.Broadcast(data[off:min(off+piece, len(data))], 0); cerr != nil {
			return nil, &engine.CommError{Err: cerr}
		}
	}
	ck, err := engine.DecodeCheckpoint(data)
	if err != nil {
		return nil, j.shared(fmt.Errorf("load checkpoint %s: %w", path, err))
	}
	return ck, nil
}

// shareStreams sets, when resuming without -batch, each rank's batch so
// that the job trains the checkpoint's streams: a checkpoint of N ranks ×
// B streams resumes on M ranks with N·B/M streams each.
func (j *trainJob) shareStreams(flags *commandFlags, cfg *engine.TrainConfig, h engine.Header) error {
	total := max(h.Ranks, 1) * h.Config.Batch
	ranks := j.comm.Size()
	if flags.isSet("batch") || total == ranks*cfg.Batch {
		return nil
	}
	if total%ranks != 0 {
		return badInputf("the checkpoint has %d streams (%d ranks × -batch %d), which %d ranks cannot share evenly: run a number of ranks that divides %d",
			total, max(h.Ranks, 1), h.Config.Batch, ranks, total)
	}
	cfg.Batch = total / ranks
	if j.root() {
		fmt.Fprintf(os.Stderr, "charrnn: the checkpoint's %d streams (%d ranks × %d) go on as %d ranks × %d\n", total, max(h.Ranks, 1), h.Config.Batch, ranks, cfg.Batch)
	}
	return nil
}

// reportConfig is where this rank's progress goes: rank 0 shows it as
// asked, the other ranks nowhere.
func (j *trainJob) reportConfig(c reportConfig) reportConfig {
	if j.root() {
		return c
	}
	return reportConfig{stderr: io.Discard, stdout: io.Discard}
}

// profile starts the profiling flags ask for, on rank 0 only.
func (j *trainJob) profile(p *profiling) (stop func() error, err error) {
	if !j.root() {
		return func() error { return nil }, nil
	}
	return p.start()
}

// end turns the run's error into what this rank reports, and leaves the
// job. A failed collective ends every rank (Abort): the others may be
// waiting in one that will never complete. Otherwise the ranks leave
// together: an error is reported (its rank named, but for rank 0's) before
// a last barrier, because mpirun ends the whole job as soon as one rank
// exits with an error, and the rank with the line to say could be killed
// before it says it. An error another rank reports stays quiet.
func (j *trainJob) end(err error) error {
	if !j.multi() {
		if cerr := j.comm.Close(); err == nil {
			err = cerr
		}
		return err
	}
	rank := j.comm.Rank()
	var ce *engine.CommError
	if errors.As(err, &ce) {
		fmt.Fprintf(os.Stderr, "charrnn train: rank %d: %v; ending the job\n", rank, err)
		j.comm.Abort(exitFailure)
	}
	if err != nil && !errors.Is(err, engine.ErrOtherRank) && !errors.Is(err, errHelp) {
		if rank == 0 {
			fmt.Fprintf(os.Stderr, "charrnn train: %v\n", err)
		} else {
			fmt.Fprintf(os.Stderr, "charrnn train: rank %d: %v\n", rank, err)
		}
		err = &quietError{err}
	}
	berr := j.comm.Barrier()
	if cerr := j.comm.Close(); berr == nil {
		berr = cerr
	}
	if err == nil {
		err = berr
	}
	return err
}
