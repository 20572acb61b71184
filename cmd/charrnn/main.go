// Command charrnn trains a character-level recurrent neural network on text
// and writes text with it.
//
//	charrnn train   -data PATHS -hidden H -seq T -batch B -steps N ...
//	charrnn sample  -checkpoint FILE -n N -prime TEXT ...
//	charrnn eval    -checkpoint FILE -data PATHS [-json]
//	charrnn inspect -checkpoint FILE
//	charrnn export  -checkpoint FILE -o FILE.safetensors
//
// Run "charrnn COMMAND -h" for a command's flags.
package main

import (
	"errors"
	"fmt"
	"os"
	"sort"
	"strings"

	"charrnn/engine"
	"charrnn/kernels"
)

// Exit statuses, per the command-line contract.
const (
	exitOK          = 0
	exitFailure     = 1   // something went wrong that is not the user's input
	exitBadInput    = 2   // bad usage or bad input
	exitInterrupted = 130 // stopped by a signal, checkpoint saved
)

// command is one subcommand: it gets its own arguments and returns an error
// whose kind decides the exit status.
type command struct {
	run   func(args []string) error
	brief string
}

var commands = map[string]command{
	"train":   {runTrain, "train a model on text, saving checkpoints"},
	"sample":  {runSample, "generate text from a checkpoint"},
	"eval":    {runEval, "measure a checkpoint's loss on text"},
	"bench":   {runBench, "measure training and sampling speed on each backend"},
	"plot":    {runPlot, "draw the loss curves of a train -log file"},
	"inspect": {runInspect, "describe a checkpoint: configuration, vocabulary, shapes, progress"},
	"export":  {runExport, "write a checkpoint's model as safetensors"},
}

func main() {
	// OpenBLAS reads OPENBLAS_CORETYPE when it loads, before any Go code
	// runs: when it picked weaker kernels than this CPU has, the only fix is
	// a fresh process with the variable set (a no-op without -tags openblas).
	if err := kernels.ReexecWithCoretype(); err != nil {
		fmt.Fprintf(os.Stderr, "charrnn: %v\n", err)
	}
	os.Exit(run(os.Args[1:]))
}

func run(args []string) int {
	if len(args) == 0 || args[0] == "-h" || args[0] == "-help" || args[0] == "--help" || args[0] == "help" {
		usage()
		if len(args) == 0 {
			return exitBadInput
		}
		return exitOK
	}
	cmd, ok := commands[args[0]]
	if !ok {
		fmt.Fprintf(os.Stderr, "charrnn: unknown command %q (want one of %s)\n", args[0], strings.Join(commandNames(), ", "))
		return exitBadInput
	}
	err := cmd.run(args[1:])
	switch {
	case err == nil:
		return exitOK
	case errors.Is(err, errHelp):
		return exitOK
	}
	if !errors.Is(err, engine.ErrOtherRank) { // another rank of the job says why
		fmt.Fprintf(os.Stderr, "charrnn %s: %v\n", args[0], err)
	}
	var bad *badInputError
	switch {
	case errors.As(err, &bad):
		return exitBadInput
	case errors.Is(err, errInterrupted):
		return exitInterrupted
	}
	return exitFailure
}

func usage() {
	fmt.Fprintln(os.Stderr, "usage: charrnn COMMAND [flags]\n\ncommands:")
	for _, n := range commandNames() {
		fmt.Fprintf(os.Stderr, "  %-7s %s\n", n, commands[n].brief)
	}
	fmt.Fprintln(os.Stderr, "\nRun 'charrnn COMMAND -h' for a command's flags.")
}

func commandNames() []string {
	var names []string
	for n := range commands {
		names = append(names, n)
	}
	sort.Strings(names)
	return names
}

// badInputError marks an error as the user's: bad usage or bad input, exit
// status 2.
type badInputError struct{ err error }

func (e *badInputError) Error() string { return e.err.Error() }
func (e *badInputError) Unwrap() error { return e.err }

// badInput wraps err (if not nil) as the user's error.
func badInput(err error) error {
	if err == nil {
		return nil
	}
	return &badInputError{err}
}

// badInputf formats a new user error.
func badInputf(format string, args ...any) error { return badInput(fmt.Errorf(format, args...)) }

var (
	errHelp        = errors.New("help requested")
	errInterrupted = errors.New("interrupted")
)
