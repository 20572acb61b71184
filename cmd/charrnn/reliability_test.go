package main

import (
	"bytes"
	"crypto/sha256"
	bin "encoding/binary"
	"encoding/json"
	"fmt"
	"hash/crc32"
	"io/fs"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"charrnn/engine"
)

// The reliability suite: every kind of bad input the binary can be given
// ends in exit status 2, exactly one line on stderr, no panic trace, and no
// file changed (existing checkpoints are compared by SHA-256).

// badCase is one row: the arguments, a fragment the one error line must
// hold, and the exit status (exitBadInput unless said otherwise).
type badCase struct {
	name string
	args []string
	want string
}

// checkOneLineFailure asserts the shape of a refused run.
func checkOneLineFailure(t *testing.T, r result, code int, want string) {
	t.Helper()
	if r.code != code {
		t.Fatalf("exit status %d, want %d; stderr:\n%s", r.code, code, r.stderr)
	}
	if strings.Contains(r.stderr, "goroutine ") || strings.Contains(r.stderr, "panic") || strings.Contains(r.stderr, "fatal error") {
		t.Fatalf("panic trace on stderr:\n%s", r.stderr)
	}
	if lines := strings.Split(strings.TrimRight(r.stderr, "\n"), "\n"); len(lines) != 1 || lines[0] == "" {
		t.Fatalf("want exactly one line on stderr, got %d:\n%s", len(lines), r.stderr)
	}
	if !strings.Contains(r.stderr, want) {
		t.Fatalf("stderr %q does not mention %q", r.stderr, want)
	}
}

