"""Offline speech-to-text on real (synthetic-voice) speech: accuracy, times, subtitles, memory.

The speech is espeak-ng reading known sentences, so the word error rate is measured, not
guessed. The bundled tiny.en model is loaded once per process (about 0.5 s).
"""

from __future__ import annotations

import itertools
import re
import socket
import tracemalloc
import wave
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from media_analysis_dagster.media import speech
from media_analysis_dagster.media.errors import (
    CorruptMediaError,
    MediaLimitError,
    UnsupportedMediaError,
)
from media_analysis_dagster.media.speech.wav_windows import windows
from media_analysis_fixtures import speech as sf

# Measured on the six SENTENCES read one after another: WER 0.08 (tiny.en, int8, beam 5).
MAX_WER = 0.25


@pytest.fixture(scope="module")
def sentences_wav(tmp_path_factory: pytest.TempPathFactory) -> Path:
    sf.require_espeak()
    pieces = []
    for text in sf.SENTENCES:
        pieces += [sf.silence(0.7), sf.espeak_samples(text)]
    pieces.append(sf.silence(1.0))
    return sf.write_wav(tmp_path_factory.mktemp("speech") / "sentences.wav", pieces)


@pytest.fixture(scope="module")
def transcript(sentences_wav: Path) -> speech.Transcript:
    return speech.transcribe_wav(sentences_wav)


def test_bundled_model_is_found() -> None:
    model = speech.default_model()
    assert model is not None and (Path(model) / "model.bin").is_file()
    assert speech.model_label(model) == "faster-whisper/tiny.en"
    assert speech.model_label("small.en") == "faster-whisper/small.en"


def test_transcribes_known_sentences(transcript: speech.Transcript, sentences_wav: Path) -> None:
    wer = sf.word_error_rate(" ".join(sf.SENTENCES), transcript.text)
    assert wer < MAX_WER, (wer, transcript.text)
    assert transcript.language == "en" and transcript.language_probability == 1.0
    assert transcript.model_name == "faster-whisper/tiny.en"
    with wave.open(str(sentences_wav)) as wav:
        assert transcript.duration == pytest.approx(wav.getnframes() / 16000, abs=0.001)
    assert transcript.confidence is not None and 0.5 < transcript.confidence <= 1.0
    assert 0 < transcript.real_time_factor < 2.0
    assert transcript.text == " ".join(s.text for s in transcript.segments)


def test_times_are_monotonic_and_inside_the_audio(transcript: speech.Transcript) -> None:
    words = transcript.words
    assert len(words) >= 50
    for prev, word in itertools.pairwise(words):
        assert word.start >= prev.start and word.start >= prev.end - 0.001
    for item in (*words, *transcript.segments):
        assert 0.0 <= item.start <= item.end <= transcript.duration
    assert [s.id for s in transcript.segments] == list(range(len(transcript.segments)))
    assert {w.segment for w in words} <= {s.id for s in transcript.segments}
    assert all(0.0 <= w.probability <= 1.0 for w in words)
    # Every segment's text is made of its own words.
    for seg in transcript.segments:
        own = [w.word for w in words if w.segment == seg.id]
        assert sf.normalize(" ".join(own)) == sf.normalize(seg.text)


CUE = re.compile(
    r"(\d+)\n(\d\d):(\d\d):(\d\d)([,.])(\d{3}) --> (\d\d):(\d\d):(\d\d)([,.])(\d{3})\n((?:.+\n?)+)"
)


def parse_cues(text: str, sep: str) -> list[tuple[float, float, list[str]]]:
    """A strict reader: numbering from 1, the format's separator, no stray text."""
    blocks = [b for b in text.strip().split("\n\n") if b]
    cues = []
    for n, block in enumerate(blocks, start=1):
        m = CUE.fullmatch(block.strip("\n"))
        assert m, block
        assert int(m[1]) == n and m[5] == sep and m[10] == sep
        start = int(m[2]) * 3600 + int(m[3]) * 60 + int(m[4]) + int(m[6]) / 1000
        end = int(m[7]) * 3600 + int(m[8]) * 60 + int(m[9]) + int(m[11]) / 1000
        cues.append((start, end, m[12].strip("\n").split("\n")))
    return cues


def test_srt_and_vtt_parse_back(transcript: speech.Transcript) -> None:
    srt, vtt = speech.to_srt(transcript), speech.to_vtt(transcript)
    assert vtt.startswith("WEBVTT\n\n")
    srt_cues = parse_cues(srt, ",")
    vtt_cues = parse_cues(vtt.removeprefix("WEBVTT\n"), ".")
    assert srt_cues == vtt_cues and len(srt_cues) >= len(transcript.segments)
    for i, (start, end, lines) in enumerate(srt_cues):
        assert start < end <= transcript.duration + 0.001 and end - start <= 7.0
        assert 1 <= len(lines) <= 2 and all(len(line) <= 42 for line in lines)
        if i:
            assert start >= srt_cues[i - 1][1]
    spoken = " ".join(line for _, _, lines in srt_cues for line in lines)
    assert sf.normalize(spoken) == sf.normalize(transcript.text)


