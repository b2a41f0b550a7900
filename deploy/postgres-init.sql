-- Dagster's own storage lives in its own database on the same server (DESIGN.md section 3).
CREATE DATABASE dagster OWNER media;
