"""Benchmarks (not tests): scripts that print ratios and figures, run as modules from the
repository root, e.g. ``.venv/bin/python -m benchmarks.frames --quick``; ``--help`` lists each
one's options. What they share is in ``benchmarks/_common.py``."""
