package engine

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"
)

// WriteFileAtomic writes data to path atomically: to a temporary file in the
// same directory, synced, then renamed over path, and the directory synced
// so the rename itself is durable. A failure at any point leaves whatever
// was at path untouched and no temporary file behind. The file gets mode
// 0644, like any file the user writes.
//
// A path that is a symbolic link is followed (see ResolveLinks): the file it
// points to is replaced, in that file's directory, and the link stays a
// link. A dangling link is followed too, creating its target, as the
// shell's ">" would.
//
// A process killed in the middle of a write leaves its temporary file
// behind, named after the path and the writer's process id; once a write
// has succeeded, it removes such files for the same path older than itself
// whose writer has exited, so they do not pile up over many crashes and a
// live writer's file is never taken from it. (Two processes writing the
// same path at once is not supported: the last rename wins; a file at path
// is never partial either way. The trainer locks its checkpoint, see
// LockCheckpoint.)
func WriteFileAtomic(path string, data []byte) (err error) {
	started := time.Now()
	if path, err = ResolveLinks(path); err != nil {
		return err
	}
	dir := filepath.Dir(path)
	tmp, err := createTempFor(path)
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

// maxLinks is how many symbolic links ResolveLinks follows, as Linux does.
const maxLinks = 40

// ResolveLinks follows path while it is a symbolic link and returns the
// path of the file it ends at, which need not exist (a dangling link ends at
// its missing target). A path that is not a link is returned as it is. Links
// in the directories along the path are left to the system, which resolves
// them when the file is opened.
func ResolveLinks(path string) (string, error) {
	orig := path
	for range maxLinks {
		info, err := os.Lstat(path)
		if errors.Is(err, fs.ErrNotExist) || err == nil && info.Mode()&fs.ModeSymlink == 0 {
			return path, nil
		}
		if err != nil {
			return "", err
		}
		target, err := os.Readlink(path)
		if err != nil {
			return "", err
		}
		if !filepath.IsAbs(target) {
			// Relative to the link's directory as the system finds it
			// (lexically, "dir/../x" would go wrong when dir is a link).
			dir, err := filepath.EvalSymlinks(filepath.Dir(path))
			if err != nil {
				return "", err
			}
			target = filepath.Join(dir, target)
		}
		path = target
	}
	return "", fmt.Errorf("%s: too many levels of symbolic links", orig)
}

// tempPrefix is how the temporary files of writes to path (already
// resolved) begin: the file's name, ".tmp", then the writer's process id
// and "-", to which os.CreateTemp adds random digits.
func tempPrefix(base string, pid int) string {
	return base + ".tmp" + strconv.Itoa(pid) + "-"
}

// createTempFor creates a temporary file for a write to path, beside it.
func createTempFor(path string) (*os.File, error) {
	return os.CreateTemp(filepath.Dir(path), tempPrefix(filepath.Base(path), os.Getpid())+"*")
}

// removeStaleTemps removes the temporary files of writes to dir/base last
// written before t by processes that have exited (or by this one): writes
// that never finished. Failing to remove one is not an error.
func removeStaleTemps(dir, base string, t time.Time) {
	entries, err := os.ReadDir(dir)
	if err != nil {
		return
	}
	self := os.Getpid()
	for _, e := range entries {
		pid, ok := tempOwner(e.Name(), base)
		if !ok || !e.Type().IsRegular() || pid != self && processAlive(pid) {
			continue
		}
		if info, err := e.Info(); err == nil && info.ModTime().Before(t) {
			os.Remove(filepath.Join(dir, e.Name()))
		}
	}
}

// tempOwner parses the name of a temporary file of a write to base: the
// writer's process id, if name is one ("base.tmpPID-DIGITS").
func tempOwner(name, base string) (pid int, ok bool) {
	rest, ok := strings.CutPrefix(name, base+".tmp")
	if !ok {
		return 0, false
	}
	id, random, ok := strings.Cut(rest, "-")
	if !ok || !allDigits(id) || !allDigits(random) {
		return 0, false
	}
	pid, err := strconv.Atoi(id)
	if err != nil || pid <= 0 {
		return 0, false
	}
	return pid, true
}

func allDigits(s string) bool {
	return s != "" && strings.Trim(s, "0123456789") == ""
}

// CheckWritable reports whether WriteFileAtomic could write path now: it
// creates one of its temporary files beside the file path resolves to and
// removes it again, touching nothing else.
func CheckWritable(path string) error {
	path, err := ResolveLinks(path)
	if err != nil {
		return err
	}
	tmp, err := createTempFor(path)
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
