#!/usr/bin/env python3
"""Isolate what moves PyTorch's speed on compare.py's vanilla-RNN training workloads.

Each variant runs in its own child process (so flush-to-zero, thread counts and the BLAS
library cannot leak from one to the next) and changes one factor from a baseline:

  blas       which libblas.so.3 PyTorch's GEMMs land in: Debian's reference BLAS, or
             OpenBLAS (pthread build) with a given OPENBLAS_CORETYPE
  ftz        torch.set_flush_denormal(True): subnormal floats flushed to zero
  input      how the one-hot input is made: F.one_hot(ids).float() per step, a row lookup
             in a prebuilt identity matrix (eye[ids]), or the whole stream one-hot up front
  data       random ids (compare.py's synthetic stream) or real English text
  threads    torch.set_num_threads(n)
  foreach    the optimizer's foreach (multi-tensor) implementation on or off
  load       a busy-looping process started beside it on the other core
  clip       clip_grad_value_ per parameter, or none
  malloc     glibc's malloc as it comes; glibc told to keep freed memory
             (GLIBC_TUNABLES mmap_threshold and trim_threshold raised); jemalloc; tcmalloc

A child trains for --seconds and prints, per interval, the wall-clock and thread-CPU
chars/s, then the share of subnormal values in the gradients, the Adagrad state and the
hidden state, and the share of saturated hidden units (|h| > 0.999).

    /usr/bin/python3 bench/torch_factors.py --workload h512b1 --seconds 30
    /usr/bin/python3 bench/torch_factors.py --only blas=ref,ftz=1 --seconds 60

The report goes to stdout; each variant's command line is printed beside its figures.
"""

import argparse
import json
import os
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
BLAS_DIRS = {
    "ref": "/usr/lib/x86_64-linux-gnu/blas",
    "openblas": "/usr/lib/x86_64-linux-gnu/openblas-pthread",
}
TINY = 1.1754943508222875e-38  # smallest normal float32

# How bench/compare.py measured PyTorch up to this change.
BASELINE = {"blas": "openblas", "coretype": "Haswell", "malloc": "glibc", "ftz": 0,
            "input": "one_hot", "data": "random", "threads": 1, "foreach": 0, "load": 0,
            "clip": "value"}
# glibc keeps freed blocks instead of returning them to the system, so a step's
# gradient-sized buffers do not cost fresh pages (page faults) every step.
GLIBC_KEEP = "glibc.malloc.mmap_threshold=1073741824:glibc.malloc.trim_threshold=4294967296"
MALLOC_ENV = {
    "glibc": {},
    "keep": {"GLIBC_TUNABLES": GLIBC_KEEP},
    "jemalloc": {"LD_PRELOAD": "/usr/lib/x86_64-linux-gnu/libjemalloc.so.2"},
    "tcmalloc": {"LD_PRELOAD": "/usr/lib/x86_64-linux-gnu/libtcmalloc_minimal.so.4"},
}

KEEP = {"malloc": "keep"}
VARIANTS = [  # one factor against the baseline, then one against glibc keeping its memory
    {},
    {"malloc": "keep"},
    {"malloc": "jemalloc"},
    {"malloc": "tcmalloc"},
    {"ftz": 1},
    {"data": "text"},
    {"blas": "ref"},
    {"threads": 2},
    dict(KEEP),
    dict(KEEP, blas="ref"),
    dict(KEEP, coretype="auto"),
    dict(KEEP, coretype="SkylakeX"),
    dict(KEEP, ftz=1),
    dict(KEEP, input="eye"),
    dict(KEEP, input="prebuilt"),
    dict(KEEP, data="text"),
    dict(KEEP, foreach=1),
    dict(KEEP, clip="none"),
    dict(KEEP, threads=2),
    dict(KEEP, load=1),
]

SHAPES = {"tiny": (100, 25, 1), "h512b1": (512, 100, 1), "h512b32": (512, 100, 32)}
VOCAB = 65


def text_ids(path, vocab):
    """The bytes of path as ids: the vocab-1 most frequent bytes, the rest one shared id."""
    data = open(path, "rb").read()
    counts = sorted(set(data), key=lambda b: -data.count(bytes([b])))
    index = {b: i for i, b in enumerate(counts[:vocab - 1])}
    return [index.get(b, vocab - 1) for b in data]


