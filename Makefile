# GeoEnergy: the two commands.
#   make demo   install everything and run the demo on the embedded store
#   make test   install everything (PostGIS included), run the whole test suite, then
#               check the wheel on its own (scripts/check-wheel.sh: a fresh venv runs the demo)
# Both are idempotent and work as root on a fresh Debian 12 machine.

PYTHON ?= /usr/bin/python3
VENV ?= .venv
BIN := $(VENV)/bin
DEMO_DIR ?= geoenergy-demo
export GEOENERGY_TEST_PG_URL ?= postgresql+psycopg://geoenergy:geoenergy@127.0.0.1:5432/geoenergy_test

.PHONY: demo test system web postgis install install-test lint pytest check-wheel bench clean

demo: install
	$(BIN)/geoenergy demo $(DEMO_DIR)

test: install-test postgis lint pytest check-wheel

system:
	scripts/install-system.sh

web:
	scripts/install-web.sh

postgis:
	scripts/start-postgis.sh

$(BIN)/python: | system
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

$(VENV)/.installed: pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet -e .
	touch $@

$(VENV)/.installed-test: pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet -e ".[test]"
	touch $@ $(VENV)/.installed

install: system web $(VENV)/.installed

install-test: system web $(VENV)/.installed-test

lint:
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

pytest:
	$(BIN)/python -m pytest

# Build the sdist and the wheel, install the wheel into a fresh venv of $(PYTHON) outside
# the checkout and run the demo and the review app there (about 4 minutes).
check-wheel: install-test
	BUILD_PYTHON=$(BIN)/python PYTHON=$(PYTHON) scripts/check-wheel.sh

bench: install
	$(BIN)/python -m bench

clean:
	rm -rf $(VENV) $(DEMO_DIR) .pytest_cache .ruff_cache
