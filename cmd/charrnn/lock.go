package main

import (
	"errors"
	"io/fs"

	"charrnn/engine"
)

// lockCheckpoint takes the run's lock on its checkpoint, held until unlock
// (see engine.LockCheckpoint): a second trainer on the same checkpoint is
// refused, naming the first, instead of overwriting its saves.
func lockCheckpoint(path string) (unlock func() error, err error) {
	if path == "" {
		return nil, badInputf("-checkpoint must name a file")
	}
	unlock, err = engine.LockCheckpoint(path)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		// No directory to hold the checkpoint: nothing there to guard, and
		// the checks that follow say what is wrong.
		return func() error { return nil }, nil
	case err != nil:
		// Held by another trainer, or a place no checkpoint can be saved:
		// both the user's to fix.
		return nil, badInput(err)
	}
	return unlock, nil
}
