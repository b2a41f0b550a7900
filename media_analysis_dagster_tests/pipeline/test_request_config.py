"""``check_request``, the one validator of a request: every bad value gets one sentence naming
the field, the rule and the value, whether it comes as run config or as a pending row's
``user_metadata``; good values pass unchanged; the launchpad's descriptions are plain text."""

from __future__ import annotations

import re
from typing import Any

import pytest

from media_analysis_dagster.db.constants import MEDIA_TYPES, PROVIDERS
from media_analysis_dagster.errors import InvalidRequestError
from media_analysis_dagster.ops.register import register_request
from media_analysis_dagster.ops.retention import RetentionConfig
from media_analysis_dagster.pipeline.request_config import (
    ROW_OPTION_KEYS,
    MediaType,
    RequestConfig,
    check_fields,
    check_request,
)
from media_analysis_dagster.pipeline.request_options import check_row, row_options

URL = {"media_url": "https://example.com/clip.mp4"}
ROW_ID = "3f2b8f0e-5b5c-4c1e-9a59-2f4f1d1c8a10"
NAMES = ", ".join(sorted(PROVIDERS))


def bounds(field: str, low: int, high: int, value: Any, shown: str) -> tuple[dict, str]:
    return {field: value}, f"{field} must be between {low} and {high}, not {shown}."


def whole(field: str, low: int, high: int, value: Any, shown: str) -> tuple[dict, str]:
    return {field: value}, f"{field} must be a whole number between {low} and {high}, not {shown}."


# One option at a time, added to a valid request: (options, the sentence).
BAD_OPTIONS: list[tuple[dict[str, Any], str]] = [
    bounds("frame_count", 1, 200, 500, "500"),
    bounds("frame_count", 1, 200, 0, "0"),
    bounds("frame_count", 1, 200, -1, "-1"),
    bounds("frame_count", 1, 200, 201, "201"),
    bounds("frame_count", 1, 200, 10**9, "1000000000"),
    whole("frame_count", 1, 200, "many", "'many'"),
    whole("frame_count", 1, 200, 4.5, "4.5"),
    whole("frame_count", 1, 200, True, "true"),
    whole("frame_count", 1, 200, [12], "[12]"),
    bounds("grid_cols", 1, 10, 0, "0"),
    bounds("grid_cols", 1, 10, 11, "11"),
    bounds("grid_rows", 1, 10, -1, "-1"),
    whole("grid_rows", 1, 10, "three", "'three'"),
    (
        {"providers": ["openia"]},
        f"providers must name known providers ({NAMES}), not 'openia'.",
    ),
    ({"providers": [""]}, f"providers must name known providers ({NAMES}), not ''."),
    (
        {"providers": "openai"},
        "providers must be a list of provider names, e.g. [\"openai\"], not 'openai'.",
    ),
    (
        {"providers": [1, 2]},
        'providers must be a list of provider names, e.g. ["openai"], not [1, 2].',
    ),
    (
        {"provider_options": ["diarize"]},
        "provider_options must be a JSON object, not a JSON array.",
    ),
    ({"provider_options": "x"}, "provider_options must be a JSON object, not the text 'x'."),
    (
        {"callback_url": "ftp://hooks.example.com/x"},
        "callback_url must be an http(s) URL, not 'ftp://hooks.example.com/x'.",
    ),
    (
        {"callback_url": "hooks.example.com/x"},
        "callback_url must be an http(s) URL, not 'hooks.example.com/x'.",
    ),
    ({"callback_url": "http://"}, "callback_url must be an http(s) URL, not 'http://'."),
    ({"callback_url": 5}, "callback_url must be text, not 5."),
    ({"use_cache": "maybe"}, "use_cache must be true or false, not 'maybe'."),
    ({"scene_aware": [True]}, "scene_aware must be true or false, not [true]."),
    ({"accurate_frames": {"on": True}}, 'accurate_frames must be true or false, not {"on": true}.'),
]
"""The options a pending row may carry too (``ROW_OPTION_KEYS``)."""

