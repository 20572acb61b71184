#!/usr/bin/env python3
"""Measure the standard charrnn workloads with PyTorch, numpy and charrnn, side by side.

Systems (each one is optional; a missing one is skipped with a line saying how to get it):
  PyTorch  bench/torch_workloads.py, run once per workload and thread count in a process of
           its own (its docstring says exactly what it measures and with which settings):
           nn.RNN / nn.LSTM / nn.GRU + nn.Linear + cross-entropy, one-hot input by row
           lookup, Adagrad lr 0.1, gradients clipped to +-5, fp32, truncated BPTT with the
           state carried; glibc keeping freed memory, subnormals flushed to zero.
           One thread and two threads (--torch-threads); ratios are against the faster.
  numpy    the notebook's algorithm (seed/rnn-notebook.txt, fixed): one-hot vectors, np.dot,
           per-timestep forward and backward, elementwise clip to +-5, Adagrad as in
           min-char-rnn. Vanilla RNN, B=1 only. float64 by default, as the notebook.
  charrnn  `charrnn bench ... -json` (with -cell and -layers for the gated workloads),
           reading train_chars_per_sec / sample_chars_per_sec.

Workloads (DESIGN.md and issue 11): tiny H100 T25 B1, h512b1 H512 T100 B1, h512b32 H512
T100 B32, sample512 H512 sampling one character at a time; lstm512b32, lstm256b32, lstm512b1,
gru512b32 (2 layers, T100) and sample-lstm512 (2x512 LSTM sampling). Vocabulary 65, random
ids, so every system does the same work. Train chars/s = B*T*steps/seconds, after a warm-up.

Every figure is printed with the command that measures it alone; the ratios come from one run
of this script (bench/compare.sh). Progress goes to stderr, the report to stdout
(`--markdown` for bench/RESULTS.md). Run it with /usr/bin/python3 (Debian's python3-torch and
python3-numpy live there); bench/compare.sh builds charrnn and does that.
"""

import argparse
import json
import math
import os
import platform
import shlex
import shutil
import subprocess
import sys
import time
from collections import namedtuple

import torch_workloads

VOCAB = torch_workloads.VOCAB
SEED = 1
STREAM_LEN = 1 << 16  # synthetic ids per stream; windows wrap around
SAMPLE_CHUNK = 100  # characters sampled between two clock reads
CLIP = 5.0
LR = 0.1

# kind: "train" or "sample"; cell: "rnn", "lstm" or "gru".
Workload = namedtuple("Workload", "name cell layers hidden seq batch kind")

WORKLOADS = {w.name: w for w in [
    Workload("tiny", "rnn", 1, 100, 25, 1, "train"),
    Workload("tiny-sample", "rnn", 1, 100, 25, 1, "sample"),  # tiny's model, generating
    Workload("h512b1", "rnn", 1, 512, 100, 1, "train"),
    Workload("h512b32", "rnn", 1, 512, 100, 32, "train"),
    Workload("sample512", "rnn", 1, 512, 100, 1, "sample"),
    Workload("lstm512b32", "lstm", 2, 512, 100, 32, "train"),
    Workload("lstm256b32", "lstm", 2, 256, 100, 32, "train"),
    Workload("lstm512b1", "lstm", 2, 512, 100, 1, "train"),
    Workload("gru512b32", "gru", 2, 512, 100, 32, "train"),
    Workload("sample-lstm512", "lstm", 2, 512, 100, 1, "sample"),
]}
DEFAULT_WORKLOADS = ["tiny", "tiny-sample", "h512b1", "h512b32", "sample512"]

# A measurement: chars/s, or None with a note saying why it is missing; the command that
# measures it alone; chars per CPU-second where known; with --repeat, every round's rate.
Result = namedtuple("Result", "rate note command cpu_rate rates",
                    defaults=("", "", None, ()))

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
HERE = os.path.dirname(os.path.abspath(__file__))


def log(msg):
    print(msg, file=sys.stderr, flush=True)


def relpath(path):
    """path relative to the repository root when it is inside it (commands are run from there)."""
    rel = os.path.relpath(path, REPO)
    return path if rel.startswith("..") else rel


