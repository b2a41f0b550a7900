"""Hostile but valid videos: extreme frame shapes, extreme sample aspect ratios and a stream whose
resolution grows mid-stream. Frames, tiles and sheets stay bounded (measured as the peak memory
of a child process), or the run ends with a readable MediaLimitError.

Before the bounds, a 16x4000 clip or a 64x48 clip stored with a 1:1000 pixel aspect made sheets
tens of thousands of pixels high (1-4 GB, then an OSError from the JPEG writer).
"""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
from fractions import Fraction
from pathlib import Path

import pytest
from PIL import Image

from media_analysis_dagster.media.contact_sheets import (
    MAX_SHEET_PIXELS,
    MAX_TILE_BOX,
    MAX_TILE_SOURCE_PIXELS,
    SheetHeader,
    build_contact_sheets,
)
from media_analysis_dagster.media.errors import MediaLimitError
from media_analysis_dagster.media.frame_writing import MIN_FRAME_SIDE
from media_analysis_dagster.media.frames import ExtractedFrame, extract_frames
from media_analysis_dagster.media.probe import probe_video
from media_analysis_fixtures.hostile_media import make_growing_video, x264_clip

#: Peak resident memory allowed for the child that handles every hostile clip (the interpreter
#: with PyAV, Pillow and numpy loaded is about 85 MB here; the unbounded sheets took 1-4 GB,
#: decoding the 4000x4000 part alone about 300 MB).
PEAK_MB = 200
SMALL_LIMIT = 1_000_000  # pixels per frame for the mid-stream test


def _with_container_sar(src: Path, out: Path, sar: Fraction) -> Path:
    """Remux with the pixel aspect stored in the container (mp4 ``pasp``): FFmpeg's encoders
    refuse a 1000:1 SAR on a 64x48 picture, a container does not."""
    import av

    with av.open(str(src)) as inp, av.open(str(out), "w") as dst:
        ist = inp.streams.video[0]
        ost = dst.add_stream_from_template(ist)
        ost.sample_aspect_ratio = sar
        for packet in inp.demux(ist):
            if packet.dts is not None:
                packet.stream = ost
                dst.mux(packet)
    return out