// treeHashes is the SHA-256 of every regular file under dir, by relative path.
func treeHashes(t *testing.T, dir string) map[string][32]byte {
	t.Helper()
	out := map[string][32]byte{}
	err := filepath.WalkDir(dir, func(path string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		b, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(dir, path)
		out[rel] = sha256.Sum256(b)
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return out
}

func diffHashes(before, after map[string][32]byte) string {
	var d []string
	for name, h := range before {
		if h2, ok := after[name]; !ok {
			d = append(d, "removed "+name)
		} else if h2 != h {
			d = append(d, "changed "+name)
		}
	}
	for name := range after {
		if _, ok := before[name]; !ok {
			d = append(d, "created "+name)
		}
	}
	slices.Sort(d)
	return strings.Join(d, ", ")
}

// rechecksum replaces a checkpoint's trailing CRC-32C with the right one
// for the bytes before it.
func rechecksum(ck []byte) []byte {
	body := ck[:len(ck)-4]
	return bin.LittleEndian.AppendUint32(bytes.Clone(body), crc32.Checksum(body, crc32.MakeTable(crc32.Castagnoli)))
}

// reheader rebuilds a checkpoint with its JSON header edited by edit, under
// a valid checksum: a file charrnn would never write, to be refused.
func reheader(t *testing.T, ck []byte, edit func(h map[string]any)) []byte {
	t.Helper()
	hlen := bin.LittleEndian.Uint32(ck[12:])
	var h map[string]any
	if err := json.Unmarshal(ck[16:16+hlen], &h); err != nil {
		t.Fatal(err)
	}
	edit(h)
	hdr, err := json.Marshal(h)
	if err != nil {
		t.Fatal(err)
	}
	out := bytes.Clone(ck[:12])
	out = bin.LittleEndian.AppendUint32(out, uint32(len(hdr)))
	out = append(out, hdr...)
	out = append(out, ck[16+hlen:]...)
	return rechecksum(out)
}

func writeFile(t *testing.T, path string, data []byte) string {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, data, 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}

func TestReliabilityBadInput(t *testing.T) {
	f := newFixture(t)
	ck, err := os.ReadFile(f.ckpt)
	if err != nil {
		t.Fatal(err)
	}
	empty := writeFile(t, filepath.Join(f.dir, "empty.txt"), nil)
	short := writeFile(t, filepath.Join(f.dir, "short.txt"), []byte("the cat")) // 7 bytes: seq 6 is the most it can train
	noFiles := filepath.Join(f.dir, "no-files")
	os.Mkdir(noFiles, 0o755)
	emptiesOnly := filepath.Join(f.dir, "empties")
	writeFile(t, filepath.Join(emptiesOnly, "a", "b.txt"), nil)
	// Text with characters the fixture's checkpoint has never seen.
	foreignText := writeFile(t, filepath.Join(f.dir, "foreign.txt"), []byte(strings.Repeat("THE CAT SAT ON THE MAT!\n", 20)))
	notCkpt := writeFile(t, filepath.Join(f.dir, "bad", "magic.ckpt"), append([]byte("CHARRNX\x00"), ck[8:]...))
	newer := bytes.Clone(ck)
	bin.LittleEndian.PutUint32(newer[8:], engine.CheckpointVersion+1)
	newerPath := writeFile(t, filepath.Join(f.dir, "bad", "newer.ckpt"), rechecksum(newer))
	// A NaN in the last section (a state, not a parameter), under a valid
	// checksum: made by hand, never by charrnn.
	nan := bytes.Clone(ck)
	bin.LittleEndian.PutUint32(nan[len(nan)-8:], 0x7fc00000)
	nanPath := writeFile(t, filepath.Join(f.dir, "bad", "nan-state.ckpt"), rechecksum(nan))

	shortCorpus := writeFile(t, filepath.Join(f.dir, "short-corpus.txt"), []byte(strings.Repeat("the cat sat on the mat. the dog ate the log.\n", 5)))
	config := func(h map[string]any) map[string]any { return h["config"].(map[string]any) }
	crafted := func(name string, edit func(h map[string]any)) string {
		return writeFile(t, filepath.Join(f.dir, "bad", "crafted-"+name+".ckpt"), reheader(t, ck, edit))
	}

	train := func(extra ...string) []string {
		return append([]string{"train", "-data", f.corpus, "-checkpoint", "new.ckpt", "-steps", "1", "-hidden", "8", "-seq", "8", "-batch", "1"}, extra...)
	}
	sample := func(extra ...string) []string {
		return append([]string{"sample", "-checkpoint", f.ckpt, "-n", "5", "-seed", "1"}, extra...)
	}
	eval := func(extra ...string) []string {
		return append([]string{"eval", "-checkpoint", f.ckpt, "-data", f.corpus}, extra...)
	}
	bench := func(extra ...string) []string {
		return append([]string{"bench", "-hidden", "8", "-seq", "8", "-batch", "1", "-duration", "10ms", "-backend", "generic"}, extra...)
	}
	resume := func(ckpt string, extra ...string) []string {
		return append([]string{"train", "-data", f.corpus, "-checkpoint", ckpt, "-resume", "-steps", "40", "-sample-every", "0"}, extra...)
	}
	cases := []badCase{
		// Data.
		{"missing data file", train("-data", filepath.Join(f.dir, "missing.txt")), "missing.txt"},
		{"missing data in a list", train("-data", f.corpus+","+filepath.Join(f.dir, "gone")), "gone"},
		{"empty file", train("-data", empty), "empty"},
		{"file shorter than seq+1", train("-data", short, "-seq", "7"), "needs at least 8"},
		{"directory without files", train("-data", noFiles), "no-files"},
		{"directory of empty files", train("-data", emptiesOnly), "empty"},
		{"glob without matches", train("-data", filepath.Join(f.dir, "*.nomatch")), "nomatch"},
		{"eval missing data", eval("-data", filepath.Join(f.dir, "missing.txt")), "missing.txt"},
		{"eval empty data", eval("-data", empty), "empty"},
		{"eval text outside the vocabulary", eval("-data", foreignText), "vocabulary"},

		// Numeric flags out of range. New flags: one line each.
		{"hidden 0", train("-hidden", "0"), "-hidden"},
		{"hidden negative", train("-hidden", "-1"), "-hidden"},
		{"hidden above the format's limit", train("-hidden", "65537"), "-hidden"},
		{"hidden not a number", train("-hidden", "lots"), "-hidden"},
		// Sizes in range whose buffers no machine has the memory for.
		{"batch beyond memory", train("-batch", "1000000000"), "memory"},
		{"window beyond memory", train("-hidden", "65536", "-seq", "1000000"), "memory"},
		{"bench beyond memory", bench("-batch", "1000000000"), "memory"},
		{"seq 0", train("-seq", "0"), "-seq"},
		{"seq negative", train("-seq", "-5"), "-seq"},
		{"batch 0", train("-batch", "0"), "-batch"},
		{"batch negative", train("-batch", "-2"), "-batch"},
		{"lr 0", train("-lr", "0"), "-lr"},
		{"lr negative", train("-lr", "-0.1"), "-lr"},
		{"lr NaN", train("-lr", "NaN"), "-lr"},
		{"lr Inf", train("-lr", "Inf"), "-lr"},
		{"lr overflows float32", train("-lr", "1e39"), "-lr"},
		{"lr underflows float32", train("-lr", "1e-50"), "-lr"},
		{"steps negative", train("-steps", "-1"), "-steps"},
		{"time negative", train("-time", "-1s"), "-time"},
		{"time not a duration", train("-time", "5"), "-time"},
		{"clip 0", train("-clip", "0"), "-clip"},
		{"clip negative", train("-clip", "-5", "-clip-mode", "norm"), "-clip"},
		{"clip NaN", train("-clip", "NaN"), "-clip"},
		{"clip Inf", train("-clip", "+Inf"), "-clip"},
		{"save-every negative", train("-save-every", "-1"), "-save-every"},
		{"sample-every negative", train("-sample-every", "-1"), "-sample-every"},
		{"sample-len 0", train("-sample-len", "0"), "-sample-len"},
		{"report-every 0", train("-report-every", "0"), "-report-every"},
		{"seed negative", train("-seed", "-1"), "-seed"},
		{"n negative", sample("-n", "-1"), "-n"},
		{"temperature 0", sample("-temperature", "0"), "temperature"},
		{"temperature negative", sample("-temperature", "-1"), "temperature"},
		{"temperature NaN", sample("-temperature", "NaN"), "temperature"},
		{"temperature Inf", sample("-temperature", "Inf"), "temperature"},
		{"temperature -Inf", sample("-temperature", "-Inf"), "temperature"},
		{"sample seed negative", sample("-seed", "-3"), "-seed"},
		{"bench hidden negative", bench("-hidden", "-1"), "-hidden"},
		{"bench hidden 0", bench("-hidden", "0"), "-hidden"},
		{"bench seq 0", bench("-seq", "0"), "-seq"},
		{"bench batch 0", bench("-batch", "0"), "-batch"},
		{"bench vocab 1", bench("-vocab", "1"), "-vocab"},
		{"bench vocab 257", bench("-vocab", "257"), "-vocab"},
		{"bench duration 0", bench("-duration", "0s"), "-duration"},

		// Names.
		{"unknown optimizer", train("-optimizer", "rmsprop9"), "-optimizer must be one of"},
		{"unknown clip mode", train("-clip-mode", "soft"), "clip-mode"},
		{"unknown backend (train)", train("-backend", "quantum"), "unknown backend"},
		{"unknown backend (sample)", sample("-backend", "quantum"), "unknown backend"},
		{"unknown backend (eval)", eval("-backend", "quantum"), "unknown backend"},
		{"unknown backend (bench)", bench("-backend", "quantum"), "unknown backend"},
		{"checkpoint in a missing directory", train("-checkpoint", filepath.Join(f.dir, "nodir", "m.ckpt")), "nodir"},
		{"checkpoint flag empty", train("-checkpoint", ""), "-checkpoint"},
		{"checkpoint is a directory (-force)", train("-checkpoint", noFiles, "-force"), "not a regular file"},
		{"checkpoint is a directory (-resume)", resume(noFiles), "no-files"},

		// Prime.
		{"prime outside the vocabulary", sample("-prime", "THE"), `"T"`},
		{"prime with a byte outside", sample("-prime", "the \xff"), `"\xff"`},
		{"prime with a multibyte character", sample("-prime", "thé"), `"é"`},

		// Checkpoints that must not be used.
		{"sample missing checkpoint", sample("-checkpoint", filepath.Join(f.dir, "none.ckpt")), "none.ckpt"},
		{"sample directory as checkpoint", sample("-checkpoint", noFiles), "no-files"},
		{"resume missing checkpoint", resume(filepath.Join(f.dir, "none.ckpt")), "none.ckpt"},
		{"sample wrong magic", sample("-checkpoint", notCkpt), "not a charrnn checkpoint"},
		{"resume wrong magic", resume(notCkpt), "not a charrnn checkpoint"},
		{"sample newer format", sample("-checkpoint", newerPath), "newer"},
		{"eval newer format", eval("-checkpoint", newerPath), "newer"},
		{"resume newer format", resume(newerPath), "newer"},
		{"resume a NaN state", resume(nanPath), "not finite"},
		{"sample a NaN state", sample("-checkpoint", nanPath), "not finite"},
		{"resume on a corpus shorter than the cursors", resume(f.ckpt, "-data", shortCorpus), "outside this corpus"},
		{"crafted: vocabulary not ascending", sample("-checkpoint", crafted("unsorted", func(h map[string]any) {
			v := h["vocab"].([]any)
			v[0], v[1] = v[1], v[0]
		})), "ascending"},
		{"crafted: unknown vocabulary kind", sample("-checkpoint", crafted("kind", func(h map[string]any) { h["vocab_kind"] = "words" })), "vocabulary kind"},
		{"crafted: hidden size disagrees with params", eval("-checkpoint", crafted("hidden", func(h map[string]any) { config(h)["model"].(map[string]any)["hidden"] = 15.0 })), "tensor table"},
		{"crafted: seq 0", resume(crafted("seq", func(h map[string]any) { config(h)["seq"] = 0.0 })), "-seq"},
		{"crafted: negative step", resume(crafted("step", func(h map[string]any) { h["step"] = -1.0 })), "negative"},
		{"crafted: cursor count", resume(crafted("cursors", func(h map[string]any) { h["cursors"] = []any{0.0} })), "cursors"},
		{"crafted: negative cursor", resume(crafted("cursor", func(h map[string]any) { h["cursors"] = []any{-8.0, 0.0} })), "cursor -8"},
		{"crafted: unknown header field", sample("-checkpoint", crafted("field", func(h map[string]any) { h["layers"] = 2.0 })), "layers"},
		{"crafted: unknown optimizer", resume(crafted("optimizer", func(h map[string]any) { config(h)["optimizer"] = "lion" })), "lion"},
		{"crafted: chars seen near 2^63", resume(crafted("chars", func(h map[string]any) { h["chars_seen"] = 9.2e18 })), "chars_seen"},
		{"crafted: lr_scale 0", resume(crafted("lrscale", func(h map[string]any) { h["train"].(map[string]any)["lr_scale"] = 0.0 })), "lr_scale"},
		{"crafted: lr_scale negative", sample("-checkpoint", crafted("lrscale-neg", func(h map[string]any) { h["train"].(map[string]any)["lr_scale"] = -1.0 })), "lr_scale"},
		{"text as checkpoint", sample("-checkpoint", f.corpus), "not a charrnn checkpoint"},
		{"existing checkpoint without -resume", train("-checkpoint", f.ckpt), "-resume"},
		{"resume with a vocabulary the checkpoint lacks", resume(f.ckpt, "-data", foreignText), "vocabulary lacks"},
		{"resume with a different hidden size", resume(f.ckpt, "-hidden", "17"), "-hidden 16"},
		{"resume with a different optimizer", resume(f.ckpt, "-optimizer", "sgd"), "-optimizer adam"},
	}

	// Damaged checkpoints: truncated at every sixteenth of the file, and one
	// bit flipped at 64 offsets spread over it; each is tried by the three
	// commands that load checkpoints in turn.
	loaders := []func(path string) []string{
		func(p string) []string { return sample("-checkpoint", p) },
		func(p string) []string { return eval("-checkpoint", p) },
		func(p string) []string { return resume(p) },
	}
	for i := range 16 {
		name := fmt.Sprintf("trunc-%02d.ckpt", i)
		p := writeFile(t, filepath.Join(f.dir, "bad", name), ck[:len(ck)*i/16])
		cases = append(cases, badCase{fmt.Sprintf("truncated to %d of 16", i), loaders[i%3](p), name})
	}
	for i := range 64 {
		off := (len(ck)*i)/64 + i%5
		name := fmt.Sprintf("flip-%02d.ckpt", i)
		bad := bytes.Clone(ck)
		bad[off] ^= 1 << (i % 8)
		p := writeFile(t, filepath.Join(f.dir, "bad", name), bad)
		cases = append(cases, badCase{fmt.Sprintf("bit %d flipped at byte %d", i%8, off), loaders[i%3](p), name})
	}

	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			before := treeHashes(t, f.dir)
			r := charrnn(t, f.dir, c.args...)
			checkOneLineFailure(t, r, exitBadInput, c.want)
			t.Log(strings.TrimSpace(r.stderr))
			if d := diffHashes(before, treeHashes(t, f.dir)); d != "" {
				t.Fatalf("a refused run changed files: %s", d)
			}
		})
	}
}

