"""Benchmarks: the plugins as real processes against the sandbox, whose counters are the source of truth.

Run by hand, never as timed assertions in the test suite: ``.venv/bin/python -m benchmarks.run --quick`` (a
few seconds) or ``--full`` (the sizes the README reports). See ``benchmarks/run.py``.
"""
