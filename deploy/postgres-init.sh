#!/bin/sh
# docker compose: the postgres image runs this once, when its data volume is empty
# (/docker-entrypoint-initdb.d). The image has already created POSTGRES_USER, the owner of
# POSTGRES_DB (the four tables); this adds Dagster's own database, owned by the same role, with
# the SQL a single host runs by hand (deploy/postgres-init.sql).
set -e
psql -v ON_ERROR_STOP=1 --no-psqlrc --username "$POSTGRES_USER" --dbname postgres \
  -v role="$POSTGRES_USER" -v password="$POSTGRES_PASSWORD" -v database=dagster \
  -f /opt/media-analysis/postgres-init.sql
