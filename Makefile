# Every target sets itself up: a fresh clone needs only `make run` or `make test`.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
LOCALES := bot/i18n/locales
PO := $(wildcard $(LOCALES)/*/LC_MESSAGES/kolbot.po)
MO := $(PO:.po=.mo)

.PHONY: help setup run test lint unit e2e migrate translations extract clean bench

help: ## List the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  %-12s %s\n", $$1, $$2}'

$(STAMP): requirements.lock pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --disable-pip-version-check -r requirements.lock
	$(BIN)/pip install --quiet --disable-pip-version-check --no-deps --no-build-isolation -e .
	touch $(STAMP)

%.mo: %.po $(STAMP)
	$(BIN)/pybabel -q compile -D kolbot -i $< -o $@

setup: $(STAMP) $(MO) ## Create .venv, install the pinned dependencies, compile translations

migrate: setup ## Apply database migrations
	$(BIN)/kolbot db upgrade

run: migrate ## Start the bot (console chat when no token is set)
	@$(BIN)/kolbot run

lint: setup ## ruff and mypy (strict)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy

test: lint ## Lint, then the whole test suite
	$(BIN)/pytest -q

bench: setup ## Measure throughput, delivery and memory against their goals (minutes)
	$(BIN)/python -m bench

extract: setup ## Refresh the message catalogs from the source
	$(BIN)/pybabel extract -F babel.cfg -k N_ -k NC_:1c,2 -o $(LOCALES)/kolbot.pot --no-location --omit-header --sort-output bot handlers jobs >/dev/null
	$(BIN)/pybabel update -D kolbot -i $(LOCALES)/kolbot.pot -d $(LOCALES) --no-fuzzy-matching --no-wrap >/dev/null

clean: ## Remove the virtualenv and compiled catalogs
	rm -rf $(VENV) $(MO)
