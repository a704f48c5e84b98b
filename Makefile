# Two commands set everything up on a fresh machine: `make run` and `make test`.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-stamp
AS_OF := 2026-06-30

.PHONY: install run test golden lint format bench clean

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	touch $(STAMP)

install: $(STAMP)

## The main job: the monthly movements of the sample company.
run: $(STAMP)
	$(BIN)/mrrcli movements sample_data/subscriptions.csv --as-of $(AS_OF)
	@echo 'mrrcli is in $(BIN): `source $(BIN)/activate` puts it on the PATH (see README.md)' >&2

test: $(STAMP)
	$(BIN)/python -m pytest

## Rewrite the golden outputs (tests/golden/) from the current code: read the diff before committing.
golden: $(STAMP)
	MRRCLI_GOLDEN_WRITE=1 $(BIN)/python -m pytest -q tests/test_golden.py
	git status --short tests/golden | head -20

lint: $(STAMP)
	$(BIN)/ruff check mrrcli tests sample_data bench
	$(BIN)/ruff format --check mrrcli tests sample_data bench
	$(BIN)/mypy

format: $(STAMP)
	$(BIN)/ruff format mrrcli tests sample_data bench
	$(BIN)/ruff check --fix mrrcli tests sample_data bench

## make bench: 1M and 10M rows outside the repository; BENCH_ARGS=--quick for 1M only.
bench: $(STAMP)
	$(BIN)/python -m pip install --quiet -e '.[dev,bench]'
	$(BIN)/python bench/run.py $(BENCH_ARGS)

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache
