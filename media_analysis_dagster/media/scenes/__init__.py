"""Scene transitions (hard cuts, fades, dissolves) and motion of a video.

``detect`` runs the passes (``keyframe_pass``, ``fine_pass``, ``exact_cuts``) over the frames
``decoding`` yields, judging them with ``transitions`` and ``motion``; ``result`` holds what it
returns and ``progress`` counts the seconds settled, for a caller's ``on_progress``.
`DEFAULT_THRESHOLD` and `SceneMotionResult` are imported eagerly; the detector itself is loaded
on first use (PEP 562), because it pulls numpy in, and the settings module imports this package
for the threshold when the code location loads.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

from media_analysis_dagster.media.scenes.result import SceneMotionResult

#: Mean absolute RGB difference (0-255) between consecutive 64x36 thumbnails that counts as a
#: hard cut: the default of `detect_scenes_and_motion` and of the configured scene threshold.
DEFAULT_THRESHOLD = 20.0

if TYPE_CHECKING:
    from media_analysis_dagster.media.scenes.detect import detect_scenes_and_motion
    from media_analysis_dagster.media.scenes.fine_pass import MAX_ANALYSIS_FPS
    from media_analysis_dagster.media.scenes.keyframe_pass import LONG_GOP_SECONDS

__all__ = [
    "DEFAULT_THRESHOLD",
    "LONG_GOP_SECONDS",
    "MAX_ANALYSIS_FPS",
    "SceneMotionResult",
    "detect_scenes_and_motion",
]

_LAZY = {
    "detect_scenes_and_motion": "detect",
    "LONG_GOP_SECONDS": "keyframe_pass",
    "MAX_ANALYSIS_FPS": "fine_pass",
}


def __getattr__(name: str) -> Any:
    """The names in ``_LAZY``, imported from their module when first asked for."""
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    return getattr(importlib.import_module(f"{__name__}.{module}"), name)
