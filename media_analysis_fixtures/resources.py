"""The code location's resources for tests and benchmarks, built the one way production builds
them: ``load_settings`` over the environment (plus overrides), then ``build_resources``."""

from __future__ import annotations

import os
from typing import Any

from media_analysis_dagster.definitions import build_resources
from media_analysis_dagster.settings import load_settings


def resources_from_env(**overrides: str) -> dict[str, Any]:
    """``build_resources(load_settings(os.environ | overrides))``; e.g.
    ``resources_from_env(MEDIA_ANALYSIS_DATABASE_URL=url, MEDIA_ANALYSIS_DATA_DIR=str(path))``."""
    return build_resources(load_settings({**os.environ, **overrides}))
