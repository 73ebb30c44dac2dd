"""Unit tests for ohlcv-rag (unittest-style; pytest collects them too)."""
