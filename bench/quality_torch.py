#!/usr/bin/env python3
"""PyTorch's held-out loss on the prose corpus: a reference for charrnn's quality targets.

Trains PyTorch `nn.LSTM` (or `nn.GRU`, `nn.RNN`) + `nn.Linear` on the first 90% of the bytes
of a corpus (bench/corpus/build.sh) for a fixed time budget, then reports the exact
sequential loss on the last 10%: one stream from a zero state through every held-out byte,
nats per predicted character. The vocabulary is the corpus's distinct bytes (as charrnn's
byte vocabulary). Input is one-hot (a row lookup in an identity matrix), training is truncated
BPTT over B contiguous streams with the state carried, Adam, gradients clipped to norm CLIP.
Evaluation time is not counted in the budget. The budget is the process's CPU time by
default (--clock cpu): with one thread on a quiet machine that is the wall-clock time, and on
a shared machine it is still the compute the model got; --clock wall counts wall time.
PyTorch runs with the settings of bench/torch_workloads.py (glibc keeping freed memory, BLAS
threads = --threads, OpenBLAS's own choice of kernels).

    bench/corpus/build.sh /tmp/prose.txt
    /usr/bin/python3 bench/quality_torch.py --corpus /tmp/prose.txt --layers 2 --hidden 256

Progress goes to stderr; the last line on stdout is one JSON object with the result.
"""

import argparse
import json
import math
import os
import sys
import time

import torch_workloads


def log(msg):
    print(msg, file=sys.stderr, flush=True)


def parse_args(argv):
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--corpus", required=True, help="the text (bench/corpus/build.sh)")
    p.add_argument("--cell", default="lstm", choices=["lstm", "gru", "rnn"])
    p.add_argument("--layers", type=int, default=2)
    p.add_argument("--hidden", type=int, default=256)
    p.add_argument("--seq", type=int, default=100)
    p.add_argument("--batch", type=int, default=32)
    p.add_argument("--lr", type=float, default=2e-3)
    p.add_argument("--clip", type=float, default=5.0, help="gradient norm limit")
    p.add_argument("--minutes", type=float, default=10.0, help="training budget")
    p.add_argument("--clock", choices=["cpu", "wall"], default="cpu",
                   help="what the budget counts: this process's CPU time or wall time")
    p.add_argument("--eval-every", type=float, default=5.0,
                   help="minutes between held-out evaluations (not counted in the budget)")
    p.add_argument("--threads", type=int, default=1)
    p.add_argument("--seed", type=int, default=1)
    p.add_argument("--holdout", type=float, default=0.1, help="fraction held out at the end")
    args = p.parse_args(argv)
    for name in ("layers", "hidden", "seq", "batch", "threads"):
        if getattr(args, name) < 1:
            p.error("--%s must be at least 1" % name)
    if not 0 < args.holdout < 1:
        p.error("--holdout must be in (0, 1)")
    return args


def split(data, holdout):
    """First (1-holdout) of the bytes train, the rest is held out."""
    cut = int(len(data) * (1 - holdout))
    return data[:cut], data[cut:]


class Model:
    def __init__(self, torch, cell, vocab, hidden, layers):
        nn = torch.nn
        kind = {"lstm": nn.LSTM, "gru": nn.GRU, "rnn": nn.RNN}[cell]
        self.torch, self.cell, self.vocab = torch, cell, vocab
        self.rnn = kind(vocab, hidden, num_layers=layers)
        self.out = nn.Linear(hidden, vocab)
        self.eye = torch.eye(vocab)
        self.shape = (layers, hidden)

    def params(self):
        return list(self.rnn.parameters()) + list(self.out.parameters())

    def zero_state(self, batch):
        z = self.torch.zeros(self.shape[0], batch, self.shape[1])
        return (z, z.clone()) if self.cell == "lstm" else z

    def loss(self, x_ids, y_ids, state):
        """Summed cross-entropy of a (T, B) window, and the state after it."""
        hs, state = self.rnn(self.eye[x_ids], state)
        logits = self.out(hs)
        loss = self.torch.nn.functional.cross_entropy(
            logits.view(-1, self.vocab), y_ids.reshape(-1), reduction="sum")
        return loss, state


def detach(state):
    return tuple(s.detach() for s in state) if isinstance(state, tuple) else state.detach()


