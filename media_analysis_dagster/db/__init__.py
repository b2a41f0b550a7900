"""The seed's four tables (and the tables we add) and the one store through which all SQL runs.

``models`` maps the tables (PostgreSQL and SQLite), ``engine`` builds engines, ``store`` holds
every query the pipeline, sensors, schedules and CLI need, ``schema`` applies ``schema/*.sql``.
This package knows no Dagster steps, pixels or API calls.
"""
