PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
CONFIG ?= config/idp.toml

.PHONY: serve test test-docker lint bench clean

$(BIN)/idp: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e .
	touch $@

$(VENV)/.test-deps: $(BIN)/idp
	$(BIN)/pip install --quiet -e '.[test]'
	touch $@

serve: $(BIN)/idp
	$(BIN)/idp --config $(CONFIG) serve --demo --access-log

test: $(VENV)/.test-deps
	$(BIN)/ruff check .
	$(BIN)/mypy
	$(BIN)/python -m pytest -q

# docker-compose.yml in Docker: images built here (dockerd started when none runs, a
# Debian base from debootstrap), the stack up, a login through HAProxy, all torn down.
# A few minutes; `make test` runs the same test with the services as plain processes.
test-docker: $(VENV)/.test-deps
	POCKET_DEPLOY=docker $(BIN)/python -m pytest -q -m docker

lint: $(VENV)/.test-deps
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy

bench: $(BIN)/idp
	$(BIN)/python bench/run.py $(ARGS)

clean:
	rm -rf $(VENV) var
