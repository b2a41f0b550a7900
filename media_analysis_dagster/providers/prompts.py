"""The chat messages sent for vision and summary tasks, built from an ``AnalysisTask``.

Kept apart from the client so the wording can be read, tested and tuned without any SDK, and
so every chat provider asks the same question the same way (results stay comparable when the
chain falls back from one provider to another).
"""

from __future__ import annotations

import base64
import json
import mimetypes
import re
from pathlib import Path
from typing import Any

from .base import AnalysisTask
from .internal_summary import cut_at_boundary

DEFAULT_VISION_PROMPT = (
    "Describe what these images show: the setting, people, objects, actions, any visible text, "
    "and how the content changes from image to image."
)
DEFAULT_SUMMARY_PROMPT = "Summarize this media: what it is about and its key points."
SUMMARY_SYSTEM = (
    "You summarize media analyses. Use only the facts provided; do not add information that is "
    "not in them. Write plain text in this layout: first the facts, one short paragraph per kind "
    "(metadata, scenes, motion, faces, audio, transcript, text, vision), each starting with its "
    "label and a colon; then a blank line and the answer to the request as a paragraph of its "
    'own, starting with "Answer:". Give every count in full (say "72 scene cuts" even if you '
    "name only some of them), never stop in the middle of a word, and if the facts do not "
    "answer the request, say so in the answer."
)
_THINK = re.compile(r"<think>.*?</think>", re.DOTALL | re.IGNORECASE)
_OPEN_THINK = re.compile(r"<think>.*\Z", re.DOTALL | re.IGNORECASE)


def strip_think(text: str) -> str:
    """Drop reasoning blocks, including one left open when the output was cut off."""
    return _OPEN_THINK.sub("", _THINK.sub("", text)).strip()


def image_paths_for(task: AnalysisTask) -> tuple[str, ...]:
    """Contact sheets carry the most frames per image; pages for documents; else raw frames."""
    return task.contact_sheet_paths or task.page_image_paths or task.frame_paths


def image_part(path: str | Path) -> dict[str, Any]:
    mime = mimetypes.guess_type(str(path))[0] or "image/jpeg"
    if not mime.startswith("image/"):
        mime = "image/jpeg"
    data = base64.b64encode(Path(path).read_bytes()).decode("ascii")
    return {"type": "image_url", "image_url": {"url": f"data:{mime};base64,{data}"}}


def vision_messages(task: AnalysisTask, paths: tuple[str, ...]) -> list[dict[str, Any]]:
    if task.contact_sheet_paths:
        kind = "contact sheets of a video (each tile is labelled with its timestamp)"
    elif task.page_image_paths:
        kind = "document pages"
    else:
        kind = "frames of a video"
    text = f"{task.prompt or DEFAULT_VISION_PROMPT}\n\nThe {len(paths)} image(s) are {kind}."
    if task.frame_times and not task.contact_sheet_paths and task.frame_paths == paths:
        times = ", ".join(f"{t:.1f}s" for t in task.frame_times[: len(paths)])
        text += f" Frame times: {times}."
    content: list[dict[str, Any]] = [{"type": "text", "text": text}]
    content.extend(image_part(p) for p in paths)
    return [{"role": "user", "content": content}]


def _fact_text(result: dict[str, Any]) -> str:
    content = result.get("content")
    if content:
        return str(content)
    payload = result.get("content_json")
    return json.dumps(payload, ensure_ascii=False, default=str) if payload else ""


def _truncate(text: str, limit: int) -> str:
    """``text`` within ``limit`` characters, cut at a sentence or word and marked
    "… [truncated]" (never mid-word, so the model does not guess at half a word, and it knows
    the source goes on)."""
    if len(text) <= limit:
        return text
    return cut_at_boundary(text, max(2, limit - 12)).removesuffix("…").rstrip() + " … [truncated]"


def summary_messages(task: AnalysisTask, budget_tokens: int) -> list[dict[str, Any]]:
    """The prompt plus the request's other results, cut to about ``budget_tokens`` tokens.

    Characters/4 is a good-enough token estimate for a budget; every source gets an equal share
    so one long transcript cannot push the vision analysis out of the prompt.
    """
    sources = [
        (f"{r.get('result_type', 'result')} by {r.get('provider', '?')}", _fact_text(r))
        for r in task.prior_results
    ]
    if task.document_text:
        sources.append(("document text", task.document_text))
    if task.facts:
        sources.append(("media facts", json.dumps(task.facts, ensure_ascii=False, default=str)))
    sources = [(label, text) for label, text in sources if text.strip()]
    share = (budget_tokens * 4) // max(1, len(sources))
    facts = "\n\n".join(f"[{label}]\n{_truncate(text, share)}" for label, text in sources)
    request = task.prompt or DEFAULT_SUMMARY_PROMPT
    user = f"Request: {request}\n\nFacts:\n{facts or '(no facts were produced)'}"
    return [{"role": "system", "content": SUMMARY_SYSTEM}, {"role": "user", "content": user}]
