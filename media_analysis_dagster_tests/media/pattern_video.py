"""Videos whose every frame is scripted: a value in readable blocks, black, or blurred.

The frame-quality tests need black frames, blurred frames and repeated pictures at known
places, and must still tell which frame a JPEG shows. Each frame ``n`` draws ``values[n]`` in the
blocks of `media_analysis_fixtures.read_counter` (white for a 1 bit, dark gray for a 0 bit, so no
drawn frame is black); ``None`` draws a black frame, and frames in ``blur`` are Gaussian-blurred.
"""

from __future__ import annotations

from collections.abc import Collection, Sequence
from pathlib import Path

from media_analysis_fixtures import COUNTER_GRID

#: Gray level of a 0 bit: well above black, well below the 128 that read_counter splits at.
ZERO_LEVEL = 64


def make_pattern_video(
    path: Path,
    values: Sequence[int | None],
    *,
    fps: int = 25,
    gop: int = 250,
    blur: Collection[int] = (),
    size: tuple[int, int] = (320, 240),
) -> Path:
    """Encode ``values`` (one per frame) with x264 and a fixed keyframe interval ``gop``."""
    import av
    import numpy as np
    from PIL import Image, ImageFilter

    w, h = size
    cols, rows = COUNTER_GRID
    with av.open(str(path), "w") as out:
        stream = out.add_stream("libx264", rate=fps)
        stream.width, stream.height, stream.pix_fmt = w, h, "yuv420p"
        stream.codec_context.gop_size = gop
        stream.options = {"preset": "veryfast", "sc_threshold": "0", "keyint_min": str(gop)}
        for n, value in enumerate(values):
            img = np.zeros((h, w), dtype=np.uint8)
            if value is not None:
                bits = np.array([(value >> b) & 1 for b in range(cols * rows)], dtype=np.uint8)
                grid = np.where(bits.reshape(rows, cols) == 1, 255, ZERO_LEVEL).astype(np.uint8)
                img[:] = ZERO_LEVEL
                block = np.kron(grid, np.ones((h // rows, w // cols), dtype=np.uint8))
                img[: block.shape[0], : block.shape[1]] = block
            picture = Image.fromarray(img).convert("RGB")
            if n in blur:
                picture = picture.filter(ImageFilter.GaussianBlur(6))
            out.mux(stream.encode(av.VideoFrame.from_image(picture)))
        out.mux(stream.encode(None))
    return path
