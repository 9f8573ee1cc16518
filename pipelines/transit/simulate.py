"""One day of the bus fleet and its riders: GPS pings and ONAY card taps that agree.

The buses run the schedule of the simulated GTFS feed (`pipelines.transit.network`) with the
day's traffic: slower at the peaks, faster when the city stays home, fewer buses in service
under restrictions. Riders board at the stops the buses actually reach, while the bus is
there, so every tap happens on a bus that is at a stop; some riders transfer to another route
within 40 minutes. The true boarding stop and transfers come back with the taps (columns
starting with `_`) so tests can check what the silver jobs recover; they are not landed.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time
from itertools import pairwise
from zoneinfo import ZoneInfo

import numpy as np
import polars as pl

from contracts.transit import FARE_TYPES
from pipelines.simulation.city import restriction_level
from pipelines.sources.telecom import mobility_factor
from pipelines.transit.network import LAYOVER_S, RUNNING_KMH, network, to_latlon

ALMATY = ZoneInfo("Asia/Almaty")
RIDES_PER_DAY = 1_000_000  # ONAY taps on an ordinary weekday, full scale
CARDS = 650_000  # cards in use
FARE_SHARE = (0.7, 0.15, 0.1, 0.03, 0.02)  # adult, student, pensioner, child, social
FARE_KZT = {"adult": 80.0, "student": 40.0, "pensioner": 0.0, "child": 0.0, "social": 0.0}
TRANSFER_SHARE = 0.15  # taps that continue a journey on another route
TRANSFER_WINDOW_MIN = 40  # a transfer within this many minutes is free
HOURLY_RIDERSHIP = np.array(
    [
        0,
        0,
        0,
        0,
        0,
        0.3,
        1.2,
        3.2,
        4.0,
        2.6,
        1.8,
        1.7,
        1.8,
        1.8,
        1.8,
        2.0,
        2.5,
        3.4,
        3.8,
        2.6,
        1.6,
        1.0,
        0.6,
        0.3,
    ]
)
PING_DUPLICATE_SHARE = 0.003  # trackers re-send a fix
PING_JUMP_SHARE = 0.0005  # multipath: a fix kilometres off
PING_ZERO_SHARE = 0.0002  # a cold start reports 0,0 (outside the city: quarantined at bronze)
TAP_DUPLICATE_SHARE = 0.002  # validators re-send a transaction


def ping_interval_s(scale: float) -> float:
    """Trackers report every ~20 s; a small test city reports less often, so its rows shrink
    with the scale as the other sources' do (20 s at full scale, at most 90 s)."""
    return float(np.clip(20 / np.sqrt(scale), 20, 90))


def _peak(hour: np.ndarray) -> np.ndarray:
    return np.exp(-(((hour - 8.5) / 1.3) ** 2)) + np.exp(-(((hour - 18.0) / 1.6) ** 2))


@dataclass(frozen=True)
class TransitDay:
    pings: pl.DataFrame  # the trackers' file, as landed (strings)
    taps: pl.DataFrame  # the validators' file, as landed (strings) plus `_true_*` columns
    planted: dict[str, int]  # glitches put in on purpose, for tests


