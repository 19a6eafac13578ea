# Kameng — the two commands: `make run` (embedded default) and `make test`.
PYTHON ?= python3
VENV   := .venv
PY     := $(VENV)/bin/python
FLASK  := $(VENV)/bin/flask --app wsgi
PORT   ?= 5000
STAMP  := $(VENV)/.installed

.PHONY: run test test-fast lint format translations extract-messages install clean bench prod-local

$(STAMP): requirements.txt requirements-dev.txt
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -r requirements-dev.txt
	touch $(STAMP)

install: $(STAMP) translations

translations: $(STAMP)
	$(VENV)/bin/pybabel compile --statistics -d app/translations

# PYTHONPATH: babel.cfg maps theme.json files to an extractor in app.theming.manifest.
extract-messages: $(STAMP)
	PYTHONPATH=. $(VENV)/bin/pybabel extract --ignore-dirs=".venv tests" -F babel.cfg -k N_ -k _l -k translate -o app/translations/messages.pot .
	$(VENV)/bin/pybabel update -i app/translations/messages.pot -d app/translations --no-fuzzy-matching

## Run the platform on the embedded default (SQLite, jobs in-process, demo data).
run: install
	$(FLASK) db upgrade
	$(FLASK) tenants migrate
	PUBLIC_PORT=$(PORT) $(FLASK) demo seed
	@echo "Serving on http://localhost:$(PORT)  (Ctrl-C to stop)"
	PUBLIC_PORT=$(PORT) $(FLASK) serve --port $(PORT) --simulator

## The production shape on loopback (deploy/prod_local.py): Caddy with its internal CA → two
## gunicorn processes → PgBouncer (transaction pooling) → PostgreSQL; Redis; two RQ workers and the
## scheduler. Needs PostgreSQL on 127.0.0.1:5432 and `apt-get install caddy pgbouncer redis-server`.
## PROD_LOCAL_ARGS="--fresh" starts from an empty database, "--drop" drops it on exit.
prod-local: install
	$(PY) -m deploy.prod_local $(PROD_LOCAL_ARGS)

## The whole test suite: PostgreSQL + Redis when reachable (required with CI=true), and SQLite.
## Two processes (pytest-xdist), each with its own databases and Redis db: TEST_WORKERS=1 for one.
TEST_WORKERS ?= 2
test: install
	$(PY) -m pytest -n $(TEST_WORKERS) $(PYTEST_ARGS)

test-fast: install
	$(PY) -m pytest -n $(TEST_WORKERS) -m "not slow" $(PYTEST_ARGS)

lint: $(STAMP)
	$(VENV)/bin/ruff format --check .
	$(VENV)/bin/ruff check .

format: $(STAMP)
	$(VENV)/bin/ruff format .
	$(VENV)/bin/ruff check --fix .

bench: install
	$(PY) -m benchmarks.tenancy --tenants 1000

clean:
	rm -rf $(VENV) instance .pytest_cache
