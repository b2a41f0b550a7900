"""What a request may ask for, and the one check every request passes before it becomes a run.

``RequestConfig`` is the run config of ``media_analysis_job`` (``ops.register_request.config``;
README, "Configuration"). Its field descriptions are what the launchpad shows, so they are plain
sentences with the bounds and an example.

``check_request`` is the only validator of a request. Run config meets it when a run is launched
(the op's config type calls it while Dagster builds the execution plan, so ``launchRun`` and the
launchpad's Launch button are refused before any run exists), a pending row's ``user_metadata``
options meet it when the row is claimed (``request_options.py``), and the CLI calls it before it
inserts a row. Whatever the way in, a wrong value gets the same sentence, naming the field, the
rule and the value given: "frame_count must be between 1 and 200, not 500."
"""

from __future__ import annotations

import json
import re
import uuid
from collections.abc import Mapping
from enum import StrEnum
from typing import Any
from urllib.parse import urlsplit

from dagster import Config
from pydantic import Field, ValidationError

from ..db.constants import MEDIA_TYPES, PROVIDERS
from ..errors import InvalidRequestError


class MediaType(StrEnum):
    """What the file is; ``auto`` tells from its content. (A Python enum on a config field is a
    Dagster Enum, so the launchpad marks a misspelt value before anything is launched.)"""

    video = "video"
    audio = "audio"
    document = "document"
    auto = "auto"


_PROVIDER_NAMES = ", ".join(sorted(PROVIDERS))


class RequestConfig(Config):
    """One media-analysis request: the request_id of a pending row, or the media of a new request
    (media_url or media_path), plus options. Every value is checked when the run is launched."""

    request_id: str | None = Field(
        default=None,
        description="Process this pending row of media_analysis_requests (a UUID); the row names "
        "the media. Leave it out to create a new request from media_url or media_path. "
        "Example: 3f2b8f0e-5b5c-4c1e-9a59-2f4f1d1c8a10.",
    )
    media_url: str | None = Field(
        default=None,
        description="Where to fetch the media: an http(s) URL, or an s3:// or gs:// URL of an "
        "upload in the bucket's inbox. Give this or media_path, not both. "
        "Example: https://example.com/clip.mp4.",
    )
    media_path: str | None = Field(
        default=None,
        description="A file on the Dagster host, inside one of the folders listed in "
        "MEDIA_ANALYSIS_MEDIA_ROOTS. Give this or media_url, not both. "
        "Example: /srv/media/inbox/clip.mp4.",
    )
    media_type: MediaType = Field(
        default=MediaType.auto,
        description="What the file is: video, audio, document, or auto to tell from its content "
        "(the default). audio on a video analyses its sound only. Example: video.",
    )
    prompt: str | None = Field(
        default=None,
        description="The question the analysis should answer, in plain words. "
        "Example: Who is in it, what happens, and where?",
    )
    user_metadata: dict[str, Any] | None = Field(
        default=None,
        description='Any JSON object, stored with the request as given. Example: {"ticket": 17}.',
    )
    created_by: str | None = Field(
        default=None, description="Who asked, as free text. Example: n8n."
    )
    source_endpoint: str | None = Field(
        default=None,
        description="How the request came in (ui, graphql, cli, sensor); default: the run's "
        "media_analysis/source tag, else ui. Example: graphql.",
    )
    providers: list[str] | None = Field(
        default=None,
        description=f"AI providers to use, by name ({_PROVIDER_NAMES}); default: every enabled "
        'one. Example: ["openai", "internal"].',
    )
    provider_options: dict[str, Any] | None = Field(
        default=None,
        description="Options handed to the providers, as a JSON object; a pending row may carry "
        'them in user_metadata.provider_options. Example: {"diarize": true, "language": "en", '
        '"deepgram": {"model": "nova-3"}}.',
    )
    frame_count: int | None = Field(
        default=None,
        ge=1,
        le=200,
        description="Frames to extract, 1-200; default by duration (6 under 30 s, 12 under "
        "5 min, else 18). Example: 12.",
    )
    grid_cols: int = Field(
        default=2, ge=1, le=10, description="Columns of each contact sheet, 1-10. Example: 3."
    )
    grid_rows: int = Field(
        default=3, ge=1, le=10, description="Rows of each contact sheet, 1-10. Example: 4."
    )
    accurate_frames: bool = Field(
        default=False,
        description="true: decode the exact frame at every target time (slower). false: take a "
        "keyframe within a quarter interval of it. Example: true.",
    )
    scene_aware: bool = Field(
        default=False,
        description="true: detect scenes first and put a frame in every scene when there are no "
        "more scenes than frames (spare frames go to the longest scenes); costs one more pass "
        "over the video. Example: true.",
    )
    callback_url: str | None = Field(
        default=None,
        description="An http(s) URL that receives one signed JSON POST when the request ends "
        "(completed, failed or cancelled). Example: n8n's $execution.resumeUrl.",
    )
    use_cache: bool = Field(
        default=True,
        description="true: reuse the AI results of an earlier completed request for the same "
        "file, task, prompt, options and model, at no cost. false: always call the providers. "
        "Example: false.",
    )


