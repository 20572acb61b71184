//go:build race

package kernels

// raceEnabled trims repeated work from tests under the race detector, which
// runs them several times slower.
const raceEnabled = true
