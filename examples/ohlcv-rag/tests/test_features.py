"""Tests for the feature calculations."""

import datetime as dt
import math
import unittest

from src.data import Bar
from src.features import (
    average_true_range,
    compute_features,
    log_returns,
    rolling_volatility,
    simple_returns,
    sma,
    true_range,
)


def bar(day, o, h, l, c):
    return Bar(dt.date(2024, 1, day), o, h, l, c, 100.0)


BARS = [bar(2, 10, 11, 9, 10), bar(3, 10, 12, 10, 11), bar(4, 13, 14, 12.5, 13)]


class FeatureTest(unittest.TestCase):
    def test_simple_and_log_returns(self):
        self.assertEqual(simple_returns([100, 110, 99])[0], None)
        for got, want in zip(simple_returns([100, 110, 99])[1:], [0.1, -0.1]):
            self.assertAlmostEqual(got, want)
        self.assertAlmostEqual(log_returns([100, 110])[1], math.log(1.1))

    def test_sma_waits_for_full_window(self):
        self.assertEqual(sma([1, 2, 3, 4], 3), [None, None, 2.0, 3.0])
        self.assertEqual(sma([None, 2, 4], 2), [None, None, 3.0])

    def test_rolling_volatility_is_sample_stdev(self):
        vol = rolling_volatility([None, 0.01, 0.03, -0.01], 2)
        self.assertEqual(vol[:2], [None, None])
        self.assertAlmostEqual(vol[2], math.sqrt(2) * 0.01)
        self.assertAlmostEqual(vol[3], math.sqrt(2) * 0.02)

    def test_window_validation(self):
        with self.assertRaises(ValueError):
            sma([1, 2], 0)
        with self.assertRaises(ValueError):
            rolling_volatility([1, 2], 1)

    def test_true_range_uses_previous_close(self):
        # day 1: 11-9; day 2: max(2, |12-10|, |10-10|); day 3: gap up, |14-11| = 3
        self.assertEqual(true_range(BARS), [2, 2, 3])
        self.assertEqual(average_true_range(BARS, 2), [None, 2.0, 2.5])
        self.assertEqual(true_range([]), [])

    def test_compute_features_aligns_rows(self):
        rows = compute_features(BARS, 2)
        self.assertEqual([r.bar for r in rows], BARS)
        self.assertIsNone(rows[0].ret)
        self.assertAlmostEqual(rows[1].ret, 0.1)
        self.assertEqual(rows[2].sma, 12.0)
        self.assertIsNone(rows[1].volatility)
        self.assertIsNotNone(rows[2].volatility)


if __name__ == "__main__":
    unittest.main()
