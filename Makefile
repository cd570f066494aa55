# Plinth: `make run` to try it, `make test` to check it.
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: run test check lint bench sysdeps clean

# Python keeps compiled modules (and pytest its rewritten test modules) in __pycache__/, which
# git ignores: a shell that turns that off (PYTHONDONTWRITEBYTECODE) would make every pytest
# process, xdist worker and manage.py subprocess compile everything again (collection 16 s -> 7 s).
unexport PYTHONDONTWRITEBYTECODE

$(STAMP): requirements.lock pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet --require-virtualenv -r requirements.lock
	touch $(STAMP)

run: $(STAMP)
	$(BIN)/python scripts/run.py

sysdeps:
	bash scripts/sysdeps.sh

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy audit accounts library careplans checkins questionnaires outcomes alerts reminders conversations today caseload fhir_r4 portal scripts
	$(BIN)/lint-imports

# The whole suite on throwaway PostgreSQL and Redis, in three parts (scripts/testparts.py): every
# test that needs no browser and no real services on 2 workers (a test database and a Redis
# database each), then the browser and services tests on 2 workers, then the tests marked alone
# (timings, servers restarted mid-test) one at a time; failing if any part fails.
test: $(STAMP) sysdeps lint
	rm -rf test-artifacts && mkdir -p test-artifacts
	PATH=$(CURDIR)/$(BIN):$$PATH $(BIN)/python scripts/testenv.py -- $(BIN)/python scripts/testparts.py $(PYTEST_ARGS)

# The fast lane: lint, types, import contracts and every in-process test (SQLite): no browser, no
# test marked services, which start servers (Redis, Celery, SMTP, a live server with schemathesis,
# gunicorn), and no test marked cli, which runs manage.py, pytest or another command in a
# subprocess (seconds each: Django starting again); make test runs all of them.
# Tests run on every core (pytest-xdist, one in-memory database per worker); worksteal keeps the
# few long tests (authorization matrix, page fuzzer) from ending up queued on one worker.
# The run's figures start afresh, so the closing summary shows this run's and no earlier one's.
check: lint
	rm -f test-artifacts/figures.txt test-artifacts/jobs/fault-counts.txt
	$(BIN)/python -m pytest -q -n auto --dist worksteal -m "not browser and not services and not cli" $(PYTEST_ARGS)

bench: $(STAMP) sysdeps
	PATH=$(CURDIR)/$(BIN):$$PATH $(BIN)/python scripts/testenv.py -- $(BIN)/python scripts/bench.py

clean:
	rm -rf $(VENV) var test-artifacts .mypy_cache .ruff_cache .pytest_cache
