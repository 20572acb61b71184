package main

import "charrnn/engine"

// loadCheckpoint reads and verifies a checkpoint and rebuilds its
// vocabulary, for the commands that use a trained model (sample, eval,
// export). Either failure is the user's bad input.
func loadCheckpoint(path string) (*engine.Checkpoint, *engine.Vocab, error) {
	ck, err := engine.LoadCheckpoint(path)
	if err != nil {
		return nil, nil, badInput(configError(err))
	}
	vocab, err := engine.NewVocab(ck.Header.VocabKind, ck.Header.Vocab)
	if err != nil {
		return nil, nil, badInputf("checkpoint %s: %v", path, err)
	}
	return ck, vocab, nil
}
