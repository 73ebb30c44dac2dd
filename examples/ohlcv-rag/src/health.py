"""Health check: ``python -m src.health`` exits 0 if the app can do its job."""

from __future__ import annotations

import sys

from . import __version__
from .config import api_key_status
from .data import load_sample
from .features import compute_features


def check() -> str:
    """Load the packaged sample data and compute features; return a status line."""
    rows = compute_features(load_sample(), 5)
    return f"ohlcv-rag {__version__}: ok ({len(rows)} sample rows); {api_key_status()}"


def main() -> int:
    """Print the status line; exit 1 with the error if the check fails."""
    try:
        print(check())
    except Exception as exc:  # noqa: BLE001 - report any failure as unhealthy
        print(f"unhealthy: {exc}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
