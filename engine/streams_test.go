package engine

import (
	"fmt"
	"io"
	"math"
	"testing"

	"charrnn/kernels"
)

// TestStreamSplitSameRun pins that sharing a batch's streams between two
// cores changes nothing: a run on a two-core Parallel backend gives bit for
// bit the losses and parameters of a run on the backend alone (on OpenBLAS,
// nearly: see below). (The models
// are small enough that Parallel splits no SumSquares pass, whose blocks
// add up in another order than one pass does.)
func TestStreamSplitSameRun(t *testing.T) {
	corpus, vocab := writeCorpus(t, pairsText(20000, 6)+"the quick brown fox")
	for _, k := range kernels.Supported() {
		// H=400 is split at B=2 only in mixed precision, whose products
		// read the weights in bfloat16, half the bytes; at B=32 in
		// float32 too, for the number of streams.
		for _, c := range []struct {
			h, b int
			p    Precision
		}{{24, 2, FP32}, {24, 5, FP32}, {100, 3, FP32}, {100, 4, FP32}, {24, 3, BF16}, {400, 2, BF16}, {400, 32, FP32}} {
			if _, ok := kernels.BF16Of(k); c.p == BF16 && !ok {
				continue
			}
			t.Run(fmt.Sprintf("%s/H=%d/B=%d/%s", k.Name(), c.h, c.b, c.p), func(t *testing.T) {
				if !sharesStreams(c.h*c.h*c.p.weightBytes(), c.b) {
					t.Fatalf("H=%d B=%d in %s is not split by streams", c.h, c.b, c.p)
				}
				steps := 12
				if k.Name() == "openblas" {
					steps = 1
				}
				run := func(k kernels.Backend) ([]float64, []float32) {
					cfg := TrainConfig{Model: rnnModel(c.h), Seq: 20, Batch: c.b, Optimizer: "adagrad", LR: 0.1, Clip: Clip{Mode: "norm", Limit: 5}, Seed: 3, Precision: c.p}
					if c.h > 100 {
						// Large enough for Parallel to split the norm's
						// SumSquares (see above): clip by value instead.
						cfg.Clip.Mode = "value"
					}
					tr, err := NewTrainer(cfg, k, corpus, vocab)
					if err != nil {
						t.Fatal(err)
					}
					var losses []float64
					for range steps {
						r, err := tr.TrainStep()
						if err != nil {
							t.Fatal(err)
						}
						losses = append(losses, r.Loss)
					}
					return losses, tr.Model.Params
				}
				l1, p1 := run(k)
				two := kernels.Parallel(k, 2)
				defer two.(io.Closer).Close()
				l2, p2 := run(two)
				// OpenBLAS may round a row differently depending on how
				// many rows one call has; there one step agrees to
				// rounding (later steps amplify the difference). Every
				// other backend sums each row the same way.
				lossTol, paramTol := 0.0, 0.0
				if k.Name() == "openblas" {
					lossTol, paramTol = 1e-5, 1e-5
				}
				near := func(a, b, tol float64) bool { return math.Abs(a-b) <= tol*math.Max(1, math.Abs(a)) }
				for i := range l1 {
					if !near(l1[i], l2[i], lossTol) {
						t.Fatalf("step %d: loss %v alone, %v on two cores", i+1, l1[i], l2[i])
					}
				}
				for i := range p1 {
					same := math.Float32bits(p1[i]) == math.Float32bits(p2[i])
					if !same && !(paramTol > 0 && near(float64(p1[i]), float64(p2[i]), paramTol)) {
						t.Fatalf("parameter %d: %v alone, %v on two cores", i, p1[i], p2[i])
					}
				}
			})
		}
	}
}
