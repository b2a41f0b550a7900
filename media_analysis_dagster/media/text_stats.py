"""Cheap, offline statistics about extracted text (documents and transcripts).

Nothing here calls a remote model: the counts, top terms, language and extractive summary are
there so every request gets a useful result even when no AI provider is configured, and so the
AI summary can be sanity-checked against them. The language comes from the one detector every
text goes through (`language.detect_language`, offline); it says ``None`` rather than guess on
a handful of words. The stopword lists below only keep function words out of the top terms and
the summary's scoring.
"""

from __future__ import annotations

import math
import re
from collections import Counter
from typing import Any

from media_analysis_dagster.media.language import detect_language

_STOPWORDS: dict[str, frozenset[str]] = {
    lang: frozenset(words.split())
    for lang, words in {
        "en": "the a an and or but of to in on at for with from by as is are was were be been "
        "being it its this that these those he she they we you i his her their our your not no "
        "have has had do does did will would can could should there which who what when where "
        "than then so if about into over also only more most very just",
        "de": "der die das den dem des ein eine einer eines einem einen und oder aber nicht ist "
        "sind war waren wird werden wurde hat haben hatte ich du er sie es wir ihr mit von zu "
        "im in auf für an aus bei nach über auch noch nur schon wie als dass wenn sich so um "
        "doch vor zum zur bis durch kein keine mehr sehr",
        "fr": "le la les un une des du de et ou mais ne pas est sont était être avoir a ont il "
        "elle ils elles nous vous je tu on ce cette ces que qui dans sur pour par avec sans au "
        "aux plus se sa son ses leur leurs comme tout très aussi été fait y en",
        "es": "el la los las un una unos unas y o pero no es son era ser estar está están fue "
        "han ha yo tú él ella nosotros ellos que quien en de del al por para con sin sobre "
        "como más muy su sus se lo le les también ya este esta estos hay cuando",
        "it": "il lo la i gli le un una uno e o ma non è sono era essere ha hanno io tu lui lei "
        "noi voi loro che chi di del della dei delle in nel nella su per con da al alla come "
        "più molto suo sua anche questo questa quando se ci si",
        "pt": "o a os as um uma uns umas e ou mas não é são era ser estar está foi tem têm eu "
        "tu ele ela nós eles elas que quem de do da dos das em no na nos nas por para com sem "
        "como mais muito seu sua também já este esta isso quando se ao",
        "nl": "de het een en of maar niet is zijn was waren wordt worden werd heeft hebben had "
        "ik jij je hij zij ze wij we jullie dat die dit deze wat wie in op aan voor met van "
        "uit bij naar over ook nog al als dan zo er om door geen meer zeer",
    }.items()
}
_ALL_STOPWORDS = frozenset().union(*_STOPWORDS.values())
_WORD = re.compile(r"[^\W\d_]+(?:['\u2019-][^\W\d_]+)*")  # internal apostrophes and hyphens
_TOKEN = re.compile(r"[^\W\d_]+")
_SENTENCE_END = re.compile(r"(?<=[.!?…])\s+|\n\s*\n")
_WORDS_PER_MINUTE = 230
_MAX_SUMMARY_SENTENCES = 3
_MAX_SCORED_SENTENCES = 5000
#: Characters analysed per text (about 1,000 pages); the regex passes cost ~1.3 s per million.
MAX_ANALYZED_CHARS = 2_000_000
_UNSAFE = re.compile("[\x00\ud800-\udfff]")


def safe_text(text: str) -> str:
    """``text`` without NUL characters and with unpaired surrogates replaced by U+FFFD, the
    two things PostgreSQL refuses in TEXT and JSONB (files and transcripts carry both)."""
    if not _UNSAFE.search(text):
        return text
    return _UNSAFE.sub(lambda m: "" if m.group() == "\x00" else "\ufffd", text)


def _sentences(text: str) -> list[str]:
    parts = (" ".join(part.split()) for part in _SENTENCE_END.split(text))
    return [part for part in parts if _TOKEN.search(part)]


def _summary(sentences: list[str], freq: Counter[str]) -> str:
    """The first sentence plus the most central ones (highest mean term frequency), in order."""
    pool = sentences[:_MAX_SCORED_SENTENCES]
    if len(pool) <= _MAX_SUMMARY_SENTENCES:
        chosen = list(range(len(pool)))
    else:

        def score(index: int) -> float:
            terms = [t for t in _TOKEN.findall(pool[index].lower()) if t not in _ALL_STOPWORDS]
            return sum(freq[t] for t in terms) / math.sqrt(len(terms) + 1)

        rest = sorted(range(1, len(pool)), key=score, reverse=True)
        chosen = sorted([0, *rest[: _MAX_SUMMARY_SENTENCES - 1]])
    return " ".join(pool[i] if len(pool[i]) <= 300 else pool[i][:297] + "..." for i in chosen)


def analyze_text(
    text: str, *, top_n: int = 15, max_chars: int = MAX_ANALYZED_CHARS
) -> dict[str, Any]:
    """Counts, reading time, top terms, language and a short extractive summary.

    ``chars`` is the length of the whole text; everything else describes its first
    ``max_chars`` characters (``analyzed_chars``), so the cost is bounded whatever the input.
    """
    total = len(text)
    text = safe_text(text[:max_chars])
    words = _WORD.findall(text)
    tokens = [token.lower() for token in _TOKEN.findall(text)]
    language = detect_language(text)
    freq = Counter(t for t in tokens if len(t) >= 3 and t not in _ALL_STOPWORDS)
    sentences = _sentences(text)
    return {
        "chars": total,
        "analyzed_chars": len(text),
        "words": len(words),
        "sentences": len(sentences),
        "lines": len(text.splitlines()),
        "avg_word_length": round(sum(map(len, words)) / len(words), 2) if words else 0.0,
        "reading_time_minutes": round(len(words) / _WORDS_PER_MINUTE, 1),
        "top_terms": [[term, count] for term, count in freq.most_common(top_n)],
        **language.to_dict(),
        "summary": _summary(sentences, freq),
    }
