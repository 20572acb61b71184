package main

import (
	"charrnn/engine"
	"fmt"
	"io"
	"os"
	"strings"
	"time"

	"github.com/schollz/progressbar/v3"
	"golang.org/x/term"
)

// progressBar is the one-line progress display on a terminal: a bar with ETA
// towards -steps, else towards -time, else a spinner, with the latest
// record's step, loss, bits/char and speed in front of it.
type progressBar struct {
	bar   *progressbar.ProgressBar
	width int // terminal columns

	kind      barKind
	startStep int64
	start     time.Time
	total     int64 // the bar's maximum: steps, or milliseconds for -time
	step      int64 // the latest step
	drawn     time.Time
}

// redrawEvery is how often the bar moves between reports: often enough to
// look alive, rarely enough to cost nothing next to a training step.
const redrawEvery = 100 * time.Millisecond

type barKind int

const (
	barSteps   barKind = iota // total = the steps left to -steps
	barTime                   // total = -time, in milliseconds
	barSpinner                // open-ended
)

// Room the bar needs besides the description: percentage, a bar of at least
// ten cells and [elapsed:ETA] (the library narrows the bar to fit); the
// spinner needs itself and [elapsed].
const (
	barFixedWidth     = 34
	spinnerFixedWidth = 14
)

func newProgressBar(w io.Writer, width int, startStep, steps int64, duration time.Duration) *progressBar {
	b := &progressBar{width: width, startStep: startStep, start: time.Now()}
	opts := []progressbar.Option{
		progressbar.OptionSetWriter(w),
		progressbar.OptionUseANSICodes(true), // erase to end of line: no leftovers when the line shrinks
		progressbar.OptionSetWidth(30),
		// No spinner goroutine: everything is drawn from the training loop,
		// so clearing the line for a sample cannot race with a redraw.
		progressbar.OptionSetSpinnerChangeInterval(0),
	}
	switch {
	case steps > 0:
		b.kind, b.total = barSteps, max(steps-startStep, 1)
	case duration > 0:
		b.kind, b.total = barTime, max(duration.Milliseconds(), 1)
	default:
		b.kind, b.total = barSpinner, -1
		opts = append(opts, progressbar.OptionSetElapsedTime(true))
	}
	opts = append(opts, progressbar.OptionSetDescription(b.fit(fmt.Sprintf("step %d ", startStep))))
	b.bar = progressbar.NewOptions64(b.total, opts...)
	return b
}

// progress moves the bar to step (or to the time elapsed), redrawing it at
// most every redrawEvery. (The library's own throttle would also hold back
// the redraws for a new description or after a sample.)
func (b *progressBar) progress(step int64) {
	b.step = step
	if now := time.Now(); now.Sub(b.drawn) >= redrawEvery {
		b.drawn = now
		b.move()
		b.bar.RenderBlank()
	}
}

// move sets the library's bar to the latest position; it draws only if the
// percentage changed.
func (b *progressBar) move() {
	pos := b.step - b.startStep
	if b.kind == barTime {
		pos = time.Since(b.start).Milliseconds()
	}
	if b.total > 0 {
		pos = min(pos, b.total)
	}
	b.bar.Set64(pos)
}

// describe puts a record in front of the bar and redraws it.
func (b *progressBar) describe(rec engine.Record, valLoss *float64) {
	b.move()
	b.bar.Describe(b.fit(barDescriptions(rec, valLoss)...))
}

// barDescriptions says what the bar shows of a record, longest first.
func barDescriptions(rec engine.Record, valLoss *float64) []string {
	val := ""
	if valLoss != nil {
		val = fmt.Sprintf("val %.4f", *valLoss)
	}
	rate := siCount(rec.CharsPerSec)
	short := fmt.Sprintf("step %d loss %.3f %s c/s", rec.Step, rec.Loss, rate)
	if valLoss != nil {
		short = fmt.Sprintf("step %d loss %.3f val %.3f %s c/s", rec.Step, rec.Loss, *valLoss, rate)
	}
	return []string{
		fmt.Sprintf("step %d  loss %.4f  %.3f bits/char  %s chars/s  %s", rec.Step, rec.Loss, rec.BitsPerChar, rate, val),
		fmt.Sprintf("step %d loss %.4f %.2f b/c %s c/s %s", rec.Step, rec.Loss, rec.BitsPerChar, rate, val),
		short,
	}
}

// fit returns the first description that leaves the bar room on the line,
// else the last one cut short: a line that wraps cannot be redrawn in place.
func (b *progressBar) fit(descs ...string) string {
	fixed := barFixedWidth
	if b.kind == barSpinner {
		fixed = spinnerFixedWidth
	}
	room := max(b.width-fixed, 10)
	for _, d := range descs {
		d = strings.TrimSpace(d) + " "
		if len([]rune(d)) <= room {
			return d
		}
	}
	r := []rune(strings.TrimSpace(descs[len(descs)-1]))
	return string(r[:room-1]) + " "
}

// clear erases the bar, leaving the cursor at the start of its line.
func (b *progressBar) clear() { b.bar.Clear() }

// redraw draws the bar again after clear.
func (b *progressBar) redraw() { b.bar.RenderBlank() }

// siCount writes a rate compactly: 950, 52.1k, 1.23M.
func siCount(x float64) string {
	switch {
	case x >= 999.5e6:
		return fmt.Sprintf("%.3gG", x/1e9)
	case x >= 999.5e3:
		return fmt.Sprintf("%.3gM", x/1e6)
	case x >= 999.5:
		return fmt.Sprintf("%.3gk", x/1e3)
	}
	return fmt.Sprintf("%.0f", x)
}

// isTerminal reports whether w is a terminal.
func isTerminal(w io.Writer) bool {
	f, ok := w.(*os.File)
	return ok && term.IsTerminal(int(f.Fd()))
}

// terminalWidth returns w's width in columns, or 80 if it cannot tell.
func terminalWidth(w io.Writer) int {
	if f, ok := w.(*os.File); ok {
		if cols, _, err := term.GetSize(int(f.Fd())); err == nil && cols > 0 {
			return cols
		}
	}
	return 80
}
