"""Obtain the media from a local file: ``media_path`` inside an allowed root, copied and hashed.

``media_path`` is an attacker-influenced request field, so the path must resolve, symlinks
included, inside one of the configured media roots, or nothing is read. No network here:
downloading a ``media_url`` is ``net.download``'s job.
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

from .errors import ForbiddenSourceError, MediaLimitError, SourceError

_CHUNK = 1024 * 1024


@dataclass(frozen=True)
class Fetched:
    """Where the media now lives, with the checksum recorded for the request (the same fields
    as ``net.download.Fetched``; ``media`` may not import ``net``)."""

    path: Path
    size_bytes: int
    sha256: str
    source: str  # 'path'
    final_url: str | None
    content_type_header: str | None


def _inside(path: Path, root: Path) -> bool:
    return path == root or path.is_relative_to(root)


def resolve_local_path(media_path: str, roots: Sequence[Path]) -> Path:
    """Return the real path of ``media_path`` if it lies inside a media root.

    Relative paths are taken relative to each root in turn. The lexical check runs before the
    file system is touched, so the error for a path outside the roots does not reveal whether
    it exists; the check on the resolved path then catches symlinks that point outside.
    """
    if not roots:
        raise ForbiddenSourceError("No media roots are configured, so media_path cannot be used.")
    real_roots = [Path(root).resolve() for root in roots]
    lexical_roots = [Path(os.path.abspath(root)) for root in roots] + real_roots
    raw = Path(media_path)
    candidates = [raw] if raw.is_absolute() else [Path(root) / raw for root in roots]
    inside = [
        lexical
        for lexical in (Path(os.path.abspath(c)) for c in candidates)
        if any(_inside(lexical, root) for root in lexical_roots)
    ]
    if not inside:
        raise ForbiddenSourceError(
            f"The media path {media_path} lies outside the configured media roots."
        )
    for lexical in inside:
        try:
            real = lexical.resolve(strict=True)
        except FileNotFoundError:
            continue
        except (OSError, RuntimeError) as exc:
            raise SourceError(f"The media path {media_path} cannot be read ({exc}).") from exc
        if not any(_inside(real, root) for root in real_roots):
            raise ForbiddenSourceError(
                f"The media path {media_path} leads outside the configured media roots."
            )
        if not real.is_file():
            raise SourceError(f"The media path {media_path} is not a regular file.")
        return real
    raise SourceError(f"The media file {media_path} does not exist.")


def _write_hashed(chunks: Iterable[bytes], part: Path, max_bytes: int | None) -> tuple[int, str]:
    """Write ``chunks`` to ``part`` while hashing and counting them, so the size limit holds on
    what is written and the file is read once."""
    digest = hashlib.sha256()
    size = 0
    with open(part, "wb") as out:
        for chunk in chunks:
            size += len(chunk)
            if max_bytes is not None and size > max_bytes:
                raise MediaLimitError(f"The media is larger than the limit of {max_bytes} bytes.")
            digest.update(chunk)
            out.write(chunk)
    return size, digest.hexdigest()


def copy_local(src: Path, dest: Path, *, max_bytes: int | None = None) -> Fetched:
    """Copy ``src`` to ``dest`` in one pass that also computes the SHA-256 checksum; a ``.part``
    file is renamed only when complete and removed on any failure."""
    dest = Path(dest)
    dest.parent.mkdir(parents=True, exist_ok=True)
    part = dest.with_name(dest.name + ".part")
    try:
        with open(src, "rb") as reader:
            size, sha = _write_hashed(iter(lambda: reader.read(_CHUNK), b""), part, max_bytes)
        os.replace(part, dest)
    except OSError as exc:
        part.unlink(missing_ok=True)
        raise SourceError(f"The media file {src} could not be copied ({exc.strerror}).") from exc
    except BaseException:
        part.unlink(missing_ok=True)
        raise
    return Fetched(dest, size, sha, "path", None, None)
