"""Media made by other people (real phone videos, podcasts, scans), when the checkout has it.

Generated media cannot show everything real files do, and real files cannot live in the
repository (size, licences). ``MEDIA_ANALYSIS_REAL_MEDIA_DIR`` points at a folder of them
(``.ci/run`` sets it to ``../shared/media`` when that folder exists); without it, the tests that
need one skip and say why.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest


def real_media(*parts: str) -> Path:
    """A file under ``MEDIA_ANALYSIS_REAL_MEDIA_DIR`` (media made by others), or skip."""
    root = os.environ.get("MEDIA_ANALYSIS_REAL_MEDIA_DIR")
    if not root:
        pytest.skip("MEDIA_ANALYSIS_REAL_MEDIA_DIR is not set (point it at shared/media)")
    path = Path(root, *parts)
    if not path.is_file():
        pytest.skip(f"{path} is missing")
    return path
