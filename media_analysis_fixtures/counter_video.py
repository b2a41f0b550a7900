"""Videos whose every frame says which frame it is: a number drawn in large binary blocks.

A frame extracted at some time can then be checked against the frame really shown at its
presentation time (`read_counter` reads the number back from a JPEG). `make_counter_video`
draws the frame's own index; `make_pattern_video` draws scripted values, black frames and
blurred frames at known places, for the frame-quality tests. Both encode with PyAV and x264
with a fixed keyframe interval, so a seek lands far before most targets.
"""

from __future__ import annotations

from collections.abc import Collection, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import numpy as np
    from PIL import Image

#: Bits of the frame counter, as a grid of blocks (columns, rows).
COUNTER_GRID = (4, 3)

#: Gray level of a 0 bit in `make_pattern_video`: well above black, well below the 128 that
#: `read_counter` splits at (so no drawn frame is black).
ZERO_LEVEL = 64


@contextmanager
def _x264_frames(path: Path, *, fps: int, gop: int, size: tuple[int, int]) -> Iterator[Any]:
    """An open x264 stream with a fixed keyframe interval; yields ``write(image)`` for PIL
    images or RGB arrays, and flushes the encoder on exit."""
    import av
    import numpy as np

    w, h = size
    with av.open(str(path), "w") as out:
        stream = out.add_stream("libx264", rate=fps)
        stream.width, stream.height, stream.pix_fmt = w, h, "yuv420p"
        stream.codec_context.gop_size = gop
        stream.options = {"preset": "veryfast", "sc_threshold": "0", "keyint_min": str(gop)}

        def write(picture: Any) -> None:
            if isinstance(picture, np.ndarray):
                frame = av.VideoFrame.from_ndarray(picture, format="rgb24")
            else:
                frame = av.VideoFrame.from_image(picture)
            out.mux(stream.encode(frame))

        yield write
        out.mux(stream.encode(None))


def _blocks(value: int, size: tuple[int, int], *, zero: int) -> np.ndarray:
    """A gray picture of ``size`` with ``value``'s bits as blocks: white for a 1 bit, ``zero``
    for a 0 bit and for the right and bottom remainders."""
    import numpy as np

    w, h = size
    cols, rows = COUNTER_GRID
    bits = np.array([(value >> b) & 1 for b in range(cols * rows)], dtype=np.uint8)
    grid = np.where(bits.reshape(rows, cols) == 1, 255, zero).astype(np.uint8)
    block = np.kron(grid, np.ones((h // rows, w // cols), dtype=np.uint8))
    img = np.full((h, w), zero, dtype=np.uint8)
    img[: block.shape[0], : block.shape[1]] = block
    return img


def make_counter_video(
    path: str | Path,
    *,
    frames: int = 100,
    fps: int = 25,
    size: tuple[int, int] = (320, 240),
    gop: int = 250,
) -> Path:
    """Encode a video whose frame ``n`` shows ``n`` in black and white blocks (see
    `read_counter`): each bit is a large block, so it survives scaling and JPEG."""
    import numpy as np

    path = Path(path)
    with _x264_frames(path, fps=fps, gop=gop, size=size) as write:
        for n in range(frames):
            write(np.dstack([_blocks(n, size, zero=0)] * 3))
    return path


def make_pattern_video(
    path: Path,
    values: Sequence[int | None],
    *,
    fps: int = 25,
    gop: int = 250,
    blur: Collection[int] = (),
    size: tuple[int, int] = (320, 240),
) -> Path:
    """Encode ``values`` (one per frame): each drawn in the blocks of `read_counter` (white for
    a 1 bit, dark gray for a 0 bit), ``None`` as a black frame; frames in ``blur`` are
    Gaussian-blurred."""
    import numpy as np
    from PIL import Image, ImageFilter

    with _x264_frames(path, fps=fps, gop=gop, size=size) as write:
        for n, value in enumerate(values):
            if value is None:
                img = np.zeros((size[1], size[0]), dtype=np.uint8)
            else:
                img = _blocks(value, size, zero=ZERO_LEVEL)
            picture = Image.fromarray(img).convert("RGB")
            if n in blur:
                picture = picture.filter(ImageFilter.GaussianBlur(6))
            write(picture)
    return path


def read_counter(image: Image.Image) -> int:
    """Inverse of `make_counter_video`: the frame number drawn in an (un-rotated) picture."""
    import numpy as np

    cols, rows = COUNTER_GRID
    gray = np.asarray(image.convert("L"), dtype=np.float32)
    h, w = gray.shape
    value = 0
    for b in range(cols * rows):
        r, c = divmod(b, cols)
        y0, y1 = int((r + 0.25) * h / rows), int((r + 0.75) * h / rows)
        x0, x1 = int((c + 0.25) * w / cols), int((c + 0.75) * w / cols)
        if gray[y0:y1, x0:x1].mean() > 128:
            value |= 1 << b
    return value
