"""A result's text cut into searchable segments, each with its place and language.

Search finds the moment, not the file, so what is indexed is the piece of text that carries a
place: a transcript segment with its start and end, on-screen text with its time, a document
page, a scene description, a summary, the answer to the prompt. ``result_segments`` derives them
from a result row's JSON shape alone (the keys providers write: ``segments``, ``utterances``,
``words``, ``pages``, ``answer``…), never from which step or provider made it, so the store can
call it in the transaction that writes the result, and ``Store.reindex`` on rows written before
search existed. Text that is not a result (a document's extracted pages) arrives ready-made as
``NewSegment`` values (``page_segments``).

Every segment is bounded (``MAX_SEGMENT_CHARS``; a PostgreSQL ``tsvector`` is capped at 1 MB)
and so is their number per result. The language is the one the result states (a transcript's
``language``), else py3langid's guess over the whole text when it is sure, else None (searched
without stemming).
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass, replace
from typing import Any

#: What a segment is. Kinds are plain strings (no CHECK), so a new source adds one here.
KINDS = ("transcript", "ocr_text", "page", "scene", "summary", "answer", "text_analysis")
MAX_SEGMENT_CHARS = 2000
MAX_SEGMENTS_PER_RESULT = 20_000
_MAX_SECONDS = 1e8  # fits NUMERIC(12,3)
_WORDS_PER_SEGMENT = 14  # as the report groups timed words into lines (report/transcript.py)
_PAUSE_S = 1.2


@dataclass
class NewSegment:
    """One piece of searchable text; ``file_index`` links it to a file of the same
    ``Store.replace_rows`` call (a document's text), as ``NewSheet`` does."""

    kind: str
    text: str
    start_s: float | None = None
    end_s: float | None = None
    page: int | None = None
    language: str | None = None
    position: int = 0
    file_index: int | None = None


# -- language ---------------------------------------------------------------------------------
_MIN_CONFIDENCE = 0.6
_CODE = re.compile(r"^([a-z]{2})(?:[-_][a-z0-9]+)*$")


def normalize_language(value: Any) -> str | None:
    """An ISO 639-1 code from what providers write: ``en``, ``en-US``, ``english``; else None."""
    if not isinstance(value, str):
        return None
    text = value.strip().lower()
    match = _CODE.match(text)
    if match:
        return match.group(1)
    from ..media.language import LANGUAGE_NAMES

    return next((code for code, name in LANGUAGE_NAMES.items() if name.lower() == text), None)


def detect_language(text: str) -> str | None:
    """The text's language by the one detector (``media.language``) when it is fairly sure
    (stemming a page in the wrong language costs less than not stemming it), else None (a few
    words of text say nothing)."""
    from ..media.language import detect_language as guess

    found = guess(text)
    return normalize_language(found.code) if found.confidence >= _MIN_CONFIDENCE else None


# -- shapes -------------------------------------------------------------------------------------
def _seconds(value: Any) -> float | None:
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    number = float(value)
    return round(number, 3) if math.isfinite(number) and 0 <= number < _MAX_SECONDS else None


def _page(value: Any) -> int | None:
    if isinstance(value, bool) or not isinstance(value, int) or not 0 < value < 2**31:
        return None
    return value


def _text(value: Any) -> str:
    return " ".join(value.split()) if isinstance(value, str) else ""


def _chunks(text: str, limit: int = MAX_SEGMENT_CHARS) -> Iterator[str]:
    """``text`` in pieces of at most ``limit`` characters, cut at a space where there is one."""
    text = text.strip()
    while len(text) > limit:
        cut = text.rfind(" ", limit // 2, limit + 1)
        cut = cut if cut > 0 else limit
        yield text[:cut].strip()
        text = text[cut:].strip()
    if text:
        yield text


def _paragraphs(text: Any) -> Iterator[str]:
    """Paragraphs (blank-line separated, else lines), each within the segment limit."""
    if not isinstance(text, str):
        return
    parts = re.split(r"\n\s*\n", text) if "\n\n" in text.strip() else text.splitlines()
    for part in parts:
        yield from _chunks(_text(part))


def _timed(kind: str, items: Any, text_keys: tuple[str, ...]) -> list[NewSegment]:
    """Segments of timed items (``{start, end, text}``-like dicts), time shared by pieces."""
    out: list[NewSegment] = []
    for item in items if isinstance(items, list) else ():
        if not isinstance(item, Mapping):
            continue
        text = next((_text(item[k]) for k in text_keys if _text(item.get(k))), "")
        start = _seconds(item.get("start", item.get("time")))
        end = _seconds(item.get("end"))
        if end is not None and start is not None and end < start:
            end = start
        out.extend(NewSegment(kind, piece, start, end) for piece in _chunks(text))
    return out


def _word_windows(words: Any) -> list[NewSegment]:
    """Word-timed transcripts without segments (Deepgram without utterances): lines of words,
    broken at a pause or every ``_WORDS_PER_SEGMENT`` words, as the report shows them."""
    lines: list[list[Mapping[str, Any]]] = []
    last_end: float | None = None
    for word in words if isinstance(words, list) else ():
        if not isinstance(word, Mapping) or _seconds(word.get("start")) is None:
            continue
        start = _seconds(word.get("start"))
        pause = last_end is not None and start is not None and start - last_end > _PAUSE_S
        if not lines or len(lines[-1]) >= _WORDS_PER_SEGMENT or pause:
            lines.append([])
        lines[-1].append(word)
        last_end = _seconds(word.get("end"))
    out: list[NewSegment] = []
    for line in lines:
        text = " ".join(_text(w.get("punctuated_word") or w.get("word")) for w in line)
        start, end = _seconds(line[0].get("start")), _seconds(line[-1].get("end"))
        out.extend(NewSegment("transcript", piece, start, end) for piece in _chunks(text))
    return out


def _transcript(content: str | None, data: Mapping[str, Any]) -> list[NewSegment]:
    for key in ("segments", "utterances", "paragraphs"):
        found = _timed("transcript", data.get(key), ("text", "transcript"))
        if found:
            return found
    return _word_windows(data.get("words")) or [
        NewSegment("transcript", piece) for piece in _paragraphs(content or data.get("text"))
    ]


_LEAD = r"^[\s*•#>\[(-]*(?:(?:frame|scene|shot|image|tile)\s*\d*\s*[:,(@-]*\s*)?(?:at\s+)?"
_LEADING_TIME = re.compile(
    _LEAD + r"(?:(?:(\d{1,2}):)?(\d{1,2}):(\d{2}(?:\.\d+)?)|(\d+(?:\.\d+)?)\s?s(?:ec\w*)?)\b",
    re.IGNORECASE,
)
_LEADING_PAGE = re.compile(r"^\W{0,3}page\s+(\d{1,6})\b", re.IGNORECASE)


def _described(kind: str, text: Any) -> list[NewSegment]:
    """Prose by paragraph; a paragraph that starts with a time (``00:12``, ``12.5 s``) or a
    page (``Page 3``) carries it (vision models describe sheets tile by tile)."""
    out: list[NewSegment] = []
    for paragraph in _paragraphs(text):
        segment = NewSegment(kind, paragraph)
        if match := _LEADING_TIME.match(paragraph):
            hours, minutes, seconds, plain = match.groups()
            value = (
                float(plain)
                if plain is not None
                else int(hours or 0) * 3600 + int(minutes) * 60 + float(seconds)
            )
            segment.start_s = _seconds(value)
        elif match := _LEADING_PAGE.match(paragraph):
            segment.page = _page(int(match.group(1)))
        out.append(segment)
    return out


def _answer_text(data: Mapping[str, Any]) -> str:
    answer = data.get("answer")
    if isinstance(answer, Mapping):
        answer = answer.get("text") or answer.get("answer")
    return answer if isinstance(answer, str) else ""


def _summary(content: str | None, data: Mapping[str, Any]) -> list[NewSegment]:
    """The summary, and the answer to the prompt as a kind of its own (``content_json.answer``)
    so ``--kind answer`` finds what was asked; the answer is not indexed twice."""
    answer = _answer_text(data)
    text = content or ""
    if answer and answer.strip() in text:
        text = text.replace(answer.strip(), "\n\n")
    return _described("summary", text) + [NewSegment("answer", p) for p in _paragraphs(answer)]


def _text_analysis(content: str | None, data: Mapping[str, Any]) -> list[NewSegment]:
    """The text a text analysis quotes (its extractive ``summary``), else its prose."""
    quoted = data.get("summary")
    return [NewSegment("text_analysis", p) for p in _paragraphs(quoted or content)]


def _shared(data: Mapping[str, Any]) -> list[NewSegment]:
    """Shapes any result may carry: per-page text (``pages``: ``{number|page, text}``) and
    on-screen text with a time (``ocr_text``/``on_screen_text``: ``{text, time|start, end}``)."""
    out: list[NewSegment] = []
    pages = data.get("pages")
    for item in pages if isinstance(pages, list) else ():
        if isinstance(item, Mapping) and _text(item.get("text")):
            number = _page(item.get("number", item.get("page")))
            out.extend(NewSegment("page", p, page=number) for p in _chunks(_text(item["text"])))
    for key in ("ocr_text", "on_screen_text"):
        out.extend(_timed("ocr_text", data.get(key), ("text",)))
    return out


Extractor = Callable[[str | None, Mapping[str, Any]], list[NewSegment]]
#: Result type -> how its own text becomes segments; ``_shared`` shapes apply to every type.
EXTRACTORS: dict[str, Extractor] = {
    "transcription": _transcript,
    "summary": _summary,
    "vision_analysis": lambda content, data: _described("scene", content),
    "text_analysis": _text_analysis,
}


def _stated_language(data: Mapping[str, Any]) -> str | None:
    for key in ("language", "detected_language"):
        if code := normalize_language(data.get(key)):
            return code
    return None


def with_language(segments: list[NewSegment], stated: str | None = None) -> list[NewSegment]:
    """Give every segment without one the stated language, else the guess over all the text."""
    missing = [s for s in segments if s.language is None]
    if not missing:
        return segments
    language = stated or detect_language(" ".join(s.text for s in missing))
    return [s if s.language else replace(s, language=language) for s in segments]


def result_segments(result_type: str, content: str | None, content_json: Any) -> list[NewSegment]:
    """The segments of one result row, numbered in order, with their language."""
    data = content_json if isinstance(content_json, Mapping) else {}
    extract = EXTRACTORS.get(result_type)
    found = (extract(content, data) if extract else []) + _shared(data)
    found = found[:MAX_SEGMENTS_PER_RESULT]
    for i, segment in enumerate(found):
        segment.position = i
    return with_language(found, _stated_language(data))


def page_segments(
    pages: Iterable[tuple[int | None, str]], *, file_index: int | None = None
) -> list[NewSegment]:
    """Segments of a document's pages (``(number, text)``), for the step that extracts them; a
    long page is several segments with the same number. The language is guessed per page when
    the page says enough, else over the whole document."""
    out: list[NewSegment] = []
    for number, text in pages:
        for piece in _chunks(_text(text)):
            out.append(NewSegment("page", piece, page=_page(number), file_index=file_index))
            if len(out) >= MAX_SEGMENTS_PER_RESULT:
                break
    texts: dict[int | None, list[str]] = {}
    for i, segment in enumerate(out):
        segment.position = i
        texts.setdefault(segment.page, []).append(segment.text)
    languages = {page: detect_language(" ".join(parts)) for page, parts in texts.items()}
    for segment in out:
        segment.language = languages[segment.page]
    return with_language(out)


def document_pages(text: str, facts: Any) -> list[tuple[int | None, str]]:
    """A document's stored text back in pages, by a ``metadata_extraction`` result's page facts
    (``document.pages``: ``number``, ``chars``, ``has_text_layer``, ``read_by_ocr``): the text
    file holds the pages with a text layer or read by OCR, joined by a blank line. When the
    facts do not add up to the text (older rows, a cut text), the whole text is one segment
    list without a page."""
    from ..media.document_info import split_pages

    doc = facts.get("document") if isinstance(facts, Mapping) else None
    pages = doc.get("pages") if isinstance(doc, Mapping) else None
    split = split_pages(text, pages if isinstance(pages, list) else [])
    if split is not None:
        return [(_page(number), page) for number, page in split]
    single = isinstance(doc, Mapping) and doc.get("page_count") == 1
    return [(1 if single else None, text)] if text.strip() else []
