"""The internal provider's summary: the facts found, then the part of the prompt they answer.

Layout (the paid summaries are asked for the same, ``prompts.py``): one short paragraph per kind
of fact, each starting with its label (Metadata, Scenes, Motion, Faces, Audio, Transcript, Text,
Vision, …), then the answer to the prompt as a paragraph of its own ("Answer to "…": …"). A
person reads it in the UI, the CLI and the report, and a program splits it at blank lines.

- Nothing is cut mid-word: a long text is shortened at a sentence or word boundary and "…" marks
  the cut (:func:`shorten`).
- Counts are whole even where a list is not: "72 scene cuts (73 scenes); the first 20 at …, and
  52 more".
- Every paragraph has a bound, so the whole stays a few KB whatever the transcript, the number
  of cuts or the prompt's length.

It does not understand pictures or speech; it says so instead of guessing, and names which
other results (vision, transcription from AI providers) speak to the prompt.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

from .base import AnalysisTask

LISTED_CUTS = 20
"""Cut times listed in the Scenes paragraph (all are counted)."""
LISTED_FACE_TIMES = 10
PARAGRAPH_CHARS = 400
"""Bound of a paragraph of measured facts."""
QUOTE_CHARS = {"transcription": 700, "vision_analysis": 1000, "text_analysis": 500}
ON_SCREEN_ITEMS = 8  # on-screen texts quoted; the rest are counted
SCANNED_QUOTES = 3  # scanned pages quoted; the rest are counted
"""Bounds of the paragraphs that quote what a provider wrote or heard."""
PROMPT_CHARS = 200
_SENTENCE_END = re.compile(r"[.!?](?=\s)")
NO_VISION = "No AI vision provider was used, so the picture content is not described."

# The order of the paragraphs, and each kind's label.
LABELS = {
    "metadata_extraction": "Metadata",
    "scene_detection": "Scenes",
    "motion_analysis": "Motion",
    "face_detection": "Faces",
    "audio_analysis": "Audio",
    "transcription": "Transcript",
    "text_analysis": "Text",
    "vision_analysis": "Vision",
}

# Words in a prompt -> the result types whose facts speak to them.
_TOPICS = {
    "scene_detection": ("scene", "cut", "shot", "transition", "edit", "happen"),
    "motion_analysis": ("motion", "move", "moving", "action", "static", "still", "happen"),
    "face_detection": ("face", "people", "person", "who", "human", "crowd"),
    "audio_analysis": ("audio", "sound", "music", "silence", "silent", "loud", "speech", "noise"),
    "transcription": ("say", "said", "speak", "talk", "transcript", "words", "speech"),
    "text_analysis": (
        "text",
        "language",
        "topic",
        "about",
        "word",
        "terms",
        "document",
        "slide",
        "screen",
        "title",
        "caption",
        "read",
    ),
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


def cut_at_boundary(text: str, limit: int) -> str:
    """``text`` whole when it fits in ``limit`` characters, else cut at the last sentence end
    past half the limit, or else at the last space, with "…" marking the cut (line breaks
    are kept)."""
    if len(text) <= limit:
        return text
    head = text[: max(1, limit - 2)]
    ends = [m.end() for m in _SENTENCE_END.finditer(head)]
    if ends and ends[-1] >= limit // 2:
        return head[: ends[-1]].rstrip() + " …"
    space = max(head.rfind(" "), head.rfind("\n"))
    cut = head[:space] if space > 0 else head
    return cut.rstrip(" ,;:-\n") + "…"


def shorten(text: str, limit: int) -> str:
    """``text`` on one line (runs of white space made one space), cut as
    :func:`cut_at_boundary` does."""
    return cut_at_boundary(" ".join(str(text).split()), limit)


def clock(seconds: float) -> str:
    """``m:ss.s`` (``h:mm:ss`` from an hour): how a person finds a moment in a player."""
    seconds = max(0.0, float(seconds))
    if seconds >= 3600:
        whole = int(seconds)
        return f"{whole // 3600}:{whole % 3600 // 60:02d}:{whole % 60:02d}"
    return f"{int(seconds // 60)}:{seconds % 60:04.1f}"


def _duration(seconds: float) -> str:
    seconds = float(seconds)
    if seconds < 60:
        return f"{seconds:.1f} s"
    minutes, rest = divmod(round(seconds), 60)
    return f"{minutes} min {rest} s" if minutes < 60 else f"{minutes // 60} h {minutes % 60} min"


def _size(size: Any) -> str:
    if not isinstance(size, int | float):
        return "size unknown"
    for unit, scale in (("GB", 1e9), ("MB", 1e6), ("kB", 1e3)):
        if size >= scale:
            return f"{size / scale:.1f} {unit}"
    return f"{int(size)} bytes"


def _plural(count: int, word: str) -> str:
    return f"{count} {word}{'' if count == 1 else 's'}"


def _metadata(facts: dict[str, Any], media_type: str) -> str:
    parts = [f"{media_type} {facts.get('file_name') or '(no name)'}"]
    parts[0] += f" ({facts.get('mime_type') or 'type unknown'}, {_size(facts.get('size_bytes'))})"
    if video := facts.get("video"):
        parts.append(
            f"{_duration(video.get('duration') or 0)}, {video.get('display_width')}x"
            f"{video.get('display_height')} at {float(video.get('fps') or 0):.4g} fps, "
            f"{video.get('video_codec')}, audio {video.get('audio_codec') or 'none'}"
        )
    elif audio := facts.get("audio"):
        parts.append(
            f"{_duration(audio.get('duration') or 0)}, {audio.get('sample_rate')} Hz, "
            f"{_plural(int(audio.get('channels') or 0), 'channel')}, {audio.get('codec')}"
        )
    if doc := facts.get("document"):
        parts.append(
            f"{doc.get('kind')}, {_plural(int(doc.get('page_count') or 0), 'page')}, "
            f"{int(doc.get('char_count') or 0):,} characters"
        )
    return "; ".join(parts)


def _scenes(data: dict[str, Any]) -> str | None:
    cuts = data.get("cut_times")
    if not isinstance(cuts, list):
        return None
    if not cuts:
        return "no scene cuts (one continuous shot)"
    listed = ", ".join(clock(t) for t in cuts[:LISTED_CUTS])
    count = f"{_plural(len(cuts), 'scene cut')} ({len(cuts) + 1} scenes)"
    if len(cuts) <= LISTED_CUTS:
        return f"{count} at {listed}"
    return f"{count}; the first {LISTED_CUTS} at {listed}, and {len(cuts) - LISTED_CUTS} more"


def _motion(data: dict[str, Any]) -> str | None:
    if "level" not in data or not isinstance(data.get("mean_motion"), int | float):
        return None
    return f"{data['level']} (mean {data['mean_motion']:.2f} on a 0-255 scale)"


def _faces(data: dict[str, Any]) -> str | None:
    frames = data.get("frames")
    if not isinstance(frames, list) or not isinstance(data.get("total_faces"), int):
        return None
    with_faces = [f for f in frames if isinstance(f, dict) and f.get("face_count")]
    if not with_faces:
        return f"no frontal faces in the {_plural(len(frames), 'sampled frame')}"
    text = (
        f"{_plural(data['total_faces'], 'frontal face')} in {len(with_faces)} of "
        f"{len(frames)} sampled frames"
    )
    times = [clock(f["time"]) for f in with_faces if isinstance(f.get("time"), int | float)]
    if times:
        more = len(times) - LISTED_FACE_TIMES
        text += f", at {', '.join(times[:LISTED_FACE_TIMES])}"
        text += f" and {more} more" if more > 0 else ""
    return text


def _unreliable(data: dict[str, Any]) -> str:
    """What to say of a transcript whose words are not to be trusted: the words never are."""
    from ..media.speech.reliability import language_name

    code = data.get("language")
    if data.get("english_only_model"):
        if code and code != "en":
            return (
                f"speech in {language_name(str(code))} was heard; the English-only model "
                "cannot transcribe it"
            )
        return (
            "speech was heard that the English-only model could not transcribe (probably not "
            "English)"
        )
    reason = shorten(str(data.get("reliability_reason") or ""), PARAGRAPH_CHARS).rstrip(".")
    return "speech was heard, but its transcript is not reliable" + (
        f" ({reason})" if reason else ""
    )


def _transcript(result: dict[str, Any]) -> tuple[list[str], str]:
    """What the transcript is (language, length, words) for its label, and its opening words;
    a transcript marked unreliable is described, never quoted."""
    data = result.get("content_json") or {}
    if data.get("reliable") is False:
        about = [str(data["language"])] if data.get("language") else []
        if isinstance(data.get("duration"), int | float) and data["duration"]:
            about.append(_duration(data["duration"]))
        return about, _unreliable(data)
    text = str(data.get("text") or result.get("content") or "").strip()
    about = [str(data["language"])] if data.get("language") else []
    if isinstance(data.get("duration"), int | float) and data["duration"]:
        about.append(_duration(data["duration"]))
    if text:
        about.append(_plural(len(text.split()), "word"))
    if not text:
        return about, "no speech was recognised"
    return about, f'"{shorten(text, QUOTE_CHARS["transcription"])}"'


def _on_screen(data: dict[str, Any]) -> str | None:
    """What the frames of a video show in words (titles, captions, slides), with the times."""
    if data.get("kind") != "on_screen_text":
        return None
    items = [i for i in data.get("ocr_text") or [] if isinstance(i, dict) and i.get("text")]
    if not items:
        return f"no words were read on screen in {data.get('frames_read', 0)} frame(s)"
    shown = []
    for item in items[:ON_SCREEN_ITEMS]:
        first, last = float(item.get("first_time") or 0), float(item.get("last_time") or 0)
        when = clock(first) + (f"-{clock(last)}" if last > first else "")
        shown.append(f'"{shorten(str(item["text"]), 120)}" ({when})')
    more = f", and {len(items) - ON_SCREEN_ITEMS} more" if len(items) > ON_SCREEN_ITEMS else ""
    return f"on screen the frames say {'; '.join(shown)}{more}"


_STRUCTURED: dict[str, Callable[[dict[str, Any]], str | None]] = {
    "scene_detection": _scenes,
    "motion_analysis": _motion,
    "face_detection": _faces,
    "text_analysis": _on_screen,
}


def _scanned_pages(task: AnalysisTask) -> str | None:
    """What the pages read by OCR say (``page 3 (scanned) reads "…"``), when the document's
    stored text can be split back into its pages."""
    from ..media.document_info import split_pages

    doc = task.facts.get("document") if isinstance(task.facts, dict) else None
    pages = doc.get("pages") if isinstance(doc, dict) else None
    if not isinstance(pages, list) or not any(
        isinstance(p, dict) and p.get("read_by_ocr") for p in pages
    ):
        return None
    scanned = {p.get("number") for p in pages if isinstance(p, dict) and p.get("read_by_ocr")}
    split = split_pages(task.document_text or "", pages) or []
    quotes = [
        f'page {number} (scanned) reads "{shorten(" ".join(text.split()), 240)}"'
        for number, text in split
        if number in scanned and text.strip()
    ]
    if not quotes:
        return f"Scanned pages: {len(scanned)} page(s) without a text layer; no words were read."
    more = f"; and {len(quotes) - SCANNED_QUOTES} more" if len(quotes) > SCANNED_QUOTES else ""
    return "Scanned pages: " + "; ".join(quotes[:SCANNED_QUOTES]) + more + "."


def _paragraph(result: dict[str, Any], media_type: str) -> str:
    """One result as a labelled paragraph (its structured data when we know it, else its
    text, shortened at a word)."""
    kind = str(result.get("result_type") or "result")
    provider = str(result.get("provider") or "?")
    label = LABELS.get(kind, kind.replace("_", " ").capitalize())
    details = [provider] if provider != "internal" else []
    raw = result.get("content_json")
    data: dict[str, Any] = raw if isinstance(raw, dict) else {}
    build = _STRUCTURED.get(kind)
    body = build(data) if build else None
    if kind == "transcription":
        about, body = _transcript(result)
        details += about
    elif kind == "metadata_extraction" and data.get("file_name"):
        body = _metadata(data, media_type)
    if body is None:
        text = str(result.get("content") or "").strip() or "(no text)"
        body = shorten(text, QUOTE_CHARS.get(kind, PARAGRAPH_CHARS))
    body = body[:1].upper() + body[1:]
    label += f" ({', '.join(details)})" if details else ""
    return f"{label}: {body}" + ("" if body.endswith((".", "!", "?", "…", '"')) else ".")


def fact_paragraphs(task: AnalysisTask) -> list[str]:
    """The facts of ``task``'s request, one paragraph per result, in ``LABELS`` order (the
    metadata from the media's own facts when no metadata result was made)."""
    results = [r for r in task.prior_results if r.get("result_type") != "summary"]
    order = list(LABELS)
    results.sort(key=lambda r: order.index(r["result_type"]) if r["result_type"] in order else 99)
    paragraphs = [_paragraph(r, task.media_type) for r in results]
    if task.facts and not any(r["result_type"] == "metadata_extraction" for r in results):
        paragraphs.insert(0, f"Metadata: {_metadata(task.facts, task.media_type)}.")
    scanned = _scanned_pages(task)
    if scanned:
        paragraphs.append(scanned)
    return paragraphs


