"""ohlcv-rag: the OHLCV RAG system demo app.

A small, standard-library-only package that loads daily OHLCV bars from a
CSV file and derives simple market features (returns, moving average,
volatility, average true range). ``python -m src.main`` is the entrypoint.
"""

__version__ = "0.1.0"

__all__ = ["__version__"]
