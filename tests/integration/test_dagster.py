"""Real Dagster materialisations of the partitioned graph, on the local lake and on MinIO."""

import os
import subprocess
import sys
from collections.abc import Callable
from datetime import date
from itertools import pairwise
from pathlib import Path

import dagster as dg
import pyarrow as pa
import pyarrow.compute as pc
import pytest

from pipelines.lake import Lake
from pipelines.privacy import find_clear_identifiers
from pipelines.settings import LakehouseSettings
from pipelines.warehouse import connect

pytestmark = pytest.mark.integration
ROOT = Path(__file__).resolve().parents[2]
MART = dg.AssetKey(["marts", "fct_ambulance_calls_daily"])
RunDays = Callable[..., dg.ExecuteInProcessResult]  # (settings, first, last, *, ml=True)


def mart_rows(settings: LakehouseSettings) -> list[tuple]:
    with connect(settings, read_only=True) as conn:
        return conn.execute(
            "select * from marts.fct_ambulance_calls_daily order by call_date, district_code, reason"
        ).fetchall()


def test_definitions_validate() -> None:
    result = subprocess.run(
        [
            str(Path(sys.executable).parent / "dagster"),
            "definitions",
            "validate",
            "-m",
            "orchestration.definitions",
        ],
        capture_output=True,
        text=True,
        cwd=ROOT,
        timeout=300,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "Validation successful" in result.stdout + result.stderr


def test_definitions_load_without_the_jobs_libraries() -> None:
    """Every process that loads the definitions pays for what they import: under the
    multiprocess executor each step's own process, and the code server. The libraries of the
    ML jobs, the charts and dbt's adapter are imported by the steps that use them."""
    libraries = [
        "mlflow",
        "sklearn",
        "scipy",
        "matplotlib",
        "torch",
        "sentence_transformers",
        "great_expectations",
        "dbt.adapters.duckdb",
    ]
    code = (
        "import sys; import orchestration.definitions as d; d.defs.resolve_job_def('city_daily'); "
        "print(' '.join(name for name in sys.argv[1:] if name in sys.modules))"
    )
    # Nor do they write the environment: it would point the importer's later children (a
    # test worker's next tests) at this home's lake.
    env = {k: v for k, v in os.environ.items() if not k.startswith("LAKEHOUSE_")}
    code += "; import os; print(sorted(k for k in os.environ if k.startswith('LAKEHOUSE_')))"
    result = subprocess.run(
        [sys.executable, "-c", code, *libraries],
        capture_output=True,
        text=True,
        cwd=ROOT,
        env=env,
        timeout=300,
    )
    assert result.returncode == 0, result.stderr
    imported, environment = result.stdout.splitlines()
    assert imported.split() == []
    assert environment == "[]"


def test_dbt_is_handed_the_runs_lake_and_warehouse(tmp_path: Path) -> None:
    """The dbt steps give dbt their run's locations, whatever this process's environment says."""
    from orchestration.assets.marts import dbt_environment

    settings = LakehouseSettings(_env_file=None, home=tmp_path / "home")  # type: ignore[call-arg]
    env = dbt_environment(settings, date(2020, 3, 1), date(2020, 3, 7))
    assert env["LAKEHOUSE_LAKE_URI"] == str(tmp_path / "home" / "lake")
    assert env["LAKEHOUSE_WAREHOUSE_PATH"] == str(tmp_path / "home" / "warehouse.duckdb")
    assert env["LAKEHOUSE_HOME"] == str(tmp_path / "home")
    assert (env["LAKEHOUSE_DBT_MIN_DATE"], env["LAKEHOUSE_DBT_MAX_DATE"]) == (
        "2020-03-01",
        "2020-03-07",
    )


def test_a_run_launched_as_the_schedule_does_runs_each_step_in_a_process_of_its_own(
    local_settings: LakehouseSettings, tmp_path: Path
) -> None:
    """`dagster job execute` launches a run as the daemon does: the job's executor runs each
    step in a process forked from a server that loaded the definitions once. A landed day of
    ambulance calls goes through bronze, silver and its mart."""
    import os

    from orchestration.cli import dagster_yaml
    from pipelines.sources.ambulance import simulate_day

    day = date(2020, 3, 2)
    calls = simulate_day(day, seed=21, scale=0.1)
    lake = Lake(local_settings)
    lake.put_file(f"landing/ambulance_calls/{day}/export.csv", calls.write_csv().encode())
    dagster_home = tmp_path / "dagster"
    dagster_home.mkdir()
    (dagster_home / "dagster.yaml").write_text(dagster_yaml(dagster_home))
    result = subprocess.run(
        [str(Path(sys.executable).parent / "dagster"), "job", "execute"]
        + ["-m", "orchestration.definitions", "-j", "ingest_ambulance"]
        + ["--tags", f'{{"dagster/partition": "{day}"}}'],
        capture_output=True,
        text=True,
        cwd=ROOT,
        env={**os.environ, "DAGSTER_HOME": str(dagster_home), "LAKEHOUSE_SIMULATE": "false"},
        timeout=600,
    )
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]

    with dg.DagsterInstance.from_config(str(dagster_home)) as instance:
        (run,) = instance.get_runs()
        assert run.status == dg.DagsterRunStatus.SUCCESS
        events = [r.dagster_event for r in instance.all_logs(run.run_id) if r.dagster_event]
    workers = {
        e.step_key for e in events if e.event_type == dg.DagsterEventType.STEP_WORKER_STARTING
    }
    pids = {e.step_key: e.pid for e in events if e.event_type == dg.DagsterEventType.STEP_START}
    assert workers == set(pids) and len(pids) == 6  # bronze, silver, the dbt step, three checks
    run_pids = {e.pid for e in events if e.event_type == dg.DagsterEventType.RUN_START}
    assert len(set(pids.values())) == len(pids) and not run_pids & set(pids.values())
    assert lake.read("bronze", "ambulance_calls").num_rows == calls.height
    assert lake.read("silver", "ambulance_calls").num_rows == calls.unique("call_id").height
    assert sum(row[4] for row in mart_rows(local_settings)) == calls.unique("call_id").height


