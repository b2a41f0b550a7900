"""Setting up as a new user: what `make demo` and `make dev` run (read from make's own dry run),
the packaging metadata that used to print a deprecation banner, no Dagster warning a user cannot
act on when the code location loads, and a demo question that fits the file.

A full `make demo` in a fresh clone downloads and installs every runtime dependency (minutes);
it is a manual check (README, "Quick start"); here the Makefile's install lines are checked."""

from __future__ import annotations

import shutil
import subprocess
import tomllib
import warnings
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


def dry_run(*args: str) -> str:
    """``make -n -B …`` in the repository: every command the target would run, none run."""
    if shutil.which("make") is None:
        pytest.skip("no make here")
    done = subprocess.run(
        ["make", "-n", "-B", *args], cwd=ROOT, capture_output=True, text=True, timeout=60
    )
    assert done.returncode == 0, done.stderr
    return done.stdout


def pip_installs(commands: str) -> list[str]:
    return [line for line in commands.splitlines() if "pip install" in line and "-e" in line]


def test_make_demo_installs_only_the_runtime() -> None:
    commands = dry_run("demo")
    [install] = pip_installs(commands)
    assert install.rstrip().endswith("pip install --quiet -e .")
    for extra in ("[test", "dev]", "playwright", "moto", "scikit-image", "dagster-k8s"):
        assert extra not in commands
    assert "media-analysis demo" in commands
    assert ".venv/bin/media-analysis" in commands and "source .venv/bin/activate" in commands


def test_make_test_still_installs_the_test_and_dev_extras() -> None:
    [install] = pip_installs(dry_run("test"))
    assert '-e ".[test,dev]"' in install


@pytest.mark.parametrize(("args", "port"), [((), "3000"), (("PORT=3001",), "3001")])
def test_make_dev_port_log_level_and_folder(args: tuple[str, ...], port: str) -> None:
    commands = dry_run("dev", *args)
    [install] = pip_installs(commands)
    assert install.rstrip().endswith("pip install --quiet -e .")
    [dev] = [line for line in commands.splitlines() if "dagster dev -w" in line]
    assert f"-p {port}" in dev and "--log-level warning" in dev
    # Run from the dev home (no ./dagster.yaml there to warn about), with a workspace file
    # written there that names this checkout absolutely.
    [cd] = [line for line in commands.splitlines() if line.startswith("cd ")]
    home = ROOT / ".media_analysis" / "dagster_home"
    assert cd.startswith(f"cd {home} && DAGSTER_HOME={home}")
    assert f'"{ROOT}" > {home}/workspace.yaml' in commands
    assert (
        "working_directory: %s" in commands and "location_name: media_analysis_dagster" in commands
    )
    assert f"http://127.0.0.1:{port}" in commands


def test_make_dev_more_logs_on_request() -> None:
    [dev] = [ln for ln in dry_run("dev", "LOG_LEVEL=info").splitlines() if "dagster dev -w" in ln]
    assert "--log-level info" in dev


def test_packaging_metadata_prints_no_deprecation_banner() -> None:
    """setuptools (>= 77) warns on every build about a ``license`` table: the SPDX string form
    is the one it accepts silently."""
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())
    assert project["project"]["license"] == "MIT"
    assert not any(c.startswith("License ::") for c in project["project"].get("classifiers", []))
    [setuptools] = [r for r in project["build-system"]["requires"] if r.startswith("setuptools")]
    assert setuptools == "setuptools>=77"


def test_loading_the_code_location_gives_no_beta_warning() -> None:
    """The warning Dagster printed on every start (``owners`` of a sensor rebuilt with its job's
    resources) is nothing a user can act on."""
    from dagster import BetaWarning, PreviewWarning

    from media_analysis_dagster.definitions import build_definitions
    from media_analysis_dagster.settings import load_settings

    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        build_definitions(load_settings()).get_repository_def()
    noisy = [str(w.message) for w in caught if issubclass(w.category, BetaWarning | PreviewWarning)]
    # A sensor declared with ``job=`` is rebuilt by Definitions with owners=[], which warns;
    # ``job_name=`` targets the same job without the rebuild (triggers/sensors.py).
    assert noisy == []


def test_the_demo_question_fits_the_media_type(tmp_path: Path) -> None:
    from media_analysis_dagster.demo import default_prompt
    from media_analysis_fixtures import make_audio, make_video
    from media_analysis_fixtures.documents import write_text_pdf

    video = make_video(tmp_path / "v.mp4", duration=1.0, size=(64, 48))
    audio = make_audio(tmp_path / "a.wav", duration=1.0)
    pdf = write_text_pdf(tmp_path / "d.pdf", ["Page one."])
    text = tmp_path / "notes.txt"
    text.write_text("Some notes.\n")
    assert default_prompt(video) == "What happens in this video?"
    assert default_prompt(audio) == "What is said in this recording?"
    assert default_prompt(pdf) == "Summarise this document."
    assert default_prompt(text) == "Summarise this document."
    assert default_prompt(tmp_path / "missing.mp4") == "What happens in this video?"
