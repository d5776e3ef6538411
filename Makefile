# make demo   run the main job end to end (scheduler, worker, simulated panels)
# make test   run the test suite (needs Redis on 127.0.0.1:6379; uses database 15)
# make run    start the Procfile locally with honcho, reading .env
# make bench  run the sync benchmark (docs/benchmarks.md; needs Redis, uses database 14)

PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: demo test run bench clean

$(STAMP): requirements.txt requirements-dev.txt
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -r requirements-dev.txt
	touch $(STAMP)

demo: $(STAMP)
	$(BIN)/python manage.py demo

test: $(STAMP)
	$(BIN)/python -m pytest -q $(PYTEST_ARGS)

# The Procfile says `python`, so the virtualenv goes first on PATH. `release`
# runs once before the others: honcho stops every process when one exits.
run: $(STAMP)
	PATH="$(CURDIR)/$(BIN):$$PATH" $(BIN)/honcho run python manage.py db init
	PATH="$(CURDIR)/$(BIN):$$PATH" $(BIN)/honcho start web scheduler worker

bench: $(STAMP)
	$(BIN)/python -m bench $(BENCH_ARGS)

clean:
	rm -rf $(VENV) var
