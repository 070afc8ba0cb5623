# The README's two set-up commands are `make demo` and `make test`. One venv, .venv, grows by
# stamps: `make demo` installs repro and NumPy only (no torch: the tests' extras are ~1 GB);
# `make test` (or `make install`) adds the dev extras to the same venv, so pip installs only
# what is missing. The dev stamp implies the demo one.
PY ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
DEMO_STAMP := $(VENV)/.installed-demo

.PHONY: install install-demo test test-slow lint demo bench bench-git bench-fingerprint clean

install: $(STAMP)

install-demo: $(DEMO_STAMP)

$(BIN)/python:
	$(PY) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip

$(STAMP): pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install -q -e '.[dev]'
	touch $(STAMP) $(DEMO_STAMP)

# Satisfied by a dev install too: `make demo` after `make test` installs nothing.
$(DEMO_STAMP): pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install -q -e '.[demo]'
	touch $(DEMO_STAMP)

# `make test`: the fast suite (a few minutes on 2 cores). `make test-slow`: the tests marked
# slow (real programs with torch, Lightning and Hydra, a one-host Slurm, an S3 server, torchrun);
# CI runs both (.ci/run).
test: install
	$(BIN)/python -m pytest -q -n 2 -m "not slow and not gpu"

test-slow: install
	$(BIN)/python -m pytest -q -n 2 -m "slow and not gpu"

lint: install
	$(BIN)/ruff check repro_run tests bench
	$(BIN)/ruff format --check repro_run tests bench
	$(BIN)/mypy

demo: install-demo
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