MEDIA_LIST = ", ".join(MEDIA_TYPES)
BAD_REQUESTS: list[tuple[dict[str, Any], str]] = [
    ({**URL, "media_type": "vdieo"}, f"media_type must be one of {MEDIA_LIST}, not 'vdieo'."),
    ({**URL, "media_type": "VIDEO"}, f"media_type must be one of {MEDIA_LIST}, not 'VIDEO'."),
    ({**URL, "media_type": 3}, f"media_type must be one of {MEDIA_LIST}, not 3."),
    ({**URL, "media_path": "/srv/a.mp4"}, "Give exactly one of media_url or media_path, not both."),
    ({}, "Give exactly one of media_url or media_path; neither was given."),
    (
        {"media_url": "  ", "media_path": None},
        "Give exactly one of media_url or media_path; neither was given.",
    ),
    (
        {"prompt": "What happens?"},
        "Give exactly one of media_url or media_path; neither was given.",
    ),
    ({"request_id": "row-7"}, "request_id must be a UUID, not 'row-7'."),
    (
        {"request_id": ROW_ID, **URL},
        "Give request_id alone (the pending row names its media), not with media_url.",
    ),
    (
        {"media_url": "ftp://example.com/a.mp4"},
        "media_url must be an http(s) URL, or an s3:// or gs:// URL of the bucket's inbox, "
        "not 'ftp://example.com/a.mp4'.",
    ),
    (
        {"media_url": "file:///etc/passwd"},
        "media_url must be an http(s) URL, or an s3:// or gs:// URL of the bucket's inbox, "
        "not 'file:///etc/passwd'.",
    ),
    ({**URL, "prompt": 5}, "prompt must be text, not 5."),
    ({**URL, "user_metadata": ["a"]}, "user_metadata must be a JSON object, not a JSON array."),
    (
        {**URL, "frame_count": 500, "grid_cols": 0},
        "frame_count must be between 1 and 200, not 500.",
    ),
]

GOOD_REQUESTS: list[dict[str, Any]] = [
    URL,
    {"media_path": "/srv/media/inbox/clip.mp4", "media_type": "video"},
    {"media_url": "s3://bucket/inbox/clip.mp4"},
    {"media_url": "gs://bucket/inbox/clip.mp4", "media_path": None},
    {"request_id": ROW_ID},
    {"request_id": ROW_ID, "media_url": None, "media_path": "", "source_endpoint": "sensor"},
    {**URL, "frame_count": 1, "grid_cols": 1, "grid_rows": 1},
    {**URL, "frame_count": 200, "grid_cols": 10, "grid_rows": 10},
    {**URL, "providers": ["OpenAI", "internal"], "provider_options": {"diarize": True}},
    {**URL, "callback_url": "https://hooks.example.com/x", "use_cache": False},
    {**URL, "media_type": MediaType.audio, "user_metadata": {"ticket": 17}},
]


def sentence_of(values: Any, **kwargs: Any) -> str:
    with pytest.raises(InvalidRequestError) as refused:
        check_request(values, **kwargs)
    return str(refused.value)


@pytest.mark.parametrize(("options", "sentence"), BAD_OPTIONS, ids=lambda v: str(v)[:40])
def test_a_bad_option_gets_one_sentence(options: dict[str, Any], sentence: str) -> None:
    assert sentence_of({**URL, **options}) == sentence
    assert "\n" not in sentence and "Error" not in sentence


@pytest.mark.parametrize(("values", "sentence"), BAD_REQUESTS, ids=lambda v: str(v)[:40])
def test_a_bad_request_gets_one_sentence(values: dict[str, Any], sentence: str) -> None:
    assert sentence_of(values) == sentence


