package engine

import "fmt"

// InitFrom replaces the trainer's freshly initialised parameters with m's,
// for instance weights read back from an exported file. m must have the
// trainer's shape and use the trainer's vocabulary (same symbols, same ids);
// the optimizer state, counters and cursors stay fresh.
func (t *Trainer) InitFrom(m *Model) error {
	if m.Hidden != t.Model.Hidden || m.Vocab != t.Model.Vocab {
		return fmt.Errorf("initial weights have hidden %d and vocabulary %d; this run has hidden %d and vocabulary %d",
			m.Hidden, m.Vocab, t.Model.Hidden, t.Model.Vocab)
	}
	copy(t.Model.P.Slab, m.P.Slab)
	return nil
}
