"""The shipped n8n workflows in a real n8n 2.x, set up by running docs/n8n/README.md's quick start
word for word, against real PostgreSQL and (for the launch workflows) the three real Dagster
processes (``media_analysis_fixtures.stack``).

What is checked is what a caller of the webhooks sees: values with commas arrive intact, every
error answers a non-2xx JSON reason, a launched request completes, and the callback workflow
resumes on a correctly signed callback and refuses a wrongly signed one.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml

from media_analysis_dagster.net.webhooks import deliver
from media_analysis_dagster.pipeline.callbacks import build_payload
from media_analysis_fixtures import make_video, pg
from media_analysis_fixtures.graphql import JOB, runs
from media_analysis_fixtures.processes import wait_until
from media_analysis_fixtures.stack import DagsterStack, StackSettings

from .harness import N8n, install, running

pytestmark = [
    pytest.mark.integration,
    pytest.mark.postgres,
    pytest.mark.skipif(
        not (shutil.which("npm") and shutil.which("node") and shutil.which("jq")),
        reason="needs Node.js with npm, and jq (docs/n8n/README.md's quick start uses it)",
    ),
]

ROOT = Path(__file__).resolve().parents[2]
README = ROOT / "docs" / "n8n" / "README.md"
SECRET = "n8n-test-callback-secret"
PROMPT = "Who is in it, what happens, and where?"
WEBHOOKS = ("media-analysis/submit", "media-analysis", "media-analysis/callback")
RUN_DEADLINE_S = 120.0


# -- the README's quick start ---------------------------------------------------------------------
def quick_start_blocks() -> list[str]:
    text = README.read_text()
    section = text.split("## Quick start", 1)[1].split("\n## ", 1)[0]
    return [
        re.sub(r"^ {3}", "", block, flags=re.M)
        for block in re.findall(r"```bash\n(.*?)```", section, re.S)
    ]


def readme_setup(n8n: N8n, variables: dict[str, str]) -> None:
    """Steps 1-5 of the quick start: the variables of step 1 get the test's values, steps 3-5
    run as written (bash, from the repository root, with this n8n's environment)."""
    blocks = quick_start_blocks()
    assert len(blocks) == 6, "variables, credentials, workflows, publish, start, curl"
    exported = set(re.findall(r"\b([A-Z][A-Z0-9_]+)=", blocks[0]))
    assert exported == set(variables), exported
    assert "n8n start" in blocks[4] and "WEBHOOK_URL" in blocks[4]
    script = "set -euo pipefail\n" + "\n".join(blocks[1:4])
    env = {**n8n.env, **variables, "PATH": f"{n8n.binary.parent}:{os.environ['PATH']}"}
    done = subprocess.run(
        ["bash", "-c", script], cwd=ROOT, env=env, capture_output=True, text=True, timeout=600
    )
    assert done.returncode == 0, (done.stdout + done.stderr)[-4000:]


def readme_first_request() -> tuple[str, dict[str, Any]]:
    """Step 7's webhook path and JSON body."""
    block = quick_start_blocks()[5]
    [path] = re.findall(r"/webhook/([\w/-]+)", block)
    [body] = re.findall(r"-d '(\{.*?\})'", block, re.S)
    return path, json.loads(body)


# -- fixtures -----------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def databases(pg_admin_url: str) -> Iterator[tuple[str, str, str]]:
    """Dagster's storage and the four tables (schema applied here, as `media-analysis db init`
    would); the third value is the tables' database name for n8n's credential."""
    from media_analysis_dagster.db.engine import build_engine
    from media_analysis_dagster.db.schema import init_database

    dagster_db = pg.create_database(pg_admin_url, prefix="ma_n8n_dagster")
    tables_db = pg.create_database(pg_admin_url, prefix="ma_n8n_tables")
    try:
        engine = build_engine(pg.with_database(pg_admin_url, tables_db))
        init_database(engine)
        engine.dispose()
        yield (
            pg.with_database(pg_admin_url, dagster_db),
            pg.with_database(pg_admin_url, tables_db),
            tables_db,
        )
    finally:
        pg.drop_database(pg_admin_url, tables_db)
        pg.drop_database(pg_admin_url, dagster_db)


@pytest.fixture(scope="module")
def stack_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("stack")


@pytest.fixture(scope="module")
def dagster_port() -> int:
    from media_analysis_fixtures.processes import free_port

    return free_port()


@pytest.fixture(scope="module")
def n8n(
    databases: tuple[str, str, str],
    dagster_port: int,
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[N8n]:
    """n8n set up by the README's steps, started, and every webhook answering."""
    from sqlalchemy.engine import make_url

    started = time.monotonic()
    instance = N8n(install(), tmp_path_factory.mktemp("n8n"))
    installed = time.monotonic()
    url = make_url(databases[1])
    readme_setup(
        instance,
        {
            "DAGSTER_URL": f"http://127.0.0.1:{dagster_port}",
            "PGHOST": url.host or "127.0.0.1",
            "PGPORT": str(url.port or 5432),
            "PGDATABASE": databases[2],
            "PGUSER": url.username or "postgres",
            "PGPASSWORD": url.password or "",
            "MEDIA_ANALYSIS_CALLBACK_SECRET": SECRET,
        },
    )
    imported = time.monotonic()
    with running(instance):
        for path in WEBHOOKS:  # published workflows activate after /healthz answers

            def answers(path: str = path) -> bool:
                return instance.post(path, {}, timeout=10)[0] == 400

            wait_until(answers, timeout=60, what=f"the webhook {path}", interval=0.5)
        print(
            f"\nn8n: install/cache {installed - started:.1f} s, README steps "
            f"{imported - installed:.1f} s, start {time.monotonic() - imported:.1f} s"
        )
        yield instance


@pytest.fixture(scope="module")
def stack(
    databases: tuple[str, str, str], stack_dir: Path, dagster_port: int
) -> Iterator[DagsterStack]:
    settings = StackSettings(
        dagster_postgres_url=databases[0],
        database_url=databases[1],
        base_dir=stack_dir,
        env={
            "MEDIA_ANALYSIS_SENSOR_INTERVAL_S": "2",
            "MEDIA_ANALYSIS_CALLBACK_SECRET": SECRET,
            "MEDIA_ANALYSIS_CALLBACK_ALLOW": "127.0.0.1",
        },
    )
    running_stack = DagsterStack(settings)
    running_stack.web_port = dagster_port  # the address the README put into the workflows
    with running_stack:
        yield running_stack


@pytest.fixture(scope="module")
def inbox_clip(stack: DagsterStack, tmp_path_factory: pytest.TempPathFactory) -> Path:
    clip = make_video(tmp_path_factory.mktemp("clips") / "clip.mp4", duration=2.0, size=(160, 120))
    target = stack.inbox / clip.name
    shutil.copyfile(clip, target)
    return target


def rows(database_url: str, sql: str, *params: Any) -> list[dict[str, Any]]:
    import psycopg2.extras

    conn = psycopg2.connect(database_url, connect_timeout=10)
    try:
        conn.autocommit = True
        with conn.cursor(cursor_factory=psycopg2.extras.RealDictCursor) as cur:
            cur.execute(sql, params)
            return [dict(r) for r in cur.fetchall()] if cur.description else []
    finally:
        conn.close()


def in_thread(call: Any) -> tuple[threading.Thread, list[Any]]:
    box: list[Any] = []
    thread = threading.Thread(target=lambda: box.append(call()), daemon=True)
    thread.start()
    return thread, box


# -- insert_pending_row ---------------------------------------------------------------------------
def test_insert_keeps_every_value_and_answers_errors(
    n8n: N8n, databases: tuple[str, str, str]
) -> None:
    tables = databases[1]
    body = {
        "media_path": "/nowhere/clip, with commas.mp4",
        "prompt": PROMPT,
        "created_by": "ops, night shift",
        "user_metadata": {"frame_count": 6, "note": "a, b"},
        "callback_url": "https://hooks.example.com/done?a=1,2",
    }
    status, answer = n8n.post("media-analysis/submit", body)
    assert status == 202, answer
    assert answer["status"] == "pending" and answer["request_id"]
    [row] = rows(
        tables, "SELECT * FROM media_analysis_requests WHERE request_id = %s", answer["request_id"]
    )
    try:
        assert row["prompt"] == PROMPT and row["created_by"] == "ops, night shift"
        assert row["media_path"] == body["media_path"] and row["media_url"] is None
        assert row["media_type"] == "auto" and row["source_endpoint"] == "n8n"
        assert row["user_metadata"] == {
            **body["user_metadata"],
            "callback_url": body["callback_url"],
        }
    finally:
        rows(
            tables,
            "DELETE FROM media_analysis_requests WHERE request_id = %s",
            answer["request_id"],
        )

    for bad, reason in [
        ({"prompt": PROMPT}, "media_url or media_path is required."),
        ({"media_url": "https://x/a.mp4", "media_path": "/a.mp4"}, "not both"),
        ({"media_url": "https://x/a.mp4", "media_type": "image"}, "media_type must be one of"),
        ({"media_url": "https://x/a.mp4", "prompt": 5}, "prompt must be a string."),
        ({"media_url": "https://x/a.mp4", "user_metadata": [1]}, "user_metadata must be"),
        ({"media_url": "https://x/a.mp4", "callback_url": "ftp://x"}, "callback_url must be"),
        ([1, 2], "must be a JSON object"),
    ]:
        status, answer = n8n.post("media-analysis/submit", bad)
        assert status == 400 and reason in answer["error"], (bad, status, answer)
    # The database refuses a NUL character: a JSON 503, not an empty 200.
    status, answer = n8n.post(
        "media-analysis/submit", {"media_url": "https://x/a", "prompt": "a\u0000b"}
    )
    assert status == 503 and answer["error"].startswith("The request could not be stored: ")
    assert "\\u0000" in answer["error"] or "Unicode" in answer["error"], answer
    assert rows(tables, "SELECT count(*) AS n FROM media_analysis_requests")[0]["n"] == 0


# -- launch_and_wait ------------------------------------------------------------------------------
@pytest.mark.timeout(400)
def test_launch_and_wait_answers_the_result(
    n8n: N8n, stack: DagsterStack, inbox_clip: Path
) -> None:
    path, body = readme_first_request()
    assert path == "media-analysis"
    body["media_path"] = str(inbox_clip)  # the README's example path, here
    outside = {"media_path": "/etc/hostname", "prompt": "never read"}
    first, first_box = in_thread(lambda: n8n.post(path, body, timeout=RUN_DEADLINE_S))
    second, second_box = in_thread(lambda: n8n.post(path, outside, timeout=RUN_DEADLINE_S))
    status, answer = n8n.post(path, {"media_path": str(inbox_clip), "created_by": 5})
    assert (status, answer) == (422, {"error": "created_by must be text, not 5."})
    first.join(RUN_DEADLINE_S + 5)
    second.join(RUN_DEADLINE_S + 5)

    [(status, answer)] = first_box
    assert status == 200, answer
    assert answer["run_status"] == "SUCCESS", (answer, stack.describe())
    request = answer["request"]
    assert request["status"] == "completed" and request["prompt"] == body["prompt"]
    assert request["results"] and request["contact_sheets"], request

    [(status, answer)] = second_box
    assert status == 200 and answer["run_status"] == "FAILURE", answer
    assert answer["request"]["status"] == "failed" and answer["request"]["error_message"]


REFUSED_BODIES: list[tuple[dict[str, Any], str]] = [
    # (body fields beside the media, the 422 sentence): refused by the validator at launch ...
    ({"frame_count": 500}, "frame_count must be between 1 and 200, not 500."),
    ({"grid_cols": 0}, "grid_cols must be between 1 and 10, not 0."),
    (
        {"providers": ["openia"]},
        "providers must name known providers (anthropic, deepgram, google, groq, internal, "
        "minimax, openai), not 'openia'.",
    ),
    (
        {"callback_url": "ftp://hooks.example.com/x"},
        "callback_url must be an http(s) URL, not 'ftp://hooks.example.com/x'.",
    ),
    # ... and by the config schema, before the validator
    ({"frame_count": "many"}, "frame_count must be a whole number, not 'many'."),
    ({"provider_options": ["diarize"]}, "provider_options must be a JSON object, not ['diarize']."),
]


@pytest.mark.timeout(300)
def test_launch_refusals_answer_422_with_the_sentence(
    n8n: N8n, stack: DagsterStack, inbox_clip: Path
) -> None:
    """Every config the launch refuses answers 422 ``{"error": <the sentence>}`` at once, in
    both launch workflows, and no run is created."""
    before = {r["runId"] for r in runs(stack)}
    media = {"media_path": str(inbox_clip)}
    cases = [
        ("media-analysis", {**media, **options}, sentence) for options, sentence in REFUSED_BODIES
    ]
    cases += [
        (
            "media-analysis",
            {"media_url": "ftp://example.com/clip.mp4"},
            "media_url must be an http(s) URL, or an s3:// or gs:// URL of the bucket's inbox, "
            "not 'ftp://example.com/clip.mp4'.",
        ),
        (
            "media-analysis/callback",
            {**media, "frame_count": 0},
            "frame_count must be between 1 and 200, not 0.",
        ),
    ]
    for path, body, sentence in cases:
        status, answer = n8n.post(path, body, timeout=60)
        assert (status, answer) == (422, {"error": sentence}), (path, body, n8n.log(20))
    assert {r["runId"] for r in runs(stack)} == before, "a refused launch created a run"


# -- launch_and_callback --------------------------------------------------------------------------
RUN_CONFIGS = """
query RunConfigs($filter: RunsFilter) { runsOrError(filter: $filter, limit: 20) {
  ... on Runs { results { runId runConfigYaml } } } }
"""


def callback_url_of_new_run(
    stack: DagsterStack, seen: set[str], run_id: str | None = None
) -> tuple[str, str]:
    """The run the callback workflow just launched (or ``run_id``) and its ``callback_url``
    (n8n's ``$execution.resumeUrl``)."""

    def find() -> tuple[str, str] | None:
        answer = stack.graphql(RUN_CONFIGS, {"filter": {"pipelineName": JOB}})
        for run in answer["runsOrError"]["results"]:
            config = yaml.safe_load(run["runConfigYaml"]) or {}
            url = config.get("ops", {}).get("register_request", {}).get("config", {})
            url = url.get("callback_url")
            if url and run["runId"] not in seen and run_id in (None, run["runId"]):
                return run["runId"], url
        return None

    return wait_until(find, timeout=30, what="the callback workflow's run", interval=0.2)


@pytest.mark.timeout(300)
def test_callback_workflow_checks_the_signature(
    n8n: N8n, stack: DagsterStack, inbox_clip: Path
) -> None:
    """Resume the Wait node by hand, within a second of the launch (long before the run can
    call back itself): a wrong secret is refused with a 502 JSON reason, the right one answers
    the callback's status, and a second delivery to the same URL resumes nothing."""
    seen: set[str] = set()
    for secret, expected in [("not-the-secret", 502), (SECRET, 200)]:
        body = {"media_path": str(inbox_clip), "prompt": PROMPT}
        call, box = in_thread(
            lambda body=body: n8n.post("media-analysis/callback", body, timeout=90)
        )
        run_id, resume_url = callback_url_of_new_run(stack, seen)
        seen.add(run_id)
        assert resume_url.startswith(f"{n8n.url}/webhook-waiting/"), resume_url
        payload = build_payload(
            request_id="3f2b8f0e-5b5c-4c1e-9a59-2f4f1d1c8a10",
            status="completed",
            dagster_run_id=run_id,
            summary="A test pattern, with commas, and no speech.",
            result_types=["summary"],
        )
        # n8n answers 409 until the execution waits; deliver() retries that.
        outcome = deliver(resume_url, payload, secret=secret, allow="127.0.0.1", base_delay=0.3)
        assert outcome.delivered, outcome
        call.join(60)
        [(status, answer)] = box
        assert status == expected, answer
        if expected == 502:
            assert "signature did not verify" in answer["error"] and answer["run_id"] == run_id
        else:
            assert answer["status"] == "completed" and answer["run_id"] == run_id
            assert answer["callback"]["summary"] == payload["summary"]
        again = deliver(resume_url, payload, secret=secret, allow="127.0.0.1", attempts=1)
        assert not again.delivered, "a Wait node resumes once"


@pytest.mark.timeout(300)
def test_callback_workflow_resumes_once_with_the_final_status(
    n8n: N8n, stack: DagsterStack, inbox_clip: Path
) -> None:
    """The whole loop: n8n launches, the pipeline (``CallbackResource``) posts the signed end
    of the request to the Wait node's resume URL, n8n answers the caller with it."""
    status, answer = n8n.post(
        "media-analysis/callback",
        {"media_path": str(inbox_clip), "prompt": PROMPT},
        timeout=RUN_DEADLINE_S,
    )
    assert status == 200, (answer, stack.describe())
    assert (
        answer["status"] == "completed" and answer["callback"]["dagster_run_id"] == answer["run_id"]
    )
    [row] = rows(
        stack.settings.database_url,
        "SELECT status, prompt FROM media_analysis_requests WHERE request_id = %s",
        answer["request_id"],
    )
    assert row == {"status": "completed", "prompt": PROMPT}
    assert "summary" in answer["callback"]["result_types"]
    _, resume_url = callback_url_of_new_run(stack, set(), run_id=answer["run_id"])
    again = deliver(resume_url, answer["callback"], secret=SECRET, allow="127.0.0.1", attempts=1)
    assert not again.delivered and again.status_code == 409, "the Wait node resumed once"
