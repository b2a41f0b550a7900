"""The ``media-analysis`` entry point, run as a real process on SQLite and PostgreSQL."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from media_analysis_fixtures import pg


def cli(*args: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    exe = shutil.which("media-analysis", path=str(Path(sys.executable).parent))
    cmd = [exe] if exe else [sys.executable, "-m", "media_analysis_dagster.cli"]
    return subprocess.run([*cmd, *args], env=env, capture_output=True, text=True, timeout=60)


@pytest.fixture(params=["sqlite", "postgresql"])
def cli_env(request: pytest.FixtureRequest, tmp_path: Path) -> dict[str, str]:
    env = dict(os.environ)
    if request.param == "postgresql":
        admin = request.getfixturevalue("pg_admin_url")
        name = pg.create_database(admin)
        request.addfinalizer(lambda: pg.drop_database(admin, name))
        env["MEDIA_ANALYSIS_DATABASE_URL"] = pg.with_database(admin, name)
    return env


def test_init_submit_status_requests(cli_env: dict[str, str], tmp_path: Path) -> None:
    for _ in range(2):
        result = cli("db", "init", env=cli_env)
        assert result.returncode == 0, result.stderr
    media = tmp_path / "clip.mp4"
    media.write_bytes(b"x")
    sub = cli(
        "submit",
        "--media-path",
        str(media),
        "--type",
        "video",
        "--prompt",
        "What?",
        "--providers",
        "openai,deepgram",
        env=cli_env,
    )
    assert sub.returncode == 0, sub.stderr
    request_id = sub.stdout.strip()
    status = cli("status", request_id, env=cli_env)
    assert status.returncode == 0, status.stderr
    data = json.loads(status.stdout)
    assert data["request_id"] == request_id and data["status"] == "pending"
    assert data["media_path"] == str(media) and data["source_endpoint"] == "cli"
    assert data["user_metadata"] == {"providers": ["openai", "deepgram"]}
    assert data["results"] == [] and data["files"] == [] and data["contact_sheets"] == []
    listing = json.loads(cli("requests", "--status", "pending", env=cli_env).stdout)
    assert listing["count"] == 1 and listing["requests"][0]["request_id"] == request_id
    assert json.loads(cli("requests", "--status", "failed", env=cli_env).stdout)["count"] == 0


@pytest.mark.parametrize(
    "args",
    [
        ("status", "not-a-uuid"),
        ("status", "00000000-0000-0000-0000-000000000000"),
        ("submit", "--type", "video"),
        ("submit", "--media-path", "/a", "--media-url", "http://b"),
        ("submit", "--media-path", "/a", "--type", "movie"),
        ("submit", "--media-path", "/a", "--metadata", "{not json"),
        ("requests", "--limit", "-1"),
        ("requests", "--limit", "5000"),
        ("sheets", "v.mp4", "--out", "o", "--grid", "2by3"),
        ("frobnicate",),
    ],
)
def test_bad_arguments_give_one_line_and_nonzero_exit(
    args: tuple[str, ...], tmp_path: Path
) -> None:
    env = dict(os.environ)
    cli("db", "init", env=env)
    result = cli(*args, env=env)
    assert result.returncode != 0
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("media-analysis"), result.stderr
    assert "Traceback" not in result.stderr


def test_unreachable_database_is_one_line(tmp_path: Path) -> None:
    env = dict(os.environ, MEDIA_ANALYSIS_DATABASE_URL="postgresql://nobody@127.0.0.1:1/none")
    result = cli("requests", env=env)
    assert result.returncode == 1
    assert len(result.stderr.strip().splitlines()) == 1 and "cannot connect" in result.stderr


def test_sheets_writes_contact_sheets_without_a_database(tmp_path: Path) -> None:
    from PIL import Image

    from media_analysis_fixtures import make_video

    video = make_video(tmp_path / "clip.mp4", duration=4.0, audio=False)
    env = dict(os.environ, MEDIA_ANALYSIS_DATABASE_URL="postgresql://nobody@127.0.0.1:1/none")
    result = cli(
        "sheets",
        str(video),
        "--out",
        str(tmp_path / "out"),
        "--frames",
        "8",
        "--grid",
        "3x2",
        env=env,
    )
    assert result.returncode == 0, result.stderr
    paths = [Path(p) for p in result.stdout.split()]
    assert len(paths) == 2 and all(p.is_file() and p.parent == tmp_path / "out" for p in paths)
    with Image.open(paths[0]) as sheet:
        assert sheet.width > sheet.height  # three columns, two rows
    assert not list((tmp_path / "out").glob("frame_*"))
    missing = cli("sheets", str(tmp_path / "nope.mp4"), "--out", str(tmp_path), env=env)
    assert missing.returncode == 1 and len(missing.stderr.strip().splitlines()) == 1