# ---------------------------------------------------------------------------------------------
# Timing (numpy, in this process)


def timed_rate(step, chars_per_step, duration, warmup):
    """Run step() for `warmup` seconds untimed, then for `duration` seconds; (chars/s, chars/CPU-s)."""
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
    rate, cpu_rate = chars_per_step * steps / elapsed, chars_per_step * steps / max(cpu, 1e-9)
    # On a shared machine the CPU share says how much the wall-clock figure is to be trusted.
    log("  %d steps, %.2f s wall, %.2f s CPU (%.0f%% of a core): %.0f chars/s, %.0f chars/CPU-s"
        % (steps, elapsed, cpu, 100 * cpu / elapsed, rate, cpu_rate))
    return rate, cpu_rate


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


def have_torch(python):
    """Whether `python` imports torch (it is measured in child processes of that interpreter)."""
    try:
        proc = subprocess.run([python, "-c", "import torch"], stdout=subprocess.DEVNULL,
                              stderr=subprocess.DEVNULL, timeout=120)
    except (OSError, subprocess.SubprocessError):
        return False
    return proc.returncode == 0


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


def slow_blas_warning(torch_desc):
    """A line when PyTorch's GEMMs run on neither OpenBLAS nor MKL, else None.

    Debian's python3-torch calls the system BLAS, and without libopenblas0
    that is the reference BLAS: PyTorch then trains 20-70x slower than with
    OpenBLAS (2026-12-02: lstm512b32 240 chars/s against about 5,000), and
    every ratio against it says nothing."""
    if "OpenBLAS core" in torch_desc or "mkl" in torch_desc.lower():
        return None
    return ("warning: PyTorch's BLAS is neither OpenBLAS nor MKL (%s): its GEMMs run tens of "
            "times slower and the ratios below mean little; apt-get install -y libopenblas0 "
            "for a fair comparison" % torch_desc)


# ---------------------------------------------------------------------------------------------
# System 1: PyTorch, one child process per measurement


def torch_command(wl, threads, duration, warmup, python):
    """The bench/torch_workloads.py command that measures wl on `threads` threads."""
    argv = [python, relpath(os.path.join(HERE, "torch_workloads.py")), "--kind", wl.kind,
            "--cell", wl.cell, "--layers", str(wl.layers), "--hidden", str(wl.hidden)]
    if wl.kind == "train":
        argv += ["--seq", str(wl.seq), "--batch", str(wl.batch)]
    return argv + ["--threads", str(threads), "--duration", "%g" % duration,
                   "--warmup", "%g" % warmup]


def measure_torch(wl, threads, duration, warmup, python):
    argv = torch_command(wl, threads, duration, warmup, python)
    line = " ".join(shlex.quote(a) for a in argv)
    log("running: " + line)
    try:
        proc = subprocess.run(argv, cwd=REPO, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                              text=True)
    except OSError as e:
        return Result(None, "cannot run %s: %s" % (python, e), line)
    if proc.returncode != 0:
        return Result(None, "exit %d: %s" % (proc.returncode, last_line(proc.stderr)), line)
    try:
        r = json.loads(last_line(proc.stdout))
    except ValueError:
        return Result(None, "no JSON in its output: " + last_line(proc.stdout), line)
    log("  %d steps, %.2f s wall, %.2f s CPU: %.0f chars/s, %.0f chars/CPU-s"
        % (r["steps"], r["wall_sec"], r["cpu_sec"], r["chars_per_sec"], r["chars_per_cpu_sec"]))
    return Result(r["chars_per_sec"], "", line, r["chars_per_cpu_sec"])


