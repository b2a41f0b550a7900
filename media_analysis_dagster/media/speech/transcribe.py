"""Offline speech-to-text: faster-whisper on the CPU over a 16 kHz mono WAV, in bounded memory.

Why windows: faster-whisper computes the log-mel features of the *whole* array it is given
before decoding, so one call on an hour of audio holds the samples, an STFT and the features of
the hour (hundreds of MB). Here the WAV is read in windows of ``chunk_s`` seconds that end in a
quiet spot (``wav_windows``), each transcribed alone and its times shifted by its offset, so
memory is bounded by one window (60 s of float32 is 3.8 MB plus its features), not by the length
of the audio.

What reaches Whisper, and how it decodes (the reasons are measured in each module):

- only speech: Silero VAD finds it in each window, and the speech is decoded in clips that end
  at pauses, each by a call of its own (``vad``), so silence, noise and music give no lines, a
  damaged stretch cannot take clean speech around it down with it, and Whisper's features are
  computed for one clip (at most 30 s), not for the window;
- deterministically: temperature 0 only (no fallback to sampling, which made a damaged MP3 give
  a different transcript on each run), a fixed beam, no conditioning on earlier text, and no
  "no speech" skipping of whole 30 s pieces (VAD has decided what is speech);
- then each segment is judged on its own scores and invented ones dropped (``hallucinations``),
  and the transcript's language and reliability are decided (``reliability``): an English-only
  model on speech in another language yields no words, with the reason;
- speech the English-only model could not understand is heard again by the multilingual
  ``base`` model that ships in a package (``bundled_multilingual``): it names the language
  (checked by decoding, ``reliability.identify_language``) and, when that is not English,
  transcribes the audio in it, judged like any multilingual transcript.

Models come from `models` (loaded once per process).

``confidence`` is the mean word probability weighted by word duration (Whisper's per-word
token probabilities), so a long mumbled word counts more than a crisp "a".
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field, replace
from typing import Any

import numpy as np

from media_analysis_dagster.media.errors import MediaError, MediaLimitError
from media_analysis_dagster.media.speech import hallucinations
from media_analysis_dagster.media.speech.foreign import in_its_language
from media_analysis_dagster.media.speech.models import (
    SpeechModelError,
    default_model,
    load_model,
    model_label,
)
from media_analysis_dagster.media.speech.reliability import assess, whisper_language
from media_analysis_dagster.media.speech.subtitles import UNSPACED
from media_analysis_dagster.media.speech.vad import clips, speech_seconds, speech_spans
from media_analysis_dagster.media.speech.wav_windows import SAMPLE_RATE, open_wav, windows

__all__ = ["Segment", "Transcript", "Word", "transcribe_wav"]

_SILENT_PEAK = 10 ** (-60 / 20)  # a window whose peak is under -60 dBFS holds no speech
#: Clips of speech a multilingual model hears before it names the language.
_LANGUAGE_CLIPS = 3


@dataclass(frozen=True)
class Word:
    start: float
    end: float
    word: str
    probability: float
    segment: int  # id of the segment the word belongs to


@dataclass(frozen=True)
class Segment:
    id: int
    start: float
    end: float
    text: str
    avg_logprob: float
    no_speech_prob: float
    compression_ratio: float


@dataclass(frozen=True)
class Transcript:
    """A whole transcription; times are seconds from the start of the WAV."""

    text: str
    language: str
    language_probability: float
    duration: float
    segments: tuple[Segment, ...]
    words: tuple[Word, ...]
    model_name: str
    confidence: float | None  # duration-weighted mean word probability; None without words
    processing_time_s: float  # transcription only; model loading is in load_time_s
    load_time_s: float
    real_time_factor: float  # processing_time_s / duration
    windows: int
    # Whether the words stand (an English-only model on other speech: no), and why not.
    reliable: bool = True
    reliability_reason: str | None = None
    speech_s: float = 0.0  # seconds Silero VAD heard as speech
    dropped: tuple[tuple[str, int], ...] = ()  # (why, count) of segments judged invented
    withheld_segments: int = 0  # segments not kept because the transcript is unreliable
    text_language: dict[str, Any] | None = None  # py3langid on the decoded text
    english_only: bool = False  # the model knows English only (``tiny.en``)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def _weighted_confidence(words: list[Word]) -> float | None:
    if not words:
        return None
    weights = [max(w.end - w.start, 0.0) for w in words]
    total = sum(weights)
    if total <= 0:
        return round(sum(w.probability for w in words) / len(words), 4)
    return round(sum(w.probability * d for w, d in zip(words, weights, strict=True)) / total, 4)


@dataclass
class _Found:
    """What the windows have given so far."""

    segments: list[Segment] = field(default_factory=list)
    words: list[Word] = field(default_factory=list)
    dropped: dict[str, int] = field(default_factory=dict)
    speech_s: float = 0.0
    language: str | None = None
    probability: float = 0.0
    heard: list[np.ndarray] = field(default_factory=list)  # first clips: to name the language


def transcribe_wav(
    path: str | os.PathLike[str],
    *,
    model: str | None = None,
    language: str | None = None,
    compute_type: str = "int8",
    cpu_threads: int = 0,
    beam_size: int = 5,
    vad: bool = True,
    condition_on_previous_text: bool = False,
    chunk_s: float = 60.0,
    search_s: float = 10.0,
    max_duration: float | None = None,
    allow_download: bool = True,
    on_progress: Callable[[float, float], None] | None = None,
) -> Transcript:
    """Transcribe a 16 kHz 16-bit WAV (mono, or downmixed) with faster-whisper on the CPU.

    ``vad`` (on by default) decodes only what Silero VAD hears as speech; off, each window is
    decoded whole. ``condition_on_previous_text`` is off: fed its own last sentence, tiny.en
    fell into loops (one sentence three times), and on 2-4 minutes of continuous speech WER
    went from 0.09-0.10 to 0.06. ``language`` None lets a multilingual model detect it once,
    on the first clips of speech, and keeps it. ``on_progress(seconds transcribed, seconds in
    all)`` is called before the model loads (it takes seconds), as each segment is decoded and
    after each window.
    """
    loading = time.monotonic()
    chosen = model or default_model()
    if not chosen:
        raise SpeechModelError(
            "No speech-to-text model is configured and the bundled tiny.en is not installed."
        )
    _announce(on_progress, path)
    whisper = load_model(
        chosen, compute_type=compute_type, cpu_threads=cpu_threads, allow_download=allow_download
    )
    started = time.monotonic()
    found = _Found(language=language, probability=1.0 if language else 0.0)
    options = {"beam_size": beam_size, "condition_on_previous_text": condition_on_previous_text}
    with open_wav(path) as wav:
        total = wav.getnframes()
        report = _progress(on_progress, total / SAMPLE_RATE, max_duration)
        count = 0
        for offset, samples in windows(wav, chunk_s, search_s):
            count += 1
            _window(whisper, offset, samples, vad, options, found, report)
            report((offset + len(samples)) / SAMPLE_RATE)
    elapsed = time.monotonic() - started
    transcript = _finish(
        found,
        multilingual=bool(whisper.model.is_multilingual),
        duration=total / SAMPLE_RATE,
        timing=(elapsed, started - loading),
        model_name=model_label(chosen),
        windows=count,
    )
    if not transcript.english_only or transcript.reliable or language or not found.heard:
        return transcript
    same: dict[str, Any] = {
        "compute_type": compute_type, "cpu_threads": cpu_threads, "beam_size": beam_size,
        "vad": vad, "condition_on_previous_text": condition_on_previous_text,
        "chunk_s": chunk_s, "search_s": search_s, "max_duration": max_duration,
        "on_progress": on_progress, "allow_download": False,
    }  # fmt: skip
    return in_its_language(
        transcript,
        found.heard,
        lambda code, model_dir: transcribe_wav(path, model=model_dir, language=code, **same),
        compute_type=compute_type,
        cpu_threads=cpu_threads,
    )


def _window(
    whisper: Any,
    offset: int,
    samples: np.ndarray,
    use_vad: bool,
    options: dict[str, Any],
    found: _Found,
    report: Callable[[float], None],
) -> None:
    """Transcribe one window into ``found``: its speech clips, each decoded on its own."""
    if not len(samples) or float(np.abs(samples).max()) < _SILENT_PEAK:
        return
    spans = speech_spans(samples) if use_vad else [(0, len(samples))]
    if not spans:
        return
    found.speech_s += speech_seconds(spans)
    cut = clips(spans)
    pieces = [samples[int(c.start * SAMPLE_RATE) : int(c.end * SAMPLE_RATE)] for c in cut]
    for piece in pieces[: max(0, _LANGUAGE_CLIPS - len(found.heard))]:
        # A copy of at most 30 s: a slice would keep its whole window alive.
        found.heard.append(piece[: 30 * SAMPLE_RATE].copy())
    if found.language is None and whisper.model.is_multilingual:
        found.language, found.probability = whisper_language(whisper, pieces[:_LANGUAGE_CLIPS])
    at = offset / SAMPLE_RATE
    for clip, heard in zip(cut, pieces, strict=True):
        # One call per clip: Whisper's features are computed for the clip alone (at most
        # 30 s), not for the whole window, and nothing of one clip reaches another.
        segments, _ = whisper.transcribe(
            heard,
            language=found.language,
            word_timestamps=True,
            vad_filter=False,
            temperature=0.0,
            no_speech_threshold=None,
            log_prob_threshold=None,
            compression_ratio_threshold=None,
            **options,
        )
        span = (at + clip.start, at + clip.end)
        _collect(segments, span, found.language not in UNSPACED, found, report)


def _finish(
    found: _Found,
    *,
    multilingual: bool,
    duration: float,
    timing: tuple[float, float],
    model_name: str,
    windows: int,
) -> Transcript:
    """The transcript, judged: its language, and no words when they are not to be trusted."""
    text = " ".join(s.text for s in found.segments if s.text)
    confidence = _weighted_confidence(found.words)
    verdict = assess(
        multilingual=multilingual,
        language=found.language,
        language_probability=found.probability,
        text=text,
        confidence=confidence,
        speech_s=found.speech_s,
        word_count=len(found.words),
    )
    kept = verdict.reliable
    elapsed, load_s = timing
    return Transcript(
        text=text if kept else "",
        language=verdict.language or "",
        language_probability=round(verdict.language_probability, 4),
        duration=round(duration, 3),
        segments=tuple(found.segments) if kept else (),
        words=tuple(found.words) if kept else (),
        model_name=model_name,
        confidence=confidence,
        processing_time_s=round(elapsed, 3),
        load_time_s=round(load_s, 3),
        real_time_factor=round(elapsed / duration, 4) if duration else 0.0,
        windows=windows,
        reliable=kept,
        reliability_reason=verdict.reason,
        speech_s=round(found.speech_s, 3),
        dropped=tuple(sorted(found.dropped.items())),
        withheld_segments=0 if kept else len(found.segments),
        text_language=verdict.text_language,
        english_only=not multilingual,
    )


def _announce(on_progress: Callable[[float, float], None] | None, path: Any) -> None:
    """Tell ``on_progress`` the WAV's length before the model loads; a file that cannot be read
    is left to `open_wav` to refuse, after the model (a missing model is reported first)."""
    if on_progress is None:
        return
    try:
        with open_wav(path) as wav:
            on_progress(0.0, wav.getnframes() / SAMPLE_RATE)
    except MediaError:
        pass


def _progress(
    on_progress: Callable[[float, float], None] | None, total: float, max_duration: float | None
) -> Callable[[float], None]:
    """Refuse audio over ``max_duration`` before any work; then ``report(seconds done)`` for
    ``on_progress`` (told the length at once), or a no-op without one."""
    if max_duration is not None and total > max_duration:
        raise MediaLimitError(
            f"The audio lasts {total:.0f} s, over the transcription limit of {max_duration:.0f} s."
        )
    if on_progress is None:
        return lambda _done: None
    on_progress(0.0, total)
    return lambda done: on_progress(min(done, total), total)


def _collect(
    decoded: Any,
    span: tuple[float, float],
    spaced: bool,
    found: _Found,
    report: Callable[[float], None],
) -> None:
    """Append faster-whisper's segments and words that are not judged invented, moved onto the
    window ``span`` (seconds) and kept inside it (Whisper's 20 ms time grid can overrun the end
    of the audio). ``decoded`` is lazy, segment by segment: ``report`` hears each one's end."""
    offset, limit = span

    def at(t: float) -> float:
        return round(min(offset + float(t), limit), 3)

    for seg in decoded:
        report(at(seg.end))
        pieces, text = _without_loops(list(seg.words or ()), seg.text.strip(), found)
        previous = found.segments[-1].text if found.segments else None
        verdict = hallucinations.judge(
            text, [float(w.probability) for w in pieces], seg.no_speech_prob, previous
        )
        if not verdict.keep:
            why = verdict.reason or "dropped"
            found.dropped[why] = found.dropped.get(why, 0) + 1
            continue
        found.segments.append(
            Segment(
                id=len(found.segments),
                start=at(seg.start),
                end=at(seg.end),
                text=text,
                avg_logprob=round(float(seg.avg_logprob), 4),
                no_speech_prob=round(float(seg.no_speech_prob), 4),
                compression_ratio=round(hallucinations.compression_ratio(text), 4),
            )
        )
        _words(pieces, at, spaced, len(found.segments) - 1, found.words)


