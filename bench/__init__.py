"""Benchmarks: pytest-benchmark sweeps of the twins (see docs/methodology.md)."""