# Options a pending row may carry in user_metadata, checked exactly like run config.
ROW_OPTION_KEYS = (
    "providers",
    "provider_options",
    "frame_count",
    "grid_cols",
    "grid_rows",
    "accurate_frames",
    "scene_aware",
    "callback_url",
    "use_cache",
)
RUN_CONFIG = "run config"
_FIELDS = tuple(RequestConfig.model_fields)
_INT_FIELDS = ("frame_count", "grid_cols", "grid_rows")
_BOOL_FIELDS = ("accurate_frames", "scene_aware", "use_cache")
_OBJECT_FIELDS = ("user_metadata", "provider_options")
_MEDIA_URL_SCHEMES = ("http", "https", "s3", "gs")
_KEY_PATH = re.compile(r"[A-Za-z_][\w.]*")


def check_request(values: Mapping[str, Any], *, where: str = RUN_CONFIG) -> RequestConfig:
    """``values`` as a ``RequestConfig``, or an ``InvalidRequestError`` with one sentence naming
    the field, the rule and the value.

    ``where`` says where the values come from. A key path such as ``user_metadata`` prefixes the
    field names ("user_metadata.frame_count must be …"); a description such as the default
    "run config" does not. A value of None (or blank text) means "not given".
    """
    config = check_fields(values, where=where)
    _check_media(config)
    return config


def check_fields(values: Mapping[str, Any], *, where: str = RUN_CONFIG) -> RequestConfig:
    """Every rule of ``check_request`` that concerns one field alone: for a subset of the
    fields, such as the options of a pending row, whose media are columns of the row."""
    if not isinstance(values, Mapping):
        raise InvalidRequestError(f"{where} must be a JSON object, not {_json_kind(values)}.")
    given = {k: v for k, v in values.items() if not _absent(v)}
    prefix = f"{where}." if _KEY_PATH.fullmatch(where) else ""
    for key in given:
        if key not in _FIELDS:
            raise InvalidRequestError(
                f"{prefix}{key} is not a request option; the options are {', '.join(_FIELDS)}."
            )
    for key, value in given.items():
        if key in _INT_FIELDS and isinstance(value, bool):
            raise InvalidRequestError(_type_sentence(key, value, prefix))
    try:
        config = RequestConfig(**given)
    except ValidationError as exc:
        raise InvalidRequestError(_pydantic_sentence(exc, given, prefix)) from None
    problem = _field_problem(config, prefix)
    if problem:
        raise InvalidRequestError(problem)
    return config


def _absent(value: Any) -> bool:
    return value is None or (isinstance(value, str) and not value.strip())


def _check_media(config: RequestConfig) -> None:
    has_url, has_path = bool(config.media_url), bool(config.media_path)
    if config.request_id is not None:
        if has_url or has_path:
            given = "media_url" if has_url else "media_path"
            raise InvalidRequestError(
                f"Give request_id alone (the pending row names its media), not with {given}."
            )
        return
    if has_url and has_path:
        raise InvalidRequestError("Give exactly one of media_url or media_path, not both.")
    if not (has_url or has_path):
        raise InvalidRequestError("Give exactly one of media_url or media_path; neither was given.")


