package main

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"syscall"

	"charrnn/engine"
)

// runLog is the -log file: one JSON record per line, each written with a
// single write as it is made, so `tail -f` sees it at once and a crash
// loses at most the line being written.
type runLog struct {
	f        *os.File
	path     string
	repaired bool // an incomplete last line was dropped on opening
}

// openRunLog creates or replaces the log, or with appendTo adds to it. An
// existing log that ends in an incomplete line (a crash mid-write) has that
// line dropped, so that every line stays a whole record.
func openRunLog(path string, appendTo bool) (*runLog, error) {
	flags := os.O_WRONLY | os.O_CREATE | os.O_TRUNC
	if appendTo {
		flags = os.O_RDWR | os.O_CREATE
	}
	// Non-blocking, then checked: a named pipe put in the log's place since
	// the flags were checked would otherwise wait for a reader.
	f, err := os.OpenFile(path, flags|syscall.O_NONBLOCK, 0o644)
	if err != nil {
		return nil, fmt.Errorf("-log: %w", err)
	}
	if info, err := f.Stat(); err != nil || !info.Mode().IsRegular() {
		f.Close()
		return nil, fmt.Errorf("-log %s: not a regular file", path)
	}
	l := &runLog{f: f, path: path}
	if appendTo {
		if l.repaired, err = dropIncompleteLine(f); err != nil {
			f.Close()
			return nil, fmt.Errorf("-log %s: %w", path, err)
		}
	}
	return l, nil
}

// dropIncompleteLine truncates f after its last newline and leaves the
// offset at the end. It reports whether anything was dropped.
func dropIncompleteLine(f *os.File) (bool, error) {
	size, err := f.Seek(0, io.SeekEnd)
	if err != nil || size == 0 {
		return false, err
	}
	// Scan back in blocks for the last newline.
	const block = 4096
	buf := make([]byte, block)
	end := size
	for end > 0 {
		start := max(end-block, 0)
		n, err := f.ReadAt(buf[:end-start], start)
		if err != nil && !errors.Is(err, io.EOF) {
			return false, err
		}
		if i := bytes.LastIndexByte(buf[:n], '\n'); i >= 0 {
			end = start + int64(i) + 1
			break
		}
		end = start
	}
	if end == size {
		return false, nil
	}
	if err := f.Truncate(end); err != nil {
		return false, err
	}
	_, err = f.Seek(end, io.SeekStart)
	return true, err
}

// write appends one record's JSON as a line.
func (l *runLog) write(line []byte) error {
	if _, err := l.f.Write(append(line, '\n')); err != nil {
		return fmt.Errorf("-log %s: %w", l.path, err)
	}
	return nil
}

// sync makes the lines written so far durable (called with each checkpoint
// save, so the log on disk reaches at least as far as the checkpoint).
func (l *runLog) sync() error {
	if err := l.f.Sync(); err != nil {
		return fmt.Errorf("-log %s: %w", l.path, err)
	}
	return nil
}

func (l *runLog) close() error {
	err := l.f.Sync()
	if cerr := l.f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return fmt.Errorf("-log %s: %w", l.path, err)
	}
	return nil
}

// point is what the plot needs of a record, read from its JSON form: the
// validation loss is there when the run measured one.
type point struct {
	Step    int64    `json:"step"`
	Loss    float64  `json:"loss"`
	ValLoss *float64 `json:"val_loss"`
}

var errNoRecords = errors.New("no records")

// readLog reads every record of a -log file, in order.
func readLog(path string) ([]point, error) {
	f, err := engine.OpenRegular(path) // a named pipe is refused, not waited on
	if err != nil {
		return nil, err
	}
	defer f.Close()
	var points []point
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 64<<10), 16<<20)
	for n := 1; sc.Scan(); n++ {
		line := bytes.TrimSpace(sc.Bytes())
		if len(line) == 0 {
			continue
		}
		p, err := parseLogLine(line)
		if err != nil {
			return nil, fmt.Errorf("%s:%d: %w", path, n, err)
		}
		points = append(points, p)
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("read %s: %w", path, err)
	}
	if len(points) == 0 {
		return nil, fmt.Errorf("%s: %w", path, errNoRecords)
	}
	return points, nil
}

// parseLogLine decodes one line, which must be an object with a step and
// a loss.
func parseLogLine(line []byte) (point, error) {
	var raw struct {
		Step    *int64   `json:"step"`
		Loss    *float64 `json:"loss"`
		ValLoss *float64 `json:"val_loss"`
	}
	if err := json.Unmarshal(line, &raw); err != nil {
		return point{}, fmt.Errorf("not a JSON record: %v", err)
	}
	switch {
	case raw.Step == nil:
		return point{}, errors.New(`record has no "step"`)
	case raw.Loss == nil:
		return point{}, errors.New(`record has no "loss"`)
	}
	return point{Step: *raw.Step, Loss: *raw.Loss, ValLoss: raw.ValLoss}, nil
}
