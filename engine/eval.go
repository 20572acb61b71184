package engine

import (
	"fmt"
	"math"

	"charrnn/kernels"
)

// Evaluation is the exact sequential likelihood of a text under a model.
type Evaluation struct {
	Chars    int64   // characters predicted (the text's length minus one)
	LossNats float64 // mean -log p per character, natural log
}

// BitsPerChar is the loss in bits.
func (e Evaluation) BitsPerChar() float64 { return e.LossNats / math.Ln2 }

// Perplexity is e^loss.
func (e Evaluation) Perplexity() float64 { return math.Exp(e.LossNats) }

// evalWindow is how many characters Evaluate pushes through one forward
// pass; the state carries across windows, so it changes speed, not results.
const evalWindow = 256

// Evaluate reads the whole corpus as one stream from a zero hidden state,
// carrying the state across the whole text, and returns the mean loss of
// predicting each character from all the ones before it.
func Evaluate(k kernels.Backend, m *Model, vocab *Vocab, corpus *Corpus) (Evaluation, error) {
	return EvaluateRange(k, m, vocab, corpus, 0, corpus.Size())
}

// EvaluateRange is Evaluate on the characters [from, to) of the corpus
// only, read as one stream from a zero hidden state.
func EvaluateRange(k kernels.Backend, m *Model, vocab *Vocab, corpus *Corpus, from, to int64) (Evaluation, error) {
	if from < 0 || to > corpus.Size() || from > to {
		return Evaluation{}, fmt.Errorf("evaluation range [%d, %d) is outside the text (%d characters)", from, to, corpus.Size())
	}
	if to-from < 2 {
		return Evaluation{}, fmt.Errorf("text has %d characters; evaluation needs at least 2", to-from)
	}
	tokens := vocab.NewTokenStream(corpus)
	ids := make([]int32, evalWindow+1)
	ws := NewWorkspace(m.Hidden, m.Vocab, evalWindow, 1)
	var total float64
	pos := from
	for pos+1 < to {
		T := int(min(int64(evalWindow), to-1-pos))
		if T != ws.T { // the last, shorter window
			last := NewWorkspace(m.Hidden, m.Vocab, T, 1)
			copy(last.State(0), ws.State(0))
			ws = last
		}
		if err := tokens.Window(pos, ids[:T+1]); err != nil {
			return Evaluation{}, err
		}
		copy(ws.Inputs, ids[:T])
		copy(ws.Targets, ids[1:T+1])
		total += Forward(k, m, ws)
		ws.Carry()
		pos += int64(T)
	}
	return Evaluation{Chars: pos - from, LossNats: total / float64(pos-from)}, nil
}
