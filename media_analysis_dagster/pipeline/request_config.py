"""Typed run config of ``media_analysis_job`` (``ops.register_request.config``; README,
"Configuration")."""

from __future__ import annotations

from typing import Any

from dagster import Config
from pydantic import Field


class RequestConfig(Config):
    """``ops.register_request.config``: either a pending row's id, or a new request."""

    request_id: str | None = Field(
        default=None, description="Claim this pending row. Omit to create the row in the run."
    )
    media_url: str | None = Field(default=None, description="http(s) URL of the media.")
    media_path: str | None = Field(
        default=None, description="Local path inside MEDIA_ANALYSIS_MEDIA_ROOTS."
    )
    media_type: str = Field(default="auto", description="video | audio | document | auto.")
    prompt: str | None = Field(default=None, description="What the analysis should answer.")
    user_metadata: dict[str, Any] | None = Field(default=None, description="Stored as is.")
    created_by: str | None = Field(default=None, description="Who asked (free text).")
    source_endpoint: str | None = Field(
        default=None,
        description="How the request came: ui, graphql, cli, ... (default: the run's "
        "media_analysis/source tag, else 'ui').",
    )
    providers: list[str] | None = Field(
        default=None, description="Providers to use (default: every enabled one)."
    )
    provider_options: dict[str, Any] | None = Field(
        default=None,
        description="Options handed to the providers, e.g. {'diarize': true, "
        "'detect_language': true, 'language': 'en', 'deepgram': {'model': 'nova-3'}}; also read "
        "from user_metadata.provider_options of a pending row.",
    )
    frame_count: int | None = Field(
        default=None, ge=1, le=200, description="Frames to extract (default: by duration)."
    )
    grid_cols: int = Field(default=2, ge=1, le=10, description="Contact sheet columns.")
    grid_rows: int = Field(default=3, ge=1, le=10, description="Contact sheet rows.")
    accurate_frames: bool = Field(
        default=False,
        description="Decode to the exact frame at every target time instead of using a "
        "keyframe within a quarter interval.",
    )
    scene_aware: bool = Field(
        default=False,
        description="Detect scenes before extracting frames and put a frame in every scene when "
        "there are no more scenes than frames (spare frames go to the longest scenes); costs "
        "one more scene-detection pass.",
    )
    callback_url: str | None = Field(
        default=None,
        description="http(s) URL that receives one signed JSON POST when the request ends "
        "(completed, failed or cancelled); e.g. n8n's $execution.resumeUrl.",
    )
    use_cache: bool = Field(
        default=True,
        description="Reuse the AI results of an earlier completed request for the same file, "
        "task, prompt, options and provider/model (cost 0, a cache hit in provider_chain) "
        "instead of paying again. False: always call the providers.",
    )


# Options a pending row may carry in user_metadata, validated exactly like run config.
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
