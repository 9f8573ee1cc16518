"""The performance suite runs, and the single-node engine computes what Spark computes."""

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = [pytest.mark.integration, pytest.mark.timeout(1800)]
ROOT = Path(__file__).resolve().parents[2]
SOURCES = ("ambulance", "bus_gps", "onay_taps")


def test_the_suite_measures_sources_beside_a_checked_reference(tmp_path: Path) -> None:
    out = tmp_path / "suite.json"
    # A lake and warehouse named in the environment (as a shell that runs the platform has
    # them) are left alone: the suite measures in homes of its own. (CI once failed when a
    # test's process passed its own on, and the suite wrote into a lake that was in use.)
    elsewhere = tmp_path / "elsewhere"
    locations = {
        "LAKEHOUSE_HOME": str(elsewhere / "home"),
        "LAKEHOUSE_LAKE_URI": str(elsewhere / "lake"),
        "LAKEHOUSE_WAREHOUSE_PATH": str(elsewhere / "warehouse.duckdb"),
    }
    subprocess.run(
        [
            sys.executable,
            str(ROOT / "benchmarks" / "suite.py"),
            "--scale", "0.01",
            "--repeats", "1",
            "--stages", "bronze,silver",
            # Three sources' silver on Spark and DuckDB (~30 s each on Spark however small the
            # day): the suite's machinery; every job's engines are compared in
            # test_silver_engines.py.
            "--sources", ",".join(SOURCES),
            "--out", str(out),
            "--no-markdown",
        ],
        check=True,
        cwd=tmp_path,
        env={**os.environ, **locations},
        timeout=1500,
    )  # fmt: skip
    assert not elsewhere.exists()
    record = json.loads(out.read_text())
    assert set(record["bronze"]) == set(SOURCES)
    assert set(record["bronze"]) == set(record["silver"]) - {
        "spark_startup_s",
        "spark_startup_peak_gib",
    }
    for name, bronze in record["bronze"].items():
        assert bronze["rows_accepted"] + bronze["rows_quarantined"] == bronze["rows_landed"], name
        assert bronze["bronze_s"] > 0 and bronze["plain_deltalake_s"] > 0
        assert 0.1 < bronze["bronze_peak_gib"] < 4
    references = {
        n: s for n, s in record["silver"].items() if isinstance(s, dict) and "reference_s" in s
    }
    assert set(references) == set(record["bronze"])
    # Not only these: every silver job has its DuckDB version.
    from pipelines.silver_run import all_sources

    assert all(source.build_silver_duckdb is not None for source in all_sources())
    for name, silver in references.items():
        # The DuckDB job wrote the same rows as the Spark job, value for value, and counted
        # the same.
        assert silver["same_output"] and silver["differences"] == [], name
        assert silver["same_statistics"], name
        assert silver["reference_s"] > 0 and 0.1 < silver["reference_peak_gib"] < 4
