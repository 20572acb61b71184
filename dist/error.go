package dist

// Error is a failed MPI call: the call, MPI's error code and MPI's own text
// for it (MPI_Error_string). The MPI implementation sets the error handler
// MPI_ERRORS_RETURN, so MPI reports failures this way instead of aborting.
type Error struct {
	Call string // e.g. "MPI_Bcast"
	Code int    // MPI's error code
	Text string // MPI's description, e.g. "MPI_ERR_ROOT: invalid root"
}

func (e *Error) Error() string { return e.Call + ": " + e.Text }
