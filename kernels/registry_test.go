package kernels

import "testing"

func TestBackendsRegistered(t *testing.T) {
	if _, err := Lookup("generic"); err != nil {
		t.Fatal(err)
	}
	if _, err := Lookup("no-such-backend"); err == nil {
		t.Fatal("Lookup of an unknown backend succeeded")
	}
	if Best() == nil || Best().Name() != Supported()[0].Name() {
		t.Fatal("Best is not the first supported backend")
	}
	t.Logf("compiled in: %v; supported here: %v", Names(), supportedNames())
}