def torch_info(python):
    """PyTorch's version, the BLAS it loads and its settings, as the measurements run."""
    proc = subprocess.run([python, os.path.join(HERE, "torch_workloads.py"), "--describe"],
                          stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    if proc.returncode != 0:
        return "could not describe: " + last_line(proc.stderr)
    return last_line(proc.stdout)


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


def numpy_command(wl, duration, warmup, dtype_name):
    return " ".join([sys.executable, relpath(os.path.abspath(__file__)), "--systems", "numpy",
                     "--workloads", wl.name, "--duration", "%g" % duration, "--warmup",
                     "%g" % warmup, "--numpy-dtype", dtype_name])


def measure_numpy(np, wl, duration, warmup, dtype_name):
    if np is None:
        return Result(None, "")  # the "not installed" line says why
    if wl.cell != "rnn" or wl.layers != 1:
        return Result(None, "the notebook's algorithm is a one-layer vanilla RNN")
    if wl.batch != 1:
        return Result(None, "B>1 skipped: the notebook's algorithm is B=1 only")
    dtype = getattr(np, dtype_name)
    measure = numpy_sample if wl.kind == "sample" else numpy_train
    rate, cpu_rate = measure(np, wl, duration, warmup, dtype)
    return Result(rate, "", numpy_command(wl, duration, warmup, dtype_name), cpu_rate)


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


def is_gated(wl):
    return wl.cell != "rnn" or wl.layers != 1


def charrnn_command(binary, wl, duration, backend):
    """The `charrnn bench` argv measuring wl's shape (training and, at B=1, sampling)."""
    cmd = [binary, "bench"]
    if is_gated(wl):
        cmd += ["-cell", wl.cell, "-layers", str(wl.layers)]
    cmd += ["-hidden", str(wl.hidden), "-seq", str(wl.seq), "-batch", str(wl.batch),
            "-vocab", str(VOCAB), "-duration", "%gs" % duration]
    if backend != "default":
        cmd += ["-backend", backend]
    return cmd + ["-json"]


def row_matches(row, wl):
    """A JSON row is for wl's shape; rows without cell and layers are a one-layer RNN's."""
    return ((row.get("hidden"), row.get("seq"), row.get("batch"), row.get("vocab"),
             row.get("cell", "rnn"), row.get("layers", 1))
            == (wl.hidden, wl.seq, wl.batch, VOCAB, wl.cell, wl.layers))


def run_charrnn_bench(cmd, wl):
    """Run one `charrnn bench` and return its JSON rows for wl's shape (raises RuntimeError)."""
    log("running: " + " ".join(cmd))
    try:
        proc = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    except OSError as e:
        raise RuntimeError("cannot run %s: %s" % (cmd[0], e))
    if proc.returncode != 0:
        raise RuntimeError("exit %d: %s" % (proc.returncode, last_line(proc.stderr)))
    rows = [r for r in parse_bench_json(proc.stdout) if row_matches(r, wl)]
    if not rows:
        raise RuntimeError("no JSON line for %s H%d T%d B%d vocab %d in its output"
                           % (shape_name(wl), wl.hidden, wl.seq, wl.batch, VOCAB))
    return rows


def shape_name(wl):
    return "%s x%d" % (wl.cell, wl.layers)


def supports_cells(binary):
    """Whether this charrnn's bench takes -cell (its usage lists the flag)."""
    try:
        proc = subprocess.run([binary, "bench", "-h"], stdout=subprocess.PIPE,
                              stderr=subprocess.STDOUT, text=True, timeout=60)
    except (OSError, subprocess.SubprocessError):
        return False
    return "-cell" in proc.stdout


NO_CELLS = "this charrnn's bench has no -cell flag yet (issue 11): no figure for gated cells"


class Charrnn:
    """charrnn via its CLI; one bench run per shape, shared by the train and sample workloads."""

    def __init__(self, binary, duration, backend):
        self.binary, self.duration, self.backend = binary, duration, backend
        self.cache = {}
        self.cells = None  # whether -cell is supported, asked once when first needed

    def command(self, wl):
        return charrnn_command(self.binary, wl, self.duration, self.backend)

    def new_round(self):
        """Forget the figures measured so far: a repeated round measures every shape again."""
        self.cache = {}

    def rows(self, wl):
        key = (wl.cell, wl.layers, wl.hidden, wl.seq, wl.batch)
        if key not in self.cache:
            if is_gated(wl) and self.cells is None:
                self.cells = supports_cells(self.binary)
            if is_gated(wl) and not self.cells:
                self.cache[key] = RuntimeError(NO_CELLS)
            else:
                try:
                    self.cache[key] = run_charrnn_bench(self.command(wl), wl)
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
    rows = [r for r in rows if isinstance(r.get(field), (int, float)) and r.get(field) > 0]
    if not rows:
        return Result(None, "no %s in its output" % field)
    best = max(rows, key=lambda r: r[field])
    backend = str(best.get("backend", "?"))
    # The command that measures this figure alone: with -backend all, the winner's name.
    flag = backend if charrnn.backend == "all" else charrnn.backend
    cmd = charrnn_command(charrnn.binary, wl, charrnn.duration, flag)
    return Result(float(best[field]), backend, " ".join(shlex.quote(a) for a in cmd))


# ---------------------------------------------------------------------------------------------
# One workload


def measure_workload(wl, systems, np, charrnn, args):
    res = {}
    if "torch" in systems:
        for threads in args.torch_threads:
            log("measuring %s with PyTorch, %d thread(s)" % (wl.name, threads))
            res["torch%d" % threads] = (measure_torch(wl, threads, args.duration, args.warmup,
                                                      args.python)
                                        if args.torch_ok else Result(None, ""))
    if "numpy" in systems:
        log("measuring %s with numpy" % wl.name)
        res["numpy"] = measure_numpy(np, wl, args.duration, args.warmup, args.numpy_dtype)
    if "charrnn" in systems:
        log("measuring %s with charrnn" % wl.name)
        res["charrnn"] = measure_charrnn(charrnn, wl)
    return res


def median_result(results):
    """The round with the median rate (the lower one of an even count), carrying every
    round's rate; a system that never gave a figure keeps the first round's note."""
    ok = sorted((r for r in results if r.rate is not None), key=lambda r: r.rate)
    if not ok:
        return results[0]
    return ok[(len(ok) - 1) // 2]._replace(rates=tuple(r.rate for r in results
                                                       if r.rate is not None))