def simulate_day(day: date, seed: int = 42, scale: float = 1.0) -> TransitDay:
    rng = np.random.default_rng([seed, day.toordinal(), 0xB05])
    net = network(seed, scale)
    move = mobility_factor(seed, day)
    midnight = datetime.combine(day, time(0), tzinfo=ALMATY).timestamp()
    interval = ping_interval_s(scale)
    in_service = 1 - 0.35 * restriction_level(day) - (0.1 if day.weekday() >= 5 else 0)
    # Each vehicle's trips as plain lists: ~4,500 small frame operations (a select per
    # vehicle, then its rows) took ~2 s of the full-scale day by themselves.
    schedule = net.schedule.sort("vehicle_id", "departure_s")
    columns = ("vehicle_id", "route_id", "trip_id", "direction_id", "departure_s")
    vehicle_of, route_of, trip_of_row, direction_of, departure_of = (
        schedule[c].to_list() for c in columns
    )
    starts_at = [i for i in range(len(vehicle_of)) if i == 0 or vehicle_of[i] != vehicle_of[i - 1]]
    routes = {r.route_id: r for r in net.routes}

    # The pings' id columns are kept as codes into these lists until the end: numpy strings of
    # 6.8 million fixes cost 4 bytes a character and were the landing's peak (~3.7 GiB).
    vehicle_ids: list[str] = []
    route_ids: list[str] = []
    trip_ids: list[str] = []
    ping_parts: list[dict[str, np.ndarray]] = []
    stop_events: list[dict[str, np.ndarray]] = []
    for first, last in pairwise([*starts_at, len(vehicle_of)]):
        if rng.random() > in_service:
            continue  # kept in the depot today
        vehicle = vehicle_of[first]
        route = routes[route_of[first]]
        vehicle_code, route_code = len(vehicle_ids), len(route_ids)
        vehicle_ids.append(vehicle)
        route_ids.append(route.route_id)
        starts, knots, directions = [], [], []
        ready = -np.inf
        for trip_id, direction, departure in zip(
            trip_of_row[first:last], direction_of[first:last], departure_of[first:last], strict=True
        ):
            pattern = route.patterns[direction]
            start = max(departure + float(np.clip(rng.normal(30, 60), -60, 300)), ready + 60)
            hour = start / 3600
            # Faster than the timetable off-peak, slower at the peaks: delays build and recover.
            speed = 1.15 * RUNNING_KMH / 3.6 / (1 + 0.45 * _peak(np.array(hour)) * move)
            speed *= rng.lognormal(0, 0.07)
            dwell = rng.uniform(10, 35, size=len(pattern.stop_dist))
            running = np.diff(pattern.stop_dist) / speed
            arrive = start + np.concatenate([[0.0], np.cumsum(running + dwell[:-1])])
            leave = arrive + dwell
            knot_t = np.column_stack([arrive, leave]).ravel()[:-1]
            knot_d = np.repeat(pattern.stop_dist, 2)[:-1]
            starts.append(start)
            knots.append((knot_t, knot_d))
            directions.append((trip_id, direction))
            ready = arrive[-1] + LAYOVER_S * 0.5
            stop_events.append(
                {
                    "vehicle_id": np.full(len(arrive) - 1, vehicle),
                    "route_id": np.full(len(arrive) - 1, route.route_id),
                    "stop_id": np.array(pattern.stop_ids[:-1]),
                    "arrive_s": arrive[:-1],
                    "dwell_s": dwell[:-1],
                }
            )
        end = knots[-1][0][-1] + LAYOVER_S
        t = np.arange(starts[0], end, interval) + rng.uniform(-2, 2, size=1)
        trip_of = np.clip(np.searchsorted(np.array(starts), t, side="right") - 1, 0, None)
        for j, (trip_id, direction) in enumerate(directions):
            mine = trip_of == j
            if not mine.any():
                continue
            knot_t, knot_d = knots[j]
            pattern = route.patterns[direction]
            dist = np.interp(t[mine], knot_t, knot_d)
            x, y, bearing = pattern.position(dist)
            ahead = np.interp(t[mine] + 5, knot_t, knot_d)
            behind = np.interp(t[mine] - 5, knot_t, knot_d)
            speed_kmh = (ahead - behind) / 10 * 3.6
            noise = rng.normal(0, 4, size=(2, mine.sum()))
            lat, lon = to_latlon(x + noise[0], y + noise[1])
            trip_ids.append(trip_id)
            ping_parts.append(
                {
                    "vehicle_id": np.full(mine.sum(), vehicle_code, dtype=np.int32),
                    "route_id": np.full(mine.sum(), route_code, dtype=np.int32),
                    "trip_id": np.full(mine.sum(), len(trip_ids) - 1, dtype=np.int32),
                    "t": t[mine],
                    "lat": lat,
                    "lon": lon,
                    "speed_kmh": np.clip(speed_kmh + rng.normal(0, 1, mine.sum()), 0, None),
                    "bearing_deg": bearing,
                }
            )
    pings = pl.DataFrame({k: np.concatenate([p[k] for p in ping_parts]) for k in ping_parts[0]})
    del ping_parts
    pings = pings.filter(pl.col("t") < 86_399.5)  # the day's file ends at local midnight
    pings, planted = _glitch_pings(pings, rng)
    events = pl.DataFrame({k: np.concatenate([e[k] for e in stop_events]) for k in stop_events[0]})
    taps = _taps(events, day, seed, scale, move, rng)
    stamp = (
        pl.from_epoch((pl.col("t") + midnight).round(0).cast(pl.Int64), time_unit="s")
        .dt.replace_time_zone("UTC")
        .dt.strftime("%Y-%m-%dT%H:%M:%SZ")
    )
    pings = pings.sort("t").select(
        _decode("vehicle_id", vehicle_ids),
        _decode("route_id", route_ids),
        _decode("trip_id", trip_ids),
        stamp.alias("position_ts"),
        pl.col("lat").round(6).cast(pl.Utf8),
        pl.col("lon").round(6).cast(pl.Utf8),
        pl.col("speed_kmh").round(1).cast(pl.Utf8),
        pl.col("bearing_deg").round(0).cast(pl.Utf8),
    )
    planted["taps_duplicated"] = int(taps["_duplicate"].sum())
    planted["transfers"] = int(taps.filter(~pl.col("_duplicate"))["_transfer"].sum())
    taps = taps.with_columns(
        pl.from_epoch((pl.col("t") + midnight).round(0).cast(pl.Int64), time_unit="s")
        .dt.replace_time_zone("UTC")
        .dt.convert_time_zone("Asia/Almaty")
        .dt.strftime("%Y-%m-%dT%H:%M:%S%:z")
        .alias("tap_ts")
    ).select(
        "tap_id",
        "card_id",
        "tap_ts",
        "vehicle_id",
        "validator_id",
        "route_id",
        "fare_type",
        pl.col("amount_kzt").cast(pl.Utf8),
        pl.col("stop_id").alias("_true_stop_id"),
        "_transfer",
    )
    return TransitDay(pings, taps, planted)


