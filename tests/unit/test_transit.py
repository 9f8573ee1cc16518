"""Transit at the boundary: the GTFS static reader, GTFS-Realtime positions, the card-tap
contract, and the simulated fleet and riders."""

import io
import zipfile
from datetime import UTC, date, datetime
from pathlib import Path

import numpy as np
import polars as pl
import pytest

from contracts.districts import ALMATY_BBOX
from contracts.transit import BUS_POSITIONS, CARD_TAPS
from pipelines.ingest import ContractError, read_landing_file, split_file
from pipelines.transit import gtfs
from pipelines.transit.gtfs_rt import write_vehicle_positions
from pipelines.transit.network import fleet_size, gtfs_zip, network
from pipelines.transit.simulate import simulate_day

ROOT = Path(__file__).resolve().parents[2]
CAIRNS = ROOT.parent / "shared" / "data" / "gtfs_cairns_2014" / "cairns_gtfs.zip"
DAY = date(2020, 3, 2)
NOW = datetime(2026, 1, 1, tzinfo=UTC)
KEY = b"unit-test-key"


@pytest.fixture(scope="module")
def transit_day():  # type: ignore[no-untyped-def]
    return simulate_day(DAY, seed=7, scale=0.02)


@pytest.mark.parametrize("contract", [BUS_POSITIONS, CARD_TAPS], ids=lambda c: c.table)
def test_written_contract_matches_the_enforced_one(contract) -> None:  # type: ignore[no-untyped-def]
    assert contract.to_markdown().strip() in (ROOT / "contracts" / "transit.md").read_text()


def test_the_full_fleet_runs_the_schedule() -> None:
    net = network(42, 1.0)
    vehicles = {v for r in net.routes for v in r.vehicles}
    assert len(vehicles) == fleet_size(1.0) == 2232
    assert set(net.schedule["vehicle_id"]) == vehicles
    assert net.schedule["trip_id"].is_unique().all()


def test_simulated_feed_passes_the_gtfs_rules() -> None:
    feed = gtfs.read_gtfs(gtfs_zip(42, 0.02), "almaty.zip", ALMATY_BBOX)
    patterns = gtfs.route_patterns(feed)
    assert patterns.group_by("route_id", "direction_id").len().height == 2 * len(
        network(42, 0.02).routes
    )
    # Distances grow along each pattern; stops are a few hundred metres apart.
    steps = patterns.with_columns(pl.col("dist_m").diff().over("route_id", "direction_id"))
    assert steps["dist_m"].drop_nulls().min() > 100


@pytest.mark.skipif(not CAIRNS.exists(), reason=f"real feed not found at {CAIRNS}")
def test_a_real_feed_loads_with_its_own_city_box() -> None:
    feed = gtfs.read_gtfs(CAIRNS.read_bytes(), CAIRNS.name)
    tables = gtfs.reference_tables(feed, date(2014, 5, 26))
    assert tables["gtfs_routes"].height == 22
    assert tables["gtfs_stop_times"].height == 37_790
    assert tables["gtfs_stop_times"]["arrival_s"].null_count() == 0  # interpolated
    assert feed.timezone == "Australia/Brisbane"
    with pytest.raises(ContractError, match=r"stops.txt, row 2: stop_lat: outside"):
        gtfs.read_gtfs(CAIRNS.read_bytes(), CAIRNS.name, ALMATY_BBOX)


def _rezip(payload: bytes, member: str, edit) -> bytes:  # type: ignore[no-untyped-def]
    source = zipfile.ZipFile(io.BytesIO(payload))
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as target:
        for name in source.namelist():
            data = source.read(name)
            if name == member:
                data = edit(data)
            if data is not None:
                target.writestr(name, data)
    return out.getvalue()


@pytest.mark.parametrize(
    ("member", "edit", "message"),
    [
        ("stops.txt", lambda d: None, "required file stops.txt is missing"),
        (
            "stop_times.txt",
            lambda d: d.replace(b",R001-0-03,", b",NOWHERE,", 1),
            r"stop_times.txt, row 4: stop_id: refers to no row of stops.txt",
        ),
        (
            "stop_times.txt",
            lambda d: d.replace(b"06:00:25", b"6h00", 1),
            r"stop_times.txt, row 2: departure_time: not HH:MM:SS",
        ),
        (
            "trips.txt",
            lambda d: d.replace(b"route_id", b"line_id", 1),
            r"trips.txt: missing required column\(s\): route_id",
        ),
    ],
)
def test_a_broken_feed_is_refused_naming_file_row_and_rule(member, edit, message) -> None:  # type: ignore[no-untyped-def]
    broken = _rezip(gtfs_zip(42, 0.02), member, edit)
    with pytest.raises(ContractError, match=message):
        gtfs.read_gtfs(broken, "almaty.zip", ALMATY_BBOX)


