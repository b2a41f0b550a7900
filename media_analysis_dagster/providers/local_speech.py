"""Offline transcription for the ``internal`` provider: faster-whisper on the CPU, no key.

It is recorded as provider ``internal`` (the seed's provider CHECK has no other slot) with
``model_name`` naming the model (``faster-whisper/tiny.en``), costs nothing, and comes last in
the transcription chain, after the paid providers. ``content_json`` uses the keys the
OpenAI-compatible path writes (``text``, ``language``, ``duration``, ``segments`` with
``id``/``start``/``end``/``text``/``avg_logprob``/``no_speech_prob``, ``words`` with
``word``/``start``/``end``, ``usage.audio_seconds``) so the summary reads any transcript the
same way, and adds ``probability`` per word, ``srt`` and ``vtt``.

It also says whether the words can be trusted (``reliable``, with ``reliability_reason``):
an English-only model on speech in another language keeps no words, no subtitles and a low
``confidence``, and names the language where it can (``media/speech/reliability.py``);
``speech_seconds`` is what Silero VAD heard, ``dropped_segments`` counts the lines judged
invented, by reason (``media/speech/hallucinations.py``).

:func:`subtitle_files` gives ``{"srt": …, "vtt": …}`` for a transcription result of *any*
provider (ours carries them; others' are built from their timed segments or utterances), for
the op that stores them as ``media_files`` rows.
"""

from __future__ import annotations

import time
from types import SimpleNamespace
from typing import Any

from ..media.errors import MediaError
from ..media.speech import (
    SpeechModelError,
    default_model,
    model_label,
    to_srt,
    to_vtt,
    transcribe_wav,
)
from .base import AnalysisTask, ProviderResult
from .chain import OnProgress, work_progress
from .errors import BadRequestError, UnsupportedTaskError
from .specs import MEDIA_FOR_RESULT

CONFIDENCE_METHOD = "mean word probability weighted by word duration"
#: How every transcript is decoded (``media/speech/transcribe.py`` says why): the same input
#: gives the same words.
DECODING = {
    "vad": "silero",
    "temperature": 0.0,
    "temperature_fallback": False,
    "condition_on_previous_text": False,
}


class LocalSpeechProvider:
    """``Provider`` for ``transcription`` of audio and video, offline.

    ``model`` is a faster-whisper model name or directory (None: the bundled ``tiny.en``);
    ``max_duration`` (seconds) refuses longer audio before any work is done.
    """

    name = "internal"
    paid = False

    def __init__(
        self,
        *,
        model: str | None = None,
        compute_type: str = "int8",
        cpu_threads: int = 0,
        beam_size: int = 5,
        max_duration: float | None = None,
        allow_download: bool = True,
    ) -> None:
        self.model = model or default_model()
        self.compute_type = compute_type
        self.cpu_threads = cpu_threads
        self.beam_size = beam_size
        self.max_duration = max_duration
        self.allow_download = allow_download

    def __repr__(self) -> str:
        return f"LocalSpeechProvider(model={self.model!r}, compute_type={self.compute_type!r})"

    @property
    def available(self) -> bool:
        """False when no model is configured and the bundled one is not installed."""
        return bool(self.model)

    def supports(self, result_type: str, media_type: str) -> bool:
        return (
            self.available
            and result_type == "transcription"
            and media_type in MEDIA_FOR_RESULT["transcription"]
        )

    def estimate_cost(self, task: AnalysisTask) -> float | None:
        return 0.0  # offline

    def close(self) -> None:
        """A loaded model stays cached for the process (``media.speech.unload_models``)."""

    def model_for(self, result_type: str) -> str | None:
        if result_type != "transcription" or not self.model:
            return None
        return model_label(self.model)

    def analyze(
        self, task: AnalysisTask, *, on_progress: OnProgress | None = None
    ) -> ProviderResult:
        """Transcribe ``task.audio_path``; ``on_progress(seconds done, seconds in all)`` hears
        how far it is (in a watched chain, the chain's `work_progress` by default)."""
        if task.result_type != "transcription" or not self.available:
            raise UnsupportedTaskError(
                self.name, f"local speech-to-text does not do {task.result_type}"
            )
        if not task.audio_path:
            raise UnsupportedTaskError(self.name, "transcription needs an audio file (audio_path)")
        language = task.options.get("language")
        started = time.monotonic()
        try:
            transcript = transcribe_wav(
                task.audio_path,
                model=self.model,
                language=str(language) if language else None,
                compute_type=self.compute_type,
                cpu_threads=self.cpu_threads,
                beam_size=self.beam_size,
                max_duration=self.max_duration,
                allow_download=self.allow_download,
                on_progress=on_progress or work_progress(),
            )
        except SpeechModelError as exc:
            raise UnsupportedTaskError(self.name, str(exc), hint=exc.hint) from exc
        except MediaError as exc:
            raise BadRequestError(self.name, str(exc), hint=exc.hint) from exc
        elapsed_ms = int((time.monotonic() - started) * 1000)
        return ProviderResult(
            result_type="transcription",
            provider=self.name,
            content=transcript.text,
            content_json=_content_json(transcript),
            confidence=transcript.confidence,
            model_name=transcript.model_name,
            token_count=None,
            cost_usd=0.0,
            processing_time_ms=elapsed_ms,
            metadata={
                "engine": "faster-whisper",
                "device": "cpu",
                "compute_type": self.compute_type,
                "beam_size": self.beam_size,
                "real_time_factor": transcript.real_time_factor,
                "load_time_s": transcript.load_time_s,
                "windows": transcript.windows,
                "confidence_method": CONFIDENCE_METHOD,
                **DECODING,
            },
        )


