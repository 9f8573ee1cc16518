"""The project's own generic dbt tests, run by dbt on a small warehouse whose faults are known:
a model's `not_null_columns` names each column that has nulls and how many rows, and passes on
clean rows; `unique_grain` finds a repeated key. And the project's own `table` and `view`
materialisations: replaced in place, whatever stood in the model's place."""

from __future__ import annotations

import json
import os
import re
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


def _dbt(
    args: list[str], warehouse: Path, target: Path, *, log_path: Path | None = None
) -> subprocess.CompletedProcess[str]:
    """dbt `args` on `warehouse`, in a target folder of its own; with `log_path`, dbt's debug
    log there as JSON lines. Usage tracking as the project sets it, not as the caller's
    environment does."""
    command = [str(DBT), *args, "--target-path", str(target)]
    command += ["--project-dir", str(DBT_PROJECT), "--profiles-dir", str(DBT_PROJECT)]
    if log_path:
        command += ["--log-path", str(log_path), "--log-level-file", "debug"]
        command += ["--log-format-file", "json"]
    env = {**os.environ, "LAKEHOUSE_WAREHOUSE_PATH": str(warehouse)}
    for tracking in ("DBT_SEND_ANONYMOUS_USAGE_STATS", "DO_NOT_TRACK"):
        env.pop(tracking, None)
    return subprocess.run(command, cwd=DBT_PROJECT, env=env, capture_output=True, text=True)


def _test_dim_routes(
    warehouse: Path, target: Path, *, log_path: Path | None = None
) -> dict[str, dict[str, object]]:
    """`dbt test` of dim_routes' own tests (failures stored); results by test name."""
    test = ["test", "--select", "dim_routes", "--indirect-selection", "cautious"]
    _dbt([*test, "--store-failures"], warehouse, target, log_path=log_path)
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


def _dbt_run(warehouse: Path, target: Path, *models: str) -> list[str]:
    """`dbt run` of `models` on `warehouse`; the SQL dbt sent, from its debug log."""
    done = _dbt(["run", "--select", *models], warehouse, target, log_path=target / "logs")
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr
    lines = (target / "logs" / "dbt.log").read_text().splitlines()
    events = [json.loads(line) for line in lines if line.startswith("{")]
    sent = [e["data"]["sql"] for e in events if e["info"]["name"] == "SQLQuery"]
    # each statement in one lower-case line, without dbt's /* {"app": "dbt", ...} */ comment
    return [" ".join(re.sub(r"^\s*/\*.*?\*/", "", s, flags=re.S).split()).lower() for s in sent]


def _relations(warehouse: Path) -> dict[tuple[str, str], str]:
    with duckdb.connect(str(warehouse), read_only=True) as con:
        rows = con.execute(
            "select schema_name, table_name, 'table' from duckdb_tables() union all "
            "select schema_name, view_name, 'view' from duckdb_views() where not internal"
        ).fetchall()
    return {(schema, name): kind for schema, name, kind in rows}


def test_models_are_replaced_in_place_whatever_was_there_before(
    local_settings: LakehouseSettings, tmp_path: Path
) -> None:
    """The project's `table` and `view` materialisations (dbt_project/macros/materializations.sql):
    one `create or replace` in the model's transaction, no build under a temporary name and no
    renames; a relation of the other kind in the model's place is dropped first; nothing is
    left behind."""
    warehouse = tmp_path / "warehouse.duckdb"
    with duckdb.connect(str(warehouse)) as con:
        con.execute("create schema staging")
        con.execute(
            "create table staging.stg_ucs__courses as select * from (values "
            "('C1', ['python', 'sql'], timestamp '2020-03-01 09:00'), "
            "('C2', ['sql', null], timestamp '2020-03-01 10:00')"
            ") as t(course_id, skills_taught, updated_at)"
        )
        # Each model's relation exists, as the other kind: a view once built as a table.
        con.execute("create table staging.stg_ucs__course_skills as select 1 as stale")
        con.execute("create schema marts")
        con.execute("create view marts.dim_calendar as select 1 as stale")
    models = ("stg_ucs__course_skills", "dim_calendar")

    for attempt in ("first", "again"):
        sent = _dbt_run(warehouse, tmp_path / attempt, *models)

        assert _relations(warehouse) == {
            ("staging", "stg_ucs__courses"): "table",
            ("staging", "stg_ucs__course_skills"): "view",
            ("marts", "dim_calendar"): "table",
        }, attempt
        with duckdb.connect(str(warehouse), read_only=True) as con:
            skills = con.execute(
                "select course_id, skill from staging.stg_ucs__course_skills order by all"
            ).fetchall()
            days = con.execute("select count(*), min(date_day) from marts.dim_calendar").fetchone()
        assert skills == [("C1", "python"), ("C1", "sql"), ("C2", "sql")]
        assert days == (1826, date(2019, 1, 1))  # the calendar's vars: 2019-2023
        created = sorted(s.split(" as (")[0] for s in sent if s.startswith("create or replace"))
        assert created == [
            'create or replace table "warehouse"."marts"."dim_calendar"',
            'create or replace view "warehouse"."staging"."stg_ucs__course_skills"',
        ], sent
        assert not [s for s in sent if "rename" in s or "__dbt" in s], attempt
        drops = {s for s in sent if s.startswith("drop ")}
        expected = (
            {
                'drop table if exists "warehouse"."staging"."stg_ucs__course_skills"',
                'drop view if exists "warehouse"."marts"."dim_calendar"',
            }
            if attempt == "first"
            else set()
        )
        assert drops == expected, attempt


