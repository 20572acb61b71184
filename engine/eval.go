package engine

import (
	"context"
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

// Evaluate reads the whole corpus as one stream of tokens (bytes or runes,
// as the vocabulary says) from a zero hidden state, carrying the state across
// the whole text, and returns the mean loss of predicting each character from
// all the ones before it.
func Evaluate(k kernels.Backend, m *Model, vocab *Vocab, corpus *Corpus) (Evaluation, error) {
	return EvaluateRange(k, m, vocab, corpus, 0, corpus.Size())
}

// EvaluateRange is Evaluate on the text between byte offsets from and to
// only (from rounded up to the start of a token), read as one stream from a
// zero hidden state.
func EvaluateRange(k kernels.Backend, m *Model, vocab *Vocab, corpus *Corpus, from, to int64) (Evaluation, error) {
	return evaluateRange(context.Background(), k, m, vocab, corpus, from, to)
}

// evaluateRange is EvaluateRange, giving up with ctx's error between
// windows once ctx is done.
func evaluateRange(ctx context.Context, k kernels.Backend, m *Model, vocab *Vocab, corpus *Corpus, from, to int64) (Evaluation, error) {
	if m.Precision == BF16 {
		if _, err := BF16Products(k); err != nil {
			return Evaluation{}, err
		}
	}
	if from < 0 || to > corpus.Size() || from > to {
		return Evaluation{}, fmt.Errorf("evaluation range [%d, %d) is outside the text (%d bytes)", from, to, corpus.Size())
	}
	tokens := vocab.NewTokenStream(corpus)
	tokens.Limit(to)
	pos, err := tokens.TokenStart(from)
	if err != nil {
		return Evaluation{}, err
	}
	ids := make([]int32, evalWindow+1)
	ws := NewWorkspace(m, nil, evalWindow, 1)
	var total float64
	var chars int64
	for {
		if err := ctx.Err(); err != nil {
			return Evaluation{}, err
		}
		// Consecutive windows share one token: the last target is the next input.
		n, last, err := tokens.ReadTokens(pos, ids)
		if err != nil {
			return Evaluation{}, err
		}
		if n < 2 {
			if chars == 0 {
				return Evaluation{}, fmt.Errorf("text has %d characters; evaluation needs at least 2", n)
			}
			break
		}
		T := n - 1
		if T != ws.T { // the last, shorter window
			short := NewWorkspace(m, nil, T, 1)
			state := make([]float32, ws.StateFloats())
			ws.SaveState(state)
			short.LoadState(state)
			ws = short
		}
		copy(ws.Inputs, ids[:T])
		copy(ws.Targets, ids[1:n])
		total += ws.Forward(k)
		ws.Carry()
		chars += int64(T)
		pos = last
	}
	return Evaluation{Chars: chars, LossNats: total / float64(chars)}, nil
}
