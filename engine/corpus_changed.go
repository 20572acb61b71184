package engine

import (
	"fmt"
	"os"
	"runtime/debug"
	"unsafe"
)

// A corpus file that another process truncates while the corpus is open
// leaves the mapping longer than the file: reading a mapped page past the
// new end raises SIGBUS, which would kill the process with a stack trace and
// lose the run. Every read of the mappings therefore runs with
// debug.SetPanicOnFault, which turns such a fault into a panic of the
// reading goroutine, and endRead recovers it into a *CorpusChangedError.
// (A file cut inside a page reads zeros up to the page's end rather than
// faulting; a byte vocabulary finds those as bytes it lacks, and the error
// then names the change instead.)

// CorpusChangedError says a corpus file no longer has the size it had when
// the corpus was opened.
type CorpusChangedError struct {
	Path string
	Size int64 // now, or -1 if the file cannot be found
	Was  int64 // when opened
}

func (e *CorpusChangedError) Error() string {
	if e.Size < 0 {
		return fmt.Sprintf("corpus file %s changed while being read (now missing, was %d bytes)", e.Path, e.Was)
	}
	return fmt.Sprintf("corpus file %s changed while being read (now %d bytes, was %d)", e.Path, e.Size, e.Was)
}

// changed returns a *CorpusChangedError if the segment's file no longer has
// the size it had when opened, or nil.
func (s *corpusSegment) changed() error {
	if e := s.changedError(); e.Size != s.size {
		return e
	}
	return nil
}

// changedError is the error for a change to the segment's file, with its
// size now.
func (s *corpusSegment) changedError() *CorpusChangedError {
	var info os.FileInfo
	var err error
	if s.file != nil {
		info, err = s.file.Stat()
	} else {
		info, err = os.Stat(s.path)
	}
	e := &CorpusChangedError{Path: s.path, Size: -1, Was: s.size}
	if err == nil {
		e.Size = info.Size()
	}
	return e
}

// endRead ends a read of the corpus begun on this goroutine with
//
//	defer c.endRead(debug.SetPanicOnFault(true), &err)
//
// It restores the goroutine's fault mode and turns a fault in one of the
// corpus's mappings into the error *err. Any other panic goes on.
func (c *Corpus) endRead(panicOnFault bool, err *error) {
	debug.SetPanicOnFault(panicOnFault)
	r := recover()
	if r == nil {
		return
	}
	fault, ok := r.(interface{ Addr() uintptr })
	if !ok {
		panic(r)
	}
	if e := c.faultError(fault.Addr()); e != nil {
		*err = e
		return
	}
	panic(r)
}

// faultError explains a memory fault at addr: the mapped file it falls in
// has changed. If addr is in no mapping, any mapped file that has changed
// explains it; if none has, it is not the corpus's doing (nil).
func (c *Corpus) faultError(addr uintptr) error {
	for i := range c.segs {
		s := &c.segs[i]
		if !s.mapped || len(s.data) == 0 {
			continue
		}
		base := uintptr(unsafe.Pointer(unsafe.SliceData(s.data)))
		if addr >= base && addr-base < uintptr(len(s.data)) {
			// The fault proves the file was cut, even if it has since
			// grown back to its old size.
			return s.changedError()
		}
	}
	for i := range c.segs {
		if s := &c.segs[i]; s.mapped {
			if err := s.changed(); err != nil {
				return err
			}
		}
	}
	return nil
}
