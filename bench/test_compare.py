#!/usr/bin/env python3
"""Tests for the comparison scripts: run with `/usr/bin/python3 bench/test_compare.py`.

They check that the scripts measure what they say, not how fast anything is: PyTorch's
vanilla RNN gives the notebook algorithm's loss, gradients and Adagrad step on the same weights
and data; its LSTM and GRU give the loss of a plain numpy transcription of their equations;
the held-out loss does not depend on how the text is chunked; the charrnn path builds the
right commands and reads the right JSON rows (against a fake `charrnn` shell script written
to a temporary directory). Tests needing numpy or PyTorch are skipped, with a line, when
they are missing.
"""

import contextlib
import io
import math
import os
import json
import stat
import subprocess
import sys
import tempfile
import unittest

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import compare  # noqa: E402
import quality_torch  # noqa: E402
import torch_workloads  # noqa: E402

try:
    import numpy
except ImportError:
    numpy = None
try:
    import torch
except ImportError:
    torch = None

FAKE_OK = """#!/bin/sh
echo "$@" >> "{argv_log}"
echo "backend chosen: avx512"
echo '{{"backend":"generic","hidden":512,"seq":100,"batch":1,"vocab":65,"train_chars_per_sec":1000.5,"sample_chars_per_sec":2000}}'
echo '{{"backend":"avx512","hidden":512,"seq":100,"batch":1,"vocab":65,"train_chars_per_sec":9000,"sample_chars_per_sec":1500,"ns_per_step":12}}'
echo '{{"backend":"avx512","hidden":100,"seq":25,"batch":1,"vocab":65,"train_chars_per_sec":1,"sample_chars_per_sec":1}}'
echo 'not json {{'
"""

FAKE_CELLS = """#!/bin/sh
echo "$@" >> "{argv_log}"
if [ "$2" = "-h" ]; then echo "usage: charrnn bench [-cell rnn|lstm|gru] [-layers N] ..."; exit 0; fi
echo '{{"backend":"avx512","cell":"lstm","layers":1,"hidden":512,"seq":100,"batch":32,"vocab":65,"train_chars_per_sec":5}}'
echo '{{"backend":"avx512","cell":"lstm","layers":2,"hidden":512,"seq":100,"batch":32,"vocab":65,"train_chars_per_sec":20000}}'
echo '{{"backend":"avx512","cell":"gru","layers":2,"hidden":512,"seq":100,"batch":32,"vocab":65,"train_chars_per_sec":7}}'
"""

FAKE_FAIL = """#!/bin/sh
echo "some progress" >&2
echo "charrnn: unknown backend \\"nope\\"" >&2
exit 2
"""


class FakeCharrnn:
    """A temporary directory holding a fake charrnn script."""

    def __init__(self, body):
        self.dir = tempfile.TemporaryDirectory()
        self.argv_log = os.path.join(self.dir.name, "argv.log")
        self.path = os.path.join(self.dir.name, "charrnn")
        with open(self.path, "w") as f:
            f.write(body.format(argv_log=self.argv_log))
        os.chmod(self.path, os.stat(self.path).st_mode | stat.S_IEXEC)

    def calls(self):
        if not os.path.exists(self.argv_log):
            return []
        with open(self.argv_log) as f:
            return [line.split() for line in f]

    def close(self):
        self.dir.cleanup()


