"""``media-analysis search`` on SQLite and PostgreSQL: hits with their place, snippet and link to
the moment (the report's anchor, the nearest frame), JSON, filters, ``--reindex``, and bad input
answered with hits or one sentence."""

from __future__ import annotations

import argparse
import io
import json
from pathlib import Path

import pytest
from sqlalchemy import delete

from media_analysis_dagster.cli_args import Parser
from media_analysis_dagster.cli_search import add_search_parser, clock, run_search
from media_analysis_dagster.db.models import MediaAnalysisSegment
from media_analysis_dagster.db.rows import NewFile, NewResult
from media_analysis_dagster.db.store import Store

SEGMENTS = [
    {"start": 0.0, "end": 4.0, "text": "Welcome to the quarterly review."},
    {"start": 65.25, "end": 69.5, "text": "Our refund policy allows returns within thirty days."},
]


def parse(*argv: str) -> argparse.Namespace:
    """The command's grammar under the CLI's parser class (one-line errors)."""
    parser = Parser(prog="media-analysis")
    add_search_parser(parser.add_subparsers(dest="command", parser_class=Parser))
    return parser.parse_args(["search", *argv])


def run(store: Store, *argv: str, artifacts: object = None) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    status = run_search(parse(*argv), store, artifacts=artifacts, out=out, err=err)
    return status, out.getvalue(), err.getvalue()


def _video(store: Store, tmp_path: Path) -> str:
    """A video request with a transcript, its frame rate and frames every 10 s."""
    rid = store.create_request(media_type="video", media_path="/media/review.mp4")["request_id"]
    frames = []
    for i in range(8):
        path = tmp_path / f"frame_{i + 1:04d}.jpg"
        path.write_bytes(b"jpeg")
        frames.append(
            NewFile(file_type="frame", file_path=str(path), frame_number=i * 250, sequence_order=i)
        )
    store.replace_rows(
        rid,
        files=frames,
        results=[
            NewResult(
                result_type="transcription",
                provider="internal",
                content_json={"language": "en", "segments": SEGMENTS},
            ),
            NewResult(
                result_type="metadata_extraction",
                provider="internal",
                content_json={"video": {"fps": 25.0, "duration": 80.0}},
            ),
        ],
    )
    return rid


def test_hits_show_the_moment_and_link_to_it(store: Store, tmp_path: Path) -> None:
    rid = _video(store, tmp_path)
    status, out, _ = run(store, "refunds")
    assert status == 0
    first, snippet, link, footer = out.splitlines()
    assert first == f"1. review.mp4  transcript  01:05-01:09  (request {rid})"
    assert "«refund»" in snippet
    assert link.startswith(f"   report-{rid}.html#say-t=65.25  frame: ")
    assert link.endswith("frame_0008.jpg"), "70 s is the frame nearest 65.25 s (60 s and 70 s)"
    assert footer.startswith("1 hit(s).")


def test_a_stored_report_is_the_link(store: Store, tmp_path: Path) -> None:
    """A completed request's report (stored by ``complete_request``) opens at the moment; the
    footer no longer sends the reader to ``media-analysis report``."""
    rid = _video(store, tmp_path)
    report = tmp_path / "report" / "report.html"
    report.parent.mkdir()
    report.write_text("<html></html>")
    store.replace_rows(
        rid,
        files=[NewFile(file_type="processed", file_path=str(report), mime_type="text/html")],
    )
    status, out, _ = run(store, "refunds")
    assert status == 0
    _, _, link, footer = out.splitlines()
    assert link.startswith(f"   {report.as_uri()}#say-t=65.25  frame: ")
    assert footer == "1 hit(s). A link opens the request's stored report at that moment."


def test_json_and_filters(store: Store, tmp_path: Path) -> None:
    rid = _video(store, tmp_path)
    status, out, _ = run(store, "quarterly", "--json", "--kind", "transcript", "--since", "7d")
    [hit] = json.loads(out)
    assert status == 0 and hit["request_id"] == rid and hit["time"] == "00:00"
    assert hit["link"] == f"report-{rid}.html#say-t=0" and hit["frame"].endswith("frame_0001.jpg")
    assert json.loads(run(store, "quarterly", "--json", "--media-type", "audio")[1]) == []
    assert json.loads(run(store, "quarterly", "--json", "--kind", "page")[1]) == []
    assert json.loads(run(store, "quarterly", "--json", "--since", "2999-01-01")[1]) == []
    status, out, _ = run(store, "nothing-like-this")
    assert status == 0 and out.strip() == "No hits for 'nothing-like-this'."


def test_document_hits_give_their_page(store: Store) -> None:
    from media_analysis_dagster.db.segments import page_segments

    rid = store.create_request(media_type="document", media_path="/d/terms.pdf")["request_id"]
    store.replace_rows(
        rid,
        files=[NewFile(file_type="document", file_path="/d/text.txt")],
        segments=page_segments(
            [(1, "Delivery terms."), (3, "Invoices are due in 30 days.")], file_index=0
        ),
    )
    [hit] = json.loads(run(store, "invoice", "--json")[1])
    assert (hit["page"], hit["time"], hit["frame"]) == (3, None, None)
    assert hit["link"] == f"report-{rid}.html#page-3"
    assert "page 3" in run(store, "invoice")[1]


