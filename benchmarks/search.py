"""How fast is search? 100,000 generated segments over 2,000 requests, on PostgreSQL and SQLite.

Each request gets one transcript result of 50 timed segments (70 % English, 30 % German), written
through ``Store.replace_rows`` as the ``analyze`` step writes it, so the segments are derived and
indexed in the same transaction: the time per request, and the share of it that the segments
cost (``Store.replace_segments`` of the same segments: derive, insert, index), is the indexing
cost. The words come from a Zipf-distributed vocabulary of invented stems with English or German
endings among common function words, so stemming, common and rare words behave as in real text.

Then the same queries run as ``Store.search`` (``media_analysis_search`` on PostgreSQL, FTS5 on
SQLite) and as a plain scan of the same rows in the same run: every query word as
``text ILIKE '%word%'`` (``LIKE`` on SQLite, case-insensitive for ASCII there), newest request
first, 20 rows; a scan has to read every row to order them, as any search that ranks must. The
queries: one word in another inflected form (40 %), two words from one segment (40 %), a quoted
phrase (10 %), a word that is nowhere (10 %). p50 and p95 of each, and their ratio. PostgreSQL is
a throwaway database on the server the tests use (``media_analysis_fixtures/pg.py``); SQLite is a
file in a temporary directory.

    .venv/bin/python -m benchmarks.search [--requests 2000] [--segments 50] [--queries 200]
        [--backend both|postgresql|sqlite]
"""

from __future__ import annotations

import argparse
import itertools
import json
import random
import statistics
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from ._common import percentile

SEED = 19
# fmt: off
SYLLABLES = (
    "ka", "lo", "mi", "ne", "ru", "sa", "te", "vo", "bi", "da", "fe", "gu", "ha", "ji", "ko",
    "li", "mo", "nu", "pe", "ri", "so", "tu", "wa", "ze",
)
ENDINGS = {"en": ("", "", "s", "ed", "ing"), "de": ("", "", "en", "e", "er")}
FILLER = {
    "en": ("the", "a", "and", "of", "to", "in", "is", "that", "it", "for", "on", "with", "as",
           "was", "at", "by", "this"),
    "de": ("der", "die", "das", "und", "ist", "zu", "den", "mit", "von", "im", "für", "auf",
           "nicht", "ein", "eine"),
}
# fmt: on
GOAL_P95_MS = 50.0
GOAL_RATIO = 20.0


def vocabulary(size: int, rng: random.Random) -> list[str]:
    """``size`` distinct invented stems of two to four syllables."""
    stems: set[str] = set()
    while len(stems) < size:
        stems.add("".join(rng.choice(SYLLABLES) for _ in range(rng.randint(2, 4))))
    return sorted(stems)


class Corpus:
    """Segments of invented text, the words of each kept for making queries."""

    def __init__(self, requests: int, per_request: int, vocab_size: int = 6000) -> None:
        self.rng = random.Random(SEED)
        self.stems = vocabulary(vocab_size, self.rng)
        self.rng.shuffle(self.stems)  # frequency rank apart from spelling
        self.known = set(self.stems)
        # Zipf-Mandelbrot (s = 1, q = 50): the function words are FILLER, so the most common
        # content word is in about 4 % of the segments, as in speech and prose.
        weights = [1 / (rank + 50) for rank in range(len(self.stems))]
        self.cumulative = list(itertools.accumulate(weights))
        self.requests = [self._request(i, per_request) for i in range(requests)]

    def _sentence(self, language: str) -> str:
        words = []
        for _ in range(self.rng.randint(8, 20)):
            if self.rng.random() < 0.35:
                words.append(self.rng.choice(FILLER[language]))
            else:
                stem = self.rng.choices(self.stems, cum_weights=self.cumulative)[0]
                words.append(stem + self.rng.choice(ENDINGS[language]))
        return " ".join(words).capitalize() + "."

    def _request(self, index: int, per_request: int) -> dict[str, Any]:
        language = "de" if index % 10 >= 7 else "en"
        segments, at = [], 0.0
        for i in range(per_request):
            length = round(self.rng.uniform(2.0, 8.0), 2)
            text = self._sentence(language)
            segments.append(
                {"id": i, "start": round(at, 2), "end": round(at + length, 2), "text": text}
            )
            at += length + 0.3
        return {"language": language, "segments": segments}

    def _inflected(self, word: str, language: str) -> str:
        stem = next(
            (s for s in sorted(self.stems, key=len, reverse=True) if word.startswith(s)), word
        )
        return stem + self.rng.choice(ENDINGS[language])

    def queries(self, count: int) -> list[str]:
        out = []
        for _ in range(count):
            request = self.rng.choice(self.requests)
            words = [
                w.strip(".").lower()
                for w in self.rng.choice(request["segments"])["text"].split()
                if w.strip(".").lower() not in FILLER[request["language"]]
            ]
            roll = self.rng.random()
            if roll < 0.4 or len(words) < 2:
                out.append(self._inflected(self.rng.choice(words), request["language"]))
            elif roll < 0.8:
                out.append(" ".join(self.rng.sample(words, 2)))
            elif roll < 0.9:
                at = self.rng.randrange(len(words) - 1)
                out.append(f'"{words[at]} {words[at + 1]}"')
            else:
                out.append("zyxwvut" + "".join(self.rng.choice(SYLLABLES) for _ in range(2)))
        return out


