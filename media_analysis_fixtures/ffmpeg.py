"""The ffmpeg binary bundled in ``imageio-ffmpeg`` (a test dependency), run quietly.

Every media maker of this package goes through `run_ffmpeg`, so no system ffmpeg is needed and
a failure always says what ffmpeg printed.
"""

from __future__ import annotations

import subprocess
from collections.abc import Sequence


def ffmpeg_exe() -> str:
    """Path of the static ffmpeg inside the imageio-ffmpeg wheel (no system ffmpeg needed)."""
    import imageio_ffmpeg

    return imageio_ffmpeg.get_ffmpeg_exe()


def run_ffmpeg(args: Sequence[str], *, timeout: float = 3600) -> None:
    """Run ffmpeg quietly; on failure raise RuntimeError carrying the tail of its stderr."""
    cmd = [ffmpeg_exe(), "-hide_banner", "-loglevel", "error", "-nostdin", "-y", *args]
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout, check=False)
    if proc.returncode != 0:
        tail = proc.stderr.strip()[-1500:]
        raise RuntimeError(f"ffmpeg failed with exit code {proc.returncode}: {tail}")


def ffmpeg(*args: str, timeout: float = 60) -> None:
    """`run_ffmpeg` with the arguments spelled out, for short one-off files in tests."""
    run_ffmpeg(args, timeout=timeout)
