package dist

import "os"

// launcherEnv lists the variables by which an MPI launcher tells a process
// that it is one rank of a job: Open MPI's mpirun/mpiexec set
// OMPI_COMM_WORLD_SIZE; PMIx launchers, such as Slurm's srun --mpi=pmix,
// set PMIX_RANK.
var launcherEnv = []string{"OMPI_COMM_WORLD_SIZE", "PMIX_RANK"}

// Launched reports whether an MPI launcher started this process. Under the
// mpi build tag, Init uses MPI exactly when it does.
func Launched() bool {
	for _, name := range launcherEnv {
		if _, ok := os.LookupEnv(name); ok {
			return true
		}
	}
	return false
}
