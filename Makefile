# Samverkan: `make run` sets up and serves the app; `make test` sets up and runs every test.
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
PORT ?= 5000
FLASK := $(BIN)/flask --app wsgi
# A developer's machine runs in development mode (no SECRET_KEY needed); production sets its own.
export SAMVERKAN_ENV ?= development

.PHONY: run test setup db serve lint clean-db

run: db
	@$(FLASK) core demo-logins
	@echo ""
	@echo "Samverkan körs på http://127.0.0.1:$(PORT)/  (avsluta med Ctrl+C)"
	@$(BIN)/gunicorn --bind 127.0.0.1:$(PORT) --workers 2 --threads 4 --access-logfile - wsgi:app

test: db
	@bash scripts/system-deps.sh chromium chromium-driver poppler-utils
	$(BIN)/ruff check .
	$(BIN)/python -m pytest

setup: $(VENV)/.installed
	@bash scripts/system-deps.sh wkhtmltopdf

db: setup
	@mkdir -p instance
	@$(FLASK) core migrate
	@$(FLASK) core seed

$(VENV)/.installed: pyproject.toml
	@$(PYTHON) -c 'import sys; sys.exit(0 if sys.version_info >= (3, 11) else "Python 3.11 eller senare krävs")'
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --disable-pip-version-check -e '.[dev]'
	@touch $@

lint: setup
	$(BIN)/ruff check .

clean-db:
	rm -f instance/samverkan.sqlite3
