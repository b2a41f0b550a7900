"""What reading gives: lines with boxes, pages, a request's batch, text seen on screen.

Frozen values with ``to_dict`` (JSON-ready) so the pipeline can store them as ``result_data``
without knowing how they were read. Boxes are in the original image's pixels.
"""

from __future__ import annotations

from dataclasses import dataclass
from itertools import pairwise
from typing import Any

Box = tuple[tuple[int, int], ...]
"""Four corners (x, y) in the original image's pixels, clockwise from top left."""


def box_top(box: Box) -> int:
    return min(y for _, y in box)


def box_bottom(box: Box) -> int:
    return max(y for _, y in box)


def _box_list(box: Box) -> list[list[int]]:
    return [list(point) for point in box]


@dataclass(frozen=True)
class OcrLine:
    """One line of text as read, how sure the recogniser is (0-1), and where it is."""

    text: str
    confidence: float
    box: Box

    def to_dict(self) -> dict[str, Any]:
        return {"text": self.text, "confidence": self.confidence, "box": _box_list(self.box)}


@dataclass(frozen=True)
class OcrPage:
    """What one image says: lines in reading order, CPU seconds spent, the image's size, the
    scale it was read at, and a note when it was not (fully) read."""

    lines: tuple[OcrLine, ...] = ()
    seconds: float = 0.0
    width: int = 0
    height: int = 0
    scale: float = 1.0
    complete: bool = True
    note: str | None = None

    @property
    def text(self) -> str:
        """Lines joined by newlines, with a blank line where the distance from one line to the
        next is over 1.4 times the usual (a new paragraph on a page)."""
        tops = [box_top(line.box) for line in self.lines]
        steps = sorted(b - a for a, b in pairwise(tops) if b > a)
        usual = steps[len(steps) // 2] if steps else 0
        parts: list[str] = []
        for index, line in enumerate(self.lines):
            if index:
                step = tops[index] - tops[index - 1]
                parts.append("\n\n" if usual and step > 1.4 * usual else "\n")
            parts.append(line.text)
        return "".join(parts)

    @property
    def confidence(self) -> float | None:
        """Mean line confidence weighted by characters; None without text."""
        chars = sum(len(line.text) for line in self.lines)
        if not chars:
            return None
        return round(sum(len(ln.text) * ln.confidence for ln in self.lines) / chars, 4)

    def to_dict(self) -> dict[str, Any]:
        return {
            "text": self.text,
            "confidence": self.confidence,
            "lines": [line.to_dict() for line in self.lines],
            "cpu_s": self.seconds,
            "width": self.width,
            "height": self.height,
            "scale": self.scale,
            "complete": self.complete,
            "note": self.note,
        }


@dataclass(frozen=True)
class OcrBatch:
    """Images read for one request, in order, and why reading stopped early if it did:
    ``"budget"`` (CPU seconds) or ``"max_images"`` (the image cap)."""

    pages: tuple[OcrPage, ...]
    requested: int
    cpu_seconds: float
    stopped: str | None = None

    @property
    def message(self) -> str:
        """One sentence saying how far reading got."""
        done = sum(page.complete for page in self.pages)
        said = f"Read {done} of {self.requested} image(s) in {self.cpu_seconds:.1f} CPU-s"
        if self.stopped == "budget":
            return f"{said}; stopped at the CPU budget."
        if self.stopped == "max_images":
            return f"{said}; stopped at the cap of {len(self.pages)} image(s)."
        return f"{said}."

    def to_dict(self) -> dict[str, Any]:
        return {
            "requested": self.requested,
            "read": len(self.pages),
            "cpu_s": round(self.cpu_seconds, 3),
            "stopped": self.stopped,
            "message": self.message,
        }


@dataclass(frozen=True)
class OnScreenText:
    """Words seen on consecutive frames: the text (the reading seen most often), when it was
    first and last seen, every time and box it was seen at, and the mean confidence."""

    text: str
    first_time: float
    last_time: float
    times: tuple[float, ...]
    boxes: tuple[Box, ...]
    confidence: float

    def to_dict(self) -> dict[str, Any]:
        return {
            "text": self.text,
            "first_time": self.first_time,
            "last_time": self.last_time,
            "times": list(self.times),
            "boxes": [_box_list(box) for box in self.boxes],
            "confidence": self.confidence,
        }