def measure_rounds(workloads, systems, np, charrnn, args):
    """Every workload measured args.repeat times, in rounds over all of them (so that load
    from other processes falls on every workload and system alike), and each figure the
    median of its rounds."""
    rounds = []
    for i in range(args.repeat):
        if args.repeat > 1:
            log("round %d of %d" % (i + 1, args.repeat))
        if charrnn is not None:
            charrnn.new_round()
        rounds.append([measure_workload(wl, systems, np, charrnn, args) for wl in workloads])
    results = []
    for j, wl in enumerate(workloads):
        keys = rounds[0][j].keys()
        results.append((wl, {k: median_result([r[j][k] for r in rounds]) for k in keys}))
    return results


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


def machine_info(np, blas_threads, torch_desc):
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
        ("PyTorch", torch_desc),
        ("numpy", np.__version__ if np is not None else "not installed"),
        ("numpy's BLAS", ", ".join(loaded_blas_libraries()) or "none"),
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


SYSTEM_NAMES = {"torch": "PyTorch", "numpy": "numpy", "charrnn": "charrnn"}


# ---------------------------------------------------------------------------------------------
# Report


def system_columns(systems, torch_threads):
    """(key, column name) of each measured system, in table order."""
    cols = []
    for s in systems:
        if s == "torch":
            cols += [("torch%d" % n, "PyTorch %dT" % n) for n in torch_threads]
        else:
            cols.append((s, SYSTEM_NAMES[s]))
    return cols


def best_torch(res, torch_threads):
    """PyTorch's fastest figure over its thread counts (what the ratio is against)."""
    rs = [res.get("torch%d" % n) for n in torch_threads]
    rs = [r for r in rs if r is not None and r.rate is not None]
    return max(rs, key=lambda r: r.rate) if rs else None


def fmt_rate(r):
    return "{:,.0f}".format(r.rate) if r is not None and r.rate is not None else "-"


def fmt_ratio(a, b):
    if a is None or b is None or a.rate is None or b.rate is None or b.rate == 0:
        return "-"
    return "%.2fx" % (a.rate / b.rate)