def _without_loops(pieces: list[Any], text: str, found: _Found) -> tuple[list[Any], str]:
    """The segment's timed words and text with every loop cut out (counted in ``found``)."""
    cut = False
    while run := hallucinations.loop_run([hallucinations.normalized(w.word) for w in pieces]):
        del pieces[run[0] : run[1]]
        cut = True
    if not cut:
        return pieces, text
    found.dropped["loop cut out"] = found.dropped.get("loop cut out", 0) + 1
    return pieces, "".join(w.word for w in pieces).strip()


def _words(
    pieces: Any, at: Callable[[float], float], spaced: bool, segment: int, words: list[Word]
) -> None:
    """Whisper's word pieces of one segment as whole words, appended to ``words``."""
    first = len(words)
    for w in pieces:
        piece = Word(at(w.start), at(w.end), w.word.strip(), float(w.probability), 0)
        if not piece.word:
            continue
        if spaced and len(words) > first and not w.word[:1].isspace():
            # Whisper's word pieces: " o" + "'clock" is one word, as the text shows it.
            prev = words.pop()
            piece = Word(
                prev.start, piece.end, prev.word + piece.word,
                min(prev.probability, piece.probability), 0,
            )  # fmt: skip
        words.append(replace(piece, probability=round(piece.probability, 4), segment=segment))
