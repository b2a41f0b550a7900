"""The deploy docs work as written: the single-host first start installs the code and creates
both databases with the SQL compose runs (checked here on a real PostgreSQL), compose runs the
same SQL and `media-analysis db init`, and every place that sets the run-status sensor limits
says 100 and 200, as the README does."""

from __future__ import annotations

import re
import shutil
import subprocess
import uuid
from pathlib import Path

import pytest
import yaml
from sqlalchemy import text
from sqlalchemy.engine import make_url

from media_analysis_dagster.db.engine import build_engine
from media_analysis_dagster.db.schema import init_database

ROOT = Path(__file__).resolve().parents[2]
DEPLOY = ROOT / "deploy"
LIMITS = {
    "DAGSTER_RUN_STATUS_SENSOR_PROCESS_LIMIT": "100",
    "DAGSTER_RUN_STATUS_SENSOR_FETCH_LIMIT": "200",
}


def first_start() -> str:
    """The shell block of deploy/README.md's "First start"."""
    readme = (DEPLOY / "README.md").read_text()
    section = readme.split("### First start", 1)[1]
    return re.search(r"```bash\n(.*?)```", section, re.S).group(1)  # type: ignore[union-attr]


def env_file(path: Path) -> dict[str, str]:
    pairs = (line.split("=", 1) for line in path.read_text().splitlines() if "=" in line)
    return {k.strip(): v.strip() for k, v in pairs if not k.lstrip().startswith("#")}


def compose() -> dict:
    return yaml.safe_load((DEPLOY / "docker-compose.yml").read_text())


def test_single_host_first_start_installs_creates_databases_and_tables() -> None:
    block = first_start()
    steps = [line for line in block.splitlines() if line and not line.startswith("#")]
    install = next(i for i, line in enumerate(steps) if "pip install ." in line)
    assert "python3 -m venv .venv" in steps[install] and "[test" not in block
    roles = re.findall(
        r"-v role=(\w+) .*?\\\n\s+-v database=(\w+) -f deploy/postgres-init.sql", block
    )
    assert roles == [("media", "media_analysis"), ("dagster", "dagster")]
    init = next(i for i, line in enumerate(steps) if "commands.sh init" in line)
    assert install < init and block.index("postgres-init.sql") < block.index("commands.sh init")
    assert "dagster.yaml" in block and "media-analysis.env.example" in block


def test_the_environment_example_matches_the_databases_and_limits() -> None:
    env = env_file(DEPLOY / "media-analysis.env.example")
    for name, value in LIMITS.items():
        assert env[name] == value
    dagster = make_url(env["DAGSTER_POSTGRES_URL"])
    tables = make_url(env["MEDIA_ANALYSIS_DATABASE_URL"])
    assert (dagster.username, dagster.database) == ("dagster", "dagster")
    assert (tables.username, tables.database) == ("media", "media_analysis")
    assert env["MEDIA_ANALYSIS_REQUIRE_DAGSTER_POSTGRES"] == "1"
    commands = (DEPLOY / "commands.sh").read_text()
    for name in ("DAGSTER_HOME", "DAGSTER_POSTGRES_URL", "MEDIA_ANALYSIS_DATABASE_URL"):
        assert name in env and name in commands


def test_every_place_sets_the_sensor_limits_to_100_and_200() -> None:
    environments = compose()["x-dagster-env"]
    for name, value in LIMITS.items():
        assert environments[name] == value
    helm = yaml.safe_load((DEPLOY / "helm" / "values.yaml").read_text())
    helm_env = {
        e["name"]: e["value"]
        for deployment in helm["dagster-user-deployments"]["deployments"]
        for e in deployment.get("env", [])
        if "value" in e
    }
    for name, value in LIMITS.items():
        assert helm_env[name] == value
    readme = (DEPLOY / "README.md").read_text()
    assert "set `100` and `200`" in readme
    everything = "\n".join(
        p.read_text() for p in DEPLOY.rglob("*") if p.is_file() and p.suffix != ".json"
    )
    for name in LIMITS:
        for value in re.findall(rf"{name}\W+(\d+)", everything):
            assert value == LIMITS[name], f"{name}={value} somewhere in deploy/"


def test_compose_runs_the_same_sql_and_db_init_before_the_processes() -> None:
    services = compose()["services"]
    mounts = services["postgres"]["volumes"]
    assert "./postgres-init.sh:/docker-entrypoint-initdb.d/10-dagster-db.sh:ro" in mounts
    assert "./postgres-init.sql:/opt/media-analysis/postgres-init.sql:ro" in mounts
    script = (DEPLOY / "postgres-init.sh").read_text()
    assert "-f /opt/media-analysis/postgres-init.sql" in script and "-v database=dagster" in script
    assert services["init"]["command"][-1] == "media-analysis db init && dagster instance migrate"
    for name in ("code-server", "webserver", "daemon"):
        assert services[name]["depends_on"]["init"] == {
            "condition": "service_completed_successfully"
        }
    for shell, path in (("sh", "postgres-init.sh"), ("bash", "commands.sh")):
        done = subprocess.run([shell, "-n", str(DEPLOY / path)], capture_output=True, text=True)
        assert done.returncode == 0, done.stderr


def psql(admin_url: str, *args: str) -> subprocess.CompletedProcess[str]:
    exe = shutil.which("psql")
    if exe is None:
        pytest.skip("no psql client here")
    url = make_url(admin_url)
    target = url.set(drivername="postgresql").render_as_string(hide_password=False)
    return subprocess.run(
        [exe, target, "-v", "ON_ERROR_STOP=1", "--no-psqlrc", *args],
        capture_output=True,
        text=True,
        timeout=60,
    )


@pytest.mark.postgres
def test_postgres_init_sql_creates_a_role_and_its_database_twice_over(pg_admin_url: str) -> None:
    """The README's step 2 on a real server: the role can log in, owns the database, and
    `db init` then creates the tables in it as that role."""
    role, database = f"ma_role_{uuid.uuid4().hex[:8]}", f"ma_db_{uuid.uuid4().hex[:8]}"
    password = "it's a p@ss; word"
    sql = str(DEPLOY / "postgres-init.sql")
    args = ["-v", f"role={role}", "-v", f"password={password}", "-v", f"database={database}"]
    try:
        for _ in range(2):
            done = psql(pg_admin_url, *args, "-f", sql)
            assert done.returncode == 0, done.stderr
        url = make_url(pg_admin_url).set(username=role, password=password, database=database)
        engine = build_engine(url.render_as_string(hide_password=False))
        try:
            init_database(engine, ROOT / "schema")
            with engine.connect() as conn:
                owner = conn.execute(
                    text("SELECT tableowner FROM pg_tables WHERE tablename = 'media_files'")
                ).scalar()
            assert owner == role
        finally:
            engine.dispose()
        missing = psql(pg_admin_url, "-v", f"role={role}", "-f", sql)
        assert missing.returncode != 0 and "needs -v password" in missing.stderr
    finally:
        psql(pg_admin_url, "-c", f'DROP DATABASE IF EXISTS "{database}" WITH (FORCE)')
        psql(pg_admin_url, "-c", f'DROP ROLE IF EXISTS "{role}"')
