"""The project's own generic dbt test, run by dbt on a small warehouse whose faults are known: a
model's one `model_checks` test names each rule broken (a repeated grain or unique value, each
column with nulls, a value outside the accepted ones, a key with no parent), how many keys or
rows break it and an example, and passes on clean rows. And the project's own `table` and `view`
materialisations: replaced in place, whatever stood in the model's place."""

from __future__ import annotations

import json
import os
import re
import subprocess
from datetime import date
from pathlib import Path

import duckdb
import pytest

from orchestration.dbt_cli import installed_dbt
from pipelines.settings import LakehouseSettings

pytestmark = pytest.mark.integration

DBT_PROJECT = Path(__file__).resolve().parents[2] / "dbt_project"
DBT = installed_dbt()  # the dbt the pipeline runs (`lakehouse-dbt`)
DAY = date(2020, 3, 1)


def _tables(warehouse: Path, tables: dict[str, tuple[str, list[tuple[object, ...]]]]) -> None:
    """Replace each `schema.table` of `tables` with (its columns' DDL, its rows)."""
    with duckdb.connect(str(warehouse)) as con:
        for name, (columns, rows) in tables.items():
            con.execute(f"create schema if not exists {name.split('.')[0]}")
            con.execute(f"create or replace table {name} ({columns})")
            if rows:
                marks = ", ".join("?" * len(rows[0]))
                con.executemany(f"insert into {name} values ({marks})", rows)


ROUTES = "route_id varchar, feed_version date, is_in_current_feed boolean"
SCHEDULE = "feed_version date, route_id varchar, scheduled_trips_per_day integer"
INDICATORS = "indicator varchar, primary_factor varchar"


def _dim_routes(warehouse: Path, rows: list[tuple[str | None, date | None, bool | None]]) -> None:
    _tables(warehouse, {"marts.dim_routes": (ROUTES, list(rows))})


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


def _test(
    warehouse: Path, target: Path, *selected: str, log_path: Path | None = None
) -> dict[str, dict[str, object]]:
    """`dbt test` of the tests on `selected` alone (failures stored); results by test name."""
    test = ["test", "--select", *selected, "--indirect-selection", "cautious"]
    _dbt([*test, "--store-failures"], warehouse, target, log_path=log_path)
    results = json.loads((target / "run_results.json").read_text())["results"]
    return {r["unique_id"].split(".")[2]: r for r in results}


def _failures(warehouse: Path, result: dict[str, object]) -> list[tuple[object, ...]]:
    """The rows a failed test stored: (rule, columns, failing keys or rows, example)."""
    with duckdb.connect(str(warehouse), read_only=True) as con:
        return con.execute(f"select * from {result['relation_name']} order by 1, 2").fetchall()


