-- A login role and a database it owns, each created only when missing (safe to run twice).
-- The one SQL for both ways of running PostgreSQL (deploy/README.md):
--
-- Single host, as a superuser, once per database (the four tables, then Dagster's own storage):
--   sudo -u postgres psql -v ON_ERROR_STOP=1 -v role=media -v password="$MEDIA_DB_PASSWORD" \
--     -v database=media_analysis -f deploy/postgres-init.sql
--   sudo -u postgres psql -v ON_ERROR_STOP=1 -v role=dagster -v password="$DAGSTER_DB_PASSWORD" \
--     -v database=dagster -f deploy/postgres-init.sql
--
-- docker compose: deploy/postgres-init.sh runs it on the first start of an empty volume, for
-- Dagster's database (the image itself creates POSTGRES_USER and POSTGRES_DB for the tables).
--
-- An existing role keeps its password (change it with ALTER ROLE); an existing database keeps
-- its owner. The tables come from `media-analysis db init`, Dagster's own from
-- `dagster instance migrate` (both in `deploy/commands.sh init`).

\if :{?role}
\else
  DO $$ BEGIN RAISE EXCEPTION 'postgres-init.sql needs -v role=NAME -v password=SECRET -v database=NAME'; END $$;
\endif
\if :{?password}
\else
  DO $$ BEGIN RAISE EXCEPTION 'postgres-init.sql needs -v password=SECRET (the role''s password)'; END $$;
\endif
\if :{?database}
\else
  DO $$ BEGIN RAISE EXCEPTION 'postgres-init.sql needs -v database=NAME'; END $$;
\endif

SELECT format('CREATE ROLE %I LOGIN PASSWORD %L', :'role', :'password')
WHERE NOT EXISTS (SELECT FROM pg_roles WHERE rolname = :'role') \gexec

SELECT format('CREATE DATABASE %I OWNER %I', :'database', :'role')
WHERE NOT EXISTS (SELECT FROM pg_database WHERE datname = :'database') \gexec
