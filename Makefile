# Two commands: `make build` and `make test`. Everything else is a helper.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
export DBT_PROFILES_DIR := $(CURDIR)/profiles
export DBT_SEND_ANONYMOUS_USAGE_STATS := false

.PHONY: build test lint dbt-build validate pytest summary seeds catalog spark-parity clean

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

## spark-parity: build on Apache Spark (pyspark in process, Java 17) and check
##   that every mart equals the DuckDB build; installs requirements-spark.txt
spark-parity: $(BIN)/.spark-installed
	$(BIN)/pytest tests/spark --basetemp=target/spark-parity

$(BIN)/.spark-installed: $(BIN)/.installed requirements-spark.txt
	$(BIN)/pip install --quiet --requirement requirements.txt \
		--requirement requirements-spark.txt
	touch $@

clean:
	rm -rf target logs dbt_packages saas_kpis.duckdb
