"""Command-line entrypoint: print a per-day feature table for OHLCV data.

Usage: ``python -m src.main [--data PATH] [--window N]``.
"""

from __future__ import annotations

import argparse
import sys
from typing import Optional, Sequence

from . import __version__
from .data import load_bars, load_sample
from .features import FeatureRow, compute_features

MISSING = "-"


def _fmt(value: Optional[float], spec: str) -> str:
    """Format ``value`` with ``spec``, or ``-`` if it is undefined."""
    return MISSING if value is None else format(value, spec)


def format_table(rows: Sequence[FeatureRow], window: int) -> list[str]:
    """Render the fixed-width feature table (header, rule, one line per day)."""
    header = (f"{'date':<10}  {'close':>9}  {'return %':>8}  {f'SMA({window})':>9}  "
              f"{f'vol({window}) %':>9}  {f'ATR({window})':>8}")
    lines = [header, "-" * len(header)]
    for r in rows:
        ret = None if r.ret is None else r.ret * 100
        vol = None if r.volatility is None else r.volatility * 100
        lines.append(
            f"{r.bar.date.isoformat():<10}  {r.bar.close:>9.2f}  {_fmt(ret, '+.2f'):>8}  "
            f"{_fmt(r.sma, '.2f'):>9}  {_fmt(vol, '.2f'):>9}  {_fmt(r.atr, '.2f'):>8}"
        )
    return lines


def summarize(rows: Sequence[FeatureRow], window: int) -> str:
    """One-line summary: span, total close-to-close change and last ATR."""
    first, last = rows[0].bar, rows[-1].bar
    change = (last.close / first.close - 1) * 100
    return (f"{len(rows)} days {first.date}..{last.date}: close {first.close:.2f} -> "
            f"{last.close:.2f} ({change:+.2f}%), last ATR({window}) "
            f"{_fmt(rows[-1].atr, '.2f')}")


def build_parser() -> argparse.ArgumentParser:
    """Create the argument parser."""
    parser = argparse.ArgumentParser(
        prog="ohlcv-features",
        description="Print returns, SMA, volatility and ATR for daily OHLCV bars.",
    )
    parser.add_argument("--data", metavar="PATH",
                        help="CSV with date,open,high,low,close,volume "
                             "(default: packaged sample data)")
    parser.add_argument("--window", metavar="N", type=int, default=5,
                        help="rolling window length in days, >= 2 (default: 5)")
    parser.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    return parser


def main(argv: Optional[Sequence[str]] = None) -> int:
    """Run the CLI; return the process exit code (0 on success)."""
    parser = build_parser()
    args = parser.parse_args(argv)
    if args.window < 2:
        parser.error("--window must be >= 2")
    try:
        bars = load_sample() if args.data is None else load_bars(args.data)
    except (OSError, ValueError) as exc:
        source = args.data or "sample data"
        parser.exit(2, f"{parser.prog}: error: {source}: {exc}\n")
    rows = compute_features(bars, args.window)
    print("\n".join(format_table(rows, args.window)))
    print(summarize(rows, args.window))
    return 0


if __name__ == "__main__":
    sys.exit(main())