class CharrnnParsing(unittest.TestCase):
    def setUp(self):
        self.fake = FakeCharrnn(FAKE_OK)

    def tearDown(self):
        self.fake.close()

    def test_parse_bench_json_skips_other_lines(self):
        rows = compare.parse_bench_json('hello\n{"a": 1}\n{broken\n  {"b": 2}  \n')
        self.assertEqual(rows, [{"a": 1}, {"b": 2}])

    def test_best_backend_per_metric_and_one_run_per_shape(self):
        c = compare.Charrnn(self.fake.path, 2.5, "all")
        train = compare.measure_charrnn(c, compare.WORKLOADS["h512b1"])
        sample = compare.measure_charrnn(c, compare.WORKLOADS["sample512"])
        self.assertEqual(train[:2], (9000.0, "avx512"))
        self.assertEqual(sample[:2], (2000.0, "generic"))
        calls = self.fake.calls()
        self.assertEqual(len(calls), 1, "h512b1 and sample512 share one bench run")
        self.assertEqual(calls[0], ["bench", "-hidden", "512", "-seq", "100", "-batch", "1",
                                    "-vocab", "65", "-duration", "2.5s", "-backend", "all",
                                    "-json"])

    def test_figure_command_names_the_winning_backend(self):
        c = compare.Charrnn(self.fake.path, 2.5, "all")
        r = compare.measure_charrnn(c, compare.WORKLOADS["h512b1"])
        self.assertTrue(r.command.endswith("-duration 2.5s -backend avx512 -json"), r.command)

    def test_gated_workload_skipped_without_cell_flag(self):
        c = compare.Charrnn(self.fake.path, 1, "all")
        r = compare.measure_charrnn(c, compare.WORKLOADS["lstm512b32"])
        self.assertEqual(r, compare.Result(None, compare.NO_CELLS))
        self.assertEqual(self.fake.calls(), [["bench", "-h"]], "only the usage was asked")

    def test_gated_workload_with_cell_flag(self):
        fake = FakeCharrnn(FAKE_CELLS)
        try:
            c = compare.Charrnn(fake.path, 3, "all")
            r = compare.measure_charrnn(c, compare.WORKLOADS["lstm512b32"])
            calls = fake.calls()
        finally:
            fake.close()
        self.assertEqual(r.rate, 20000.0, "the 2-layer LSTM's row, not the 1-layer one")
        self.assertEqual(calls[1], ["bench", "-cell", "lstm", "-layers", "2", "-hidden", "512",
                                    "-seq", "100", "-batch", "32", "-vocab", "65",
                                    "-duration", "3s", "-backend", "all", "-json"])

    def test_rows_without_cell_are_a_one_layer_rnn(self):
        row = {"hidden": 512, "seq": 100, "batch": 1, "vocab": 65}
        self.assertTrue(compare.row_matches(row, compare.WORKLOADS["h512b1"]))
        self.assertFalse(compare.row_matches(row, compare.WORKLOADS["lstm512b1"]))

    def test_default_backend_passes_no_flag(self):
        c = compare.Charrnn(self.fake.path, 10, "default")
        compare.measure_charrnn(c, compare.WORKLOADS["h512b1"])
        self.assertNotIn("-backend", self.fake.calls()[0])
        self.assertIn("10s", self.fake.calls()[0])

    def test_missing_shape_is_reported(self):
        c = compare.Charrnn(self.fake.path, 1, "all")
        r = compare.measure_charrnn(c, compare.WORKLOADS["h512b32"])
        self.assertIsNone(r.rate)
        self.assertIn("no JSON line for rnn x1 H512 T100 B32", r.note)

    def test_failure_gives_last_stderr_line(self):
        fail = FakeCharrnn(FAKE_FAIL)
        try:
            c = compare.Charrnn(fail.path, 1, "nope")
            r = compare.measure_charrnn(c, compare.WORKLOADS["tiny"])
        finally:
            fail.close()
        self.assertIsNone(r.rate)
        self.assertEqual(r.note, 'exit 2: charrnn: unknown backend "nope"')

    def test_missing_binary(self):
        c = compare.Charrnn("/nonexistent/charrnn", 1, "all")
        r = compare.measure_charrnn(c, compare.WORKLOADS["tiny"])
        self.assertIsNone(r.rate)
        self.assertIn("cannot run", r.note)

    def run_main(self, *extra):
        out, err = io.StringIO(), io.StringIO()
        with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
            rc = compare.main(["--systems", "charrnn", "--charrnn", self.fake.path,
                               "--duration", "1", "--warmup", "0"] + list(extra))
        self.assertEqual(rc, 0)
        return out.getvalue()

    def test_main_text_table(self):
        text = self.run_main("--workloads", "h512b1,sample512,h512b32")
        self.assertIn("9,000", text)
        self.assertIn("2,000", text)
        self.assertIn("charrnn h512b32: no JSON line", text)
        self.assertIn("CPU:", text)
        self.assertIn("h512b1, charrnn: 9,000 chars/s: %s bench -hidden 512" % self.fake.path, text)
        self.assertIn("the whole table: bench/compare.sh --workloads h512b1,sample512,h512b32 "
                      "--systems charrnn --duration 1 --warmup 0\n", text + "\n")

    def test_main_names_options_that_are_not_the_default(self):
        text = self.run_main("--workloads", "tiny", "--backend", "avx2", "--torch-threads", "1")
        self.assertIn("--workloads tiny --systems charrnn --duration 1 --warmup 0 "
                      "--torch-threads 1 --backend avx2", text)

    def test_main_repeat_takes_the_median_round(self):
        rates = iter([3000, 1000, 2000])

        def fake_rows(wl):
            return [{"backend": "avx512", "hidden": 512, "seq": 100, "batch": 1, "vocab": 65,
                     "train_chars_per_sec": next(rates)}]
        c = compare.Charrnn(self.fake.path, 1, "all")
        c.rows = fake_rows
        args = compare.parse_args(["--systems", "charrnn", "--repeat", "3", "--workloads", "h512b1"])
        (wl, res), = compare.measure_rounds(args.workload_list, ["charrnn"], None, c, args)
        self.assertEqual(res["charrnn"].rate, 2000)
        self.assertEqual(res["charrnn"].rates, (3000, 1000, 2000))
        lines = compare.command_lines([(wl, res)], ["charrnn"], args.torch_threads)
        self.assertIn("h512b1, charrnn: 2,000 chars/s (median of 3,000, 1,000, 2,000): ", lines[0])

    def test_main_repeat_measures_every_round(self):
        text = self.run_main("--workloads", "h512b1", "--repeat", "2")
        self.assertEqual(sum(1 for argv in self.fake.calls() if argv[:1] == ["bench"]), 2)
        self.assertIn("median of 2 rounds", text)
        self.assertIn("--repeat 2", text)

    def test_main_markdown(self):
        text = self.run_main("--workloads", "tiny,h512b1", "--markdown")
        lines = text.splitlines()
        self.assertTrue(lines[0].startswith("| workload | cell | L | H | T | B | measure | charrnn |"))
        self.assertTrue(lines[1].startswith("| --- |"))
        self.assertIn("| h512b1 | rnn | 1 | 512 | 100 | 1 | train chars/s | 9,000 | avx512 |", text)
        self.assertIn("- CPU: ", text)


