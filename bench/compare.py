#!/usr/bin/env python3
"""Measure the standard charrnn workloads with PyTorch, numpy and charrnn, side by side.

Systems (each one is optional; a missing one is skipped with a line saying how to get it):
  PyTorch  nn.RNN (tanh, one layer) + nn.Linear + cross-entropy, Adagrad lr 0.1, fp32,
           one thread, truncated BPTT with the hidden state carried (detached).
  numpy    the notebook's algorithm (seed/rnn-notebook.txt, fixed): one-hot vectors, np.dot,
           per-timestep forward and backward, elementwise clip to +-5, Adagrad as in
           min-char-rnn. B=1 only. float64 by default, as the notebook.
  charrnn  `charrnn bench ... -json`, reading train_chars_per_sec / sample_chars_per_sec.

Workloads (DESIGN.md): tiny H100 T25 B1, h512b1 H512 T100 B1, h512b32 H512 T100 B32,
sample512 H512 sampling one character at a time. Vocabulary 65, synthetic random ids, so every
system does the same work. Train chars/s = B*T*steps/seconds, after a warm-up.

Progress goes to stderr, the report to stdout (`--markdown` for bench/RESULTS.md).
Run it with /usr/bin/python3 (Debian's python3-torch and python3-numpy live there);
bench/compare.sh builds charrnn and does that.
"""

import argparse
import json
import math
import os
import platform
import shutil
import subprocess
import sys
import time
from collections import namedtuple

VOCAB = 65
SEED = 1
STREAM_LEN = 1 << 16  # synthetic ids per stream; windows wrap around
SAMPLE_CHUNK = 100  # characters sampled between two clock reads
CLIP = 5.0
LR = 0.1

Workload = namedtuple("Workload", "name hidden seq batch kind")  # kind: "train" or "sample"

WORKLOADS = {
    "tiny": Workload("tiny", 100, 25, 1, "train"),
    "tiny-sample": Workload("tiny-sample", 100, 25, 1, "sample"),  # tiny's model, generating
    "h512b1": Workload("h512b1", 512, 100, 1, "train"),
    "h512b32": Workload("h512b32", 512, 100, 32, "train"),
    "sample512": Workload("sample512", 512, 100, 1, "sample"),
}

# A measurement: chars/s, or None with a note saying why it is missing.
Result = namedtuple("Result", "rate note")

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def log(msg):
    print(msg, file=sys.stderr, flush=True)


# ---------------------------------------------------------------------------------------------
# Timing


def timed_rate(step, chars_per_step, duration, warmup):
    """Run step() for `warmup` seconds untimed, then for `duration` seconds; return chars/s."""
    end = time.perf_counter() + warmup
    step()
    while time.perf_counter() < end:
        step()
    steps = 0
    cpu_start, start = time.process_time(), time.perf_counter()
    while True:
        step()
        steps += 1
        elapsed = time.perf_counter() - start
        if elapsed >= duration:
            break
    cpu = time.process_time() - cpu_start
    # On a shared machine the CPU share says how much the wall-clock figure is to be trusted.
    log("  %d steps, %.2f s wall, %.2f s CPU (%.0f%% of a core): %.0f chars/s, %.0f chars/CPU-s"
        % (steps, elapsed, cpu, 100 * cpu / elapsed, chars_per_step * steps / elapsed,
           chars_per_step * steps / max(cpu, 1e-9)))
    return chars_per_step * steps / elapsed


def window_cursor(seq):
    """Yield the start of each window of seq+1 ids in a stream of STREAM_LEN ids."""
    pos = 0
    while True:
        if pos + seq + 1 > STREAM_LEN:
            pos = 0
        yield pos
        pos += seq


# ---------------------------------------------------------------------------------------------
# Optional libraries


def import_torch():
    try:
        import torch
    except ImportError:
        return None
    torch.set_num_threads(1)
    return torch


