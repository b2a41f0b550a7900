"""Choosing the frame worth looking at near each target time.

A tile a person cannot read is a wasted sheet cell and a wasted vision call, so every candidate
frame is measured on a small grayscale copy and a low-information one is replaced when a better
frame lies within the allowed distance of the target (its *window*: a quarter of the sampling
interval either side in the default mode, the frame's share of its scene with ``scene_aware``).
Low information (`FrameScore.defect`, worst first), judged on a grid of 8x8 cells too, so
that text over a whole screen (a slide, a dark-theme editor, credits) is not mistaken for it:

- ``dark``: near-black. Fewer than DARK_SHARE of the pixels are brighter than NEAR_BLACK, or
  the 95th percentile is below DIM_LEVEL (the middle of a fade), while bright pixels (above
  BRIGHT_LEVEL) show in fewer than DARK_CELLS cells: a watermark, a caption or a title on
  black. Its mean luma can be anything: a lifted black, a large caption;
- ``flat``: one colour. The 5th to 95th percentiles span fewer than FLAT_SPREAD levels and
  fewer than FLAT_CELLS cells hold edges (a logo on a plain background is flat, a slide of
  text is not);
- ``blurred``: the Laplacian of the picture is much weaker than that of its half-size copy
  (BLUR_SCALES), or weak against the picture's own variance (BLUR_DETAIL). Sharp footage,
  text and test patterns measure 0.5-2.3 on the first ratio, a blur of one analysis pixel
  0.1-0.2: content and contrast cancel out;
- ``duplicate``: a near copy of the previous tile.

The frame the plain default mode takes is the *usual pick*; `FramePicker` holds it and the
other candidates the search (`frames.search_better`) decodes, and chooses: the usual pick when
clean, else the clean candidate nearest the target, either giving way to a clean one
SHARPER_RATIO times sharper; when every candidate has a defect, the least bad one
(``best_available``; a near copy of the previous tile stays as ``nearest``: it is readable).
Every frame records its true time and why it was chosen (`FrameSelection`).

Pillow only: numpy's import alone would cost a keyframe-only extraction 15-40 %.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Literal

from media_analysis_dagster.media.frame_writing import fit_size

if TYPE_CHECKING:
    from av import VideoFrame
    from PIL import Image

#: Luma (0-255, full range) at or below which a pixel counts as near-black.
NEAR_BLACK = 32
#: A frame is dark when fewer than this share of its pixels are brighter than NEAR_BLACK...
DARK_SHARE = 0.15
#: ...or when its 95th-percentile luma is below this (everything dim: the middle of a fade),
DIM_LEVEL = 64
#: ...and pixels brighter than BRIGHT_LEVEL show in fewer than DARK_CELLS of the 64 cells.
BRIGHT_LEVEL = 64
DARK_CELLS = 16
#: A frame is flat when its 5th to 95th luma percentiles are fewer levels apart than this and
#: fewer than FLAT_CELLS cells hold edges (a mean absolute Laplacian of EDGE_LEVEL or more).
FLAT_SPREAD = 12
FLAT_CELLS = 8
EDGE_LEVEL = 8
#: A frame is blurred when its Laplacian variance is below BLUR_SCALES of that of its
#: half-size copy, or below BLUR_DETAIL of its luma variance.
BLUR_SCALES = 0.25
BLUR_DETAIL = 0.015
_GRID = 8
#: Two frames whose 16x16 gray thumbnails differ by less than this (mean, 0-255) are copies.
DUPLICATE_DIFF = 3.0
#: Another clean candidate replaces a clean usual pick only when this many times sharper.
SHARPER_RATIO = 1.25
#: A scan stops at a clean candidate this close (thumbnail difference) to the one scored
#: before it (the fade is over), or SETTLE_SCORES candidates after the first clean one.
STEADY_DIFF = 6.0
SETTLE_SCORES = 2
#: Longest side of the grayscale picture the scores are computed on.
ANALYSIS_SIDE = 320
_LAPLACIAN = (0, 1, 0, 1, -4, 1, 0, 1, 0)

Defect = Literal["dark", "flat", "blurred", "duplicate"]
Reason = Literal[
    "nearest",
    "sharper",
    "not_dark",
    "not_flat",
    "not_blurred",
    "not_duplicate",
    "best_available",
    "exact",
]
_SEVERITY: dict[Defect | None, int] = {None: 0, "duplicate": 1, "blurred": 2, "flat": 3, "dark": 4}


@dataclass(frozen=True, kw_only=True)
class PictureStats:
    """What the defects are judged on, from one grayscale picture: the Laplacian's variance
    (``sharpness``) and that of the half-size copy, mean and variance of the luma, the share
    of pixels brighter than NEAR_BLACK, the 5th and 95th luma percentiles, and how many of
    the 8x8 cells hold bright pixels and edges. Defaults keep older stored scores readable."""

    sharpness: float
    mean_luma: float
    coarse_sharpness: float = 0.0
    variance: float = 0.0
    lit_share: float = 1.0
    low_luma: float = 0.0
    high_luma: float = 255.0
    bright_cells: int = _GRID * _GRID
    edge_cells: int = _GRID * _GRID

    @property
    def defect(self) -> Defect | None:
        """The worst defect of the picture alone (``duplicate`` needs the previous tile)."""
        dim = self.lit_share < DARK_SHARE or self.high_luma < DIM_LEVEL
        if dim and self.bright_cells < DARK_CELLS:
            return "dark"
        if self.high_luma - self.low_luma < FLAT_SPREAD and self.edge_cells < FLAT_CELLS:
            return "flat"
        blur = self.sharpness < BLUR_SCALES * self.coarse_sharpness
        if blur or self.sharpness < BLUR_DETAIL * self.variance:
            return "blurred"
        return None


@dataclass(frozen=True, kw_only=True)
class FrameScore(PictureStats):
    """Scores of one decoded frame at its presentation time; ``difference`` is to the previous
    tile's thumbnail (None for the first)."""

    time: float
    difference: float | None = None

    @property
    def duplicate(self) -> bool:
        return self.difference is not None and self.difference < DUPLICATE_DIFF

    @property
    def defect(self) -> Defect | None:
        """``dark``, ``flat``, ``blurred`` or ``duplicate`` (worst first), or None."""
        return super().defect or ("duplicate" if self.duplicate else None)

    @property
    def dark(self) -> bool:
        return self.defect == "dark"

    def rank(self) -> tuple[int, float]:
        """Sort key, best first: the lesser defect, then the more light, spread or detail."""
        defect = self.defect
        if defect == "dark":
            measure = self.bright_cells * 1000 + self.lit_share * 255 + self.high_luma
        elif defect == "flat":
            measure = self.edge_cells * 1000 + self.high_luma - self.low_luma
        else:
            measure = self.sharpness
        return _SEVERITY[defect], -measure


