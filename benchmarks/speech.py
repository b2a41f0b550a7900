"""Benchmark: offline speech-to-text speed (real-time factor), accuracy (WER) and memory.

Speech is generated with espeak-ng (known text, so the word error rate is exact): each test
sentence alone, the demo video's sentence, and a continuous clip of about ``--minutes``
minutes (the sentences repeated, 0.7 s apart). ``rtf`` is wall time / audio time;
``cpu_rtf`` is CPU time (all threads) / audio time, the steadier figure on a shared machine.
The model is the bundled ``tiny.en`` unless
``--model`` names another faster-whisper model or directory. For the long clip the windowed
transcription (``media.speech``: Silero VAD clips, temperature 0 only) is compared with one
faster-whisper call on the whole file with its own VAD filter and the same decoding settings
(temperature 0, no conditioning on the previous text). Memory is the
tracemalloc peak: numpy buffers are traced; the model's own C++ memory is not, and is the same
for both.

It also counts lines invented where nothing English was said (white noise, a music-like tone
mix, German speech through the English-only model): the goal is none.

    python -m benchmarks.speech                  # needs espeak-ng (apt-get install espeak-ng)
    python -m benchmarks.speech --quick          # a 1-minute long clip
    python -m benchmarks.speech --minutes 5 --beam-size 1
    python -m benchmarks.speech --json
"""

from __future__ import annotations

import argparse
import json
import resource
import tempfile
import time
import tracemalloc
from collections.abc import Callable
from pathlib import Path
from typing import Any

from media_analysis_dagster import demo_video as synth
from media_analysis_dagster.media import speech
from media_analysis_fixtures import speech as sf


def _cpu_s() -> float:
    """CPU seconds used by this process so far (all threads): steadier than wall time on a
    shared machine."""
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def _rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def _traced(fn: Callable[[], Any]) -> tuple[Any, float]:
    tracemalloc.start()
    try:
        return fn(), tracemalloc.get_traced_memory()[1] / 1e6
    finally:
        tracemalloc.stop()


def _row(name: str, duration: float, seconds: float, wer: float, **extra: Any) -> dict[str, Any]:
    return {
        "case": name,
        "audio_s": round(duration, 1),
        "time_s": round(seconds, 2),
        "rtf": round(seconds / duration, 3),
        "wer": round(wer, 3),
        **extra,
    }


def short_cases(tmp: Path, options: dict[str, Any]) -> list[dict[str, Any]]:
    rows = []
    for i, text in enumerate((*sf.SENTENCES, synth.DEMO_SENTENCE)):
        wav = sf.make_speech_wav(tmp / f"s{i}.wav", text)
        cpu = _cpu_s()
        result = speech.transcribe_wav(wav, **options)
        cpu = _cpu_s() - cpu
        rows.append(
            _row(
                f"sentence {i + 1}" if i < len(sf.SENTENCES) else "demo sentence",
                result.duration,
                result.processing_time_s,
                sf.word_error_rate(text, result.text),
                confidence=result.confidence,
                cpu_rtf=round(cpu / result.duration, 3),
            )
        )
    return rows


def long_cases(tmp: Path, minutes: float, options: dict[str, Any]) -> list[dict[str, Any]]:
    wav, words = sf.make_long_wav(tmp / "long.wav", sf.SENTENCES, minutes, gap_s=0.7)
    rss_before, cpu = _rss_mb(), _cpu_s()
    result = speech.transcribe_wav(wav, **options)
    cpu = _cpu_s() - cpu
    wer = sf.word_error_rate(words, sf.normalize(result.text))
    _, peak = _traced(lambda: speech.transcribe_wav(wav, **options))
    windowed = _row(
        f"{minutes:g} min, windowed",
        result.duration,
        result.processing_time_s,
        wer,
        confidence=result.confidence,
        cpu_rtf=round(cpu / result.duration, 3),
        windows=result.windows,
        traced_peak_mb=round(peak, 1),
        rss_growth_mb=round(_rss_mb() - rss_before, 1),
    )
    model = speech.load_model(options.get("model") or speech.default_model() or "")

    def whole() -> str:
        found, _ = model.transcribe(
            str(wav),
            beam_size=options.get("beam_size", 5),
            word_timestamps=True,
            vad_filter=True,
            temperature=0.0,
            condition_on_previous_text=False,
        )
        return " ".join(s.text.strip() for s in found)

    started, cpu = time.monotonic(), _cpu_s()
    text = whole()
    seconds, cpu = time.monotonic() - started, _cpu_s() - cpu
    _, whole_peak = _traced(whole)
    one_call = _row(
        f"{minutes:g} min, one call",
        result.duration,
        seconds,
        sf.word_error_rate(words, sf.normalize(text)),
        cpu_rtf=round(cpu / result.duration, 3),
        traced_peak_mb=round(whole_peak, 1),
    )
    return [windowed, one_call]