@pytest.fixture(scope="module")
def hostile(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    d = tmp_path_factory.mktemp("hostile")
    plain = x264_clip(d / "plain.mp4", "64x48")
    return {
        "tall": x264_clip(d / "tall.mp4", "16x4000"),
        "wide": x264_clip(d / "wide.mp4", "4000x16"),
        "sar_1000": x264_clip(d / "sar_1000.mp4", "16x2000", "setsar=r=1000/1:max=1000"),
        "sar_1_1000": x264_clip(d / "sar_1_1000.mp4", "2000x16", "setsar=r=1/1000:max=1000"),
        "pasp_1000": _with_container_sar(plain, d / "pasp_1000.mp4", Fraction(1000)),
        "pasp_1_1000": _with_container_sar(plain, d / "pasp_1_1000.mp4", Fraction(1, 1000)),
    }


@pytest.fixture(scope="module")
def growing(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """64x48 for 1 s, then 4000x4000: one H.264 stream whose SPS changes mid-stream."""
    return make_growing_video(tmp_path_factory.mktemp("growing"))


def test_hostile_clips_are_what_they_claim(hostile: dict[str, Path]) -> None:
    shapes = {k: probe_video(v) for k, v in hostile.items()}
    assert (shapes["tall"].width, shapes["tall"].height) == (16, 4000)
    assert (shapes["wide"].width, shapes["wide"].height) == (4000, 16)
    assert shapes["sar_1000"].display_width == 16_000
    assert shapes["sar_1_1000"].display_width == 2
    assert shapes["pasp_1000"].sample_aspect_ratio == pytest.approx(1000)
    assert shapes["pasp_1_1000"].sample_aspect_ratio == pytest.approx(0.001)


@pytest.mark.parametrize(
    "name", ["tall", "wide", "sar_1000", "sar_1_1000", "pasp_1000", "pasp_1_1000"]
)
def test_frames_and_sheets_stay_bounded(
    hostile: dict[str, Path], tmp_path: Path, name: str
) -> None:
    video = hostile[name]
    info = probe_video(video)
    frames = extract_frames(video, tmp_path, count=6, info=info)
    assert len(frames) == 6
    for f in frames:
        with Image.open(f.path) as img:
            assert img.size == (f.width, f.height)
        assert min(f.width, f.height) >= MIN_FRAME_SIDE
        assert max(f.width, f.height) <= 1280
    header = SheetHeader(video.name, info.duration, info.display_width, info.display_height, "h")
    sheets = build_contact_sheets(frames, tmp_path, header=header)
    assert len(sheets) == 1
    s = sheets[0]
    assert s.image_width * s.image_height <= MAX_SHEET_PIXELS
    assert s.image_width * s.image_height <= 4_000_000  # a 2x3 sheet of 640 boxes
    assert max(s.thumbnail_width, s.thumbnail_height) <= 640
    with Image.open(s.path) as img:
        assert img.size == (s.image_width, s.image_height)
    assert s.frame_times == tuple(f.pts_time for f in frames)


def test_growing_stream_over_the_limit_is_refused(growing: Path, tmp_path: Path) -> None:
    info = probe_video(growing, max_pixels=SMALL_LIMIT)  # the header says 64x48
    assert (info.width, info.height) == (64, 48)
    with pytest.raises(MediaLimitError) as caught:
        extract_frames(growing, tmp_path, count=6, info=info, max_pixels=SMALL_LIMIT)
    message = str(caught.value)
    assert "4000x4000-pixel" in message and f"limit of {SMALL_LIMIT} pixels per frame" in message
    assert message.endswith(".") and "\n" not in message and "Error" not in message


def test_growing_stream_within_the_limit_is_scaled(growing: Path, tmp_path: Path) -> None:
    frames = extract_frames(growing, tmp_path, count=6)
    sizes = {(f.width, f.height) for f in frames}
    assert sizes == {(64, 48), (1280, 1280)}
    header = SheetHeader(growing.name, 1.2, 64, 48, "h264")
    sheet = build_contact_sheets(frames, tmp_path, header=header)[0]
    assert sheet.image_width * sheet.image_height <= MAX_SHEET_PIXELS


_CHILD = textwrap.dedent(
    """
    import json, sys, tempfile
    from pathlib import Path
    from media_analysis_dagster.media.contact_sheets import SheetHeader, build_contact_sheets
    from media_analysis_dagster.media.errors import MediaLimitError
    from media_analysis_dagster.media.frames import extract_frames
    from media_analysis_dagster.media.probe import probe_video

    def peak_mb():
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024

    results = {}
    limit = int(sys.argv[1])
    for path in sys.argv[2:]:
        out = tempfile.mkdtemp()
        try:
            info = probe_video(path, max_pixels=limit)
            frames = extract_frames(path, out, count=6, info=info, max_pixels=limit)
            h = SheetHeader(Path(path).name, info.duration, info.display_width,
                            info.display_height, "h264")
            sheets = build_contact_sheets(frames, out, header=h)
            results[path] = [s.image_width * s.image_height for s in sheets]
        except MediaLimitError as exc:
            results[path] = str(exc)
    print(json.dumps({"peak_mb": peak_mb(), "results": results}))
    """
)


def test_peak_memory_is_bounded(hostile: dict[str, Path], growing: Path) -> None:
    """All hostile clips in one fresh process: its peak RSS (VmHWM, which exec resets) stays
    near the interpreter's own."""
    paths = [str(p) for p in (*hostile.values(), growing)]
    proc = subprocess.run(
        [sys.executable, "-c", _CHILD, str(SMALL_LIMIT), *paths],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert proc.returncode == 0, proc.stderr[-2000:]
    data = json.loads(proc.stdout.strip().splitlines()[-1])
    results = data["results"]
    assert "4000x4000" in results[str(growing)]
    for path in map(str, hostile.values()):
        assert all(px <= MAX_SHEET_PIXELS for px in results[path]), path
    assert data["peak_mb"] < PEAK_MB, data


def test_grid_too_large_for_the_sheet_limit(tmp_path: Path) -> None:
    frame_path = tmp_path / "f.jpg"
    Image.new("RGB", (320, 240), (200, 50, 50)).save(frame_path)
    frames = [ExtractedFrame(i, i, i, i, True, frame_path, 320, 240) for i in range(100)]
    header = SheetHeader("x.mp4", 100.0, 320, 240, "h264")
    big = build_contact_sheets(frames, tmp_path / "ok", header=header, cols=10, rows=10)[0]
    assert big.image_width * big.image_height <= MAX_SHEET_PIXELS
    assert big.thumbnail_width < 640  # the box shrank to fit
    huge = build_contact_sheets(frames[:1], tmp_path / "box", header=header, thumb_width=10**6)
    assert huge[0].thumbnail_width == MAX_TILE_BOX
    with pytest.raises(MediaLimitError, match="pixels per sheet"):
        build_contact_sheets(frames, tmp_path / "no", header=header, cols=300, rows=300)


def test_oversize_tile_source_is_refused(tmp_path: Path) -> None:
    side = int(MAX_TILE_SOURCE_PIXELS**0.5) + 16
    png = tmp_path / "huge.png"
    Image.new("L", (side, side)).save(png)
    frame = ExtractedFrame(0, 0.0, 0.0, 0, True, png, side, side)
    with pytest.raises(MediaLimitError, match="pixels for a tile"):
        build_contact_sheets([frame], tmp_path, header=SheetHeader("x", 1.0, side, side, "png"))
