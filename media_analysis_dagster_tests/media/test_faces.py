"""Face detection on real photographs (scikit-image's sample data: no download).

``skimage.data.lfw_subset()`` holds 200 25x25 crops from Labeled Faces in the Wild: the first
100 are faces, the last 100 background patches. They are scored two ways, each against figures
measured on this detector (the test thresholds sit a little below them):

- one crop per image, scaled to 100 px on a plain 200 px canvas (measured P 1.00, R 0.98);
- as video frames would show them: 32 crops per 1280x720 JPEG, faces and non-faces
  alternating, pasted over other photographs (measured at 100 px: P 1.00, R 0.98; at 60 px:
  P 1.00, R 0.79, since frames are shrunk to 640 px and 30 px is near the cascade's window).

A face counts as found when a box overlaps it by at least 0.3 IoU; every other box is false.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from media_analysis_dagster.media.faces import detect_faces, faces_available
from media_analysis_dagster.media.frames import extract_frames

from .video_fixtures import *  # noqa: F403

pytestmark = pytest.mark.skipif(
    not faces_available(),
    reason="this OpenCV has no Haar cascade (OpenCV 5 dropped it; pin opencv-python-headless<5)",
)

Box = tuple[int, int, int, int]


def _iou(a: Box, b: Box) -> float:
    ix = max(0, min(a[0] + a[2], b[0] + b[2]) - max(a[0], b[0]))
    iy = max(0, min(a[1] + a[3], b[1] + b[3]) - max(a[1], b[1]))
    inter = ix * iy
    return inter / (a[2] * a[3] + b[2] * b[3] - inter)


def _score(results: list[dict], truth: list[list[Box]]) -> tuple[float, float]:
    """Precision and recall, each true face matched at most once."""
    tp = fp = 0
    for result, faces in zip(results, truth, strict=True):
        unmatched = list(faces)
        for f in result["faces"]:
            box = (f["x"], f["y"], f["w"], f["h"])
            hit = next((t for t in unmatched if _iou(box, t) >= 0.3), None)
            if hit is None:
                fp += 1
            else:
                unmatched.remove(hit)
                tp += 1
    total = sum(len(t) for t in truth)
    return (tp / (tp + fp) if tp + fp else 1.0), tp / total


@pytest.fixture(scope="module")
def lfw() -> np.ndarray:
    from skimage import data

    return (data.lfw_subset() * 255).round().astype(np.uint8)


def test_astronaut_has_one_face(tmp_path: Path) -> None:
    from skimage import data

    path = tmp_path / "astronaut.jpg"
    Image.fromarray(data.astronaut()).save(path, quality=90)
    (result,) = detect_faces([path])
    assert result["face_count"] == 1
    face = result["faces"][0]
    # Eileen Collins' face, checked by eye: about x 176-272, y 64-160 in the 512x512 picture.
    assert _iou((face["x"], face["y"], face["w"], face["h"]), (176, 64, 96, 96)) >= 0.5


def test_lfw_crops_one_per_image(lfw: np.ndarray, tmp_path: Path) -> None:
    paths, truth = [], []
    for i, crop in enumerate(lfw):
        canvas = Image.new("L", (200, 200), int(crop.mean()))
        canvas.paste(Image.fromarray(crop).resize((100, 100), Image.BICUBIC), (50, 50))
        paths.append(tmp_path / f"crop_{i:03d}.png")
        canvas.save(paths[-1])
        truth.append([(50, 50, 100, 100)] if i < 100 else [])
    precision, recall = _score(detect_faces(paths), truth)
    print(f"lfw crops: precision {precision:.2f}, recall {recall:.2f}")
    assert precision >= 0.97 and recall >= 0.95, (precision, recall)


def _frames(lfw: np.ndarray, face_px: int, out: Path) -> tuple[list[Path], list[list[Box]]]:
    """1280x720 JPEGs of 8x4 crops (face, non-face, ...) pasted over other photographs."""
    import cv2
    from skimage import data

    backgrounds = [data.rocket(), data.coffee(), data.chelsea(), data.astronaut()]
    order = [i for pair in zip(range(100), range(100, 200), strict=True) for i in pair]
    paths, truth = [], []
    for n, first in enumerate(range(0, 200, 32)):
        image = cv2.resize(backgrounds[n % len(backgrounds)], (1280, 720))
        faces: list[Box] = []
        for k, i in enumerate(order[first : first + 32]):
            x0 = (k % 8) * 160 + 80 - face_px // 2
            y0 = (k // 8) * 180 + 90 - face_px // 2
            crop = cv2.resize(lfw[i], (face_px, face_px), interpolation=cv2.INTER_CUBIC)
            image[y0 : y0 + face_px, x0 : x0 + face_px] = crop[..., None]
            if i < 100:
                faces.append((x0, y0, face_px, face_px))
        paths.append(out / f"frame_{face_px}_{n}.jpg")
        Image.fromarray(image).save(paths[-1], quality=90)
        truth.append(faces)
    return paths, truth


@pytest.mark.parametrize(
    ("face_px", "min_precision", "min_recall"), [(100, 0.97, 0.94), (60, 0.95, 0.7)]
)
def test_lfw_faces_in_frames(
    lfw: np.ndarray, tmp_path: Path, face_px: int, min_precision: float, min_recall: float
) -> None:
    paths, truth = _frames(lfw, face_px, tmp_path)
    precision, recall = _score(detect_faces(paths), truth)
    print(f"lfw in frames at {face_px} px: precision {precision:.2f}, recall {recall:.2f}")
    assert precision >= min_precision and recall >= min_recall, (precision, recall)


def test_no_face_on_plain_colour_and_generated_frames(sample_video: Path, tmp_path: Path) -> None:
    plain = tmp_path / "red.jpg"
    Image.new("RGB", (640, 480), (200, 30, 30)).save(plain)
    frames = extract_frames(sample_video, tmp_path / "frames", count=4)
    result = detect_faces([plain, *(f.path for f in frames)])
    assert [r["faces"] for r in result] == [[]] * 5
    assert result[0]["path"] == str(plain) and result[0]["face_count"] == 0
    assert (result[0]["width"], result[0]["height"]) == (640, 480)


def test_boxes_are_scaled_back_to_the_image(tmp_path: Path) -> None:
    from skimage import data

    big = tmp_path / "astronaut_big.jpg"  # larger than MAX_SIDE: boxes must be scaled back
    Image.fromarray(data.astronaut()).resize((1024, 1024)).save(big, quality=90)
    (entry,) = detect_faces([big])
    assert entry["face_count"] == 1
    face = entry["faces"][0]
    assert set(face) == {"x", "y", "w", "h"}
    assert _iou((face["x"], face["y"], face["w"], face["h"]), (352, 128, 192, 192)) >= 0.5


def test_unreadable_image_does_not_fail_others(tmp_path: Path) -> None:
    bad = tmp_path / "bad.jpg"
    bad.write_text("not an image")
    good = tmp_path / "ok.jpg"
    Image.new("RGB", (100, 100)).save(good)
    result = detect_faces([bad, good])
    assert result[0]["error"] and result[0]["faces"] == []
    assert "error" not in result[1]
