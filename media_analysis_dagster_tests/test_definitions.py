"""The code location loads, and loading it stays cheap (every run starts a fresh process)."""

from __future__ import annotations

import subprocess
import sys

from dagster import Definitions

from media_analysis_dagster.definitions import defs


def test_definitions_are_loadable() -> None:
    Definitions.validate_loadable(defs)


def test_dg_check_defs_loads_the_project() -> None:
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "dagster",
            "definitions",
            "validate",
            "-m",
            "media_analysis_dagster.definitions",
        ],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr[-2000:]


def test_heavy_libraries_are_not_imported_with_the_definitions() -> None:
    code = (
        "import sys, media_analysis_dagster.definitions as d; "
        "print(sorted(m for m in ('av', 'cv2', 'openai', 'deepgram', 'PIL', 'pypdf', "
        "'pypdfium2', 'numpy') if m in sys.modules))"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=60, check=True
    ).stdout.strip()
    assert out == "[]"