def test_every_chart_is_an_asset() -> None:
    from orchestration.assets.charts import CHART_MARTS
    from pipelines.charts import CHARTS

    assert list(CHART_MARTS) == list(CHARTS)


def test_the_steps_holding_a_large_day_are_limited_to_one_at_a_time() -> None:
    """The transit sources' landing, bronze and silver steps and the talent matching each hold
    ~2.5-3 GiB at full scale; the launched run's executor runs those tagged steps one at a time."""
    from orchestration.definitions import defs, step_processes
    from orchestration.partitions import LARGE_MEMORY, MEMORY_TAG

    job = defs.resolve_job_def("city_daily")
    large = {node.name for node in job.graph.node_defs if node.tags.get(MEMORY_TAG)}
    assert large == {
        "landing__bus_positions",
        "landing__card_taps",
        "bronze__bus_positions",
        "bronze__card_taps",
        "silver_bus_gps",
        "silver_onay_taps",
        "talent_matching",
    }
    assert job.executor_def is step_processes
    config = step_processes.config_schema.resolve_config({}).value["config"]  # type: ignore[attr-defined]
    assert config["tag_concurrency_limits"] == [
        {"key": MEMORY_TAG, "value": LARGE_MEMORY[MEMORY_TAG], "limit": 1}
    ]


