"""One client class for every OpenAI-compatible API (openai, groq, minimax, anthropic, google).

They differ only in data (``ProviderSpec``: endpoint, key variable, models), so one class over
the ``openai`` SDK serves all of them. The SDK's own retries are off (``max_retries=0``): the
chain's ``call_with_retries`` is the only retry layer. The SDK's HTTP client is
``net.clients.sdk_http_client``: ``timeout_s`` is the total time of one call (headers and the
whole body, however slowly a server sends it) and ``max_response_bytes`` caps the answer. SDK
errors become our error tree here, so nothing above this module knows about ``openai``
exceptions. The SDK is imported lazily.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Mapping
from typing import Any
from urllib.parse import urlsplit

from .base import AnalysisTask, ProviderResult
from .errors import MalformedResponseError, ProviderError, UnsupportedTaskError, mapped_errors
from .openai_errors import map_openai_error, minimax_status_error
from .pricing import PriceOverrides, audio_cost_bound, chat_cost_bound, cost_for, is_priced
from .prompts import image_paths_for, strip_think, summary_messages, vision_messages
from .specs import MEDIA_FOR_RESULT, OPENAI_COMPATIBLE_SPECS, ProviderSpec
from .transcribe import transcribe_file

__all__ = ["OPENAI_COMPATIBLE_SPECS", "OpenAICompatibleProvider", "ProviderSpec"]


class OpenAICompatibleProvider:
    """``Provider`` for one spec; safe to share between threads (the SDK client is)."""

    paid = True

    def __init__(
        self,
        spec: ProviderSpec,
        *,
        api_key: str,
        base_url: str | None = None,
        models: Mapping[str, str] | None = None,
        timeout_s: float = 120.0,
        max_response_bytes: int = 64 * 1024**2,
        price_overrides: PriceOverrides | None = None,
        max_upload_bytes: int | None = None,
        max_images: int = 8,
        max_output_tokens: int = 2048,
        summary_budget_tokens: int = 12_000,
    ) -> None:
        if not api_key:
            raise ValueError(f"{spec.key_env} is empty; the {spec.name} provider needs a key")
        self.spec = spec.with_models(models)
        self.name = spec.name
        self.base_url = base_url or spec.base_url
        self.timeout_s = timeout_s
        self.max_response_bytes = max_response_bytes
        self.price_overrides = price_overrides
        self.max_upload_bytes = max_upload_bytes or spec.max_upload_bytes
        self.max_images = max_images
        self.max_output_tokens = max_output_tokens
        self.summary_budget_tokens = summary_budget_tokens
        self._api_key = api_key  # never logged, returned or put in a repr
        self._client: Any = None
        self._lock = threading.Lock()

    def __repr__(self) -> str:
        return f"OpenAICompatibleProvider({self.name!r}, base_url={self.base_url!r})"

    @property
    def host(self) -> str:
        return urlsplit(self.base_url).hostname or self.base_url

    def supports(self, result_type: str, media_type: str) -> bool:
        return result_type in self.spec.models and media_type in MEDIA_FOR_RESULT.get(
            result_type, frozenset()
        )

    def model_for(self, result_type: str) -> str | None:
        return self.spec.models.get(result_type)

    def client(self) -> Any:
        """The ``openai.OpenAI`` client, built on first use (importing openai costs ~0.5 s)."""
        with self._lock:
            if self._client is None:
                import openai

                from media_analysis_dagster.net.clients import sdk_http_client

                connect_s = min(10.0, self.timeout_s)
                http: Any = sdk_http_client(  # openai 3 types httpx2.Client, accepts httpx's
                    deadline_s=self.timeout_s,
                    connect_timeout_s=connect_s,
                    max_response_bytes=self.max_response_bytes,
                )
                self._client = openai.OpenAI(
                    api_key=self._api_key,
                    base_url=self.base_url,
                    timeout=openai.Timeout(self.timeout_s, connect=connect_s),
                    max_retries=0,
                    http_client=http,
                )
            return self._client

    def close(self) -> None:
        with self._lock:
            if self._client is not None:
                self._client.close()
                self._client = None

    def analyze(self, task: AnalysisTask) -> ProviderResult:
        if not self.supports(task.result_type, task.media_type):
            raise UnsupportedTaskError(
                self.name, f"{self.name} does not do {task.result_type} for {task.media_type}"
            )
        model = self.spec.models[task.result_type]
        started = time.monotonic()
        with mapped_errors(self.map_error):
            if task.result_type == "transcription":
                result = transcribe_file(self, task, model)
            elif task.result_type == "vision_analysis":
                paths = image_paths_for(task)[: self.max_images]
                if not paths:
                    raise UnsupportedTaskError(
                        self.name, "vision_analysis needs at least one image"
                    )
                result = self._chat(task, model, vision_messages(task, paths), images=len(paths))
            else:
                messages = summary_messages(task, self.summary_budget_tokens)
                result = self._chat(task, model, messages, images=0)
        result.processing_time_ms = int((time.monotonic() - started) * 1000)
        return result

    def map_error(self, exc: BaseException) -> ProviderError | None:
        """Our error for an SDK/IO exception, or None for a bug that should surface as is."""
        return map_openai_error(exc, self.name, self.spec.key_env, self.host, self._api_key)

    def cost(
        self, model: str, *, prompt: int = 0, completion: int = 0, seconds: float = 0.0
    ) -> float:
        return cost_for(
            self.name,
            model,
            prompt_tokens=prompt,
            completion_tokens=completion,
            audio_seconds=seconds,
            overrides=self.price_overrides,
        )

    def estimate_cost(self, task: AnalysisTask) -> float | None:
        """The most this call can cost, which the budget cap reserves before making it: the
        same messages and images ``analyze`` sends, at ``pricing``'s upper bounds, plus every
        output token asked for; None when the model has no price or the audio's length is
        unknown (the cap then cannot bound the call)."""
        model = self.spec.models.get(task.result_type)
        if model is None:
            return None
        if task.result_type == "transcription":
            return audio_cost_bound(
                self.name,
                model,
                task.audio_path,
                task.facts,
                max_piece_bytes=self.max_upload_bytes,
                overrides=self.price_overrides,
            )
        if not is_priced(self.name, model, self.price_overrides):
            return None
        paths: tuple[str, ...] = ()
        if task.result_type == "vision_analysis":
            paths = image_paths_for(task)[: self.max_images]
            messages = vision_messages(task, paths)
        else:
            messages = summary_messages(task, self.summary_budget_tokens)
        max_output = int(task.options.get("max_output_tokens", 0)) or self.max_output_tokens
        return chat_cost_bound(
            self.name,
            model,
            messages,
            paths,
            max_output_tokens=max_output,
            overrides=self.price_overrides,
        )

    def _chat(
        self, task: AnalysisTask, model: str, messages: list[dict[str, Any]], *, images: int
    ) -> ProviderResult:
        options = {self.spec.max_tokens_param: int(task.options.get("max_output_tokens", 0))}
        if not options[self.spec.max_tokens_param]:
            options[self.spec.max_tokens_param] = self.max_output_tokens
        raw = self.client().chat.completions.with_raw_response.create(
            model=model, messages=messages, **options
        )
        completion = raw.parse()
        status_error = minimax_status_error(completion, self.name, self.spec.key_env)
        if status_error is not None:
            raise status_error
        choices = getattr(completion, "choices", None) or []
        message = getattr(choices[0], "message", None) if choices else None
        content = getattr(message, "content", None)
        if not isinstance(content, str):
            raise MalformedResponseError(
                self.name, f"{self.name} returned a chat completion without message content"
            )
        if self.spec.strip_think:
            content = strip_think(content)
        usage = completion.usage.model_dump() if getattr(completion, "usage", None) else None
        prompt_tokens = int((usage or {}).get("prompt_tokens") or 0)
        completion_tokens = int((usage or {}).get("completion_tokens") or 0)
        total = (usage or {}).get("total_tokens")
        return ProviderResult(
            result_type=task.result_type,
            provider=self.name,
            content=content,
            content_json={
                "usage": usage,
                "finish_reason": getattr(choices[0], "finish_reason", None),
                "images_sent": images,
                "response_model": getattr(completion, "model", None),
            },
            confidence=None,
            model_name=model,
            token_count=int(total) if total is not None else None,
            cost_usd=self.cost(model, prompt=prompt_tokens, completion=completion_tokens),
            metadata=self.metadata(model, raw.headers, response_id=getattr(completion, "id", None)),
        )

    def metadata(self, model: str, headers: Mapping[str, str], **extra: Any) -> dict[str, Any]:
        """Facts about the call worth keeping; built from an allow-list, so no auth header."""
        request_id = headers.get("x-request-id") or headers.get("request-id")
        data = {
            "request_id": request_id,
            "api_host": self.host,
            "price_known": is_priced(self.name, model, self.price_overrides),
        }
        data.update({k: v for k, v in extra.items() if v is not None})
        return data
