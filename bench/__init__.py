"""Benchmarks: the report's queries on the embedded engine vs a pandas baseline, charts,
the whole `flowdigest run`, and what the report would scan (and cost) on Athena.

Entry point: `python -m bench.run` (or `make bench`); see bench/README.md.
"""