def _answer(task: AnalysisTask, kinds: set[str]) -> tuple[str, list[str]]:
    """The paragraph answering the prompt, and the result types it points to."""
    words = (task.prompt or "").lower()
    relevant = [t for t, keys in _TOPICS.items() if t in kinds and any(k in words for k in keys)]
    if relevant:
        named = [LABELS[t] for t in relevant]
        listed = ", ".join(named[:-1]) + f" and {named[-1]}" if len(named) > 1 else named[0]
        text = (
            f"The facts that speak to it are under {listed} above; the offline analysis "
            "measures the media and does not interpret it beyond them."
        )
    else:
        text = "The offline analysis measured only the facts above and cannot answer beyond them."
    if "vision_analysis" not in kinds and task.media_type in ("video", "document"):
        text += f" {NO_VISION}"
    return f'Answer to "{shorten(task.prompt or "", PROMPT_CHARS)}": {text}', relevant


def summarize(task: AnalysisTask) -> tuple[str, dict[str, Any]]:
    """The summary text (paragraphs separated by blank lines) and its ``content_json``."""
    results = [r for r in task.prior_results if r.get("result_type") != "summary"]
    kinds = {str(r.get("result_type")) for r in results}
    paragraphs = fact_paragraphs(task) or [f"No facts were produced for this {task.media_type}."]
    answered: list[str] = []
    if (task.prompt or "").strip():
        answer, answered = _answer(task, kinds)
        paragraphs.append(answer)
    elif "vision_analysis" not in kinds and task.media_type in ("video", "document"):
        paragraphs.append(NO_VISION)
    return "\n\n".join(paragraphs), {
        "sources": [{"result_type": r["result_type"], "provider": r["provider"]} for r in results],
        "prompt": task.prompt,
        "prompt_topics_answered": answered,
        "layout": "facts, then answer",
    }