// TestReliabilityUnreadable: data and checkpoints that exist but cannot be
// read. Root reads anything whatever its mode, so as root the binary runs as
// nobody (setpriv), or the test is skipped.
func TestReliabilityUnreadable(t *testing.T) {
	f := newFixture(t)
	var wrap []string
	if os.Geteuid() == 0 {
		setpriv, err := exec.LookPath("setpriv")
		if err != nil {
			t.Skip("running as root, where mode 000 does not stop reads, and setpriv is not available to drop privileges")
		}
		wrap = []string{setpriv, "--reuid=65534", "--regid=65534", "--clear-groups", "--"}
		// nobody must reach the binary and the files.
		for _, d := range []string{filepath.Dir(binary), f.dir, filepath.Dir(f.dir)} {
			if err := os.Chmod(d, 0o755); err != nil {
				t.Fatal(err)
			}
		}
	}
	data, _ := os.ReadFile(f.ckpt)
	lockedCkpt := writeFile(t, filepath.Join(f.dir, "locked.ckpt"), data)
	lockedText := writeFile(t, filepath.Join(f.dir, "locked.txt"), []byte(strings.Repeat("the cat ", 50)))
	lockedDir := filepath.Join(f.dir, "lockeddir")
	writeFile(t, filepath.Join(lockedDir, "a.txt"), []byte(strings.Repeat("the cat ", 50)))
	for _, p := range []string{lockedCkpt, lockedText, lockedDir} {
		if err := os.Chmod(p, 0); err != nil {
			t.Fatal(err)
		}
	}
	t.Cleanup(func() { os.Chmod(lockedDir, 0o755) })
	readOnly := filepath.Join(f.dir, "readonly")
	if err := os.Mkdir(readOnly, 0o555); err != nil {
		t.Fatal(err)
	}
	cases := []badCase{
		// Found before training, not at its first save.
		{"read-only checkpoint directory", []string{"train", "-data", f.corpus, "-checkpoint", filepath.Join(readOnly, "new.ckpt"), "-steps", "1"}, "permission denied"},
		{"unreadable data file", []string{"train", "-data", lockedText, "-checkpoint", "new.ckpt", "-steps", "1"}, "permission denied"},
		{"unreadable data directory", []string{"train", "-data", lockedDir, "-checkpoint", "new.ckpt", "-steps", "1"}, "permission denied"},
		{"unreadable eval data", []string{"eval", "-checkpoint", "m.ckpt", "-data", lockedText}, "permission denied"},
		{"unreadable checkpoint (sample)", []string{"sample", "-checkpoint", lockedCkpt, "-n", "3"}, "permission denied"},
		{"unreadable checkpoint (resume)", []string{"train", "-data", f.corpus, "-checkpoint", lockedCkpt, "-resume", "-steps", "40"}, "permission denied"},
		{"export into a read-only directory", []string{"export", "-checkpoint", f.ckpt, "-o", filepath.Join(readOnly, "m.safetensors")}, "permission denied"},
	}
	before := treeHashes(t, f.dir)
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			r := runWrapped(t, f.dir, nil, wrap, c.args...)
			checkOneLineFailure(t, r, exitBadInput, c.want)
		})
	}
	os.Chmod(lockedDir, 0o755)
	os.Chmod(lockedCkpt, 0o644)
	os.Chmod(lockedText, 0o644)
	if d := diffHashes(before, treeHashes(t, f.dir)); d != "" {
		t.Fatalf("refused runs changed files: %s", d)
	}
}

