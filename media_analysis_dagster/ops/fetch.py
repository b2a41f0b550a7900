"""``fetch_media``: copy or download the original, sniff its type, probe it, route it.

The whole input is validated here (type by content, a probe that decodes), so bad input fails
before any other step writes a file. Outputs: ``media`` (always) and exactly the branch outputs
that apply — ``video``, ``audio`` (audio files and videos with an audio track), ``document``;
the other branches are skipped, not faked.
"""

import time
from pathlib import Path
from typing import Any

from dagster import MetadataValue, OpExecutionContext, Out, Output, op

from ..contracts import ArtifactRef, FetchedMedia, RequestSpec
from ..pipeline.progress import step_progress
from ..pipeline.rows import file_row
from ..pipeline.sources import (
    Obtained,
    branches_of,
    file_name,
    inspect_media,
    obtain_original,
)
from ..pipeline.steps import begin_file_step, readable_failures, tag_run, write_step_files
from ..resources import DatabaseResource, FetcherResource, FileStorageResource


def _fetch(
    context: OpExecutionContext,
    request: RequestSpec,
    out_dir: Path,
    files: FileStorageResource,
    fetcher: FetcherResource,
) -> tuple[Obtained, str, str, dict[str, Any], ArtifactRef]:
    """Obtain, judge and store the original, with progress lines while it takes time: the
    file's growth while it is copied or downloaded, then the store (an upload to a bucket)."""
    with step_progress(context) as report:
        dest = out_dir / file_name(request)
        report.file_growth("fetched", dest, fetcher.limits().max_bytes)
        fetched = obtain_original(
            request,
            dest,
            roots=fetcher.roots(),
            limits=fetcher.limits(),
            allow=fetcher.allow(),
            fetch_input=files.fetch_input,
        )
        report.busy("checking the media")
        media_type, mime, probe = inspect_media(fetched.path, request.media_type)
        [ref] = report.store_each(
            [fetched.path], lambda p: files.stored(p, mime_type=mime), remote=files.remote
        )
    return fetched, media_type, mime, probe, ref


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
    fetched, media_type, mime, probe, ref = _fetch(context, request, out_dir, files, fetcher)
    video, audio = probe.get("video"), probe.get("audio")
    timed = video or audio
    row = file_row(
        ref,
        "original",
        width=video.display_width if video else None,
        height=video.display_height if video else None,
        duration_seconds=timed.duration if timed else None,
    )
    if media_type != request.media_type:
        database.store.set_media_type(rid, media_type)
        tag_run(context, rid, media_type)
    file_id = write_step_files(context, database.store, rid, [row])["files"][0]
    media = FetchedMedia(
        rid, media_type, ref, mime, fetched.source, file_id, video, audio, probe.get("pdf")
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
