"""The internal provider's summary: the facts found, and the part of the prompt they answer.

It does not understand pictures or speech; it says so instead of guessing, and lists which
other results (vision, transcription from AI providers) it drew on.
"""

from __future__ import annotations

from typing import Any

from .base import AnalysisTask

# Words in a prompt -> the result types whose facts speak to them.
_TOPICS = {
    "scene_detection": ("scene", "cut", "shot", "transition", "edit", "happen"),
    "motion_analysis": ("motion", "move", "moving", "action", "static", "still", "happen"),
    "face_detection": ("face", "people", "person", "who", "human", "crowd"),
    "audio_analysis": ("audio", "sound", "music", "silence", "silent", "loud", "speech", "noise"),
    "transcription": ("say", "said", "speak", "talk", "transcript", "words", "speech"),
    "text_analysis": ("text", "language", "topic", "about", "word", "terms", "document"),
    "metadata_extraction": (
        "long",
        "duration",
        "length",
        "resolution",
        "size",
        "format",
        "pages",
        "codec",
    ),
    "vision_analysis": ("see", "show", "shown", "visible", "look", "happen", "what", "describe"),
}


def summarize(task: AnalysisTask) -> tuple[str, dict[str, Any]]:
    results = [r for r in task.prior_results if r.get("result_type") != "summary"]
    by_type: dict[str, dict[str, Any]] = {}
    for r in results:
        by_type.setdefault(r["result_type"], r)
    lines = [f"Findings for this {task.media_type}:"]
    for r in results:
        if r.get("content"):
            lines.append(f"- {r['result_type']} ({r['provider']}): {r['content'].strip()[:400]}")
    answered: list[str] = []
    if task.prompt:
        words = task.prompt.lower()
        relevant = [
            t for t, keys in _TOPICS.items() if t in by_type and any(k in words for k in keys)
        ]
        if relevant:
            answered = relevant
            lines.append(
                f'On "{task.prompt.strip()}": the relevant facts are '
                + "; ".join(by_type[t]["content"].strip()[:300] for t in relevant)
            )
        else:
            lines.append(
                f'On "{task.prompt.strip()}": the offline analysis measured only the '
                "facts above and cannot answer beyond them."
            )
    if "vision_analysis" not in by_type and task.media_type in ("video", "document"):
        lines.append("No AI vision provider was used, so the picture content is not described.")
    return "\n".join(lines), {
        "sources": [{"result_type": r["result_type"], "provider": r["provider"]} for r in results],
        "prompt": task.prompt,
        "prompt_topics_answered": answered,
    }
