"""Transcription through ``audio.transcriptions`` of an OpenAI-compatible API.

``verbose_json`` is asked for where the model has it (Whisper models: segments with times);
the ``gpt-4o-*-transcribe`` models only return ``json``, and a server that refuses
``verbose_json`` gets one ``json`` retry. Files over the upload limit are cut with
``wav_chunks`` and the pieces' segments are shifted onto the original timeline.
"""

from __future__ import annotations

import mimetypes
import os
from collections.abc import Iterable
from pathlib import Path
from typing import Any, Protocol

from .base import AnalysisTask, ProviderResult
from .errors import BadRequestError, MalformedResponseError, UnsupportedTaskError
from .wav_chunks import WavChunk, is_wav, iter_wav_chunks, shift_items, wav_duration


class TranscribingProvider(Protocol):
    """What transcription needs of a provider (``TranscribingProvider`` is one); a
    protocol rather than an import, so the client class and this module do not import each other.
    """

    name: str
    max_upload_bytes: int

    def client(self) -> Any: ...

    def metadata(self, model: str, headers: Any, **extra: Any) -> dict[str, Any]: ...

    def cost(
        self, model: str, *, prompt: int = 0, completion: int = 0, seconds: float = 0.0
    ) -> float: ...


def _pieces(provider: TranscribingProvider, path: str) -> Iterable[WavChunk]:
    size = os.path.getsize(path)
    if size <= provider.max_upload_bytes:
        duration = wav_duration(path) if is_wav(path) else 0.0
        return [WavChunk(0, 0.0, duration, Path(path).read_bytes())]
    if not is_wav(path):
        raise BadRequestError(
            provider.name,
            f"{Path(path).name} is {size} B, over {provider.name}'s upload limit of "
            f"{provider.max_upload_bytes} B, and only WAV audio can be split",
        )
    return iter_wav_chunks(path, provider.max_upload_bytes)


def _upload(
    provider: TranscribingProvider, model: str, name: str, data: bytes, fmt: str, lang: Any
) -> tuple[dict[str, Any], str, Any]:
    """One transcription call; returns (body as a dict, format used, response headers)."""
    import openai

    mime = mimetypes.guess_type(name)[0] or "application/octet-stream"
    kwargs: dict[str, Any] = {"file": (name, data, mime), "model": model, "response_format": fmt}
    if fmt == "verbose_json":
        kwargs["timestamp_granularities"] = ["segment"]
    if lang:
        kwargs["language"] = str(lang)
    api = provider.client().audio.transcriptions.with_raw_response
    try:
        raw = api.create(**kwargs)
    except openai.BadRequestError:
        if fmt != "verbose_json":
            raise
        fmt = "json"
        kwargs.pop("timestamp_granularities")
        raw = api.create(**{**kwargs, "response_format": fmt})
    parsed = raw.parse()
    body = parsed.model_dump() if hasattr(parsed, "model_dump") else {"text": str(parsed)}
    if not isinstance(body.get("text"), str):
        raise MalformedResponseError(provider.name, f"{provider.name} returned no transcript text")
    return body, fmt, raw.headers


def _usage_numbers(usage: Any) -> tuple[float, int, int, int]:
    """(seconds, input tokens, output tokens, total tokens) from either usage variant."""
    if not isinstance(usage, dict):
        return 0.0, 0, 0, 0
    if usage.get("type") == "duration":
        return float(usage.get("seconds") or 0.0), 0, 0, 0
    return (
        0.0,
        int(usage.get("input_tokens") or 0),
        int(usage.get("output_tokens") or 0),
        int(usage.get("total_tokens") or 0),
    )


def transcribe_file(
    provider: TranscribingProvider, task: AnalysisTask, model: str
) -> ProviderResult:
    path = task.audio_path
    if not path:
        raise UnsupportedTaskError(provider.name, "transcription needs an audio file (audio_path)")
    fmt = str(task.options.get("response_format") or "")
    if fmt not in ("json", "verbose_json"):
        fmt = "verbose_json" if "whisper" in model.lower() else "json"
    texts: list[str] = []
    segments: list[dict[str, Any]] = []
    words: list[dict[str, Any]] = []
    chunks: list[dict[str, Any]] = []
    request_ids: list[str] = []
    language = None
    seconds = 0.0
    tokens = [0, 0, 0]
    stem = Path(path).stem
    for piece in _pieces(provider, path):
        name = Path(path).name if piece.offset_s == 0 else f"{stem}.part{piece.index}.wav"
        body, fmt, headers = _upload(
            provider, model, name, piece.data, fmt, task.options.get("language")
        )
        used_s, tin, tout, ttotal = _usage_numbers(body.get("usage"))
        duration = float(body.get("duration") or used_s or piece.duration_s)
        seconds += duration
        tokens = [tokens[0] + tin, tokens[1] + tout, tokens[2] + ttotal]
        language = language or body.get("language")
        texts.append(body["text"].strip())
        for seg in shift_items(body.get("segments"), piece.offset_s):
            seg.pop("tokens", None)
            segments.append({**seg, "id": len(segments)})
        words.extend(shift_items(body.get("words"), piece.offset_s))
        chunks.append({"index": piece.index, "offset_s": piece.offset_s, "duration_s": duration})
        if headers.get("x-request-id"):
            request_ids.append(headers["x-request-id"])
    if not seconds:
        seconds = float(task.facts.get("duration_s") or task.facts.get("duration") or 0.0)
    content = " ".join(t for t in texts if t)
    usage = {"audio_seconds": round(seconds, 3)}
    if tokens[2]:
        usage.update(input_tokens=tokens[0], output_tokens=tokens[1], total_tokens=tokens[2])
    content_json: dict[str, Any] = {
        "text": content,
        "language": language,
        "duration": round(seconds, 3),
        "segments": segments,
        "usage": usage,
        "response_format": fmt,
        "chunks": chunks,
    }
    if words:
        content_json["words"] = words
    meta = provider.metadata(model, {}, chunks=len(chunks))
    meta["request_id"] = request_ids[-1] if request_ids else None
    if len(request_ids) > 1:
        meta["request_ids"] = request_ids
    return ProviderResult(
        result_type="transcription",
        provider=provider.name,
        content=content,
        content_json=content_json,
        confidence=None,
        model_name=model,
        token_count=tokens[2] or None,
        cost_usd=provider.cost(model, prompt=tokens[0], completion=tokens[1], seconds=seconds),
        metadata=meta,
    )
