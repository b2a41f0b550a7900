"""``fetch_media``: copy or download the original, sniff its type, probe it, route it.

The whole input is validated here (type by content, a probe that decodes), so bad input fails
before any other step writes a file. Outputs: ``media`` (always) and exactly the branch outputs
that apply — ``video``, ``audio`` (audio files and videos with an audio track), ``document``;
the other branches are skipped, not faked.
"""

import re
import time
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

from dagster import MetadataValue, OpExecutionContext, Out, Output, op

from ..contracts import FetchedMedia, RequestSpec
from ..errors import InvalidRequestError
from ..media.errors import UnsupportedMediaError
from ..resources import DatabaseResource, FetcherResource, FileStorageResource
from .common import begin_file_step, materialize, readable_failures, tag_run
from .to_rows import file_row

_SAFE = re.compile(r"[^A-Za-z0-9._-]+")


def _file_name(request: RequestSpec) -> str:
    raw = request.media_path or urlparse(request.media_url or "").path
    name = _SAFE.sub("_", raw.rsplit("/", 1)[-1]).strip("._") or "media"
    return name[:120]


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


def fetch_original(
    request: RequestSpec, dest: Path, fetcher: FetcherResource, files: FileStorageResource
) -> Any:
    from ..media.fetch import copy_local, download, resolve_local_path

    limits = fetcher.limits()
    if request.media_url and request.media_url.startswith(("s3://", "gs://")):
        return files.fetch_object(request.media_url, dest, limits.max_bytes)
    if request.media_path:
        source = resolve_local_path(request.media_path, fetcher.roots())
        return copy_local(source, dest, max_bytes=limits.max_bytes)
    if request.media_url:
        return download(request.media_url, dest, limits, address_allowed=fetcher.address_policy())
    raise InvalidRequestError("The request has neither media_url nor media_path.")


def branches_of(media: FetchedMedia) -> list[str]:
    """The branch outputs that apply to the media (the others are skipped)."""
    has_audio = media.media_type == "audio" or (
        media.media_type == "video" and media.video is not None and media.video.has_audio
    )
    names = ["video"] if media.media_type == "video" else []
    names += ["audio"] if has_audio else []
    names += ["document"] if media.media_type == "document" else []
    return names


@op(
    out={
        "media": Out(FetchedMedia, description="The stored original and its facts."),
        "video": Out(FetchedMedia, is_required=False),
        "audio": Out(FetchedMedia, is_required=False),
        "document": Out(FetchedMedia, is_required=False),
    },
    description="Fetch the media into the data dir, validate it by content and route it.",
)
@readable_failures
def fetch_media(
    context: OpExecutionContext,
    request: RequestSpec,
    database: DatabaseResource,
    files: FileStorageResource,
    fetcher: FetcherResource,
):
    started, rid = time.monotonic(), request.request_id
    out_dir = begin_file_step(context, database.store, files, rid)
    fetched = fetch_original(request, out_dir / _file_name(request), fetcher, files)
    media_type, mime, probe = inspect_media(fetched.path, request.media_type)
    ref = files.stored(fetched.path, mime_type=mime, sha256=fetched.sha256)
    video, audio = probe.get("video"), probe.get("audio")
    timed = video or audio
    row = file_row(
        ref,
        "original",
        width=video.display_width if video else None,
        height=video.display_height if video else None,
        duration_seconds=timed.duration if timed else None,
    )
    ids = database.store.replace_rows(rid, file_types=["original"], files=[row])
    if media_type != request.media_type:
        database.store.set_media_type(rid, media_type)
        tag_run(context, rid, media_type)
    materialize(context, "media_files", rid, file_type="original", file_id=ids["files"][0])
    media = FetchedMedia(
        rid, media_type, ref, mime, fetched.source, ids["files"][0], video, audio, probe.get("pdf")
    )
    yield Output(
        media,
        "media",
        metadata={
            "media_type": media_type,
            "mime_type": mime,
            "size_bytes": ref.size_bytes,
            "sha256": ref.sha256,
            "path": MetadataValue.path(ref.key),
            "fetch_ms": int((time.monotonic() - started) * 1000),
        },
    )
    for name in branches_of(media):
        yield Output(media, name)