class Ratios(unittest.TestCase):
    def test_ratio_against_the_faster_thread_count(self):
        wl = compare.WORKLOADS["h512b1"]
        res = {"torch1": compare.Result(1000.0), "torch2": compare.Result(250.0),
               "numpy": compare.Result(None, "x"), "charrnn": compare.Result(5000.0, "avx2")}
        header, rows = compare.table_rows([(wl, res)], ["torch", "numpy", "charrnn"], [1, 2])
        row = dict(zip(header, rows[0]))
        self.assertEqual(row["PyTorch 1T"], "1,000")
        self.assertEqual(row["PyTorch 2T"], "250")
        self.assertEqual(row["charrnn/PyTorch"], "5.00x")
        self.assertEqual(row["charrnn/numpy"], "-")
        self.assertEqual(row["charrnn backend"], "avx2")

    def test_slow_blas_warning(self):
        ref = "/usr/lib/x86_64-linux-gnu/blas/libblas.so.3.11.0"
        self.assertIn("libopenblas0", compare.slow_blas_warning("PyTorch 1.13; BLAS " + ref))
        self.assertIsNone(compare.slow_blas_warning(
            "PyTorch 1.13; BLAS /usr/lib/x86_64-linux-gnu/openblas-pthread/libblas.so.3 (OpenBLAS core Haswell)"))
        self.assertIsNone(compare.slow_blas_warning("PyTorch 2.1; BLAS /opt/intel/libmkl_rt.so.2"))

    def test_torch_command(self):
        argv = compare.torch_command(compare.WORKLOADS["gru512b32"], 2, 8, 2, "/usr/bin/python3")
        self.assertEqual(argv, ["/usr/bin/python3", "bench/torch_workloads.py", "--kind", "train",
                                "--cell", "gru", "--layers", "2", "--hidden", "512", "--seq",
                                "100", "--batch", "32", "--threads", "2", "--duration", "8",
                                "--warmup", "2"])

    def test_bad_arguments(self):
        for argv in (["--workloads", "nope"], ["--torch-threads", "0"], ["--duration", "0"]):
            with contextlib.redirect_stderr(io.StringIO()), self.assertRaises(SystemExit):
                compare.parse_args(argv)


