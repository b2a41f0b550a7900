"""A transcript as timed lines, whichever provider wrote it.

The providers store different shapes in ``content_json`` (``providers/local_speech.py`` and the
OpenAI-compatible ones: ``segments`` with ``start``/``end``/``text``; Deepgram: ``utterances``
with ``transcript`` and ``speaker``, ``paragraphs``, ``words``). A person wants the same thing
from each: what was said, and when. :func:`transcript_lines` reads the first shape present, in
that order (timed words are grouped into lines at pauses or every ``WORDS_PER_LINE``), and falls
back to the plain ``content`` as one untimed line. Anything malformed is skipped, never raised:
the shapes come from outside.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from .text import number

#: Most lines read from one transcript (a 6-hour file with short segments stays well under).
MAX_LINES = 20_000
WORDS_PER_LINE = 14
#: A pause this long (seconds) between timed words starts a new line.
PAUSE_S = 1.2


@dataclass(frozen=True)
class Line:
    """One timed line; ``start`` is None for a transcript without timings."""

    start: float | None
    end: float | None
    text: str
    speaker: str | None = None


def result_fields(result: Any) -> tuple[Any, Any]:
    """(``content``, ``content_json``) of a ``ProviderResult`` or of a results row."""
    if isinstance(result, Mapping):
        return result.get("content"), result.get("content_json")
    return getattr(result, "content", None), getattr(result, "content_json", None)


def _items(data: Mapping[str, Any], key: str) -> list[Mapping[str, Any]]:
    value = data.get(key)
    if not isinstance(value, list):
        return []
    return [item for item in value[:MAX_LINES] if isinstance(item, Mapping)]


def _timed(items: Iterable[Mapping[str, Any]], text_keys: tuple[str, ...]) -> list[Line]:
    lines = []
    for item in items:
        text = next((item[k] for k in text_keys if isinstance(item.get(k), str)), "")
        start, end = number(item.get("start")), number(item.get("end"))
        speaker = item.get("speaker")
        if text.strip():
            lines.append(
                Line(
                    None if start is None else max(start, 0.0),
                    end,
                    text.strip(),
                    None if speaker is None or isinstance(speaker, dict | list) else str(speaker),
                )
            )
    return lines


def _from_words(words: list[Mapping[str, Any]]) -> list[Line]:
    lines: list[Line] = []
    current: list[str] = []
    start = end = None
    for word in words:
        text = word.get("punctuated_word") or word.get("word")
        w_start, w_end = number(word.get("start")), number(word.get("end"))
        if not isinstance(text, str) or w_start is None:
            continue
        pause = end is not None and w_start - end > PAUSE_S
        if current and (len(current) >= WORDS_PER_LINE or pause):
            lines.append(Line(start, end, " ".join(current)))
            current, start = [], None
        start = w_start if start is None else start
        end = w_end if w_end is not None else w_start
        current.append(text.strip())
    if current:
        lines.append(Line(start, end, " ".join(current)))
    return lines


def transcript_lines(content: Any, content_json: Any) -> list[Line]:
    """The transcript's lines in time order (see the module docstring)."""
    data = content_json if isinstance(content_json, Mapping) else {}
    lines = (
        _timed(_items(data, "segments"), ("text",))
        or _timed(_items(data, "utterances"), ("transcript", "text"))
        or _timed(_items(data, "paragraphs"), ("text", "transcript"))
        or _from_words(_items(data, "words"))
    )
    if lines:
        return sorted(lines, key=lambda line: -1.0 if line.start is None else line.start)
    text = content if isinstance(content, str) else data.get("text")
    return [Line(None, None, text.strip())] if isinstance(text, str) and text.strip() else []