def import_numpy():
    try:
        import numpy
    except ImportError:
        return None
    return numpy


TORCH_MISSING = ("PyTorch not installed: apt-get install -y python3-torch, "
                 "then run with /usr/bin/python3")
NUMPY_MISSING = ("numpy not installed: apt-get install -y python3-numpy, "
                 "then run with /usr/bin/python3")


# ---------------------------------------------------------------------------------------------
# System 1: PyTorch


def torch_train(torch, wl, duration, warmup):
    """nn.RNN + nn.Linear + cross-entropy, Adagrad, truncated BPTT carrying h; chars/s."""
    nn, F = torch.nn, torch.nn.functional
    torch.manual_seed(SEED)
    gen = torch.Generator().manual_seed(SEED)
    ids = torch.randint(0, VOCAB, (wl.batch, STREAM_LEN), generator=gen)
    rnn = nn.RNN(VOCAB, wl.hidden, num_layers=1, nonlinearity="tanh")
    out = nn.Linear(wl.hidden, VOCAB)
    params = list(rnn.parameters()) + list(out.parameters())
    opt = torch.optim.Adagrad(params, lr=LR)
    cursor = window_cursor(wl.seq)
    state = {"h": torch.zeros(1, wl.batch, wl.hidden)}

    def step():
        pos = next(cursor)
        window = ids[:, pos:pos + wl.seq + 1].t()  # (T+1, B)
        x = F.one_hot(window[:-1], VOCAB).float()  # (T, B, vocab)
        hs, h_last = rnn(x, state["h"])
        logits = out(hs)  # (T, B, vocab)
        loss = F.cross_entropy(logits.reshape(-1, VOCAB), window[1:].reshape(-1),
                               reduction="sum") / wl.batch
        opt.zero_grad(set_to_none=True)
        loss.backward()
        nn.utils.clip_grad_value_(params, CLIP)
        opt.step()
        state["h"] = h_last.detach()

    return timed_rate(step, wl.batch * wl.seq, duration, warmup)


def torch_sample(torch, wl, duration, warmup):
    """One character at a time: RNN step, softmax, multinomial, hidden carried; chars/s."""
    nn, F = torch.nn, torch.nn.functional
    torch.manual_seed(SEED)
    rnn = nn.RNN(VOCAB, wl.hidden, num_layers=1, nonlinearity="tanh")
    out = nn.Linear(wl.hidden, VOCAB)
    state = {"h": torch.zeros(1, 1, wl.hidden), "ix": torch.zeros(1, dtype=torch.long)}

    def step():
        h, ix = state["h"], state["ix"]
        with torch.no_grad():
            for _ in range(SAMPLE_CHUNK):
                x = F.one_hot(ix, VOCAB).float().view(1, 1, VOCAB)
                _, h = rnn(x, h)
                p = torch.softmax(out(h[0, 0]), dim=0)
                ix = torch.multinomial(p, 1)
        state["h"], state["ix"] = h, ix

    return timed_rate(step, SAMPLE_CHUNK, duration, warmup)


def measure_torch(torch, wl, duration, warmup):
    if torch is None:
        return Result(None, "")  # the "not installed" line says why
    if wl.kind == "sample":
        return Result(torch_sample(torch, wl, duration, warmup), "")
    return Result(torch_train(torch, wl, duration, warmup), "")


# ---------------------------------------------------------------------------------------------
# System 2: the notebook's algorithm in numpy (min-char-rnn style, B=1)


