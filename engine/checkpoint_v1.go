package engine

import "encoding/json"

// headerV1 is the header of the version-1 format: a one-layer vanilla RNN
// and the settings its trainer recorded then.
type headerV1 struct {
	Hidden    int     `json:"hidden"`
	VocabKind string  `json:"vocab_kind"`
	Vocab     []int32 `json:"vocab"`

	Seq       int     `json:"seq"`
	Batch     int     `json:"batch"`
	Optimizer string  `json:"optimizer"`
	LR        float32 `json:"lr"`
	ClipMode  string  `json:"clip_mode"`
	Clip      float32 `json:"clip"`
	Seed      uint64  `json:"seed"`
	Data      string  `json:"data"`

	Step      int64   `json:"step"`
	CharsSeen int64   `json:"chars_seen"`
	Cursors   []int64 `json:"cursors"`
	Loss      float64 `json:"loss"`

	Momentum    float32           `json:"momentum,omitempty"`
	Rho         float32           `json:"rho,omitempty"`
	WeightDecay float32           `json:"weight_decay,omitempty"`
	Schedule    *Schedule         `json:"schedule,omitempty"`
	ValFrac     float64           `json:"val_frac,omitempty"`
	Train       *TrainState       `json:"train,omitempty"`
	SampleRNG   []byte            `json:"sample_rng,omitempty"`
	History     []json.RawMessage `json:"history,omitempty"`

	Sections []Section `json:"sections"`
}

// upgrade is the version-2 header of the same checkpoint. Settings version
// 1 did not record take DefaultTrainConfig's values, the defaults of the
// command line that wrote those files.
func (v headerV1) upgrade() Header {
	c := DefaultTrainConfig()
	c.Model = ModelConfig{Cell: "rnn", Layers: 1, Hidden: v.Hidden, Vocab: len(v.Vocab)}
	c.Seq, c.Batch, c.Optimizer, c.LR, c.Seed = v.Seq, v.Batch, v.Optimizer, v.LR, v.Seed
	c.Clip = Clip{Mode: v.ClipMode, Limit: v.Clip}
	c.Momentum, c.Rho, c.WeightDecay = v.Momentum, v.Rho, v.WeightDecay
	if v.Schedule != nil {
		c.Schedule = *v.Schedule
	}
	c.ValFrac = v.ValFrac
	if c.ValFrac > 0 {
		c.EvalEvery = 10 * c.ReportEvery
	}
	train := NewTrainState()
	if v.Train != nil {
		train = *v.Train
	}
	h := Header{
		Config: c, VocabKind: v.VocabKind, Vocab: v.Vocab, Data: v.Data,
		Step: v.Step, CharsSeen: v.CharsSeen, Cursors: v.Cursors, Loss: v.Loss,
		Train: train, SampleRNG: v.SampleRNG, History: v.History,
		Sections: v.Sections,
	}
	if lay, err := NewLayout(c.Model); err == nil { // else validate says why
		h.Tensors = lay.Tensors
	}
	return h
}
