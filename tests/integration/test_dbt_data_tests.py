"""The project's own generic dbt tests, run by dbt on a small warehouse whose faults are known:
a model's `not_null_columns` names each column that has nulls and how many rows, and passes on
clean rows; `unique_grain` finds a repeated key."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from datetime import date
from pathlib import Path

import duckdb
import pytest

from pipelines.settings import LakehouseSettings

pytestmark = pytest.mark.integration

DBT_PROJECT = Path(__file__).resolve().parents[2] / "dbt_project"
DBT = Path(sys.executable).parent / "dbt"
DAY = date(2020, 3, 1)


def _dim_routes(warehouse: Path, rows: list[tuple[str | None, date | None, bool | None]]) -> None:
    with duckdb.connect(str(warehouse)) as con:
        con.execute("create schema if not exists marts")
        con.execute(
            "create or replace table marts.dim_routes "
            "(route_id varchar, feed_version date, is_in_current_feed boolean)"
        )
        con.executemany("insert into marts.dim_routes values (?, ?, ?)", rows)


def _test_dim_routes(
    warehouse: Path, target: Path, *, log_path: Path | None = None
) -> dict[str, dict[str, object]]:
    """`dbt test` of dim_routes' own tests (failures stored); results by test name."""
    command = [str(DBT), "test", "--select", "dim_routes", "--indirect-selection", "cautious"]
    command += ["--store-failures", "--target-path", str(target)]
    command += ["--project-dir", str(DBT_PROJECT), "--profiles-dir", str(DBT_PROJECT)]
    if log_path:
        command += ["--log-path", str(log_path), "--log-level-file", "debug"]
        command += ["--log-format-file", "json"]
    env = {**os.environ, "LAKEHOUSE_WAREHOUSE_PATH": str(warehouse)}
    for tracking in ("DBT_SEND_ANONYMOUS_USAGE_STATS", "DO_NOT_TRACK"):
        env.pop(tracking, None)  # what the project itself says, not the caller's environment
    subprocess.run(command, cwd=DBT_PROJECT, env=env, capture_output=True, text=True)
    results = json.loads((target / "run_results.json").read_text())["results"]
    return {r["unique_id"].split(".")[2].split("_dim_routes")[0]: r for r in results}


def test_not_null_columns_names_each_column_with_nulls(
    local_settings: LakehouseSettings, tmp_path: Path
) -> None:
    warehouse = tmp_path / "w.duckdb"
    _dim_routes(
        warehouse,
        [
            ("R1", DAY, True),
            ("R1", DAY, True),  # the grain repeated
            (None, DAY, True),
            ("R3", None, None),
        ],
    )

    results = _test_dim_routes(warehouse, tmp_path / "bad")

    assert set(results) == {"not_null_columns", "unique_grain"}
    nulls = results["not_null_columns"]
    assert nulls["status"] == "fail" and nulls["failures"] == 3, nulls
    with duckdb.connect(str(warehouse), read_only=True) as con:
        stored = con.execute(f"select * from {nulls['relation_name']} order by 1").fetchall()
    assert stored == [("feed_version", 1), ("is_in_current_feed", 1), ("route_id", 1)]
    assert results["unique_grain"]["status"] == "fail"
    assert results["unique_grain"]["failures"] == 1

    _dim_routes(warehouse, [("R1", DAY, True), ("R2", DAY, False)])
    clean = _test_dim_routes(warehouse, tmp_path / "clean")
    assert {name: r["status"] for name, r in clean.items()} == {
        "not_null_columns": "pass",
        "unique_grain": "pass",
    }


def test_dbt_sends_no_usage_events(local_settings: LakehouseSettings, tmp_path: Path) -> None:
    """The project turns dbt's anonymous usage events off (`flags` in dbt_project.yml) for every
    invocation, not only for Dagster's, which sets DBT_SEND_ANONYMOUS_USAGE_STATS itself: no
    request from a city's machines to dbt Labs' collector."""
    warehouse = tmp_path / "w.duckdb"
    _dim_routes(warehouse, [("R1", DAY, True)])

    results = _test_dim_routes(warehouse, tmp_path / "target", log_path=tmp_path / "logs")

    assert {r["status"] for r in results.values()} == {"pass"}
    lines = (tmp_path / "logs" / "dbt.log").read_text().splitlines()
    events = [json.loads(line)["info"]["name"] for line in lines if line.startswith("{")]
    assert "MainReportVersion" in events, events[:5]  # the debug log is there
    assert "SendingEvent" not in events


def test_the_dbt_resource_knows_the_version_dbt_reports(tmp_path: Path) -> None:
    """`LakehouseDbtCliResource` reads the environment's dbt-core version instead of running
    `dbt --version` before every build; that is the version the executable itself reports.
    Another executable (here a link to the same dbt) is still asked."""
    from orchestration.assets.marts import LakehouseDbtCliResource

    reported = subprocess.run([str(DBT), "--version"], capture_output=True, text=True, check=True)
    installed = reported.stdout.split("installed:")[1].split()[0]
    ours = LakehouseDbtCliResource(
        project_dir=str(DBT_PROJECT), profiles_dir=str(DBT_PROJECT), dbt_executable=str(DBT)
    )
    assert str(ours._cli_version) == installed
    link = tmp_path / "dbt"
    link.symlink_to(DBT)
    other = LakehouseDbtCliResource(
        project_dir=str(DBT_PROJECT), profiles_dir=str(DBT_PROJECT), dbt_executable=str(link)
    )
    assert str(other._cli_version) == installed
