# Two commands matter: `make demo` and `make test`. Both build the virtual environment first.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-stamp
# The development environment installs from this lock, so a fresh machine gets the versions CI tested.
LOCK := requirements/dev.lock
UV_VERSION := 0.13.9
LOCK_ARGS := pyproject.toml --extra dev --universal --python-version 3.11 --quiet --no-header --annotation-style line

.PHONY: venv demo test lint format typecheck pytest fuzz bench screenshots clean lock lock-check compat dist docs docs-screenshots

$(STAMP): pyproject.toml $(LOCK)
	$(PYTHON) -c 'import sys; assert sys.version_info >= (3, 11), "Python 3.11 or newer is needed"'
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip --version >/dev/null 2>&1 || $(BIN)/python -m ensurepip --upgrade >/dev/null
	$(BIN)/python -m pip install --quiet --disable-pip-version-check uv==$(UV_VERSION)
	# Bytecode compiled once: each Airflow process the tests start would compile it again otherwise
	# (and on every start where PYTHONDONTWRITEBYTECODE is set).
	$(BIN)/uv pip install --quiet --compile-bytecode --python $(BIN)/python -r $(LOCK)
	$(BIN)/uv pip install --quiet --python $(BIN)/python --no-deps -e .
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
	$(BIN)/python -m compileall -q -j 0 airflow_provider_metrika tests example_dags compat
	# Branch coverage of the package in this process and its workers; fails under the floor in
	# pyproject.toml ([tool.coverage.report] fail_under). `.venv/bin/coverage report -m` lists the lines.
	$(BIN)/pytest -ra -n 2 --dist loadgroup --cov --cov-report=term

test: lint typecheck pytest

# The property suites with thousands of examples (FUZZ_EXAMPLES, default 3000); the counts are printed.
fuzz: venv
	HYPOTHESIS_PROFILE=fuzz $(BIN)/pytest -q -p no:randomly --hypothesis-show-statistics \
		tests/simple_orders/test_properties.py tests/hooks/test_base_url.py -k "any_"

# Refresh the lock on purpose: the newest releases that satisfy pyproject.toml.
lock: venv
	$(BIN)/uv pip compile $(LOCK_ARGS) --upgrade -o $(LOCK)

# Fail when pyproject.toml asks for something the lock does not pin (pinned versions are kept).
lock-check: venv
	cp $(LOCK) $(VENV)/lock-check.txt
	$(BIN)/uv pip compile $(LOCK_ARGS) -o $(VENV)/lock-check.txt
	diff -u $(LOCK) $(VENV)/lock-check.txt || (echo "$(LOCK) is stale: run make lock" >&2; exit 1)

# Every supported Airflow line (3.0 to 3.3) with its release-time dependencies, then the newest releases.
compat: venv
	$(BIN)/python -m compat $(ARGS)

# The release files: sdist and wheel in dist/, checked (twine, metadata, py.typed, LICENSE, entry point).
dist: venv
	rm -rf dist
	$(BIN)/uv build --quiet --out-dir dist .
	$(BIN)/twine check --strict dist/*
	$(BIN)/python scripts/check_dist.py dist

# The documentation site in docs/_build/html: Markdown pages and the API reference; warnings fail it.
docs: venv
	AIRFLOW_HOME=$(CURDIR)/docs/_build/airflow-home AIRFLOW__LOGGING__LOGGING_LEVEL=WARNING \
		$(BIN)/sphinx-build -W --keep-going -q -b html docs docs/_build/html
	@echo "open docs/_build/html/index.html"

bench: venv
	$(BIN)/python bench/import_time.py
	$(BIN)/python bench/upload_memory.py
	$(BIN)/python bench/prepare_orders.py
	$(BIN)/python bench/prepare_csv_memory.py
	$(BIN)/python bench/sql_source_memory.py
	$(BIN)/python bench/concurrent_uploads.py
	$(BIN)/python bench/changed_only.py

screenshots: venv
	$(BIN)/uv pip install --quiet --python $(BIN)/python playwright
	$(BIN)/python docs/screenshots.py

docs-screenshots: docs
	$(BIN)/uv pip install --quiet --python $(BIN)/python playwright
	$(BIN)/python docs/site_screenshots.py

clean:
	rm -rf $(VENV) .compat .pytest_cache .mypy_cache .ruff_cache build dist docs/_build