def table_rows(results, systems, torch_threads):
    cols = system_columns(systems, torch_threads)
    header = ["workload", "cell", "L", "H", "T", "B", "measure"] + [name for _, name in cols]
    if "charrnn" in systems:
        header.append("charrnn backend")
        header += ["charrnn/" + SYSTEM_NAMES[s] for s in systems if s != "charrnn"]
    rows = []
    for wl, res in results:
        row = [wl.name, wl.cell, str(wl.layers), str(wl.hidden),
               str(wl.seq) if wl.kind == "train" else "-", str(wl.batch), wl.kind + " chars/s"]
        row += [fmt_rate(res.get(key)) for key, _ in cols]
        if "charrnn" in systems:
            c = res.get("charrnn")
            row.append(c.note if c is not None and c.rate is not None else "-")
            for s in systems:
                if s == "torch":
                    row.append(fmt_ratio(c, best_torch(res, torch_threads)))
                elif s != "charrnn":
                    row.append(fmt_ratio(c, res.get(s)))
        rows.append(row)
    return header, rows


def command_lines(results, systems, torch_threads):
    """Each figure with the command that measures it alone."""
    out = []
    for wl, res in results:
        for key, name in system_columns(systems, torch_threads):
            r = res.get(key)
            if r is not None and r.rate is not None and r.command:
                cpu = (" (%s chars/CPU-s)" % "{:,.0f}".format(r.cpu_rate)
                       if r.cpu_rate is not None else "")
                runs = (" (median of %s)" % ", ".join("{:,.0f}".format(x) for x in r.rates)
                        if len(r.rates) > 1 else "")
                out.append("%s, %s: %s chars/s%s%s: %s"
                           % (wl.name, name, fmt_rate(r), runs, cpu, r.command))
    return out


def notes(results, systems, torch_threads):
    """Why cells are empty, one line per (system, reason)."""
    out = []
    for key, name in system_columns(systems, torch_threads):
        by_reason = {}
        for wl, res in results:
            r = res.get(key)
            if r is not None and r.rate is None and r.note:
                by_reason.setdefault(r.note, []).append(wl.name)
        for reason, names in by_reason.items():
            out.append("%s %s: %s" % (name, ", ".join(names), reason))
    return out


def is_text_column(name):
    return name in ("workload", "cell", "L", "H", "T", "B", "measure", "charrnn backend")


def reproduce_line(args):
    """The compare.sh command for the whole table: every option that was not the default."""
    line = "the whole table: bench/compare.sh --workloads %s" % ",".join(
        w.name for w in args.workload_list)
    if args.system_list != list(SYSTEM_NAMES):
        line += " --systems " + ",".join(args.system_list)
    line += " --duration %g --warmup %g" % (args.duration, args.warmup)
    if args.torch_threads != [1, 2]:
        line += " --torch-threads " + ",".join(str(n) for n in args.torch_threads)
    if args.backend != "all":
        line += " --backend " + args.backend
    if args.numpy_dtype != "float64":
        line += " --numpy-dtype " + args.numpy_dtype
    if args.repeat != 1:
        line += " --repeat %d" % args.repeat
    return line


def timing_line(args):
    runs = ("one run of `bench/compare.py`" if args.repeat == 1 else
            "each figure the median of %d rounds over all the workloads" % args.repeat)
    return ("%g s per measurement after %g s warm-up, %s; numpy dtype %s; ratios against "
            "PyTorch's faster thread count" % (args.duration, args.warmup, runs, args.numpy_dtype))


def render_text(info, header, rows, commands, note_lines, skipped, args):
    lines = ["%-14s %s" % (k + ":", v) for k, v in info]
    lines.append("%-14s %s" % ("timing:", timing_line(args)))
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
    lines += ["", "Commands (each measures one figure alone; run from the repository root):"]
    lines += ["  " + c for c in commands] + ["  " + reproduce_line(args)]
    if note_lines:
        lines.append("")
        lines += note_lines
    return "\n".join(lines)


def render_markdown(info, header, rows, commands, note_lines, skipped, args):
    lines = ["| " + " | ".join(header) + " |",
             "| " + " | ".join("---" if is_text_column(h) else "---:" for h in header) + " |"]
    lines += ["| " + " | ".join(row) + " |" for row in rows]
    lines.append("")
    lines += ["- %s: %s" % (k, v) for k, v in info]
    lines.append("- timing: " + timing_line(args))
    lines += ["- " + n for n in skipped + note_lines]
    lines += ["", "Commands (each measures one figure alone; run from the repository root):", ""]
    lines += ["    " + c for c in commands] + ["    " + reproduce_line(args)]
    return "\n".join(lines)