def test_partitioned_graph_materialises_and_checks_pass(
    local_settings: LakehouseSettings, spark_session_for_tests: object, run_days: RunDays
) -> None:
    result = run_days(local_settings, "2020-07-01", "2020-07-03")
    assert result.success
    # The whole graph, the ML jobs' marts included: no clear identifier.
    scanned = scan_for_clear_identifiers(local_settings)
    assert scanned["ml"] >= 4 and sum(scanned.values()) >= 16, scanned
    materialised = {e.asset_key for e in result.get_asset_materialization_events()}
    assert {
        dg.AssetKey(["landing", "ambulance_calls"]),
        dg.AssetKey(["bronze", "ambulance_calls"]),
        dg.AssetKey(["silver", "ambulance_calls"]),
        dg.AssetKey(["staging", "stg_ambulance__calls"]),
        MART,
        dg.AssetKey(["landing", "fiscal_receipts"]),
        dg.AssetKey(["bronze", "fiscal_receipts"]),
        dg.AssetKey(["silver", "fiscal_district_daily"]),
        dg.AssetKey(["silver", "pharmacy_demand_daily"]),
        dg.AssetKey(["staging", "stg_fiscal__pharmacy_demand"]),
        dg.AssetKey(["silver", "telecom_district_daily"]),
        dg.AssetKey(["silver", "telecom_od_hourly"]),
        dg.AssetKey(["staging", "stg_telecom__od_hourly"]),
        dg.AssetKey(["silver", "gtfs_feed"]),
        dg.AssetKey(["silver", "bus_stop_arrivals"]),
        dg.AssetKey(["silver", "card_journeys"]),
    } <= materialised
    checks = result.get_asset_check_evaluations()
    assert any(c.check_name == "ambulance_mart_reconciles_with_silver" and c.passed for c in checks)
    accounted = [c for c in checks if c.check_name == "bronze_rows_accounted_for"]
    from orchestration.definitions import SOURCES

    assert {c.asset_key.path[-1] for c in accounted} == {s.contract.table for s in SOURCES}
    # Each counts the run's days, not the lake's whole history.
    assert {c.metadata["days"].value for c in accounted} == {"2020-07-01..2020-07-03"}
    assert all(c.metadata["rows_landed"].value > 0 for c in accounted)
    assert all(c.passed for c in checks), [c.check_name for c in checks if not c.passed]

    rows = mart_rows(local_settings)
    assert {r[0].isoformat() for r in rows} == {"2020-07-01", "2020-07-02", "2020-07-03"}
    silver_calls = Lake(local_settings).read("silver", "ambulance_calls").num_rows
    assert sum(r[4] for r in rows) == silver_calls > 300  # the July 2020 wave, a tenth of Almaty
    with connect(local_settings, read_only=True) as conn:
        pharmacy = conn.execute(
            "select count(*), count(distinct district_code), sum(pharmacy_receipts) "
            "from staging.stg_fiscal__pharmacy_demand"
        ).fetchone()
        mobility = conn.execute(
            "select count(*), min(daytime_mobility_index), max(daytime_mobility_index) "
            "from staging.stg_telecom__district_daily"
        ).fetchone()
        commuters = conn.execute(
            "select sum(subscribers) from staging.stg_telecom__od_hourly "
            "where from_agglomeration and hour_local between 7 and 9"
        ).fetchone()[0]
    assert pharmacy[0] == 3 * 8 and pharmacy[1] == 8 and pharmacy[2] > 3 * 20_000
    assert mobility[0] == 3 * 8 and 0 < mobility[1] <= mobility[2] < 1
    assert commuters > 3 * 2_000  # the morning pendulum from the agglomeration


def test_no_clear_identifier_reaches_silver_or_the_warehouse(
    local_settings: LakehouseSettings, spark_session_for_tests: object, run_days: RunDays
) -> None:
    # Without the ML jobs: their marts are scanned where they run
    # (test_partitioned_graph_materialises_and_checks_pass).
    assert run_days(local_settings, "2020-10-01", "2020-10-01", ml=False).success
    assert sum(scan_for_clear_identifiers(local_settings).values()) >= 12


