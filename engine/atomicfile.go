package engine

import (
	"os"
	"path/filepath"
	"strings"
	"time"
)

// WriteFileAtomic writes data to path atomically: to a temporary file in the
// same directory, synced, then renamed over path, and the directory synced
// so the rename itself is durable. A failure at any point leaves whatever
// was at path untouched and no temporary file behind. The file gets mode
// 0644, like any file the user writes.
//
// A process killed in the middle of a write leaves its temporary file
// behind; once a write has succeeded, it removes such files for the same
// path older than itself, so they do not pile up over many crashes. (Two
// processes writing the same path at once is not supported: the last
// rename wins; a file at path is never partial either way.)
func WriteFileAtomic(path string, data []byte) (err error) {
	started := time.Now()
	dir := filepath.Dir(path)
	tmp, err := os.CreateTemp(dir, filepath.Base(path)+".tmp*")
	if err != nil {
		return err
	}
	defer func() {
		if err != nil {
			tmp.Close()
			os.Remove(tmp.Name())
		}
	}()
	if _, err = tmp.Write(data); err != nil {
		return err
	}
	if err = tmp.Chmod(0o644); err != nil {
		return err
	}
	if err = tmp.Sync(); err != nil {
		return err
	}
	if err = tmp.Close(); err != nil {
		return err
	}
	if err = os.Rename(tmp.Name(), path); err != nil {
		return err
	}
	if d, derr := os.Open(dir); derr == nil {
		d.Sync()
		d.Close()
	}
	removeStaleTemps(dir, filepath.Base(path), started)
	return nil
}

// removeStaleTemps removes the temporary files of saves to dir/base last
// written before t: saves that never finished. Failing to remove one is not
// an error.
func removeStaleTemps(dir, base string, t time.Time) {
	entries, err := os.ReadDir(dir)
	if err != nil {
		return
	}
	for _, e := range entries {
		// os.CreateTemp replaces the "*" by decimal digits.
		rest, ok := strings.CutPrefix(e.Name(), base+".tmp")
		if !ok || rest == "" || strings.Trim(rest, "0123456789") != "" || !e.Type().IsRegular() {
			continue
		}
		if info, err := e.Info(); err == nil && info.ModTime().Before(t) {
			os.Remove(filepath.Join(dir, e.Name()))
		}
	}
}

// CheckWritable reports whether WriteFileAtomic could write path now: it
// creates one of its temporary files beside path and removes it again,
// touching nothing else.
func CheckWritable(path string) error {
	tmp, err := os.CreateTemp(filepath.Dir(path), filepath.Base(path)+".tmp*")
	if err != nil {
		return err
	}
	name := tmp.Name()
	err = tmp.Close()
	if rmErr := os.Remove(name); err == nil {
		err = rmErr
	}
	return err
}
