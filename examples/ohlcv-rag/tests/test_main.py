"""Tests for the command-line entrypoint."""

import contextlib
import io
import os
import subprocess
import sys
import tempfile
import unittest

from src.main import main

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def run(argv):
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        try:
            code = main(argv)
        except SystemExit as exc:
            code = exc.code
    return code, out.getvalue(), err.getvalue()


class MainTest(unittest.TestCase):
    def test_default_sample_table(self):
        code, out, _ = run([])
        lines = out.splitlines()
        self.assertEqual(code, 0)
        self.assertTrue(lines[0].startswith("date"))
        self.assertIn("ATR(5)", lines[0])
        days = lines[2:-1]
        self.assertEqual(len(days), 30)
        self.assertEqual(len({len(line) for line in lines[:-1]}), 1, "fixed width")
        self.assertIn("-", days[3].split()[3:])  # SMA(5) not full on day 4
        self.assertNotIn("-", days[5].split()[1:])  # everything full on day 6
        self.assertTrue(lines[-1].startswith("30 days"))

    def test_custom_data_and_window(self):
        with tempfile.TemporaryDirectory() as tmp:
            path = os.path.join(tmp, "d.csv")
            with open(path, "w", encoding="utf-8") as fh:
                fh.write("date,open,high,low,close,volume\n"
                         "2024-01-02,10,11,9,10,5\n2024-01-03,10,12,10,11,5\n"
                         "2024-01-04,11,12,10,11.5,5\n")
            code, out, _ = run(["--data", path, "--window", "2"])
        self.assertEqual(code, 0)
        self.assertIn("SMA(2)", out)
        self.assertEqual(len(out.splitlines()), 6)

    def test_bad_data_exits_2_with_line_number(self):
        with tempfile.TemporaryDirectory() as tmp:
            path = os.path.join(tmp, "bad.csv")
            with open(path, "w", encoding="utf-8") as fh:
                fh.write("date,open,high,low,close,volume\n2024-01-02,10,9,8,10,5\n")
            code, _, err = run(["--data", path])
        self.assertEqual(code, 2)
        self.assertIn("line 2", err)

    def test_window_too_small(self):
        code, _, _ = run(["--window", "1"])
        self.assertEqual(code, 2)

    def test_python_dash_m(self):
        proc = subprocess.run([sys.executable, "-m", "src.main"], cwd=ROOT,
                              capture_output=True, text=True, check=False)
        self.assertEqual(proc.returncode, 0, proc.stderr)
        self.assertIn("close", proc.stdout.splitlines()[0])


if __name__ == "__main__":
    unittest.main()
