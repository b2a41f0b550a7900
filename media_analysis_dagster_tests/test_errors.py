"""``describe``: every error becomes one sentence with no Python class name (the class stays in
``error_details.error_type``); a long one is shortened at a word."""

from __future__ import annotations

import errno

import pytest
from dagster import Failure

from media_analysis_dagster.errors import InvalidRequestError, describe, error_details
from media_analysis_dagster.media.errors import CorruptMediaError
from media_analysis_dagster.net.errors import DownloadError


@pytest.mark.parametrize(
    ("exc", "sentence"),
    [
        (InvalidRequestError("Give exactly one of media_url or media_path"), None),
        (DownloadError("The server a.example answered HTTP status 404 for /x.mp4."), None),
        (CorruptMediaError("The file is empty"), "The file is empty."),
        (ValueError("local speech-to-text is off (MEDIA_ANALYSIS_WHISPER_MODEL)"), None),
        (RuntimeError("boom"), "An unexpected error occurred: boom."),
        (KeyError("frames"), "An unexpected error occurred: the value 'frames' is missing."),
        (MemoryError(), "The step ran out of memory."),
        (PermissionError(errno.EACCES, "Permission denied", "/data/x"), None),
        (ZeroDivisionError(), "An unexpected error occurred, with no message; see the step's log."),
        (Failure(description="Stopped on purpose."), "Stopped on purpose."),
    ],
)
def test_every_error_is_one_sentence_without_its_class(
    exc: BaseException, sentence: str | None
) -> None:
    text = describe(exc)
    assert "\n" not in text and text.endswith((".", "…")), text
    assert type(exc).__name__ not in text and "Error:" not in text, text
    if sentence is not None:
        assert text == sentence
    assert error_details(exc, run_id="r", step="s")["error_type"] == type(exc).__name__


def test_a_long_message_is_shortened_at_a_word() -> None:
    text = describe(DownloadError("The server said " + "very " * 200 + "long things."))
    assert len(text) <= 500 and text.endswith("very…") and " ver…" not in text
    assert describe(ValueError("x" * 600)).endswith("…")


def test_a_full_disk_and_file_errors_name_the_file() -> None:
    full = OSError(errno.ENOSPC, "No space left on device", "/data/requests/a/frames/f.jpg")
    assert describe(full) == (
        "The disk of the data directory is full while writing /data/requests/a/frames/f.jpg: "
        "no space left on device."
    )
    denied = describe(PermissionError(errno.EACCES, "Permission denied", "/data/x"))
    assert denied == "A file or network operation failed: permission denied (/data/x)."
