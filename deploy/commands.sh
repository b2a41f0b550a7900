#!/usr/bin/env bash
# The single-host processes, one per subcommand (use it as a systemd ExecStart, see README.md):
#   deploy/commands.sh init                # tables + Dagster storage, once per release
#   deploy/commands.sh code-server         # port 4000: definitions, sensors, and the runs
#   deploy/commands.sh webserver           # port 3000: UI + GraphQL (no auth: keep it private)
#   deploy/commands.sh webserver-readonly  # port 3001: the same, mutations refused (viewers)
#   deploy/commands.sh daemon              # sensors, schedules, run queue, monitoring, retries
# Environment (e.g. /etc/media-analysis.env, from deploy/media-analysis.env.example): see
# deploy/README.md, which also has the install step and the databases to create first.
set -euo pipefail

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
BIN="${MEDIA_ANALYSIS_VENV:-$HERE/../.venv}/bin"
WORKSPACE="$HERE/workspace.grpc.yaml"
export DAGSTER_CODE_SERVER_HOST="${DAGSTER_CODE_SERVER_HOST:-127.0.0.1}"
# `pip install .` does not ship schema/: `db init` reads it from this checkout.
export MEDIA_ANALYSIS_SCHEMA_DIR="${MEDIA_ANALYSIS_SCHEMA_DIR:-$HERE/../schema}"

need() {
  for name in "$@"; do
    [ -n "${!name:-}" ] || { echo "commands.sh: $name is not set" >&2; exit 2; }
  done
}
need DAGSTER_HOME DAGSTER_POSTGRES_URL
[ -f "$DAGSTER_HOME/dagster.yaml" ] || {
  echo "commands.sh: copy dagster.yaml to $DAGSTER_HOME/dagster.yaml" >&2; exit 2; }

case "${1:-}" in
  init)
    need MEDIA_ANALYSIS_DATABASE_URL
    "$BIN/media-analysis" db init
    "$BIN/dagster" instance migrate
    ;;
  code-server)
    need MEDIA_ANALYSIS_DATABASE_URL MEDIA_ANALYSIS_DATA_DIR
    exec "$BIN/dagster" code-server start -m media_analysis_dagster.definitions \
      --location-name media_analysis_dagster -h "$DAGSTER_CODE_SERVER_HOST" -p 4000
    ;;
  webserver)
    exec "$BIN/dagster-webserver" -w "$WORKSPACE" -h "${WEBSERVER_HOST:-127.0.0.1}" -p 3000
    ;;
  webserver-readonly)
    exec "$BIN/dagster-webserver" -w "$WORKSPACE" -h "${WEBSERVER_HOST:-127.0.0.1}" -p 3001 \
      --read-only
    ;;
  daemon)
    exec "$BIN/dagster-daemon" run -w "$WORKSPACE"
    ;;
  *)
    sed -n '2,8p' "$0" >&2
    exit 2
    ;;
esac
