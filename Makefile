# The README's two commands: `make run` and `make test`. Both set up .venv first.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: run test test-fast lint fuzz docker-setup clean

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[tf,dev]'
	touch $(STAMP)

run: $(STAMP)
	$(BIN)/harness run --target local --suite quickstart

# the exporters' optional extras (tensorboard, mlflow: about a minute), so their tests run rather than skip
EXPORT_STAMP := $(VENV)/.installed-export
$(EXPORT_STAMP): $(STAMP)
	$(BIN)/python -m pip install --quiet -e '.[tensorboard,mlflow]'
	touch $(EXPORT_STAMP)

# lint first: it takes seconds and fails before the long suite does
lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/mypy

test: lint $(EXPORT_STAMP)
	$(BIN)/python -m pytest

# the inner loop: no Docker engine, nothing marked slow (pyproject's markers; tests/conftest.py assigns them)
test-fast: lint
	$(BIN)/python -m pytest -m "not docker and not slow"

# Open-ended random fuzzing (FUZZ_SECONDS, default 120); findings go to tests/fuzz/corpus/.
fuzz: $(STAMP)
	$(BIN)/python -m tests.fuzz.explore

# Root only: installs and starts a Docker engine, buildx and arm64 emulation, then builds the
# registry-free stand-in base images the container tests use (cached by tag).
docker-setup:
	bash scripts/setup-docker.sh
	bash scripts/build-standin-bases.sh

clean:
	rm -rf $(VENV) reports/runs reports/compare
