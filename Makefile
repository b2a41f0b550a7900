# Two commands on a fresh machine: `make demo` and `make test`. Everything else is optional.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
DATA_DIR ?= $(CURDIR)/.media_analysis
DEV_HOME ?= $(DATA_DIR)/dagster_home
PYTEST_ARGS ?=

.PHONY: install demo test test-faults lint typecheck dev bench bench-drain bench-faults clean fake-providers

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e ".[test,dev]"
	$(BIN)/pip check
	touch $(STAMP)

install: $(STAMP)

## Analyse a generated sample video end to end on the embedded defaults (SQLite, local files,
## the offline internal provider) and print the request, its results and its contact sheets.
demo: $(STAMP)
	MEDIA_ANALYSIS_DATA_DIR=$${MEDIA_ANALYSIS_DATA_DIR:-$(DATA_DIR)} $(BIN)/media-analysis demo $(if $(MEDIA),--media "$(MEDIA)")

## The whole suite: dependency check, lint, type check, tests (PostgreSQL included).
test: $(STAMP)
	$(BIN)/pip check
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy
	$(BIN)/pytest -q -p no:cacheprovider $(PYTEST_ARGS)

## Only the fault-injection scenarios (restarts, a full disk) with tens of rows; `make test`
## runs them too.
test-faults: $(STAMP)
	$(BIN)/pytest -q -p no:cacheprovider -m faults

lint: $(STAMP)
	$(BIN)/ruff check . && $(BIN)/ruff format --check .

typecheck: $(STAMP)
	$(BIN)/mypy

## Dagster UI + daemon on the embedded default instance (SQLite under .media_analysis/).
dev: $(STAMP)
	mkdir -p $(DEV_HOME)
	cp -n deploy/dagster.dev.yaml $(DEV_HOME)/dagster.yaml 2>/dev/null || true
	MEDIA_ANALYSIS_DATA_DIR=$${MEDIA_ANALYSIS_DATA_DIR:-$(DATA_DIR)} $(BIN)/media-analysis db init
	DAGSTER_HOME=$(DEV_HOME) MEDIA_ANALYSIS_DATA_DIR=$${MEDIA_ANALYSIS_DATA_DIR:-$(DATA_DIR)} \
		$(BIN)/dagster dev -w workspace.yaml

## A local server that speaks the providers' wire formats (prints the *_BASE_URL exports).
## Like every target it runs in the repository root, where media_analysis_fixtures/ (test
## support, not installed) is found.
fake-providers: $(STAMP)
	$(BIN)/python -m media_analysis_fixtures.fake_providers --port 8765

## Benchmarks (not tests): ratios against ffmpeg's CLI, PyAV's floor and PySceneDetect;
## speech-to-text real-time factor and word error rate; artifact upload cost. Each runs as a
## module from the repository root (benchmarks/ and media_analysis_fixtures/ are found there,
## neither is installed); `python -m benchmarks.<name> --help` lists its options.
bench: $(STAMP)
	$(BIN)/python -m benchmarks.frames
	$(BIN)/python -m benchmarks.scenes
	$(BIN)/python -m benchmarks.speech
	$(BIN)/python -m benchmarks.storage
	$(BIN)/python -m benchmarks.executors

## Pending row -> run start latency and burst throughput, with the three processes on PostgreSQL.
bench-drain: $(STAMP)
	$(BIN)/python -m benchmarks.drain

## Faults under load: bursts, PostgreSQL/daemon/code-server restarts, a full disk.
bench-faults: $(STAMP)
	$(BIN)/python -m benchmarks.faults

clean:
	rm -rf $(VENV) .pytest_cache .ruff_cache .mypy_cache
