# Two commands: `make run` (everything on one machine) and `make test` (the whole suite, as CI runs it).
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-stamp

.PHONY: run test lint typecheck unit clean-db lock

$(STAMP): pyproject.toml requirements.lock
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	# The runtime dependencies exactly as locked (and audited), then the project and its dev tools around them.
	$(BIN)/python -m pip install --quiet -r requirements.lock
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

# The whole suite, including tests/security: the schemathesis run against the OpenAPI description, the
# dependency audit of requirements.lock (asks PyPI's JSON API), and the scan for secrets in tracked files.
test: lint typecheck
	$(BIN)/pytest

# Re-resolve the runtime dependencies to their newest allowed releases, with hashes, and install them. Run it
# after changing pyproject's dependencies, or when the audit reports a pin it cannot audit or a vulnerability.
lock: $(STAMP)
	CUSTOM_COMPILE_COMMAND="make lock" $(BIN)/pip-compile --quiet --upgrade --generate-hashes --strip-extras \
		--no-emit-index-url --no-emit-find-links --output-file=requirements.lock pyproject.toml
	printf '%s\n' $(LOCK_HEADER) | cat - requirements.lock > requirements.lock.tmp && mv requirements.lock.tmp requirements.lock
	$(BIN)/python -m pip install --quiet -r requirements.lock

LOCK_HEADER := \
	"\# Why pip-compile: it resolves exactly the runtime dependencies of pyproject.toml (what the image ships) and" \
	"\# pins each with its hashes; a pip freeze of the venv would mix in the dev tools and whatever else is" \
	"\# installed, without hashes. The suite audits these pins (tests/security/test_dependency_audit.py) and checks" \
	"\# that the venv runs them. Regenerate with \`make lock\`, never by hand."

clean-db:
	rm -f var/gateway.db var/gateway.db-wal var/gateway.db-shm
