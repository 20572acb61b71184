#!/bin/sh
# The default-recipe search: train each candidate model for the same wall-clock budget on
# the English prose corpus (bench/corpus/build.sh) and measure its loss on the held-out
# last 10% of the bytes, as one sequential stream from a zero state (charrnn eval). Run it
# on an otherwise idle machine: the budget is wall-clock, as the user's is.
#
#   bench/recipe.sh CORPUS [BUDGET] [OUTDIR]          e.g. bench/recipe.sh /tmp/prose.txt 10m
#
# Prints one line per candidate: its flags, steps trained, chars/s, held-out nats/char.
# CANDIDATES (one per line, the flags of each) may be given in the environment.
set -eu
corpus=${1:?usage: bench/recipe.sh CORPUS [BUDGET] [OUTDIR]}
budget=${2:-10m}
out=${3:-$(mktemp -d)}
mkdir -p "$out"
here=$(cd "$(dirname "$0")/.." && pwd)
(cd "$here" && go build -o "$out/charrnn" ./cmd/charrnn)

# The held-out tail: the bytes from floor(0.9·size) on, as train -val-frac 0.1 holds out.
size=$(wc -c <"$corpus")
train=$((size * 9 / 10))
tail -c $((size - train)) "$corpus" >"$out/heldout.txt"
head -c $train "$corpus" >"$out/train.txt"

: "${CANDIDATES:=-cell rnn -layers 1 -hidden 512 -seq 100 -batch 32
-cell lstm -layers 1 -hidden 512 -seq 100 -batch 32
-cell lstm -layers 2 -hidden 256 -seq 100 -batch 32
-cell lstm -layers 2 -hidden 384 -seq 100 -batch 32
-cell lstm -layers 2 -hidden 512 -seq 100 -batch 32
-cell lstm -layers 2 -hidden 256 -seq 100 -batch 16
-cell lstm -layers 2 -hidden 256 -seq 64 -batch 32
-cell lstm -layers 3 -hidden 256 -seq 100 -batch 32
-cell gru -layers 2 -hidden 256 -seq 100 -batch 32
-cell lstm -layers 2 -hidden 256 -seq 100 -batch 32 -dropout 0.1
-cell lstm -layers 2 -hidden 256 -seq 100 -batch 32 -lr 0.004}"

printf '%-70s %8s %10s %10s\n' candidate steps chars/s held-out
i=0
echo "$CANDIDATES" | while IFS= read -r flags; do
	[ -n "$flags" ] || continue
	i=$((i + 1))
	ckpt="$out/c$i.ckpt"
	# shellcheck disable=SC2086 # the candidate's flags are words
	"$out/charrnn" train -data "$out/train.txt" -time "$budget" -checkpoint "$ckpt" -force \
		-sample-every 0 -save-every 0 -report-every 100 -log "$out/c$i.jsonl" $flags >/dev/null 2>"$out/c$i.err"
	steps=$(tail -n 1 "$out/c$i.jsonl" | sed 's/.*"step":\([0-9]*\).*/\1/')
	rate=$(tail -n 3 "$out/c$i.jsonl" | sed 's/.*"chars_per_sec":\([0-9.]*\).*/\1/' | sort -n | tail -n 1)
	loss=$("$out/charrnn" eval -checkpoint "$ckpt" -data "$out/heldout.txt" -json | sed 's/.*"loss_nats":\([0-9.]*\).*/\1/')
	printf '%-70s %8s %10.0f %10.4f\n' "$flags" "$steps" "$rate" "$loss"
done