@unittest.skipIf(numpy is None, "numpy not installed")
class NotebookAlgorithm(unittest.TestCase):
    """The fixed notebook algorithm computes the true gradient of its loss."""

    def test_gradient_check(self):
        np = numpy
        m = compare.NotebookRNN(np, 6, 7, np.float64)
        m.b += 0.1 * np.random.RandomState(2).standard_normal(m.b.shape)
        m.c += 0.1 * np.random.RandomState(3).standard_normal(m.c.shape)
        inputs, targets = [1, 3, 0, 6, 2], [3, 0, 6, 2, 5]
        hprev = 0.3 * np.ones((6, 1))

        def loss():
            _, _, ps = m.forward(inputs, hprev)
            return m.loss(ps, targets)

        grads = m.backward(*m.forward(inputs, hprev), targets)
        eps = 1e-6
        for p, g in zip(m.params(), grads):
            self.assertLess(np.max(np.abs(g)), compare.CLIP, "test must stay below the clip")
            for i in range(p.size):
                old = p.flat[i]
                p.flat[i] = old + eps
                up = loss()
                p.flat[i] = old - eps
                down = loss()
                p.flat[i] = old
                num = (up - down) / (2 * eps)
                self.assertAlmostEqual(g.flat[i], num, delta=1e-6 * max(1, abs(num)))

    def test_training_lowers_loss(self):
        np = numpy
        m = compare.NotebookRNN(np, 16, 5, np.float64)
        seq = [0, 1, 2, 3, 4] * 6
        h = np.zeros((16, 1))
        first, _ = m.train_step(seq[:-1], seq[1:], h)
        self.assertAlmostEqual(first / (len(seq) - 1), math.log(5), delta=0.2)
        for _ in range(200):
            last, _ = m.train_step(seq[:-1], seq[1:], h)
        self.assertLess(last, first / 10)

    def test_measure_skips_batches(self):
        r = compare.measure_numpy(numpy, compare.WORKLOADS["h512b32"], 0.01, 0, "float64")
        self.assertIsNone(r.rate)
        self.assertIn("B=1 only", r.note)

    def test_measure_smoke(self):
        for name in ("tiny", "sample512"):
            r = compare.measure_numpy(numpy, compare.WORKLOADS[name], 0.05, 0, "float32")
            self.assertGreater(r.rate, 0)


# ---------------------------------------------------------------------------------------------
# PyTorch: the workloads compute what the references compute


def np_sigmoid(x):
    return 1 / (1 + numpy.exp(-x))


def np_cell_step(cell, w, x, state):
    """One step of PyTorch's nn.RNN/LSTM/GRU equations, in numpy (w: that layer's tensors)."""
    sig, tanh = np_sigmoid, numpy.tanh
    wi, wh, bi, bh = w
    if cell == "rnn":
        h = tanh(wi @ x + bi + wh @ state + bh)
        return h, h
    if cell == "lstm":
        h, c = state
        i, f, g, o = numpy.split(wi @ x + bi + wh @ h + bh, 4)
        c = sig(f) * c + sig(i) * tanh(g)
        h = sig(o) * tanh(c)
        return h, (h, c)
    r_i, z_i, n_i = numpy.split(wi @ x + bi, 3)
    r_h, z_h, n_h = numpy.split(wh @ state + bh, 3)
    r, z = sig(r_i + r_h), sig(z_i + z_h)
    n = tanh(n_i + r * n_h)  # b_hn is inside the reset gate's product
    h = (1 - z) * n + z * state
    return h, h


def np_window_loss(net, ids, batch_states):
    """Cross-entropy of a (T+1, B) window, summed over time and averaged over B, in numpy."""
    layers = [[getattr(net.rnn, "%s_l%d" % (name, l)).detach().numpy().astype(numpy.float64)
               for name in ("weight_ih", "weight_hh", "bias_ih", "bias_hh")]
              for l in range(net.layers)]
    wo = net.out.weight.detach().numpy().astype(numpy.float64)
    bo = net.out.bias.detach().numpy().astype(numpy.float64)
    total = 0.0
    for b, states in enumerate(batch_states):
        for t in range(ids.shape[0] - 1):
            x = numpy.eye(torch_workloads.VOCAB)[ids[t, b]]
            for l in range(net.layers):
                x, states[l] = np_cell_step(net.cell, layers[l], x, states[l])
            y = wo @ x + bo
            y = y - y.max()
            total -= y[ids[t + 1, b]] - math.log(numpy.exp(y).sum())
    return total / len(batch_states)


