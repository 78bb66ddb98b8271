# The two commands: `make run` and `make test`. Each installs what it needs first.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
DEBIAN_PACKAGES := fonts-thai-tlwg poppler-utils chromium libpango-1.0-0 libpangoft2-1.0-0 postgresql
HOST ?= 127.0.0.1
PORT ?= 5000

.PHONY: run test lint setup system-packages init demo bench clean

run: setup init
	@$(BIN)/phaen demo 2>/dev/null || echo "(demo data already loaded: passwords were printed the first time; 'phaen user token NAME' issues a new token)"
	$(BIN)/phaen serve --host $(HOST) --port $(PORT)

# Lint and types first (ruff, mypy: settings in pyproject.toml), then the whole suite twice: on
# SQLite files, then on a throw-away PostgreSQL cluster (tests/pgcluster.py; one per worker). Each
# run uses every core (pytest-xdist), a test file to one worker, so a file's module fixtures are built once.
TEST_WORKERS ?= auto
test: lint
	$(BIN)/python -m pytest -q -n $(TEST_WORKERS) --dist loadfile
	PHAEN_TEST_POSTGRES=1 $(BIN)/python -m pytest -q -n $(TEST_WORKERS) --dist loadfile

lint: setup
	$(BIN)/ruff check service tests bench
	$(BIN)/mypy

setup: system-packages $(VENV)/.installed node_modules/.installed

# Debian packages the system needs (Thai fonts and poppler for the PDFs, chromium for the
# end-to-end tests, PostgreSQL for the production database); installed only when missing.
system-packages:
	@missing=""; for p in $(DEBIAN_PACKAGES); do dpkg -s $$p >/dev/null 2>&1 || missing="$$missing $$p"; done; \
	if [ -n "$$missing" ]; then \
	  echo "installing Debian packages:$$missing"; \
	  if [ "$$(id -u)" = 0 ]; then SUDO=""; else SUDO="sudo"; fi; \
	  $$SUDO apt-get install -y -q $$missing || { $$SUDO apt-get update -q && $$SUDO apt-get install -y -q $$missing; }; \
	fi

$(VENV)/.installed: pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip
	$(BIN)/pip install -q -e ".[test]"
	touch $@

# bpmn-js for the designers' in-browser modeler, as package-lock.json pins it (served by Flask).
node_modules/.installed: package-lock.json
	@command -v npm >/dev/null || { echo "npm is needed for the process modeler (Debian: apt-get install npm)"; exit 1; }
	npm ci --no-audit --no-fund --loglevel=error
	touch $@

init: setup
	$(BIN)/phaen init

# Every benchmark, one after the other; each prints its figures last (README "Benchmarks").
bench: setup
	cd bench && ../$(BIN)/python complete_task.py && ../$(BIN)/python complete_task.py --postgres
	cd bench && ../$(BIN)/python scale.py && ../$(BIN)/python scale.py --postgres
	cd bench && ../$(BIN)/python throughput.py
	cd bench && ../$(BIN)/python verify.py
	cd bench && ../$(BIN)/python render.py

clean:
	rm -rf $(VENV) instance node_modules
