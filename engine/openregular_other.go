//go:build !unix

package engine

// openNonblock is not needed where opening does not wait for a pipe's
// other end.
const openNonblock = 0
