//go:build unix

package engine

import (
	"bytes"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// exitedPID is the id of a process that has run and been reaped.
func exitedPID(t *testing.T) int {
	t.Helper()
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	if err := cmd.Run(); err != nil {
		t.Fatal(err)
	}
	return cmd.ProcessState.Pid()
}

// TestSaveRemovesOnlyStaleTempsOfExitedWriters: the clean-up after a save
// touches nothing but earlier temporary files of the same path whose
// writer has exited (or is this process): a live writer's file, such as a
// second trainer's save in progress, is left alone.
func TestSaveRemovesOnlyStaleTempsOfExitedWriters(t *testing.T) {
	dir := t.TempDir()
	dead, live, self := exitedPID(t), os.Getppid(), os.Getpid()
	tmp := func(base string, pid int, random string) string { return fmt.Sprintf("%s.tmp%d-%s", base, pid, random) }
	keep := []string{
		"m.ckpt.tmp", "m.ckpt.tmp-notes", "m.ckpt.tmp12x", "m.ckpt.old",
		"m.ckpt.tmp123",              // no writer named: not provably stale
		tmp("m.ckpt", live, "7"),     // a live writer's
		tmp("m.ckpt", 0, "5"),        // not a process id
		tmp("m.ckpt", dead, ""),      // no random part: not a name of ours
		tmp("m.ckpt", dead, "1x"),    // nor this
		tmp("other.ckpt", dead, "1"), // another path's
		tmp("xm.ckpt", dead, "5"),
	}
	stale := []string{tmp("m.ckpt", dead, "1"), tmp("m.ckpt", dead, "4294967295"), tmp("m.ckpt", self, "3")}
	old := time.Now().Add(-time.Hour)
	for _, n := range append(append([]string{}, keep...), stale...) {
		p := filepath.Join(dir, n)
		if err := os.WriteFile(p, []byte("x"), 0o644); err != nil {
			t.Fatal(err)
		}
		os.Chtimes(p, old, old)
	}
	notFile := tmp("m.ckpt", dead, "77")
	os.Mkdir(filepath.Join(dir, notFile), 0o755) // a directory: not ours
	fresh := tmp("m.ckpt", dead, "99")           // newer than the save
	os.WriteFile(filepath.Join(dir, fresh), []byte("x"), 0o644)
	future := time.Now().Add(time.Hour)
	os.Chtimes(filepath.Join(dir, fresh), future, future)

	ck, _ := sampleCheckpoint(t)
	if err := ck.Save(filepath.Join(dir, "m.ckpt")); err != nil {
		t.Fatal(err)
	}
	for _, n := range append(keep, notFile, fresh, "m.ckpt") {
		if _, err := os.Stat(filepath.Join(dir, n)); err != nil {
			t.Errorf("%s: %v", n, err)
		}
	}
	for _, n := range stale {
		if _, err := os.Stat(filepath.Join(dir, n)); err == nil {
			t.Errorf("stale %s was not removed", n)
		}
	}
}

// TestWriteFileAtomicTempNamesItsWriter: a write's temporary file carries
// the writer's process id, which the clean-up reads back.
func TestWriteFileAtomicTempNamesItsWriter(t *testing.T) {
	path := filepath.Join(t.TempDir(), "m.ckpt")
	f, err := createTempFor(path)
	if err != nil {
		t.Fatal(err)
	}
	f.Close()
	pid, ok := tempOwner(filepath.Base(f.Name()), "m.ckpt")
	if !ok || pid != os.Getpid() {
		t.Fatalf("temporary file %s: owner %d (%v), want %d", f.Name(), pid, ok, os.Getpid())
	}
}

// linkTree makes dir/runs/model.ckpt holding "old" and returns dir.
func linkTree(t *testing.T) string {
	t.Helper()
	dir := t.TempDir()
	if err := os.Mkdir(filepath.Join(dir, "runs"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "runs", "model.ckpt"), []byte("old"), 0o644); err != nil {
		t.Fatal(err)
	}
	return dir
}

func symlink(t *testing.T, target, link string) {
	t.Helper()
	if err := os.Symlink(target, link); err != nil {
		t.Fatal(err)
	}
}

// checkLinkWrite checks that writing through link replaced target and left
// link a link to the same place, with no temporary file anywhere in dir.
func checkLinkWrite(t *testing.T, dir, link, linkTarget, target string, data []byte) {
	t.Helper()
	if got, err := os.ReadFile(target); err != nil || !bytes.Equal(got, data) {
		t.Fatalf("target %s holds %.20q (%d bytes, %v), want %.20q (%d bytes)", target, got, len(got), err, data, len(data))
	}
	if got, err := os.Readlink(link); err != nil || got != linkTarget {
		t.Fatalf("link %s now %q (%v), want a link to %q", link, got, err, linkTarget)
	}
	filepath.WalkDir(dir, func(p string, d os.DirEntry, err error) error {
		if err == nil && strings.Contains(d.Name(), ".tmp") {
			t.Errorf("temporary file left: %s", p)
		}
		return nil
	})
}

// TestWriteFileAtomicThroughSymlink: a path that is a symbolic link (a
// "latest.ckpt" pointing into a run's directory) has its target replaced,
// atomically in the target's directory; the link stays.
func TestWriteFileAtomicThroughSymlink(t *testing.T) {
	t.Run("relative", func(t *testing.T) {
		dir := linkTree(t)
		link := filepath.Join(dir, "latest.ckpt")
		symlink(t, "runs/model.ckpt", link)
		if err := WriteFileAtomic(link, []byte("new")); err != nil {
			t.Fatal(err)
		}
		checkLinkWrite(t, dir, link, "runs/model.ckpt", filepath.Join(dir, "runs", "model.ckpt"), []byte("new"))
	})
	t.Run("absolute, through a chain", func(t *testing.T) {
		dir := linkTree(t)
		target := filepath.Join(dir, "runs", "model.ckpt")
		symlink(t, target, filepath.Join(dir, "b.ckpt"))
		link := filepath.Join(dir, "a.ckpt")
		symlink(t, "b.ckpt", link)
		if err := WriteFileAtomic(link, []byte("new")); err != nil {
			t.Fatal(err)
		}
		checkLinkWrite(t, dir, link, "b.ckpt", target, []byte("new"))
		checkLinkWrite(t, dir, filepath.Join(dir, "b.ckpt"), target, target, []byte("new"))
	})
	t.Run("dotdot from a linked directory", func(t *testing.T) {
		// dir/here -> dir/runs/sub; dir/runs/sub/latest -> ../model.ckpt.
		// Through "here", ".." is dir/runs (the system's reading), not dir.
		dir := linkTree(t)
		os.Mkdir(filepath.Join(dir, "runs", "sub"), 0o755)
		symlink(t, "../model.ckpt", filepath.Join(dir, "runs", "sub", "latest"))
		symlink(t, filepath.Join(dir, "runs", "sub"), filepath.Join(dir, "here"))
		link := filepath.Join(dir, "here", "latest")
		if err := WriteFileAtomic(link, []byte("new")); err != nil {
			t.Fatal(err)
		}
		checkLinkWrite(t, dir, link, "../model.ckpt", filepath.Join(dir, "runs", "model.ckpt"), []byte("new"))
		if _, err := os.Stat(filepath.Join(dir, "model.ckpt")); err == nil {
			t.Fatal("wrote dir/model.ckpt: resolved .. lexically")
		}
	})
	t.Run("dangling", func(t *testing.T) {
		// Followed like the shell's ">": the target is created.
		dir := linkTree(t)
		link := filepath.Join(dir, "next.ckpt")
		symlink(t, "runs/next.ckpt", link)
		if err := WriteFileAtomic(link, []byte("new")); err != nil {
			t.Fatal(err)
		}
		checkLinkWrite(t, dir, link, "runs/next.ckpt", filepath.Join(dir, "runs", "next.ckpt"), []byte("new"))
	})
	t.Run("dangling into a missing directory", func(t *testing.T) {
		dir := linkTree(t)
		link := filepath.Join(dir, "next.ckpt")
		symlink(t, "gone/next.ckpt", link)
		if err := WriteFileAtomic(link, []byte("new")); err == nil {
			t.Fatal("wrote through a link into a missing directory")
		}
		if got, err := os.Readlink(link); err != nil || got != "gone/next.ckpt" {
			t.Fatalf("link changed: %q, %v", got, err)
		}
	})
	t.Run("loop", func(t *testing.T) {
		dir := t.TempDir()
		symlink(t, "b", filepath.Join(dir, "a"))
		symlink(t, "a", filepath.Join(dir, "b"))
		err := WriteFileAtomic(filepath.Join(dir, "a"), []byte("new"))
		if err == nil || !strings.Contains(err.Error(), "too many levels of symbolic links") {
			t.Fatalf("write through a loop of links: %v", err)
		}
	})
	t.Run("checkpoint save and writability", func(t *testing.T) {
		dir := linkTree(t)
		link := filepath.Join(dir, "latest.ckpt")
		symlink(t, "runs/model.ckpt", link)
		if err := CheckWritable(link); err != nil {
			t.Fatal(err)
		}
		ck, data := sampleCheckpoint(t)
		if err := ck.Save(link); err != nil {
			t.Fatal(err)
		}
		checkLinkWrite(t, dir, link, "runs/model.ckpt", filepath.Join(dir, "runs", "model.ckpt"), data)
	})
}