def test_model_checks_name_each_broken_rule(
    local_settings: LakehouseSettings, tmp_path: Path
) -> None:
    warehouse = tmp_path / "w.duckdb"
    routes = [("R1", DAY, True), ("R1", DAY, True), (None, DAY, True), ("R3", None, None)]
    schedule = [(DAY, "R1", 10), (DAY, "R9", None)]  # R9 is no route
    indicators = [
        ("a", "smart_mobility"),
        ("a", "smart_people"),  # the key repeated
        ("b", "smart_weather"),  # no such factor
        (None, "smart_living"),
        ("c", None),  # a null is not an unaccepted value, only a missing one
    ]
    _tables(
        warehouse,
        {
            "marts.dim_routes": (ROUTES, routes),
            "marts.dim_route_schedule": (SCHEDULE, schedule),
            "reference.ull_indicators": (INDICATORS, indicators),
        },
    )

    results = _test(
        warehouse, tmp_path / "bad", "dim_routes", "dim_route_schedule", "ull_indicators"
    )

    assert set(results) == {
        "dim_routes__checks",
        "dim_route_schedule__checks",
        "ull_indicators__checks",
    }
    assert {r["status"] for r in results.values()} == {"fail"}
    assert _failures(warehouse, results["dim_routes__checks"]) == [
        ("not_null", "feed_version", 1, None),
        ("not_null", "is_in_current_feed", 1, None),
        ("not_null", "route_id", 1, None),
        ("unique_grain", "route_id", 1, "R1"),
    ]
    assert results["dim_routes__checks"]["failures"] == 4
    assert _failures(warehouse, results["dim_route_schedule__checks"]) == [
        ("not_null", "scheduled_trips_per_day", 1, None),
        ("relationships", "route_id -> dim_routes.route_id", 1, "R9"),
    ]
    assert _failures(warehouse, results["ull_indicators__checks"]) == [
        ("accepted_values", "primary_factor", 1, "smart_weather"),
        ("not_null", "indicator", 1, None),
        ("not_null", "primary_factor", 1, None),
        ("unique", "indicator", 1, "a"),
    ]

    _tables(
        warehouse,
        {
            "marts.dim_routes": (ROUTES, [("R1", DAY, True), ("R2", DAY, False)]),
            "marts.dim_route_schedule": (SCHEDULE, [(DAY, "R1", 10), (DAY, "R2", 4)]),
            "reference.ull_indicators": (
                INDICATORS,
                [("a", "smart_mobility"), ("b", "smart_people")],
            ),
        },
    )
    clean = _test(
        warehouse, tmp_path / "clean", "dim_routes", "dim_route_schedule", "ull_indicators"
    )
    assert {name: r["status"] for name, r in clean.items()} == {
        "dim_routes__checks": "pass",
        "dim_route_schedule__checks": "pass",
        "ull_indicators__checks": "pass",
    }


def test_the_hourly_facts_checks_look_at_the_run_window_only(
    local_settings: LakehouseSettings, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A repeated key on a day outside LAKEHOUSE_DBT_MIN_DATE.._MAX_DATE is not the run's: the
    run-window checks of an hourly fact pass; with the day inside the window they fail."""
    warehouse = tmp_path / "w.duckdb"
    ridership = "service_date date, hour_local integer, route_id varchar, boardings bigint"
    other = date(2020, 2, 1)
    _tables(
        warehouse,
        {
            "marts.dim_routes": (ROUTES, [("R1", DAY, True)]),
            "marts.fct_route_ridership_hourly": (
                ridership,
                [(DAY, 8, "R1", 5), (other, 8, "R1", 5), (other, 8, "R1", 6)],
            ),
        },
    )
    select = ("dim_routes", "fct_route_ridership_hourly")
    name = "fct_route_ridership_hourly__checks_in_run_window"
    monkeypatch.setenv("LAKEHOUSE_DBT_MIN_DATE", str(DAY))
    monkeypatch.setenv("LAKEHOUSE_DBT_MAX_DATE", str(DAY))
    inside = _test(warehouse, tmp_path / "day", *select)
    monkeypatch.setenv("LAKEHOUSE_DBT_MIN_DATE", str(other))
    wider = _test(warehouse, tmp_path / "wider", *select)
    assert inside[name]["status"] == "pass"
    assert wider[name]["status"] == "fail"
    assert _failures(warehouse, wider[name]) == [
        ("unique_grain", "service_date, hour_local, route_id", 1, f"{other}, 8, R1")
    ]


def test_dbt_sends_no_usage_events(local_settings: LakehouseSettings, tmp_path: Path) -> None:
    """The project turns dbt's anonymous usage events off (`flags` in dbt_project.yml) for every
    invocation, not only for Dagster's, which sets DBT_SEND_ANONYMOUS_USAGE_STATS itself: no
    request from a city's machines to dbt Labs' collector."""
    warehouse = tmp_path / "w.duckdb"
    _dim_routes(warehouse, [("R1", DAY, True)])

    results = _test(warehouse, tmp_path / "target", "dim_routes", log_path=tmp_path / "logs")

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
