# Every target sets itself up: a fresh clone needs only `make run` or `make test`.
# requirements.lock pins the runtime, requirements-dev.lock the runtime plus the dev tools;
# both carry hashes and are made from pyproject.toml by `make lock`.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
PIP := $(BIN)/python -m pip --quiet --disable-pip-version-check
RUNTIME := $(VENV)/.runtime-installed
DEV := $(VENV)/.dev-installed
LOCALES := bot/i18n/locales
PO := $(wildcard $(LOCALES)/*/LC_MESSAGES/kolbot.po)
MO := $(PO:.po=.mo)
# What building kolbot needs ([build-system].requires) goes into both locks.
BUILD_REQUIRES = $(BIN)/python -c 'import tomllib; print(*tomllib.load(open("pyproject.toml", "rb"))["build-system"]["requires"], sep="\n")'
LOCK = $(BIN)/uv pip compile --quiet --universal --python-version 3.11 --generate-hashes \
	--custom-compile-command "make lock" $(if $(UPGRADE),--upgrade)

.PHONY: help setup dev run test lint unit e2e migrate translations extract clean bench lock wheel system-packages

help: ## List the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  %-12s %s\n", $$1, $$2}'

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)

# kolbot itself goes in editable, without build isolation: setuptools, wheel and Babel come
# from the lock (its build step compiles the catalogs in place).
$(RUNTIME): requirements.lock pyproject.toml setup.py | $(BIN)/python
	$(PIP) install --require-hashes -r requirements.lock
	$(PIP) install --no-deps --no-build-isolation -e .
	touch $@

$(DEV): requirements-dev.lock pyproject.toml setup.py | $(BIN)/python
	$(PIP) install --require-hashes -r requirements-dev.lock
	$(PIP) install --no-deps --no-build-isolation -e .
	touch $@

# After a .po changes; the install compiles them all the first time.
%.mo: %.po | $(BIN)/python
	$(BIN)/pybabel -q compile -D kolbot -i $< -o $@

setup: $(RUNTIME) $(MO) ## Create .venv, install the runtime lock, compile translations

dev: $(DEV) $(MO) ## The same with the dev lock: tests, linters, the lock tool

migrate: setup ## Apply database migrations
	$(BIN)/kolbot db upgrade $(MIGRATE_OPTIONS)

# `kolbot run` warns about a misspelt or old setting itself, right after: once is enough.
run: MIGRATE_OPTIONS = --no-settings-warnings
run: migrate ## Start the bot (console chat when no token is set)
	@$(BIN)/kolbot run

lint: dev ## ruff and mypy (strict)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy

# What the tests run besides Python (faketime starts a process at another instant); only what
# is missing is installed, with sudo unless root.
SYSTEM_PACKAGES := faketime
system-packages: ## Install the system packages the tests use, only those missing
	@missing=$$(for tool in $(SYSTEM_PACKAGES); do command -v $$tool >/dev/null 2>&1 || echo $$tool; done); \
	if [ -n "$$missing" ]; then \
		sudo=$$([ "$$(id -u)" = 0 ] || echo sudo); \
		echo "installing $$missing"; \
		$$sudo apt-get update -qq && $$sudo apt-get install -y -qq $$missing >/dev/null; \
	fi

# Most tests wait on a platform, a process or a timer rather than compute: three at a time
# on two cores. TEST_WORKERS=0 runs them one by one.
TEST_WORKERS ?= 3
test: lint system-packages ## Lint, then the whole test suite
	$(BIN)/pytest -q -n $(TEST_WORKERS)

bench: dev ## Measure throughput, delivery and memory against their goals (minutes)
	$(BIN)/python -m bench

extract: dev ## Refresh the message catalogs from the source
	$(BIN)/pybabel extract -F babel.cfg -k N_ -k NC_:1c,2 -o $(LOCALES)/kolbot.pot --no-location --omit-header --sort-output bot handlers jobs >/dev/null
	$(BIN)/pybabel update -D kolbot -i $(LOCALES)/kolbot.pot -d $(LOCALES) --no-fuzzy-matching --ignore-obsolete --no-wrap >/dev/null

wheel: $(RUNTIME) ## Build dist/kolbot-<version>-py3-none-any.whl, translations compiled in
	$(PIP) wheel --no-deps --no-build-isolation --wheel-dir dist .
	rm -rf build

lock: $(DEV) ## Regenerate both lock files from pyproject.toml (UPGRADE=1: newest allowed)
	$(BUILD_REQUIRES) | $(LOCK) pyproject.toml - -o requirements.lock
	$(BUILD_REQUIRES) | $(LOCK) pyproject.toml - --extra dev -c requirements.lock -o requirements-dev.lock

clean: ## Remove the virtualenv, compiled catalogs and built wheels
	rm -rf $(VENV) $(MO) build dist
