//go:build mpi

package main

import (
	"bytes"
	"fmt"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"charrnn/dist"
	"charrnn/engine"
)

// train under mpirun, with a binary built with -tags mpi: these tests start
// their own mpirun jobs (so they run without one: go test -tags mpi).

var (
	mpiBinaryOnce sync.Once
	mpiBinaryPath string
	mpiBinaryErr  error
)

// mpiBinary builds charrnn with -tags mpi, once.
func mpiBinary(t *testing.T) string {
	t.Helper()
	if dist.Launched() {
		t.Skip("starts its own mpirun jobs: run the test binary without mpirun")
	}
	mpiBinaryOnce.Do(func() {
		mpiBinaryPath = filepath.Join(filepath.Dir(binary), "charrnn-mpi")
		build := exec.Command("go", "build", "-tags", "mpi", "-o", mpiBinaryPath, ".")
		out, err := build.CombinedOutput()
		if err != nil {
			mpiBinaryErr = fmt.Errorf("building charrnn -tags mpi: %v\n%s", err, out)
		}
	})
	if mpiBinaryErr != nil {
		t.Fatal(mpiBinaryErr)
	}
	return mpiBinaryPath
}

// mpiJob is one mpirun of the mpi binary, running.
type mpiJob struct {
	cmd  *exec.Cmd
	out  bytes.Buffer // stdout and stderr of mpirun and of every rank
	done chan struct{}
	code int
}

// startMPI starts mpirun with np ranks of the mpi binary, in dir, with
// args; mpiArgs go before the binary ("--oversubscribe", ...).
func startMPI(t *testing.T, dir string, np int, mpiArgs []string, args ...string) *mpiJob {
	t.Helper()
	bin := mpiBinary(t)
	mpirun, err := exec.LookPath("mpirun")
	if err != nil {
		t.Fatalf("the mpi build needs Open MPI's mpirun: %v", err)
	}
	argv := append([]string{"--allow-run-as-root", "--timeout", "120", "-np", strconv.Itoa(np)}, mpiArgs...)
	argv = append(append(argv, bin), args...)
	j := &mpiJob{cmd: exec.Command(mpirun, argv...), done: make(chan struct{})}
	j.cmd.Dir = dir
	j.cmd.Env = append(os.Environ(), "CHARRNN_BACKEND=")
	j.cmd.Stdout, j.cmd.Stderr = &j.out, &j.out
	if err := j.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() {
		j.cmd.Wait()
		j.code = j.cmd.ProcessState.ExitCode()
		close(j.done)
	}()
	t.Cleanup(func() {
		select {
		case <-j.done:
		default:
			j.cmd.Process.Kill()
			<-j.done
		}
	})
	return j
}

// wait waits up to limit for the job to end and returns its exit status.
func (j *mpiJob) wait(t *testing.T, limit time.Duration) int {
	t.Helper()
	select {
	case <-j.done:
		return j.code
	case <-time.After(limit):
		t.Fatalf("the job still runs after %v:\n%s", limit, j.out.String())
		return 0
	}
}

// runMPI runs train under mpirun and returns its exit status and output.
func runMPI(t *testing.T, dir string, np int, mpiArgs []string, args ...string) (int, string) {
	t.Helper()
	j := startMPI(t, dir, np, mpiArgs, args...)
	code := j.wait(t, 2*time.Minute)
	return code, j.out.String()
}

// charrnnLines returns the lines of out that charrnn wrote (not mpirun).
func charrnnLines(out string) []string {
	var lines []string
	for _, l := range strings.Split(out, "\n") {
		if strings.HasPrefix(l, "charrnn") || strings.HasPrefix(l, "step ") {
			lines = append(lines, l)
		}
	}
	return lines
}

// mpiCorpus writes a corpus for the tests' jobs into a new directory.
func mpiCorpus(t *testing.T) (dir, corpus string) {
	t.Helper()
	dir = t.TempDir()
	corpus = filepath.Join(dir, "text.txt")
	text := strings.Repeat("the cat sat on the mat. the dog ate the log. a fox ran far.\n", 200)
	if err := os.WriteFile(corpus, []byte(text), 0o644); err != nil {
		t.Fatal(err)
	}
	return dir, corpus
}

