"""``media-analysis submit``'s checks: everything a run would refuse later is refused before the
row is inserted, with one sentence that says what to do.

A pending row is picked up by the sensor a few seconds later, in another process, where a bad
path or option fails the run; by then the command line has long printed an id and exited 0. So
the media path goes through the same root check the fetch step applies (``media/local_source``),
and the option keys of ``--metadata`` through the same validator as run config and pending rows.
"""

from __future__ import annotations

import json
import os
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from .errors import InvalidRequestError
from .media.errors import ForbiddenSourceError, SourceError
from .media.local_source import resolve_local_path
from .pipeline.request_config import ROW_OPTION_KEYS, check_request


def _roots_text(roots: Sequence[Path]) -> str:
    names = [str(r) for r in roots]
    return names[0] if len(names) == 1 else "one of " + ", ".join(names)


def _outside(raw: str, roots: Sequence[Path]) -> InvalidRequestError:
    return InvalidRequestError(
        f"--media-path {raw} is outside the media roots ({', '.join(map(str, roots))}): put the "
        f"file in {_roots_text(roots)} or add its folder to MEDIA_ANALYSIS_MEDIA_ROOTS."
    )


def _lexically_inside(path: Path, roots: Sequence[Path]) -> bool:
    here = Path(os.path.abspath(path))
    return any(here.is_relative_to(os.path.abspath(root)) for root in roots)


def checked_media_path(raw: str, roots: Sequence[Path], cwd: Path) -> str:
    """The absolute path to store for ``--media-path``: inside a media root once symlinks are
    resolved, and an existing regular file. A relative path means the current folder first (as
    in every shell command), then each root (as the pipeline reads a relative ``media_path``)."""
    if not roots:
        raise InvalidRequestError(
            "No media roots are configured: set MEDIA_ANALYSIS_MEDIA_ROOTS to the folders "
            "--media-path may point into."
        )
    given = Path(raw).expanduser()
    candidates = [given] if given.is_absolute() else [cwd / given, *(r / given for r in roots)]
    missing: list[str] = []
    outside = False  # the file exists, just not in a root: say where to put it
    for candidate in candidates:
        try:
            resolve_local_path(str(candidate), roots)
        except ForbiddenSourceError:
            if _lexically_inside(candidate, roots):  # a symbolic link that leads out
                raise InvalidRequestError(
                    f"--media-path {raw} is a link that leads outside the media roots: copy the "
                    f"file itself into {_roots_text(roots)}."
                ) from None
            outside = outside or os.path.lexists(candidate)
            continue
        except SourceError as exc:  # inside a root, but missing or not a regular file
            if os.path.lexists(candidate):
                raise InvalidRequestError(f"--media-path {raw}: {exc}") from None
            missing.append(os.path.abspath(candidate))
            continue
        return os.path.abspath(candidate)  # '..' folded, symlinks kept as given
    if missing and not outside:
        raise InvalidRequestError(
            f"--media-path {raw}: no such file (looked for {' and '.join(missing)})."
        )
    raise _outside(raw, roots)


def checked_metadata(text: str | None, providers: str | None) -> dict[str, Any]:
    """``user_metadata`` from ``--metadata`` and ``--providers`` (checked with the request)."""
    metadata: Any = {}
    if text:
        try:
            metadata = json.loads(text)
        except json.JSONDecodeError as exc:
            raise InvalidRequestError(
                f"--metadata is not valid JSON: {exc.msg} at character {exc.pos + 1}."
            ) from None
        if not isinstance(metadata, dict):
            raise InvalidRequestError(
                "--metadata must be a JSON object, e.g. '{\"frame_count\": 12}'."
            )
    if providers is not None:
        metadata["providers"] = [p.strip() for p in providers.split(",") if p.strip()]
    return dict(metadata)


def check_submission(request: dict[str, Any], metadata: dict[str, Any]) -> None:
    """The request and the option keys of its ``user_metadata``, through the one validator of
    run config and pending rows (so what the run would refuse is refused here, in its words)."""
    options = {k: metadata[k] for k in ROW_OPTION_KEYS if metadata.get(k) is not None}
    check_request({**request, **options, "user_metadata": metadata}, where="--metadata")
