"""Where a request's original comes from, and what it turns out to be.

Three sources, each its own security boundary: ``media_path`` must resolve inside a media root
(``media/local_source.py``); an ``s3://``/``gs://`` ``media_url`` must be an upload in the bucket's
inbox (``storage/inbox.py``); an http(s) ``media_url`` goes through ``net/`` (vetted addresses,
one deadline, a byte cap). Then the file is judged by its content, never its name: sniffed,
probed by decoding, and routed to the branches that apply.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

from ..contracts import FetchedMedia, RequestSpec
from ..errors import InvalidRequestError
from ..media.errors import UnsupportedMediaError
from ..net.addresses import AllowList
from ..net.download import FetchLimits
from ..storage import is_bucket_url

_SAFE = re.compile(r"[^A-Za-z0-9._-]+")


@dataclass(frozen=True)
class Obtained:
    """The original, copied or downloaded into the step's folder, with its checksum."""

    path: Path
    size_bytes: int
    sha256: str
    source: str  # 'path' | 'url'


def file_name(request: RequestSpec) -> str:
    """A safe local name for the original, from its path or URL (never trusted as a type)."""
    raw = request.media_path or urlparse(request.media_url or "").path
    name = _SAFE.sub("_", raw.rsplit("/", 1)[-1]).strip("._") or "media"
    return name[:120]


def obtain_original(
    request: RequestSpec,
    dest: Path,
    *,
    roots: Sequence[Path],
    limits: FetchLimits,
    allow: AllowList,
    fetch_input: Callable[[str, Path, int], tuple[int, str]],
) -> Obtained:
    """Copy, fetch from the bucket's inbox, or download the original to ``dest``."""
    from ..media.local_source import copy_local, resolve_local_path
    from ..net.download import download

    url = request.media_url
    if url and is_bucket_url(url):
        size, sha256 = fetch_input(url, dest, limits.max_bytes)
        return Obtained(dest, size, sha256, "url")
    if request.media_path:
        copied = copy_local(
            resolve_local_path(request.media_path, roots), dest, max_bytes=limits.max_bytes
        )
        return Obtained(copied.path, copied.size_bytes, copied.sha256, "path")
    if url:
        got = download(url, dest, limits, allow)
        return Obtained(got.path, got.size_bytes, got.sha256, "url")
    raise InvalidRequestError("The request has neither media_url nor media_path.")


def _resolve_type(requested: str, sniffed_type: str | None, mime: str, has_video: bool) -> str:
    if sniffed_type is None:
        raise UnsupportedMediaError(f"The file type ({mime}) is not video, audio or a document.")
    if requested == "auto" or requested == sniffed_type:
        return sniffed_type
    if requested == "audio" and sniffed_type == "video" and has_video:
        return "audio"  # a video's sound track, analysed as audio on request
    raise UnsupportedMediaError(
        f"The request says {requested}, but the file is {mime} ({sniffed_type})."
    )


def _probe(path: Path, media_type: str, mime: str) -> dict[str, Any]:
    """Facts about the media; raises a MediaError for anything undecodable."""
    if media_type == "video" or (media_type == "audio" and mime.startswith("video/")):
        from ..media.probe import probe_video

        return {"video": probe_video(path)}
    if media_type == "audio":
        from ..media.audio import probe_audio

        return {"audio": probe_audio(path)}
    if mime == "application/pdf":
        from ..media.documents import check_pdf

        return {"pdf": check_pdf(path)}
    return {}


def inspect_media(path: Path, requested: str) -> tuple[str, str, dict[str, Any]]:
    """``(media_type, mime_type, probe)`` of a fetched file, judged by its content."""
    from ..media.sniff import sniff

    sniffed = sniff(path)
    mime = sniffed.mime_type
    kind = sniffed.media_type
    probe = _probe(path, kind or "", mime) if kind in ("video", "audio") else {}
    media_type = _resolve_type(requested, kind, mime, "video" in probe)
    if media_type == "document":
        probe = _probe(path, media_type, mime)
    video = probe.get("video")
    if media_type == "audio" and video is not None and not video.has_audio:
        raise UnsupportedMediaError("The request says audio, but the video has no audio track.")
    return media_type, mime, probe


def branches_of(media: FetchedMedia) -> list[str]:
    """The branch outputs that apply to the media (the others are skipped)."""
    has_audio = media.media_type == "audio" or (
        media.media_type == "video" and media.video is not None and media.video.has_audio
    )
    names = ["video"] if media.media_type == "video" else []
    names += ["audio"] if has_audio else []
    names += ["document"] if media.media_type == "document" else []
    return names
