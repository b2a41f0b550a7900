"""What scene detection found, as a value that can travel between Dagster ops.

Frozen, with tuples instead of lists, so a result handed from one step to the next cannot be
changed on the way; `SceneMotionResult.to_dict` / `SceneMotionResult.from_dict` give the
JSON-ready form used where it is stored or passed as plain data.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class SceneMotionResult:
    """Transitions (time of the first frame of each new scene, or the middle of a fade or
    dissolve), their strengths and kinds, a motion summary and what the analysis cost."""

    cut_times: tuple[float, ...]
    scores: tuple[float, ...]
    mean_motion: float
    motion_timeline: tuple[tuple[float, float], ...]
    frames_analyzed: int
    analysis_fps: float
    method: str
    cut_kinds: tuple[str, ...] = ()
    frames_decoded: int = 0
    gops: int = 0
    gops_decoded: int = 0

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready dict (lists, numbers, strings); `from_dict` reads it back."""
        return {
            "cut_times": list(self.cut_times),
            "scores": list(self.scores),
            "mean_motion": self.mean_motion,
            "motion_timeline": [list(point) for point in self.motion_timeline],
            "frames_analyzed": self.frames_analyzed,
            "analysis_fps": self.analysis_fps,
            "method": self.method,
            "cut_kinds": list(self.cut_kinds),
            "frames_decoded": self.frames_decoded,
            "gops": self.gops,
            "gops_decoded": self.gops_decoded,
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> SceneMotionResult:
        """The result `to_dict` wrote (after a JSON round trip: lists where tuples were)."""
        return cls(
            cut_times=tuple(float(t) for t in data["cut_times"]),
            scores=tuple(float(s) for s in data["scores"]),
            mean_motion=float(data["mean_motion"]),
            motion_timeline=tuple((float(t), float(v)) for t, v in data["motion_timeline"]),
            frames_analyzed=int(data["frames_analyzed"]),
            analysis_fps=float(data["analysis_fps"]),
            method=str(data["method"]),
            cut_kinds=tuple(str(k) for k in data.get("cut_kinds", ())),
            frames_decoded=int(data.get("frames_decoded", 0)),
            gops=int(data.get("gops", 0)),
            gops_decoded=int(data.get("gops_decoded", 0)),
        )