@dataclass(frozen=True)
class FrameSelection:
    """Why this frame was written: ``nearest`` (the usual pick; also a near copy of the previous
    tile that no frame decoded anyway could replace), ``sharper`` (another clean frame in the
    window was SHARPER_RATIO times sharper), ``not_dark`` / ``not_flat`` / ``not_blurred`` /
    ``not_duplicate`` (the usual pick had that defect, this frame has none),
    ``best_available`` (every frame looked at had a defect: the least bad), ``exact``
    (accurate mode). ``nearest`` holds the usual pick's scores, ``candidates`` how many frames
    were scored."""

    reason: Reason
    candidates: int
    chosen: FrameScore
    nearest: FrameScore


@dataclass
class ScoredFrame:
    """A scored candidate: the frame is kept so the chosen one can be written."""

    frame: VideoFrame
    score: FrameScore
    thumb: Image.Image  # 16x16 gray, for the duplicate test of the next pick


def measure_gray(gray: Image.Image) -> PictureStats:
    """`PictureStats` of an 8-bit grayscale picture (at most ANALYSIS_SIDE wide, ideally).

    Histograms and 8x8 averages only, so the Python work does not grow with the picture.
    The Laplacian is divided by 4 around 128 so that 8 bits hold it; the filter copies border
    pixels unfiltered, so they are cut off.
    """
    from PIL import Image as PILImage
    from PIL import ImageChops

    hist = gray.histogram()
    n = float(sum(hist)) or 1.0
    mean = sum(i * c for i, c in enumerate(hist)) / n
    variance = max(0.0, sum(i * i * c for i, c in enumerate(hist)) / n - mean * mean)
    cells = (_GRID, _GRID)
    bright = gray.point([0] * (BRIGHT_LEVEL + 1) + [255] * (255 - BRIGHT_LEVEL))
    bright_cells = sum(1 for v in _cell_means(bright, cells) if v >= 255 * 0.02)
    lap = _laplacian(gray)
    edges = ImageChops.difference(lap, PILImage.new("L", lap.size, 128))
    edge_cells = sum(1 for v in _cell_means(edges, cells) if v >= EDGE_LEVEL / 4)
    return PictureStats(
        sharpness=_variance(lap.histogram()) * 16,
        coarse_sharpness=_variance(_laplacian(gray.reduce(2)).histogram()) * 16,
        mean_luma=mean,
        variance=variance,
        lit_share=sum(hist[NEAR_BLACK + 1 :]) / n,
        low_luma=_percentile(hist, n, 0.05),
        high_luma=_percentile(hist, n, 0.95),
        bright_cells=bright_cells,
        edge_cells=edge_cells,
    )


