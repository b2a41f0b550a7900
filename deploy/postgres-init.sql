-- Dagster's own storage lives in its own database on the same server (README, "Configuration").
CREATE DATABASE dagster OWNER media;
