"""Run ``media_analysis_job`` for real: the wired definitions, a persistent test instance,
the test database and a temporary data dir, configured through the documented variables."""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from dagster import DagsterInstance, build_reconstructable_job, execute_job

from media_analysis_dagster.db.engine import connect_engine
from media_analysis_dagster.db.store import Store
from media_analysis_dagster.tags import TAG_REQUEST_ID


def _environment_key() -> str:
    """The variables the definitions read when they load, as one string."""
    names = sorted(
        k
        for k in os.environ
        if k.startswith("MEDIA_ANALYSIS_") or k.endswith(("_API_KEY", "_BASE_URL"))
    )
    return json.dumps({k: os.environ[k] for k in names}, sort_keys=True)


@dataclass
class RunOutcome:
    run_id: str
    success: bool
    all_events: list[Any]


@dataclass
class Pipeline:
    instance: DagsterInstance
    store: Store
    inbox: Path
    data_dir: Path

    def run(self, tags: dict[str, str] | None = None, **config: Any) -> RunOutcome:
        """Launch the job as a real run (fs IO manager, so it can be re-executed later)."""
        return self.execute(
            run_config={"ops": {"register_request": {"config": config}}},
            tags={"media_analysis/source": "test", **(tags or {})},
        )

    def execute(self, **kwargs: Any) -> RunOutcome:
        # Dagster caches a rebuilt job by its arguments: the environment as an argument makes
        # each test's environment (provider keys, base URLs) load afresh.
        job = build_reconstructable_job(
            "media_analysis_dagster_tests.ops.jobs_for_test",
            "wired_job",
            reconstructable_kwargs={"environment": _environment_key()},
        )
        with execute_job(job, instance=self.instance, raise_on_error=False, **kwargs) as result:
            return RunOutcome(result.run_id, result.success, list(result.all_events))

    def request_of(self, result: RunOutcome) -> dict[str, Any] | None:
        run = self.instance.get_run_by_id(result.run_id)
        request_id = run.tags.get(TAG_REQUEST_ID) if run else None
        return self.store.get_request(request_id) if request_id else None

    @staticmethod
    def failure(result: RunOutcome) -> tuple[str, str]:
        """(step key, message of the exception the op raised) of the first failed step."""
        event = next(e for e in result.all_events if e.event_type_value == "STEP_FAILURE")
        error = event.event_specific_data.error
        return event.step_key or "", (error.cause or error).message

    def files_on_disk(self, request_id: str) -> list[Path]:
        folder = self.data_dir / "requests" / request_id
        return sorted(p for p in folder.rglob("*") if p.is_file()) if folder.exists() else []


def make_pipeline(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, db_url: str, instance: DagsterInstance
) -> Pipeline:
    data_dir, inbox = tmp_path / "data", tmp_path / "inbox"
    inbox.mkdir(parents=True, exist_ok=True)
    monkeypatch.setenv("MEDIA_ANALYSIS_DATABASE_URL", db_url)
    monkeypatch.setenv("MEDIA_ANALYSIS_DATA_DIR", str(data_dir))
    monkeypatch.setenv("MEDIA_ANALYSIS_MEDIA_ROOTS", str(inbox))
    return Pipeline(instance, Store(connect_engine(db_url)), inbox, data_dir)
