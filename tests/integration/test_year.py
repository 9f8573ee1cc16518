"""March to December 2020 of a small simulated Almaty through the whole graph in one run:
the planted epidemic shows in every source."""

import polars as pl
import pytest

from pipelines.lake import Lake
from pipelines.settings import LakehouseSettings
from pipelines.warehouse import connect

pytestmark = pytest.mark.integration


# Ten months of every source in one run: ~10 M bus pings and ~5 M taps go through Spark.
@pytest.mark.timeout(2700)
def test_march_to_december_2020_at_small_scale(
    local_settings: LakehouseSettings, spark_session_for_tests: object, run_days
) -> None:
    settings = local_settings.model_copy(update={"simulation_scale": 0.02})
    result = run_days(settings, "2020-03-01", "2020-12-31")
    assert result.success
    checks = result.get_asset_check_evaluations()
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
