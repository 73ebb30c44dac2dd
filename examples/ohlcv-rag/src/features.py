"""Feature calculations over a series of bars.

Every series function returns a list aligned with its input, holding
``None`` where the value is undefined (e.g. a window that is not full yet).
"""

from __future__ import annotations

import math
import statistics
from dataclasses import dataclass
from typing import Optional, Sequence

from .data import Bar

Series = list[Optional[float]]


def simple_returns(closes: Sequence[float]) -> Series:
    """Close-to-close simple returns ``c[i] / c[i-1] - 1`` (first is ``None``)."""
    return [None] + [c / p - 1 for p, c in zip(closes, closes[1:])]


def log_returns(closes: Sequence[float]) -> Series:
    """Close-to-close log returns ``ln(c[i] / c[i-1])`` (first is ``None``)."""
    return [None] + [math.log(c / p) for p, c in zip(closes, closes[1:])]


def _check_window(n: int, minimum: int = 1) -> None:
    if n < minimum:
        raise ValueError(f"window must be >= {minimum}, got {n}")


def sma(values: Sequence[Optional[float]], n: int) -> Series:
    """Simple moving average over the last ``n`` values (``None`` until full)."""
    _check_window(n)
    out: Series = []
    for i in range(len(values)):
        win = values[max(0, i - n + 1) : i + 1]
        full = len(win) == n and None not in win
        out.append(sum(win) / n if full else None)  # type: ignore[arg-type]
    return out


def rolling_volatility(returns: Sequence[Optional[float]], n: int) -> Series:
    """Sample standard deviation of the last ``n`` returns (``None`` until full)."""
    _check_window(n, minimum=2)
    out: Series = []
    for i in range(len(returns)):
        win = returns[max(0, i - n + 1) : i + 1]
        full = len(win) == n and None not in win
        out.append(statistics.stdev(win) if full else None)  # type: ignore[arg-type]
    return out


def true_range(bars: Sequence[Bar]) -> list[float]:
    """True range: max(high - low, |high - prev close|, |low - prev close|).

    The first bar has no previous close, so its true range is ``high - low``.
    """
    out = [bars[0].high - bars[0].low] if bars else []
    for prev, bar in zip(bars, bars[1:]):
        out.append(
            max(bar.high - bar.low, abs(bar.high - prev.close), abs(bar.low - prev.close))
        )
    return out


def average_true_range(bars: Sequence[Bar], n: int) -> Series:
    """Average true range: simple mean of the last ``n`` true ranges."""
    return sma(true_range(bars), n)


@dataclass(frozen=True)
class FeatureRow:
    """Features for one day; ``None`` marks a value whose window is not full."""

    bar: Bar
    ret: Optional[float]
    sma: Optional[float]
    volatility: Optional[float]
    atr: Optional[float]


def compute_features(bars: Sequence[Bar], window: int) -> list[FeatureRow]:
    """Compute return, SMA(close), volatility(returns) and ATR per bar."""
    closes = [b.close for b in bars]
    rets = simple_returns(closes)
    columns = zip(bars, rets, sma(closes, window), rolling_volatility(rets, window),
                  average_true_range(bars, window))
    return [FeatureRow(*cols) for cols in columns]
