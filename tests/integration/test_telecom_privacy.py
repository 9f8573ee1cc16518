"""k-anonymity: no telecom count below k reaches silver."""

from datetime import date

import pyarrow.compute as pc
import pytest

from contracts.telecom import TELECOM_FLOWS, TELECOM_PRESENCE
from pipelines.ingest import ingest_day
from pipelines.lake import Lake
from pipelines.settings import LakehouseSettings
from pipelines.sources import telecom
from pipelines.spark import spark_session

pytestmark = pytest.mark.integration
DAY = date(2020, 4, 20)


def test_counts_below_k_never_reach_silver(
    local_settings: LakehouseSettings, spark_session_for_tests: object
) -> None:
    k = local_settings.k_anonymity
    lake = Lake(local_settings)
    lake.ensure_ready()
    telecom.write_presence_day(lake, DAY, seed=4, scale=0.02)  # a small city: many small cells
    telecom.write_flows_day(lake, DAY, seed=4, scale=0.02)
    ingest_day(lake, TELECOM_PRESENCE, DAY)
    ingest_day(lake, TELECOM_FLOWS, DAY)
    spark = spark_session(local_settings)
    presence = telecom.build_presence_silver(spark, lake, [DAY])
    flows = telecom.build_flows_silver(spark, lake, [DAY])

    assert presence["cell_hours_suppressed"] > 0 and flows["flows_suppressed"] > 0
    hourly = lake.read("silver", "telecom_district_hourly")
    assert hourly.num_rows == 8 * 24
    assert pc.sum(hourly["cells_suppressed"]).as_py() == presence["cell_hours_suppressed"]
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
