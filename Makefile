# fedcoop: the two commands are `make demo` and `make test`; both set everything up first.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-$(shell cksum pyproject.toml | cut -d' ' -f1)

.PHONY: install demo test lint typecheck contracts unit bench test-deps clean

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[dev]'
	rm -f $(VENV)/.installed-*
	touch $(STAMP)

install: $(STAMP)

demo: install
	$(BIN)/fedcoop demo --dir .demo

# Everything the suite needs beyond Python packages: Node's npm (for the Fedify peer) and
# Debian's Chromium (for the browser tests). Installed from the registries when missing.
test-deps:
	sh scripts/ensure-test-deps.sh

lint: install
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

typecheck: install
	$(BIN)/mypy

contracts: install
	$(BIN)/lint-imports

test: install test-deps lint typecheck contracts
	$(BIN)/pytest

unit: install
	$(BIN)/pytest tests/unit tests/component -q

bench: install
	$(BIN)/python -m bench

clean:
	rm -rf $(VENV) .demo .cache .pytest_cache .mypy_cache .ruff_cache