def _field_problem(config: RequestConfig, prefix: str) -> str | None:
    """The first rule a well-typed field breaks that a type cannot say, in field order."""
    if config.request_id is not None:
        try:
            uuid.UUID(config.request_id)
        except ValueError:
            return f"{prefix}request_id must be a UUID, not {_shown(config.request_id)}."
    if config.media_url and not _is_url(config.media_url, _MEDIA_URL_SCHEMES):
        return (
            f"{prefix}media_url must be an http(s) URL, or an s3:// or gs:// URL of the bucket's "
            f"inbox, not {_shown(config.media_url)}."
        )
    for name in config.providers or []:
        if name.strip().lower() not in PROVIDERS:
            return (
                f"{prefix}providers must name known providers ({_PROVIDER_NAMES}), "
                f"not {_shown(name)}."
            )
    if config.callback_url and not _is_url(config.callback_url, ("http", "https")):
        return f"{prefix}callback_url must be an http(s) URL, not {_shown(config.callback_url)}."
    return None


def _is_url(text: str, schemes: tuple[str, ...]) -> bool:
    try:
        parts = urlsplit(text.strip())
    except ValueError:
        return False
    return parts.scheme.lower() in schemes and bool(parts.hostname)


def _pydantic_sentence(exc: ValidationError, given: Mapping[str, Any], prefix: str) -> str:
    error = exc.errors()[0]
    key = str(error["loc"][0]) if error["loc"] else ""
    value = given.get(key, error.get("input"))
    if error["type"] in ("greater_than_equal", "less_than_equal"):
        low, high = _bounds(key)
        return f"{prefix}{key} must be between {low} and {high}, not {_shown(value)}."
    if key in _FIELDS:
        return _type_sentence(key, value, prefix)
    return f"{prefix}{key} is invalid: {str(error['msg']).rstrip('.')}."


def _type_sentence(key: str, value: Any, prefix: str) -> str:
    """The field's type in words, for a value of another type."""
    name = f"{prefix}{key}"
    if key in _INT_FIELDS:
        low, high = _bounds(key)
        return f"{name} must be a whole number between {low} and {high}, not {_shown(value)}."
    if key in _BOOL_FIELDS:
        return f"{name} must be true or false, not {_shown(value)}."
    if key in _OBJECT_FIELDS:
        return f"{name} must be a JSON object, not {_json_kind(value)}."
    if key == "media_type":
        return f"{name} must be one of {', '.join(MEDIA_TYPES)}, not {_shown(value)}."
    if key == "providers":
        return f'{name} must be a list of provider names, e.g. ["openai"], not {_shown(value)}.'
    return f"{name} must be text, not {_shown(value)}."


def _bounds(key: str) -> tuple[Any, Any]:
    low = high = None
    for rule in RequestConfig.model_fields[key].metadata:
        low = getattr(rule, "ge", low)
        high = getattr(rule, "le", high)
    return low, high


def _json_kind(value: Any) -> str:
    """What a JSON value is, in the words of JSON."""
    if isinstance(value, Mapping):
        return "a JSON object"
    if isinstance(value, list | tuple):
        return "a JSON array"
    if isinstance(value, bool):
        return f"{str(value).lower()}"
    if isinstance(value, int | float):
        return f"the number {value}"
    if isinstance(value, str):
        return f"the text {_shown(value)}"
    return "null" if value is None else f"a {type(value).__name__}"


def _shown(value: Any, limit: int = 80) -> str:
    """A value as the sentence quotes it: text in quotes, anything else as JSON, on one line."""
    if isinstance(value, str):
        text = repr(value)
    else:
        try:
            text = json.dumps(value, default=str)
        except (TypeError, ValueError):
            text = repr(value)
    return text if len(text) <= limit else text[: limit - 1] + "…"
