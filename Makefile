# Two commands: `make build` and `make test`. Everything else is a helper.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
CHROMIUM := /usr/bin/chromium
export DBT_PROFILES_DIR := $(CURDIR)/profiles
export DBT_SEND_ANONYMOUS_USAGE_STATS := false

.PHONY: build test lint dbt-build daily validate pytest summary seeds catalog clean exports publish serve \
	postgres-parity spark-parity faults property bench bench-data alerts explain bad-input incremental review dashboards \
	mcp server loadtest

$(BIN)/.installed: requirements.txt
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --requirement requirements.txt
	touch $@

## build: create the venv, build on embedded DuckDB, export the saved queries,
## publish a serving snapshot for `make serve`, print KPIs
build: dbt-build exports publish summary

## test: lint, build, validate the semantic layer, run pytest
test: lint dbt-build validate pytest

dbt-build: $(BIN)/.installed
	$(BIN)/dbt build

## daily: the daily run as of AS_OF=YYYY-MM-DD (default: var as_of_date of dbt_project.yml):
##   builds what the day's new data and date can change (selector `daily`, the incremental
##   models do only the new days), runs its data tests over the last event_lookback_days,
##   no unit tests (DAILY_VARS: more dbt vars, e.g. '{raw_data: warehouse}'; see README)
daily: $(BIN)/.installed
	$(BIN)/python -m saas_kpis.daily $(if $(AS_OF),--as-of $(AS_OF)) \
		$(if $(DAILY_VARS),--vars '$(DAILY_VARS)')

## exports: (re)create one table per saved query in schema `exports` (see README)
exports: $(BIN)/.installed
	$(BIN)/python -m saas_kpis.exports

## publish: copy the finished build to a new read-only serving snapshot (serving/)
publish: $(BIN)/.installed
	$(BIN)/python -m saas_kpis.server publish

## serve: Semantic Layer API server on loopback (GraphQL + Flight SQL; see README)
serve: $(BIN)/.installed
	$(BIN)/python -m saas_kpis.server serve

## alerts: evaluate the alert rules of alerts/ on the built warehouse; prints a table, writes
##   target/alerts/report.json, posts changes to webhooks (SAAS_KPIS_ALERTS_WEBHOOK_*);
##   exits 1 when a critical alert fires (ALERTS_ARGS: more options, see README)
alerts: $(BIN)/.installed
	$(BIN)/python -m saas_kpis.alerts $(ALERTS_ARGS)

CADENCE ?= monthly

## dashboards: render the dashboards of dashboards/ on the built warehouse to
##   target/dashboards/ (self-contained HTML, open index.html offline; see README)
dashboards: $(BIN)/.installed
	$(BIN)/python -m saas_kpis.dashboards

## review: the review pack of a meeting, CADENCE=weekly|monthly|quarterly (default monthly):
##   its metrics' latest values and movement, fired and resolved alerts, the primary metric's
##   drivers, the owners who must act -> target/reviews/<cadence>-<period>.md and .html
review: $(BIN)/.installed
	$(BIN)/python -m saas_kpis.reviews --cadence $(CADENCE)

summary: $(BIN)/.installed
	$(BIN)/python -m saas_kpis.summary

## explain: why did a metric move: METRIC=net_revenue_retention_monthly PERIOD=2026-05
##          [BASE=2026-04] [GRAIN=month|week] [JSON=1] (driver tree + decompositions, see README)
explain: $(BIN)/.installed
	$(BIN)/python -m saas_kpis.drivers explain --metric $(METRIC) --period $(PERIOD) \
		$(if $(BASE),--base $(BASE)) $(if $(GRAIN),--grain $(GRAIN)) $(if $(JSON),--json)

lint: $(BIN)/.installed
	$(BIN)/sqlfluff lint models tests/dbt
	$(BIN)/ruff check saas_kpis tests
	$(BIN)/ruff format --check saas_kpis tests

validate: $(BIN)/.installed
	$(BIN)/mf validate-configs
	$(BIN)/python -m saas_kpis.alerts --check
	$(BIN)/python -m saas_kpis.dashboards --check

pytest: $(BIN)/.installed $(CHROMIUM)
	$(BIN)/pytest

# The browser tests drive Debian's Chromium (Playwright's own browser download needs the
# internet); installed here when missing, as the parity run installs PostgreSQL.
$(CHROMIUM):
	@test "$$(id -u)" = 0 || { echo "Chromium is missing: apt-get install chromium (as root)"; exit 1; }
	apt-get update -q
	DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends chromium