def _fake(segments: tuple[speech.Segment, ...], words: tuple[speech.Word, ...] = ()) -> Any:
    return speech.Transcript(
        text=" ".join(s.text for s in segments),
        language="en",
        language_probability=1.0,
        duration=segments[-1].end + 1.0,
        segments=segments,
        words=words,
        model_name="test",
        confidence=None,
        processing_time_s=0.0,
        load_time_s=0.0,
        real_time_factor=0.0,
        windows=1,
    )


def test_vtt_escapes_markup_and_srt_never_shows_an_arrow() -> None:
    seg = speech.Segment(0, 3725.5, 3727.25, "a <b> & c --> d", -0.1, 0.0, 1.0)
    fake = _fake((seg,))  # no words: the cue comes from the segment's text and times
    assert "1\n01:02:05,500 --> 01:02:07,250\na <b> & c -> d\n" in speech.to_srt(fake)
    vtt = speech.to_vtt(fake)
    assert "1\n01:02:05.500 --> 01:02:07.250\na &lt;b&gt; &amp; c --&gt; d\n" in vtt


def test_long_segment_is_split_into_cues_at_word_times() -> None:
    words = tuple(
        speech.Word(i * 0.4, i * 0.4 + 0.3, f"word{i}" + ("." if i == 9 else ""), 0.9, 0)
        for i in range(30)
    )
    text = " ".join(w.word for w in words)
    cues = parse_cues(speech.to_srt(_fake((speech.Segment(0, 0, 12, text, 0, 0, 1),), words)), ",")
    assert [c[0] for c in cues] == [0.0, 4.0, 8.0]  # three even cues, not two full and a stub
    assert cues[0][2] == ["word0 word1 word2 word3 word4", "word5 word6 word7 word8 word9."]
    assert cues[-1][1] == pytest.approx(11.9)


def test_segment_without_words_is_shared_out_by_characters() -> None:
    long_text = " ".join(["abcdefghi"] * 20)  # 199 characters: 3 cues of <= 2 lines
    cues = parse_cues(
        speech.to_vtt(_fake((speech.Segment(0, 10, 16, long_text, 0, 0, 1),))).removeprefix(
            "WEBVTT\n"
        ),
        ".",
    )
    assert len(cues) == 3 and cues[0][0] == 10.0 and cues[-1][1] == 16.0
    assert all(len(line) <= 42 for _, _, lines in cues for line in lines)


def _write(path: Path, samples: np.ndarray, rate: int = 16000, channels: int = 1) -> Path:
    with wave.open(str(path), "wb") as wav:
        wav.setnchannels(channels)
        wav.setsampwidth(2)
        wav.setframerate(rate)
        wav.writeframes(samples.astype("<i2").tobytes())
    return path


def test_windows_cut_in_silence_and_lose_no_sample(tmp_path: Path) -> None:
    rng = np.random.default_rng(1)

    def loud(seconds: float) -> np.ndarray:
        return (rng.standard_normal(round(seconds * 16000)) * 8000).astype(np.int16)

    gap = np.zeros(round(0.4 * 16000), dtype=np.int16)
    # Noise everywhere except 25.0-25.4 s and 50.0-50.4 s; 70.4 s in all.
    samples = np.concatenate([loud(25), gap, loud(24.6), gap, loud(20)])
    path = _write(tmp_path / "w.wav", samples)
    with wave.open(str(path)) as wav:
        got = list(windows(wav, chunk_s=30.0, search_s=10.0))
    offsets = [o / 16000 for o, _ in got]
    assert len(got) == 3 and offsets[0] == 0
    assert 25.0 < offsets[1] < 25.4 and 50.0 < offsets[2] < 50.4  # each cut inside a gap
    assert all(len(w) <= 30 * 16000 for _, w in got)
    assert [o + len(w) for o, w in got[:-1]] == [o for o, _ in got[1:]]
    joined = np.concatenate([w for _, w in got])
    assert np.array_equal((joined * 32768).round().astype(np.int16), samples)


def test_stereo_is_downmixed(tmp_path: Path) -> None:
    sf.require_espeak()
    mono = np.concatenate([sf.silence(0.5), sf.espeak_samples(sf.SENTENCES[4]), sf.silence(1)])
    stereo = np.stack([mono, mono], axis=1).reshape(-1)
    result = speech.transcribe_wav(_write(tmp_path / "st.wav", stereo, channels=2))
    assert sf.word_error_rate(sf.SENTENCES[4], result.text) < MAX_WER


