package main

import (
	"bufio"
	"os"
	"time"

	"charrnn/engine"
)

func runSample(args []string) error {
	flags := newFlagSet("sample", "-checkpoint FILE [flags]")
	checkpoint := flags.String("checkpoint", "charrnn.ckpt", "checkpoint to sample from")
	n := flags.Int("n", 500, "characters to generate")
	prime := flags.String("prime", "", "text to feed through the model before generating")
	temperature := flags.Float64("temperature", 1, "softmax temperature: below 1 sharper, above 1 more varied")
	greedy := flags.Bool("greedy", false, "always take the most likely character")
	seed := flags.Uint64("seed", 0, "random seed (default: a new one each run)")
	backend := flags.String("backend", "auto", "kernel backend: auto or a name (also CHARRNN_BACKEND)")
	var prof profiling
	prof.register(flags)
	if err := flags.parse(args); err != nil {
		return err
	}
	if *n < 0 {
		return badInputf("-n must not be negative, got %d", *n)
	}
	if err := engine.ValidateTemperature(*temperature); err != nil {
		return badInputf("-temperature: %v", err)
	}
	if !flags.isSet("seed") {
		*seed = uint64(time.Now().UnixNano())
	}
	ck, err := engine.LoadCheckpoint(*checkpoint)
	if err != nil {
		return badInput(err)
	}
	vocab, err := engine.NewVocab(ck.Header.VocabKind, ck.Header.Vocab)
	if err != nil {
		return badInputf("checkpoint %s: %v", *checkpoint, err)
	}
	primeIDs, err := vocab.Encode(*prime)
	if err != nil {
		return badInputf("-prime: %v", err)
	}
	k, err := chooseBackend(*backend)
	if err != nil {
		return err
	}

	stopProfiling, err := prof.start()
	if err != nil {
		return err
	}
	s := engine.NewSampler(k, ck.Model(), *seed)
	s.Temperature, s.Greedy = *temperature, *greedy
	s.Prime(primeIDs)
	out := bufio.NewWriter(os.Stdout)
	out.WriteString(*prime)
	one := make([]int32, 1)
	s.Generate(*n, func(id int32) {
		one[0] = id
		out.WriteString(vocab.Decode(one))
	})
	out.WriteString("\n")
	if err := out.Flush(); err != nil {
		return err
	}
	return stopProfiling()
}
