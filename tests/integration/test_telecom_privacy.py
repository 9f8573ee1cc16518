"""k-anonymity: no telecom count below k reaches silver."""

from datetime import date

import polars as pl
import pyarrow.compute as pc
import pytest

from contracts.telecom import TELECOM_FLOWS, TELECOM_PRESENCE
from pipelines.ingest import ingest_day
from pipelines.lake import Lake
from pipelines.settings import LakehouseSettings
from pipelines.sources import land_file, telecom
from pipelines.spark import spark_session

pytestmark = pytest.mark.integration
DAY = date(2020, 4, 20)


def test_counts_below_k_never_reach_silver(
    local_settings: LakehouseSettings, spark_session_for_tests: object
) -> None:
    k = local_settings.k_anonymity
    lake = Lake(local_settings)
    lake.ensure_ready()
    presence = telecom.simulate_presence(DAY, seed=4, scale=0.1)
    tiny = pl.int_range(pl.len()) < 20  # 20 cell-hours with a handful of subscribers
    small_visitors = pl.int_range(pl.len()).is_between(20, 39)  # 20 more with few visitors
    presence = presence.with_columns(
        pl.when(tiny).then(pl.lit("3")).otherwise(pl.col("home")).alias("home"),
        pl.when(tiny).then(pl.lit("2")).otherwise(pl.col("work")).alias("work"),
        pl.when(tiny | small_visitors)
        .then(pl.lit("4"))
        .otherwise(pl.col("visitor"))
        .alias("visitor"),
    )
    land_file(lake, TELECOM_PRESENCE, DAY, presence, "presence")
    telecom.write_flows_day(lake, DAY, seed=4, scale=0.02)  # a small city: many flows under k
    ingest_day(lake, TELECOM_PRESENCE, DAY)
    ingest_day(lake, TELECOM_FLOWS, DAY)
    spark = spark_session(local_settings)
    stats = telecom.build_presence_silver(spark, lake, [DAY])
    flows = telecom.build_flows_silver(spark, lake, [DAY])

    assert stats["cell_hours_suppressed"] == 20 and flows["flows_suppressed"] > 0
    hourly = lake.read("silver", "telecom_district_hourly")
    assert hourly.num_rows == 8 * 24
    assert pc.sum(hourly["cells_suppressed"]).as_py() == 20
    for column in ("home", "work", "visitor"):
        # A district sum of kept counts, each at least k; null where all were blanked.
        assert all(v >= k for v in hourly[column].drop_null().to_pylist())
    od = lake.read("silver", "telecom_od_hourly")
    assert od.num_rows == flows["telecom_od_hourly_rows"] > 0
    assert pc.min(od["subscribers"]).as_py() >= k
    assert hourly["home"].null_count < hourly.num_rows  # most of the city is still seen
    daily = lake.read("silver", "telecom_district_daily")
    assert daily.num_rows == 8
    assert all(0 < v < 1 for v in daily["daytime_mobility_index"].to_pylist())