def heldout_loss(torch, model, ids, chunk=4096):
    """Nats per character over ids, one stream from a zero state, every transition counted."""
    state, total = model.zero_state(1), 0.0
    with torch.inference_mode():
        for start in range(0, len(ids) - 1, chunk):
            x = ids[start:start + chunk + 1]
            loss, state = model.loss(x[:-1].view(-1, 1), x[1:].view(-1, 1), state)
            total += float(loss)
    return total / (len(ids) - 1)


def main(argv=None):
    argv = sys.argv[1:] if argv is None else argv
    args = parse_args(argv)
    torch_workloads.reexec_with_env(args.threads, __file__, argv)
    try:
        import torch
    except ImportError:
        log("PyTorch not installed: apt-get install -y python3-torch, then run with /usr/bin/python3")
        return 1
    torch.set_num_threads(args.threads)
    torch.manual_seed(args.seed)
    try:
        with open(args.corpus, "rb") as f:
            data = f.read()
    except OSError as e:
        log("read corpus: %s" % e)
        return 1
    if len(data) < 10 * args.seq * args.batch:
        log("corpus %s: %d bytes is too small for B=%d T=%d" % (args.corpus, len(data), args.batch, args.seq))
        return 1
    symbols = sorted(set(data))
    index = {b: i for i, b in enumerate(symbols)}
    train_bytes, held_bytes = split(data, args.holdout)
    train = torch.tensor([index[b] for b in train_bytes])
    held = torch.tensor([index[b] for b in held_bytes])
    vocab = len(symbols)
    log("corpus %s: %d bytes, vocabulary %d; train %d, held out %d"
        % (args.corpus, len(data), vocab, len(train), len(held)))

    model = Model(torch, args.cell, vocab, args.hidden, args.layers)
    params = model.params()
    opt = torch.optim.Adam(params, lr=args.lr)
    per = len(train) // args.batch  # B contiguous streams over the training bytes
    streams = train[:per * args.batch].view(args.batch, per).t().contiguous()  # (per, B)
    state, pos, steps, epoch_chars = model.zero_state(args.batch), 0, 0, 0
    budget = args.minutes * 60
    trained, evals, smooth = 0.0, [], None
    next_eval = args.eval_every * 60
    clock = time.process_time if args.clock == "cpu" else time.perf_counter
    wall0 = time.perf_counter()
    while trained < budget:
        t0 = clock()
        if pos + args.seq + 1 > per:
            pos, state = 0, model.zero_state(args.batch)
        window = streams[pos:pos + args.seq + 1]
        loss, state = model.loss(window[:-1], window[1:], state)
        loss = loss / (args.seq * args.batch)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(params, args.clip)
        opt.step()
        state = detach(state)
        pos += args.seq
        steps += 1
        epoch_chars += args.seq * args.batch
        smooth = float(loss) if smooth is None else 0.99 * smooth + 0.01 * float(loss)
        trained += clock() - t0
        if trained >= next_eval or trained >= budget:
            e0 = time.perf_counter()
            held_loss = heldout_loss(torch, model, held)
            evals.append({"minutes": round(trained / 60, 2), "steps": steps,
                          "train_loss": round(smooth, 4), "heldout_loss": round(held_loss, 4)})
            log("%5.1f min (%s), step %d, %.2f epochs: train %.4f, held out %.4f nats/char "
                "(eval %.0f s)" % (trained / 60, args.clock, steps, epoch_chars / len(train),
                                   smooth, held_loss, time.perf_counter() - e0))
            next_eval += args.eval_every * 60
    result = {
        "cell": args.cell, "layers": args.layers, "hidden": args.hidden, "seq": args.seq,
        "batch": args.batch, "lr": args.lr, "clip": args.clip, "threads": args.threads,
        "minutes": args.minutes, "clock": args.clock, "steps": steps,
        "train_chars_per_sec": round(epoch_chars / trained),
        "wall_minutes": round((time.perf_counter() - wall0) / 60, 2),
        "epochs": round(epoch_chars / len(train), 3), "vocab": vocab,
        "heldout_loss": evals[-1]["heldout_loss"], "heldout_bits": round(evals[-1]["heldout_loss"] / math.log(2), 4),
        "evals": evals, "torch": torch.__version__, "blas": torch_workloads.blas_in_use(),
        "load_average_end": [round(x, 2) for x in os.getloadavg()],
    }
    print(json.dumps(result))
    return 0


if __name__ == "__main__":
    sys.exit(main())