def _laplacian(gray: Image.Image) -> Image.Image:
    """The 4-neighbour Laplacian / 4 + 128, without the unfiltered border (a 1x1 gray 128
    picture when there is no inside)."""
    from PIL import Image as PILImage
    from PIL import ImageFilter

    w, h = gray.size
    if w < 3 or h < 3:
        return PILImage.new("L", (1, 1), 128)
    kernel = ImageFilter.Kernel((3, 3), _LAPLACIAN, scale=4, offset=128)
    return gray.filter(kernel).crop((1, 1, w - 1, h - 1))


def _cell_means(image: Image.Image, cells: tuple[int, int]) -> list[int]:
    from PIL import Image as PILImage

    return list(image.resize(cells, PILImage.Resampling.BOX).tobytes())


def _variance(hist: list[int]) -> float:
    n = float(sum(hist)) or 1.0
    mean = sum(i * c for i, c in enumerate(hist)) / n
    return max(0.0, sum(i * i * c for i, c in enumerate(hist)) / n - mean * mean)


def _percentile(hist: list[int], n: float, q: float) -> float:
    seen = 0
    for level, count in enumerate(hist):
        seen += count
        if seen >= q * n:
            return float(level)
    return 255.0


def picture_defect(image: Image.Image) -> Defect | None:
    """The defect of a written picture (a JPEG tile): the measure the frame choice uses, on a
    copy shrunk like the analysis picture. For checking sheets: ``dark``, ``flat``,
    ``blurred`` or None (a duplicate needs the tile before it)."""
    from PIL import Image as PILImage

    gray = image.convert("L")
    w, h = fit_size(gray.width, gray.height, ANALYSIS_SIDE)
    if (w, h) != gray.size:
        gray = gray.resize((w, h), PILImage.Resampling.BOX)
    return measure_gray(gray).defect


def score_frame(frame: VideoFrame, time: float, previous: Image.Image | None) -> ScoredFrame:
    """Scores of a small full-range grayscale of the frame (`measure_gray`) and its 16x16
    thumbnail; ``difference`` is to the previous tile's thumbnail."""
    from PIL import Image, ImageChops, ImageStat

    w, h = fit_size(frame.width, frame.height, ANALYSIS_SIDE)
    w, h = max(16, w), max(16, h)  # the 16x16 thumbnail needs as many pixels
    plane = frame.reformat(width=w, height=h, format="gray", interpolation="AREA").planes[0]
    gray = Image.frombuffer("L", (w, h), bytes(plane), "raw", "L", plane.line_size, 1)
    stats = measure_gray(gray)
    thumb = gray.resize((16, 16), Image.Resampling.BOX)
    diff = None
    if previous is not None:
        diff = ImageStat.Stat(ImageChops.difference(thumb, previous)).mean[0]
    score = FrameScore(time=time, difference=diff, **vars(stats))
    return ScoredFrame(frame, score, thumb)


def _thumb_diff(a: Image.Image, b: Image.Image) -> float:
    from PIL import ImageChops, ImageStat

    return float(ImageStat.Stat(ImageChops.difference(a, b)).mean[0])


