# Two commands: `make run` (everything on one machine) and `make test` (the whole suite, as CI runs it).
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-stamp

.PHONY: run test lint typecheck unit clean-db

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	# OPA's own Go evaluator, for proving the policies mean the same on real OPA. Test-only; its metadata
	# asks for Python 3.14 but it runs on 3.11.
	$(BIN)/python -m pip install --quiet --ignore-requires-python 'opa-golib-python-bindings>=0.4'
	touch $(STAMP)

run: $(STAMP)
	$(BIN)/gateway run

lint: $(STAMP)
	$(BIN)/ruff check gateway adapters tests bench

typecheck: $(STAMP)
	$(BIN)/mypy

test: lint typecheck
	$(BIN)/pytest

clean-db:
	rm -f var/gateway.db var/gateway.db-wal var/gateway.db-shm