# ---------------------------------------------------------------------------------------------


def parse_args(argv):
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--workloads", default=",".join(DEFAULT_WORKLOADS),
                   help="comma-separated, from: %s; 'all' for every one (default: %s)"
                        % (", ".join(WORKLOADS), ",".join(DEFAULT_WORKLOADS)))
    p.add_argument("--systems", default="torch,numpy,charrnn",
                   help="comma-separated, from: torch, numpy, charrnn (default: all)")
    p.add_argument("--duration", type=float, default=10.0,
                   help="seconds per timed measurement (default 10)")
    p.add_argument("--warmup", type=float, default=None,
                   help="untimed seconds before each measurement (default: duration/5, max 2)")
    p.add_argument("--torch-threads", default="1,2",
                   help="PyTorch thread counts to measure, comma-separated (default 1,2)")
    p.add_argument("--python", default=sys.executable,
                   help="interpreter for the PyTorch measurements (default: this one)")
    p.add_argument("--charrnn", metavar="PATH",
                   help="charrnn binary (default: go build -o /tmp/charrnn ./cmd/charrnn)")
    p.add_argument("--backend", default="all",
                   help="charrnn -backend: a name, 'all' (keep the fastest per workload) or "
                        "'default' (no flag, charrnn chooses); default all")
    p.add_argument("--numpy-dtype", default="float64", choices=["float64", "float32"],
                   help="numpy parameter dtype (default float64, as the notebook)")
    p.add_argument("--blas-threads", type=int, default=1,
                   help="pin numpy's OpenBLAS to this many threads, 0 = leave it (default 1)")
    p.add_argument("--repeat", type=int, default=1,
                   help="rounds over all the workloads; each figure is the median of its "
                        "rounds (default 1)")
    p.add_argument("--markdown", action="store_true", help="print a markdown table")
    args = p.parse_args(argv)
    if args.warmup is None:
        args.warmup = min(2.0, args.duration / 5)
    if args.duration <= 0 or args.warmup < 0:
        p.error("--duration must be positive and --warmup not negative")
    if args.repeat < 1:
        p.error("--repeat wants at least 1 round")
    names = list(WORKLOADS) if args.workloads == "all" else [w for w in args.workloads.split(",") if w]
    bad = [w for w in names if w not in WORKLOADS]
    systems = [s for s in args.systems.split(",") if s]
    bad += [s for s in systems if s not in SYSTEM_NAMES]
    if bad or not names or not systems:
        p.error("unknown or empty workload/system: %s" % ", ".join(bad))
    try:
        args.torch_threads = [int(n) for n in args.torch_threads.split(",") if n]
    except ValueError:
        p.error("--torch-threads wants comma-separated numbers, got %r" % args.torch_threads)
    if not args.torch_threads or min(args.torch_threads) < 1:
        p.error("--torch-threads wants thread counts of at least 1")
    args.workload_list = [WORKLOADS[w] for w in names]
    args.system_list = [s for s in SYSTEM_NAMES if s in systems]  # fixed column order
    return args


def main(argv=None):
    args = parse_args(sys.argv[1:] if argv is None else argv)
    systems = args.system_list
    skipped = []
    np = charrnn = None
    args.torch_ok = False
    torch_desc = "not measured"
    if "torch" in systems:
        args.torch_ok = have_torch(args.python)
        if args.torch_ok:
            torch_desc = torch_info(args.python)
            warning = slow_blas_warning(torch_desc)
            if warning:
                skipped.append(warning)
        else:
            skipped.append(TORCH_MISSING)
            torch_desc = "not installed"
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

    info = machine_info(np, args.blas_threads, torch_desc)
    results = measure_rounds(args.workload_list, systems, np, charrnn, args)
    info.append(("load average", "%.2f %.2f %.2f at the end" % os.getloadavg()))

    header, rows = table_rows(results, systems, args.torch_threads)
    render = render_markdown if args.markdown else render_text
    print(render(info, header, rows, command_lines(results, systems, args.torch_threads),
                 notes(results, systems, args.torch_threads), skipped, args))
    return 0


if __name__ == "__main__":
    sys.exit(main())
