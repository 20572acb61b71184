#!/usr/bin/env python3
"""One PyTorch measurement of a standard charrnn workload: chars/s, as JSON on stdout.

bench/compare.py runs this file once per workload and thread count, in a process of its own,
and prints that exact command beside the figure it gives. The script sets the environment
below itself (it re-executes itself with it), so the command alone reproduces the figure.

What it measures: the model and step a competent PyTorch user writes, in fp32.
  train   `nn.RNN` (tanh) / `nn.LSTM` / `nn.GRU` (vocab -> H, `layers` layers) + `nn.Linear`
          (H -> vocab); input one-hot, made by a row lookup in an identity matrix; loss
          cross-entropy summed over time, averaged over the B streams; Adagrad lr 0.1 as
          charrnn's bench (`foreach` multi-tensor update); gradients clipped elementwise to
          +-5; truncated BPTT with the state carried (detached) from window to window.
          Data: B streams of random ids (the same for every system, and what charrnn bench
          trains on). chars/s = B*T*steps / seconds, after a warm-up.
  sample  the same modules, one character at a time under `torch.inference_mode()`: the
          step, softmax, `torch.multinomial`, the state carried.
Settings, each measured in bench/torch_factors.py (bench/RESULTS.md has the figures):
  - torch.set_num_threads(n), OMP_NUM_THREADS=n and OPENBLAS_NUM_THREADS=n: PyTorch's
    GEMMs go to the system BLAS (Debian's python3-torch), whose threads torch does not set.
  - GLIBC_TUNABLES keeping freed memory in the process: without it glibc hands each step's
    MB-sized gradient buffers back to the kernel and faults fresh pages in the next step.
  - OPENBLAS_CORETYPE unset (--openblas-core to force one): OpenBLAS picks its kernels for
    this CPU, as it does for anyone who has not set the variable. These machines preset
    it to Haswell (AVX2), whose GEMMs PyTorch runs slower than OpenBLAS's own choice.
  - torch.set_flush_denormal(True): subnormal floats flushed to zero.
"""

import argparse
import json
import os
import sys
import time

VOCAB = 65
SEED = 1
STREAM_LEN = 1 << 16  # random ids per stream; windows wrap around
SAMPLE_CHUNK = 100  # characters sampled between two clock reads
CLIP = 5.0
LR = 0.1

# glibc keeps freed blocks instead of unmapping or trimming them (see the docstring).
GLIBC_TUNABLES = "glibc.malloc.mmap_threshold=1073741824:glibc.malloc.trim_threshold=4294967296"


def child_env(threads, openblas_core=None):
    """The variables a measurement runs with; None means unset."""
    return [("GLIBC_TUNABLES", GLIBC_TUNABLES), ("OMP_NUM_THREADS", str(threads)),
            ("OPENBLAS_NUM_THREADS", str(threads)), ("OPENBLAS_CORETYPE", openblas_core)]


def reexec_with_env(threads, script, argv, openblas_core=None):
    """Start script again with child_env(...) unless this process already has it.

    These variables are read when the C libraries start, so setting them from Python is
    too late: the process has to start again with them."""
    want = dict(child_env(threads, openblas_core))
    if all(os.environ.get(k) == v for k, v in want.items()):
        return
    env = {k: v for k, v in os.environ.items() if k not in want}
    env.update({k: v for k, v in want.items() if v is not None})
    os.execve(sys.executable, [sys.executable, os.path.abspath(script)] + argv, env)


class Net:
    """The recurrent modules, the output layer and a one-hot row lookup."""

    def __init__(self, torch, cell, layers, hidden):
        nn = torch.nn
        if cell == "rnn":
            self.rnn = nn.RNN(VOCAB, hidden, num_layers=layers, nonlinearity="tanh")
        elif cell == "lstm":
            self.rnn = nn.LSTM(VOCAB, hidden, num_layers=layers)
        elif cell == "gru":
            self.rnn = nn.GRU(VOCAB, hidden, num_layers=layers)
        else:
            raise ValueError("unknown cell %r (want rnn, lstm or gru)" % cell)
        self.torch, self.cell, self.layers, self.hidden = torch, cell, layers, hidden
        self.out = nn.Linear(hidden, VOCAB)
        self.eye = torch.eye(VOCAB)

    def params(self):
        return list(self.rnn.parameters()) + list(self.out.parameters())

    def zero_state(self, batch):
        z = self.torch.zeros(self.layers, batch, self.hidden)
        return (z, z.clone()) if self.cell == "lstm" else z

    def loss(self, window, state):
        """Cross-entropy of a (T+1, B) window of ids, summed over time and averaged over B."""
        hs, state = self.rnn(self.eye[window[:-1]], state)
        logits = self.out(hs)
        loss = self.torch.nn.functional.cross_entropy(
            logits.view(-1, VOCAB), window[1:].reshape(-1), reduction="sum")
        return loss / window.shape[1], state


def detach(state):
    return tuple(s.detach() for s in state) if isinstance(state, tuple) else state.detach()


def train_step_fn(torch, net, seq, batch):
    """A function running one training step on the next window of random ids."""
    gen = torch.Generator().manual_seed(SEED)
    ids = torch.randint(0, VOCAB, (STREAM_LEN, batch), generator=gen)  # time-major
    params = net.params()
    opt = torch.optim.Adagrad(params, lr=LR, foreach=True)
    state = {"s": net.zero_state(batch), "pos": 0}

    def step():
        pos = state["pos"]
        if pos + seq + 1 > STREAM_LEN:
            pos = 0
        loss, s = net.loss(ids[pos:pos + seq + 1], state["s"])
        opt.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_value_(params, CLIP)
        opt.step()
        state["s"], state["pos"] = detach(s), pos + seq
        return loss

    return step