// runWrapped is charrnn with extra environment and a command the binary runs
// under (such as setpriv).
func runWrapped(t *testing.T, dir string, env, wrap []string, args ...string) result {
	t.Helper()
	argv := append(slices.Clone(wrap), binary)
	argv = append(argv, args...)
	cmd := exec.Command(argv[0], argv[1:]...)
	cmd.Dir = dir
	cmd.Env = append(append(os.Environ(), "CHARRNN_BACKEND="), env...)
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	err := cmd.Run()
	code := 0
	if ee, ok := err.(*exec.ExitError); ok {
		code = ee.ExitCode()
	} else if err != nil {
		t.Fatal(err)
	}
	return result{code, out.String(), errb.String()}
}

func TestReliabilityBackendVariable(t *testing.T) {
	f := newFixture(t)
	before := treeHashes(t, f.dir)
	r := runWrapped(t, f.dir, []string{"CHARRNN_BACKEND=quantum"}, nil, "sample", "-checkpoint", f.ckpt, "-n", "3")
	checkOneLineFailure(t, r, exitBadInput, "CHARRNN_BACKEND")
	if d := diffHashes(before, treeHashes(t, f.dir)); d != "" {
		t.Fatalf("refused run changed files: %s", d)
	}
}

// Byte mode takes any bytes: random binary data trains, samples and
// evaluates.
func TestReliabilityBinaryData(t *testing.T) {
	dir := t.TempDir()
	rng := rand.New(rand.NewPCG(1, 2))
	data := make([]byte, 8192)
	for i := range data {
		data[i] = byte(rng.Uint32())
	}
	path := writeFile(t, filepath.Join(dir, "random.bin"), data)
	r := charrnn(t, dir, "train", "-data", path, "-hidden", "8", "-seq", "8", "-batch", "2", "-steps", "5", "-checkpoint", "bin.ckpt", "-sample-every", "0")
	if r.code != 0 {
		t.Fatalf("training on binary data: exit %d\n%s", r.code, r.stderr)
	}
	if !strings.Contains(r.stderr, "vocabulary 256") {
		t.Errorf("random bytes should give a 256-symbol vocabulary:\n%s", r.stderr)
	}
	r = charrnn(t, dir, "sample", "-checkpoint", "bin.ckpt", "-n", "64", "-seed", "1", "-prime", "\x01\xff")
	if r.code != 0 || len(r.stdout) != 2+64+1 {
		t.Fatalf("sampling the binary model: exit %d, %d bytes out\n%s", r.code, len(r.stdout), r.stderr)
	}
	r = charrnn(t, dir, "eval", "-checkpoint", "bin.ckpt", "-data", path, "-json")
	if r.code != 0 || !strings.Contains(r.stdout, `"chars":8191`) {
		t.Fatalf("evaluating on binary data: exit %d, %s\n%s", r.code, r.stdout, r.stderr)
	}
}

