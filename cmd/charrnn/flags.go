package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
)

// commandFlags is one command's flag set. It reports errors instead of
// exiting, so every bad flag becomes one clear line and exit status 2.
type commandFlags struct {
	*flag.FlagSet
	synopsis string
}

func newFlagSet(name, synopsis string) *commandFlags {
	fs := flag.NewFlagSet("charrnn "+name, flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	// The flag package calls Usage on every parse error; parse prints the
	// usage only for -h, so an error stays one line.
	fs.Usage = func() {}
	return &commandFlags{fs, synopsis}
}

// parse parses args, turning -h into errHelp (after printing the usage)
// and anything else wrong into a bad-input error that points at -h.
func (fs *commandFlags) parse(args []string) error {
	err := fs.Parse(args)
	switch {
	case errors.Is(err, flag.ErrHelp):
		fmt.Fprintf(os.Stderr, "usage: %s %s\n\nflags:\n", fs.Name(), fs.synopsis)
		fs.SetOutput(os.Stderr)
		fs.PrintDefaults()
		return errHelp
	case err != nil:
		return badInputf("%v (see '%s -h')", err, fs.Name())
	case fs.NArg() > 0:
		return badInputf("unexpected argument %q (see '%s -h')", fs.Arg(0), fs.Name())
	}
	return nil
}

// isSet reports whether the flag was given on the command line.
func (fs *commandFlags) isSet(name string) bool {
	set := false
	fs.Visit(func(f *flag.Flag) { set = set || f.Name == name })
	return set
}