def sample_step_fn(torch, net):
    """A function sampling SAMPLE_CHUNK characters, one at a time, carrying the state."""
    state = {"s": net.zero_state(1), "ix": torch.zeros(1, 1, dtype=torch.long)}

    def step():
        s, ix = state["s"], state["ix"]
        with torch.inference_mode():
            for _ in range(SAMPLE_CHUNK):
                hs, s = net.rnn(net.eye[ix], s)
                p = torch.softmax(net.out(hs[0, 0]), dim=0)
                ix = torch.multinomial(p, 1).view(1, 1)
        state["s"], state["ix"] = s, ix

    return step


def timed(step, chars_per_step, duration, warmup):
    """Run step() for `warmup` seconds untimed, then for `duration`; wall and CPU figures."""
    end = time.perf_counter() + warmup
    step()
    while time.perf_counter() < end:
        step()
    steps = 0
    cpu0, wall0 = time.process_time(), time.perf_counter()
    while True:
        step()
        steps += 1
        wall = time.perf_counter() - wall0
        if wall >= duration:
            break
    cpu = time.process_time() - cpu0
    chars = chars_per_step * steps
    return {"chars_per_sec": chars / wall, "chars_per_cpu_sec": chars / max(cpu, 1e-9),
            "steps": steps, "wall_sec": wall, "cpu_sec": cpu}


def measure(torch, kind, cell, layers, hidden, seq, batch, duration, warmup):
    torch.manual_seed(SEED)
    net = Net(torch, cell, layers, hidden)
    if kind == "sample":
        return timed(sample_step_fn(torch, net), SAMPLE_CHUNK, duration, warmup)
    return timed(train_step_fn(torch, net, seq, batch), seq * batch, duration, warmup)


def blas_in_use():
    """The BLAS libraries mapped into this process, and OpenBLAS's core if it is one."""
    import ctypes
    libs = []
    with open("/proc/self/maps") as f:
        for line in f:
            path = line.split()[-1]
            name = os.path.basename(path).lower()
            if path.startswith("/") and ("blas" in name or "mkl" in name) and path not in libs:
                libs.append(path)
    desc = ", ".join(libs) or "no BLAS library mapped"
    for path in libs:
        try:
            get = ctypes.CDLL(path).openblas_get_corename
        except (OSError, AttributeError):
            continue
        get.restype = ctypes.c_char_p
        desc += " (OpenBLAS core %s)" % get().decode()
        break
    return desc


def describe(torch):
    torch.zeros(2, 2) @ torch.zeros(2, 2)  # make sure the BLAS is loaded
    return "%s; BLAS %s; GLIBC_TUNABLES=%s" % (torch.__version__, blas_in_use(),
                                                os.environ.get("GLIBC_TUNABLES", ""))


def parse_args(argv):
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--kind", choices=["train", "sample"], default="train")
    p.add_argument("--cell", choices=["rnn", "lstm", "gru"], default="rnn")
    p.add_argument("--layers", type=int, default=1)
    p.add_argument("--hidden", type=int, default=512)
    p.add_argument("--seq", type=int, default=100)
    p.add_argument("--batch", type=int, default=1)
    p.add_argument("--threads", type=int, default=1)
    p.add_argument("--duration", type=float, default=10.0, help="timed seconds")
    p.add_argument("--warmup", type=float, default=2.0, help="untimed seconds first")
    p.add_argument("--openblas-core", metavar="NAME",
                   help="set OPENBLAS_CORETYPE=NAME (default: unset, OpenBLAS's own choice)")
    p.add_argument("--as-is", action="store_true",
                   help="run with the environment as it is (none of the variables above)")
    p.add_argument("--describe", action="store_true",
                   help="print PyTorch's version and the BLAS it loads, and exit")
    args = p.parse_args(argv)
    if args.describe:
        return args
    for name in ("layers", "hidden", "seq", "batch", "threads"):
        if getattr(args, name) < 1:
            p.error("--%s must be at least 1, got %d" % (name, getattr(args, name)))
    if args.kind == "sample" and args.batch != 1:
        p.error("sampling is one stream: --batch must be 1")
    return args


def main(argv=None):
    argv = sys.argv[1:] if argv is None else argv
    args = parse_args(argv)
    if not args.as_is:
        reexec_with_env(args.threads, __file__, argv, args.openblas_core)
    try:
        import torch
    except ImportError:
        print("PyTorch not installed: apt-get install -y python3-torch, then run with "
              "/usr/bin/python3", file=sys.stderr)
        return 1
    if args.describe:
        print(describe(torch))
        return 0
    torch.set_num_threads(args.threads)
    torch.set_flush_denormal(True)
    r = measure(torch, args.kind, args.cell, args.layers, args.hidden, args.seq, args.batch,
                args.duration, args.warmup)
    r.update(torch=torch.__version__, threads=torch.get_num_threads(),
             **{k.lower(): os.environ.get(k, "") for k, _ in child_env(args.threads)})
    r["blas"] = blas_in_use()
    print(json.dumps(r))
    return 0


if __name__ == "__main__":
    sys.exit(main())
