"""The fine pass of scene detection: chunks on several threads find what one thread finds, and
an interval's decoding stops once its transition is past."""

from __future__ import annotations

import itertools
from pathlib import Path

import pytest

import media_analysis_fixtures as sample
from media_analysis_dagster.media.scenes import detect_scenes_and_motion
from media_analysis_dagster.media.scenes.fine_pass import OVERLAP, plan_chunks
from media_analysis_dagster.media.scenes.keyframe_pass import Gop


def _gops(reasons: str, length: float = 5.0) -> list[Gop]:
    """Intervals of ``length`` s; ``x`` is decoded, ``.`` cleared."""
    return [
        Gop(pts=i, start=i * length, end=(i + 1) * length, reason="long" if r == "x" else "")
        for i, r in enumerate(reasons)
    ]


def test_chunks_split_between_runs_where_one_is_near() -> None:
    gops = _gops("xxxxx.xxxxxx")  # 55 s to decode, a cleared interval at 25-30 s
    chunks = plan_chunks(gops, 2)
    assert [(c.first, c.stop) for c in chunks] == [(0, 6), (6, 12)]
    assert chunks[0].keep_to == chunks[1].keep_from == pytest.approx(30.0, abs=1e-3)
    assert chunks[0].motion_to == chunks[1].motion_from == 30.0


def test_chunks_split_a_run_with_an_overlap() -> None:
    gops = _gops("x" * 12)
    chunks = plan_chunks(gops, 3)
    assert [(c.first, c.stop) for c in chunks] == [(0, 4), (4, 8), (8, 12)]
    for before, after in itertools.pairwise(chunks):
        key = gops[after.first].start
        assert before.keep_to == after.keep_from == key + OVERLAP / 2
        assert before.motion_to == after.motion_from == key
    assert chunks[0].keep_from == chunks[0].motion_from == float("-inf")
    assert chunks[-1].keep_to == chunks[-1].motion_to == float("inf")


def test_short_work_is_one_chunk() -> None:
    assert len(plan_chunks(_gops("x.x."), 4)) == 1
    assert len(plan_chunks([], 4)) == 1


def _transition_video(path: Path, kind: str, middle: float) -> Path:
    """48 s at 25 fps in fixed 12 s keyframe intervals (all decoded: the long-GOP fallback, one
    run, so two workers split it at the 24 s keyframe): a moving pattern, then bars, joined by
    a 1 s ``xfade`` of ``kind`` centred at ``middle``."""
    first = middle + 0.5
    graph = (
        f"testsrc2=s=320x180:r=25:d={first},format=yuv420p,settb=1/25[a];"
        f"smptebars=s=320x180:r=25:d={49 - first},format=yuv420p,settb=1/25[b];"
        f"[a][b]xfade=transition={kind}:duration=1:offset={middle - 0.5}[v]"
    )
    encode = ["-c:v", "libx264", "-preset", "veryfast", "-g", "300", "-keyint_min", "300"]
    sample.run_ffmpeg(
        ["-filter_complex", graph, "-map", "[v]", *encode, "-sc_threshold", "0", str(path)]
    )
    return path


@pytest.mark.parametrize("middle", [24.1, 25.6, 26.5])
@pytest.mark.parametrize("xfade", ["fade", "fadeblack"])
def test_workers_find_what_one_finds_across_a_split(
    tmp_path: Path, xfade: str, middle: float
) -> None:
    """A dissolve or a fade through black on the keyframe where the run is split, and on either
    side of the middle of the overlap: seen once, where one thread sees it. (ffmpeg's
    ``fadeblack`` between these two patterns is judged a cut a few frames before its darkest
    frame, on one thread as on several; the benchmark's photo fades are judged fades.)"""
    video = _transition_video(tmp_path / f"{xfade}.mp4", xfade, middle)
    one = detect_scenes_and_motion(video, workers=1)
    assert len(one.cut_times) == 1, list(zip(one.cut_times, one.cut_kinds, strict=True))
    assert one.cut_times[0] == pytest.approx(middle, abs=0.5)
    if xfade == "fade":
        assert one.cut_kinds == ("dissolve",)
    for workers in (2, 3):
        many = detect_scenes_and_motion(video, workers=workers)
        assert many.cut_kinds == one.cut_kinds, (workers, many.cut_times, many.cut_kinds)
        assert many.cut_times == pytest.approx(one.cut_times, abs=0.25)
        assert many.mean_motion == pytest.approx(one.mean_motion, rel=0.1)


def _reference_frames(video: Path) -> int:
    """Frames PyAV decodes when it skips the ones nothing refers to, as the fine pass does."""
    import av

    with av.open(str(video)) as container:
        stream = container.streams.video[0]
        stream.codec_context.skip_frame = "NONREF"
        return sum(1 for _ in container.decode(stream))


def test_decoding_stops_once_the_transition_is_past(tmp_path: Path) -> None:
    """Fixed 12 s intervals (no keyframes at cuts, each over LONG_GOP_SECONDS so all are
    decoded), cuts at 10, 20, 30 and 40 s: from the second interval on, each is decoded up to a
    little after its cut, then left."""
    segments = ["testsrc2", "smptebars", "mandelbrot", "testsrc", "rgbtestsrc"]
    video = sample.make_video(
        tmp_path / "gop.mp4", duration=50, size=(320, 180), segments=segments, audio=False, gop=300
    )
    result = detect_scenes_and_motion(video)
    assert result.cut_times == pytest.approx([10.0, 20.0, 30.0, 40.0], abs=1 / 25 + 1e-3)
    assert result.gops_decoded == result.gops == 5
    assert result.frames_decoded < 0.8 * _reference_frames(video), result.frames_decoded
