#!/usr/bin/env python3
"""Tests for bench/compare.py: run with `/usr/bin/python3 bench/test_compare.py`.

The charrnn path is tested against a fake `charrnn` shell script written to a temporary
directory by these tests (the real CLI may not exist yet); nothing of it is a product file.
"""

import contextlib
import io
import math
import os
import stat
import sys
import tempfile
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import compare  # noqa: E402

try:
    import numpy
except ImportError:
    numpy = None

FAKE_OK = """#!/bin/sh
echo "$@" >> "{argv_log}"
echo "backend chosen: avx512"
echo '{{"backend":"generic","hidden":512,"seq":100,"batch":1,"vocab":65,"train_chars_per_sec":1000.5,"sample_chars_per_sec":2000}}'
echo '{{"backend":"avx512","hidden":512,"seq":100,"batch":1,"vocab":65,"train_chars_per_sec":9000,"sample_chars_per_sec":1500,"ns_per_step":12}}'
echo '{{"backend":"avx512","hidden":100,"seq":25,"batch":1,"vocab":65,"train_chars_per_sec":1,"sample_chars_per_sec":1}}'
echo 'not json {{'
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
        self.assertEqual(train, compare.Result(9000.0, "avx512"))
        self.assertEqual(sample, compare.Result(2000.0, "generic"))
        calls = self.fake.calls()
        self.assertEqual(len(calls), 1, "h512b1 and sample512 share one bench run")
        self.assertEqual(calls[0], ["bench", "-hidden", "512", "-seq", "100", "-batch", "1",
                                    "-vocab", "65", "-duration", "2.5s", "-backend", "all",
                                    "-json"])

    def test_default_backend_passes_no_flag(self):
        c = compare.Charrnn(self.fake.path, 10, "default")
        compare.measure_charrnn(c, compare.WORKLOADS["h512b1"])
        self.assertNotIn("-backend", self.fake.calls()[0])
        self.assertIn("10s", self.fake.calls()[0])

    def test_missing_shape_is_reported(self):
        c = compare.Charrnn(self.fake.path, 1, "all")
        r = compare.measure_charrnn(c, compare.WORKLOADS["h512b32"])
        self.assertIsNone(r.rate)
        self.assertIn("no JSON line for H512 T100 B32", r.note)

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
                               "--duration", "1"] + list(extra))
        self.assertEqual(rc, 0)
        return out.getvalue()

    def test_main_text_table(self):
        text = self.run_main("--workloads", "h512b1,sample512,h512b32")
        self.assertIn("9,000", text)
        self.assertIn("2,000", text)
        self.assertIn("charrnn h512b32: no JSON line", text)
        self.assertIn("CPU:", text)

    def test_main_markdown(self):
        text = self.run_main("--workloads", "tiny,h512b1", "--markdown")
        lines = text.splitlines()
        self.assertTrue(lines[0].startswith("| workload | H | T | B | measure | charrnn |"))
        self.assertTrue(lines[1].startswith("| --- |"))
        self.assertIn("| h512b1 | 512 | 100 | 1 | train chars/s | 9,000 | avx512 |", text)
        self.assertIn("- CPU: ", text)


class Ratios(unittest.TestCase):
    def test_ratio_columns(self):
        wl = compare.WORKLOADS["h512b1"]
        res = {"torch": compare.Result(1000.0, ""), "numpy": compare.Result(None, "x"),
               "charrnn": compare.Result(5000.0, "avx2")}
        header, rows = compare.table_rows([(wl, res)], ["torch", "numpy", "charrnn"])
        row = dict(zip(header, rows[0]))
        self.assertEqual(row["charrnn/PyTorch"], "5.00x")
        self.assertEqual(row["charrnn/numpy"], "-")
        self.assertEqual(row["charrnn backend"], "avx2")


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


class Torch(unittest.TestCase):
    def test_measure_smoke(self):
        torch = compare.import_torch()
        if torch is None:
            self.skipTest(compare.TORCH_MISSING)
        for name in ("tiny", "sample512"):
            r = compare.measure_torch(torch, compare.WORKLOADS[name], 0.05, 0)
            self.assertGreater(r.rate, 0)

    def test_missing_torch_gives_empty_cell(self):
        r = compare.measure_torch(None, compare.WORKLOADS["tiny"], 1, 0)
        self.assertEqual(r, compare.Result(None, ""))


if __name__ == "__main__":
    unittest.main()
