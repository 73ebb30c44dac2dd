"""Tests for CSV loading and validation."""

import datetime as dt
import os
import tempfile
import unittest

from src.data import load_bars, load_sample, parse_bars

HEADER = "date,open,high,low,close,volume"
GOOD = [HEADER, "2024-01-02,10,11,9,10.5,1000", "2024-01-03,10.5,12,10,11.5,2000"]


class ParseBarsTest(unittest.TestCase):
    def test_parses_valid_rows(self):
        bars = parse_bars(GOOD)
        self.assertEqual(len(bars), 2)
        self.assertEqual(bars[0].date, dt.date(2024, 1, 2))
        self.assertEqual((bars[1].high, bars[1].close, bars[1].volume), (12.0, 11.5, 2000.0))

    def assertBadLine(self, row, line, fragment):
        with self.assertRaises(ValueError) as ctx:
            parse_bars(GOOD + [row])
        self.assertIn(f"line {line}", str(ctx.exception))
        self.assertIn(fragment, str(ctx.exception))

    def test_high_below_open_or_close(self):
        self.assertBadLine("2024-01-04,11,11.2,10,11.5,10", 4, "high")

    def test_low_above_open_or_close(self):
        self.assertBadLine("2024-01-04,11,12,10.8,10.5,10", 4, "low")

    def test_negative_volume(self):
        self.assertBadLine("2024-01-04,11,12,10,11,-1", 4, "volume")

    def test_dates_must_increase(self):
        self.assertBadLine("2024-01-03,11,12,10,11,10", 4, "not after")

    def test_unparseable_value(self):
        self.assertBadLine("2024-01-04,abc,12,10,11,10", 4, "cannot parse")

    def test_missing_column(self):
        with self.assertRaisesRegex(ValueError, "line 1: missing column.*volume"):
            parse_bars(["date,open,high,low,close", "2024-01-02,1,1,1,1"])

    def test_empty(self):
        with self.assertRaisesRegex(ValueError, "no data rows"):
            parse_bars([HEADER])


class LoadTest(unittest.TestCase):
    def test_load_bars_from_file(self):
        with tempfile.TemporaryDirectory() as tmp:
            path = os.path.join(tmp, "bars.csv")
            with open(path, "w", encoding="utf-8") as fh:
                fh.write("\n".join(GOOD) + "\n")
            self.assertEqual(len(load_bars(path)), 2)

    def test_sample_is_packaged_and_valid(self):
        bars = load_sample()
        self.assertGreaterEqual(len(bars), 20)
        self.assertTrue(all(a.date < b.date for a, b in zip(bars, bars[1:])))


if __name__ == "__main__":
    unittest.main()