class FramePicker:
    """The candidates of one target: the usual pick, the clean candidates nearest the target
    and sharpest, the least bad defective one, the last one scored and the last one skipped
    (six frames at most).

    ``offer`` sees every frame the cursor decodes and scores one in ``stride`` of those inside
    the window; ``take`` scores a frame unconditionally (the usual pick, a keyframe tried).
    """

    def __init__(
        self, target: float, window: tuple[float, float], stride: int, previous: Image.Image | None
    ) -> None:
        self.target, (self.low, self.high) = target, window
        self.stride, self.previous = stride, previous
        self.usual: ScoredFrame | None = None
        self.nearest: ScoredFrame | None = None  # clean, nearest the target
        self.sharpest: ScoredFrame | None = None  # clean, sharpest
        self.least_bad: ScoredFrame | None = None
        self._recent: ScoredFrame | None = None
        self._unscored: tuple[VideoFrame, float] | None = None  # the last one skipped
        self.scored, self._skipped = 0, stride
        self._since_clean, self._steady = 0, False

    def inside(self, time: float) -> bool:
        return self.low - 1e-6 <= time <= self.high + 1e-6

    def offer(self, frame: VideoFrame, time: float) -> None:
        if not self.inside(time):
            return
        self._skipped += 1
        if self._skipped >= self.stride:
            self._skipped = 0
            self.take(frame, time)
        else:
            self._unscored = (frame, time)

    def score_skipped(self) -> None:
        """Score the last frame skipped by the stride (the end of a window, a fade's end)."""
        if self._unscored is not None:
            self.take(*self._unscored)

    def take(self, frame: VideoFrame, time: float) -> ScoredFrame:
        for known in (self.usual, self.nearest, self.sharpest, self.least_bad, self._recent):
            if known is not None and abs(known.score.time - time) < 1e-9:
                return known
        self.scored, self._unscored = self.scored + 1, None
        before, self._recent = self._recent, score_frame(frame, time, self.previous)
        self._consider(self._recent, before)
        return self._recent

    def _consider(self, c: ScoredFrame, before: ScoredFrame | None) -> None:
        if self.nearest is not None:
            self._since_clean += 1
        score = c.score
        if score.defect is None:
            distance = abs(score.time - self.target)
            if self.nearest is None or distance < abs(self.nearest.score.time - self.target):
                self.nearest = c
            if self.sharpest is None or score.sharpness > self.sharpest.score.sharpness:
                self.sharpest = c
            self._steady = before is not None and _thumb_diff(c.thumb, before.thumb) < STEADY_DIFF
        elif self.least_bad is None or score.rank() < self.least_bad.score.rank():
            self.least_bad = c

    def settle(self, frame: VideoFrame, time: float) -> None:
        """Record the frame the plain default mode would write."""
        self.usual = self.take(frame, time)

    @property
    def found(self) -> bool:
        """A candidate without a defect was scored."""
        return self.nearest is not None

    @property
    def settled(self) -> bool:
        """A clean candidate was found and the picture has stopped changing (or we waited)."""
        return self.nearest is not None and (self._steady or self._since_clean >= SETTLE_SCORES)

    def choose(self) -> tuple[ScoredFrame, Reason]:
        """The usual pick if clean, else the clean frame nearest the target; either gives way
        to a clean one SHARPER_RATIO times sharper. Without a clean one, the least bad."""
        u = self.usual
        assert u is not None, "settle() first"
        defect = u.score.defect
        base = u if defect is None else self.nearest
        if base is None and defect == "duplicate":  # not searched for: see frames.search_better
            return u, "nearest"
        if base is None:
            assert self.least_bad is not None  # the usual pick itself is defective
            return self.least_bad, "best_available"
        sharp = self.sharpest
        sharper = (
            sharp is not None and sharp.score.sharpness >= SHARPER_RATIO * base.score.sharpness
        )
        chosen = sharp if sharper and sharp is not None else base
        if defect is not None:
            return chosen, _NOT[defect]
        return chosen, "sharper" if chosen is not u else "nearest"


_NOT: dict[Defect, Reason] = {
    "dark": "not_dark",
    "flat": "not_flat",
    "blurred": "not_blurred",
    "duplicate": "not_duplicate",
}
