"""Obtain the media from a local file: ``media_path`` inside an allowed root, copied and hashed.

``media_path`` is an attacker-influenced request field, so the path must resolve, symlinks
included, inside one of the configured media roots, or nothing is read. No network here:
downloading a ``media_url`` is ``net.download``'s job.

A refusal is one sentence that names the path as given, the media roots and what to do (put the
file in a root, or add its folder to ``MEDIA_ANALYSIS_MEDIA_ROOTS``): whoever submitted the path
is the one who has to move the file.
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

from .errors import ForbiddenSourceError, MediaLimitError, SourceError

_CHUNK = 1024 * 1024
ROOTS_VARIABLE = "MEDIA_ANALYSIS_MEDIA_ROOTS"
SIZE_VARIABLE = "MEDIA_ANALYSIS_MAX_MEDIA_BYTES"
_SHOWN_CHARS = 160
_SHOWN_ROOTS = 3


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


def shown_path(path: str | Path) -> str:
    """``path`` fit for one line of a message: control characters replaced, and a long path
    shortened in the middle so that its file name stays readable."""
    text = "".join(c if c.isprintable() else "?" for c in str(path))
    if len(text) <= _SHOWN_CHARS:
        return text
    tail = _SHOWN_CHARS * 2 // 3
    return f"{text[: _SHOWN_CHARS - tail - 1]}…{text[-tail:]}"


def shown_roots(roots: Sequence[Path]) -> str:
    """The media roots for a message: the first few, and how many more there are."""
    names = [shown_path(root) for root in roots[:_SHOWN_ROOTS]]
    more = len(roots) - _SHOWN_ROOTS
    return ", ".join(names) + (f" and {more} more" if more > 0 else "")


def _reason(exc: BaseException) -> str:
    """Why the file system refused, in its own words but without errno codes or the path."""
    if isinstance(exc, OSError) and exc.strerror:
        return exc.strerror[0].lower() + exc.strerror[1:]
    if isinstance(exc, RuntimeError):  # Path.resolve on a symlink loop (Python < 3.13)
        return "it is a loop of symbolic links"
    return "the file system refused it"


def resolve_local_path(media_path: str, roots: Sequence[Path]) -> Path:
    """Return the real path of ``media_path`` if it lies inside a media root.

    Relative paths are taken relative to each root in turn. The lexical check runs before the
    file system is touched, so the error for a path outside the roots does not reveal whether
    it exists; the check on the resolved path then catches symlinks that point outside.
    """
    given = shown_path(media_path)
    if not roots:
        raise ForbiddenSourceError(
            f"No media roots are configured, so the media path {given} cannot be read; set "
            f"{ROOTS_VARIABLE} to the folders requests may read from."
        )
    real_roots = [Path(root).resolve() for root in roots]
    lexical_roots = [Path(os.path.abspath(root)) for root in roots] + real_roots
    raw = Path(media_path)
    candidates = [raw] if raw.is_absolute() else [Path(root) / raw for root in roots]
    inside = [
        lexical
        for lexical in (Path(os.path.abspath(c)) for c in candidates)
        if any(_inside(lexical, root) for root in lexical_roots)
    ]
    where = shown_roots(roots)
    if not inside:
        raise ForbiddenSourceError(
            f"The media path {given} lies outside the media roots ({where}); put the file in one "
            f"of them, or add its folder to {ROOTS_VARIABLE}."
        )
    for lexical in inside:
        try:
            real = lexical.resolve(strict=True)
        except FileNotFoundError:
            continue
        except (OSError, RuntimeError) as exc:
            raise SourceError(f"The media path {given} cannot be read: {_reason(exc)}.") from exc
        if not any(_inside(real, root) for root in real_roots):
            raise ForbiddenSourceError(
                f"The media path {given} is a link that leads outside the media roots ({where}); "
                "put the file itself in one of them."
            )
        if not real.is_file():
            raise SourceError(
                f"The media path {given} is not a regular file; give the path of a file in the "
                f"media roots ({where})."
            )
        return real
    raise SourceError(
        f"The media file {given} does not exist in the media roots ({where}); put it there "
        "first, or check the name."
    )


def _write_hashed(
    chunks: Iterable[bytes], part: Path, max_bytes: int | None, name: str
) -> tuple[int, str]:
    """Write ``chunks`` to ``part`` while hashing and counting them, so the size limit holds on
    what is written and the file is read once."""
    digest = hashlib.sha256()
    size = 0
    with open(part, "wb") as out:
        for chunk in chunks:
            size += len(chunk)
            if max_bytes is not None and size > max_bytes:
                raise MediaLimitError(
                    f"The media file {name} is larger than the limit of {max_bytes} bytes; "
                    f"raise {SIZE_VARIABLE} to accept it."
                )
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
            chunks = iter(lambda: reader.read(_CHUNK), b"")
            size, sha = _write_hashed(chunks, part, max_bytes, shown_path(Path(src).name))
        os.replace(part, dest)
    except OSError as exc:
        part.unlink(missing_ok=True)
        raise SourceError(
            f"The media file {shown_path(src)} could not be copied: {_reason(exc)}."
        ) from exc
    except BaseException:
        part.unlink(missing_ok=True)
        raise
    return Fetched(dest, size, sha, "path", None, None)
