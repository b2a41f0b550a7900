"""What a report shows, read once from a request row (``Store.get_request``) and its children.

The row comes from the tables, so every field may be missing, of another type than expected or
hostile; this module only sorts and picks (results by type, files by type and order, scenes with
their picture), and leaves escaping and bounding to the sections.

Scene pictures, in order of preference: the ``thumbnail`` file of the scene (``sequence_order`` =
the scene's index from 0, as ``media/scene_strip.scene_thumbnails`` numbers them), else the first
extracted ``frame`` inside the scene (its time is ``frame_number / fps``), else none.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

from .text import number

#: Most scenes listed (each with its anchor); a report of a 6-hour file stays readable.
MAX_SCENES = 1000

Row = Mapping[str, Any]


@dataclass(frozen=True)
class Scene:
    """Scene ``number`` (from 1) from ``start`` to ``end`` seconds; ``picture`` is a file row,
    ``picture_time`` the time that picture shows when it is a sampled frame."""

    number: int
    start: float
    end: float | None
    kind: str | None = None
    picture: Row | None = None
    picture_time: float | None = None


@dataclass
class ReportData:
    row: Row
    results: list[Row]
    files: dict[str, list[Row]]
    sheets: list[tuple[Row, Row | None]]
    facts: Row
    duration: float | None
    scenes: list[Scene] = field(default_factory=list)
    scenes_total: int = 0

    def of_type(self, result_type: str) -> list[Row]:
        return [r for r in self.results if r.get("result_type") == result_type]


def as_map(value: Any) -> Row:
    """``value`` if it is a mapping, else an empty one (JSON columns may hold anything)."""
    return value if isinstance(value, Mapping) else {}


def as_list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else []


def _rows(value: Any) -> list[Row]:
    return [r for r in value if isinstance(r, Mapping)] if isinstance(value, list) else []


def _order(row: Row) -> float:
    return number(row.get("sequence_order")) or 0.0


def safe_source(row: Row) -> str:
    """What the request read: the file name of ``media_path``, or the URL's scheme, host and
    path (never its credentials or query, which may hold a token)."""
    path = row.get("media_path")
    if isinstance(path, str) and path:
        return path.replace("\\", "/").rstrip("/").rsplit("/", 1)[-1] or path
    url = row.get("media_url")
    if not isinstance(url, str) or not url:
        return ""
    try:
        parts = urlsplit(url[:4096])
        host = parts.hostname or ""
    except ValueError:
        return url[:200].split("?", 1)[0]
    return f"{parts.scheme}://{host}{parts.path}" if host else url[:200].split("?", 1)[0]


def _facts(results: list[Row]) -> Row:
    for r in results:
        data = r.get("content_json")
        if r.get("result_type") == "metadata_extraction" and isinstance(data, Mapping):
            return data
    return {}


def _duration(files: dict[str, list[Row]], facts: Row) -> float | None:
    for original in files.get("original", []):
        if (seconds := number(original.get("duration_seconds"))) is not None:
            return seconds
    for key in ("video", "audio"):
        part = facts.get(key)
        if isinstance(part, Mapping) and (seconds := number(part.get("duration"))) is not None:
            return seconds
    return None


def _starts(results: list[Row], duration: float | None) -> tuple[list[float], list[Any]]:
    """Scene starts (0 and every cut inside the video) and the cut kinds, from the first scene
    detection result that lists cuts."""
    for r in results:
        data = r.get("content_json")
        if r.get("result_type") != "scene_detection" or not isinstance(data, Mapping):
            continue
        cuts = data.get("cut_times")
        if not isinstance(cuts, list):
            continue
        kinds = as_list(data.get("cut_kinds"))
        pairs = []
        for i, t in enumerate(cuts[: MAX_SCENES * 10]):
            v = number(t)
            if v is not None and v > 0 and (duration is None or v < duration):
                pairs.append((v, kinds[i] if i < len(kinds) else None))
        pairs.sort(key=lambda p: p[0])
        return [0.0] + [p[0] for p in pairs], [None] + [p[1] for p in pairs]
    return [], []


def _frame_times(files: dict[str, list[Row]], facts: Row) -> list[tuple[float, Row]]:
    video = facts.get("video")
    fps = number(video.get("fps")) if isinstance(video, Mapping) else None
    if not fps or fps <= 0:
        return []
    out = []
    for f in files.get("frame", []):
        n = number(f.get("frame_number"))
        if n is not None:
            out.append((n / fps, f))
    return sorted(out, key=lambda p: p[0])


def _scenes(
    results: list[Row], files: dict[str, list[Row]], facts: Row, duration: float | None
) -> tuple[list[Scene], int]:
    starts, kinds = _starts(results, duration)
    thumbs = {int(_order(f)): f for f in files.get("thumbnail", [])}
    frames = _frame_times(files, facts)
    scenes = []
    for i, start in enumerate(starts[:MAX_SCENES]):
        end = starts[i + 1] if i + 1 < len(starts) else duration
        kind = kinds[i] if isinstance(kinds[i], str) else None
        if i in thumbs:
            scenes.append(Scene(i + 1, start, end, kind, thumbs[i]))
            continue
        inside = next(
            ((t, f) for t, f in frames if t >= start - 0.02 and (end is None or t < end)), None
        )
        picture, when = (inside[1], inside[0]) if inside else (None, None)
        scenes.append(Scene(i + 1, start, end, kind, picture, when))
    return scenes, len(starts)


def read_report_data(row: Row) -> ReportData:
    """Sort and pick what the sections show from ``Store.get_request``'s dict."""
    results = _rows(row.get("results"))
    files: dict[str, list[Row]] = {}
    for f in sorted(_rows(row.get("files")), key=_order):
        files.setdefault(str(f.get("file_type")), []).append(f)
    by_id = {f.get("file_id"): f for f in _rows(row.get("files"))}
    sheet_rows = sorted(
        _rows(row.get("contact_sheets")), key=lambda s: number(s.get("sheet_number")) or 0
    )
    sheets: list[tuple[Row, Row | None]] = [(s, by_id.get(s.get("file_id"))) for s in sheet_rows]
    if not sheets:  # sheets as files only (a row written without its contact_sheets rows)
        loose = files.get("contact_sheet", [])
        sheets = [({"sheet_number": i + 1}, f) for i, f in enumerate(loose)]
    facts = _facts(results)
    duration = _duration(files, facts)
    scenes, total = _scenes(results, files, facts, duration)
    return ReportData(row, results, files, sheets, facts, duration, scenes, total)


def sorted_results(results: Sequence[Row]) -> list[Row]:
    """Results in the order a person reads them: the summary first, then by type."""
    order = {"summary": 0, "transcription": 1, "vision_analysis": 2, "scene_detection": 3}

    def key(r: Row) -> tuple[int, str]:
        kind = str(r.get("result_type"))
        return order.get(kind, 9), kind

    return sorted(results, key=key)
