"""``media-analysis submit`` refuses, before inserting anything, what the run would refuse later:
a path outside the media roots (naming them and what to do), a missing file, a link out of the
roots, and option values in ``--metadata`` that the one request validator refuses."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from media_analysis_dagster.db.engine import build_engine
from media_analysis_dagster.db.store import Store
from media_analysis_dagster.errors import InvalidRequestError
from media_analysis_dagster.pipeline.request_config import check_request

from .test_cli import one_readable_line, run_main


@pytest.fixture
def inbox(tmp_path: Path, sqlite_url: str, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A media root holding clip.mp4, and the tables on SQLite."""
    root = tmp_path / "inbox"
    root.mkdir()
    (root / "clip.mp4").write_bytes(b"not really a video, but a file")
    monkeypatch.setenv("MEDIA_ANALYSIS_DATABASE_URL", sqlite_url)
    monkeypatch.setenv("MEDIA_ANALYSIS_MEDIA_ROOTS", str(root))
    return root


def rows(sqlite_url: str) -> list[dict]:
    engine = build_engine(sqlite_url)
    try:
        return list(Store(engine).list_requests(limit=1000)["requests"])
    finally:
        engine.dispose()


def refused(capsys: pytest.CaptureFixture[str], *args: str) -> str:
    code, out, err = run_main(capsys, "submit", *args)
    assert code == 2 and out == "", (code, out, err)
    return one_readable_line(err)


def test_a_path_outside_the_roots_names_them_and_inserts_nothing(
    inbox: Path, tmp_path: Path, sqlite_url: str, capsys: pytest.CaptureFixture[str]
) -> None:
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    (elsewhere / "clip.mp4").write_bytes(b"x")
    line = refused(capsys, "--media-path", str(elsewhere / "clip.mp4"))
    assert str(inbox) in line and "MEDIA_ANALYSIS_MEDIA_ROOTS" in line
    assert f"put the file in {inbox}" in line
    assert rows(sqlite_url) == []


def test_the_default_root_is_named_when_none_is_configured(
    tmp_path: Path,
    sqlite_url: str,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The README's `submit --media-path clip.mp4` from a folder outside the data dir."""
    monkeypatch.setenv("MEDIA_ANALYSIS_DATABASE_URL", sqlite_url)
    monkeypatch.chdir(tmp_path)
    (tmp_path / "clip.mp4").write_bytes(b"x")
    line = refused(capsys, "--media-path", "clip.mp4", "--type", "video")
    assert f"put the file in {tmp_path / 'data' / 'inbox'} or add its folder to" in line
    assert rows(sqlite_url) == []


def test_several_roots_are_all_named(
    inbox: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    second = tmp_path / "second"
    second.mkdir()
    monkeypatch.setenv("MEDIA_ANALYSIS_MEDIA_ROOTS", f"{inbox}{os.pathsep}{second}")
    line = refused(capsys, "--media-path", "/srv/clip.mp4")
    assert f"one of {inbox}, {second}" in line


def test_a_missing_file_and_a_link_out_are_refused(
    inbox: Path, tmp_path: Path, sqlite_url: str, capsys: pytest.CaptureFixture[str]
) -> None:
    assert "no such file" in refused(capsys, "--media-path", str(inbox / "nope.mp4"))
    outside = tmp_path / "secret.txt"
    outside.write_text("secret")
    (inbox / "link.mp4").symlink_to(outside)
    line = refused(capsys, "--media-path", str(inbox / "link.mp4"))
    assert "leads outside the media roots" in line and str(inbox) in line
    (inbox / "folder").mkdir()
    assert "not a regular file" in refused(capsys, "--media-path", str(inbox / "folder"))
    assert rows(sqlite_url) == []


def test_relative_paths_from_here_or_from_a_root(
    inbox: Path,
    tmp_path: Path,
    sqlite_url: str,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.chdir(inbox)  # as a shell user would: the file is right here
    code, _, err = run_main(capsys, "submit", "--media-path", "clip.mp4")
    assert code == 0, err
    monkeypatch.chdir(tmp_path)  # not here, but in a root: as the pipeline reads it
    code, _, err = run_main(capsys, "submit", "--media-path", "clip.mp4")
    assert code == 0, err
    monkeypatch.chdir(tmp_path)
    code, _, err = run_main(capsys, "submit", "--media-path", "inbox/../inbox/clip.mp4")
    assert code == 0, err
    assert [r["media_path"] for r in rows(sqlite_url)] == [str(inbox / "clip.mp4")] * 3


BAD_METADATA = [
    '{"frame_count": 500}',
    '{"frame_count": 0}',
    '{"frame_count": -1}',
    '{"frame_count": "ten"}',
    '{"frame_count": true}',
    '{"grid_cols": 0}',
    '{"grid_rows": 11}',
    '{"callback_url": "ftp://example.com/hook"}',
    '{"providers": ["nope"]}',
    '{"providers": "openai"}',
    '{"provider_options": [1]}',
    '{"scene_aware": [1]}',
]


@pytest.mark.parametrize("metadata", BAD_METADATA)
def test_metadata_options_go_through_the_request_validator(
    metadata: str, inbox: Path, sqlite_url: str, capsys: pytest.CaptureFixture[str]
) -> None:
    import json

    line = refused(capsys, "--media-path", str(inbox / "clip.mp4"), "--metadata", metadata)
    with pytest.raises(InvalidRequestError) as caught:  # the sentence of run config and rows
        check_request({"media_path": str(inbox / "clip.mp4"), **json.loads(metadata)})
    assert line == f"media-analysis: error: {str(caught.value).rstrip('.')}"
    assert rows(sqlite_url) == []


@pytest.mark.parametrize(
    ("args", "words"),
    [
        (("--metadata", "[1, 2]"), "must be a JSON object"),
        (("--metadata", '"text"'), "must be a JSON object"),
        (("--metadata", "{not json"), "not valid JSON"),
        (("--providers", "openai,nope"), "nope"),
    ],
)
def test_other_refusals_insert_nothing(
    args: tuple[str, ...],
    words: str,
    inbox: Path,
    sqlite_url: str,
    capsys: pytest.CaptureFixture[str],
) -> None:
    assert words in refused(capsys, "--media-path", str(inbox / "clip.mp4"), *args)
    assert rows(sqlite_url) == []


def test_good_options_and_other_keys_are_stored_as_given(
    inbox: Path, sqlite_url: str, capsys: pytest.CaptureFixture[str]
) -> None:
    metadata = '{"frame_count": 12, "scene_aware": true, "ticket": "T-1", "nested": {"a": 1}}'
    code, out, err = run_main(
        capsys,
        "submit",
        "--media-path",
        str(inbox / "clip.mp4"),
        "--metadata",
        metadata,
        "--providers",
        "internal",
    )
    assert code == 0, err
    [row] = rows(sqlite_url)
    assert row["request_id"] == out.strip() and row["status"] == "pending"
    assert row["user_metadata"] == {
        "frame_count": 12,
        "scene_aware": True,
        "ticket": "T-1",
        "nested": {"a": 1},
        "providers": ["internal"],
    }