// maxRelDiff is the largest difference between two checkpoints'
// parameters, relative to the largest magnitude of the tensor it is in.
func maxRelDiff(t *testing.T, a, b *engine.Checkpoint) float64 {
	t.Helper()
	pa, pb := a.Sections["params"], b.Sections["params"]
	var worst float64
	for _, ten := range a.Header.Tensors {
		x, y := ten.Of(pa), ten.Of(pb)
		var diff, size float64
		for i := range x {
			diff = max(diff, math.Abs(float64(x[i])-float64(y[i])))
			size = max(size, math.Abs(float64(y[i])))
		}
		if size > 0 {
			worst = max(worst, diff/size)
		}
	}
	return worst
}

func loadCk(t *testing.T, path string) *engine.Checkpoint {
	t.Helper()
	ck, err := engine.LoadCheckpoint(path)
	if err != nil {
		t.Fatal(err)
	}
	return ck
}

// 2 ranks × 2 streams under mpirun train what one process with 4 streams
// trains (the same binary, without mpirun, says so once); rank 0 alone
// reports; the checkpoint resumes on 1 rank, and on 4, with the same total.
func TestMPITrain(t *testing.T) {
	dir, corpus := mpiCorpus(t)
	common := []string{"train", "-data", corpus, "-cell", "gru", "-layers", "2", "-dropout", "0.2", "-hidden", "24", "-seq", "16",
		"-steps", "20", "-report-every", "10", "-sample-every", "0", "-save-every", "10", "-backend", "generic"}
	code, out := runMPI(t, dir, 2, nil, append(common, "-batch", "2", "-checkpoint", "two.ckpt")...)
	if code != 0 {
		t.Fatalf("2 ranks: exit %d\n%s", code, out)
	}
	lines := "\n" + strings.Join(charrnnLines(out), "\n")
	for _, line := range []string{"charrnn: backend", "charrnn: data-parallel over 2 ranks", "step 10 ", "step 20 ", "charrnn: trained 20 steps", "charrnn: waiting for and summing"} {
		if n := strings.Count(lines, "\n"+line); n != 1 {
			t.Errorf("2 ranks: %d lines start %q; want rank 0's only:\n%s", n, line, out)
		}
	}

	one := exec.Command(mpiBinary(t), append(common, "-batch", "4", "-checkpoint", "one.ckpt")...)
	one.Dir, one.Env = dir, append(os.Environ(), "CHARRNN_BACKEND=")
	oneOut, err := one.CombinedOutput()
	if err != nil || strings.Count(string(oneOut), "training as a single process") != 1 {
		t.Fatalf("1 process without mpirun: %v\n%s", err, oneOut)
	}
	two, single := loadCk(t, filepath.Join(dir, "two.ckpt")), loadCk(t, filepath.Join(dir, "one.ckpt"))
	d := maxRelDiff(t, two, single)
	t.Logf("2 ranks × 2 streams against 1 process × 4: max relative parameter difference %.2g after 20 steps", d)
	if d > 1e-5 || two.Header.Ranks != 2 || len(two.Header.Cursors) != 4 {
		t.Errorf("2 ranks' checkpoint: %d ranks, %d cursors, max relative difference %.3g from one process's", two.Header.Ranks, len(two.Header.Cursors), d)
	}

	// The same total on other numbers of ranks: batch follows.
	for _, np := range []int{1, 4} {
		path := filepath.Join(dir, fmt.Sprintf("resume%d.ckpt", np))
		data, _ := os.ReadFile(filepath.Join(dir, "two.ckpt"))
		os.WriteFile(path, data, 0o644)
		code, out := runMPI(t, dir, np, []string{"--oversubscribe"}, "train", "-data", corpus, "-resume", "-checkpoint", path, "-steps", "30", "-backend", "generic")
		ck := loadCk(t, path)
		if code != 0 || ck.Header.Step != 30 || max(ck.Header.Ranks, 1) != np || ck.Header.Config.Batch != 4/np {
			t.Errorf("resumed on %d ranks: exit %d, step %d, %d ranks × %d\n%s", np, code, ck.Header.Step, ck.Header.Ranks, ck.Header.Config.Batch, out)
		}
	}
	code, out = runMPI(t, dir, 3, []string{"--oversubscribe"}, "train", "-data", corpus, "-resume", "-checkpoint", "two.ckpt", "-steps", "30")
	if lines := charrnnLines(out); code != exitBadInput || len(lines) != 1 || !strings.Contains(lines[0], "3 ranks cannot share evenly") {
		t.Errorf("4 streams resumed on 3 ranks: exit %d, want 2 and one line\n%s", code, out)
	}
}

