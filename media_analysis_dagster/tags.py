"""Run tags: the names, in one place, for everyone who writes or reads them.

Ours (``media_analysis/…``) are a contract with n8n and operators (``docs/architecture.md``,
"Run tags"): every run of ``media_analysis_job`` carries the request id, the media type and how
it was launched, so "which runs belong to this request?" is one indexed tag query. Dagster's own
(``dagster/…``) are read where Dagster has no public accessor for them.
"""

from __future__ import annotations

TAG_REQUEST_ID = "media_analysis/request_id"
TAG_MEDIA_TYPE = "media_analysis/media_type"
TAG_SOURCE = "media_analysis/source"
"""How the run was launched: sensor, graphql, ui, cli, demo, schedule, test …"""

TAG_MEDIA = "media_analysis/media"
"""The file name or URL host and path of the request's media, so the runs list shows what a run
is about without opening it."""

TAG_ROW_SYNCED = "media_analysis/row_synced"
"""``"true"`` once the run-status sensors reflected a failed or cancelled run in its row."""

TAG_RUN_WORKER = "media_analysis/run_worker"
"""``<hostname>:<pid>:<start time>`` of the process executing the run (the executor writes it;
``triggers/run_liveness.py`` reads it)."""

MAINTENANCE_TAG = "media_analysis/maintenance"
"""On maintenance runs (retention), so ``dagster.yaml`` can allow one at a time."""

# Dagster's own tags (``dagster._core.storage.tags``), read by the sensors.
RUN_KEY_TAG = "dagster/run_key"
PARENT_RUN_TAG = "dagster/parent_run_id"