def _decode(column: str, values: list[str]) -> pl.Expr:
    """A code column back to its strings (a gather: the strings themselves are not copied)."""
    return pl.lit(pl.Series(values, dtype=pl.Utf8)).gather(pl.col(column)).alias(column)


def _glitch_pings(
    pings: pl.DataFrame, rng: np.random.Generator
) -> tuple[pl.DataFrame, dict[str, int]]:
    n = pings.height
    jump = rng.random(n) < PING_JUMP_SHARE
    zero = (rng.random(n) < PING_ZERO_SHARE) & ~jump
    offset = rng.choice([-1, 1], size=n) * rng.uniform(0.02, 0.04, size=n)  # 2-4 km north/south
    pings = pings.with_columns(
        pl.when(pl.Series(zero))
        .then(0.0)
        .when(pl.Series(jump))
        .then(pl.col("lat") + pl.Series(offset))
        .otherwise(pl.col("lat"))
        .alias("lat"),
        pl.when(pl.Series(zero)).then(0.0).otherwise(pl.col("lon")).alias("lon"),
    )
    resent = pings.filter(pl.Series(rng.random(n) < PING_DUPLICATE_SHARE))
    resent_zero = int((resent["lat"] == 0).sum())
    planted = {
        "pings": n,
        # Counted as the boundary sees them: a re-sent 0,0 fix is quarantined, not deduplicated.
        "pings_duplicated": resent.height - resent_zero,
        "pings_jumped": int(jump.sum()),
        "pings_zero_fix": int(zero.sum()) + resent_zero,
    }
    return pl.concat([pings, resent]), planted


def card_number(index: np.ndarray, seed: int) -> np.ndarray:
    """16-digit ONAY-like card numbers (the clear identifiers the boundary pseudonymises)."""
    code = (index.astype(np.int64) * 7_919_111 + seed * 1_000 + 12_345) % 10**12
    return np.char.add("9643", np.char.zfill(code.astype(str), 12))


def _taps(
    events: pl.DataFrame, day: date, seed: int, scale: float, move: float, rng: np.random.Generator
) -> pl.DataFrame:
    hour = ((events["arrive_s"].to_numpy() // 3600).astype(int)).clip(0, 23)
    stop_key = events["stop_id"].hash(seed).to_numpy()
    popularity = np.exp(((stop_key % 1000) / 1000 - 0.5) * 2.0)  # fixed per stop and seed
    weight = HOURLY_RIDERSHIP[hour] * popularity
    target = RIDES_PER_DAY * scale * move**1.2
    boardings = rng.poisson(target * weight / weight.sum())
    taps = events.select(pl.all().repeat_by(pl.Series(boardings)).explode()).drop_nulls()
    n = taps.height
    t = taps["arrive_s"].to_numpy() + rng.uniform(0, 1, n) * taps["dwell_s"].to_numpy()
    order = np.argsort(t)
    taps, t = taps[order], t[order]
    taps, t = taps.filter(pl.Series(t < 86_399.5)), t[t < 86_399.5]
    n = taps.height
    cards = max(50, int(CARDS * scale))
    card = np.floor(cards * rng.random(n) ** 1.2).astype(np.int64)  # regular riders ride more
    transfer = np.zeros(n, dtype=bool)
    route = taps["route_id"].to_numpy()
    candidates = np.flatnonzero(rng.random(n) < TRANSFER_SHARE)
    earlier = np.searchsorted(t, t[candidates] - rng.uniform(8, 35, len(candidates)) * 60) - 1
    for i, j in zip(candidates, earlier, strict=True):  # in time order: chains propagate
        if j >= 0 and route[j] != route[i] and t[i] - t[j] <= TRANSFER_WINDOW_MIN * 60:
            card[i], transfer[i] = card[j], True
    fares = np.random.default_rng([seed, 0xFA2E]).choice(len(FARE_TYPES), size=cards, p=FARE_SHARE)
    fare = np.array(FARE_TYPES)[fares[card]]
    amount = np.where(transfer, 0.0, np.vectorize(FARE_KZT.get)(fare))
    door = rng.integers(1, 4, n)
    taps = taps.with_columns(
        pl.Series("t", t),
        pl.Series("card_id", card_number(card, seed)),
        pl.Series("fare_type", fare),
        pl.Series("amount_kzt", amount),
        pl.Series("_transfer", transfer),
        pl.format(
            "T{}-{}", pl.lit(f"{day:%Y%m%d}"), pl.int_range(n).cast(pl.Utf8).str.zfill(8)
        ).alias("tap_id"),
        pl.format("{}-V{}", pl.col("vehicle_id"), pl.Series(door)).alias("validator_id"),
        pl.lit(False).alias("_duplicate"),
    )
    resent = taps.filter(pl.Series(rng.random(n) < TAP_DUPLICATE_SHARE)).with_columns(
        pl.lit(True).alias("_duplicate")
    )
    return pl.concat([taps, resent])
