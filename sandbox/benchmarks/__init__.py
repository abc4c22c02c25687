"""Benchmark programs (run them from the ``sandbox bench`` command; they are not tests)."""
