# Two entry points, each setting everything up first (see README.md):
#   make run    install into .venv (the tool alone), validate the shipped scenarios, run the
#               CSTO essay scenario
#   make test   install into .venv with the dev tools and the optional extras (dashboard,
#               exploration, calibration), run the tests with the coverage floor
#   make check  lint, format check and type check (what CI runs besides the tests)

VENV    ?= .venv
PYTHON  ?= $(shell for p in python3.14 python3.13 python3.12 python3; do \
             command -v $$p >/dev/null 2>&1 && $$p -c 'import sys; sys.exit(sys.version_info < (3, 12))' \
             && { echo $$p; break; }; done)
BIN     := $(VENV)/bin
SCENARIO ?= scenarios/csto-2022-2023.yaml
RUN_ARGS ?=

.PHONY: run test check clean-venv

$(BIN)/python:
	@test -n "$(PYTHON)" || { echo "cstosim needs Python >= 3.12 (python3.12 not found)"; exit 2; }
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

$(VENV)/.installed: $(BIN)/python pyproject.toml
	$(BIN)/python -m pip install --quiet -e .
	@touch $@

$(VENV)/.installed-dev: $(BIN)/python pyproject.toml
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	@touch $@ $(VENV)/.installed

run: $(VENV)/.installed
	$(BIN)/cstosim validate scenarios/*.yaml
	$(BIN)/cstosim run $(SCENARIO) $(RUN_ARGS)

test: $(VENV)/.installed-dev
	$(BIN)/python -m pytest --cov=cstosim --cov-report=term --cov-fail-under=90

check: $(VENV)/.installed-dev
	$(BIN)/ruff check cstosim tests benchmarks
	$(BIN)/ruff format --check cstosim tests benchmarks
	$(BIN)/mypy

clean-venv:
	rm -rf $(VENV)