// Two runs with the same seed and backend write byte-identical checkpoints.
func TestReliabilitySameSeedSameCheckpoint(t *testing.T) {
	f := newFixture(t)
	run := func(name string, extra ...string) [32]byte {
		args := append([]string{"train", "-data", f.corpus, "-hidden", "12", "-seq", "8", "-batch", "3", "-steps", "25",
			"-checkpoint", name, "-sample-every", "10", "-save-every", "10", "-seed", "7", "-backend", "generic"}, extra...)
		r := charrnn(t, f.dir, args...)
		if r.code != 0 {
			t.Fatalf("train: exit %d\n%s", r.code, r.stderr)
		}
		b, err := os.ReadFile(filepath.Join(f.dir, name))
		if err != nil {
			t.Fatal(err)
		}
		return sha256.Sum256(b)
	}
	a, b := run("a.ckpt"), run("b.ckpt")
	if a != b {
		t.Fatal("two runs with the same seed wrote different checkpoints")
	}
	if c := run("c.ckpt", "-seed", "8"); c == a {
		t.Fatal("a different seed wrote the same checkpoint: the comparison proves nothing")
	}
	sa, _ := os.ReadFile(filepath.Join(f.dir, "a.sample.txt"))
	sb, _ := os.ReadFile(filepath.Join(f.dir, "b.sample.txt"))
	if !bytes.Equal(sa, sb) || len(sa) == 0 {
		t.Fatal("two runs with the same seed wrote different samples")
	}
}

