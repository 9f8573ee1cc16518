"""The ambulance silver job on the local lake, on Spark + delta-spark and on the single-node
DuckDB engine."""

from datetime import date

import pytest

from contracts.ambulance_calls import AMBULANCE_CALLS
from pipelines.ingest import ingest_day
from pipelines.lake import Lake
from pipelines.settings import LakehouseSettings
from pipelines.sources import ambulance
from pipelines.spark import spark_session

pytestmark = pytest.mark.integration
DAYS = [date(2020, 7, 6), date(2020, 7, 7)]


def land_and_ingest(lake: Lake, days: list[date]) -> int:
    delivered = 0
    for day in days:
        _, rows = ambulance.write_landing_day(lake, day, seed=5, scale=0.2)
        delivered += rows
        ingest_day(lake, AMBULANCE_CALLS, day)
    return delivered


def run_silver(lake: Lake, days: list[date], engine: str) -> dict[str, int]:
    used, stats = ambulance.SOURCE.run_silver(
        lake, days, lambda: spark_session(lake.settings), engine
    )
    assert used == engine
    return stats


@pytest.mark.parametrize("engine", ["spark", "duckdb"])
def test_silver_deduplicates_and_normalises_districts(
    engine: str, local_settings: LakehouseSettings, spark_session_for_tests: object
) -> None:
    lake = Lake(local_settings)
    lake.ensure_ready()
    delivered = land_and_ingest(lake, DAYS)
    stats = run_silver(lake, DAYS, engine)

    silver = lake.read("silver", "ambulance_calls")
    unique_calls = len(set(lake.read("bronze", "ambulance_calls")["call_id"].to_pylist()))
    assert stats["bronze_rows"] == delivered
    assert silver.num_rows == unique_calls == stats["silver_rows"] < delivered
    assert set(silver["district"].to_pylist()) <= {
        "Alatau",
        "Almaly",
        "Auezov",
        "Bostandyk",
        "Medeu",
        "Nauryzbay",
        "Turksib",
        "Zhetysu",
    }
    assert len(set(silver["call_id"].to_pylist())) == silver.num_rows
    assert {d.isoformat() for d in silver["call_date"].to_pylist()} == {d.isoformat() for d in DAYS}


@pytest.mark.parametrize("engine", ["spark", "duckdb"])
def test_rerunning_a_day_leaves_identical_tables(
    engine: str, local_settings: LakehouseSettings, spark_session_for_tests: object
) -> None:
    lake = Lake(local_settings)
    lake.ensure_ready()
    land_and_ingest(lake, DAYS)
    run_silver(lake, DAYS, engine)
    first = lake.read("silver", "ambulance_calls").sort_by("call_id")

    land_and_ingest(lake, DAYS[:1])  # the landing day again, then silver again
    run_silver(lake, DAYS[:1], engine)
    again = lake.read("silver", "ambulance_calls").sort_by("call_id")
    assert again.num_rows == first.num_rows
    assert again.equals(first.select(again.column_names))
    assert lake.delta_table("silver", "ambulance_calls").version() == 1  # replaced, not appended