def load(store: Any, corpus: Corpus) -> dict[str, float]:
    """Every request as the pipeline writes it; the time per request, and the segments' share."""
    from media_analysis_dagster.db.rows import NewResult
    from media_analysis_dagster.db.segments import result_segments

    per_request = []
    ids = []
    for i, transcript in enumerate(corpus.requests):
        rid = store.create_request(media_type="video", media_path=f"/bench/clip_{i:05d}.mp4")
        started = time.perf_counter()
        written = store.replace_rows(
            rid["request_id"],
            result_tasks=["transcription"],
            results=[
                NewResult(
                    result_type="transcription",
                    provider="internal",
                    content_json=transcript,
                    metadata={"task": "transcription"},
                )
            ],
        )
        per_request.append(time.perf_counter() - started)
        ids.append((rid["request_id"], written["results"][0], transcript))
    segment_share = []
    for rid, result_id, transcript in ids[:: max(1, len(ids) // 200)]:
        started = time.perf_counter()
        segments = result_segments("transcription", None, transcript)
        store.replace_segments(rid, segments, result_id=result_id)
        segment_share.append(time.perf_counter() - started)
    return {
        "write_ms_per_request": round(statistics.median(per_request) * 1000, 2),
        "segments_ms_per_request": round(statistics.median(segment_share) * 1000, 2),
        "load_s": round(sum(per_request), 1),
    }


def scan(store: Any, query: str, limit: int = 20) -> list[Any]:
    """The plain scan: each word (or the phrase) as a substring, newest request first."""
    from sqlalchemy import and_, select

    from media_analysis_dagster.db.models import MediaAnalysisRequest as Request
    from media_analysis_dagster.db.models import MediaAnalysisSegment as Segment

    words = [query.strip('"')] if query.startswith('"') else query.split()
    column = Segment.text
    like = column.ilike if store.engine.dialect.name == "postgresql" else column.like
    stmt = (
        select(Segment.segment_id, Segment.request_id, Segment.start_s, Segment.text)
        .join(Request, Request.request_id == Segment.request_id)
        .where(and_(*(like(f"%{w}%") for w in words)))
        .order_by(Request.created_at.desc(), Segment.segment_id)
        .limit(limit)
    )
    with store.engine.connect() as conn:
        return list(conn.execute(stmt))


def timed(call: Callable[[str], Any], queries: list[str]) -> tuple[list[float], int]:
    for query in queries[:10]:  # warm caches and plans
        call(query)
    times, found = [], 0
    for query in queries:
        started = time.perf_counter()
        found += bool(call(query))
        times.append((time.perf_counter() - started) * 1000)
    return times, found


def measure(store: Any, corpus: Corpus, queries: list[str]) -> dict[str, Any]:
    figures: dict[str, Any] = {"backend": store.engine.dialect.name}
    figures.update(load(store, corpus))
    with store.engine.connect() as conn:
        figures["segments"] = conn.exec_driver_sql(
            "SELECT count(*) FROM media_analysis_segments"
        ).scalar()
    if figures["backend"] == "postgresql":  # as autovacuum leaves a table after a burst
        with store.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
            conn.exec_driver_sql("VACUUM ANALYZE media_analysis_segments")
    search_ms, search_found = timed(lambda q: store.search(q, limit=20), queries)
    scan_ms, scan_found = timed(lambda q: scan(store, q), queries)
    for name, values in (("search", search_ms), ("scan", scan_ms)):
        figures[f"{name}_p50_ms"] = round(percentile(values, 50), 2)
        figures[f"{name}_p95_ms"] = round(percentile(values, 95), 2)
    figures["queries_with_hits"] = {"search": search_found, "scan": scan_found}
    figures["ratio_p50"] = round(figures["scan_p50_ms"] / figures["search_p50_ms"], 1)
    figures["ratio_p95"] = round(figures["scan_p95_ms"] / figures["search_p95_ms"], 1)
    return figures


@contextmanager
def postgresql_store() -> Iterator[Any]:
    from media_analysis_dagster.db.engine import build_engine
    from media_analysis_dagster.db.schema import init_database
    from media_analysis_dagster.db.store import Store
    from media_analysis_fixtures import pg

    with pg.admin_url() as admin:
        if admin is None:
            raise SystemExit("no PostgreSQL (see media_analysis_fixtures/pg.py)")
        name = pg.create_database(admin, prefix="ma_bench_search")
        engine = build_engine(pg.with_database(admin, name))
        try:
            init_database(engine)
            yield Store(engine)
        finally:
            engine.dispose()
            pg.drop_database(admin, name)


@contextmanager
def sqlite_store() -> Iterator[Any]:
    from media_analysis_dagster.db.engine import build_engine
    from media_analysis_dagster.db.schema import init_database
    from media_analysis_dagster.db.store import Store

    with tempfile.TemporaryDirectory() as tmp:
        engine = build_engine(f"sqlite:///{Path(tmp) / 'bench.db'}")
        try:
            init_database(engine)
            yield Store(engine)
        finally:
            engine.dispose()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=2000)
    parser.add_argument("--segments", type=int, default=50, help="segments per request")
    parser.add_argument("--queries", type=int, default=200)
    parser.add_argument("--backend", choices=("both", "postgresql", "sqlite"), default="both")
    args = parser.parse_args()
    corpus = Corpus(args.requests, args.segments)
    queries = corpus.queries(args.queries)
    backends = ("postgresql", "sqlite") if args.backend == "both" else (args.backend,)
    results = []
    for backend in backends:
        print(f"{backend}: writing {args.requests * args.segments:,} segments ...", flush=True)
        with postgresql_store() if backend == "postgresql" else sqlite_store() as store:
            figures = measure(store, corpus, queries)
        results.append(figures)
        print(json.dumps(figures), flush=True)
    print()
    print(
        "backend     segments  write/req  segments/req  search p50/p95 ms  scan p50/p95 ms  ratio"
    )
    for f in results:
        print(
            f"{f['backend']:<11} {f['segments']:>8,}  {f['write_ms_per_request']:>7} ms  "
            f"{f['segments_ms_per_request']:>9} ms  "
            f"{f['search_p50_ms']:>7} / {f['search_p95_ms']:<7}  "
            f"{f['scan_p50_ms']:>7} / {f['scan_p95_ms']:<7}  "
            f"{f['ratio_p50']}x / {f['ratio_p95']}x"
        )
    pg_figures = next((f for f in results if f["backend"] == "postgresql"), None)
    if pg_figures:
        met = pg_figures["search_p95_ms"] <= GOAL_P95_MS and pg_figures["ratio_p95"] >= GOAL_RATIO
        print(
            f"goal (PostgreSQL p95 <= {GOAL_P95_MS:g} ms, >= {GOAL_RATIO:g}x the scan): "
            + ("met" if met else "NOT met")
        )


if __name__ == "__main__":
    main()