class NotebookRNN:
    """The notebook's RNN with its typos fixed and Adagrad as in min-char-rnn."""

    def __init__(self, np, hidden, vocab, dtype):
        self.np, self.hidden, self.vocab, self.dtype = np, hidden, vocab, dtype
        rng = np.random.RandomState(SEED)
        su, sh = math.sqrt(1.0 / vocab), math.sqrt(1.0 / hidden)
        self.U = rng.uniform(-su, su, (hidden, vocab)).astype(dtype)
        self.V = rng.uniform(-sh, sh, (vocab, hidden)).astype(dtype)
        self.W = rng.uniform(-sh, sh, (hidden, hidden)).astype(dtype)
        self.b = np.zeros((hidden, 1), dtype)
        self.c = np.zeros((vocab, 1), dtype)
        self.mem = [np.zeros_like(p) for p in self.params()]

    def params(self):
        return [self.U, self.W, self.V, self.b, self.c]

    def one_hot(self, ix):
        x = self.np.zeros((self.vocab, 1), self.dtype)
        x[ix] = 1
        return x

    def softmax(self, o):
        np = self.np
        p = np.exp(o - np.max(o))
        return p / np.sum(p)

    def forward(self, inputs, hprev):
        np = self.np
        xs, hs, ps = {}, {}, {}
        hs[-1] = np.copy(hprev)
        for t in range(len(inputs)):
            xs[t] = self.one_hot(inputs[t])
            hs[t] = np.tanh(np.dot(self.U, xs[t]) + np.dot(self.W, hs[t - 1]) + self.b)
            o = np.dot(self.V, hs[t]) + self.c
            ps[t] = self.softmax(o)
        return xs, hs, ps

    def loss(self, ps, targets):
        return sum(-math.log(ps[t][targets[t], 0]) for t in range(len(targets)))

    def backward(self, xs, hs, ps, targets):
        np = self.np
        dU, dW, dV = np.zeros_like(self.U), np.zeros_like(self.W), np.zeros_like(self.V)
        db, dc = np.zeros_like(self.b), np.zeros_like(self.c)
        dhnext = np.zeros_like(hs[0])
        for t in reversed(range(len(targets))):
            dy = np.copy(ps[t])
            dy[targets[t]] -= 1
            dV += np.dot(dy, hs[t].T)
            dc += dy
            dh = np.dot(self.V.T, dy) + dhnext
            dhrec = (1 - hs[t] * hs[t]) * dh
            db += dhrec
            dU += np.dot(dhrec, xs[t].T)
            dW += np.dot(dhrec, hs[t - 1].T)
            dhnext = np.dot(self.W.T, dhrec)
        grads = [dU, dW, dV, db, dc]
        for d in grads:
            np.clip(d, -CLIP, CLIP, out=d)
        return grads

    def adagrad(self, grads):
        np = self.np
        for p, d, m in zip(self.params(), grads, self.mem):
            m += d * d
            p += -LR * d / np.sqrt(m + 1e-8)

    def train_step(self, inputs, targets, hprev):
        xs, hs, ps = self.forward(inputs, hprev)
        loss = self.loss(ps, targets)
        self.adagrad(self.backward(xs, hs, ps, targets))
        return loss, hs[len(inputs) - 1]

    def sample(self, h, ix, n):
        np = self.np
        x = self.one_hot(ix)
        for _ in range(n):
            h = np.tanh(np.dot(self.U, x) + np.dot(self.W, h) + self.b)
            y = np.dot(self.V, h) + self.c
            p = np.exp(y) / np.sum(np.exp(y))
            ix = np.random.choice(range(self.vocab), p=p.ravel())
            x = self.one_hot(ix)
        return h, ix


def numpy_train(np, wl, duration, warmup, dtype):
    model = NotebookRNN(np, wl.hidden, VOCAB, dtype)
    ids = np.random.RandomState(SEED).randint(0, VOCAB, STREAM_LEN).tolist()
    cursor = window_cursor(wl.seq)
    state = {"h": np.zeros((wl.hidden, 1), dtype)}

    def step():
        pos = next(cursor)
        inputs, targets = ids[pos:pos + wl.seq], ids[pos + 1:pos + wl.seq + 1]
        _, state["h"] = model.train_step(inputs, targets, state["h"])

    return timed_rate(step, wl.seq, duration, warmup)