@unittest.skipIf(torch is None or numpy is None, "PyTorch or numpy not installed")
class TorchWorkloads(unittest.TestCase):
    """In float64, so that the comparisons can be tight."""

    def setUp(self):
        self.dtype = torch.get_default_dtype()
        torch.set_default_dtype(torch.float64)

    def tearDown(self):
        torch.set_default_dtype(self.dtype)

    def net(self, cell, layers, hidden):
        torch.manual_seed(3)
        return torch_workloads.Net(torch, cell, layers, hidden)

    def test_cells_match_their_equations(self):
        ids = torch.randint(0, torch_workloads.VOCAB, (7, 2), generator=torch.Generator().manual_seed(4))
        for cell in ("rnn", "lstm", "gru"):
            with self.subTest(cell=cell):
                net = self.net(cell, 2, 8)
                state = net.zero_state(2)
                with torch.no_grad():
                    loss, _ = net.loss(ids, state)
                zero = numpy.zeros(8)
                start = (zero, zero) if cell == "lstm" else zero
                want = np_window_loss(net, ids.numpy(), [[start] * 2 for _ in range(2)])
                self.assertAlmostEqual(float(loss), want, delta=1e-9 * abs(want))

    def test_train_step_carries_the_state(self):
        """Step 2 starts from the state step 1 ended with (computed before its update)."""
        net = self.net("lstm", 2, 6)
        step = torch_workloads.train_step_fn(torch, net, seq=4, batch=3)
        ids = torch.randint(0, torch_workloads.VOCAB, (torch_workloads.STREAM_LEN, 3),
                            generator=torch.Generator().manual_seed(torch_workloads.SEED))
        with torch.no_grad():
            _, carried = net.loss(ids[0:5], net.zero_state(3))
        step()
        with torch.no_grad():
            want, _ = net.loss(ids[4:9], carried)
            fresh, _ = net.loss(ids[4:9], net.zero_state(3))
        got = float(step())
        self.assertAlmostEqual(got, float(want), delta=1e-12 * abs(got))
        self.assertNotAlmostEqual(got, float(fresh), delta=1e-6 * abs(got))

    def test_rnn_matches_the_notebook(self):
        """Same weights, same window: the notebook's loss, gradients and Adagrad step."""
        np = numpy
        hidden = 10
        nb = compare.NotebookRNN(np, hidden, torch_workloads.VOCAB, np.float64)
        nb.b += 0.1 * np.random.RandomState(2).standard_normal(nb.b.shape)
        nb.c += 0.1 * np.random.RandomState(3).standard_normal(nb.c.shape)
        net = self.net("rnn", 1, hidden)
        with torch.no_grad():
            net.rnn.weight_ih_l0.copy_(torch.from_numpy(nb.U))
            net.rnn.weight_hh_l0.copy_(torch.from_numpy(nb.W))
            net.rnn.bias_ih_l0.copy_(torch.from_numpy(nb.b[:, 0]))
            net.rnn.bias_hh_l0.zero_()
            net.out.weight.copy_(torch.from_numpy(nb.V))
            net.out.bias.copy_(torch.from_numpy(nb.c[:, 0]))
        seq = [5, 17, 3, 64, 0, 9, 33, 17, 2]
        hprev = 0.2 * np.ones((hidden, 1))
        xs, hs, ps = nb.forward(seq[:-1], hprev)
        want_loss = nb.loss(ps, seq[1:])
        want_grads = nb.backward(xs, hs, ps, seq[1:])
        loss, h_last = net.loss(torch.tensor(seq).view(-1, 1),
                                torch.from_numpy(hprev[:, 0]).view(1, 1, hidden))
        loss.backward()
        self.assertAlmostEqual(float(loss), want_loss, delta=1e-10 * want_loss)
        np.testing.assert_allclose(h_last.detach().numpy().ravel(), hs[len(seq) - 2].ravel(),
                                   rtol=1e-12)
        got = [net.rnn.weight_ih_l0.grad, net.rnn.weight_hh_l0.grad, net.out.weight.grad,
               net.rnn.bias_ih_l0.grad.view(-1, 1), net.out.bias.grad.view(-1, 1)]
        for g, w in zip(got, want_grads):  # U, W, V, b, c
            self.assertLess(np.abs(w).max(), compare.CLIP, "test must stay below the clip")
            np.testing.assert_allclose(g.numpy(), w, rtol=1e-9, atol=1e-12)
        # Adagrad's first step: the notebook's p -= lr g / sqrt(g^2 + 1e-8) and torch's
        # p -= lr g / (sqrt(g^2) + 1e-10) differ where |g| is near 1e-4 or below (torch's
        # step is then larger); they agree to 1e-4 relative where |g| > 1e-2.
        params = [net.rnn.weight_ih_l0, net.rnn.weight_hh_l0, net.out.weight,
                  net.rnn.bias_ih_l0, net.out.bias]
        before = [p.detach().numpy().copy() for p in params]
        opt = torch.optim.Adagrad(params, lr=compare.LR, foreach=True)
        opt.step()
        nb_before = [p.copy() for p in nb.params()]
        nb.adagrad(want_grads)
        for p, p0, w, w0, g in zip(params, before, nb.params(), nb_before, want_grads):
            step = (p.detach().numpy() - p0).reshape(w.shape)
            big = np.abs(g) > 1e-2
            self.assertGreater(big.sum(), 0)
            np.testing.assert_allclose(step[big], (w - w0)[big], rtol=1e-4)

    def test_measure_gives_a_rate_and_its_command(self):
        r = compare.measure_torch(compare.WORKLOADS["tiny"], 1, 0.05, 0, sys.executable)
        self.assertGreater(r.rate, 0, r.note)
        self.assertIn("bench/torch_workloads.py --kind train --cell rnn --layers 1 --hidden 100",
                      r.command)
        r = compare.measure_torch(compare.WORKLOADS["sample-lstm512"], 1, 0.05, 0, sys.executable)
        self.assertGreater(r.rate, 0, r.note)

    def test_measure_sets_its_environment(self):
        proc = subprocess.run([sys.executable, os.path.join(HERE, "torch_workloads.py"),
                               "--hidden", "8", "--seq", "3", "--threads", "2",
                               "--duration", "0.01", "--warmup", "0"],
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        self.assertEqual(proc.returncode, 0, proc.stderr)
        r = json.loads(proc.stdout.splitlines()[-1])
        self.assertEqual(r["threads"], 2)
        self.assertEqual(r["glibc_tunables"], torch_workloads.GLIBC_TUNABLES)
        self.assertEqual(r["openblas_num_threads"], "2")


@unittest.skipIf(torch is None, "PyTorch not installed")
class Quality(unittest.TestCase):
    def test_split(self):
        train, held = quality_torch.split(bytes(range(100)), 0.1)
        self.assertEqual((len(train), len(held)), (90, 10))
        self.assertEqual(held[0], 90)

    def test_heldout_loss_does_not_depend_on_chunks(self):
        torch.manual_seed(6)
        for cell in ("lstm", "gru"):
            m = quality_torch.Model(torch, cell, 11, 7, 2)
            ids = torch.randint(0, 11, (50,), generator=torch.Generator().manual_seed(7))
            whole = quality_torch.heldout_loss(torch, m, ids, chunk=4096)
            pieces = quality_torch.heldout_loss(torch, m, ids, chunk=6)
            self.assertAlmostEqual(whole, pieces, delta=1e-5 * whole)
            self.assertGreater(whole, 0)


class Corpus(unittest.TestCase):
    def test_build_is_deterministic_and_cut_to_whole_lines(self):
        build = os.path.join(HERE, "corpus", "build.sh")
        with tempfile.TemporaryDirectory() as d:
            outs = []
            for name in ("a", "b"):
                path = os.path.join(d, name)
                proc = subprocess.run(["sh", build, path, "30000"], stdout=subprocess.PIPE,
                                      stderr=subprocess.PIPE, text=True)
                if proc.returncode != 0 and "missing" in proc.stderr:
                    self.skipTest(proc.stderr.strip())
                self.assertEqual(proc.returncode, 0, proc.stderr)
                with open(path, "rb") as f:
                    outs.append(f.read())
        self.assertEqual(outs[0], outs[1])
        self.assertLessEqual(len(outs[0]), 30000)
        self.assertGreater(len(outs[0]), 29000)
        self.assertTrue(outs[0].endswith(b"\n"))
        self.assertTrue(outs[0].startswith(b"GNU GENERAL PUBLIC LICENSE"))


if __name__ == "__main__":
    unittest.main()
