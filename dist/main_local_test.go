//go:build !mpi

package dist

import (
	"os"
	"testing"
)

func TestMain(m *testing.M) {
	testComms = []namedComm{{"local", Local{}}}
	os.Exit(m.Run())
}

func TestInitIsLocal(t *testing.T) {
	c, err := Init()
	if err != nil {
		t.Fatal(err)
	}
	if _, ok := c.(Local); !ok || MPICompiled {
		t.Fatalf("Init without the mpi tag returned %T (MPICompiled %v), want Local", c, MPICompiled)
	}
}
