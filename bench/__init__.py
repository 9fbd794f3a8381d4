"""Benchmarks: pytest-benchmark sweeps of the twins (see README)."""
