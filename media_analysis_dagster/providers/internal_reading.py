"""The internal provider's reading of a video: the on-screen text of its frames (titles,
captions, slides, signs), offline, as a ``text_analysis`` result.

Why ``text_analysis``: of the seed's result types it is the one about text found in the media
and what it says (the same type a document's text gets); ``vision_analysis`` is a paid model's
description of the pictures, and ``object_detection``/``classification`` are not about words.
``content_json.kind`` is ``"on_screen_text"`` so readers tell it from a document's text.

The frames are the ones the request extracted (with ``scene_aware``, one per scene start);
at most ``MAX_FRAMES_PER_REQUEST`` of them, evenly chosen, within ``VIDEO_BUDGET_S`` CPU seconds.
Words seen on consecutive frames are one item with every time they were seen
(``media.ocr.dedupe_across_frames``), each with its boxes, confidence and language.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from .base import AnalysisTask, ProviderResult

OnProgress = Callable[[float, float], None]


def _evenly(items: list[Any], count: int) -> list[Any]:
    if len(items) <= count:
        return items
    step = len(items) / count
    return [items[int(i * step)] for i in range(count)]


def _clock(seconds: float) -> str:
    minutes, rest = divmod(max(0.0, seconds), 60)
    return f"{int(minutes)}:{rest:04.1f}"


def on_screen_text(task: AnalysisTask, on_progress: OnProgress | None = None) -> ProviderResult:
    from ..media.language import detect_language
    from ..media.ocr import (
        MAX_FRAMES_PER_REQUEST,
        VIDEO_BUDGET_S,
        dedupe_across_frames,
        model_name,
        read_images,
    )

    frames = _evenly(
        list(zip(task.frame_times, task.frame_paths, strict=False)), MAX_FRAMES_PER_REQUEST
    )
    batch = read_images(
        [path for _, path in frames], budget_s=VIDEO_BUDGET_S, max_images=MAX_FRAMES_PER_REQUEST
    )
    if on_progress is not None:
        on_progress(len(batch.pages), len(frames))
    items = dedupe_across_frames(
        [(time, page) for (time, _), page in zip(frames, batch.pages, strict=False)]
    )
    shown = []
    for item in items:
        guess = detect_language(item.text)
        shown.append(
            {
                **item.to_dict(),
                "time": item.first_time,
                "start": item.first_time,
                "end": item.last_time,
                "language": guess.code,
            }
        )
    everything = "\n".join(item.text for item in items)
    language = detect_language(everything)
    if items:
        listed = "; ".join(
            f"\u201c{item.text[:120]}\u201d at {_clock(item.first_time)}"
            + (f"\u2013{_clock(item.last_time)}" if item.last_time > item.first_time else "")
            for item in items[:12]
        )
        more = f", and {len(items) - 12} more" if len(items) > 12 else ""
        content = f"On-screen text in {len(batch.pages)} frame(s): {listed}{more}."
    else:
        content = f"No on-screen text was read in {len(batch.pages)} frame(s)."
    if batch.stopped:
        content += " " + batch.message
    confidences = [item.confidence for item in items]
    return ProviderResult(
        result_type="text_analysis",
        provider="internal",
        content=content,
        content_json={
            "kind": "on_screen_text",
            "ocr_text": shown,
            "language": language.code,
            "language_confidence": language.confidence,
            "frames_read": len(batch.pages),
            "frames_extracted": len(task.frame_paths),
            "cpu_seconds": round(batch.cpu_seconds, 2),
            "stopped": batch.stopped,
            "engine": model_name(),
        },
        confidence=round(sum(confidences) / len(confidences), 4) if confidences else None,
        model_name=model_name(),
    )
