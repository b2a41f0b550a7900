"""Errors raised by the pure media code.

Every message is one readable sentence, because it ends up verbatim in
``media_analysis_requests.error_message``::

    MediaError                      anything wrong with the input media
    ├── UnsupportedMediaError       content is not a type we handle (or not the requested type)
    ├── CorruptMediaError           zero-byte, truncated or undecodable content
    ├── MediaLimitError             over a size/duration/page/pixel limit (decompression bombs)
    ├── EncryptedDocumentError      a PDF that needs a password
    └── SourceError                 the local file could not be read
        └── ForbiddenSourceError    a path outside the media roots

Downloads fail with ``net.errors`` (``DownloadError``, ``ForbiddenAddressError``).
"""

from __future__ import annotations


class MediaError(Exception):
    """Base class; ``hint`` tells an operator what to do about it."""

    hint: str = ""

    def __init__(self, message: str, *, hint: str | None = None) -> None:
        super().__init__(message)
        if hint is not None:
            self.hint = hint


class UnsupportedMediaError(MediaError):
    hint = "Send a video, audio, PDF, plain-text or image file, or set media_type to match it."


class CorruptMediaError(MediaError):
    hint = "The file is empty, truncated or not decodable; re-upload the original."


class MediaLimitError(MediaError):
    hint = "The media exceeds a configured limit; raise the limit or send a smaller file."


class EncryptedDocumentError(MediaError):
    hint = "Remove the password from the PDF and submit it again."


class SourceError(MediaError):
    hint = "Check media_path: the file must exist and be readable."


class ForbiddenSourceError(SourceError):
    hint = (
        "Put the file in a folder of MEDIA_ANALYSIS_MEDIA_ROOTS (or add its folder to that "
        "variable) and give that path."
    )
