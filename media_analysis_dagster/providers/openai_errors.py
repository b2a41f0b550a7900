"""``openai`` SDK exceptions (and MiniMax's in-body errors) translated to our error tree.

Classification follows the HTTP status (``errors.error_for_status``) so that every provider
agrees on what is transient. Server text is scrubbed of the key before it enters a message.
"""

from __future__ import annotations

import json
from typing import Any

from .errors import (
    AuthenticationError,
    BadRequestError,
    MalformedResponseError,
    ProviderConnectionError,
    ProviderError,
    ProviderServerError,
    ProviderTimeoutError,
    RateLimitedError,
    error_for_status,
    scrub,
)
from .retry import parse_retry_after


def _detail(body: object, fallback: str) -> str:
    """The server's own error sentence: ``{"error": {"message": …}}`` or similar."""
    if isinstance(body, dict):
        err = body.get("error", body)
        if isinstance(err, dict):
            for key in ("message", "msg", "detail"):
                if isinstance(err.get(key), str):
                    return err[key]
        elif isinstance(err, str):
            return err
    if isinstance(body, str) and body.strip():
        return body
    return fallback


def map_openai_error(
    exc: BaseException, provider: str, key_env: str, host: str, api_key: str
) -> ProviderError | None:
    """Our error for ``exc``, or None when it is not an API failure (a bug to surface)."""
    import openai
    import pydantic

    if isinstance(exc, openai.APITimeoutError):
        return ProviderTimeoutError(provider, f"{provider} did not answer in time ({host})")
    if isinstance(exc, openai.APIConnectionError):
        cause = exc.__cause__ or exc.__context__
        why = f": {scrub(str(cause), api_key, limit=160)}" if cause and str(cause) else ""
        return ProviderConnectionError(provider, f"could not reach {provider} at {host}{why}")
    if isinstance(exc, openai.APIResponseValidationError):
        return MalformedResponseError(
            provider, f"{provider} returned an unexpected response: {scrub(exc.message, api_key)}"
        )
    if isinstance(exc, openai.APIStatusError):
        detail = scrub(_detail(exc.body, exc.message), api_key)
        retry_after = parse_retry_after(exc.response.headers)
        return error_for_status(
            provider, exc.status_code, detail, key_env=key_env, retry_after=retry_after
        )
    if isinstance(exc, json.JSONDecodeError | pydantic.ValidationError):
        return MalformedResponseError(
            provider, f"{provider} returned a body that is not valid JSON"
        )
    if isinstance(exc, OSError):
        return BadRequestError(provider, f"could not read the input for {provider}: {exc}")
    return None


# MiniMax reports some failures as HTTP 200 with {"base_resp": {"status_code": N, ...}}.
_MINIMAX_RATE = {1002, 1039}
_MINIMAX_AUTH = {1004, 2049}
_MINIMAX_SERVER = {1000, 1001, 1013, 1024, 1033}


def minimax_status_error(completion: Any, provider: str, key_env: str) -> ProviderError | None:
    base = getattr(completion, "base_resp", None)
    if not isinstance(base, dict):
        return None
    code = base.get("status_code")
    if not code:
        return None
    msg = f"{provider} reported error {code}: {base.get('status_msg') or 'no details'}"
    if code in _MINIMAX_AUTH:
        return AuthenticationError(provider, key_env, status_code=None)
    if code in _MINIMAX_RATE:
        return RateLimitedError(provider, msg, status_code=None)
    if code in _MINIMAX_SERVER:
        return ProviderServerError(provider, msg)
    return BadRequestError(provider, msg)