// TestReliabilityKilledTraining kills training that saves after every step
// with SIGKILL at random moments, 30 times, resuming each time: the
// checkpoint always loads, and its step never goes back.
func TestReliabilityKilledTraining(t *testing.T) {
	f := newFixture(t)
	rng := rand.New(rand.NewPCG(uint64(time.Now().UnixNano()), 3))
	prev, err := engine.LoadCheckpoint(f.ckpt)
	if err != nil {
		t.Fatal(err)
	}
	const kills = 30
	midSave := 0
	for kill := range kills {
		cmd := exec.Command(binary, "train", "-data", f.corpus, "-checkpoint", f.ckpt, "-resume", "-steps", "100000000",
			"-save-every", "1", "-sample-every", "0", "-report-every", "1000000")
		cmd.Dir = f.dir
		cmd.Env = append(os.Environ(), "CHARRNN_BACKEND=")
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		time.Sleep(time.Duration(5_000+rng.IntN(60_000)) * time.Microsecond)
		if err := cmd.Process.Kill(); err != nil {
			t.Fatal(err)
		}
		cmd.Wait()
		ck, err := engine.LoadCheckpoint(f.ckpt)
		if err != nil {
			t.Fatalf("kill %d: the checkpoint does not load after SIGKILL: %v", kill, err)
		}
		if ck.Header.Step < prev.Header.Step {
			t.Fatalf("kill %d: checkpoint went back from step %d to %d", kill, prev.Header.Step, ck.Header.Step)
		}
		prev = ck
		if entries, _ := filepath.Glob(f.ckpt + ".tmp*"); len(entries) > 0 {
			midSave++
		}
	}
	t.Logf("%d kills, %d during a save; the checkpoint reached step %d", kills, midSave, prev.Header.Step)
	if prev.Header.Step == 30 {
		t.Fatal("no run got as far as a save: the kills prove nothing")
	}
	r := charrnn(t, f.dir, "sample", "-checkpoint", f.ckpt, "-n", "20", "-seed", "1")
	if r.code != 0 {
		t.Fatalf("sample after the kills: exit %d: %s", r.code, r.stderr)
	}
}
