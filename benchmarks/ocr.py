"""Benchmark: offline OCR (``media.ocr``) accuracy, CPU time and memory, against tesseract.

Images with known text are generated (``media_analysis_fixtures.text_images``) and written to a
temporary folder:

- pages (A4, DejaVu Sans): a clean half page at 200 dpi, a full page of 9 pt text at 200 dpi
  and a 150 dpi page;
- scans of those pages: rotated 1-3 degrees, blurred, grey paper, sensor noise, JPEG artefacts;
- video frames: 1280x720 photographs from scikit-image with captions in six looks (white and
  yellow subtitles, a large title, small plain text, yellow on a blue band, black on white).

Ours is read in a child process, so its peak memory (VmHWM) is the reading alone: pages with
``read_page_image``, frames with ``read_image``, then one request's worth of frames with
``read_images`` under the limits below. CPU time is the reading thread's (the engine computes on
it); the machine is shared, so CPU time is the steady figure and wall time is shown for the
whole run only. Debian's tesseract (``apt-get install tesseract-ocr tesseract-ocr-eng``) is run
on the same files when it is installed (one thread, ``OMP_THREAD_LIMIT=1``; its CPU time is its
process's), and skipped with a line when not. Character accuracy: 1 - Levenshtein distance /
length of the text drawn, whitespace collapsed.

    python -m benchmarks.ocr --quick                       # a page, a scan, two frames
    python -m benchmarks.ocr                               # everything
    python -m benchmarks.ocr --markdown /tmp/ocr.md --json
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from benchmarks._common import ROOT, module_command, peak_rss_mb

#: The limits proposed for one request (README "Limits"): frames read, CPU seconds.
REQUEST_FRAMES = 60
REQUEST_BUDGET_S = 60.0
GOALS = {"page": 0.98, "scan": 0.98, "frame": 0.95}


@dataclass(frozen=True)
class Case:
    name: str
    group: str  # 'page' | 'scan' | 'frame'
    path: str
    text: str
    region: tuple[int, int, int, int] | None = None  # where a caption was drawn


def make_cases(folder: Path, quick: bool) -> list[Case]:
    """Generate the images (PNG, scans as JPEG) and what each shows."""
    from media_analysis_fixtures import text_images as ti

    cases: list[Case] = []
    pages = {
        "half page 200 dpi": ti.render_page(dpi=200),
        "full page 9 pt 200 dpi": ti.render_page(ti.PAGE_TEXT * 6, dpi=200, font_pt=9, columns=100),
        "half page 150 dpi": ti.render_page(dpi=150),
    }
    scans: dict[str, dict[str, Any]] = {
        "rotated 2 deg, blur": dict(rotate_deg=2.0, blur=1.0, noise=6, jpeg_quality=75, paper=240),
        "rotated -3 deg, noisy": dict(
            rotate_deg=-3.0, blur=1.5, noise=14, jpeg_quality=40, paper=225, seed=3
        ),
        "rotated 1 deg, JPEG 30": dict(rotate_deg=1.0, blur=0.8, noise=10, jpeg_quality=30),
    }
    for index, (name, (page, text)) in enumerate(pages.items()):
        if quick and index:
            break
        path = folder / f"page{index}.png"
        page.save(path)
        cases.append(Case(name, "page", str(path), text))
        for number, (look, options) in enumerate(scans.items()):
            if quick and number:
                break
            scanned = ti.scan(page, **options)
            path = folder / f"scan{index}_{number}.jpg"
            scanned.save(path, quality=95)
            cases.append(Case(f"{name}, {look}", "scan", str(path), text))
    styles = list(ti.CAPTION_STYLES.items())
    for index, (look, style) in enumerate(styles[:2] if quick else styles):
        for number, photo in enumerate(ti.PHOTOS[:1] if quick else ti.PHOTOS):
            caption = ti.CAPTIONS[(index + number) % len(ti.CAPTIONS)]
            frame = ti.captioned_frame(ti.photo(photo), caption, style)
            path = folder / f"frame{index}_{number}.png"
            frame.save(path)
            box = ti.caption_box(frame.size, caption, style)
            cases.append(Case(f"{look} on {photo}", "frame", str(path), caption, box))
    return cases


def child(manifest: Path) -> None:
    """Read every case with ours and one request's frames; print one JSON document."""

    def rss_mb() -> float:
        status = Path("/proc/self/status").read_text()
        line = next(ln for ln in status.splitlines() if ln.startswith("VmRSS:"))
        return int(line.split()[1]) / 1024

    cases = [Case(**item) for item in json.loads(manifest.read_text())]  # region: a list
    from media_analysis_dagster.media import ocr

    imported = rss_mb()
    started = time.thread_time()
    ocr.get_engine()
    load_s, loaded = time.thread_time() - started, rss_mb()
    rows = []
    for case in cases:
        read = ocr.read_image if case.group == "frame" else ocr.read_page_image
        page = read(case.path)
        lines = [[line.text, line.box] for line in page.lines]
        rows.append({"name": case.name, "text": page.text, "lines": lines, "cpu_s": page.seconds})
    frames = [case.path for case in cases if case.group == "frame"]
    given = [frames[i % len(frames)] for i in range(REQUEST_FRAMES + 10)] if frames else []
    batch = ocr.read_images(given, budget_s=REQUEST_BUDGET_S, max_images=REQUEST_FRAMES)
    print(json.dumps({
        "rows": rows,
        "request": {**batch.to_dict(), "budget_s": REQUEST_BUDGET_S},
        "model": ocr.model_name(),
        "load_cpu_s": round(load_s, 2),
        "rss_imported_mb": round(imported), "rss_loaded_mb": round(loaded),
        "peak_mb": round(peak_rss_mb()),
    }))  # fmt: skip