def scan_for_clear_identifiers(settings: LakehouseSettings) -> dict[str, int]:
    """Every silver table and every staging, mart and ML mart relation, each asserted free of
    clear identifiers; how many were scanned, per schema."""
    from orchestration.definitions import SOURCES

    lake = Lake(settings)
    scanned = {"silver": 0, "staging": 0, "marts": 0, "ml": 0}
    for source in SOURCES:
        for table in source.silver_tables:
            assert find_clear_identifiers(lake.read("silver", table)) == [], table
            scanned["silver"] += 1
    with connect(settings, read_only=True) as conn:
        relations = conn.execute(
            "select table_schema, table_name from information_schema.tables "
            "where table_schema in ('staging', 'marts', 'ml')"
        ).fetchall()
        for schema, name in relations:
            rows = conn.execute(f'select * from "{schema}"."{name}"').fetch_arrow_table()
            assert find_clear_identifiers(rows) == [], f"{schema}.{name}"
            scanned[schema] += 1
    return scanned


def talent_stocks(settings: LakehouseSettings) -> list[dict]:
    with connect(settings, read_only=True) as conn:
        return (
            conn.execute("select * from marts.fct_talent_pipeline_daily order by activity_date")
            .pl()
            .to_dicts()
        )


def test_a_built_day_then_a_backfill_behind_it_rerun_changes_nothing_and_stocks_add_up(
    local_settings: LakehouseSettings, spark_session_for_tests: object, run_days: RunDays
) -> None:
    """A day, then a range of the day before it and the day again: re-running the built day
    leaves its silver and mart rows as they were, and the backfill's UCS records (which change
    the talent pipeline's running stocks of days built before it) leave the stocks adding up
    (dbt's `assert_talent_pipeline_stocks_consistent` passes, checked here too)."""
    assert run_days(local_settings, "2020-04-02", "2020-04-02", ml=False).success
    lake = Lake(local_settings)
    day = pc.field("call_date") == pa.scalar(date(2020, 4, 2))

    def silver_of_the_day() -> pa.Table:
        return lake.read("silver", "ambulance_calls").filter(day).sort_by("call_id")

    silver, mart = silver_of_the_day(), mart_rows(local_settings)
    stocks_before = talent_stocks(local_settings)

    assert run_days(local_settings, "2020-04-01", "2020-04-02", ml=False).success
    assert silver_of_the_day().equals(silver) and silver.num_rows > 0
    assert [r for r in mart_rows(local_settings) if r[0] == date(2020, 4, 2)] == mart
    assert {r[0] for r in mart_rows(local_settings)} == {date(2020, 4, 1), date(2020, 4, 2)}
    stocks = talent_stocks(local_settings)
    assert stocks != stocks_before  # the backfill's talents count on days built before it
    for before, after in pairwise(stocks):
        assert after["talents_to_date"] == before["talents_to_date"] + after["talents_registered"]


@pytest.mark.parametrize("engine", ["auto", "spark"])  # auto: DuckDB on a local master
def test_the_graph_runs_on_minio(
    engine: str, s3_settings: LakehouseSettings, spark_session_for_tests: object, run_days: RunDays
) -> None:
    ml = engine == "auto"  # the ML jobs on MinIO once; the Spark run is about silver
    result = run_days(
        s3_settings.model_copy(update={"silver_engine": engine}), "2020-03-19", "2020-03-20", ml=ml
    )
    assert result.success
    materialised = {e.asset_key for e in result.get_asset_materialization_events()}
    assert (dg.AssetKey(["gold", "ml_talent_job_matches"]) in materialised) == ml
    assert (dg.AssetKey(["silver", "ucs_embeddings"]) in materialised) == ml
    silver_engines = {
        e.materialization.metadata["engine"].value
        for e in result.get_asset_materialization_events()
        if e.asset_key is not None and e.asset_key.path[0] == "silver"
        and "engine" in e.materialization.metadata
    }  # fmt: skip
    assert silver_engines == {"duckdb" if engine == "auto" else "spark"}
    assert all(c.passed for c in result.get_asset_check_evaluations())
    lake = Lake(s3_settings)
    silver = lake.read("silver", "ambulance_calls").num_rows
    assert sum(r[4] for r in mart_rows(s3_settings)) == silver > 200
    if ml:  # the embedding store and the matches are Delta tables on MinIO too
        assert lake.read("gold", "ml_talent_job_matches").num_rows > 0
        assert lake.read("silver", "ucs_embeddings").num_rows > 0
