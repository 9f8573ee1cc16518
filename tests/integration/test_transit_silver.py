"""Bus GPS and card taps through bronze and the silver jobs (on Spark and on the single-node
DuckDB engine), against the simulator's truth: the glitches planted are the ones cleaned,
boardings are placed at the stop where the rider got on, planted transfers chain into
journeys, no card number reaches silver, and a re-run replaces its days."""

from datetime import date

import polars as pl
import pytest

from pipelines.ingest import ingest_day
from pipelines.lake import Lake
from pipelines.privacy import find_clear_identifiers
from pipelines.settings import LakehouseSettings
from pipelines.sources import Source, bus, land_file, taps
from pipelines.spark import spark_session
from pipelines.transit import gtfs
from pipelines.transit.gtfs_rt import write_vehicle_positions

pytestmark = pytest.mark.integration
DAY = date(2020, 3, 2)
SEED, SCALE = 42, 0.02


def _land_and_ingest(lake: Lake) -> dict[str, int]:
    bus.write_landing_day(lake, DAY, SEED, SCALE)
    taps.write_landing_day(lake, DAY, SEED, SCALE)
    gtfs.load_feed(lake, gtfs.feed_versions(lake)[0], bus.GTFS_BBOX)
    pings = ingest_day(lake, bus.CONTRACT, DAY)
    tapped = ingest_day(lake, taps.CONTRACT, DAY)
    return {"pings_quarantined": pings.rows_quarantined, "taps_in": tapped.rows_in}


@pytest.fixture
def pseudonym_key(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("LAKEHOUSE_PSEUDONYM_KEY", "integration-test-key")


@pytest.mark.parametrize("engine", ["spark", "duckdb"])
def test_pings_and_taps_become_stops_trips_and_journeys(
    engine: str,
    pseudonym_key: None,
    local_settings: LakehouseSettings,
    spark_session_for_tests: object,
) -> None:
    lake = Lake(LakehouseSettings(_env_file=None))  # type: ignore[call-arg]
    lake.ensure_ready()
    landed = _land_and_ingest(lake)
    truth = bus.transit_day(DAY, SEED, SCALE)

    def silver(source: Source) -> dict[str, int]:
        used, stats = source.run_silver(lake, [DAY], lambda: spark_session(lake.settings), engine)
        assert used == engine
        return stats

    stats = silver(bus.SOURCE)

    assert landed["pings_quarantined"] == truth.planted["pings_zero_fix"]
    assert stats["duplicates_dropped"] == truth.planted["pings_duplicated"]
    # Every planted jump is caught; a jump right at a trip's end may look like a turn-round.
    assert 0.8 * truth.planted["pings_jumped"] <= stats["jumps_dropped"]
    assert stats["jumps_dropped"] <= truth.planted["pings_jumped"] + 2
    trips = pl.from_arrow(lake.read("silver", "bus_trips"))
    scheduled = truth.pings["trip_id"].n_unique()
    assert 0.95 * scheduled <= trips.height <= 1.05 * scheduled
    arrivals = pl.from_arrow(lake.read("silver", "bus_stop_arrivals"))
    assert arrivals.height > 0.9 * trips["pattern_stops"].sum()
    assert arrivals["headway_s"].drop_nulls().min() >= 0  # type: ignore[operator]
    assert abs(arrivals["delay_s"].median()) < 180  # type: ignore[arg-type]

    tap_stats = silver(taps.SOURCE)
    boardings = pl.from_arrow(lake.read("silver", "card_boardings"))
    assert boardings.height == tap_stats["card_boardings_rows"]
    assert tap_stats["duplicates_dropped"] == truth.planted["taps_duplicated"]
    known = truth.taps.unique("tap_id").select("tap_id", "_true_stop_id", "_transfer")
    joined = boardings.join(known, on="tap_id")
    assert joined.height == boardings.height
    assert (joined["boarding_stop_id"] == joined["_true_stop_id"]).mean() > 0.9  # type: ignore[operator]
    assert (joined["gps_match"] == "matched").mean() > 0.98  # type: ignore[operator]
    transfers = joined.filter("_transfer")
    assert transfers.height == truth.planted["transfers"] > 0
    assert (transfers["leg"] > 1).mean() > 0.9  # type: ignore[operator]
    journeys = pl.from_arrow(lake.read("silver", "card_journeys"))
    assert journeys["legs"].sum() == boardings.height

    for name in ("card_boardings", "card_journeys", "bus_positions", "bus_trips"):
        assert find_clear_identifiers(lake.read("silver", name)) == [], name
    assert not set(truth.taps["card_id"]) & set(boardings["card_id"])

    # Re-running the day replaces it.
    again = silver(bus.SOURCE)
    silver(taps.SOURCE)
    assert again["bus_trips_rows"] == stats["bus_trips_rows"]
    assert lake.read("silver", "bus_stop_arrivals").num_rows == arrivals.height
    assert lake.read("silver", "card_boardings").num_rows == boardings.height


def test_gtfs_realtime_feed_on_minio_reaches_bronze(
    pseudonym_key: None, s3_settings: LakehouseSettings
) -> None:
    lake = Lake(s3_settings)
    pings = bus.transit_day(DAY, SEED, SCALE).pings
    hours = pings.with_columns(pl.col("position_ts").str.slice(0, 13).alias("hour"))
    snapshots = [part.drop("hour") for part in hours.partition_by("hour", maintain_order=True)]
    uri = lake.put_file(
        f"{bus.CONTRACT.landing_prefix}/{DAY}/avl_{DAY:%Y%m%d}.pb",
        write_vehicle_positions(snapshots),
    )
    assert uri.startswith("s3://")
    report = ingest_day(lake, bus.CONTRACT, DAY)
    assert report.rows_in == pings.height
    assert report.rows_accepted + report.rows_quarantined == pings.height
    assert lake.read("bronze", "bus_positions").num_rows == report.rows_accepted
    # A CSV drop beside the protobuf feed ingests too: every accepted format lands in one day.
    land_file(lake, bus.CONTRACT, DAY, pings.head(10), "extra")
    assert ingest_day(lake, bus.CONTRACT, DAY).rows_in == pings.height + 10
