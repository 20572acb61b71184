package main

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"unicode/utf8"
)

// TestRuneVocabulary trains with -vocab runes on Greek, Japanese and emoji
// with some invalid bytes, then samples, evaluates and resumes.
func TestRuneVocabulary(t *testing.T) {
	dir := t.TempDir()
	corpus := filepath.Join(dir, "poly.txt")
	line := "καλημέρα κόσμε, 日本語の文章です。🙂🚀 \xff ok\n"
	text := strings.Repeat(line, 40)
	if err := os.WriteFile(corpus, []byte(text), 0o644); err != nil {
		t.Fatal(err)
	}
	r := charrnn(t, dir, "train", "-data", corpus, "-vocab", "runes", "-vocab-size", "24", "-hidden", "16", "-seq", "8", "-batch", "2",
		"-steps", "30", "-checkpoint", "r.ckpt", "-sample-every", "10", "-report-every", "10")
	if r.code != 0 || !strings.Contains(r.stderr, "vocabulary 24 runes") {
		t.Fatalf("train -vocab runes: code %d, stderr %s", r.code, r.stderr)
	}
	if !utf8.ValidString(r.stdout) {
		t.Fatalf("training samples are not valid UTF-8: %q", r.stdout)
	}

	prime := "καλη"
	r = charrnn(t, dir, "sample", "-checkpoint", "r.ckpt", "-n", "80", "-prime", prime, "-seed", "3")
	if r.code != 0 || !strings.HasPrefix(r.stdout, prime) {
		t.Fatalf("sample: code %d, stdout %q, stderr %q", r.code, r.stdout, r.stderr)
	}
	if !utf8.ValidString(r.stdout) || utf8.RuneCountInString(r.stdout) != utf8.RuneCountInString(prime)+80+1 {
		t.Fatalf("sample is not %d valid runes: %q", 80, r.stdout)
	}
	r = charrnn(t, dir, "sample", "-checkpoint", "r.ckpt", "-prime", "καλη Zebra")
	if r.code != 2 || !strings.Contains(r.stderr, `"Z"`) {
		t.Fatalf("prime with unknown characters: code %d, stderr %q", r.code, r.stderr)
	}

	r = charrnn(t, dir, "eval", "-checkpoint", "r.ckpt", "-data", corpus, "-json")
	var ev struct {
		Chars int64 `json:"chars"`
	}
	if r.code != 0 || json.Unmarshal([]byte(r.stdout), &ev) != nil {
		t.Fatalf("eval -json: code %d, stdout %q, stderr %q", r.code, r.stdout, r.stderr)
	}
	if want := int64(utf8.RuneCountInString(text) - 1); ev.Chars != want {
		t.Fatalf("eval counted %d characters, want %d runes", ev.Chars, want)
	}

	// Resume keeps the checkpoint's kind, and says no to another.
	r = charrnn(t, dir, "train", "-data", corpus, "-checkpoint", "r.ckpt", "-resume", "-steps", "40", "-sample-every", "0")
	if r.code != 0 || !strings.Contains(r.stderr, "vocabulary 24 runes") || !strings.Contains(r.stderr, "trained 40 steps") {
		t.Fatalf("resume: code %d, stderr %s", r.code, r.stderr)
	}
	for _, args := range [][]string{{"-vocab", "bytes"}, {"-vocab-size", "30"}} {
		r = charrnn(t, dir, append([]string{"train", "-data", corpus, "-checkpoint", "r.ckpt", "-resume", "-steps", "50"}, args...)...)
		if r.code != 2 || !strings.Contains(r.stderr, args[0]) || strings.Count(strings.TrimSpace(r.stderr), "\n") != 0 {
			t.Fatalf("resume %v: code %d, stderr %q", args, r.code, r.stderr)
		}
	}
}

func TestVocabFlagErrors(t *testing.T) {
	dir := t.TempDir()
	corpus := filepath.Join(dir, "t.txt")
	os.WriteFile(corpus, []byte(strings.Repeat("abc ", 100)), 0o644)
	cases := []struct {
		args []string
		want string
	}{
		{[]string{"-vocab", "words"}, `-vocab must be bytes or runes, got "words"`},
		{[]string{"-vocab", "runes", "-vocab-size", "1"}, "-vocab-size must be at least 2"},
		{[]string{"-vocab", "runes", "-vocab-size", "-5"}, "-vocab-size must be at least 2"},
		{[]string{"-vocab-size", "100"}, "-vocab-size applies to -vocab runes only"},
	}
	for _, c := range cases {
		r := charrnn(t, dir, append([]string{"train", "-data", corpus, "-checkpoint", "x.ckpt", "-steps", "1"}, c.args...)...)
		if r.code != 2 || !strings.Contains(r.stderr, c.want) || strings.Count(strings.TrimSpace(r.stderr), "\n") != 0 {
			t.Errorf("train %v: code %d, stderr %q; want status 2 and %q", c.args, r.code, r.stderr, c.want)
		}
	}
	if _, err := os.Stat(filepath.Join(dir, "x.ckpt")); err == nil {
		t.Error("a rejected run wrote a checkpoint")
	}
}
