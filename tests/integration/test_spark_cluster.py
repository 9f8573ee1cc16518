"""Scale-out: every silver job on a real Spark standalone cluster (a master and two workers on
loopback) writes the same silver tables as the embedded default's single-node engine, DuckDB,
whose tables equal local Spark's (`test_silver_engines.py`)."""

import os
import subprocess
import sys
from datetime import date
from pathlib import Path

import pytest

from infra.spark_cluster import SparkStandaloneCluster
from pipelines.lake import Lake
from pipelines.settings import LakehouseSettings
from pipelines.silver_run import (
    all_sources,
    build_silver,
    land_and_ingest,
    silver_snapshot,
    snapshot_differences,
)

pytestmark = [pytest.mark.integration, pytest.mark.timeout(1800)]
DAY = date(2020, 3, 2)


def test_silver_on_a_standalone_cluster_equals_the_single_node_engine(
    local_settings: LakehouseSettings, tmp_path: Path
) -> None:
    lake = Lake(local_settings)
    lake.ensure_ready()
    sources = all_sources()
    landed = land_and_ingest(lake, sources, [DAY], seed=7, scale=0.02)
    assert landed["bus_gps"] > 10_000 and landed["onay_taps"] > 5_000

    build_silver(lake, sources, [DAY], _no_spark, engine="duckdb")
    single_node = silver_snapshot(lake, sources)
    versions = {
        t: lake.delta_table("silver", t).version() for t in single_node if single_node[t].height
    }
    assert len(versions) >= 15  # nearly every silver table has rows for the day

    with SparkStandaloneCluster(tmp_path / "cluster", workers=2, worker_memory="2g").start() as c:
        assert c.status()["aliveworkers"] == 2
        subprocess.run(
            [sys.executable, "-m", "pipelines.silver_run", "--days", DAY.isoformat()],
            check=True,
            env={**os.environ, "LAKEHOUSE_SPARK_MASTER": c.master_url},
            timeout=1200,
        )
        applications = c.status()["completedapps"]
    # The job ran on the cluster's two workers, not in a local JVM of the child process.
    assert [(a["name"], a["cores"]) for a in applications] == [("lakehouse-silver", 2)]
    # ...and it rewrote the day's partitions of every table: a new Delta version each.
    for table, version in versions.items():
        assert lake.delta_table("silver", table).version() > version, table

    assert snapshot_differences(single_node, silver_snapshot(lake, sources)) == []


def _no_spark():  # type: ignore[no-untyped-def]
    raise AssertionError("the DuckDB engine must not start Spark")
