"""Which executor should ``media_analysis_job`` use? Measured, not guessed.

One request (a 6 s video with sound, 18 frames = 3 contact sheets) with openai and deepgram
enabled against the local fake provider server, every provider call answering after 1 s: four
provider tasks (three vision sheets and one transcript) plus the internal analyses. For each
executor it prints the whole run's wall time and the ``analyze`` phase (first provider step
start to last provider step end, from the event log).

    .venv/bin/python -m benchmarks.executors [--repeat 2] [--skip-multiprocess]
"""

from __future__ import annotations

import argparse
import os
import tempfile
import time
from pathlib import Path
from typing import Any

EXECUTORS: dict[str, dict[str, Any]] = {
    "threaded in-process (ours, 8 threads)": {"job": "threaded", "config": {"max_concurrent": 8}},
    "in-process (one step at a time)": {"job": "standard", "config": {"in_process": {}}},
    "multiprocess, spawn": {"job": "standard", "config": {"multiprocess": {"max_concurrent": 4}}},
    "multiprocess, forkserver + preload": {
        "job": "standard",
        "config": {
            "multiprocess": {
                "max_concurrent": 4,
                "start_method": {
                    "forkserver": {"preload_modules": ["media_analysis_dagster.definitions"]}
                },
            }
        },
    },
}


def threaded_job() -> Any:
    from media_analysis_dagster.definitions import build_definitions

    return build_definitions().resolve_job_def("media_analysis_job")


def standard_job() -> Any:
    """The same graph, hooks and resources with Dagster's own in/multi-process executor."""
    from dagster import Definitions, multi_or_in_process_executor

    from media_analysis_dagster.definitions import build_definitions
    from media_analysis_dagster.jobs import media_analysis_job

    defs = build_definitions()
    job = media_analysis_job.graph.to_job(
        name="media_analysis_job",
        executor_def=multi_or_in_process_executor,
        hooks=media_analysis_job.hook_defs,
    )
    return Definitions(jobs=[job], resources=defs.resources).resolve_job_def(job.name)


def provider_phase(instance: Any, run_id: str) -> float:
    starts, ends = [], []
    for record in instance.get_records_for_run(run_id, limit=10_000).records:
        event = record.event_log_entry.dagster_event
        key = event.step_key if event else None
        if key and (key.startswith("analyze[vision") or key == "analyze[transcription]"):
            if event.event_type_value == "STEP_START":
                starts.append(record.event_log_entry.timestamp)
            elif event.event_type_value == "STEP_SUCCESS":
                ends.append(record.event_log_entry.timestamp)
    return max(ends) - min(starts) if starts and ends else float("nan")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=2)
    parser.add_argument("--skip-multiprocess", action="store_true")
    args = parser.parse_args()

    from dagster import execute_job, instance_for_test, reconstructable

    from media_analysis_dagster.db.engine import connect_engine
    from media_analysis_dagster.db.schema import init_database
    from media_analysis_fixtures import make_video
    from media_analysis_fixtures.fake_providers import FakeProviders

    work = Path(tempfile.mkdtemp(prefix="ma-bench-exec-"))
    inbox = work / "inbox"
    inbox.mkdir()
    os.environ.update(
        {
            "MEDIA_ANALYSIS_DATA_DIR": str(work / "data"),
            "MEDIA_ANALYSIS_MEDIA_ROOTS": str(inbox),
            "MEDIA_ANALYSIS_DATABASE_URL": f"sqlite:///{work / 'tables.db'}",
        }
    )
    engine = connect_engine(os.environ["MEDIA_ANALYSIS_DATABASE_URL"])
    init_database(engine)
    engine.dispose()
    video = make_video(inbox / "clip.mp4", duration=6.0, size=(320, 240))
    jobs = {"threaded": reconstructable(threaded_job), "standard": reconstructable(standard_job)}
    rows = []
    with FakeProviders() as fake, instance_for_test() as instance:
        for provider in ("openai", "deepgram"):
            os.environ[f"{provider.upper()}_API_KEY"] = "bench-key"
            os.environ[f"{provider.upper()}_BASE_URL"] = fake.base_url(provider)
            fake.set_latency(provider, 1.0)
        for name, spec in EXECUTORS.items():
            if args.skip_multiprocess and "multiprocess" in name:
                continue
            for attempt in range(args.repeat):
                started = time.monotonic()
                with execute_job(
                    jobs[spec["job"]],
                    instance=instance,
                    run_config={
                        "execution": {"config": spec["config"]},
                        "ops": {
                            # No analysis cache: every run makes its 4 provider calls.
                            "register_request": {
                                "config": {
                                    "media_path": str(video),
                                    "frame_count": 18,
                                    "use_cache": False,
                                }
                            }
                        },
                        "loggers": {"console": {"config": {"log_level": "ERROR"}}},
                    },
                ) as result:
                    wall = time.monotonic() - started
                    phase = provider_phase(instance, result.run_id)
                    rows.append((name, attempt + 1, result.success, wall, phase))
                    print(
                        f"{name:40} run {attempt + 1}: success={result.success} "
                        f"wall {wall:6.2f}s  provider phase {phase:5.2f}s",
                        flush=True,
                    )
    print("\nbest of each (4 provider tasks x 1 s latency; the phase is 4 s if they run serially)")
    best: dict[str, tuple[float, float]] = {}
    for name, _, ok, wall, phase in rows:
        if ok and (name not in best or wall < best[name][0]):
            best[name] = (wall, phase)
    base = best.get("threaded in-process (ours, 8 threads)", (float("nan"),))[0]
    for name, (wall, phase) in best.items():
        print(f"{name:40} wall {wall:6.2f}s ({wall / base:4.1f}x ours)  phase {phase:5.2f}s")


if __name__ == "__main__":
    main()
