//go:build mpi

package dist

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"strings"
	"syscall"
	"testing"
	"time"
)

// The fault tests run a job of two ranks of this test binary under mpirun;
// faultJobEnv tells TestMain to run runFaultJob instead of the tests.
const faultJobEnv = "DIST_TEST_FAULT_JOB"

// faultJobSteps is how many all-reduces the ranks do before rank 1 dies.
const faultJobSteps = 200

// runFaultJob all-reduces in a loop on every rank; after faultJobSteps,
// rank 1 ends as mode says:
//   - "kill": SIGKILL from itself;
//   - "panic": a Go panic;
//   - "abort": Comm.Abort(3);
//   - "abort-while-blocked": Comm.Abort(3) while another goroutine of rank 1
//     is blocked in an all-reduce that rank 0 never joins.
//
// Rank 0 is then blocked in an all-reduce that cannot complete (or asleep),
// and only mpirun can end it. It returns the exit status.
func runFaultJob(mode string) int {
	c, err := Init()
	if err != nil {
		fmt.Fprintln(os.Stderr, "fault job:", err)
		return 1
	}
	buf := make([]float32, 1<<16)
	for step := 0; ; step++ {
		if step == faultJobSteps && c.Rank() == 0 && mode == "abort-while-blocked" {
			time.Sleep(time.Hour)
		}
		if step == faultJobSteps && c.Rank() == 1 {
			fmt.Fprintf(os.Stderr, "fault job: rank 1 dies (%s) at step %d, at unix ns %d\n", mode, step, time.Now().UnixNano())
			switch mode {
			case "kill":
				syscall.Kill(os.Getpid(), syscall.SIGKILL)
			case "panic":
				panic("fault job: rank 1 panics")
			case "abort":
				c.Abort(3)
			case "abort-while-blocked":
				go c.AllReduceSum32(make([]float32, 1))
				time.Sleep(200 * time.Millisecond)
				c.Abort(3)
			}
		}
		if err := c.AllReduceSum32(buf); err != nil {
			fmt.Fprintf(os.Stderr, "fault job: rank %d: %v\n", c.Rank(), err)
			return 1
		}
	}
}

// A rank that dies mid-run ends the whole job within seconds, non-zero,
// with mpirun's line saying which rank died and how. Open MPI does this by
// default: mpirun's daemon sees the rank end before MPI_Finalize and ends
// the other ranks (SIGTERM, then SIGKILL after odls_base_sigkill_timeout,
// one second, which is most of the time the job takes to end).
func TestRankDeathEndsJob(t *testing.T) {
	if Launched() {
		t.Skip("starts its own mpirun: run the test binary without mpirun")
	}
	mpirun, err := exec.LookPath("mpirun")
	if err != nil {
		t.Fatalf("the mpi build needs Open MPI's mpirun: %v", err)
	}
	const limit = 30 * time.Second
	for _, tc := range []struct {
		mode   string
		status int      // mpirun's exit status: the failed rank's
		says   []string // in mpirun's report
	}{
		{"kill", 128 + 9, []string{"process rank 1", "exited on signal 9"}},
		{"panic", 2, []string{"exited with non-zero status", "],1]"}}, // [[job,1],rank]
		// Open MPI's MPI_ABORT report ("MPI_ABORT was invoked on rank 1 ...")
		// is sometimes lost as the rank is killed sending it.
		{"abort", 3, nil},
		{"abort-while-blocked", 3, []string{"exited with non-zero status", "],1]"}},
	} {
		t.Run(tc.mode, func(t *testing.T) {
			ctx, cancel := context.WithTimeout(context.Background(), 2*limit)
			defer cancel()
			cmd := exec.CommandContext(ctx, mpirun, "--allow-run-as-root", "--oversubscribe", "-np", "2",
				os.Args[0], "-test.run=^$")
			cmd.Env = append(os.Environ(), faultJobEnv+"="+tc.mode)
			var out bytes.Buffer
			cmd.Stdout, cmd.Stderr = &out, &out
			start := time.Now()
			err := cmd.Run()
			end := time.Now()
			elapsed := end.Sub(start)
			t.Logf("job ended %v after it started, %s after rank 1 died: %v\n%s",
				elapsed.Round(time.Millisecond), sinceDeath(out.String(), end), err, out.String())
			if ctx.Err() != nil {
				t.Fatalf("the job still ran after %v: a dead rank left the others hanging", 2*limit)
			}
			if err == nil {
				t.Fatal("the job exited with status 0 after a rank died")
			}
			if status := cmd.ProcessState.ExitCode(); status != tc.status {
				t.Errorf("the job's exit status is %d, want %d", status, tc.status)
			}
			if elapsed > limit {
				t.Errorf("the job took %v to end, more than %v", elapsed, limit)
			}
			for _, s := range tc.says {
				if !strings.Contains(out.String(), s) {
					t.Errorf("the job's output does not say %q", s)
				}
			}
		})
	}
}

// sinceDeath returns the time from rank 1's death, as the job's output
// gives it, to end.
func sinceDeath(out string, end time.Time) string {
	_, after, found := strings.Cut(out, "at unix ns ")
	var ns int64
	if _, err := fmt.Sscan(after, &ns); !found || err != nil {
		return "(no time of death in the output)"
	}
	return end.Sub(time.Unix(0, ns)).Round(time.Millisecond).String()
}
