"""``fetch_media``: copy or download the original, sniff its type, probe it, route it.

The whole input is validated here (type by content, a probe that decodes), so bad input fails
before any other step writes a file. Outputs: ``media`` (facts, always) and exactly the branch
outputs that apply — ``video``, ``audio`` (audio files and videos with an audio track),
``document``; the other branches are skipped, not faked.
"""

import re
import time
from typing import Any
from urllib.parse import urlparse

from dagster import MetadataValue, OpExecutionContext, Out, Output, op

from ..errors import InvalidRequestError
from ..media.errors import UnsupportedMediaError
from ..resources import DatabaseResource, FetcherResource, FileStorageResource
from .common import begin_file_step, file_row, materialize, tag_run

_SAFE = re.compile(r"[^A-Za-z0-9._-]+")


def _file_name(request: dict[str, Any]) -> str:
    raw = request.get("media_path") or urlparse(request.get("media_url") or "").path
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


def _probe(path: Any, media_type: str, mime: str) -> dict[str, Any]:
    """Facts about the media; raises a MediaError for anything undecodable."""
    if media_type == "video" or (media_type == "audio" and mime.startswith("video/")):
        from ..media.probe import probe_video

        return {"video": probe_video(path).to_dict()}
    if media_type == "audio":
        from ..media.audio import probe_audio

        return {"audio": probe_audio(path).to_dict()}
    if mime == "application/pdf":
        from ..media.documents import check_pdf

        return {"pdf": check_pdf(path)}
    return {}


@op(
    out={
        "media": Out(dict, description="Facts about the stored original."),
        "video": Out(dict, is_required=False),
        "audio": Out(dict, is_required=False),
        "document": Out(dict, is_required=False),
    },
    description="Fetch the media into the data dir, validate it by content and route it.",
)
def fetch_media(
    context: OpExecutionContext,
    request: dict[str, Any],
    database: DatabaseResource,
    files: FileStorageResource,
    fetcher: FetcherResource,
):
    from ..media.fetch import copy_local, download, resolve_local_path
    from ..media.sniff import sniff

    started = time.monotonic()
    request_id = request["request_id"]
    out_dir = begin_file_step(context, database.store, files, request_id)
    dest = out_dir / _file_name(request)
    limits = fetcher.limits()
    if request.get("media_path"):
        source = resolve_local_path(request["media_path"], fetcher.roots())
        fetched = copy_local(source, dest, max_bytes=limits.max_bytes)
    elif request.get("media_url"):
        fetched = download(
            request["media_url"], dest, limits, address_allowed=fetcher.address_policy()
        )
    else:
        raise InvalidRequestError("The request has neither media_url nor media_path.")
    sniffed = sniff(fetched.path)
    probe = (
        _probe(fetched.path, sniffed.media_type or "", sniffed.mime_type)
        if sniffed.media_type in ("video", "audio")
        else {}
    )
    has_video = "video" in probe
    media_type = _resolve_type(
        request["media_type"], sniffed.media_type, sniffed.mime_type, has_video
    )
    if media_type == "document":
        probe = _probe(fetched.path, media_type, sniffed.mime_type)
    video = probe.get("video") or {}
    if media_type == "audio" and has_video and not video.get("has_audio"):
        raise UnsupportedMediaError("The request says audio, but the video has no audio track.")
    row = file_row(
        fetched.path,
        "original",
        mime_type=sniffed.mime_type,
        checksum=fetched.sha256,
        width=video.get("display_width"),
        height=video.get("display_height"),
        duration_seconds=video.get("duration") or (probe.get("audio") or {}).get("duration"),
    )
    ids = database.store.replace_rows(request_id, file_types=["original"], files=[row])
    if media_type != request["media_type"]:
        database.store.set_media_type(request_id, media_type)
        tag_run(context, request_id, media_type)
    materialize(
        context,
        "media_files",
        request_id,
        file_type="original",
        file_id=ids["files"][0],
        path=str(fetched.path),
    )
    media = {
        "request_id": request_id,
        "media_type": media_type,
        "path": str(fetched.path),
        "file_name": fetched.path.name,
        "mime_type": sniffed.mime_type,
        "size_bytes": fetched.size_bytes,
        "sha256": fetched.sha256,
        "file_id": ids["files"][0],
        "source": fetched.source,
        **probe,
    }
    yield Output(
        media,
        "media",
        metadata={
            "media_type": media_type,
            "mime_type": sniffed.mime_type,
            "size_bytes": fetched.size_bytes,
            "sha256": fetched.sha256,
            "path": MetadataValue.path(str(fetched.path)),
            "fetch_ms": int((time.monotonic() - started) * 1000),
        },
    )
    if media_type == "video":
        yield Output(media, "video")
    if media_type == "audio" or (media_type == "video" and video.get("has_audio")):
        yield Output(media, "audio")
    if media_type == "document":
        yield Output(media, "document")
