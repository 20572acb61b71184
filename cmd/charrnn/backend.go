package main

import (
	"os"

	"charrnn/kernels"
)

// chooseBackend resolves -backend (or CHARRNN_BACKEND when the flag is
// "auto") to a kernel backend: "auto" is the best one this CPU supports.
func chooseBackend(name string) (kernels.Backend, error) {
	if name == "auto" {
		if env := os.Getenv("CHARRNN_BACKEND"); env != "" && env != "auto" {
			b, err := kernels.Lookup(env)
			if err != nil {
				return nil, badInputf("CHARRNN_BACKEND: %v", err)
			}
			return b, nil
		}
		return kernels.Best(), nil
	}
	b, err := kernels.Lookup(name)
	if err != nil {
		return nil, badInputf("-backend: %v", err)
	}
	return b, nil
}
