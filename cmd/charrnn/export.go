package main

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"charrnn/engine"
)

func runExport(args []string) error {
	flags := newFlagSet("export", "-checkpoint FILE -o FILE.safetensors")
	checkpoint := flags.String("checkpoint", "charrnn.ckpt", "checkpoint to export")
	out := flags.String("o", "", "safetensors file to write (default: the checkpoint's name with .safetensors)")
	if err := flags.parse(args); err != nil {
		return err
	}
	if *out == "" {
		*out = strings.TrimSuffix(*checkpoint, filepath.Ext(*checkpoint)) + ".safetensors"
	}
	if same(*out, *checkpoint) {
		return badInputf("-o %s is the checkpoint itself", *out)
	}
	if info, err := os.Stat(filepath.Dir(*out)); err != nil || !info.IsDir() {
		return badInputf("-o %s: directory %s does not exist", *out, filepath.Dir(*out))
	}
	// Found before loading, as train does, not at the write.
	if err := engine.CheckWritable(*out); err != nil {
		return badInputf("-o %s: cannot write there: %v", *out, err)
	}
	ck, vocab, err := loadCheckpoint(*checkpoint)
	if err != nil {
		return err
	}
	m := ck.Model()
	if err := engine.ExportSafetensors(*out, m, vocab); err != nil {
		return err
	}
	fmt.Fprintf(os.Stderr, "charrnn: exported %s (step %d, %s, vocabulary %d) to %s\n", *checkpoint, ck.Header.Step, describeModel(m.Config), m.Config.Vocab, *out)
	return nil
}

// same reports whether two paths name the same file (or, when neither
// exists yet, the same cleaned path).
func same(a, b string) bool {
	ia, errA := os.Stat(a)
	ib, errB := os.Stat(b)
	if errA == nil && errB == nil {
		return os.SameFile(ia, ib)
	}
	absA, _ := filepath.Abs(a)
	absB, _ := filepath.Abs(b)
	return absA == absB
}
