"""Errors of outbound connections, as one readable sentence each.

A message is one sentence that names the host and path of the URL it is about (never its
credentials or query string, because it ends up in a table, ``error_message``, and in logs), no
Python class, and the setting to change when a setting decides the outcome (an allow list, a size
or time limit)::

    NetError                        anything that went wrong reaching a server
    ├── ForbiddenAddressError       the URL or an address it resolves to is refused by policy;
    │                               nothing was sent
    └── DownloadError               the server or the transport failed
        ├── DeadlineExceededError   the call's one wall-clock deadline passed
        └── ResponseTooLargeError   the answer is larger than the byte cap

``hint`` says what an operator can do about it (as ``errors.MediaAnalysisError`` does).
"""

from __future__ import annotations


class NetError(Exception):
    """Base class; ``hint`` tells an operator what to do about it."""

    hint: str = ""

    def __init__(self, message: str, *, hint: str | None = None) -> None:
        super().__init__(message)
        if hint is not None:
            self.hint = hint


class ForbiddenAddressError(NetError):
    hint = (
        "Use an http(s) URL whose host resolves to public addresses, or have the operator allow "
        "the address as the message says."
    )


class DownloadError(NetError):
    hint = "Check that the URL is reachable, answers in time and stays within the size limit."


class DeadlineExceededError(DownloadError):
    hint = "The server answered too slowly; raise the time limit or try again later."


class ResponseTooLargeError(DownloadError):
    hint = "The answer is over the size limit; raise the limit or send a smaller file."
