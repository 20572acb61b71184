package main

import (
	"fmt"
	"os"

	"charrnn/engine"
)

// initFrom is train -init-from: a new run that starts from the weights and
// vocabulary of a file written by export.
type initFrom struct {
	path  string
	model *engine.Model
	vocab *engine.Vocab
}

// loadInitFrom reads -init-from's file, if given, and takes the run's
// model (cell, layers, hidden size) and vocabulary kind from it; flags
// given explicitly must agree with it.
func loadInitFrom(flags *commandFlags, o *trainOptions, cfg *engine.TrainConfig) (*initFrom, error) {
	if o.initFrom == "" {
		return nil, nil
	}
	if o.resume {
		return nil, badInputf("-init-from starts a new run from exported weights; it cannot be combined with -resume")
	}
	m, v, err := engine.LoadSafetensors(o.initFrom)
	if err != nil {
		return nil, badInputf("-init-from: %v", err)
	}
	file := m.Config
	for _, c := range []struct {
		flag       string
		given, has any
	}{
		{"cell", cfg.Model.Cell, file.Cell},
		{"layers", cfg.Model.Layers, file.Layers},
		{"hidden", cfg.Model.Hidden, file.Hidden},
		{"vocab", o.vocab, v.Kind},
	} {
		if flags.isSet(c.flag) && c.given != c.has {
			return nil, badInputf("-init-from %s has -%s %v, but -%s is %v", o.initFrom, c.flag, c.has, c.flag, c.given)
		}
	}
	cfg.Model.Cell, cfg.Model.Layers, cfg.Model.Hidden, o.vocab = file.Cell, file.Layers, file.Hidden, v.Kind
	return &initFrom{o.initFrom, m, v}, nil
}

// vocabFor returns the export's vocabulary, which the run keeps. A byte
// vocabulary must have every byte of the data; in a rune vocabulary, runes
// it lacks read as <unk>.
func (in *initFrom) vocabFor(corpus *engine.Corpus) (*engine.Vocab, error) {
	if in.vocab.Kind == engine.VocabRunes {
		return in.vocab, nil
	}
	corpusVocab, err := engine.BuildByteVocab(corpus)
	if err != nil {
		return nil, badInput(err)
	}
	var missing []byte
	for _, sym := range corpusVocab.Symbols {
		if _, ok := in.vocab.ID(sym); !ok {
			missing = append(missing, byte(sym))
		}
	}
	if len(missing) > 0 {
		return nil, badInputf("-init-from %s: the data has %d characters the export's vocabulary lacks: %q", in.path, len(missing), missing)
	}
	return in.vocab, nil
}

// apply puts the export's weights into the new trainer.
func (in *initFrom) apply(tr *engine.Trainer) error {
	if err := tr.InitFrom(in.model); err != nil {
		return badInputf("-init-from %s: %v", in.path, err)
	}
	fmt.Fprintf(os.Stderr, "charrnn: starting from the weights in %s\n", in.path)
	return nil
}
