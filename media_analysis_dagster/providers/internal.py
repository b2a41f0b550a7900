"""The offline ``internal`` provider: facts computed here, no network, no keys.

Every number it reports is measured from the media; its summary says what was found and answers
the prompt only as far as those facts allow. ``confidence`` is set only where it means something
(scene cuts: how far each cut's score clears the threshold; language: the guesser's own score);
elsewhere it is ``None`` rather than an invented figure.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from ..media.scenes import DEFAULT_THRESHOLD
from .base import AnalysisTask, ProviderResult
from .chain import OnProgress, work_progress

MODEL = "internal-v1"
PLANNED_TASKS: dict[str, tuple[str, ...]] = {
    "video": (
        "metadata_extraction",
        "scene_detection",
        "face_detection",
        "audio_analysis",
        "text_analysis",  # on-screen text, read offline (providers/internal_reading.py)
    ),
    "audio": ("metadata_extraction", "audio_analysis"),
    "document": ("metadata_extraction", "text_analysis"),
}
"""The offline analyses planned for each media type, one mapped step each (the one list
``pipeline/planning.py`` plans from). ``scene_detection`` also yields ``motion_analysis`` (one
decode), and ``summary`` runs in ``aggregate``."""

_BY_MEDIA = {
    media: {*tasks, "summary"} | ({"motion_analysis"} if "scene_detection" in tasks else set())
    for media, tasks in PLANNED_TASKS.items()
}


def _result(
    result_type: str, content: str, data: Any, confidence: float | None = None, model: str = MODEL
) -> ProviderResult:
    return ProviderResult(
        result_type=result_type,
        provider="internal",
        content=content,
        content_json=data,
        confidence=confidence,
        model_name=model,
    )


class InternalProvider:
    """Always available; see the module docstring. ``speech`` (local speech-to-text, when a
    model is installed) answers ``transcription`` as the last link of its fallback chain."""

    name = "internal"
    paid = False

    def __init__(
        self, speech: Any = None, scene_threshold: float = DEFAULT_THRESHOLD, ocr: bool = False
    ) -> None:
        self.speech = speech
        self.scene_threshold = scene_threshold
        self.ocr = ocr

    def supports(self, result_type: str, media_type: str) -> bool:
        if result_type == "transcription":
            return self.speech is not None and bool(self.speech.supports(result_type, media_type))
        if result_type == "text_analysis" and media_type == "video":
            return self.ocr  # a video's text is what the frames show
        return result_type in _BY_MEDIA.get(media_type, set())

    def model_for(self, result_type: str) -> str | None:
        if result_type == "transcription" and self.speech is not None:
            return self.speech.model_for(result_type)  # type: ignore[no-any-return]
        return MODEL

    def estimate_cost(self, task: AnalysisTask) -> float | None:
        return 0.0

    def close(self) -> None:
        """Nothing to release: a loaded speech model stays cached for the process."""

    def analyze(self, task: AnalysisTask) -> ProviderResult:
        return self.analyze_all(task)[0]

    def analyze_all(
        self, task: AnalysisTask, *, on_progress: OnProgress | None = None
    ) -> list[ProviderResult]:
        """One or more results: the scene pass also yields ``motion_analysis``.

        ``on_progress(done, total)`` hears how far the long ones are (seconds of video decoded
        for scenes, of audio transcribed); in a watched chain it defaults to the chain's."""
        on_progress = on_progress or work_progress()
        handlers: dict[str, Callable[[AnalysisTask], list[ProviderResult]]] = {
            "metadata_extraction": self._metadata,
            "face_detection": self._faces,
            "audio_analysis": self._audio,
            "text_analysis": self._text,
            "summary": self._summary,
        }
        started = time.monotonic()
        if task.result_type in ("scene_detection", "motion_analysis"):
            results = self._scenes_and_motion(task, on_progress)
        elif task.result_type == "transcription":
            results = self._transcription(task, on_progress)
        elif task.result_type == "text_analysis" and task.media_type == "video":
            from .internal_reading import on_screen_text

            results = [on_screen_text(task, on_progress)]
        else:
            results = handlers[task.result_type](task)
        elapsed = int((time.monotonic() - started) * 1000)
        for r in results:
            r.processing_time_ms = elapsed
        return results

    def _transcription(
        self, task: AnalysisTask, on_progress: OnProgress | None
    ) -> list[ProviderResult]:
        if self.speech is None:
            raise ValueError("local speech-to-text is off (MEDIA_ANALYSIS_WHISPER_MODEL)")
        return [self.speech.analyze(task, on_progress=on_progress)]

    def _metadata(self, task: AnalysisTask) -> list[ProviderResult]:
        facts = task.facts
        parts = [
            f"{task.media_type} file {facts.get('file_name')} ({facts.get('mime_type')}, "
            f"{facts.get('size_bytes')} bytes)"
        ]
        if video := facts.get("video"):
            parts.append(
                f"{video['duration']:.2f} s, {video['display_width']}x"
                f"{video['display_height']} at {video['fps']:.2f} fps, "
                f"{video['video_codec']}, audio: {video.get('audio_codec') or 'none'}"
            )
        if audio := facts.get("audio"):
            parts.append(
                f"{audio['duration']:.2f} s, {audio['sample_rate']} Hz, "
                f"{audio['channels']} channel(s), {audio['codec']}"
            )
        if doc := facts.get("document"):
            parts.append(
                f"{doc['kind']}, {doc['page_count']} page(s), {doc['char_count']} characters"
            )
        return [_result("metadata_extraction", "; ".join(parts) + ".", dict(facts))]

    def _scenes_and_motion(
        self, task: AnalysisTask, on_progress: OnProgress | None
    ) -> list[ProviderResult]:
        """The scenes ``extract_frames`` already detected (``scene_aware``), else one pass now."""
        from ..media.scenes import detect_scenes_and_motion

        res = task.scenes or detect_scenes_and_motion(
            task.original_path or "", threshold=self.scene_threshold, on_progress=on_progress
        )
        cuts = [round(t, 3) for t in res.cut_times]
        confidence = None
        if res.scores:
            confidence = sum(min(1.0, s / (2 * self.scene_threshold)) for s in res.scores) / len(
                res.scores
            )
        scene_text = (
            f"{len(cuts)} scene cut(s) at {', '.join(f'{t:.2f}s' for t in cuts)}."
            if cuts
            else "No scene cuts found."
        )
        scenes = _result(
            "scene_detection",
            scene_text,
            {
                "cut_times": cuts,
                "scores": res.scores,
                "cut_kinds": res.cut_kinds,
                "scene_count": len(cuts) + 1,
                "frames_analyzed": res.frames_analyzed,
                "frames_decoded": res.frames_decoded,
                "keyframe_intervals": res.gops,
                "keyframe_intervals_decoded": res.gops_decoded,
                "analysis_fps": res.analysis_fps,
                "method": res.method,
                "threshold": self.scene_threshold,
            },
            confidence,
            model=f"{MODEL}:{res.method}",
        )
        level = "high" if res.mean_motion > 12 else "moderate" if res.mean_motion > 3 else "low"
        motion = _result(
            "motion_analysis",
            f"Mean motion {res.mean_motion:.2f} (0-255 scale): {level}.",
            {
                "mean_motion": res.mean_motion,
                "level": level,
                "timeline": [list(p) for p in res.motion_timeline],
                "frames_analyzed": res.frames_analyzed,
            },
            model=f"{MODEL}:{res.method}",
        )
        return [scenes, motion]

    def _faces(self, task: AnalysisTask) -> list[ProviderResult]:
        from ..media.faces import CASCADE, detect_faces

        per_frame = detect_faces([Path(p) for p in task.frame_paths])
        for item, t in zip(per_frame, task.frame_times, strict=False):
            item["time"] = round(t, 3)
        with_faces = [f for f in per_frame if f.get("face_count")]
        total = sum(int(f.get("face_count", 0)) for f in per_frame)
        text = (
            f"{total} frontal face(s) in {len(with_faces)} of {len(per_frame)} sampled frames."
            if per_frame
            else "No frames to search for faces."
        )
        return [
            _result(
                "face_detection",
                text,
                {
                    "frames": per_frame,
                    "total_faces": total,
                    "frames_with_faces": len(with_faces),
                    "detector": f"opencv {CASCADE.removesuffix('.xml')}",
                },
                model=f"{MODEL}:haar-frontalface-alt2",
            )
        ]

    def _audio(self, task: AnalysisTask) -> list[ProviderResult]:
        from ..media.audio import analyze_wav

        a = analyze_wav(task.audio_path or "")
        text = (
            f"{a.duration:.2f} s of audio, RMS {a.rms_dbfs:.1f} dBFS, peak {a.peak_dbfs:.1f} "
            f"dBFS, {len(a.silence_segments)} silent segment(s) ({a.silence_ratio:.0%} "
            f"silence), speech-like {a.speech_like_ratio:.0%} of the sound."
        )
        return [_result("audio_analysis", text, a.to_dict())]

    def _text(self, task: AnalysisTask) -> list[ProviderResult]:
        from ..media.text_stats import analyze_text

        stats = analyze_text(task.document_text or "")
        terms = ", ".join(t for t, _ in stats["top_terms"][:8])
        text = (
            f"{stats['words']} words in {stats['sentences']} sentence(s); language "
            f"{stats['language'] or 'unknown'}; top terms: {terms or 'none'}."
        )
        return [_result("text_analysis", text, stats, stats.get("language_confidence"))]

    def _summary(self, task: AnalysisTask) -> list[ProviderResult]:
        from .internal_summary import summarize

        text, data = summarize(task)
        return [_result("summary", text, data)]
