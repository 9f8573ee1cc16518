# The two commands of README.md are `make run` and `make test`; everything else is optional.
# Python 3.11, Java 17, Go and Maven must be on the machine; the rest installs itself here.

PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
CACHE := .lakehouse/cache
START ?= 2020-03-01
SCALE ?= 0.02
END ?= 2020-05-31
TEST_WORKERS ?= 2

.PHONY: setup run test test-unit lint ui browser minio minio-up minio-down mlflow-up mlflow-down spark-up spark-down compose benchmark clean

# Bytecode is compiled once here: where PYTHONDONTWRITEBYTECODE is set (as on our CI machines),
# Python would otherwise compile every module it imports from source in every process it starts
# (Dagster's definitions 32 s instead of 9; BENCHMARKS.md, "Bytecode compiled at setup").
$(STAMP): pyproject.toml constraints.txt Makefile
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --disable-pip-version-check "uv==0.13.9"
	$(BIN)/uv pip install --quiet --compile-bytecode -p $(BIN)/python -c constraints.txt -e ".[dev]"
	touch $(STAMP)

## setup: Python environment, pinned Spark jars, dbt manifest (idempotent).
setup: $(STAMP)
	$(BIN)/lakehouse setup

## run: set up, then build March-May 2020 of a simulated Almaty (SCALE of the real volumes) on the embedded default, ML jobs included.
run: setup
	$(BIN)/lakehouse run --start $(START) --end $(END) --scale $(SCALE)

## test: set up (incl. the MinIO and Compose binaries, Chromium), then the whole suite with real servers,
## on TEST_WORKERS processes (pytest-xdist; a test module stays on one worker, the slowest start first).
test: setup minio compose browser
	$(BIN)/pytest -n $(TEST_WORKERS) --dist loadfile --no-loadscope-reorder

test-unit: setup
	$(BIN)/pytest -m "not integration"

lint: setup
	$(BIN)/ruff check pipelines ml contracts orchestration infra tests benchmarks
	$(BIN)/mypy

ui: setup
	$(BIN)/lakehouse ui

## browser: Debian's Chromium for the UI tests (headless, driven by Playwright), once.
CHROMIUM ?= /usr/bin/chromium
SUDO := $(shell [ "$$(id -u)" = 0 ] || echo sudo)
browser:
	@test -x $(CHROMIUM) || { $(SUDO) apt-get update -qq && \
		DEBIAN_FRONTEND=noninteractive $(SUDO) apt-get install -y -qq chromium >/dev/null; }
	@$(CHROMIUM) --version

## minio: build the pinned MinIO server from source into .lakehouse/cache (once, ~4 min).
minio: $(STAMP)
	$(BIN)/python -m infra.minio install

minio-up: minio
	$(BIN)/python -m infra.minio start

minio-down:
	$(BIN)/python -m infra.minio stop

mlflow-up: $(STAMP)
	$(BIN)/python -m infra.mlflow_server start

mlflow-down:
	$(BIN)/python -m infra.mlflow_server stop

## spark-up: a Spark standalone cluster (master + 2 workers) on loopback; prints LAKEHOUSE_SPARK_MASTER.
spark-up: setup
	$(BIN)/python -m infra.spark_cluster start

spark-down:
	$(BIN)/python -m infra.spark_cluster stop

## compose: the Compose CLI that validates infra/docker-compose.yml (once, ~2 min).
compose:
	bash infra/install_compose.sh

## benchmark: the performance suite at full city scale (~40 min): BENCHMARKS.md + benchmarks/results/suite.json.
benchmark: setup
	$(BIN)/python benchmarks/suite.py

clean:
	rm -rf .lakehouse/lake .lakehouse/warehouse.duckdb .lakehouse/dagster .lakehouse/logs dbt_project/target
