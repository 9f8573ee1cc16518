"""The Spark + delta-spark silver job on the local lake."""

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


def test_silver_deduplicates_and_normalises_districts(
    local_settings: LakehouseSettings, spark_session_for_tests: object
) -> None:
    lake = Lake(local_settings)
    lake.ensure_ready()
    delivered = land_and_ingest(lake, DAYS)
    stats = ambulance.build_silver(spark_session(local_settings), lake, DAYS)

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


def test_rerunning_a_day_leaves_identical_tables(
    local_settings: LakehouseSettings, spark_session_for_tests: object
) -> None:
    lake = Lake(local_settings)
    lake.ensure_ready()
    land_and_ingest(lake, DAYS)
    spark = spark_session(local_settings)
    ambulance.build_silver(spark, lake, DAYS)
    first = lake.read("silver", "ambulance_calls").sort_by("call_id")

    land_and_ingest(lake, DAYS[:1])  # the landing day again, then silver again
    ambulance.build_silver(spark, lake, DAYS[:1])
    again = lake.read("silver", "ambulance_calls").sort_by("call_id")
    assert again.num_rows == first.num_rows
    assert again.equals(first.select(again.column_names))
    assert lake.delta_table("silver", "ambulance_calls").version() == 1  # replaced, not appended
