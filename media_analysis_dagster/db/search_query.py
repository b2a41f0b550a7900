"""A searcher's words, made safe and turned into an SQLite FTS5 expression.

Whatever is typed (quotes, operators, SQL, NUL, lone surrogates, 10,000 characters), the result
is a valid query or nothing: ``clean_query`` removes what no database stores and bounds the
length, ``clamp_hits`` bounds the number of hits, and ``fts_expression`` quotes every word and
phrase, so FTS5's own syntax never sees user text.

FTS5 stems nothing but English (``porter``), so inflection is handled on the query side: each
word becomes the prefix its inflected forms share, by the common endings of several languages
(``Rechnungen`` → ``rechn*``, ``policies`` → ``polic*``); the index keeps the words as written,
accents folded, so snippets show the text itself. Websearch syntax is understood as
PostgreSQL's ``websearch_to_tsquery`` understands it: words (all must match), ``"a phrase"``,
``-excluded``, ``or``.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Any

MAX_QUERY_CHARS = 1000
MAX_HITS = 100
DEFAULT_HITS = 20
MARKS = ("«", "»")
_MAX_TERMS = 32
_UNSAFE = re.compile("[\x00\ud800-\udfff]")
_TOKEN = re.compile(r'-?"[^"]*"?|\S+')
_WORD = re.compile(r"[^\W_]+")
_MIN_STEM = 4
_DOUBLED = re.compile(r"([bdfgklmnprtvz])\1$")
# Inflection endings by language, longest first; the shortest stem any language leaves (of at
# least _MIN_STEM characters) is the prefix searched.
_SUFFIXES = {
    "en": ("ations", "ation", "ingly", "ings", "ing", "ied", "ies", "ers", "ed", "es", "er", "s",
           "ly", "y"),
    "de": ("ungen", "heiten", "keiten", "ung", "heit", "keit", "ern", "em", "en", "er", "es",
           "e", "n", "s"),
    "fr": ("ements", "ement", "ations", "ation", "euses", "euse", "eux", "ées", "ée", "és", "es",
           "é", "e", "s", "x"),
    "es": ("aciones", "ación", "ciones", "ción", "mente", "iones", "ión", "es", "as", "os", "a",
           "o", "s"),
    "it": ("azioni", "azione", "mente", "i", "e", "a", "o"),
    "pt": ("ções", "ção", "mente", "es", "as", "os", "a", "o", "s"),
    "nl": ("heden", "heid", "ingen", "ing", "en", "e", "s"),
}  # fmt: skip
#: Words that alone narrow nothing (dropped when the query has others, as PostgreSQL does).
# fmt: off
_STOPWORDS = frozenset((
    "a", "an", "and", "are", "as", "at", "be", "by", "for", "from", "in", "is", "it", "of", "on",
    "or", "that", "the", "this", "to", "was", "were", "with", "der", "die", "das", "den", "dem",
    "des", "ein", "eine", "einer", "und", "oder", "ist", "sind", "im", "zu", "von", "mit", "auf",
    "für",
))
# fmt: on


def clean_query(query: Any) -> str:
    """What may be searched: a string without NUL or lone surrogates, trimmed and bounded."""
    raw = query if isinstance(query, str) else "" if query is None else str(query)
    return _UNSAFE.sub("", raw[: MAX_QUERY_CHARS * 2]).strip()[:MAX_QUERY_CHARS].strip()


def clamp_hits(limit: Any) -> int:
    """``limit`` within ``1..MAX_HITS`` (not a number: the default)."""
    try:
        number = int(limit)
    except (TypeError, ValueError, OverflowError):
        return DEFAULT_HITS
    return max(1, min(number, MAX_HITS))


def stem_prefix(word: str) -> str:
    """The prefix a word's inflections share, by the endings of several languages; a doubled
    final consonant left by an English ending is undoubled (``resetting`` → ``reset``)."""
    word = word.lower()
    stems = [word]
    for language, endings in _SUFFIXES.items():
        for ending in endings:
            if word.endswith(ending) and len(word) - len(ending) >= _MIN_STEM:
                stem = word[: -len(ending)]
                if language == "en" and _DOUBLED.search(stem) and len(stem) > _MIN_STEM:
                    stem = stem[:-1]
                stems.append(stem)
                break
    return min(stems, key=len)


def _quoted(words: Sequence[str]) -> str:
    return '"' + " ".join(w.replace('"', '""') for w in words) + '"'


def _term(words: list[str], phrase: bool) -> str:
    """One FTS5 operand: a quoted phrase as typed, or a word as the prefix of its stem."""
    if phrase or len(words) > 1:
        return _quoted(words)
    word = words[0].lower()
    return _quoted([stem_prefix(word)]) + "*" if len(word) >= _MIN_STEM else _quoted([word])


def fts_expression(query: str) -> str:
    """An FTS5 MATCH expression from a websearch-style query ('' when nothing is searchable):
    every word and phrase quoted, so the expression is valid whatever the input."""
    clauses: list[list[str]] = []
    negatives: list[str] = []
    join_next = False
    for token in _TOKEN.findall(query)[: _MAX_TERMS * 2]:
        negative = token.startswith("-") and len(token) > 1
        body = token[1:] if negative else token
        phrase = body.startswith('"')
        words = _WORD.findall(body)
        if not phrase and len(words) == 1 and words[0].lower() == "or" and not negative:
            join_next = bool(clauses)
            continue
        if not words:
            continue
        operand = _term(words, phrase)
        if negative:
            negatives.append(operand)
        elif join_next:
            clauses[-1].append(operand)
        else:
            clauses.append([operand])
        join_next = False
    meaningful = [c for c in clauses if not (len(c) == 1 and c[0].strip('"*') in _STOPWORDS)]
    clauses = (meaningful or clauses)[:_MAX_TERMS]
    if not clauses:
        return ""
    expression = " AND ".join(f"({' OR '.join(c)})" for c in clauses)
    return " NOT ".join([f"({expression})", *negatives[:_MAX_TERMS]])
