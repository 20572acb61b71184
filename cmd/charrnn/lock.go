package main

import "charrnn/engine"

// lockCheckpoint takes the run's lock on its checkpoint, held until unlock
// (see engine.LockCheckpoint): a second trainer on the same checkpoint is
// refused, naming the first, instead of overwriting its saves.
func lockCheckpoint(path string) (unlock func() error, err error) {
	if path == "" {
		return nil, badInputf("-checkpoint must name a file")
	}
	// Held by another trainer, or a place no checkpoint can be saved: both
	// the user's to fix.
	unlock, err = engine.LockCheckpoint(path)
	if err != nil {
		return nil, badInput(err)
	}
	return unlock, nil
}
