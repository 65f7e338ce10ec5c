# Two commands on a fresh machine: `make run` and `make test`. Both build .venv on first use.
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
BIN := $(VENV)/bin
HOST ?= 127.0.0.1
PORT ?= 8000
PYTEST_ARGS ?=

.PHONY: run serve test install lint format check clean bench load faults

$(VENV)/.installed: requirements.txt requirements-dev.txt
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --disable-pip-version-check -r requirements-dev.txt
	touch $@

install: $(VENV)/.installed

run: install
	$(BIN)/python -m ledger.createdb
	$(BIN)/python manage.py migrate --noinput
	$(BIN)/python manage.py load_demo
	@$(BIN)/python manage.py ensure_admin
	@echo "Admin (data entry):  http://$(HOST):$(PORT)/admin/"
	@echo "API:                 http://$(HOST):$(PORT)/api/v1/  (docs: /api/v1/docs/)"
	$(BIN)/python manage.py runserver $(HOST):$(PORT)

# Production: gunicorn with ledger.settings.production and static files served by WhiteNoise.
# Needs LEDGER_SECRET_KEY and LEDGER_ALLOWED_HOSTS (docs/operations.md); WORKERS=3 by default.
PROD := DJANGO_SETTINGS_MODULE=ledger.settings.production
serve: install
	$(PROD) $(BIN)/python manage.py migrate --noinput
	$(PROD) $(BIN)/python manage.py collectstatic --noinput
	$(PROD) $(BIN)/gunicorn ledger.wsgi:application --bind $(HOST):$(PORT) \
		--workers $(or $(WORKERS),3) --access-logfile -

test: install
	$(BIN)/python -m pytest $(PYTEST_ARGS)

# Import/export benchmark of the lines CSV (not part of `make test`): e.g. ROWS=2000 DBS=sqlite.
bench: install
	$(BIN)/python -m benchmarks.run $(if $(ROWS),--rows $(ROWS)) $(if $(DBS),--dbs $(DBS))

# The production server under load, then a PostgreSQL restart under load (not part of `make
# test`; about 4 minutes): LOAD_USERS=4,16,32,64 LOAD_SECONDS=30 by default; the report goes to
# docs/load.md. Needs PostgreSQL at 127.0.0.1:5432 and the right to restart it (LOAD_PG_RESTART).
# Locust lives in its own virtualenv: see requirements-load.txt.
LOAD_VENV := $(VENV)/load
$(LOAD_VENV)/.installed: requirements-load.txt
	test -x $(LOAD_VENV)/bin/python || $(PYTHON) -m venv $(LOAD_VENV)
	$(LOAD_VENV)/bin/pip install --quiet --disable-pip-version-check -r requirements-load.txt
	touch $@

load: install $(LOAD_VENV)/.installed
	$(BIN)/python -m benchmarks.load.run

faults: install $(LOAD_VENV)/.installed
	$(BIN)/python -m benchmarks.load.run --faults-only

lint: install
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

format: install
	$(BIN)/ruff format .
	$(BIN)/ruff check --fix .

check: install
	$(BIN)/python manage.py check
	$(BIN)/python manage.py makemigrations --check --dry-run
	LEDGER_SECRET_KEY=$$($(BIN)/python -c 'import secrets; print(secrets.token_urlsafe(64))') \
		LEDGER_ALLOWED_HOSTS=ledger.example.org \
		DJANGO_SETTINGS_MODULE=ledger.settings.production \
		$(BIN)/python manage.py check --deploy --fail-level WARNING

clean:
	rm -rf $(VENV) .pytest_cache .ruff_cache
