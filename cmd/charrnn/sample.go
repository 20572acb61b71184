package main

import (
	"bufio"
	"fmt"
	"io"
	"os"
	"strings"
	"time"

	"charrnn/engine"
)

// streamFlushEvery is how often sampled text is flushed to stdout: often
// enough that a reader sees it appear as it is generated, seldom enough
// that writes cost nothing next to the model.
const streamFlushEvery = 40 * time.Millisecond

// sampleChunk is how many characters are generated between checks that
// writing still works.
const sampleChunk = 1024

// stickyWriter remembers the first error of the writer it wraps, so that a
// long generation can stop at it.
type stickyWriter struct {
	w   io.Writer
	err error
}

func (s *stickyWriter) Write(p []byte) (int, error) {
	if s.err != nil {
		return 0, s.err
	}
	n, err := s.w.Write(p)
	s.err = err
	return n, err
}

func runSample(args []string) error {
	flags := newFlagSet("sample", "-checkpoint FILE [flags]")
	checkpoint := flags.String("checkpoint", "charrnn.ckpt", "checkpoint to sample from")
	n := flags.Int("n", 500, "characters to generate")
	prime := flags.String("prime", "", "text to feed through the model before generating")
	temperature := flags.Float64("temperature", 1, "softmax temperature: below 1 sharper, above 1 more varied")
	topK := flags.Int("top-k", 0, "draw only from the K most likely characters (K above the vocabulary size keeps all; default: no limit)")
	topP := flags.Float64("top-p", 1, "draw only from the nucleus: the fewest most likely characters whose probabilities sum to at least P, 0 < P ≤ 1")
	greedy := flags.Bool("greedy", false, "always take the most likely character")
	beam := flags.Int("beam", 0, fmt.Sprintf("beam search of width K (1 to %d) for the most likely continuation of -n characters; deterministic, not a sample", engine.MaxBeam))
	seed := flags.Uint64("seed", 0, "random seed (default: a new one each run)")
	var be backendFlags
	be.register(flags, "auto")
	precision := flags.String("precision", "fp32", precisionUsage)
	var prof profiling
	prof.register(flags)
	if err := flags.parse(args); err != nil {
		return err
	}
	if err := checkSampleFlags(flags); err != nil {
		return err
	}
	if *n < 0 {
		return badInputf("-n must not be negative, got %d", *n)
	}
	if err := engine.ValidateTemperature(*temperature); err != nil {
		return badInputf("-temperature: %v", err)
	}
	if flags.isSet("top-k") {
		if err := engine.ValidateTopK(*topK); err != nil {
			return badInputf("-top-k: %v", err)
		}
	}
	if err := engine.ValidateTopP(*topP); err != nil {
		return badInputf("-top-p: %v", err)
	}
	if flags.isSet("beam") {
		if err := engine.ValidateBeam(*n, *beam); err != nil {
			return badInputf("-beam: %v", err)
		}
	}
	if !flags.isSet("seed") {
		*seed = uint64(time.Now().UnixNano())
	}
	ck, vocab, err := loadCheckpoint(*checkpoint)
	if err != nil {
		return err
	}
	primeIDs, err := vocab.Encode(*prime)
	if err != nil {
		return badInputf("-prime: %v", err)
	}
	k, err := be.choose()
	if err != nil {
		return err
	}
	m := ck.Model()
	var why string
	if m.Precision, why, err = resolvePrecision(engine.Precision(*precision), k, m.Config, false); err != nil {
		return err
	}
	be.say(k)
	if flags.isSet("precision") {
		fmt.Fprintf(os.Stderr, "charrnn: precision %s (%s)\n", m.Precision, why)
	}

	stopProfiling, err := prof.start()
	if err != nil {
		return err
	}
	stdout := &stickyWriter{w: os.Stdout}
	out := bufio.NewWriter(stdout)
	out.WriteString(*prime)
	if flags.isSet("beam") {
		ids, logProb, err := engine.BeamSearch(k, m, primeIDs, *n, *beam)
		if err != nil {
			return badInput(err) // its errors are all about -n and -beam
		}
		for _, id := range ids {
			writeSymbol(out, vocab, id)
		}
		perChar := 0.0
		if *n > 0 {
			perChar = -logProb / float64(*n)
		}
		fmt.Fprintf(os.Stderr, "charrnn: beam %d: log-probability %.4f nats (%.4f nats/char)\n", *beam, logProb, perChar)
	} else {
		s := engine.NewSampler(k, m, *seed)
		s.Temperature, s.Greedy, s.TopK, s.TopP = *temperature, *greedy, *topK, *topP
		s.Prime(primeIDs)
		// Stream: flush what is buffered whenever streamFlushEvery has
		// passed, so text appears as it is generated. Generate in pieces,
		// so that a failed write (a full disk, say) stops the
		// run at once rather than after all of -n.
		last := time.Now()
		emit := func(id int32) {
			writeSymbol(out, vocab, id)
			if now := time.Now(); now.Sub(last) >= streamFlushEvery && stdout.err == nil {
				out.Flush()
				last = now
			}
		}
		for left := *n; left > 0 && stdout.err == nil; left -= sampleChunk {
			s.Generate(min(left, sampleChunk), emit)
		}
		if stdout.err != nil {
			return stdout.err
		}
	}
	out.WriteString("\n")
	if err := out.Flush(); err != nil {
		return err
	}
	return stopProfiling()
}

// checkSampleFlags rejects flags that do nothing in the chosen mode: -greedy
// and -beam choose deterministically, so the settings of random draws
// (-temperature, -top-k, -top-p, -seed) would be silently ignored.
func checkSampleFlags(flags *commandFlags) error {
	random := []string{"temperature", "top-k", "top-p", "seed"}
	for _, mode := range []string{"beam", "greedy"} {
		if !flags.isSet(mode) {
			continue
		}
		var clash []string
		for _, name := range append(random, "greedy") {
			if name != mode && flags.isSet(name) {
				clash = append(clash, "-"+name)
			}
		}
		if len(clash) > 0 {
			return badInputf("-%s chooses deterministically, so it cannot be combined with %s", mode, strings.Join(clash, ", "))
		}
	}
	return nil
}

// writeSymbol writes one symbol's text: a byte of a byte vocabulary, or a
// code point's UTF-8.
func writeSymbol(w *bufio.Writer, v *engine.Vocab, id int32) {
	sym := v.Symbols[id]
	if v.Kind == engine.VocabBytes {
		w.WriteByte(byte(sym))
	} else {
		w.WriteRune(rune(sym))
	}
}
