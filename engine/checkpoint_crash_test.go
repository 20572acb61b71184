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