// Bad input under mpirun: one line (from the rank that knows), exit 2.
func TestMPIBadInput(t *testing.T) {
	dir, corpus := mpiCorpus(t)
	small := filepath.Join(dir, "small.txt")
	os.WriteFile(small, []byte(strings.Repeat("abcdefgh", 40)), 0o644)
	bin := mpiBinary(t)
	train := []string{"train", "-data", corpus, "-hidden", "8", "-steps", "2", "-checkpoint", "m.ckpt"}
	for _, tc := range []struct {
		name string
		np   int
		args []string
		says string
	}{
		// Two programs (MPMD): -np 1 charrnn ARGS : -np 1 charrnn OTHER ARGS.
		{"flags differ between ranks", 1, append(append(withArgs(train, "-seq", "8"), ":", "-np", "1", bin), withArgs(train, "-seq", "9")...),
			"the ranks were given different flags"},
		{"more streams than windows", 2, withArgs(train, "-seq", "100", "-batch", "100"), "-batch (100 per rank, 2 ranks: 200 streams) leaves each stream"},
		{"checkpoint not writable", 2, withArgs(train, "-checkpoint", filepath.Join(dir, "missing", "m.ckpt")), "directory"},
		{"corpus too small for 2 ranks", 2, []string{"train", "-data", small, "-seq", "100", "-steps", "2", "-checkpoint", "s.ckpt"}, "fewer than one window of 101"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			code, out := runMPI(t, dir, tc.np, nil, tc.args...)
			lines := charrnnLines(out)
			if code != exitBadInput || len(lines) != 1 || !strings.Contains(lines[0], tc.says) {
				t.Errorf("exit %d, want 2 and one line saying %q:\n%s", code, tc.says, out)
			}
		})
	}
	// Every rank exits 2, not only the one that reports: mpirun gives the
	// status of the first rank to exit non-zero, so each rank in turn is
	// made the only one that fails, by a corpus missing from its directory.
	for rank := range 2 {
		t.Run(fmt.Sprintf("rank %d's corpus missing", rank), func(t *testing.T) {
			dirs := [2]string{t.TempDir(), t.TempDir()}
			os.WriteFile(filepath.Join(dirs[1-rank], "text.txt"), []byte(strings.Repeat("some text here. ", 100)), 0o644)
			args := []string{"train", "-data", "text.txt", "-steps", "2", "-checkpoint", "m.ckpt"}
			// -np 1 -wdir DIR0 charrnn ARGS : -np 1 -wdir DIR1 charrnn ARGS
			second := append([]string{":", "-np", "1", "-wdir", dirs[1], bin}, args...)
			code, out := runMPI(t, dir, 1, []string{"-wdir", dirs[0]}, append(withArgs(args), second...)...)
			lines := charrnnLines(out)
			want := "no such file"
			if rank > 0 {
				want = fmt.Sprintf("rank %d: ", rank) + "corpus"
			}
			if code != exitBadInput || len(lines) != 1 || !strings.Contains(lines[0], want) {
				t.Errorf("exit %d, want 2 and one line with %q:\n%s", code, want, out)
			}
		})
	}
}

// withArgs returns a copy of s with more appended.
func withArgs(s []string, more ...string) []string {
	return append(append([]string(nil), s...), more...)
}

// rankPID returns the process id of rank of the job mpirun (whose process
// id is mpirunPID) started on this machine.
func rankPID(t *testing.T, mpirunPID, rank int) int {
	t.Helper()
	entries, _ := os.ReadDir("/proc")
	for _, e := range entries {
		pid, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		stat, err := os.ReadFile(filepath.Join("/proc", e.Name(), "stat"))
		if err != nil {
			continue
		}
		// pid (comm) state ppid ...: comm may hold spaces, not ')'.
		fields := strings.Fields(string(stat[bytes.LastIndexByte(stat, ')')+1:]))
		if len(fields) < 2 || fields[1] != strconv.Itoa(mpirunPID) {
			continue
		}
		env, _ := os.ReadFile(filepath.Join("/proc", e.Name(), "environ"))
		if bytes.Contains(env, []byte(fmt.Sprintf("\x00OMPI_COMM_WORLD_RANK=%d\x00", rank))) {
			return pid
		}
	}
	t.Fatalf("no rank %d among mpirun %d's children", rank, mpirunPID)
	return 0
}

