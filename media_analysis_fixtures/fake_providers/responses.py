"""Success bodies in each provider's wire format, computed from what the request sent.

Deterministic and derived from the input (image count, WAV duration) so tests can check that the
client sent what it should and put the answer back together correctly (chunk stitching).
"""

from __future__ import annotations

import hashlib
import io
import json
import math
import time
import uuid
import wave
from typing import Any

FAKE_MODEL_UUID = "1abfe86b-e047-4eed-858a-35e5625b41ee"
_WORDS = ("fake", "transcript", "word")


def wav_seconds(data: bytes) -> float | None:
    try:
        with wave.open(io.BytesIO(data), "rb") as wav:
            return wav.getnframes() / float(wav.getframerate())
    except (wave.Error, EOFError):
        return None


def _count_images(messages: list[dict[str, Any]]) -> tuple[int, int]:
    """(image parts, characters of text) over all messages."""
    images = chars = 0
    for message in messages:
        content = message.get("content")
        if isinstance(content, str):
            chars += len(content)
            continue
        for part in content or []:
            if part.get("type") == "image_url":
                images += 1
            elif part.get("type") == "text":
                chars += len(part.get("text", ""))
    return images, chars


def chat_completion(provider: str, body: dict[str, Any], serial: int) -> dict[str, Any]:
    model = body.get("model", "unknown")
    images, chars = _count_images(body.get("messages") or [])
    if images:
        answer = f"Fake vision analysis of {images} image(s) by {model}: a test pattern is shown."
    else:
        answer = f"Fake summary by {model} from {chars} characters of facts."
    content = answer
    if provider == "minimax":
        content = (
            "<think>\nThe user wants an answer; I will reason here first.\n</think>\n" + answer
        )
    prompt_tokens = chars // 4 + 85 * images
    completion_tokens = len(content.split())
    return {
        "id": f"chatcmpl-fake-{serial}",
        "object": "chat.completion",
        "created": int(time.time()),
        "model": model,
        "choices": [
            {
                "index": 0,
                "message": {"role": "assistant", "content": content},
                "finish_reason": "stop",
            }
        ],
        "usage": {
            "prompt_tokens": prompt_tokens,
            "completion_tokens": completion_tokens,
            "total_tokens": prompt_tokens + completion_tokens,
        },
    }


def transcription(
    form: dict[str, Any], audio: bytes, serial: int
) -> tuple[int, dict[str, Any] | str]:
    """(status, body) for ``POST /audio/transcriptions``."""
    model = str(form.get("model", ""))
    fmt = str(form.get("response_format", "json"))
    whisper = "whisper" in model
    if fmt == "verbose_json" and not whisper:
        msg = f"response_format 'verbose_json' is not compatible with model '{model}'"
        return 400, {"error": {"message": msg, "type": "invalid_request_error", "code": None}}
    duration = wav_seconds(audio)
    if duration is None:
        return 400, {"error": {"message": "Invalid file format.", "type": "invalid_request_error"}}
    text = f"fake transcript of {duration:.2f} seconds"
    if fmt == "text":
        return 200, text
    if whisper:
        usage: dict[str, Any] = {"type": "duration", "seconds": math.ceil(duration)}
    else:
        tin, tout = int(duration * 10), len(text.split())
        usage = {"type": "tokens", "input_tokens": tin, "output_tokens": tout}
        usage["total_tokens"] = tin + tout
    if fmt != "verbose_json":
        return 200, {"text": text, "usage": usage}
    segments = [
        {
            "id": i,
            "seek": 0,
            "start": float(i),
            "end": round(min(i + 1.0, duration), 3),
            "text": f" fake transcript segment {i}",
            "tokens": [50364, 1000 + i],
            "temperature": 0.0,
            "avg_logprob": -0.2,
            "compression_ratio": 1.1,
            "no_speech_prob": 0.01,
        }
        for i in range(math.ceil(duration))
    ]
    body = {
        "task": "transcribe",
        "language": "english",
        "duration": round(duration, 3),
        "text": text,
        "segments": segments,
        "usage": usage,
    }
    return 200, body


def deepgram_listen(query: dict[str, str], audio: bytes) -> tuple[int, dict[str, Any]]:
    """(status, body) for Deepgram ``POST /v1/listen``, honouring the feature flags."""
    duration = wav_seconds(audio)
    if duration is None:
        msg = "Bad Request: failed to process audio: corrupt or unsupported data"
        return 400, {"err_code": "Bad Request", "err_msg": msg, "request_id": str(uuid.uuid4())}
    flag = {k: query.get(k) == "true" for k in query}
    words = []
    for i in range(int(duration / 0.5)):
        word = {
            "word": _WORDS[i % 3],
            "start": i * 0.5,
            "end": i * 0.5 + 0.4,
            "confidence": 0.98,
            "punctuated_word": _WORDS[i % 3].capitalize() if i == 0 else _WORDS[i % 3],
        }
        if flag.get("diarize"):
            word["speaker"] = int(i * 0.5 // 2) % 2
            word["speaker_confidence"] = 0.9
        words.append(word)
    transcript = " ".join(w["word"] for w in words)
    alt: dict[str, Any] = {"transcript": transcript, "confidence": 0.97, "words": words}
    if flag.get("paragraphs") and words:
        sentence = {"text": transcript, "start": words[0]["start"], "end": words[-1]["end"]}
        alt["paragraphs"] = {
            "transcript": "\n" + transcript,
            "paragraphs": [
                {
                    "sentences": [sentence],
                    "speaker": 0,
                    "num_words": len(words),
                    "start": sentence["start"],
                    "end": sentence["end"],
                }
            ],
        }
    channel: dict[str, Any] = {"alternatives": [alt]}
    if flag.get("detect_language"):
        channel["detected_language"] = "en"
        channel["language_confidence"] = 0.99
    results: dict[str, Any] = {"channels": [channel]}
    if flag.get("utterances"):
        results["utterances"] = [
            {
                "start": group[0]["start"],
                "end": group[-1]["end"],
                "confidence": 0.97,
                "channel": 0,
                "transcript": " ".join(w["word"] for w in group),
                "words": group,
                "speaker": group[0].get("speaker", 0),
                "id": str(uuid.uuid5(uuid.NAMESPACE_URL, f"utt-{n}")),
            }
            for n, group in enumerate(words[i : i + 4] for i in range(0, len(words), 4))
        ]
    metadata = {
        "transaction_key": "deprecated",
        "request_id": str(uuid.uuid4()),
        "sha256": hashlib.sha256(audio).hexdigest(),
        "created": "2026-01-01T00:00:00.000Z",
        "duration": round(duration, 3),
        "channels": 1,
        "models": [FAKE_MODEL_UUID],
        "model_info": {
            FAKE_MODEL_UUID: {
                "name": f"general-{query.get('model', 'nova-3')}",
                "version": "2025-01-01.0",
                "arch": query.get("model", "nova-3"),
            }
        },
    }
    return 200, {"metadata": metadata, "results": results}


def openai_error(status: int, message: str) -> dict[str, Any]:
    kind = {401: "invalid_request_error", 429: "rate_limit_exceeded"}.get(status, "server_error")
    if 400 <= status < 500 and status not in (401, 429):
        kind = "invalid_request_error"
    return {"error": {"message": message, "type": kind, "param": None, "code": None}}


def deepgram_error(status: int, message: str) -> dict[str, Any]:
    return {"err_code": f"HTTP_{status}", "err_msg": message, "request_id": str(uuid.uuid4())}


def dumps(body: Any) -> bytes:
    return body.encode() if isinstance(body, str) else json.dumps(body).encode()
