"""March to December 2020 of a small simulated Almaty through the whole graph in one run:
the planted epidemic shows in every source, and the marts find its planted lags again."""

from pathlib import Path

import polars as pl
import pytest

from pipelines.lake import Lake
from pipelines.settings import LakehouseSettings
from pipelines.warehouse import connect

pytestmark = [pytest.mark.integration, pytest.mark.timeout(2700)]


@pytest.fixture(scope="module")
def year(module_home, spark_session_for_tests: object) -> tuple[LakehouseSettings, object]:  # type: ignore[no-untyped-def]
    """Ten months of every source in one `city_daily` run (one Dagster run, as a backfill)."""
    import dagster as dg
    from dagster._core.storage.tags import (
        ASSET_PARTITION_RANGE_END_TAG,
        ASSET_PARTITION_RANGE_START_TAG,
    )

    from orchestration.definitions import build_definitions

    settings = module_home("year", LAKEHOUSE_SIMULATION_SCALE="0.02")
    job = build_definitions(settings).resolve_job_def("city_daily")
    result = job.execute_in_process(
        instance=dg.DagsterInstance.ephemeral(),
        tags={
            ASSET_PARTITION_RANGE_START_TAG: "2020-03-01",
            ASSET_PARTITION_RANGE_END_TAG: "2020-12-31",
        },
    )
    return settings, result


# Ten months of every source in one run (~10 M bus pings, ~5 M taps through Spark): ~21 min.
def test_march_to_december_2020_at_small_scale(year: tuple[LakehouseSettings, object]) -> None:
    settings, result = year
    assert result.success  # type: ignore[attr-defined]
    checks = result.get_asset_check_evaluations()  # type: ignore[attr-defined]
    assert checks and all(c.passed for c in checks), [c.check_name for c in checks if not c.passed]

    with connect(settings, read_only=True) as conn:
        (days,) = conn.execute(
            "select count(distinct call_date) from marts.fct_ambulance_calls_daily"
        ).fetchone()
        calls = dict(
            conn.execute(
                "select month(call_date), sum(calls) / count(distinct call_date) "
                "from marts.fct_ambulance_calls_daily group by 1"
            ).fetchall()
        )
        mobility = dict(
            conn.execute(
                "select month(activity_date), avg(daytime_mobility_index) "
                "from staging.stg_telecom__district_daily group by 1"
            ).fetchall()
        )
        pharmacy = dict(
            conn.execute(
                "select month(business_date), avg(pharmacy_receipts_per_10k) "
                "from staging.stg_fiscal__pharmacy_demand group by 1"
            ).fetchall()
        )
    assert days == 306
    assert calls[7] > 1.4 * calls[5]  # the summer wave fills the ambulance lines
    assert mobility[4] < 0.8 * mobility[9]  # the city stayed home under the state of emergency
    assert pharmacy[7] > 1.3 * pharmacy[5]  # and bought remedies in the wave

    lake = Lake(settings)
    boardings = (
        pl.from_arrow(lake.read("silver", "card_boardings", columns=["tap_date", "gps_match"]))
        .group_by(pl.col("tap_date").dt.month().alias("month"))
        .agg(pl.len() / pl.col("tap_date").n_unique(), (pl.col("gps_match") == "matched").mean())
        .sort("month")
    )
    per_day = dict(zip(boardings["month"], boardings["len"], strict=True))
    assert per_day[4] < 0.6 * per_day[9]  # buses emptied under the state of emergency
    assert boardings["gps_match"].min() > 0.95  # every month, taps find their bus's stop
    trips = lake.read("silver", "bus_trips", columns=["trip_date"])
    assert len(set(trips["trip_date"].to_pylist())) == 306
    assert lake.read("silver", "ucs_talents").num_rows > 0
    assert lake.read("silver", "ucs_jobs").num_rows > 0


def test_lead_lag_mart_recovers_the_planted_lags(year: tuple[LakehouseSettings, object]) -> None:
    """Pharmacy leads morbidity a little, ambulance calls move with it, mobility against it, and
    deaths trail it by about two weeks: what the simulator planted, and the seed analysis saw."""
    settings, _ = year
    with connect(settings, read_only=True) as conn:
        best = {
            signal: (lag, correlation)
            for signal, lag, correlation in conn.execute(
                "select signal, best_lag_days, correlation "
                "from marts.fct_signal_lead_lag_summary where area = 'CITY'"
            ).fetchall()
        }
    assert -4 <= best["pharmacy_receipts"][0] <= 0 and best["pharmacy_receipts"][1] > 0.5, best
    assert -2 <= best["ambulance_calls"][0] <= 3 and best["ambulance_calls"][1] > 0.5, best
    assert best["daytime_mobility_index"][1] < 0, best
    assert 11 <= best["deaths"][0] <= 17 and best["deaths"][1] > 0.5, best


def test_charts_are_drawn_and_attached(year: tuple[LakehouseSettings, object]) -> None:
    settings, result = year
    charts = {
        e.asset_key.path[-1]: e.materialization.metadata
        for e in result.get_asset_materialization_events()  # type: ignore[attr-defined]
        if e.asset_key.path[0] == "charts"
    }
    assert set(charts) == {"lead_lag", "epidemic_signals", "district_activity", "route_on_time"}
    for name, metadata in charts.items():
        path = Path(metadata["path"].value)
        assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n", name
        assert "data:image/png;base64," in metadata["preview"].value


def test_every_mart_passes_its_suite_and_data_docs_are_built(
    year: tuple[LakehouseSettings, object], tmp_path: Path
) -> None:
    from pipelines.quality import MART_SPECS, validate_marts

    settings, _ = year
    report = validate_marts(settings, tmp_path / "quality")
    assert not report.skipped, report.skipped  # every mart with a suite was built
    assert {t.table for t in report.tables} == set(MART_SPECS)
    assert all(t.success for t in report.tables), [t.details for t in report.tables if t.details]
    assert (tmp_path / "quality" / "index.html").is_file()


def test_dashboards_answer_through_duckdb_engine_and_gold_is_published(
    year: tuple[LakehouseSettings, object],
) -> None:
    from pipelines.dashboards import DASHBOARD_QUERIES, run_dashboard_queries

    settings, _ = year
    results = run_dashboard_queries(settings.warehouse_path)
    assert set(results) == set(DASHBOARD_QUERIES)
    assert all(result.rows for result in results.values()), [
        name for name, result in results.items() if not result.rows
    ]
    # The ULL inputs cover every district and month, in all five supported factors.
    latest = results["ull_indicators_latest_month"].rows
    assert len({row[0] for row in latest}) == 8
    assert {row[1] for row in latest} == {
        "smart_mobility",
        "smart_economy",
        "smart_governance",
        "smart_living",
        "smart_people",
    }
    lake = Lake(settings)
    with connect(settings, read_only=True) as conn:
        for table in ("fct_ull_indicators_monthly", "fct_route_performance_daily"):
            (rows,) = conn.execute(f"select count(*) from marts.{table}").fetchone()
            assert lake.read("gold", table).num_rows == rows