def child(cfg):
    import torch
    nn, F = torch.nn, torch.nn.functional
    torch.set_num_threads(cfg["threads"])
    torch.set_flush_denormal(bool(cfg["ftz"]))
    hidden, seq, batch = SHAPES[cfg["workload"]]
    torch.manual_seed(1)
    if cfg["data"] == "random":
        ids = torch.randint(0, VOCAB, (batch, 1 << 16), generator=torch.Generator().manual_seed(1))
    else:
        flat = torch.tensor(text_ids(cfg["text"], VOCAB))
        per = flat.numel() // batch
        ids = flat[:per * batch].view(batch, per)
    stream_len = ids.shape[1]
    rnn = nn.RNN(VOCAB, hidden, nonlinearity="tanh")
    out = nn.Linear(hidden, VOCAB)
    params = list(rnn.parameters()) + list(out.parameters())
    opt = torch.optim.Adagrad(params, lr=0.1, foreach=bool(cfg["foreach"]))
    eye = torch.eye(VOCAB)
    prebuilt = eye[ids.t()] if cfg["input"] == "prebuilt" else None  # (L, B, vocab)
    h = torch.zeros(1, batch, hidden)
    pos = 0
    chars = batch * seq

    def step():
        nonlocal h, pos
        if pos + seq + 1 > stream_len:
            pos = 0
        window = ids[:, pos:pos + seq + 1].t()
        if cfg["input"] == "one_hot":
            x = F.one_hot(window[:-1], VOCAB).float()
        elif cfg["input"] == "eye":
            x = eye[window[:-1]]
        else:
            x = prebuilt[pos:pos + seq]
        hs, h_last = rnn(x, h)
        loss = F.cross_entropy(out(hs).view(-1, VOCAB), window[1:].reshape(-1),
                               reduction="sum") / batch
        opt.zero_grad(set_to_none=True)
        loss.backward()
        if cfg["clip"] == "value":
            nn.utils.clip_grad_value_(params, 5.0)
        opt.step()
        h = h_last.detach()
        pos += seq
        return hs

    import resource

    def faults():
        return resource.getrusage(resource.RUSAGE_SELF).ru_minflt

    step()
    intervals = []
    start = time.perf_counter()
    while time.perf_counter() - start < cfg["seconds"]:
        t0, c0, f0, n = time.perf_counter(), time.process_time(), faults(), 0
        while time.perf_counter() - t0 < cfg["interval"]:
            hs = step()
            n += 1
        wall, cpu = time.perf_counter() - t0, time.process_time() - c0
        intervals.append((round(time.perf_counter() - start, 1), n * chars / wall,
                          n * chars / max(cpu, 1e-9), (faults() - f0) / n))

    def subnormal_share(ts):
        ts = [t.detach().abs().flatten() for t in ts]
        total = sum(t.numel() for t in ts)
        sub = sum(int(((t > 0) & (t < TINY)).sum()) for t in ts)
        return sub / total

    with torch.no_grad():
        stats = {
            "grad_subnormal": subnormal_share([p.grad for p in params if p.grad is not None]),
            "adagrad_subnormal": subnormal_share([opt.state[p]["sum"] for p in params]),
            "h_subnormal": subnormal_share([hs]),
            "h_saturated": float((hs.abs() > 0.999).float().mean()),
            "one_minus_h2_below_1e-6": float(((1 - hs * hs) < 1e-6).float().mean()),
        }
    print(json.dumps({"intervals": intervals, "stats": stats}))


def busy_loop():
    """A process that keeps one core busy, as another session's job would."""
    return subprocess.Popen([sys.executable, "-c", "while True: pass"])


def run_variant(cfg):
    env = dict(os.environ)
    env.update(MALLOC_ENV[cfg["malloc"]])
    env["LD_LIBRARY_PATH"] = BLAS_DIRS[cfg["blas"]]
    env.pop("OPENBLAS_CORETYPE", None)
    if cfg["coretype"] != "auto":
        env["OPENBLAS_CORETYPE"] = cfg["coretype"]
    env["OPENBLAS_NUM_THREADS"] = str(cfg["threads"])
    load = busy_loop() if cfg["load"] else None
    try:
        proc = subprocess.run([sys.executable, os.path.abspath(__file__), "--child", json.dumps(cfg)],
                              env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    finally:
        if load is not None:
            load.kill()
            load.wait()
    if proc.returncode != 0:
        raise RuntimeError("variant %s failed: %s" % (cfg, proc.stderr.strip().splitlines()[-1:]))
    return json.loads(proc.stdout.strip().splitlines()[-1])


def describe(cfg):
    return ",".join("%s=%s" % (k, cfg[k]) for k in BASELINE if cfg[k] != BASELINE[k]) or "baseline"


def parse_variant(text):
    cfg = {}
    for item in text.split(","):
        key, _, val = item.partition("=")
        if key not in BASELINE:
            raise SystemExit("unknown factor %r (want one of %s)" % (key, ", ".join(BASELINE)))
        cfg[key] = type(BASELINE[key])(val)
    return cfg


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--workload", default="h512b1", choices=sorted(SHAPES))
    p.add_argument("--seconds", type=float, default=20)
    p.add_argument("--interval", type=float, default=5)
    p.add_argument("--text", default=os.path.join(HERE, "..", "README.md"),
                   help="the real text for data=text (default: the README)")
    p.add_argument("--only", action="append", default=[],
                   help="run this variant, e.g. blas=ref,ftz=1 (repeatable; default: all)")
    p.add_argument("--child", help=argparse.SUPPRESS)
    args = p.parse_args()
    if args.child:
        child(json.loads(args.child))
        return
    variants = [parse_variant(v) for v in args.only] if args.only else VARIANTS
    print("load average at start: %.2f %.2f %.2f" % os.getloadavg())
    print("chars/s: first and last interval (wall clock), last per CPU-second; faults: page faults per step")
    print("%-36s %8s %8s %8s %8s  %s" % ("variant", "first", "last", "last/CPU", "faults",
                                        "subnormal grad/adagrad/h, saturated h  [every interval]"))
    for v in variants:
        cfg = dict(BASELINE, **v)
        cfg.update(workload=args.workload, seconds=args.seconds, interval=args.interval,
                   text=os.path.abspath(args.text))
        r = run_variant(cfg)
        iv, s = r["intervals"], r["stats"]
        print("%-36s %8.0f %8.0f %8.0f %8.0f  %.2g / %.2g / %.2g, %.1f%%   [%s]" % (
            describe(cfg), iv[0][1], iv[-1][1], iv[-1][2], iv[-1][3], s["grad_subnormal"],
            s["adagrad_subnormal"], s["h_subnormal"], 100 * s["h_saturated"],
            " ".join("%.0f" % x[1] for x in iv)), flush=True)


if __name__ == "__main__":
    main()
