"""The command line explains itself: help for every option, plain-text top help that says how to
call it after `make demo`, `db` alone shows the db commands, `--version`."""

from __future__ import annotations

import argparse
from collections.abc import Iterator

import pytest

from media_analysis_dagster.cli_args import build_parser

from .test_cli import cli, run_main


def parsers(
    parser: argparse.ArgumentParser, name: str = "media-analysis"
) -> Iterator[tuple[str, argparse.ArgumentParser]]:
    """Every parser of the command line, with its command path."""
    yield name, parser
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for sub_name, sub in action.choices.items():
                yield from parsers(sub, f"{name} {sub_name}")


def test_every_option_argument_and_command_has_help() -> None:
    missing = []
    for name, parser in parsers(build_parser()):
        for action in parser._actions:
            if isinstance(action, argparse._SubParsersAction):
                helps = {a.dest: a.help for a in action._choices_actions}
                missing += [f"{name} {c}" for c in action.choices if not helps.get(c)]
            elif not action.help or action.help == argparse.SUPPRESS:
                missing.append(f"{name} {'/'.join(action.option_strings) or action.dest}")
    assert missing == []


@pytest.mark.parametrize(
    ("command", "options"),
    [
        ("submit", ("--type", "--prompt", "--metadata", "--providers", "--created-by", "--wait")),
        ("requests", ("--status", "--limit", "--offset", "--media-type", "--json")),
        ("status", ("--expires", "--json")),
        ("report", ("--out", "--open")),
    ],
)
def test_help_of_a_real_process_describes_each_option(
    command: str, options: tuple[str, ...]
) -> None:
    """The options the issue found bare: each is followed by words in ``--help``."""
    result = cli(command, "--help", env={"COLUMNS": "200", "PATH": "/usr/bin:/bin"})
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    for option in options:
        [line] = [ln for ln in lines if ln.strip().startswith(option)]
        described = line.split(option, 1)[1]
        # the text after the metavar (or the next line when argparse wraps it)
        following = lines[lines.index(line) + 1].strip() if len(described.split()) <= 1 else ""
        assert len(described.split()) > 1 or following, f"{command} {option}: {line!r}"


def test_top_help_is_plain_text_and_says_how_to_call_it() -> None:
    result = cli("--help", env={"COLUMNS": "120", "PATH": "/usr/bin:/bin"})
    assert result.returncode == 0
    assert "``" not in result.stdout
    assert ".venv/bin/media-analysis" in result.stdout
    assert "source .venv/bin/activate" in result.stdout
    for command in ("db", "submit", "status", "requests", "report", "fetch", "sheets", "demo"):
        assert f"    {command} " in result.stdout, command


def test_db_alone_prints_the_db_commands(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = run_main(capsys, "db")
    assert code == 0 and err == ""
    assert "init" in out and "safe to run twice" in " ".join(out.split())
    assert "arguments are required" not in out + err


def test_version(capsys: pytest.CaptureFixture[str]) -> None:
    from media_analysis_dagster import __version__

    code, out, _ = run_main(capsys, "--version")
    assert code == 0 and out.strip() == f"media-analysis {__version__}"