// A rank killed mid-run ends the job within seconds, non-zero, with
// mpirun's line naming the rank and the signal; the last checkpoint on disk
// is intact, and resumes.
func TestMPIRankKilled(t *testing.T) {
	for _, victim := range []int{1, 0} {
		t.Run(fmt.Sprintf("rank %d", victim), func(t *testing.T) {
			dir, corpus := mpiCorpus(t)
			ckpt := filepath.Join(dir, "m.ckpt")
			j := startMPI(t, dir, 2, nil, "train", "-data", corpus, "-hidden", "64", "-seq", "32", "-batch", "2",
				"-steps", "1000000", "-save-every", "5", "-report-every", "1000", "-sample-every", "0", "-checkpoint", ckpt)
			// Saving every 5 steps: once there is a checkpoint, the
			// rank dies at any point of a step, sometimes mid-save.
			deadline := time.Now().Add(time.Minute)
			for {
				if _, err := os.Stat(ckpt); err == nil {
					break
				}
				if time.Now().After(deadline) {
					t.Fatalf("no checkpoint after a minute:\n%s", j.out.String())
				}
				time.Sleep(50 * time.Millisecond)
			}
			time.Sleep(500 * time.Millisecond)
			pid := rankPID(t, j.cmd.Process.Pid, victim)
			killed := time.Now()
			if err := syscall.Kill(pid, syscall.SIGKILL); err != nil {
				t.Fatal(err)
			}
			code := j.wait(t, 30*time.Second)
			elapsed := time.Since(killed)
			out := j.out.String()
			t.Logf("rank %d killed: the job ended %v later with status %d", victim, elapsed.Round(time.Millisecond), code)
			if code == 0 || elapsed > 10*time.Second {
				t.Errorf("after rank %d was killed: exit %d after %v; want non-zero within 10 s\n%s", victim, code, elapsed, out)
			}
			if want := fmt.Sprintf("process rank %d", victim); !strings.Contains(out, want) || !strings.Contains(out, "signal 9") {
				t.Errorf("mpirun's report does not say %q and %q:\n%s", want, "signal 9", out)
			}
			ck := loadCk(t, ckpt)
			if ck.Header.Step%5 != 0 || ck.Header.Ranks != 2 {
				t.Errorf("the checkpoint on disk is at step %d of %d ranks; want a multiple of 5, 2 ranks", ck.Header.Step, ck.Header.Ranks)
			}
			code, out = runMPI(t, dir, 2, nil, "train", "-data", corpus, "-resume", "-checkpoint", ckpt, "-steps", strconv.FormatInt(ck.Header.Step+5, 10))
			if code != 0 || !strings.Contains(out, fmt.Sprintf("resuming %s at step %d", ckpt, ck.Header.Step)) {
				t.Errorf("resuming after the kill: exit %d\n%s", code, out)
			}
		})
	}
}

// SIGTERM to mpirun (as Ctrl-C, or a batch system ending the job) reaches
// every rank: they stop together, rank 0 saves and says so once.
func TestMPIInterrupt(t *testing.T) {
	dir, corpus := mpiCorpus(t)
	ckpt := filepath.Join(dir, "m.ckpt")
	j := startMPI(t, dir, 2, nil, "train", "-data", corpus, "-hidden", "32", "-seq", "16", "-batch", "2",
		"-steps", "100000000", "-save-every", "1000000", "-report-every", "1000000", "-sample-every", "0", "-checkpoint", ckpt)
	deadline := time.Now().Add(time.Minute)
	for !strings.Contains(j.out.String(), "data-parallel over 2 ranks") {
		if time.Now().After(deadline) {
			t.Fatalf("the job did not start training in a minute:\n%s", j.out.String())
		}
		time.Sleep(50 * time.Millisecond)
	}
	time.Sleep(time.Second)
	if err := j.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	code := j.wait(t, 30*time.Second)
	out := j.out.String()
	if code == 0 || strings.Count(out, "charrnn: interrupted at step") != 1 {
		t.Fatalf("after SIGTERM: exit %d; want non-zero and one line from rank 0\n%s", code, out)
	}
	ck := loadCk(t, ckpt)
	if !strings.Contains(out, fmt.Sprintf("interrupted at step %d;", ck.Header.Step)) {
		t.Errorf("the checkpoint is at step %d, not the interrupted step:\n%s", ck.Header.Step, out)
	}
}
