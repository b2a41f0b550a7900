#!/usr/bin/env bash
# The processes of the Celery deployment (deploy/celery/README.md). Run each on its host, with
# the project installed (pip install 'media-analysis-dagster[celery]', or this checkout's venv)
# and that host's environment set (env.example lists it).
#
#   commands.sh init           once, from any host: the four tables, then Dagster's own tables
#   commands.sh code-server    control host: definitions, sensors, schedules (runs no request)
#   commands.sh webserver      control host: the UI and GraphQL (no authentication of its own)
#   commands.sh daemon         control host: sensors, the run queue (-> broker), run monitoring
#   commands.sh worker NAME    each worker host: runs requests, CELERY_WORKER_CONCURRENCY at once
#   commands.sh check          any host: the settings load here, the broker answers
#
# Every host needs DAGSTER_HOME holding a copy of deploy/celery/dagster.yaml.
set -euo pipefail

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
WORKSPACE="${DAGSTER_WORKSPACE:-$HERE/../workspace.grpc.yaml}"
# dagster-celery starts `celery` by name: put the venv's bin first when VENV is given.
if [[ -n "${VENV:-}" ]]; then
  export PATH="$VENV/bin:$PATH"
fi

: "${DAGSTER_HOME:?set DAGSTER_HOME to a folder holding a copy of deploy/celery/dagster.yaml}"
if [[ ! -f "$DAGSTER_HOME/dagster.yaml" ]]; then
  echo "no $DAGSTER_HOME/dagster.yaml: copy deploy/celery/dagster.yaml there" >&2
  exit 2
fi

case "${1:-}" in
  init)
    media-analysis db init
    dagster instance migrate
    ;;
  code-server)
    exec dagster code-server start -m media_analysis_dagster.definitions \
      -h "${DAGSTER_CODE_SERVER_BIND:-127.0.0.1}" -p "${DAGSTER_CODE_SERVER_PORT:-4000}" \
      --location-name media_analysis_dagster
    ;;
  webserver)
    exec dagster-webserver -w "$WORKSPACE" -h "${WEBSERVER_HOST:-127.0.0.1}" \
      -p "${WEBSERVER_PORT:-3000}"
    ;;
  daemon)
    exec dagster-daemon run -w "$WORKSPACE"
    ;;
  worker)
    name="${2:?usage: commands.sh worker NAME (unique per worker, e.g. the host name)}"
    # -A and the absolute -y path are required; Celery's own options go after `--`.
    # -i imports the code location once in the worker's main process: each run's process is a
    # fork of it, and a worker whose settings cannot work refuses to start.
    exec dagster-celery worker start -A dagster_celery.app -y "$HERE/worker.yaml" \
      -n "$name" -i media_analysis_dagster.definitions \
      -- --concurrency "${CELERY_WORKER_CONCURRENCY:-1}"
    ;;
  check)
    python - <<'PY'
from dagster import DagsterInstance

import media_analysis_dagster.definitions  # noqa: F401  (loads and checks the settings)

with DagsterInstance.get() as instance:
    launcher = instance.run_launcher
    with launcher.celery.connection_for_write() as connection:
        connection.ensure_connection(max_retries=2, timeout=5)
    replies = launcher.celery.control.ping(timeout=2.0) or []
    names = sorted(name for reply in replies for name in reply)
    print(f"settings load; broker {launcher.broker.split('@')[-1]} answers; workers: {names}")
PY
    ;;
  *)
    sed -n '2,13p' "$0" >&2
    exit 2
    ;;
esac
