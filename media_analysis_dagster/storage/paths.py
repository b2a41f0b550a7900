"""Local paths that may be deleted: only inside a base folder, once symlinks are resolved.

One rule for everything that removes files on this machine (a step's emptied folder, a run's
scratch, retention, the local backend's deletes): a path counts as inside ``base`` only when its
resolved form is, so a symlink out of the data dir, or a ``..`` in a hand-written row, can never
make the pipeline delete a file it did not write.
"""

from __future__ import annotations

import shutil
from pathlib import Path


def is_inside(path: str | Path, base: str | Path) -> bool:
    """``path`` (symlinks resolved) is ``base`` or lies under it."""
    try:
        Path(path).resolve().relative_to(Path(base).resolve())
    except ValueError:
        return False
    return True


def remove(path: str | Path, base: str | Path) -> bool:
    """Delete a file, symlink or folder strictly inside ``base``; anything else is left alone.
    Returns whether something was removed. A symlink goes, what it points to stays."""
    p = Path(path)
    if p.is_symlink():
        if not is_inside(p.parent, base):
            return False
        p.unlink()
        return True
    if not is_inside(p, base) or p.resolve() == Path(base).resolve():
        return False
    if p.is_dir():
        shutil.rmtree(p, ignore_errors=True)
        return True
    if p.exists():
        p.unlink(missing_ok=True)
        return True
    return False