def test_a_table_with_an_enforced_contract_keeps_the_adapters_ddl(tmp_path: Path) -> None:
    """A model whose contract is enforced (declared column types and constraints) is built by
    dbt-duckdb's own `create_table_as`, after the old table is dropped in the same transaction;
    the constraint holds on the rebuilt table and the model's hook runs. A project of its own,
    with the lakehouse's materialisations as its macros."""
    project = tmp_path / "project"
    (project / "macros").mkdir(parents=True)
    (project / "models").mkdir()
    (project / "macros" / "materializations.sql").write_text(
        (DBT_PROJECT / "macros" / "materializations.sql").read_text()
    )
    (project / "dbt_project.yml").write_text(
        "name: contracted\nprofile: contracted\nconfig-version: 2\n"
        "flags:\n  send_anonymous_usage_stats: false\n"
    )
    warehouse = tmp_path / "contracted.duckdb"
    (project / "profiles.yml").write_text(
        "contracted:\n  target: dev\n  outputs:\n    dev:\n      type: duckdb\n"
        f"      path: {warehouse}\n      threads: 1\n"
    )
    (project / "models" / "districts.sql").write_text(
        "{{ config(materialized='table', post_hook='create or replace table main.hooked "
        "as select count(*) as n from {{ this }}') }}\n"
        "select * from (values (1, 'Almaly'), (2, 'Bostandyk')) as t(district_id, name)\n"
    )
    (project / "models" / "schema.yml").write_text(
        "version: 2\nmodels:\n  - name: districts\n    config:\n      contract:\n"
        "        enforced: true\n    columns:\n"
        "      - name: district_id\n        data_type: integer\n"
        "        constraints: [{type: not_null}]\n"
        "      - name: name\n        data_type: varchar\n"
    )
    command = [str(DBT), "run", "--project-dir", str(project), "--profiles-dir", str(project)]
    command += ["--log-path", str(tmp_path / "logs"), "--log-level-file", "debug"]

    for attempt in ("first", "again"):
        done = subprocess.run(command, cwd=project, capture_output=True, text=True)
        assert done.returncode == 0, done.stdout[-3000:] + done.stderr

        with duckdb.connect(str(warehouse), read_only=True) as con:
            rows = con.execute("select * from main.districts order by 1").fetchall()
            not_null = con.execute(
                "select constraint_column_names from duckdb_constraints() "
                "where table_name = 'districts' and constraint_type = 'NOT NULL'"
            ).fetchall()
            names = con.execute("select table_name from duckdb_tables() order by 1").fetchall()
            hooked = con.execute("select n from main.hooked").fetchall()
        assert rows == [(1, "Almaly"), (2, "Bostandyk")], attempt
        assert not_null == [(["district_id"],)], attempt
        assert hooked == [(2,)], attempt  # the model's post-hook ran after the rebuild
        assert names == [("districts",), ("hooked",)], attempt  # nothing under another name
    log = (tmp_path / "logs" / "dbt.log").read_text()
    assert 'drop table if exists "contracted"."main"."districts"' in log
    assert "rename" not in log.lower()