def run_ours(manifest: Path) -> dict[str, Any]:
    done = subprocess.run(
        module_command("benchmarks.ocr", "--child", str(manifest)),
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=False,
    )
    if done.returncode:
        raise SystemExit(f"the OCR child failed:\n{done.stderr[-3000:]}")
    result: dict[str, Any] = json.loads(done.stdout.strip().splitlines()[-1])
    return result


def _tesseract_lines(tsv: str) -> list[tuple[str, list[list[int]]]]:
    """Tesseract's TSV (one row per word) as lines of text with four corners each."""
    lines: dict[tuple[str, ...], list[tuple[str, int, int, int, int]]] = {}
    for row in tsv.splitlines()[1:]:
        cells = row.split("\t")
        if len(cells) < 12 or not cells[11].strip():
            continue
        x, y, w, h = (int(v) for v in cells[6:10])
        lines.setdefault(tuple(cells[1:5]), []).append((cells[11], x, y, x + w, y + h))
    out = []
    for words in lines.values():
        left, top = min(w[1] for w in words), min(w[2] for w in words)
        right, bottom = max(w[3] for w in words), max(w[4] for w in words)
        box = [[left, top], [right, top], [right, bottom], [left, bottom]]
        out.append((" ".join(w[0] for w in words), box))
    return out


def run_tesseract(cases: list[Case], folder: Path) -> dict[str, dict[str, Any]] | None:
    """Tesseract's lines, CPU time and peak memory per case (its own process's, from
    ``wait4``), or None when it is not installed. Pages use its default layout analysis
    (``--psm 3``), frames its sparse-text mode (``--psm 11``, which found more captions)."""
    exe = shutil.which("tesseract")
    if exe is None:
        return None
    env = {**os.environ, "OMP_THREAD_LIMIT": "1"}
    out: dict[str, dict[str, Any]] = {}
    for index, case in enumerate(cases):
        base = folder / f"tesseract{index}"
        psm = "11" if case.group == "frame" else "3"
        command = [exe, case.path, str(base), "-l", "eng", "--psm", psm, "tsv"]
        process = subprocess.Popen(
            command, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
        )
        _, status, usage = os.wait4(process.pid, 0)
        process.returncode = os.waitstatus_to_exitcode(status)
        tsv = base.with_suffix(".tsv")
        lines = _tesseract_lines(tsv.read_text()) if process.returncode == 0 else []
        out[case.name] = {
            "text": "\n".join(text for text, _ in lines),
            "lines": lines,
            "cpu_s": round(usage.ru_utime + usage.ru_stime, 3),
            "peak_mb": usage.ru_maxrss / 1024,
        }
    return out


def _accuracy(case: Case, read: dict[str, Any]) -> float:
    """Character accuracy of a page's whole text, or of a frame's text read where its caption
    was drawn (a name tag elsewhere in the photograph is not the caption's)."""
    from media_analysis_fixtures.text_images import char_accuracy, text_in_region

    if case.region is None:
        return round(char_accuracy(case.text, read["text"]), 3)
    left, top, right, bottom = case.region
    found = text_in_region([(t, b) for t, b in read["lines"]], (left, top, right, bottom))
    return round(char_accuracy(case.text, found), 3)


def score(cases: list[Case], ours: dict[str, Any], tess: dict[str, Any] | None) -> list[dict]:
    from media_analysis_fixtures.text_images import char_accuracy

    read = {row["name"]: row for row in ours["rows"]}
    rows = []
    for case in cases:
        row: dict[str, Any] = {"case": case.name, "group": case.group}
        row["accuracy"] = _accuracy(case, read[case.name])
        row["whole_text_accuracy"] = round(char_accuracy(case.text, read[case.name]["text"]), 3)
        row["cpu_s"] = read[case.name]["cpu_s"]
        if tess is not None:
            row["tesseract_accuracy"] = _accuracy(case, tess[case.name])
            row["tesseract_cpu_s"] = tess[case.name]["cpu_s"]
        rows.append(row)
    return rows


def _mean(values: list[float]) -> float:
    return sum(values) / len(values) if values else float("nan")