## postgres-parity: on a throwaway PostgreSQL server (apt-installed if missing),
## build the project and check that every mart and metric equals DuckDB's; check the
## server's PostgreSQL pool (read-only, statement timeout, waiting, replaced connections); and
## run the server's client suites (test_sl_server, test_sl_catalog) on a build served from
## PostgreSQL (SAAS_KPIS_TEST_SERVE_TARGET=postgres; its own schema, beside the parity build's)
postgres-parity: $(BIN)/.installed
	$(BIN)/python tests/postgres/throwaway_server.py -- env SAAS_KPIS_TEST_SERVE_TARGET=postgres \
		$(BIN)/pytest tests/postgres tests/python/test_sl_server.py tests/python/test_sl_catalog.py

## bad-input: each data-quality rule, unreadable value and schema drift on corrupted copies of
##   the seeds (one build per case, about 5 minutes, so outside `make test`; CI runs it)
bad-input: $(BIN)/.installed
	$(BIN)/pytest tests/bad_input

## incremental: the incremental models against full refreshes (late and duplicated events,
##   as_of_date moved back and forward, restated invoices and subscription items) and the
##   daily data tests over the recent window
##   (several builds, about 7 minutes, so outside `make test`; CI runs it)
incremental: $(BIN)/.installed
	$(BIN)/pytest tests/incremental

## server: the Semantic Layer API server's guards against its own clients: scoped tokens tried
##   as an attacker would, the per-request limits under abusive requests, the result cache
##   (servers started with their own settings, about 2 minutes, so outside `make test`; CI runs it)
server: $(BIN)/.installed
	$(BIN)/pytest tests/server

## loadtest: the API server under 32 concurrent GraphQL and Flight SQL clients (8 tokens, 4
##   processes), LOADTEST_SECONDS (60) with the result cache on, then off; needs `make build`
##   first; requests/s, latency percentiles, errors (any fails the target), peak server memory
##   -> bench/results/loadtest.md and loadtest-<UTC time>.json (LOADTEST_NOTE: a note to keep)
loadtest: $(BIN)/.installed
	$(BIN)/python -m saas_kpis.bench.load

## faults: builds killed part-way and rerun, the server killed under its clients, PostgreSQL
##   restarted under a build (on a throwaway PostgreSQL server, apt-installed if missing)
faults: $(BIN)/.installed
	$(BIN)/python tests/postgres/throwaway_server.py -- $(BIN)/pytest tests/faults

# dbt-mcp needs Python 3.12 or newer, which the project venv is not: python3.12 from PATH (when it
# runs: a pyenv shim may not), else the newest 3.12 that pyenv installed.
MCP_VENV := .venv-mcp
PYENV_ROOT_DIR := $(or $(shell pyenv root 2>/dev/null),$(HOME)/.pyenv)
PYTHON312 ?= $(or $(shell python3.12 -c 'import sys; print(sys.executable)' 2>/dev/null),\
	$(lastword $(sort $(wildcard $(PYENV_ROOT_DIR)/versions/3.12*/bin/python3.12))))

## mcp: the AI-agent tests: dbt Labs' dbt-mcp (in .venv-mcp, Python 3.12, pinned in
##   requirements-mcp.txt) driven by a real MCP client against the served build (see README)
mcp: $(BIN)/.installed $(MCP_VENV)/bin/.installed
	$(BIN)/pytest tests/mcp

$(MCP_VENV)/bin/.installed: requirements-mcp.txt
	@test -n "$(PYTHON312)" || { echo "dbt-mcp needs Python 3.12: put python3.12 on PATH,\
	 or install it with pyenv (pyenv install 3.12)"; exit 1; }
	$(PYTHON312) -m venv $(MCP_VENV)
	$(MCP_VENV)/bin/pip install --quiet --requirement requirements-mcp.txt
	touch $@

BUDGET ?= 1800

## property: the reference suites on randomly drawn generated datasets for BUDGET seconds
property: $(BIN)/.installed
	$(BIN)/python tests/property/run.py --budget $(BUDGET)

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

## spark-parity: build on Apache Spark (pyspark in process, Java 17) and check
##   that every mart equals the DuckDB build; installs requirements-spark.txt
spark-parity: $(BIN)/.spark-installed
	$(BIN)/pytest tests/spark --basetemp=target/spark-parity

$(BIN)/.spark-installed: $(BIN)/.installed requirements-spark.txt
	$(BIN)/pip install --quiet --requirement requirements.txt \
		--requirement requirements-spark.txt
	touch $@

clean:
	rm -rf target logs dbt_packages saas_kpis.duckdb serving
