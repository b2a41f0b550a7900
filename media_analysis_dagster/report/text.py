"""Text as a person reads it in a report or a step view: cleaned, bounded, escaped, formatted.

Every value shown comes from the tables, and so, in the end, from whoever sent the request, a
file's metadata or a provider's answer: it may hold markup, NUL and other control characters,
lone surrogates, bidirectional overrides or megabytes of text. Each value passes through
:func:`bounded` (cut at a word near the limit, with an ellipsis and what was left out) and then
through one escaper, :func:`esc` for HTML or :func:`md` for Markdown, so no path prints a raw
value. Control characters become U+FFFD, so a reader sees that something was there.
"""

from __future__ import annotations

import html
import math
import re
from datetime import UTC, datetime
from typing import Any

#: C0/C1 controls except tab and newline, DEL, and lone surrogates (not encodable as UTF-8).
_CONTROL = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f\ud800-\udfff]")
#: Bidirectional embeddings, overrides and isolates: they reorder what follows them.
_BIDI = re.compile("[\u202a-\u202e\u2066-\u2069]")
_MD_SPECIAL = re.compile(r"([\\`*_{}\[\]()#+\-.!|<>&~=:\"'$^])")


def clean(value: Any) -> str:
    """``value`` as text with control characters replaced (tabs and newlines kept)."""
    text = value if isinstance(value, str) else "" if value is None else str(value)
    return _CONTROL.sub("\ufffd", text.replace("\r\n", "\n").replace("\r", "\n"))


def bounded(value: Any, limit: int, *, note: bool = True) -> str:
    """Cleaned text of at most about ``limit`` characters: cut at the last space in the final
    fifth (else mid-word), with "…" and, when ``note``, how many characters were left out."""
    raw = value if isinstance(value, str) else "" if value is None else str(value)
    if len(raw) <= limit:
        return clean(raw)
    head = raw[: limit + 1]
    cut = head.rfind(" ", int(limit * 0.8), limit + 1)
    head = head[: cut if cut > 0 else limit].rstrip()
    rest = len(raw) - len(head)
    tail = f" … ({rest:,} more characters)" if note else "…"
    return clean(head) + tail


def one_line(value: Any, limit: int) -> str:
    """``bounded`` on one line: runs of whitespace, newlines included, become one space."""
    raw = value if isinstance(value, str) else "" if value is None else str(value)
    return bounded(" ".join(raw[: limit * 2 + 64].split()), limit, note=False)


def esc(value: Any, limit: int = 2000) -> str:
    """HTML-escaped (quotes too), bounded text."""
    return html.escape(bounded(value, limit), quote=True)


def user(value: Any, limit: int = 500) -> str:
    """Escaped text isolated for bidirectional display, so a right-to-left override in a file
    name cannot reorder the words after it."""
    return f'<bdi dir="auto">{esc(value, limit)}</bdi>'


def md(value: Any, limit: int = 500) -> str:
    """Markdown-escaped single line: every punctuation Markdown could read as syntax is
    backslash-escaped (so ``<script>`` and ``[x](javascript:…)`` print as text) and bidi
    controls are removed (Dagster renders the line as it is)."""
    return _MD_SPECIAL.sub(r"\\\1", _BIDI.sub("", one_line(value, limit)))


def number(value: Any) -> float | None:
    """A finite number, or None (booleans, strings and NaN are not numbers here)."""
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    as_float = float(value)
    return as_float if math.isfinite(as_float) else None


def clock(seconds: float) -> str:
    """``mm:ss``, or ``h:mm:ss`` from one hour; what players show."""
    total = max(0, math.floor(seconds + 1e-6)) if math.isfinite(seconds) else 0
    h, rest = divmod(total, 3600)
    m, s = divmod(rest, 60)
    return f"{h}:{m:02d}:{s:02d}" if h else f"{m:02d}:{s:02d}"


def anchor_time(seconds: float) -> str:
    """The time in an anchor id (``t=12.5``): milliseconds at most, no trailing zeros."""
    return f"{max(seconds, 0.0):.3f}".rstrip("0").rstrip(".")


def human_bytes(size: Any) -> str:
    n = number(size)
    if n is None:
        return "—"
    for unit in ("bytes", "KB", "MB", "GB"):
        if abs(n) < 1000 or unit == "GB":
            return f"{n:,.0f} {unit}" if unit == "bytes" else f"{n:,.1f} {unit}"
        n /= 1000
    return f"{n:,.1f} GB"  # pragma: no cover - the loop returns


def human_duration(seconds: Any) -> str:
    """``4.2 s``, ``3 min 51 s``, ``2 h 05 min``."""
    s = number(seconds)
    if s is None or s < 0:
        return "—"
    if s < 60:
        return f"{s:.1f} s"
    if s < 3600:
        return f"{int(s // 60)} min {int(s % 60):02d} s"
    if s < 1e7:
        return f"{int(s // 3600)} h {int(s % 3600 // 60):02d} min"
    return f"{s:.3g} s"


def money(value: Any) -> str:
    """US dollars: ``$0`` for free, four decimals below a dollar."""
    usd = number(value)
    if usd is None:
        return "—"
    if usd == 0:
        return "$0"
    if abs(usd) >= 1e9:  # not a real cost; say so without printing 300 digits
        return f"${usd:.3g}"
    return f"${usd:,.4f}" if abs(usd) < 1 else f"${usd:,.2f}"


def percent(value: Any) -> str:
    score = number(value)
    return "—" if score is None else f"{score * 100:.0f} %"


def when(value: Any) -> str:
    """An ISO 8601 time from the tables as ``2026-03-01 12:34:56 UTC`` (HTML-escaped: a value
    that is not a time is shown as it is)."""
    if not isinstance(value, str) or not value:
        return "—"
    try:
        parsed = datetime.fromisoformat(value[:64])
    except ValueError:
        return html.escape(one_line(value, 64), quote=True)
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=UTC)
    return parsed.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S UTC")