@pytest.mark.parametrize("values", GOOD_REQUESTS, ids=lambda v: str(v)[:40])
def test_good_requests_pass(values: dict[str, Any]) -> None:
    config = check_request(values)
    assert isinstance(config, RequestConfig)
    for key, value in values.items():
        if value not in (None, ""):
            assert getattr(config, key) == value


@pytest.mark.parametrize(("options", "sentence"), BAD_OPTIONS, ids=lambda v: str(v)[:40])
def test_a_pending_row_gets_the_same_sentence(options: dict[str, Any], sentence: str) -> None:
    """The row's ``user_metadata`` options meet the same rules; only the field path differs."""
    assert set(options) <= set(ROW_OPTION_KEYS)
    with pytest.raises(InvalidRequestError) as refused:
        row_options({"note": "kept as is", **options})
    assert str(refused.value) == f"user_metadata.{sentence}"
    with pytest.raises(InvalidRequestError) as again:
        check_fields(options, where="user_metadata")
    assert str(again.value) == str(refused.value)


def test_a_row_is_checked_by_the_same_rules() -> None:
    """A claimed row's own columns (inserted by hand, never launched) and its options."""
    row: dict[str, Any] = {
        "media_url": "https://example.com/a.mp4",
        "media_path": None,
        "media_type": "video",
    }
    check_row(row)
    check_row({**row, "user_metadata": {"frame_count": 12, "other": "kept"}})
    cases: list[tuple[dict[str, Any], str]] = [
        (
            {**row, "media_path": "/srv/a.mp4"},
            "Give exactly one of media_url or media_path, not both.",
        ),
        (
            {**row, "media_url": None},
            "Give exactly one of media_url or media_path; neither was given.",
        ),
        ({**row, "media_url": "gopher://x/a"}, "media_url must be an http(s) URL"),
        (
            {**row, "user_metadata": {"grid_rows": 0}},
            "user_metadata.grid_rows must be between 1 and 10, not 0.",
        ),
        (
            {**row, "user_metadata": "frame_count=4"},
            "user_metadata must be a JSON object, not the text",
        ),
    ]
    for bad, sentence in cases:
        with pytest.raises(InvalidRequestError) as refused:
            check_row(bad)
        assert str(refused.value).startswith(sentence), (bad, str(refused.value))


def test_where_prefixes_key_paths_only() -> None:
    bad = {**URL, "frame_count": 500}
    assert sentence_of(bad, where="user_metadata") == (
        "user_metadata.frame_count must be between 1 and 200, not 500."
    )
    assert sentence_of(bad, where="--metadata") == sentence_of(bad)
    assert (
        sentence_of([1, 2], where="--metadata")
        == "--metadata must be a JSON object, not a JSON array."
    )
    assert sentence_of({**URL, "frame_cnt": 5}).startswith(
        "frame_cnt is not a request option; the options are request_id, media_url,"
    )


def test_long_values_are_shown_on_one_short_line() -> None:
    sentence = sentence_of({**URL, "callback_url": "ftp://x/" + "a\n" * 200})
    assert "\n" not in sentence and len(sentence) < 140 and sentence.endswith("….")


def test_media_type_is_the_seed_check_values() -> None:
    assert tuple(t.value for t in MediaType) == MEDIA_TYPES


def test_descriptions_are_plain_text_with_bounds_and_an_example() -> None:
    for config in (RequestConfig, RetentionConfig):
        for name, field in config.model_fields.items():
            text = field.description or ""
            assert text and "``" not in text and "`" not in text, (config.__name__, name)
            assert "Example:" in text, (config.__name__, name, text)
        assert "``" not in (config.__doc__ or "")
    descriptions = {n: f.description or "" for n, f in RequestConfig.model_fields.items()}
    assert "1-200" in descriptions["frame_count"]
    assert "1-10" in descriptions["grid_cols"] and "1-10" in descriptions["grid_rows"]
    for op_description in (register_request.description or "",):
        assert op_description and "``" not in op_description
    assert not re.search(r"\bArtifactRef\b|``", register_request.description or "")
