# make demo  - set up, then run the main job on the local profile
# make test  - set up, then run the checks (make lint) and the test suite
# make lint  - ruff (lint and format), import-linter's layers and mypy over the package
# make test-gcp - set up, then run the gcp profile's tests alone (the last line counts the predictions)
# make bench - set up, then run the benchmarks (never part of make test)
# make reliability - set up, then regenerate the reliability figures (bad records, killed runs, load)
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed
# checkov and hadolint for the deploy checks: their own venv, as their pins clash with ours.
DEPLOY_VENV := .venv-deploy
DEPLOY_STAMP := $(DEPLOY_VENV)/.installed

.PHONY: setup node-setup deploy-tools demo lint test test-fast test-gcp bench bench-quick reliability clean

$(PY):
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade "pip==26.3"

# Reinstall when the pinned requirements change.
$(STAMP): $(PY) pyproject.toml requirements.lock
	$(PY) -m pip install --quiet -c requirements.lock -e ".[dev,gcp]"
	touch $(STAMP)

# The real Dataform compiler, the reference our SQLX compiler is tested against. Without
# npm the conformance tests are skipped and say why.
NPM := $(shell command -v npm 2>/dev/null)
NPM_FLAGS := --no-audit --no-fund --loglevel=error
DATAFORM_PROJECTS := dataform $(wildcard tests/sqlx_project)

node-setup:
ifdef NPM
	@test -f tools/dataform-cli/node_modules/.package-lock.json -a tools/dataform-cli/node_modules/.package-lock.json -nt tools/dataform-cli/package-lock.json || (cd tools/dataform-cli && npm ci $(NPM_FLAGS))
	@for project in $(DATAFORM_PROJECTS); do \
	  test -d $$project/node_modules/@dataform/core -a $$project/node_modules -nt $$project/package.json || (cd $$project && npm install --no-package-lock $(NPM_FLAGS)) || exit 1; \
	done
else
	@echo "npm not found: the Dataform conformance tests will be skipped"
endif

$(DEPLOY_STAMP): deploy/requirements-checks.lock
	$(PYTHON) -m venv $(DEPLOY_VENV)
	$(DEPLOY_VENV)/bin/python -m pip install --quiet --upgrade "pip==26.3"
	$(DEPLOY_VENV)/bin/python -m pip install --quiet --no-deps -r deploy/requirements-checks.lock
	touch $(DEPLOY_STAMP)

deploy-tools: $(DEPLOY_STAMP)

setup: $(STAMP) node-setup deploy-tools

demo: setup
	$(VENV)/bin/winter-days demo $(DEMO_ARGS)

lint: setup
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	$(VENV)/bin/lint-imports
	$(VENV)/bin/mypy

test: setup lint
	$(PY) -m pytest -n 2 --dist loadgroup -q

# The gcp profile's tests: its adapters on the Firestore and Cloud Storage emulators and on the
# BigQuery, Dataform and Vertex AI fakes, and the end-to-end run, which writes how many
# predictions reached BigQuery to GCP_E2E_REPORT.
GCP_TESTS := tests/emulator tests/fakes tests/unit/elt/dataform_api tests/unit/ml/test_vertex.py tests/unit/warehouse \
	tests/unit/profiles tests/unit/test_gcp_credentials.py tests/unit/test_platform.py tests/unit/dashboard/test_on_bigquery.py \
	tests/unit/ml/test_features_on_bigquery.py
GCP_REPORT := $(abspath $(VENV))/gcp-e2e-report

test-gcp: setup
	@rm -f $(GCP_REPORT)
	GCP_E2E_REPORT=$(GCP_REPORT) $(PY) -m pytest -n 2 --dist loadgroup -q $(GCP_TESTS)
	@if [ -s $(GCP_REPORT) ]; then cat $(GCP_REPORT); \
	else echo "no predictions reached BigQuery: the gcp end-to-end test did not run (its skip reason is listed above)"; fi

test-fast: setup
	$(PY) -m pytest -n 2 -q -m "not slow and not browser and not emulator"

bench: setup
	$(PY) -m bench

bench-quick: setup
	$(PY) -m bench --quick

reliability: setup
	$(PY) -m bench.reliability

clean:
	rm -rf $(VENV) $(DEPLOY_VENV) .winter-days .pytest_cache