def test_reindex_rebuilds_then_searches(store: Store, tmp_path: Path) -> None:
    rid = _video(store, tmp_path)
    with store.engine.begin() as conn:
        conn.execute(delete(MediaAnalysisSegment))
    assert run(store, "refund")[1].startswith("No hits")
    status, out, _ = run(store, "--reindex")
    assert status == 0 and out.startswith("Reindexed 2 result(s) and 0 document(s): 2 segment(s).")
    status, out, err = run(store, "refund", "--reindex", "--json")
    assert status == 0 and json.loads(out)[0]["request_id"] == rid and "Reindexed" in err


@pytest.mark.parametrize(
    "query",
    [
        "x" * 10_000,
        '"unbalanced',
        "'; DROP TABLE media_analysis_requests; --",
        "refund) OR (1=1",
        "NEAR(refund policy) col:text ^x *",
        "a\x00b refund",
        "refund \udcff\udcfe",  # undecodable bytes of argv (surrogateescape)
        "refund -policy",
        "& | ! <-> :*",
    ],
)
def test_hostile_queries_answer_hits_or_a_sentence(
    store: Store, tmp_path: Path, query: str
) -> None:
    _video(store, tmp_path)
    status, out, err = run(store, query)
    assert status == 0 and err == ""
    assert out.startswith(("1. ", "No hits for "))
    status, out, _ = run(store, query, "--json")
    assert isinstance(json.loads(out), list)


@pytest.mark.parametrize("query", ["", "   ", "\t\n", "\x00"])
def test_nothing_to_search_is_one_sentence(store: Store, query: str) -> None:
    status, out, err = run(store, query)
    assert status == 2 and out == ""
    assert err.count("\n") == 1 and err.startswith("media-analysis: error: nothing to search for")


def test_limits_are_refused_or_clamped(store: Store, tmp_path: Path, capsys) -> None:
    for bad in ("0", "-1", "ten"):
        with pytest.raises(SystemExit) as exit_info:
            parse("refund", "--limit", bad)
        assert exit_info.value.code == 2
        assert capsys.readouterr().err.count("\n") == 1
    assert parse("refund", "--limit", str(10**9)).limit == 100
    with pytest.raises(SystemExit):
        parse("refund", "--since", "last tuesday")
    _video(store, tmp_path)
    assert len(json.loads(run(store, "refund or welcome", "--limit", "1", "--json")[1])) == 1


def test_clock() -> None:
    assert [clock(s) for s in (0, 59.9, 65.25, 3600, 3725.5)] == [
        "00:00",
        "00:59",
        "01:05",
        "1:00:00",
        "1:02:05",
    ]


def test_the_cli_runs_search(store: Store, tmp_path: Path, monkeypatch, capsys) -> None:
    """Through ``media-analysis`` itself, once ``cli.py`` wires the command."""
    from media_analysis_dagster import cli

    if "search" not in getattr(cli, "COMMANDS", {}):
        pytest.skip("cli.py does not wire `search` yet")
    rid = _video(store, tmp_path)
    monkeypatch.setenv("MEDIA_ANALYSIS_DATABASE_URL", str(store.engine.url.render_as_string(False)))
    assert cli.main(["search", "refund", "--json"]) == 0
    assert json.loads(capsys.readouterr().out)[0]["request_id"] == rid
    assert cli.main(["search", ""]) == 2
    assert capsys.readouterr().err.startswith("media-analysis: error: nothing to search for")


def test_a_database_without_search_tables_says_what_to_do(pg_admin_url: str, tmp_path) -> None:
    """PostgreSQL made before ``003_search.sql``: one sentence naming the fix; an embedded SQLite
    file made before search gets its tables on first use."""
    import shutil

    from media_analysis_dagster.db.engine import build_engine
    from media_analysis_dagster.db.models import Base
    from media_analysis_dagster.db.schema import DEFAULT_SCHEMA_DIR, init_database
    from media_analysis_fixtures import pg

    older = tmp_path / "schema"
    older.mkdir()
    for name in ("001_init.sql", "002_additions.sql"):
        shutil.copy(DEFAULT_SCHEMA_DIR / name, older)
    name = pg.create_database(pg_admin_url)
    engine = build_engine(pg.with_database(pg_admin_url, name))
    try:
        init_database(engine, older)
        status, out, err = run(Store(engine), "refund")
        assert status == 1 and out == "" and err.count("\n") == 1
        assert "run `media-analysis db init`" in err
    finally:
        engine.dispose()
        pg.drop_database(pg_admin_url, name)

    engine = build_engine(f"sqlite:///{tmp_path / 'old.db'}")
    try:
        tables = [t for n, t in Base.metadata.tables.items() if n != "media_analysis_segments"]
        Base.metadata.create_all(engine, tables=tables)
        assert run(Store(engine), "refund")[:2] == (0, "No hits for 'refund'.\n")
    finally:
        engine.dispose()
