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
// hidden size from it.
func loadInitFrom(flags *commandFlags, f *trainFlags) (*initFrom, error) {
	if f.initFrom == "" {
		return nil, nil
	}
	if f.resume {
		return nil, badInputf("-init-from starts a new run from exported weights; it cannot be combined with -resume")
	}
	m, v, err := engine.LoadSafetensors(f.initFrom)
	if err != nil {
		return nil, badInputf("-init-from: %v", err)
	}
	if flags.isSet("hidden") && f.hidden != m.Hidden {
		return nil, badInputf("-init-from %s has hidden size %d, but -hidden is %d", f.initFrom, m.Hidden, f.hidden)
	}
	f.hidden = m.Hidden
	return &initFrom{f.initFrom, m, v}, nil
}

// vocabFor returns the export's vocabulary, which the run keeps, after
// checking that it has every symbol of the data's.
func (in *initFrom) vocabFor(corpusVocab *engine.Vocab) (*engine.Vocab, error) {
	var missing []rune
	for _, sym := range corpusVocab.Symbols {
		if _, ok := in.vocab.ID(sym); !ok {
			missing = append(missing, rune(sym))
		}
	}
	if len(missing) > 0 {
		text := make([]byte, 0, len(missing))
		for _, r := range missing {
			if corpusVocab.Kind == engine.VocabBytes {
				text = append(text, byte(r))
			} else {
				text = append(text, string(r)...)
			}
		}
		return nil, badInputf("-init-from %s: the data has %d characters the export's vocabulary lacks: %q", in.path, len(missing), text)
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
