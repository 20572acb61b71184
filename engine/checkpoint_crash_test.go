package engine

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io/fs"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"
)

// saveLoopEnv, set in a child process, names the checkpoint path the child
// saves to in a loop, and the first step to write ("PATH:STEP").
const saveLoopEnv = "CHARRNN_TEST_SAVE_LOOP"

// crashCheckpoint is the checkpoint of step n: every parameter is n, so a
// file that mixes two saves is recognisable even past the checksum.
func crashCheckpoint(n int64) *Checkpoint {
	const hidden = 200
	vocab := make([]int32, 200)
	for i := range vocab {
		vocab[i] = int32(i)
	}
	h := testHeader(TrainConfig{Model: rnnModel(hidden), Seq: 1, Batch: 1, Optimizer: "sgd", LR: 0.1, Clip: Clip{Mode: "none"}}, vocab)
	h.Step = n
	lay, _ := NewLayout(h.Config.Model)
	params := make([]float32, lay.Floats) // 120k floats, a 480 kB file
	for i := range params {
		params[i] = float32(n)
	}
	return &Checkpoint{Header: h, Sections: map[string][]float32{"params": params}}
}

// TestCheckpointSurvivesSIGKILL kills a process that saves checkpoints in a
// loop at random moments, many times, and checks after each kill that the
// checkpoint path holds a whole checkpoint: the last one saved before the
// kill or the one being saved, never a partial or mixed file.
func TestCheckpointSurvivesSIGKILL(t *testing.T) {
	if spec := os.Getenv(saveLoopEnv); spec != "" {
		saveLoopChild(t, spec)
		return
	}
	kills := 40
	if testing.Short() {
		kills = 10
	}
	dir := t.TempDir()
	path := filepath.Join(dir, "m.ckpt")
	rng := rand.New(rand.NewPCG(uint64(time.Now().UnixNano()), 7))
	var prev int64 // the step at path before this child ran; 0: no file
	midWrite, maxStrays := 0, 0
	for kill := range kills {
		start := prev + 1
		cmd := exec.Command(os.Args[0], "-test.run=^TestCheckpointSurvivesSIGKILL$", "-test.count=1")
		cmd.Env = append(os.Environ(), fmt.Sprintf("%s=%s:%d", saveLoopEnv, path, start))
		out, err := cmd.StdoutPipe()
		if err != nil {
			t.Fatal(err)
		}
		var stderr bytes.Buffer
		cmd.Stderr = &stderr
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		// Lines "saved N" arrive after each Save returns.
		acks := make(chan int64, 1<<16)
		first := make(chan struct{})
		go func() {
			sc := bufio.NewScanner(out)
			for sc.Scan() {
				if n, err := strconv.ParseInt(strings.TrimPrefix(sc.Text(), "saved "), 10, 64); err == nil {
					if n == start {
						close(first)
					}
					acks <- n
				}
			}
			close(acks)
		}()
		// Three kills in four land at a random moment after the first save,
		// the others at a random moment from the start, often before it.
		if kill%4 != 0 {
			select {
			case <-first:
			case <-time.After(10 * time.Second):
				t.Fatalf("kill %d: the child saved nothing in 10 s: %s", kill, stderr.String())
			}
		}
		time.Sleep(time.Duration(rng.IntN(20_000)) * time.Microsecond)
		if err := cmd.Process.Kill(); err != nil {
			t.Fatal(err)
		}
		cmd.Wait()
		acked := int64(0)
		for n := range acks {
			acked = n
		}
		if cmd.ProcessState.Success() {
			t.Fatalf("kill %d: the child exited by itself: %s", kill, stderr.String())
		}

		// The file is whole: the previous child's, or one of this child's,
		// no older than the last it reported saved and at most one newer.
		ck, err := LoadCheckpoint(path)
		switch {
		case err != nil && prev == 0 && acked == 0 && errors.Is(err, fs.ErrNotExist):
			// Killed before the first save ever finished: nothing at path.
		case err != nil:
			t.Fatalf("kill %d: checkpoint unusable after SIGKILL: %v", kill, err)
		default:
			step := ck.Header.Step
			ok := step == prev && acked == 0 || step >= start && step >= acked && step <= max(acked, start-1)+1
			if !ok {
				t.Fatalf("kill %d: checkpoint holds step %d; before the child it held %d, the child wrote from %d and reported %d saved", kill, step, prev, start, acked)
			}
			for i, v := range ck.Sections["params"] {
				if v != float32(step) {
					t.Fatalf("kill %d: parameter %d of step %d's checkpoint is %v: a mixed file", kill, i, step, v)
				}
			}
			prev = step
		}
		if strays := strayTemps(t, dir); strays > 0 {
			midWrite++
			maxStrays = max(maxStrays, strays)
		}
	}
	t.Logf("%d kills; %d left a temporary file behind (at most %d at once); the checkpoint was at step %d", kills, midWrite, maxStrays, prev)

	// The next successful save removes what the killed saves left.
	if err := crashCheckpoint(prev + 1).Save(path); err != nil {
		t.Fatal(err)
	}
	if n := strayTemps(t, dir); n != 0 {
		t.Fatalf("%d temporary files left after a successful save", n)
	}
}

func strayTemps(t *testing.T, dir string) int {
	t.Helper()
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for _, e := range entries {
		if strings.Contains(e.Name(), ".tmp") {
			n++
		}
	}
	return n
}

// saveLoopChild saves the checkpoints of steps START, START+1, ... until it
// is killed, reporting each once saved.
func saveLoopChild(t *testing.T, spec string) {
	i := strings.LastIndexByte(spec, ':')
	path := spec[:i]
	step, err := strconv.ParseInt(spec[i+1:], 10, 64)
	if err != nil {
		t.Fatal(err)
	}
	for ; ; step++ {
		if err := crashCheckpoint(step).Save(path); err != nil {
			t.Fatal(err)
		}
		fmt.Fprintf(os.Stdout, "saved %d\n", step)
	}
}

// TestSaveRemovesOnlyItsOwnStaleTemps: the clean-up after a save touches
// nothing but earlier temporary files of the same path.
func TestSaveRemovesOnlyItsOwnStaleTemps(t *testing.T) {
	dir := t.TempDir()
	keep := []string{"m.ckpt.tmp", "m.ckpt.tmp-notes", "m.ckpt.tmp12x", "other.ckpt.tmp123", "m.ckpt.old", "xm.ckpt.tmp5"}
	stale := []string{"m.ckpt.tmp1", "m.ckpt.tmp4294967295"}
	old := time.Now().Add(-time.Hour)
	for _, n := range append(append([]string{}, keep...), stale...) {
		p := filepath.Join(dir, n)
		if err := os.WriteFile(p, []byte("x"), 0o644); err != nil {
			t.Fatal(err)
		}
		os.Chtimes(p, old, old)
	}
	os.Mkdir(filepath.Join(dir, "m.ckpt.tmp77"), 0o755) // a directory: not ours
	fresh := filepath.Join(dir, "m.ckpt.tmp99")         // newer than the save: maybe another saver's
	os.WriteFile(fresh, []byte("x"), 0o644)
	future := time.Now().Add(time.Hour)
	os.Chtimes(fresh, future, future)

	ck, _ := sampleCheckpoint(t)
	if err := ck.Save(filepath.Join(dir, "m.ckpt")); err != nil {
		t.Fatal(err)
	}
	for _, n := range append(keep, "m.ckpt.tmp77", "m.ckpt.tmp99", "m.ckpt") {
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
