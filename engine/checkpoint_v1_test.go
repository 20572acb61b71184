package engine

import (
	"testing"

	"charrnn/kernels"
)

// testdata/v1 holds a checkpoint written by the version-1 format (a
// one-layer vanilla RNN, H=8, trained 5 steps with Adam on text.txt, with
// validation) and the text. Every v1 checkpoint must keep loading as the
// model it was: the losses below are what the charrnn that wrote it
// measured (charrnn eval -backend generic).
func TestLoadV1Checkpoint(t *testing.T) {
	ck, err := LoadCheckpoint("testdata/v1/v1.ckpt")
	if err != nil {
		t.Fatal(err)
	}
	vocab, err := NewVocab(ck.Header.VocabKind, ck.Header.Vocab)
	if err != nil {
		t.Fatal(err)
	}
	corpus, err := OpenCorpus("testdata/v1/text.txt")
	if err != nil {
		t.Fatal(err)
	}
	defer corpus.Close()
	k, err := kernels.Lookup("generic")
	if err != nil {
		t.Fatal(err)
	}
	ev, err := Evaluate(k, ck.Model(), vocab, corpus)
	if err != nil {
		t.Fatal(err)
	}
	const want = 3.4561635583829853
	if ev.LossNats != want || ev.Chars != 1719 {
		t.Fatalf("v1 checkpoint evaluates to %v nats/char over %d chars, want %v over 1719", ev.LossNats, ev.Chars, want)
	}
}

// Resumed for three more steps, the v1 checkpoint trains to exactly what
// the charrnn that wrote it trained it to (charrnn train -resume -steps 8
// -backend generic, then eval).
func TestResumeV1Checkpoint(t *testing.T) {
	ck, err := LoadCheckpoint("testdata/v1/v1.ckpt")
	if err != nil {
		t.Fatal(err)
	}
	corpus, err := OpenCorpus("testdata/v1/text.txt")
	if err != nil {
		t.Fatal(err)
	}
	defer corpus.Close()
	vocab, err := NewVocab(ck.Header.VocabKind, ck.Header.Vocab)
	if err != nil {
		t.Fatal(err)
	}
	k, _ := kernels.Lookup("generic")
	tr, err := NewTrainer(ck.Header.Config, k, corpus, vocab)
	if err != nil {
		t.Fatal(err)
	}
	if err := tr.Restore(ck); err != nil {
		t.Fatal(err)
	}
	for tr.Step < 8 {
		if _, err := tr.TrainStep(); err != nil {
			t.Fatal(err)
		}
	}
	ev, err := Evaluate(k, tr.Model, vocab, corpus)
	if err != nil {
		t.Fatal(err)
	}
	const want = 3.450651800306541
	if ev.LossNats != want {
		t.Fatalf("resumed v1 checkpoint evaluates to %v nats/char after step 8, want %v", ev.LossNats, want)
	}
}
