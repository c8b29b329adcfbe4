# FER Lens: `make test` sets up and runs the tests; `make run` launches the app.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
SHARED_DATA := $(wildcard ../shared/fer2013)
export FER_DATA ?= $(SHARED_DATA)

.PHONY: setup test test-fast run clean

$(BIN)/activate:
	$(PYTHON) -m venv $(VENV)

$(VENV)/.installed: $(BIN)/activate requirements.txt requirements-test.txt requirements-dashboard.txt pyproject.toml
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -r requirements-test.txt -r requirements-dashboard.txt
	$(BIN)/python -m pip install --quiet --no-deps -e .
	touch $@

setup: $(VENV)/.installed

test: setup
	$(BIN)/python -m pytest

test-fast: setup
	$(BIN)/python -m pytest -m "not slow"

run: setup
	$(BIN)/python -m streamlit run dashboard/app.py

clean:
	rm -rf $(VENV) .pytest_cache