@pytest.mark.parametrize("delimited", [True, False])
def test_gtfs_realtime_positions_read_as_contract_rows(transit_day, delimited: bool) -> None:  # type: ignore[no-untyped-def]
    pings = transit_day.pings.head(40)
    snapshots = [pings.slice(0, 20), pings.slice(20, 20)] if delimited else [pings]
    payload = write_vehicle_positions(snapshots, delimited=delimited)
    frame = read_landing_file(payload, "feed.pb", BUS_POSITIONS)
    assert frame.height == 40
    assert frame["vehicle_id"].to_list() == pings["vehicle_id"].to_list()
    assert frame["trip_id"].to_list() == pings["trip_id"].to_list()
    stamps = frame["position_ts"].str.to_datetime(time_zone="UTC")
    assert stamps.to_list() == pings["position_ts"].str.to_datetime(time_zone="UTC").to_list()
    np.testing.assert_allclose(frame["lat"].cast(float), pings["lat"].cast(float), atol=1e-5)
    np.testing.assert_allclose(
        frame["speed_kmh"].cast(float), pings["speed_kmh"].cast(float), atol=0.05
    )


def test_positions_outside_the_city_are_quarantined(transit_day) -> None:  # type: ignore[no-untyped-def]
    raw = read_landing_file(transit_day.pings.write_csv().encode(), "day.csv", BUS_POSITIONS)
    result = split_file(raw, "day.csv", BUS_POSITIONS, DAY, NOW)
    assert result.rows_in == raw.height == result.accepted.height + result.quarantined.height
    zero_fixes = transit_day.planted["pings_zero_fix"]
    assert zero_fixes > 0 and result.quarantined.height == zero_fixes
    assert result.quarantined["rule"].str.contains("lat: greater_than_or_equal_to").all()


def test_card_numbers_never_pass_the_boundary(transit_day) -> None:  # type: ignore[no-untyped-def]
    taps = transit_day.taps.select(CARD_TAPS.column_names).head(200)
    taps = taps.with_columns(
        pl.when(pl.int_range(pl.len()) == 3)
        .then(pl.lit("-80"))
        .otherwise(pl.col("amount_kzt"))
        .alias("amount_kzt"),
        pl.when(pl.int_range(pl.len()) == 5)
        .then(pl.lit("vip"))
        .otherwise(pl.col("fare_type"))
        .alias("fare_type"),
    )
    raw = read_landing_file(taps.write_csv().encode(), "taps.csv", CARD_TAPS)
    result = split_file(raw, "taps.csv", CARD_TAPS, DAY, NOW, pseudonym_key=KEY)
    rules = dict(zip(result.quarantined["row_number"], result.quarantined["rule"], strict=True))
    assert rules[4].startswith("amount_kzt: greater_than_or_equal_to")
    assert rules[6].startswith("fare_type: isin")
    clear = set(taps["card_id"])
    assert not clear & set(result.accepted["card_id"])
    assert all(v.startswith("ps_") for v in result.accepted["card_id"])
    assert not any(card in record for record in result.quarantined["record"] for card in clear)


def test_every_tap_is_on_a_bus_at_a_stop_of_its_route(transit_day) -> None:  # type: ignore[no-untyped-def]
    taps = transit_day.taps
    assert taps["_true_stop_id"].str.starts_with(taps["route_id"]).all()
    assert taps["card_id"].str.contains(r"^\d{16}$").all()
    net = network(7, 0.02)
    on_route = {(v, r.route_id) for r in net.routes for v in r.vehicles}
    assert set(zip(taps["vehicle_id"], taps["route_id"], strict=True)) <= on_route
    # A small city's day: about a million taps a day at full scale, so ~20,000 here.
    assert 10_000 < taps.height < 30_000


def test_the_day_is_deterministic_by_seed(transit_day) -> None:  # type: ignore[no-untyped-def]
    again = simulate_day(DAY, seed=7, scale=0.02)
    assert again.pings.equals(transit_day.pings)
    assert again.taps.equals(transit_day.taps)
    other = simulate_day(DAY, seed=8, scale=0.02)
    assert not other.pings.head(100).equals(transit_day.pings.head(100))


def test_the_two_transit_landings_share_one_simulated_day_then_let_it_go(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from pipelines.sources import bus

    simulated: list[date] = []

    def counted(day: date, seed: int, scale: float):  # type: ignore[no-untyped-def]
        simulated.append(day)
        return simulate_day(day, seed, scale)

    monkeypatch.setattr(bus, "transit_day", counted)
    shared = bus.SharedTransitDay()
    pings = shared.take("pings", DAY, 7, 0.02)
    assert shared.held  # the card-tap landing has not taken its part yet
    assert shared.take("pings", DAY, 7, 0.02) is pings  # a retried GPS landing: no new day
    taps = shared.take("taps", DAY, 7, 0.02)
    assert simulated == [DAY] and not shared.held  # both parts taken: the day is let go
    truth = simulate_day(DAY, 7, 0.02)
    assert pings.equals(truth.pings) and taps.equals(truth.taps)

    shared.take("taps", date(2020, 3, 3), 7, 0.02)
    assert simulated == [DAY, date(2020, 3, 3)] and shared.held
    shared.take("pings", date(2020, 3, 4), 7, 0.02)  # another day replaces a half-taken one
    assert simulated[-1] == date(2020, 3, 4) and shared.held
