# Two commands on a fresh machine: `make demo` and `make test`. Everything else is optional.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
# Two installs: what the product runs (`make demo`, `make dev`), and that plus the test and dev
# tools (`make test`, benchmarks). Each has its own stamp, redone when pyproject.toml changes.
RUNTIME_STAMP := $(VENV)/.installed-runtime
STAMP := $(VENV)/.installed
DATA_DIR ?= $(CURDIR)/.media_analysis
DEV_HOME ?= $(DATA_DIR)/dagster_home
PORT ?= 3000
LOG_LEVEL ?= warning
PYTEST_ARGS ?=
# Banners nobody can act on: setuptools' note on every editable install, and dagster's advice to
# use `dg dev` (a separate CLI that `make dev` does not need). Filtered by message, nothing else.
QUIET_EDITABLE := PYTHONWARNINGS="ignore:Editable installation"
QUIET_DEV := PYTHONWARNINGS='ignore:Function `dev_command` is superseded'

.PHONY: install install-runtime demo test test-faults lint typecheck dev bench bench-drain bench-faults bench-scale clean fake-providers

$(VENV)/bin/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip

$(RUNTIME_STAMP): pyproject.toml $(VENV)/bin/python
	$(QUIET_EDITABLE) $(BIN)/pip install --quiet -e .
	$(BIN)/pip check
	touch $(RUNTIME_STAMP)

$(STAMP): pyproject.toml $(VENV)/bin/python
	$(QUIET_EDITABLE) $(BIN)/pip install --quiet -e ".[test,dev]"
	$(BIN)/pip check
	touch $(STAMP) $(RUNTIME_STAMP)

install-runtime: $(RUNTIME_STAMP)

install: $(STAMP)

## Analyse a generated sample video (or MEDIA=/path/to/file) end to end on the embedded defaults
## (SQLite, local files, the offline internal provider) and print the request, its results and
## its contact sheets. Installs only what the product runs.
demo: $(RUNTIME_STAMP)
	MEDIA_ANALYSIS_DATA_DIR=$${MEDIA_ANALYSIS_DATA_DIR:-$(DATA_DIR)} $(BIN)/media-analysis demo $(if $(MEDIA),--media "$(MEDIA)")
	@echo
	@echo "The command line is $(BIN)/media-analysis (or run 'source $(VENV)/bin/activate' once per"
	@echo "shell, then plain media-analysis). From this folder, on the same tables:"
	@echo "  $(BIN)/media-analysis requests                 # the requests so far"
	@echo "  $(BIN)/media-analysis status REQUEST_ID        # one request, readable"
	@echo "  $(BIN)/media-analysis report REQUEST_ID        # its HTML report"
	@echo "  $(BIN)/media-analysis --help"
	@echo "Files to analyse go in $${MEDIA_ANALYSIS_DATA_DIR:-$(DATA_DIR)}/inbox; 'make dev' starts the Dagster UI."

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

## Dagster UI + daemon on the embedded default instance (SQLite under .media_analysis/), UI on
## http://127.0.0.1:$(PORT). Run from the dev instance's folder (DAGSTER_HOME) with a workspace
## written there, so the production ./dagster.yaml is neither used nor warned about. The
## terminal shows warnings and errors only; LOG_LEVEL=info shows every sensor tick too.
dev: $(RUNTIME_STAMP)
	mkdir -p $(abspath $(DEV_HOME))
	cp -n deploy/dagster.dev.yaml $(abspath $(DEV_HOME))/dagster.yaml 2>/dev/null || true
	printf 'load_from:\n  - python_module:\n      module_name: media_analysis_dagster.definitions\n      working_directory: %s\n      location_name: media_analysis_dagster\n' \
		"$(CURDIR)" > $(abspath $(DEV_HOME))/workspace.yaml
	MEDIA_ANALYSIS_DATA_DIR=$${MEDIA_ANALYSIS_DATA_DIR:-$(DATA_DIR)} $(BIN)/media-analysis db init
	@echo "Dagster UI: http://127.0.0.1:$(PORT)   (log level $(LOG_LEVEL); make dev LOG_LEVEL=info for more)"
	cd $(abspath $(DEV_HOME)) && DAGSTER_HOME=$(abspath $(DEV_HOME)) \
		MEDIA_ANALYSIS_DATA_DIR=$${MEDIA_ANALYSIS_DATA_DIR:-$(DATA_DIR)} \
		$(QUIET_DEV) $(abspath $(BIN))/dagster dev -w workspace.yaml -p $(PORT) --log-level $(LOG_LEVEL)

## A local server that speaks the providers' wire formats (prints the *_BASE_URL exports).
## Like every target it runs in the repository root, where media_analysis_fixtures/ (test
## support, not installed) is found.
fake-providers: $(STAMP)
	$(BIN)/python -m media_analysis_fixtures.fake_providers --port 8765

## Benchmarks (not tests): ratios against ffmpeg's CLI, PyAV's floor and PySceneDetect;
## speech-to-text real-time factor and word error rate; artifact upload cost; search latency;
## OCR accuracy and CPU time against Debian's tesseract where installed. Each runs as a
## module from the repository root (benchmarks/ and media_analysis_fixtures/ are found there,
## neither is installed); `python -m benchmarks.<name> --help` lists its options.
bench: $(STAMP)
	$(BIN)/python -m benchmarks.frames
	$(BIN)/python -m benchmarks.scenes
	$(BIN)/python -m benchmarks.speech
	$(BIN)/python -m benchmarks.storage
	$(BIN)/python -m benchmarks.executors
	$(BIN)/python -m benchmarks.search
	$(BIN)/python -m benchmarks.ocr

## The Celery deployment with 1, 2 and 3 workers and what each request costs the shared parts
## (about 20 minutes; deploy/celery/README.md, "How far it goes").
bench-scale: $(STAMP)
	$(BIN)/python -m benchmarks.scale

## Pending row -> run start latency and burst throughput, with the three processes on PostgreSQL.
bench-drain: $(STAMP)
	$(BIN)/python -m benchmarks.drain

## Faults under load: bursts, PostgreSQL/daemon/code-server restarts, a full disk.
bench-faults: $(STAMP)
	$(BIN)/python -m benchmarks.faults

clean:
	rm -rf $(VENV) .pytest_cache .ruff_cache .mypy_cache
