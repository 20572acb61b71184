package main

import (
	"encoding/json"
	"fmt"
	"io"
	"math"
	"os"
	"strconv"
	"strings"

	"charrnn/engine"
)

func runInspect(args []string) error {
	flags := newFlagSet("inspect", "-checkpoint FILE")
	checkpoint := flags.String("checkpoint", "charrnn.ckpt", "checkpoint to describe")
	if err := flags.parse(args); err != nil {
		return err
	}
	ck, err := engine.LoadCheckpoint(*checkpoint)
	if err != nil {
		return badInput(err)
	}
	return describeCheckpoint(os.Stdout, *checkpoint, ck)
}

// describeCheckpoint prints what a checkpoint holds, for people.
func describeCheckpoint(w io.Writer, path string, ck *engine.Checkpoint) error {
	h := ck.Header
	c := h.Config
	m := c.Model
	fmt.Fprintf(w, "checkpoint  %s\n", path)
	fmt.Fprintf(w, "model       cell %s  layers %d  hidden %d  dropout %g\n", m.Cell, m.Layers, m.Hidden, m.Dropout)
	batch := fmt.Sprint(c.Batch)
	if h.Ranks > 1 {
		batch = fmt.Sprintf("%d per rank × %d ranks", c.Batch, h.Ranks)
	}
	fmt.Fprintf(w, "config      seq %d  batch %s  optimizer %s  lr %g  %s schedule  clip %s %g  seed %d\n",
		c.Seq, batch, c.Optimizer, c.LR, c.Schedule.Kind, c.Clip.Mode, c.Clip.Limit, c.Seed)
	data := h.Data
	if data == "" {
		data = "(not recorded)"
	}
	fmt.Fprintf(w, "data        %s\n", data)
	fmt.Fprintf(w, "vocabulary  %d %s: %s\n", len(h.Vocab), h.VocabKind, escapeSymbols(h.VocabKind, h.Vocab))
	n := 0
	for _, t := range h.Tensors {
		n += t.Size()
	}
	fmt.Fprintf(w, "parameters  %d\n", n)
	width := 0
	for _, t := range h.Tensors {
		width = max(width, len(t.Name))
	}
	for _, t := range h.Tensors {
		s := t.ExportShape()
		shape := fmt.Sprint(s[0])
		if len(s) == 2 {
			shape = fmt.Sprintf("%d×%d", s[0], s[1])
		}
		note := ""
		if t.Lookup {
			note = " (stored transposed: the one-hot input is a row lookup)"
		}
		fmt.Fprintf(w, "  %-*s  %s%s\n", width, t.Name, shape, note)
	}
	var sections []string
	for _, s := range h.Sections {
		sections = append(sections, fmt.Sprintf("%s %d", s.Name, s.Floats))
	}
	fmt.Fprintf(w, "sections    %s (floats)\n", strings.Join(sections, ", "))
	fmt.Fprintf(w, "progress    step %d  chars seen %d  smoothed loss %.4f nats/char (%.4f bits/char)\n",
		h.Step, h.CharsSeen, h.Loss, h.Loss/math.Ln2)
	return describeHistory(w, h)
}

// describeHistory prints the header's training history, one record per
// line, when the checkpoint has one. It reads the header generically, so
// it works with whatever the history's records hold.
func describeHistory(w io.Writer, h engine.Header) error {
	raw, err := json.Marshal(h)
	if err != nil {
		return err
	}
	var fields map[string]json.RawMessage
	if err := json.Unmarshal(raw, &fields); err != nil {
		return err
	}
	for _, line := range historyLines(fields["history"]) {
		if _, err := fmt.Fprintln(w, line); err != nil {
			return err
		}
	}
	return nil
}

// historyLines formats a history field: a list of records one per line
// under a count, anything else as it is; nothing when absent.
func historyLines(hist json.RawMessage) []string {
	if len(hist) == 0 || string(hist) == "null" {
		return nil
	}
	var records []json.RawMessage
	if json.Unmarshal(hist, &records) != nil {
		return []string{fmt.Sprintf("history     %s", hist)}
	}
	lines := []string{fmt.Sprintf("history     %d records", len(records))}
	for _, r := range records {
		lines = append(lines, "  "+string(r))
	}
	return lines
}

// escapeSymbols shows the vocabulary as one quoted string, each symbol
// escaped on its own (so that bytes of a multi-byte character, which a
// byte vocabulary holds separately, are not shown joined up).
func escapeSymbols(kind string, symbols []int32) string {
	var b strings.Builder
	b.WriteByte('"')
	for _, s := range symbols {
		var one string
		if kind == engine.VocabBytes {
			one = string([]byte{byte(s)})
		} else {
			one = string(rune(s))
		}
		q := strconv.Quote(one)
		b.WriteString(q[1 : len(q)-1])
	}
	b.WriteByte('"')
	return b.String()
}
