# Two commands matter: `make demo` and `make test`. Both build the virtual environment first.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-stamp

.PHONY: venv demo test lint format typecheck pytest bench screenshots clean

$(STAMP): pyproject.toml
	$(PYTHON) -c 'import sys; assert sys.version_info >= (3, 11), "Python 3.11 or newer is needed"'
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip --version >/dev/null 2>&1 || $(BIN)/python -m ensurepip --upgrade >/dev/null
	$(BIN)/python -m pip install --quiet --disable-pip-version-check uv
	$(BIN)/uv pip install --quiet --python $(BIN)/python -e ".[dev]"
	touch $(STAMP)

venv: $(STAMP)

demo: venv
	$(BIN)/python example_dags/demo.py

lint: venv
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

format: venv
	$(BIN)/ruff check --fix .
	$(BIN)/ruff format .

typecheck: venv
	$(BIN)/mypy

pytest: venv
	$(BIN)/pytest -ra -n 2 --dist loadgroup

test: lint typecheck pytest

bench: venv
	$(BIN)/python bench/upload_memory.py
	$(BIN)/python bench/prepare_orders.py
	$(BIN)/python bench/prepare_csv_memory.py
	$(BIN)/python bench/sql_source_memory.py
	$(BIN)/python bench/concurrent_uploads.py

screenshots: venv
	$(BIN)/uv pip install --quiet --python $(BIN)/python playwright
	$(BIN)/python docs/screenshots.py

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache build dist
