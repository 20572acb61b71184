package main

import (
	"encoding/json"
	"fmt"
	"os"

	"charrnn/engine"
)

func runEval(args []string) error {
	flags := newFlagSet("eval", "-checkpoint FILE -data PATHS [-json]")
	checkpoint := flags.String("checkpoint", "charrnn.ckpt", "checkpoint to evaluate")
	data := flags.String("data", "", "text to evaluate on: files, directories and globs, comma-separated (default: the Go standard library)")
	asJSON := flags.Bool("json", false, "print one JSON object")
	var be backendFlags
	be.register(flags, "auto")
	precision := flags.String("precision", "fp32", precisionUsage)
	if err := flags.parse(args); err != nil {
		return err
	}
	ck, vocab, err := loadCheckpoint(*checkpoint)
	if err != nil {
		return err
	}
	k, err := be.choose()
	if err != nil {
		return err
	}
	m := ck.Model()
	if m.Precision, _, err = resolvePrecision(engine.Precision(*precision), k, m.Config, false); err != nil {
		return err
	}
	corpus, err := engine.OpenCorpus(*data)
	if err != nil {
		return badInput(err)
	}
	defer corpus.Close()
	ev, err := engine.Evaluate(k, m, vocab, corpus)
	if err != nil {
		return badInput(err)
	}
	if *asJSON {
		return json.NewEncoder(os.Stdout).Encode(map[string]any{
			"chars":         ev.Chars,
			"loss_nats":     ev.LossNats,
			"bits_per_char": ev.BitsPerChar(),
			"perplexity":    ev.Perplexity(),
			"backend":       k.Name(),
			"precision":     m.Precision,
		})
	}
	fmt.Printf("loss %.4f nats/char  %.4f bits/char  perplexity %.3f  (%d characters, backend %s, %s)\n",
		ev.LossNats, ev.BitsPerChar(), ev.Perplexity(), ev.Chars, k.Name(), m.Precision)
	return nil
}
