package main

import (
	"charrnn/engine"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"time"
)

// reportConfig says where a training run's progress goes.
type reportConfig struct {
	stderr, stdout io.Writer
	terminal       bool // stderr is a terminal: draw a progress bar, not lines
	width          int  // the terminal's columns (0: ask it)

	// The run's bounds, for the bar's total and ETA.
	startStep, steps int64
	duration         time.Duration

	logPath, plotPath string
	appendLog         bool // -resume: add to the log, and plot what it holds already
}

// reporter is the one place a training run's progress goes: it shows each
// record as a plain line or on the progress bar, appends it to the -log file
// and keeps the curves for the -plot image.
type reporter struct {
	stderr, stdout io.Writer
	bar            *progressBar // nil: plain lines
	log            *runLog      // nil: no -log
	plotPath       string
	points         []point        // the curves so far, for -plot
	last           *engine.Record // the latest record, shown again when the bar goes away

	// err is the first failure to write the log or the plot. Training goes
	// on without them (warned about once); close returns it.
	err error
}

// newReporter opens the log (before any training, so a bad path is the
// user's error) and sets up the bar or the plain lines.
func newReporter(cfg reportConfig) (*reporter, error) {
	r := &reporter{stderr: cfg.stderr, stdout: cfg.stdout, plotPath: cfg.plotPath}
	if cfg.logPath != "" {
		l, err := openRunLog(cfg.logPath, cfg.appendLog)
		if err != nil {
			return nil, badInput(err)
		}
		if l.repaired {
			fmt.Fprintf(cfg.stderr, "charrnn: dropped an incomplete last line of %s\n", cfg.logPath)
		}
		r.log = l
		if cfg.appendLog && cfg.plotPath != "" {
			r.points = plotHistory(cfg.stderr, cfg.logPath)
		}
	}
	if cfg.terminal {
		width := cfg.width
		if width == 0 {
			width = terminalWidth(cfg.stderr)
		}
		r.bar = newProgressBar(cfg.stderr, width, cfg.startStep, cfg.steps, cfg.duration)
	}
	return r, nil
}

// plotHistory returns the curves of the earlier runs in the log a resumed
// run appends to, for the plot to start from.
func plotHistory(stderr io.Writer, logPath string) []point {
	points, err := readLog(logPath)
	switch {
	case errors.Is(err, errNoRecords):
		return nil
	case err != nil:
		fmt.Fprintf(stderr, "charrnn: -plot draws only this run: %v\n", err)
		return nil
	}
	return points
}

// Stepped moves the bar to step; called after every step, it costs next to
// nothing without a bar.
func (r *reporter) Stepped(step int64) {
	if r.bar != nil {
		r.bar.progress(step)
	}
}

// Report shows rec and records it in the log and the curves.
func (r *reporter) Report(rec engine.Record) {
	r.last = &rec
	// The record's JSON is what the log holds and what the plot and the
	// bar's validation loss are read from.
	line, err := json.Marshal(rec)
	var p point
	if err == nil {
		err = json.Unmarshal(line, &p)
	}
	if err != nil { // a non-finite number: show the record, skip log and plot
		r.fail(fmt.Errorf("report at step %d: %w", rec.Step, err))
	}
	if r.bar != nil {
		r.bar.describe(rec, p.ValLoss)
	} else {
		fmt.Fprintln(r.stderr, plainLine(rec))
	}
	if err != nil {
		return
	}
	if r.log != nil {
		if err := r.log.write(line); err != nil {
			r.fail(err)
			r.log = nil
		}
	}
	if r.plotPath != "" {
		r.points = addPoint(r.points, p)
	}
}

// plainLine is how a record reads when stderr is not a terminal.
func plainLine(rec engine.Record) string {
	val := ""
	if rec.ValLoss != nil {
		val = fmt.Sprintf("  val %.4f nats/char %.3f bits/char perplexity %.3f", *rec.ValLoss, *rec.ValBitsPerChar, *rec.ValPerplexity)
	}
	return fmt.Sprintf("step %d  loss %.4f nats/char  %.3f bits/char  %.0f chars/s  grad norm %.3g%s",
		rec.Step, rec.Loss, rec.BitsPerChar, rec.CharsPerSec, rec.GradNorm, val)
}

// Sample prints a sample to stdout, taking the bar out of its way.
func (r *reporter) Sample(step int64, text string) {
	if r.bar != nil {
		r.bar.clear()
	}
	fmt.Fprintf(r.stdout, "--- sample at step %d ---\n%s\n---\n", step, text)
	if r.bar != nil {
		r.bar.redraw()
	}
}

// Note prints a line about the run (a rollback, a learning-rate cut, an
// early stop) to stderr, taking the bar out of its way.
func (r *reporter) Note(msg string) { r.line("charrnn: " + msg) }

// line prints a line to stderr, taking the bar out of its way.
func (r *reporter) line(line string) {
	if r.bar != nil {
		r.bar.clear()
	}
	fmt.Fprintln(r.stderr, line)
	if r.bar != nil {
		r.bar.redraw()
	}
}

// Saved is called after each checkpoint save: the log is made durable up to
// the checkpoint and the plot is redrawn (once there is a record to draw).
func (r *reporter) Saved(string) {
	if r.log != nil {
		if err := r.log.sync(); err != nil {
			r.fail(err)
			r.log = nil
		}
	}
	if r.plotPath != "" && len(r.points) > 0 {
		if err := drawPlotFile(r.plotPath, r.points); err != nil {
			r.fail(err)
			r.plotPath = ""
		}
	}
}

// close takes the bar away, leaving the last record as a plain line, and
// closes the log. It returns the first failure to write the log or plot.
func (r *reporter) close() error {
	if r.bar != nil {
		r.bar.clear()
		if r.last != nil {
			fmt.Fprintln(r.stderr, plainLine(*r.last))
		}
		r.bar = nil
	}
	if r.log != nil {
		if err := r.log.close(); err != nil && r.err == nil {
			r.err = err
		}
		r.log = nil
	}
	return r.err
}

// fail warns about a failed log or plot write once; training goes on.
func (r *reporter) fail(err error) {
	r.Note(fmt.Sprintf("%v (training goes on)", err))
	if r.err == nil {
		r.err = err
	}
}

// stderrIsTerminal reports whether progress should be drawn as a bar: stderr
// is a terminal that understands cursor movement.
func stderrIsTerminal() bool {
	return isTerminal(os.Stderr) && os.Getenv("TERM") != "dumb"
}
