"""A simulated bus network of Almaty and its GTFS static feed, deterministic by seed.

Routes run between terminals across the city on its rectilinear street grid, with a stop
about every 450 m in each direction. The fleet (2,232 buses at full scale) is shared among the
routes by their length; each bus shuttles between the terminals from 06:00 to 23:00, and every
one-way run is a GTFS trip whose `block_id` is the bus. The day simulator (`pipelines.sources.
bus`) drives the same buses over the same schedule, so pings, taps and the feed agree.
"""

from __future__ import annotations

import io
import zipfile
from dataclasses import dataclass
from functools import lru_cache

import numpy as np
import polars as pl

from contracts.districts import ALMATY_BBOX, DISTRICT_CENTRES

FLEET = 2232
SERVICE_START_S = 6 * 3600
SERVICE_END_S = 23 * 3600
RUNNING_KMH = 21.0  # between stops, free-flowing
DWELL_S = 25
LAYOVER_S = 6 * 60
STOP_SPACING_M = 450.0
LAT0 = 43.25
M_PER_DEG_LAT = 110_540.0
M_PER_DEG_LON = 111_320.0 * np.cos(np.radians(LAT0))
FEED_VERSION = "2019-01-01"  # the simulated feed is in force from the first simulated day


def to_xy(lat: np.ndarray, lon: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    return (lon - 77.0) * M_PER_DEG_LON, (lat - LAT0) * M_PER_DEG_LAT


def to_latlon(x: np.ndarray, y: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    return y / M_PER_DEG_LAT + LAT0, x / M_PER_DEG_LON + 77.0


@dataclass(frozen=True)
class Pattern:
    """One direction of a route: its polyline and its stops, by distance along the line."""

    direction: int
    x: np.ndarray  # polyline vertices, metres
    y: np.ndarray
    cum: np.ndarray  # distance along the polyline at each vertex
    stop_ids: tuple[str, ...]
    stop_dist: np.ndarray  # distance along the line of each stop

    @property
    def length(self) -> float:
        return float(self.cum[-1])

    def position(self, dist: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Coordinates (x, y) and bearing (degrees from north) at distances along the line."""
        dist = np.clip(dist, 0, self.length)
        x = np.interp(dist, self.cum, self.x)
        y = np.interp(dist, self.cum, self.y)
        segment = np.clip(np.searchsorted(self.cum, dist, side="right") - 1, 0, len(self.cum) - 2)
        dx = self.x[segment + 1] - self.x[segment]
        dy = self.y[segment + 1] - self.y[segment]
        bearing = np.degrees(np.arctan2(dx, dy)) % 360
        return x, y, bearing


@dataclass(frozen=True)
class Route:
    route_id: str
    short_name: str
    patterns: tuple[Pattern, Pattern]
    vehicles: tuple[str, ...]

    def one_way_s(self, direction: int) -> np.ndarray:
        """Scheduled arrival offsets (s) at each stop of a direction, from the departure."""
        pattern = self.patterns[direction]
        running = pattern.stop_dist / (RUNNING_KMH / 3.6)
        return np.round(running + DWELL_S * np.arange(len(pattern.stop_dist)))


@dataclass(frozen=True)
class Network:
    routes: tuple[Route, ...]
    schedule: pl.DataFrame  # one row per trip: route, direction, vehicle, trip_id, departure_s

    def route(self, route_id: str) -> Route:
        return next(r for r in self.routes if r.route_id == route_id)


def fleet_size(scale: float) -> int:
    return max(4, round(FLEET * scale))


def route_count(scale: float) -> int:
    return int(np.clip(round(120 * scale**0.6), 2, 120))


def _pattern(direction: int, x: np.ndarray, y: np.ndarray, prefix: str, rng) -> Pattern:  # type: ignore[no-untyped-def]
    cum = np.concatenate([[0.0], np.cumsum(np.hypot(np.diff(x), np.diff(y)))])
    gaps = rng.normal(STOP_SPACING_M, 80, size=int(cum[-1] / 250) + 2).clip(280, 700)
    stops = np.concatenate([[0.0], np.cumsum(gaps)])
    stops = stops[stops < cum[-1] - 200]
    stops = np.append(stops, cum[-1])
    ids = tuple(f"{prefix}-{direction}-{k + 1:02d}" for k in range(len(stops)))
    return Pattern(direction, x, y, cum, ids, stops)


@lru_cache(maxsize=4)
def network(seed: int, scale: float = 1.0) -> Network:
    rng = np.random.default_rng([seed, 0xB05])
    centres = np.array(list(DISTRICT_CENTRES.values()))
    cx, cy = to_xy(centres[:, 0], centres[:, 1])
    bx, by = to_xy(
        np.array([ALMATY_BBOX["lat_min"] + 0.06, ALMATY_BBOX["lat_max"] - 0.04]),
        np.array([ALMATY_BBOX["lon_min"] + 0.06, ALMATY_BBOX["lon_max"] - 0.1]),
    )
    routes = []
    n_routes = route_count(scale)
    lengths = []
    for r in range(n_routes):
        while True:
            a, b = rng.choice(len(cx), size=2, replace=False)
            ax, ay = cx[a] + rng.normal(0, 1800), cy[a] + rng.normal(0, 1500)
            ex, ey = cx[b] + rng.normal(0, 1800), cy[b] + rng.normal(0, 1500)
            inside = bx[0] < min(ax, ex) and max(ax, ex) < bx[1]
            inside = inside and by[0] < min(ay, ey) and max(ay, ey) < by[1]
            if inside and 5000 < abs(ax - ex) + abs(ay - ey) < 17000:
                break
        # Along the street grid: one leg east-west and one north-south, with a jog between.
        mid = rng.uniform(0.3, 0.7)
        if rng.random() < 0.5:
            xs = np.array([ax, ax + mid * (ex - ax), ax + mid * (ex - ax), ex, ex])
            ys = np.array([ay, ay, ay + 0.5 * (ey - ay), ay + 0.5 * (ey - ay), ey])
        else:
            xs = np.array([ax, ax, ax + 0.5 * (ex - ax), ax + 0.5 * (ex - ax), ex])
            ys = np.array([ay, ay + mid * (ey - ay), ay + mid * (ey - ay), ey, ey])
        keep = np.concatenate([[True], np.hypot(np.diff(xs), np.diff(ys)) > 1])
        xs, ys = xs[keep], ys[keep]
        route_id = f"R{r + 1:03d}"
        patterns = (
            _pattern(0, xs, ys, route_id, rng),
            _pattern(1, xs[::-1].copy(), ys[::-1].copy(), route_id, rng),
        )
        lengths.append(patterns[0].length)
        routes.append((route_id, str(rng.integers(2, 250)), patterns))
    # The fleet shared by route length: a longer route needs more buses for the same headway.
    share = np.array(lengths) / sum(lengths)
    buses = np.maximum(1, np.floor(share * fleet_size(scale))).astype(int)
    for i in np.argsort(-share)[: fleet_size(scale) - buses.sum()]:
        buses[i] += 1
    numbered, first = [], 1
    for (route_id, name, patterns), n in zip(routes, buses, strict=True):
        vehicles = tuple(f"B{first + k:04d}" for k in range(n))
        first += n
        numbered.append(Route(route_id, name, patterns, vehicles))
    return Network(tuple(numbered), _schedule(numbered))


def _schedule(routes: list[Route]) -> pl.DataFrame:
    """Every bus shuttles between the terminals; its runs, evenly spaced, are the trips."""
    rows = []
    for route in routes:
        run = [route.one_way_s(d)[-1] + LAYOVER_S for d in (0, 1)]
        cycle = run[0] + run[1]
        headway = cycle / len(route.vehicles)
        for k, vehicle in enumerate(route.vehicles):
            phase = k * headway
            direction = 0 if phase < run[0] else 1
            t = SERVICE_START_S + (phase if direction == 0 else phase - run[0])
            while t < SERVICE_END_S:
                trip_id = f"{route.route_id}-{direction}-{int(t) // 60:04d}-{vehicle}"
                rows.append((route.route_id, direction, vehicle, trip_id, int(t)))
                t += run[direction]
                direction = 1 - direction
    return pl.DataFrame(
        rows,
        schema={
            "route_id": pl.Utf8,
            "direction_id": pl.Int64,
            "vehicle_id": pl.Utf8,
            "trip_id": pl.Utf8,
            "departure_s": pl.Int64,
        },
        orient="row",
    )


def _hms(column: str) -> pl.Expr:
    """Seconds since the service day's noon-minus-12h as GTFS `HH:MM:SS` (hours may pass 24)."""
    seconds = pl.col(column)
    return pl.format(
        "{}:{}:{}",
        (seconds // 3600).cast(pl.Utf8).str.zfill(2),
        (seconds % 3600 // 60).cast(pl.Utf8).str.zfill(2),
        (seconds % 60).cast(pl.Utf8).str.zfill(2),
    )


def gtfs_tables(seed: int, scale: float = 1.0) -> dict[str, pl.DataFrame]:
    """The network as the GTFS static files (all columns as strings, as in the files)."""
    net = network(seed, scale)
    stops, stop_times = [], []
    for route in net.routes:
        for pattern in route.patterns:
            lat, lon = to_latlon(*pattern.position(pattern.stop_dist)[:2])
            stops.append(
                pl.DataFrame(
                    {
                        "stop_id": pattern.stop_ids,
                        "stop_name": [
                            f"{route.short_name} stop {i + 1}" for i in range(len(pattern.stop_ids))
                        ],
                        "stop_lat": np.round(lat, 6).astype(str),
                        "stop_lon": np.round(lon, 6).astype(str),
                    }
                )
            )
        trips = net.schedule.filter(pl.col("route_id") == route.route_id)
        for direction in (0, 1):
            runs = trips.filter(pl.col("direction_id") == direction)
            offsets = route.one_way_s(direction)
            n, m = len(offsets), runs.height
            arrival = runs["departure_s"].to_numpy()[:, None] + offsets[None, :]
            leave = arrival + DWELL_S
            leave[:, -1] = arrival[:, -1]
            stop_times.append(
                pl.DataFrame(
                    {
                        "trip_id": np.repeat(runs["trip_id"].to_numpy(), n),
                        "arrival_s": arrival.ravel().astype(np.int64),
                        "departure_s": leave.ravel().astype(np.int64),
                        "stop_id": np.tile(np.array(route.patterns[direction].stop_ids), m),
                        "stop_sequence": np.tile(np.arange(1, n + 1), m).astype(str),
                    }
                )
            )
    routes = pl.DataFrame(
        {
            "route_id": [r.route_id for r in net.routes],
            "agency_id": ["ALA"] * len(net.routes),
            "route_short_name": [r.short_name for r in net.routes],
            "route_type": ["3"] * len(net.routes),
        }
    )
    trips = net.schedule.select(
        "route_id",
        pl.lit("daily").alias("service_id"),
        "trip_id",
        pl.col("direction_id").cast(pl.Utf8),
        pl.col("vehicle_id").alias("block_id"),
    )
    return {
        "agency.txt": pl.DataFrame(
            {
                "agency_id": ["ALA"],
                "agency_name": ["Almaty city bus (simulated)"],
                "agency_url": ["https://example.org/almaty-bus"],
                "agency_timezone": ["Asia/Almaty"],
            }
        ),
        "routes.txt": routes,
        "stops.txt": pl.concat(stops),
        "trips.txt": trips,
        "stop_times.txt": pl.concat(stop_times)
        .with_columns(
            _hms("arrival_s").alias("arrival_time"), _hms("departure_s").alias("departure_time")
        )
        .select("trip_id", "arrival_time", "departure_time", "stop_id", "stop_sequence"),
        "calendar.txt": pl.DataFrame(
            {
                "service_id": ["daily"],
                **{
                    day: ["1"]
                    for day in (
                        "monday",
                        "tuesday",
                        "wednesday",
                        "thursday",
                        "friday",
                        "saturday",
                        "sunday",
                    )
                },
                "start_date": ["20190101"],
                "end_date": ["20231231"],
            }
        ),
    }


def gtfs_zip(seed: int, scale: float = 1.0) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, frame in gtfs_tables(seed, scale).items():
            archive.writestr(name, frame.write_csv())
    return buffer.getvalue()
