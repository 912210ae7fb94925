# Two commands: `make build` and `make test`. Everything else is a helper.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
export DBT_PROFILES_DIR := $(CURDIR)/profiles
export DBT_SEND_ANONYMOUS_USAGE_STATS := false

.PHONY: build test lint dbt-build validate pytest summary seeds catalog bench bench-data clean

$(BIN)/.installed: requirements.txt
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --requirement requirements.txt
	touch $@

## build: create the venv, build the project on embedded DuckDB, print KPIs
build: dbt-build summary

## test: lint, build, validate the semantic layer, run pytest
test: lint dbt-build validate pytest

dbt-build: $(BIN)/.installed
	$(BIN)/dbt build

summary: $(BIN)/.installed
	$(BIN)/python -m saas_kpis.summary

lint: $(BIN)/.installed
	$(BIN)/sqlfluff lint models tests/dbt
	$(BIN)/ruff check saas_kpis tests
	$(BIN)/ruff format --check saas_kpis tests

validate: $(BIN)/.installed
	$(BIN)/mf validate-configs

pytest: $(BIN)/.installed
	$(BIN)/pytest

## catalog: regenerate docs/metric_catalog.md from the semantic manifest
catalog: $(BIN)/.installed
	$(BIN)/dbt parse
	$(BIN)/python -m saas_kpis.catalog

## seeds: regenerate the shipped seed files with the data generator
seeds: $(BIN)/.installed
	$(BIN)/python -m saas_kpis.generate --out seeds

SCALE ?= M
RUNS ?= 3

## bench: benchmark on Parquet data (SCALE=S|M|L, RUNS=3): full and incremental dbt build,
##        parse, one query per metric (mf CLI, warm API, raw DuckDB) -> bench/results/
bench: $(BIN)/.installed
	$(BIN)/python -m saas_kpis.bench --scale $(SCALE) --runs $(RUNS)

## bench-data: only generate the Parquet dataset bench/data/$(SCALE)
bench-data: $(BIN)/.installed
	$(BIN)/python -m saas_kpis.generate --format parquet --preset $(SCALE) --out bench/data/$(SCALE)

clean:
	rm -rf target logs dbt_packages saas_kpis.duckdb
