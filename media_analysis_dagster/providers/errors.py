"""Errors raised by providers.

The fallback chain only needs to know one thing about a failure: is it worth trying again?
So the tree splits on that first. Every message is one readable sentence (it can end up in
``media_analysis_requests.error_message``) and never contains an API key::

    ProviderError                     provider, message, hint, status_code
    ├── TransientProviderError        retried with backoff, then the next provider is tried
    │   ├── ProviderTimeoutError      connect/read timeout
    │   ├── ProviderConnectionError   refused, reset, dropped without a response
    │   ├── RateLimitedError          HTTP 429; ``retry_after`` seconds from Retry-After
    │   ├── ProviderServerError       HTTP 5xx (and 408/409)
    │   └── MalformedResponseError    a 2xx body that is not the expected JSON
    └── PermanentProviderError        never retried: the same call would fail the same way
        ├── AuthenticationError       HTTP 401/403; names the key variable to fix
        ├── BadRequestError           HTTP 400/413/422 and other 4xx
        ├── NotFoundError             HTTP 404: unknown model or wrong base URL
        ├── UnsupportedTaskError      the provider cannot do this task, or the inputs are missing
        └── BudgetExceededError       the request's cost cap was reached before the call
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any


class ProviderError(Exception):
    """Base class; ``hint`` tells an operator what to do about it."""

    hint: str = ""

    def __init__(
        self,
        provider: str,
        message: str,
        *,
        hint: str | None = None,
        status_code: int | None = None,
    ) -> None:
        super().__init__(message)
        self.provider = provider
        self.message = message
        self.status_code = status_code
        if hint is not None:
            self.hint = hint

    @property
    def transient(self) -> bool:
        return isinstance(self, TransientProviderError)

    def to_dict(self) -> dict[str, Any]:
        """JSON-safe form for ``error_details`` and ``provider_chain``."""
        return {
            "error_type": type(self).__name__,
            "provider": self.provider,
            "message": self.message,
            "hint": self.hint,
            "status_code": self.status_code,
            "transient": self.transient,
        }


class TransientProviderError(ProviderError):
    hint = "The provider is temporarily unavailable; the call is retried and then falls back."
    retry_after: float | None = None


class ProviderTimeoutError(TransientProviderError):
    hint = "The provider did not answer in time; raise the provider timeout or retry later."


class ProviderConnectionError(TransientProviderError):
    hint = "Could not reach the provider; check the network and the <PROVIDER>_BASE_URL variable."


class RateLimitedError(TransientProviderError):
    hint = "The provider rate-limited this key; wait, lower concurrency or raise the quota."

    def __init__(
        self,
        provider: str,
        message: str,
        *,
        retry_after: float | None = None,
        hint: str | None = None,
        status_code: int | None = 429,
    ) -> None:
        super().__init__(provider, message, hint=hint, status_code=status_code)
        self.retry_after = retry_after

    def to_dict(self) -> dict[str, Any]:
        return {**super().to_dict(), "retry_after": self.retry_after}


class ProviderServerError(TransientProviderError):
    hint = "The provider had an internal error; it is retried and then another provider is used."


class MalformedResponseError(TransientProviderError):
    hint = "The provider answered with a body we could not read; usually a passing glitch."


class PermanentProviderError(ProviderError):
    hint = "Retrying will not help; fix the request or the configuration."


class AuthenticationError(PermanentProviderError):
    """Built from the key's variable name so the message says exactly what to fix."""

    def __init__(self, provider: str, key_env: str, *, status_code: int | None = 401) -> None:
        code = f" (HTTP {status_code})" if status_code else ""
        super().__init__(
            provider,
            f"{key_env} was rejected by {provider}{code}; set a valid key",
            hint=f"Set {key_env} to a valid {provider} API key with access to the model.",
            status_code=status_code,
        )
        self.key_env = key_env


class BadRequestError(PermanentProviderError):
    hint = "The provider rejected the request; check the model name, prompt and media size."


class NotFoundError(PermanentProviderError):
    hint = "The model or endpoint does not exist; check the model name and <PROVIDER>_BASE_URL."


class UnsupportedTaskError(PermanentProviderError):
    hint = "Use a provider that supports this result type and media, or supply the inputs."


class BudgetExceededError(PermanentProviderError):
    hint = "Raise the request's cost cap or use a cheaper provider."


def error_for_status(
    provider: str,
    status_code: int,
    detail: str,
    *,
    key_env: str,
    retry_after: float | None = None,
) -> ProviderError:
    """Map an HTTP status to our tree; shared by every provider so they classify alike."""
    detail = detail.strip() or "no details"
    message = f"{provider} returned HTTP {status_code}: {detail}"
    if status_code in (401, 403):
        return AuthenticationError(provider, key_env, status_code=status_code)
    if status_code == 429:
        return RateLimitedError(provider, message, retry_after=retry_after)
    if status_code >= 500 or status_code in (408, 409):
        return ProviderServerError(provider, message, status_code=status_code)
    if status_code == 404:
        return NotFoundError(provider, message, status_code=status_code)
    if 200 <= status_code < 300:
        unreadable = f"{provider} returned an unreadable body (HTTP {status_code})"
        return MalformedResponseError(provider, unreadable, status_code=status_code)
    return BadRequestError(provider, message, status_code=status_code)


def scrub(text: str, *secrets: str | None, limit: int = 400) -> str:
    """Remove secrets from text that came back from a server, and keep it one short line."""
    for secret in secrets:
        if secret:
            text = text.replace(secret, "***")
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 1] + "…"


@contextmanager
def mapped_errors(map_error: Callable[[BaseException], ProviderError | None]) -> Iterator[None]:
    """Turn an SDK or I/O exception into our error tree; one ``map_error`` does not know (a
    bug) surfaces as it is."""
    try:
        yield
    except ProviderError:
        raise
    except Exception as exc:
        mapped = map_error(exc)
        if mapped is None:
            raise
        raise mapped from exc
