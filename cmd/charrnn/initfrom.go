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
	if flags.isSet("vocab") && f.vocab != v.Kind {
		return nil, badInputf("-init-from %s has a %s vocabulary, but -vocab is %s", f.initFrom, v.Kind, f.vocab)
	}
	f.hidden, f.vocab = m.Hidden, v.Kind
	return &initFrom{f.initFrom, m, v}, nil
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
