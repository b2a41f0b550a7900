"""The three production processes for tests (they live in ``media_analysis_fixtures``, which
the benchmarks share)."""

from media_analysis_fixtures.processes import *  # noqa: F403
