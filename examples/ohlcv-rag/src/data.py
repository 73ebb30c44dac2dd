"""Loading and validating daily OHLCV bars from CSV."""

from __future__ import annotations

import csv
import datetime as dt
import io
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Iterable

COLUMNS = ("date", "open", "high", "low", "close", "volume")
SAMPLE_NAME = "sample.csv"


@dataclass(frozen=True)
class Bar:
    """One trading day: ISO date, open/high/low/close prices and volume."""

    date: dt.date
    open: float
    high: float
    low: float
    close: float
    volume: float


def _parse_row(row: dict[str, str], line: int) -> Bar:
    """Convert one CSV row to a validated :class:`Bar` (``line`` is for errors)."""
    try:
        date = dt.date.fromisoformat(row["date"].strip())
        o, h, l, c, v = (float(row[k]) for k in COLUMNS[1:])
    except (TypeError, ValueError) as exc:
        raise ValueError(f"line {line}: cannot parse row {row!r}: {exc}") from None
    if min(o, h, l, c) <= 0:
        raise ValueError(f"line {line}: prices must be positive")
    if h < max(o, c):
        raise ValueError(f"line {line}: high {h} is below max(open, close) {max(o, c)}")
    if l > min(o, c):
        raise ValueError(f"line {line}: low {l} is above min(open, close) {min(o, c)}")
    if v < 0:
        raise ValueError(f"line {line}: volume {v} is negative")
    return Bar(date, o, h, l, c, v)


def parse_bars(lines: Iterable[str]) -> list[Bar]:
    """Parse CSV text lines (header first) into bars with strictly increasing dates.

    Raises ``ValueError`` naming the 1-based line number of the first bad row.
    """
    reader = csv.DictReader(lines)
    missing = [c for c in COLUMNS if c not in (reader.fieldnames or [])]
    if missing:
        raise ValueError(f"line 1: missing column(s): {', '.join(missing)}")
    bars: list[Bar] = []
    for row in reader:
        bar = _parse_row(row, reader.line_num)
        if bars and bar.date <= bars[-1].date:
            raise ValueError(
                f"line {reader.line_num}: date {bar.date} is not after {bars[-1].date}"
            )
        bars.append(bar)
    if not bars:
        raise ValueError("no data rows")
    return bars


def load_bars(path: str | Path) -> list[Bar]:
    """Load and validate bars from the CSV file at ``path``."""
    with open(path, newline="", encoding="utf-8") as fh:
        return parse_bars(fh)


def load_sample() -> list[Bar]:
    """Load the sample data shipped inside the package (works installed or in-tree)."""
    text = resources.files(__package__).joinpath("data", SAMPLE_NAME).read_text("utf-8")
    return parse_bars(io.StringIO(text, newline=""))
