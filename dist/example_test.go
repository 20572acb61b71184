package dist_test

import (
	"log"

	"charrnn/dist"
)

// A data-parallel training loop: every rank computes gradients on its own
// streams, the sum over all ranks replaces them, every rank applies the same
// update, and the decision to stop is rank 0's alone.
func Example() {
	comm, err := dist.Init()
	if err != nil {
		log.Fatal(err)
	}
	defer comm.Close()
	if dist.MPICompiled && !dist.Launched() {
		log.Print("not started by mpirun: training as a single process")
	}
	grads := make([]float32, 1<<20) // the flat gradient slab
	stop := []int64{0}
	for step := 0; stop[0] == 0; step++ {
		// ... forward and backward over this rank's streams fill grads ...
		if err := comm.AllReduceSum32(grads); err != nil {
			log.Print(err)
			comm.Abort(1)
		}
		// ... scale by the total number of streams, clip, update ...
		if comm.Rank() == 0 && step == 99 {
			stop[0] = 1
		}
		if err := dist.BroadcastSlice(comm, stop, 0); err != nil {
			log.Print(err)
			comm.Abort(1)
		}
	}
}