def _content_json(transcript: Any) -> dict[str, Any]:
    data: dict[str, Any] = {
        "text": transcript.text,
        "language": transcript.language or None,
        "language_probability": transcript.language_probability,
        "reliable": transcript.reliable,
        "reliability_reason": transcript.reliability_reason,
        "english_only_model": transcript.english_only,
        "duration": transcript.duration,
        "speech_seconds": transcript.speech_s,
        "segments": [
            {
                "id": s.id,
                "start": s.start,
                "end": s.end,
                "text": s.text,
                "avg_logprob": s.avg_logprob,
                "no_speech_prob": s.no_speech_prob,
                "compression_ratio": s.compression_ratio,
            }
            for s in transcript.segments
        ],
        "words": [
            {
                "word": w.word,
                "start": w.start,
                "end": w.end,
                "probability": w.probability,
                "segment": w.segment,
            }
            for w in transcript.words
        ],
        "dropped_segments": dict(transcript.dropped),
        "withheld_segments": transcript.withheld_segments,
        "text_language": transcript.text_language,
        "usage": {"audio_seconds": transcript.duration},
        "confidence_method": CONFIDENCE_METHOD,
    }
    if transcript.reliable:
        data["srt"], data["vtt"] = to_srt(transcript), to_vtt(transcript)
    return data


def subtitle_files(result: ProviderResult) -> dict[str, str]:
    """``{"srt": text, "vtt": text}`` for a transcription result, or ``{}`` without timings
    or when the result says its words are not reliable (no invented line becomes a subtitle).

    Ours carries both; an OpenAI-style result is cued from ``segments``, a Deepgram one from
    ``utterances`` (else ``paragraphs``), one cue group per timed item.
    """
    data = result.content_json or {}
    if result.result_type != "transcription" or data.get("reliable") is False:
        return {}
    if isinstance(data.get("srt"), str) and isinstance(data.get("vtt"), str):
        return {"srt": data["srt"], "vtt": data["vtt"]}
    items = data.get("segments") or data.get("utterances") or data.get("paragraphs") or []
    segments: list[SimpleNamespace] = []
    for item in items:
        text = item.get("text") or item.get("transcript") or ""
        start, end = item.get("start"), item.get("end")
        if isinstance(start, int | float) and isinstance(end, int | float) and text.strip():
            segments.append(
                SimpleNamespace(
                    id=len(segments), start=float(start), end=float(end), text=text.strip()
                )
            )
    if not segments:
        return {}
    timed = SimpleNamespace(segments=segments, words=[])
    return {"srt": to_srt(timed), "vtt": to_vtt(timed)}
