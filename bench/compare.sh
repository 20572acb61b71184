#!/bin/sh
# Build charrnn and compare it with PyTorch and numpy on the standard workloads, printing
# each figure with the command that measures it alone.
#   bench/compare.sh [compare.py options]    e.g. bench/compare.sh --duration 8 --markdown
#   bench/compare.sh --workloads all         also the gated-cell workloads (issue 11)
# Needs Go, and for the other columns Debian's packages for /usr/bin/python3:
#   apt-get install -y python3-torch python3-numpy libopenblas0-pthread
# (without an OpenBLAS, Debian's PyTorch and numpy run on the reference BLAS, many times
# slower: compare.py prints the BLAS each one loads). Override the binary and interpreter
# with CHARRNN_BIN=... and PYTHON=...
set -eu
root=$(cd "$(dirname "$0")/.." && pwd)
bin=${CHARRNN_BIN:-/tmp/charrnn}
python=${PYTHON:-/usr/bin/python3}
if [ ! -d "$root/cmd/charrnn" ]; then
	# compare.py says that charrnn is skipped and measures the others.
	exec "$python" "$root/bench/compare.py" "$@"
fi
echo "building: go build -o $bin ./cmd/charrnn" >&2
(cd "$root" && go build -o "$bin" ./cmd/charrnn)
exec "$python" "$root/bench/compare.py" --charrnn "$bin" "$@"