def test_digital_silence_gives_an_empty_transcript(tmp_path: Path) -> None:
    result = speech.transcribe_wav(_write(tmp_path / "s.wav", sf.silence(5.0)))
    assert result.text == "" and result.words == () and result.confidence is None


def test_bad_input_raises_readable_media_errors(tmp_path: Path) -> None:
    empty = tmp_path / "empty.wav"
    empty.write_bytes(b"")
    text = tmp_path / "text.wav"
    text.write_text("not audio at all")
    cases = [
        (empty, CorruptMediaError, {}),
        (text, CorruptMediaError, {}),
        (_write(tmp_path / "cd.wav", sf.silence(1.0), rate=44100), UnsupportedMediaError, {}),
        (_write(tmp_path / "long.wav", sf.silence(3.0)), MediaLimitError, {"max_duration": 2}),
    ]
    for path, error, kwargs in cases:
        with pytest.raises(error) as info:
            speech.transcribe_wav(path, **kwargs)
        message = str(info.value)
        assert message.endswith(".") and message.count(". ") == 0 and "Error" not in message


def test_missing_model_is_a_configuration_error(tmp_path: Path) -> None:
    wav = _write(tmp_path / "a.wav", sf.silence(1.0))
    with pytest.raises(speech.SpeechModelError, match="does not exist"):
        speech.transcribe_wav(wav, model=str(tmp_path / "no-such-model"))
    (tmp_path / "empty-model").mkdir()
    with pytest.raises(speech.SpeechModelError, match="could not be loaded"):
        speech.transcribe_wav(wav, model=str(tmp_path / "empty-model"))
    assert "MEDIA_ANALYSIS_WHISPER_MODEL" in speech.SpeechModelError.hint


def test_bundled_model_loads_and_runs_without_network(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    sf.require_espeak()
    wav = sf.make_speech_wav(tmp_path / "a.wav", sf.SENTENCES[1])

    def refuse(*args: object, **kwargs: object) -> None:
        raise AssertionError(f"network access attempted: {args}")

    monkeypatch.setattr(socket.socket, "connect", refuse)
    monkeypatch.setattr(socket, "getaddrinfo", refuse)
    model = speech.default_model()
    assert model is not None
    # cpu_threads=1 is a cache key of its own, so this really loads the model from disk.
    first = speech.load_model(model, cpu_threads=1)
    assert speech.load_model(model, cpu_threads=1) is first
    result = speech.transcribe_wav(wav, cpu_threads=1)
    assert sf.word_error_rate(sf.SENTENCES[1], result.text) < MAX_WER
    assert speech.unload_models() >= 1


def _sparse_wav(path: Path, count: int) -> tuple[Path, list[float]]:
    """``count`` sentences, each after 27 s of faint noise (-40 dBFS): ~30 s per sentence."""
    rng = np.random.default_rng(0)
    spoken = [sf.espeak_samples(s) for s in sf.SENTENCES[:4]]
    pieces, starts, total = [], [], 0
    for i in range(count):
        gap = (rng.standard_normal(27 * 16000) * 328).astype(np.int16)
        pieces += [gap, spoken[i % 4]]
        starts.append((total + len(gap)) / 16000)
        total += len(gap) + len(spoken[i % 4])
    return sf.write_wav(path, pieces), starts


def _traced_peak(path: Path) -> tuple[speech.Transcript, int]:
    tracemalloc.start()
    try:
        result = speech.transcribe_wav(path)
        return result, tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()


def test_long_audio_uses_bounded_memory(tmp_path: Path) -> None:
    """3 minutes peak no higher than 1 minute: memory follows the window, not the length.

    numpy reports its buffers to tracemalloc, so audio, STFT and features are all counted.
    Measured: 17 MB for 1, 4 and 8 minutes; one faster-whisper call on the whole file peaks at
    13 MB for 1 minute and 51 MB for 4 (it grows with length).
    """
    sf.require_espeak()
    short, _ = _sparse_wav(tmp_path / "short.wav", 2)
    long, starts = _sparse_wav(tmp_path / "long.wav", 6)
    speech.load_model(speech.default_model() or "")  # load outside the measurement
    _, short_peak = _traced_peak(short)
    result, long_peak = _traced_peak(long)
    assert result.duration > 180 and result.windows >= 3
    assert long_peak < short_peak * 1.2 + 2_000_000, (short_peak, long_peak)
    assert long_peak < 30_000_000
    # Times carried across windows: each sentence is found where it was placed.
    for i, start in enumerate(starts):
        said = set(sf.normalize(sf.SENTENCES[i % 4]))
        near = sf.normalize(
            " ".join(w.word for w in result.words if start - 1 < w.start < start + 5)
        )
        assert len(said & set(near)) >= len(said) / 2, (start, near)
    words = [w for s in (sf.SENTENCES[i % 4] for i in range(6)) for w in sf.normalize(s)]
    assert sf.word_error_rate(words, sf.normalize(result.text)) < MAX_WER