def numpy_sample(np, wl, duration, warmup, dtype):
    model = NotebookRNN(np, wl.hidden, VOCAB, dtype)
    np.random.seed(SEED)
    state = {"h": np.zeros((wl.hidden, 1), dtype), "ix": 0}

    def step():
        state["h"], state["ix"] = model.sample(state["h"], state["ix"], SAMPLE_CHUNK)

    return timed_rate(step, SAMPLE_CHUNK, duration, warmup)


def measure_numpy(np, wl, duration, warmup, dtype_name):
    if np is None:
        return Result(None, "")  # the "not installed" line says why
    dtype = getattr(np, dtype_name)
    if wl.batch != 1:
        return Result(None, "B>1 skipped: the notebook's algorithm is B=1 only")
    if wl.kind == "sample":
        return Result(numpy_sample(np, wl, duration, warmup, dtype), "")
    return Result(numpy_train(np, wl, duration, warmup, dtype), "")


# ---------------------------------------------------------------------------------------------
# System 3: charrnn bench -json


def build_charrnn(out="/tmp/charrnn"):
    """go build ./cmd/charrnn from the repo root; return (path, None) or (None, why not)."""
    if not os.path.isdir(os.path.join(REPO, "cmd", "charrnn")):
        return None, "cmd/charrnn not found in %s; pass --charrnn PATH" % REPO
    if shutil.which("go") is None:
        return None, "go not found on PATH; pass --charrnn PATH"
    log("building: go build -o %s ./cmd/charrnn" % out)
    proc = subprocess.run(["go", "build", "-o", out, "./cmd/charrnn"], cwd=REPO,
                          stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    if proc.returncode != 0:
        return None, "go build failed: " + last_line(proc.stdout)
    return out, None


def last_line(text):
    lines = [l for l in text.strip().splitlines() if l.strip()]
    return lines[-1] if lines else "(no output)"


def parse_bench_json(text):
    """The JSON objects in `charrnn bench -json` output, one per line; other lines ignored."""
    rows = []
    for line in text.splitlines():
        line = line.strip()
        if not line.startswith("{"):
            continue
        try:
            rows.append(json.loads(line))
        except ValueError:
            continue
    return rows


def run_charrnn_bench(binary, hidden, seq, batch, duration, backend):
    """Run one `charrnn bench` and return its JSON rows for this shape (raises RuntimeError)."""
    cmd = [binary, "bench", "-hidden", str(hidden), "-seq", str(seq), "-batch", str(batch),
           "-vocab", str(VOCAB), "-duration", "%gs" % duration, "-json"]
    if backend != "default":
        cmd[-1:-1] = ["-backend", backend]
    log("running: " + " ".join(cmd))
    try:
        proc = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    except OSError as e:
        raise RuntimeError("cannot run %s: %s" % (binary, e))
    if proc.returncode != 0:
        raise RuntimeError("exit %d: %s" % (proc.returncode, last_line(proc.stderr)))
    rows = [r for r in parse_bench_json(proc.stdout)
            if (r.get("hidden"), r.get("seq"), r.get("batch"), r.get("vocab"))
            == (hidden, seq, batch, VOCAB)]
    if not rows:
        raise RuntimeError("no JSON line for H%d T%d B%d vocab %d in its output"
                           % (hidden, seq, batch, VOCAB))
    return rows


class Charrnn:
    """charrnn via its CLI; one bench run per shape, shared by the train and sample workloads."""

    def __init__(self, binary, duration, backend):
        self.binary, self.duration, self.backend = binary, duration, backend
        self.cache = {}

    def rows(self, wl):
        key = (wl.hidden, wl.seq, wl.batch)
        if key not in self.cache:
            try:
                self.cache[key] = run_charrnn_bench(self.binary, wl.hidden, wl.seq, wl.batch,
                                                    self.duration, self.backend)
            except RuntimeError as e:
                self.cache[key] = e
        return self.cache[key]


def measure_charrnn(charrnn, wl):
    """The fastest backend's figure for this workload, noted with the backend's name."""
    if charrnn is None:
        return Result(None, "")  # the "charrnn skipped" line says why
    rows = charrnn.rows(wl)
    if isinstance(rows, Exception):
        return Result(None, str(rows))
    field = "sample_chars_per_sec" if wl.kind == "sample" else "train_chars_per_sec"
    rows = [r for r in rows if isinstance(r.get(field), (int, float))]
    if not rows:
        return Result(None, "no %s in its output" % field)
    best = max(rows, key=lambda r: r[field])
    return Result(float(best[field]), str(best.get("backend", "?")))


# ---------------------------------------------------------------------------------------------
# One workload


def measure_workload(wl, systems, torch, np, charrnn, args):
    res = {}
    if "torch" in systems:
        log("measuring %s with PyTorch" % wl.name)
        res["torch"] = measure_torch(torch, wl, args.duration, args.warmup)
    if "numpy" in systems:
        log("measuring %s with numpy" % wl.name)
        res["numpy"] = measure_numpy(np, wl, args.duration, args.warmup, args.numpy_dtype)
    if "charrnn" in systems:
        log("measuring %s with charrnn" % wl.name)
        res["charrnn"] = measure_charrnn(charrnn, wl)
    return res


# ---------------------------------------------------------------------------------------------
# Machine description


def cpu_info():
    model, cores = "unknown", None
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                key, _, val = line.partition(":")
                key, val = key.strip(), val.strip()
                if key == "model name" and model == "unknown":
                    model = val
                elif key == "cpu cores" and cores is None:
                    cores = val
    except OSError:
        pass
    logical = os.cpu_count()
    return model, cores, logical


def loaded_blas_libraries():
    """Paths of the BLAS/LAPACK shared libraries mapped into this process."""
    libs = []
    try:
        with open("/proc/self/maps") as f:
            for line in f:
                path = line.split()[-1]
                name = os.path.basename(path).lower()
                if path.startswith("/") and any(k in name for k in ("blas", "mkl", "blis")):
                    if path not in libs:
                        libs.append(path)
    except OSError:
        pass
    return libs


def openblas_info(threads):
    """(corename, config, path) of the loaded OpenBLAS, pinning its thread count if threads > 0."""
    import ctypes
    core = config = lib_path = None
    for path in loaded_blas_libraries():
        try:
            lib = ctypes.CDLL(path)
            getcore = lib.openblas_get_corename
        except (OSError, AttributeError):
            continue
        getcore.restype = ctypes.c_char_p
        core, lib_path = getcore().decode(), path
        try:
            lib.openblas_get_config.restype = ctypes.c_char_p
            config = lib.openblas_get_config().decode().strip()
        except AttributeError:
            pass
        if threads > 0:
            lib.openblas_set_num_threads(threads)
    return core, config, lib_path


def openblas_autodetected_core(path):
    """The core OpenBLAS picks by itself when OPENBLAS_CORETYPE is unset (a child process)."""
    env = {k: v for k, v in os.environ.items() if k != "OPENBLAS_CORETYPE"}
    code = ("import ctypes; f = ctypes.CDLL(%r).openblas_get_corename; "
            "f.restype = ctypes.c_char_p; print(f().decode())" % path)
    try:
        proc = subprocess.run([sys.executable, "-c", code], env=env, timeout=30,
                              stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
    except (OSError, subprocess.SubprocessError):
        return None
    return proc.stdout.strip() or None


def machine_info(torch, np, blas_threads):
    if np is not None:  # make sure the BLAS numpy uses is loaded before looking
        np.dot(np.ones((2, 2)), np.ones(2))
    model, cores, logical = cpu_info()
    core, config, lib_path = openblas_info(blas_threads)
    info = [
        ("CPU", model),
        ("cores", "%s physical, %s logical (%s usable)"
         % (cores or "?", logical, len(os.sched_getaffinity(0)))),
        ("OS", "%s %s" % (platform.system(), platform.release())),
        ("Python", "%s (%s)" % (platform.python_version(), sys.executable)),
        ("PyTorch", "%s, %d thread" % (torch.__version__, torch.get_num_threads())
         if torch is not None else "not installed"),
        ("numpy", np.__version__ if np is not None else "not installed"),
        ("BLAS loaded", ", ".join(loaded_blas_libraries()) or "none"),
    ]
    if core is not None:
        pinned = ", pinned to %d thread(s)" % blas_threads if blas_threads > 0 else ""
        info.append(("OpenBLAS", "core %s; %s%s" % (core, config or "", pinned)))
    env = ["%s=%s" % (k, v) for k, v in sorted(os.environ.items()) if k.startswith("OPENBLAS")]
    info.append(("OPENBLAS env", " ".join(env) or "(none set)"))
    if core is not None and "OPENBLAS_CORETYPE" in os.environ:
        auto = openblas_autodetected_core(lib_path)
        info.append(("OpenBLAS auto", "without OPENBLAS_CORETYPE it would pick core %s"
                     % (auto or "?")))
    info.append(("load average", "%.2f %.2f %.2f at start" % os.getloadavg()))
    return info


# ---------------------------------------------------------------------------------------------
# Report

SYSTEM_NAMES = {"torch": "PyTorch", "numpy": "numpy", "charrnn": "charrnn"}


def fmt_rate(r):
    return "{:,.0f}".format(r.rate) if r is not None and r.rate is not None else "-"


def fmt_ratio(a, b):
    if a is None or b is None or a.rate is None or b.rate is None or b.rate == 0:
        return "-"
    return "%.2fx" % (a.rate / b.rate)


def table_rows(results, systems):
    header = ["workload", "H", "T", "B", "measure"] + [SYSTEM_NAMES[s] for s in systems]
    if "charrnn" in systems:
        header.append("charrnn backend")
        header += ["charrnn/" + SYSTEM_NAMES[s] for s in systems if s != "charrnn"]
    rows = []
    for wl, res in results:
        row = [wl.name, str(wl.hidden), str(wl.seq) if wl.kind == "train" else "-",
               str(wl.batch), wl.kind + " chars/s"]
        row += [fmt_rate(res.get(s)) for s in systems]
        if "charrnn" in systems:
            c = res.get("charrnn")
            row.append(c.note if c is not None and c.rate is not None else "-")
            row += [fmt_ratio(c, res.get(s)) for s in systems if s != "charrnn"]
        rows.append(row)
    return header, rows


def notes(results, systems):
    """Why cells are empty, one line per (system, reason)."""
    out = []
    for s in systems:
        by_reason = {}
        for wl, res in results:
            r = res.get(s)
            if r is not None and r.rate is None and r.note:
                by_reason.setdefault(r.note, []).append(wl.name)
        for reason, names in by_reason.items():
            out.append("%s %s: %s" % (SYSTEM_NAMES[s], ", ".join(names), reason))
    return out


def is_text_column(name):
    return name in ("workload", "H", "T", "B", "measure", "charrnn backend")


def render_text(info, header, rows, note_lines, skipped, args):
    lines = ["%-14s %s" % (k + ":", v) for k, v in info]
    lines.append("%-14s %g s per measurement after %g s warm-up; numpy dtype %s"
                 % ("timing:", args.duration, args.warmup, args.numpy_dtype))
    lines.append("")
    lines += skipped
    if skipped:
        lines.append("")
    widths = [max(len(c) for c in col) for col in zip(header, *rows)]
    for i, row in enumerate([header] + rows):
        lines.append("  ".join(c.ljust(w) if is_text_column(name) else c.rjust(w)
                               for name, c, w in zip(header, row, widths)))
        if i == 0:
            lines.append("  ".join("-" * w for w in widths))
    if note_lines:
        lines.append("")
        lines += note_lines
    return "\n".join(lines)


def render_markdown(info, header, rows, note_lines, skipped, args):
    lines = ["| " + " | ".join(header) + " |",
             "| " + " | ".join("---" if is_text_column(h) else "---:" for h in header) + " |"]
    lines += ["| " + " | ".join(row) + " |" for row in rows]
    lines.append("")
    lines += ["- %s: %s" % (k, v) for k, v in info]
    lines.append("- timing: %g s per measurement after %g s warm-up, one run of `bench/compare.py`;"
                 " numpy dtype %s" % (args.duration, args.warmup, args.numpy_dtype))
    lines += ["- " + n for n in skipped + note_lines]
    return "\n".join(lines)


# ---------------------------------------------------------------------------------------------


def parse_args(argv):
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--workloads", default=",".join(WORKLOADS),
                   help="comma-separated, from: %s (default: all)" % ", ".join(WORKLOADS))
    p.add_argument("--systems", default="torch,numpy,charrnn",
                   help="comma-separated, from: torch, numpy, charrnn (default: all)")
    p.add_argument("--duration", type=float, default=10.0,
                   help="seconds per timed measurement (default 10)")
    p.add_argument("--warmup", type=float, default=None,
                   help="untimed seconds before each measurement (default: duration/5, max 2)")
    p.add_argument("--charrnn", metavar="PATH",
                   help="charrnn binary (default: go build -o /tmp/charrnn ./cmd/charrnn)")
    p.add_argument("--backend", default="all",
                   help="charrnn -backend: a name, 'all' (keep the fastest per workload) or "
                        "'default' (no flag, charrnn chooses); default all")
    p.add_argument("--numpy-dtype", default="float64", choices=["float64", "float32"],
                   help="numpy parameter dtype (default float64, as the notebook)")
    p.add_argument("--blas-threads", type=int, default=1,
                   help="pin the loaded OpenBLAS to this many threads, 0 = leave it (default 1)")
    p.add_argument("--markdown", action="store_true", help="print a markdown table")
    args = p.parse_args(argv)
    if args.warmup is None:
        args.warmup = min(2.0, args.duration / 5)
    names = [w for w in args.workloads.split(",") if w]
    bad = [w for w in names if w not in WORKLOADS]
    systems = [s for s in args.systems.split(",") if s]
    bad += [s for s in systems if s not in SYSTEM_NAMES]
    if bad or not names or not systems:
        p.error("unknown or empty workload/system: %s" % ", ".join(bad))
    args.workload_list = [WORKLOADS[w] for w in names]
    args.system_list = [s for s in SYSTEM_NAMES if s in systems]  # fixed column order
    return args


def main(argv=None):
    args = parse_args(sys.argv[1:] if argv is None else argv)
    systems = args.system_list
    skipped = []
    torch = np = charrnn = None
    if "torch" in systems:
        torch = import_torch()
        if torch is None:
            skipped.append(TORCH_MISSING)
    if "numpy" in systems:
        np = import_numpy()
        if np is None:
            skipped.append(NUMPY_MISSING)
    if "charrnn" in systems:
        binary, why = (args.charrnn, None) if args.charrnn else build_charrnn()
        if binary is None:
            skipped.append("charrnn skipped: " + why)
        else:
            charrnn = Charrnn(binary, args.duration, args.backend)
    for line in skipped:
        log(line)

    info = machine_info(torch, np, args.blas_threads)
    results = [(wl, measure_workload(wl, systems, torch, np, charrnn, args))
               for wl in args.workload_list]

    header, rows = table_rows(results, systems)
    render = render_markdown if args.markdown else render_text
    print(render(info, header, rows, notes(results, systems), skipped, args))
    return 0


if __name__ == "__main__":
    sys.exit(main())
