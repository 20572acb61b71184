package engine

import (
	"runtime"
	"runtime/debug"
	"sync"
	"sync/atomic"
)

// scanWorkers is how many goroutines scan runs at most, so callers can size
// their per-worker state.
func scanWorkers() int { return runtime.GOMAXPROCS(0) }

// scan streams the whole corpus through visit in chunks, on scanWorkers()
// goroutines at once: each file in pieces of at most chunk bytes (mapChunk
// for mapped files), so a few large files still spread over the cores.
// visit gets the index of the worker calling it (for state of its own), the
// chunk's offset in the logical stream and its bytes, valid only during the
// call. It stops everything early by returning done or an error.
//
// Mapped chunks are read in place; in a corpus of more than
// vocabReleaseAbove mapped bytes their pages are released once visited, so
// the resident set stays small however big the corpus is.
func (c *Corpus) scan(chunk, mapChunk int64, visit func(worker int, pos int64, data []byte) (done bool, err error)) error {
	if c.closed {
		return errCorpusClosed
	}
	type piece struct {
		seg    *corpusSegment
		off, n int64 // [off, off+n) inside the file
	}
	var pieces []piece
	for i := range c.segs {
		s := &c.segs[i]
		size := chunk
		if s.mapped {
			size = mapChunk
		}
		for off := int64(0); off < s.size; off += size {
			pieces = append(pieces, piece{s, off, min(size, s.size-off)})
		}
	}
	release := c.mapped > vocabReleaseAbove
	var next atomic.Int64
	var stop atomic.Bool

	// work is one worker's loop. A fault in a mapping (a file cut under
	// the corpus) becomes its error, which stops every worker.
	work := func(w int) (err error) {
		defer c.endRead(debug.SetPanicOnFault(true), &err)
		var buf []byte // for files read rather than held in memory
		for !stop.Load() {
			k := next.Add(1) - 1
			if k >= int64(len(pieces)) {
				return nil
			}
			p := &pieces[k]
			data := p.seg.data
			if data != nil {
				data = data[p.off : p.off+p.n]
			} else {
				if buf == nil {
					buf = make([]byte, chunk)
				}
				data = buf[:p.n]
				if _, err := p.seg.readAt(data, p.off); err != nil {
					return err
				}
			}
			done, err := visit(w, p.seg.start+p.off, data)
			if p.seg.mapped && release {
				corpusReleasePages(data)
			}
			if done || err != nil {
				stop.Store(true)
				return err
			}
		}
		return nil
	}
	workers := min(scanWorkers(), len(pieces))
	errs := make([]error, workers)
	var wg sync.WaitGroup
	for w := range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if errs[w] = work(w); errs[w] != nil {
				stop.Store(true)
			}
		}()
	}
	wg.Wait()
	// The first error only: after a file is cut, every worker may fail the same way.
	for _, err := range errs {
		if err != nil {
			return err
		}
	}
	return nil
}