def summary(rows: list[dict[str, Any]], tess: bool) -> list[dict[str, Any]]:
    """Per group: mean and lowest accuracy, mean and highest CPU-s, against the goal."""
    out = []
    for group, goal in GOALS.items():
        mine = [row for row in rows if row["group"] == group]
        if not mine:
            continue
        item = {
            "group": group,
            "cases": len(mine),
            "accuracy_mean": round(_mean([r["accuracy"] for r in mine]), 3),
            "accuracy_min": min(r["accuracy"] for r in mine),
            "whole_text_accuracy_mean": round(_mean([r["whole_text_accuracy"] for r in mine]), 3),
            "goal": goal,
            "cpu_s_mean": round(_mean([r["cpu_s"] for r in mine]), 2),
            "cpu_s_max": max(r["cpu_s"] for r in mine),
        }
        if tess:
            item["tesseract_accuracy_mean"] = round(
                _mean([r["tesseract_accuracy"] for r in mine]), 3
            )
            item["tesseract_cpu_s_mean"] = round(_mean([r["tesseract_cpu_s"] for r in mine]), 2)
        out.append(item)
    return out


def _table(head: list[str], body: list[list[str]]) -> list[str]:
    rows = [head, ["---"] * len(head), *body]
    return ["| " + " | ".join(row) + " |" for row in rows]


def markdown(rows: list[dict], groups: list[dict], ours: dict, tess: dict | None) -> str:
    """The tables for the README: per case, per group, memory, one request's limits."""
    t = tess is not None
    lines = [f"Engine: {ours['model']} (onnxruntime, one thread, angle classifier off).", ""]
    head = ["case", "group", "ours: accuracy", "ours: CPU-s"]
    head += ["tesseract: accuracy", "tesseract: CPU-s"] if t else []
    body = []
    for r in rows:
        cells = [r["case"], r["group"], f"{r['accuracy']:.3f}", f"{r['cpu_s']:.2f}"]
        if t:
            cells += [f"{r['tesseract_accuracy']:.3f}", f"{r['tesseract_cpu_s']:.2f}"]
        body.append(cells)
    lines += [*_table(head, body), ""]
    head = ["group", "cases", "accuracy mean (min)", "goal", "CPU-s mean (max)"]
    head += ["tesseract: accuracy mean", "tesseract: CPU-s mean"] if t else []
    body = []
    for g in groups:
        cells = [g["group"], str(g["cases"]), f"{g['accuracy_mean']:.3f} ({g['accuracy_min']:.3f})"]
        cells += [f"≥ {g['goal']}", f"{g['cpu_s_mean']:.2f} ({g['cpu_s_max']:.2f})"]
        if t:
            cells += [f"{g['tesseract_accuracy_mean']:.3f}", f"{g['tesseract_cpu_s_mean']:.2f}"]
        body.append(cells)
    lines += [*_table(head, body), ""]
    lines += [
        "Frames are scored on what was read where the caption was drawn; counting all text read"
        " in the frame (photographs carry text of their own: the astronaut's name tag and"
        " patches) the frame mean is "
        + ", ".join(f"{g['whole_text_accuracy_mean']:.3f}" for g in groups if g["group"] == "frame")
        + ".",
        "",
    ]
    req = ours["request"]
    memory = (
        f"Memory of the reading process: {ours['rss_imported_mb']} MB after import, "
        f"{ours['rss_loaded_mb']} MB with the engine loaded ({ours['load_cpu_s']} CPU-s), "
        f"peak {ours['peak_mb']} MB."
    )
    if tess:
        memory += f" Tesseract's peak: {max(x['peak_mb'] for x in tess.values()):.0f} MB."
    lines += [
        memory,
        f"One request: {req['requested']} frames given, cap {REQUEST_FRAMES}, budget "
        f"{req['budget_s']:.0f} CPU-s: {req['message']}",
    ]
    if not t:
        lines.append("tesseract: not installed here, skipped.")
    return "\n".join(lines) + "\n"


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--quick", action="store_true", help="a page, a scan and two frames")
    parser.add_argument("--json", action="store_true", help="print the rows as JSON too")
    parser.add_argument("--markdown", type=Path, help="write the tables to this file")
    parser.add_argument("--no-tesseract", action="store_true", help="skip tesseract")
    parser.add_argument("--child", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        child(args.child)
        return
    started = time.monotonic()
    with tempfile.TemporaryDirectory(prefix="ocr-bench-") as tmp:
        folder = Path(tmp)
        cases = make_cases(folder, args.quick)
        manifest = folder / "cases.json"
        manifest.write_text(json.dumps([asdict(case) for case in cases]))
        print(f"{len(cases)} images generated; reading with ours ...", flush=True)
        ours = run_ours(manifest)
        tess = None if args.no_tesseract else run_tesseract(cases, folder)
    if tess is None:
        print("tesseract: not installed (apt-get install tesseract-ocr tesseract-ocr-eng), skipped")
    rows = score(cases, ours, tess)
    groups = summary(rows, tess is not None)
    text = markdown(rows, groups, ours, tess)
    print(text)
    print(f"wall time of the whole run: {time.monotonic() - started:.0f} s")
    if args.json:
        print(json.dumps({"rows": rows, "groups": groups, "ours": ours}, indent=1))
    if args.markdown:
        args.markdown.write_text(text)
    if any(g["accuracy_mean"] < g["goal"] for g in groups):
        sys.exit(1)


if __name__ == "__main__":
    main()
