# The README's two set-up commands are `make demo` and `make test`; both build .venv first.
PY ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: install test lint demo bench bench-git bench-fingerprint clean

install: $(STAMP)

$(STAMP): pyproject.toml
	$(PY) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip
	$(BIN)/python -m pip install -q -e '.[dev]'
	touch $(STAMP)

test: install
	$(BIN)/python -m pytest -q -n 2

lint: install
	$(BIN)/ruff check repro_run tests bench
	$(BIN)/ruff format --check repro_run tests bench
	$(BIN)/mypy

demo: install
	PATH="$(CURDIR)/$(BIN):$$PATH" bash examples/demo.sh

bench: install
	$(BIN)/python bench/overhead.py
	$(BIN)/python bench/diff.py

bench-git: install
	$(BIN)/python bench/gitcheck.py

bench-fingerprint: install  # generates 2.4 GB in a temp dir; takes a few minutes
	$(BIN)/python bench/fingerprint.py

clean:
	rm -rf $(VENV) build *.egg-info
