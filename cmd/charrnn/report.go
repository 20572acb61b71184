package main

import (
	"fmt"
	"io"
)

// record is one progress report of a training run.
type record struct {
	Step        int64   `json:"step"`
	Chars       int64   `json:"chars"`         // characters trained on so far
	Loss        float64 `json:"loss"`          // mean training loss since the last report, nats/char
	BitsPerChar float64 `json:"bits_per_char"` // the same in bits
	LR          float64 `json:"lr"`
	CharsPerSec float64 `json:"chars_per_sec"`
	GradNorm    float64 `json:"grad_norm"` // the last step's, before clipping
	Seconds     float64 `json:"seconds"`   // since the run started

	// Set on the steps where the held-out tail was evaluated (-val-frac).
	ValLoss        *float64 `json:"val_loss,omitempty"` // nats/char
	ValBitsPerChar *float64 `json:"val_bits_per_char,omitempty"`
	ValPerplexity  *float64 `json:"val_perplexity,omitempty"`
}

// reporter shows training progress.
type reporter struct {
	w io.Writer
}

func newReporter(w io.Writer) *reporter { return &reporter{w: w} }

// report prints one plain line per record.
func (r *reporter) report(rec record) {
	val := ""
	if rec.ValLoss != nil {
		val = fmt.Sprintf("  val %.4f nats/char %.3f bits/char perplexity %.3f", *rec.ValLoss, *rec.ValBitsPerChar, *rec.ValPerplexity)
	}
	fmt.Fprintf(r.w, "step %d  loss %.4f nats/char  %.3f bits/char  %.0f chars/s  grad norm %.3g%s\n",
		rec.Step, rec.Loss, rec.BitsPerChar, rec.CharsPerSec, rec.GradNorm, val)
}