def demo_case(tmp: Path, options: dict[str, Any]) -> dict[str, Any]:
    from media_analysis_dagster.media.audio import extract_wav

    started = time.monotonic()
    video = synth.make_demo_video(tmp / "demo.mp4")
    made = time.monotonic() - started
    extract_wav(video, tmp / "demo.wav")
    cpu = _cpu_s()
    result = speech.transcribe_wav(tmp / "demo.wav", **options)
    cpu = _cpu_s() - cpu
    return _row(
        "demo video audio",
        result.duration,
        result.processing_time_s,
        sf.word_error_rate(synth.DEMO_SENTENCE, result.text),
        confidence=result.confidence,
        cpu_rtf=round(cpu / result.duration, 3),
        video_made_s=round(made, 2),
    )


def invented_lines(tmp: Path, options: dict[str, Any]) -> dict[str, int]:
    """Lines (segments) kept where no English was said; each should be 0."""
    cases = {
        "white noise": sf.noise_wav(tmp / "noise.wav", 10.0),
        "tone mix": sf.music_wav(tmp / "music.wav", 10.0),
        "german speech": sf.make_sentences_wav(tmp / "de.wav", sf.GERMAN_SENTENCES, voice="de"),
    }
    return {
        name: len(speech.transcribe_wav(path, **options).segments) for name, path in cases.items()
    }


def print_table(rows: list[dict[str, Any]]) -> None:
    columns = ["case", "audio_s", "time_s", "rtf", "cpu_rtf", "wer", "confidence"]
    columns.append("traced_peak_mb")
    print(" | ".join(f"{c:>14}" if i else f"{c:<20}" for i, c in enumerate(columns)))
    for row in rows:
        cells = [row.get(c, "") for c in columns]
        cells = ["" if v is None else v for v in cells]
        print(" | ".join(f"{v!s:>14}" if i else f"{v!s:<20}" for i, v in enumerate(cells)))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--minutes", type=float, default=2.0, help="length of the long clip")
    parser.add_argument("--quick", action="store_true", help="a 1-minute long clip")
    parser.add_argument("--model", default=None, help="faster-whisper model name or directory")
    parser.add_argument("--beam-size", type=int, default=5)
    parser.add_argument("--json", action="store_true", help="print one JSON object")
    args = parser.parse_args(argv)
    if args.quick:
        args.minutes = 1.0
    options: dict[str, Any] = {"model": args.model, "beam_size": args.beam_size}
    started = time.monotonic()
    speech.load_model(args.model or speech.default_model() or "")
    load_s = time.monotonic() - started
    with tempfile.TemporaryDirectory() as tmp:
        rows = short_cases(Path(tmp), options)
        rows += long_cases(Path(tmp), args.minutes, options)
        rows.append(demo_case(Path(tmp), options))
        invented = invented_lines(Path(tmp), options)
    label = speech.model_label(args.model or speech.default_model() or "")
    if args.json:
        report = {"model": label, "load_s": round(load_s, 2), "rows": rows}
        print(json.dumps(report | {"invented_lines": invented}))
        return 0
    print(f"model {label}, int8 on CPU, beam {args.beam_size}; loaded in {load_s:.2f} s")
    print_table(rows)
    windowed = next(r for r in rows if r["case"].endswith("windowed"))
    print(f"long clip: {windowed['windows']} windows, peak RSS grew {windowed['rss_growth_mb']} MB")
    print(
        "lines invented where no English was said: "
        + ", ".join(f"{k} {v}" for k, v in invented.items())
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
