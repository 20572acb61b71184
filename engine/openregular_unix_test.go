//go:build unix

package engine

import (
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

// TestLoadersRefuseNamedPipes: a named pipe given where a checkpoint, an
// export or a corpus file is read is refused at once, saying what it is;
// opening it for reading would wait for a writer for ever.
func TestLoadersRefuseNamedPipes(t *testing.T) {
	dir := t.TempDir()
	fifo := filepath.Join(dir, "pipe")
	if err := syscall.Mkfifo(fifo, 0o644); err != nil {
		t.Skipf("cannot make a named pipe here: %v", err)
	}
	loaders := map[string]func() error{
		"OpenRegular":     func() error { f, err := OpenRegular(fifo); closeIf(f); return err },
		"ReadRegularFile": func() error { _, err := ReadRegularFile(fifo); return err },
		"LoadCheckpoint":  func() error { _, err := LoadCheckpoint(fifo); return err },
		"LoadSafetensors": func() error { _, _, err := LoadSafetensors(fifo); return err },
		"corpus file":     func() error { return (&Corpus{}).add(fifo) },
	}
	for name, load := range loaders {
		t.Run(name, func(t *testing.T) {
			done := make(chan error, 1)
			go func() { done <- load() }()
			select {
			case err := <-done:
				if err == nil || !strings.Contains(err.Error(), "named pipe") || !strings.Contains(err.Error(), fifo) {
					t.Fatalf("got %v, want a refusal naming the pipe", err)
				}
			case <-time.After(10 * time.Second):
				t.Fatal("still blocked on the named pipe after 10 s")
			}
		})
	}
	// A directory is refused the same way.
	if _, err := ReadRegularFile(dir); err == nil || !strings.Contains(err.Error(), "directory") {
		t.Fatalf("directory: %v", err)
	}
	// And a regular file reads whole.
	path := filepath.Join(dir, "f")
	want := strings.Repeat("0123456789", 10_000)
	os.WriteFile(path, []byte(want), 0o644)
	if got, err := ReadRegularFile(path); err != nil || string(got) != want {
		t.Fatalf("regular file: %d bytes, %v", len(got), err)
	}
}

func closeIf(f *os.File) {
	if f != nil {
		f.Close()
	}
}
