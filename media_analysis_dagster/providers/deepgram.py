"""Deepgram pre-recorded transcription over ``deepgram-sdk`` (v7, Fern-generated client).

The v7 call is ``client.listen.v1.media.transcribe_file(request=<bytes>, model=…, …)``,
``POST {environment.base}/v1/listen``; the base URL is moved with a
``DeepgramClientEnvironment`` (tests and ``DEEPGRAM_BASE_URL``). The SDK's retries are off
(``max_retries=0``) so only the chain retries. Its HTTP client is
``net.clients.sdk_http_client``: ``timeout_s`` is the total time of one call and
``max_response_bytes`` caps the answer, however a server sends it. Deepgram returns word
timings, utterances and paragraphs in one call, which is why it leads the transcription chain.
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Mapping
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from media_analysis_dagster.net.backoff import parse_retry_after

from .base import AnalysisTask, ProviderResult
from .errors import (
    BadRequestError,
    MalformedResponseError,
    ProviderConnectionError,
    ProviderError,
    ProviderTimeoutError,
    UnsupportedTaskError,
    error_for_status,
    mapped_errors,
    scrub,
)
from .pricing import PriceOverrides, audio_cost_bound, cost_for, is_priced
from .specs import DEEPGRAM, MEDIA_FOR_RESULT, ProviderSpec

# Option name -> default. ``detect_language`` is dropped when a language is given.
DEFAULT_OPTIONS: dict[str, Any] = {
    "smart_format": True,
    "utterances": True,
    "paragraphs": True,
    "diarize": False,
    "detect_language": True,
    "language": None,
}


def request_options(options: Mapping[str, Any], default_model: str) -> dict[str, Any]:
    """Deepgram query options from ``task.options``.

    Top-level keys (``diarize``, ``language`` …) apply; a nested ``options["deepgram"]`` dict
    wins, and is the only place besides ``deepgram_model`` that sets the model, because a bare
    ``model`` option may name another provider's model after a fallback.
    """
    raw = options.get("deepgram")
    nested: Mapping[str, Any] = raw if isinstance(raw, Mapping) else {}
    merged = {k: nested.get(k, options.get(k, v)) for k, v in DEFAULT_OPTIONS.items()}
    model = nested.get("model") or options.get("deepgram_model") or default_model
    out: dict[str, Any] = {"model": str(model)}
    for key, value in merged.items():
        if key == "language":
            if value:
                out["language"] = str(value)
        elif key == "detect_language" and merged.get("language"):
            continue
        else:
            out[key] = bool(value)
    return out


def _detail(body: Any) -> str:
    if isinstance(body, dict):
        for key in ("err_msg", "message", "details", "error"):
            if isinstance(body.get(key), str):
                return body[key]
        return json.dumps(body)[:300]
    return str(body or "")


class DeepgramProvider:
    """``Provider`` for Deepgram; the client is built on first use and shared by threads."""

    name = "deepgram"
    paid = True

    def __init__(
        self,
        *,
        api_key: str,
        base_url: str | None = None,
        model: str | None = None,
        timeout_s: float = 120.0,
        max_response_bytes: int = 64 * 1024**2,
        price_overrides: PriceOverrides | None = None,
        spec: ProviderSpec = DEEPGRAM,
    ) -> None:
        if not api_key:
            raise ValueError(f"{spec.key_env} is empty; the deepgram provider needs a key")
        self.spec = spec.with_models({"transcription": model} if model else None)
        self.base_url = (base_url or spec.base_url).rstrip("/")
        self.timeout_s = timeout_s
        self.max_response_bytes = max_response_bytes
        self.price_overrides = price_overrides
        self._api_key = api_key  # never logged, returned or put in a repr
        self._client: Any = None
        self._http: Any = None
        self._lock = threading.Lock()

    def __repr__(self) -> str:
        return f"DeepgramProvider(base_url={self.base_url!r})"

    def supports(self, result_type: str, media_type: str) -> bool:
        return result_type == "transcription" and media_type in MEDIA_FOR_RESULT[result_type]

    def model_for(self, result_type: str) -> str | None:
        return self.spec.models.get(result_type)

    def client(self) -> Any:
        with self._lock:
            if self._client is None:
                from deepgram import DeepgramClient
                from deepgram.environment import DeepgramClientEnvironment

                from media_analysis_dagster.net.clients import sdk_http_client

                parts = urlsplit(self.base_url)
                ws = parts._replace(scheme="wss" if parts.scheme == "https" else "ws").geturl()
                env = DeepgramClientEnvironment(
                    base=self.base_url, production=ws, agent=ws, agent_rest=self.base_url
                )
                # Our own HTTP client: one deadline per call, a byte cap, and ``close()`` can
                # release its connections.
                self._http = sdk_http_client(
                    deadline_s=self.timeout_s,
                    connect_timeout_s=min(10.0, self.timeout_s),
                    max_response_bytes=self.max_response_bytes,
                )
                self._client = DeepgramClient(
                    api_key=self._api_key,
                    environment=env,
                    timeout=self.timeout_s,
                    max_retries=0,
                    httpx_client=self._http,
                )
            return self._client

    def close(self) -> None:
        """Release the HTTP connections (the resource's teardown calls this)."""
        with self._lock:
            if self._http is not None:
                self._http.close()
            self._http = self._client = None

    def analyze(self, task: AnalysisTask) -> ProviderResult:
        if not self.supports(task.result_type, task.media_type):
            raise UnsupportedTaskError(
                self.name, f"deepgram does not do {task.result_type} for {task.media_type}"
            )
        if not task.audio_path:
            raise UnsupportedTaskError(self.name, "transcription needs an audio file (audio_path)")
        options = request_options(task.options, self.spec.models["transcription"])
        started = time.monotonic()
        with mapped_errors(self.map_error):
            audio = Path(task.audio_path).read_bytes()
            raw = self.client().listen.v1.media.with_raw_response.transcribe_file(
                request=audio,
                request_options={"timeout": self.timeout_s, "max_retries": 0},
                **options,
            )
            body = raw.data.model_dump(mode="json", exclude_none=True)
            result = self._result(body, options, raw.headers)
        result.processing_time_ms = int((time.monotonic() - started) * 1000)
        return result

    def estimate_cost(self, task: AnalysisTask) -> float | None:
        """The most this call can cost (the audio's length at the model's per-minute price, a
        second added for rounding), which the budget cap reserves before making it; None when
        the model has no price or the length is unknown."""
        model = request_options(task.options, self.spec.models["transcription"])["model"]
        return audio_cost_bound(
            self.name, model, task.audio_path, task.facts, overrides=self.price_overrides
        )

    def map_error(self, exc: BaseException) -> ProviderError | None:
        import httpx
        import pydantic
        from deepgram.core.api_error import ApiError
        from deepgram.core.parse_error import ParsingError

        name, host = self.name, urlsplit(self.base_url).hostname
        if isinstance(exc, ApiError):
            detail = scrub(_detail(exc.body), self._api_key)
            return error_for_status(
                name,
                exc.status_code or 0,
                detail,
                key_env=self.spec.key_env,
                retry_after=parse_retry_after(exc.headers),
            )
        if isinstance(exc, ParsingError | json.JSONDecodeError | pydantic.ValidationError):
            return MalformedResponseError(name, "deepgram returned a response we could not read")
        if isinstance(exc, httpx.TimeoutException):
            return ProviderTimeoutError(name, f"deepgram did not answer in time ({host})")
        if isinstance(exc, httpx.TransportError):
            why = scrub(str(exc) or type(exc).__name__, self._api_key, limit=160)
            return ProviderConnectionError(name, f"could not reach deepgram at {host}: {why}")
        if isinstance(exc, OSError):
            return BadRequestError(name, f"could not read the audio for deepgram: {exc}")
        return None

    def _result(
        self, body: dict[str, Any], options: dict[str, Any], headers: Mapping[str, str]
    ) -> ProviderResult:
        try:
            meta = body["metadata"]
            channel = body["results"]["channels"][0]
            alt = channel["alternatives"][0]
        except (KeyError, IndexError, TypeError):
            raise MalformedResponseError(self.name, "deepgram returned no transcript") from None
        words = [
            {k: w[k] for k in ("word", "start", "end", "confidence", "speaker") if k in w}
            for w in alt.get("words", [])
        ]
        utterances = [
            {k: u[k] for k in ("start", "end", "confidence", "speaker", "transcript") if k in u}
            for u in body["results"].get("utterances", [])
        ]
        paragraphs = [
            {
                **{k: p[k] for k in ("start", "end", "speaker", "num_words") if k in p},
                "text": " ".join(s.get("text", "") for s in p.get("sentences", [])),
            }
            for p in (alt.get("paragraphs") or {}).get("paragraphs", [])
        ]
        duration = float(meta.get("duration") or 0.0)
        model = options["model"]
        return ProviderResult(
            result_type="transcription",
            provider=self.name,
            content=alt.get("transcript", ""),
            content_json={
                "words": words,
                "utterances": utterances,
                "paragraphs": paragraphs,
                "detected_language": channel.get("detected_language"),
                "duration": duration,
                "options": options,
            },
            confidence=alt.get("confidence"),
            model_name=model,
            token_count=None,
            cost_usd=cost_for(
                self.name, model, audio_seconds=duration, overrides=self.price_overrides
            ),
            metadata={
                "request_id": meta.get("request_id") or headers.get("dg-request-id"),
                "api_host": urlsplit(self.base_url).hostname,
                "models": meta.get("models"),
                "price_known": is_priced(self.name, model, self.price_overrides),
            },
        )
