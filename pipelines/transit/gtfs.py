"""The GTFS static feed: read and check a feed zip, derive each route's stop pattern, and load
the feed into the lake's reference tables, one version per publication day.

A feed that breaks a rule is refused whole with a `ContractError` naming the member file, the
row and the rule: a network with a dangling stop reference cannot be half-loaded.
"""

from __future__ import annotations

import io
import zipfile
from dataclasses import dataclass
from datetime import date

import numpy as np
import polars as pl
import pyarrow as pa

from contracts.transit import GTFS_LANDING_PREFIX, GTFS_REQUIRED
from pipelines.ingest import ContractError
from pipelines.lake import Lake

SOURCE = "gtfs_static"
TABLES = ("gtfs_routes", "gtfs_stops", "gtfs_trips", "gtfs_stop_times", "gtfs_route_patterns")


@dataclass(frozen=True)
class GtfsFeed:
    file: str
    tables: dict[str, pl.DataFrame]  # member file name -> columns as strings
    timezone: str

    def __getitem__(self, member: str) -> pl.DataFrame:
        return self.tables[member]


def _fail(file: str, member: str, rule: str, row: int | None = None) -> ContractError:
    return ContractError(SOURCE, f"{file}:{member}", rule, row)


def _bad_row(frame: pl.DataFrame, mask: pl.Series) -> int | None:
    """The first offending row as a line number of the member file (header = line 1)."""
    hits = mask.fill_null(True).arg_true()
    return int(hits[0]) + 2 if len(hits) else None


def read_gtfs(payload: bytes, file: str, bbox: dict[str, float] | None = None) -> GtfsFeed:
    """Read a GTFS zip and check what the platform relies on.

    Rules: the required files and columns are there; coordinates are numbers (inside `bbox`,
    the city's box, when one is given); times are HH:MM:SS; stop sequences are integers; every
    reference (trip -> route, stop time -> trip and stop) resolves.
    """
    try:
        archive = zipfile.ZipFile(io.BytesIO(payload))
    except zipfile.BadZipFile as error:
        raise ContractError(SOURCE, file, f"not a zip archive: {error}") from error
    names = {n.rsplit("/", 1)[-1]: n for n in archive.namelist()}
    tables: dict[str, pl.DataFrame] = {}
    for member, columns in GTFS_REQUIRED.items():
        if member not in names:
            raise ContractError(SOURCE, file, f"required file {member} is missing")
        raw = archive.read(names[member]).decode("utf-8-sig").encode()
        frame = pl.read_csv(io.BytesIO(raw), infer_schema=False).with_columns(
            pl.all().str.strip_chars()
        )
        missing = [c for c in columns if c not in frame.columns]
        if missing:
            raise _fail(file, member, f"missing required column(s): {', '.join(missing)}")
        for column in (c for c in columns if not c.endswith("_time")):  # times: timepoints only
            empty = frame[column].is_null() | (frame[column] == "")
            if empty.any():
                raise _fail(
                    file, member, f"{column}: required value is empty", _bad_row(frame, empty)
                )
        tables[member] = frame

    stops = tables["stops.txt"]
    for column in ("stop_lat", "stop_lon"):
        value = stops[column].cast(pl.Float64, strict=False)
        if value.is_null().any():
            raise _fail(
                file, "stops.txt", f"{column}: not a number", _bad_row(stops, value.is_null())
            )
        if bbox is not None:
            axis = "lat" if column == "stop_lat" else "lon"
            outside = (value < bbox[f"{axis}_min"]) | (value > bbox[f"{axis}_max"])
            if outside.any():
                raise _fail(
                    file,
                    "stops.txt",
                    f"{column}: outside the city's bounding box {bbox}",
                    _bad_row(stops, outside),
                )
    stop_times = tables["stop_times.txt"]
    for column in ("arrival_time", "departure_time"):
        bad = ~stop_times[column].str.contains(r"^\d{1,3}:\d{2}:\d{2}$") & stop_times[column].ne("")
        if bad.any():
            raise _fail(
                file, "stop_times.txt", f"{column}: not HH:MM:SS", _bad_row(stop_times, bad)
            )
    sequence = stop_times["stop_sequence"].cast(pl.Int64, strict=False)
    if sequence.is_null().any():
        raise _fail(
            file,
            "stop_times.txt",
            "stop_sequence: not an integer",
            _bad_row(stop_times, sequence.is_null()),
        )
    # Times may be left out between timepoints, never at a trip's first and last stop.
    ends = stop_times.with_row_index("_row").with_columns(sequence.alias("_seq"))
    ends = ends.filter(
        (pl.col("_seq") == pl.col("_seq").min().over("trip_id"))
        | (pl.col("_seq") == pl.col("_seq").max().over("trip_id"))
    ).filter(
        pl.col("arrival_time").fill_null("").eq("") | pl.col("departure_time").fill_null("").eq("")
    )
    if ends.height:
        raise _fail(
            file,
            "stop_times.txt",
            "arrival_time/departure_time: required at the first and last stop of a trip",
            int(ends["_row"][0]) + 2,
        )
    references = (
        ("trips.txt", "route_id", "routes.txt"),
        ("stop_times.txt", "trip_id", "trips.txt"),
        ("stop_times.txt", "stop_id", "stops.txt"),
    )
    for member, column, target in references:
        known = tables[target][column].unique().implode()
        dangling = ~tables[member][column].is_in(known)
        if dangling.any():
            raise _fail(
                file,
                member,
                f"{column}: refers to no row of {target}",
                _bad_row(tables[member], dangling),
            )
    for member in ("calendar.txt", "calendar_dates.txt", "shapes.txt"):
        if member in names:
            tables[member] = pl.read_csv(
                io.BytesIO(archive.read(names[member])), infer_schema=False
            )
    return GtfsFeed(file, tables, tables["agency.txt"]["agency_timezone"][0])


def _seconds(column: str) -> pl.Expr:
    parts = pl.col(column).str.split(":")
    return (
        parts.list.get(0).cast(pl.Int64) * 3600
        + parts.list.get(1).cast(pl.Int64) * 60
        + parts.list.get(2).cast(pl.Int64)
    )


def route_patterns(feed: GtfsFeed) -> pl.DataFrame:
    """Each route direction's stop pattern: the stops of its longest trip, in order, with the
    distance along the pattern and the bearing towards the next stop (the last stop keeps the
    bearing it was approached with). Pings and arrivals are matched against these."""
    trips = feed["trips.txt"]
    if "direction_id" not in trips.columns:
        trips = trips.with_columns(pl.lit("0").alias("direction_id"))
    trips = trips.with_columns(pl.col("direction_id").fill_null("0").cast(pl.Int64))
    times = feed["stop_times.txt"].with_columns(pl.col("stop_sequence").cast(pl.Int64))
    lengths = times.group_by("trip_id").agg(pl.len().alias("n"))
    longest = (
        trips.join(lengths, on="trip_id")
        .sort(["route_id", "direction_id", "n", "trip_id"], descending=[False, False, True, False])
        .unique(["route_id", "direction_id"], keep="first", maintain_order=True)
        .select("route_id", "direction_id", "trip_id")
    )
    stops = feed["stops.txt"].select(
        "stop_id",
        pl.col("stop_lat").cast(pl.Float64),
        pl.col("stop_lon").cast(pl.Float64),
    )
    pattern = (
        longest.join(times.select("trip_id", "stop_sequence", "stop_id"), on="trip_id")
        .join(stops, on="stop_id")
        .sort(["route_id", "direction_id", "stop_sequence"])
    )
    lat0 = float(np.radians(stops["stop_lat"].mean()))  # type: ignore[arg-type]
    group = ["route_id", "direction_id"]
    x = pl.col("stop_lon") * 111_320.0 * np.cos(lat0)
    y = pl.col("stop_lat") * 110_540.0
    dx_next = (x.shift(-1) - x).over(group)
    dy_next = (y.shift(-1) - y).over(group)
    bearing = pl.arctan2(dx_next, dy_next).degrees() % 360
    step = (dx_next.pow(2) + dy_next.pow(2)).sqrt()
    return (
        pattern.with_columns(
            (pl.int_range(pl.len()) + 1).over(group).alias("stop_sequence"),
            bearing.alias("bearing_deg"),
            step.alias("_step"),
        )
        .with_columns(
            pl.col("bearing_deg").forward_fill().over(group),
            pl.col("_step").shift(1).fill_null(0.0).cum_sum().over(group).alias("dist_m"),
        )
        .select(
            "route_id",
            "direction_id",
            "stop_sequence",
            "stop_id",
            "stop_lat",
            "stop_lon",
            pl.col("dist_m").round(1),
            pl.col("bearing_deg").round(1),
        )
    )


def reference_tables(feed: GtfsFeed, version: date) -> dict[str, pl.DataFrame]:
    """The lake's reference tables of one feed version, typed."""
    trips = feed["trips.txt"]
    for column in ("direction_id", "block_id", "shape_id"):
        if column not in trips.columns:
            trips = trips.with_columns(pl.lit(None, pl.Utf8).alias(column))
    routes = feed["routes.txt"]
    for column in ("route_short_name", "route_long_name", "agency_id"):
        if column not in routes.columns:
            routes = routes.with_columns(pl.lit(None, pl.Utf8).alias(column))
    stops = feed["stops.txt"]
    if "stop_name" not in stops.columns:
        stops = stops.with_columns(pl.lit(None, pl.Utf8).alias("stop_name"))
    tables = {
        "gtfs_routes": routes.select(
            "route_id",
            "agency_id",
            "route_short_name",
            "route_long_name",
            pl.col("route_type").cast(pl.Int64),
        ),
        "gtfs_stops": stops.select(
            "stop_id",
            "stop_name",
            pl.col("stop_lat").cast(pl.Float64),
            pl.col("stop_lon").cast(pl.Float64),
        ),
        "gtfs_trips": trips.select(
            "trip_id",
            "route_id",
            "service_id",
            pl.col("direction_id").fill_null("0").cast(pl.Int64),
            "block_id",
            "shape_id",
        ),
        "gtfs_stop_times": feed["stop_times.txt"]
        .select(
            "trip_id",
            pl.col("stop_sequence").cast(pl.Int64),
            "stop_id",
            _seconds("arrival_time").alias("arrival_s"),
            _seconds("departure_time").alias("departure_s"),
        )
        # Between timepoints, times are interpolated along the trip as GTFS consumers do.
        .sort("trip_id", "stop_sequence")
        .with_columns(
            pl.col("arrival_s").interpolate().round(0).cast(pl.Int64).over("trip_id"),
            pl.col("departure_s").interpolate().round(0).cast(pl.Int64).over("trip_id"),
        ),
        "gtfs_route_patterns": route_patterns(feed),
    }
    return {
        name: frame.with_columns(
            pl.lit(version).alias("feed_version"), pl.lit(feed.timezone).alias("timezone")
        )
        for name, frame in tables.items()
    }


def feed_versions(lake: Lake) -> list[date]:
    """Publication days of the feeds in the landing zone (`landing/gtfs/<YYYY-MM-DD>/*.zip`)."""
    days = set()
    for uri in lake.list_files(GTFS_LANDING_PREFIX):
        folder = uri.split(f"{GTFS_LANDING_PREFIX}/", 1)[-1].split("/", 1)[0]
        try:
            days.add(date.fromisoformat(folder))
        except ValueError:
            continue
    return sorted(days)


def version_in_force(versions: list[date], day: date) -> date | None:
    """The feed in force on a day: the latest published on or before it."""
    before = [v for v in versions if v <= day]
    return before[-1] if before else None


def loaded_versions(lake: Lake) -> set[date]:
    if not lake.table_exists("silver", "gtfs_route_patterns"):
        return set()
    table = lake.read("silver", "gtfs_route_patterns", columns=["feed_version"])
    return set(table.column("feed_version").unique().to_pylist())


def load_feed(lake: Lake, version: date, bbox: dict[str, float] | None = None) -> dict[str, int]:
    """Read the feed published on `version` and replace that version in the reference tables."""
    files = [
        f
        for f in lake.list_files(f"{GTFS_LANDING_PREFIX}/{version.isoformat()}")
        if f.endswith(".zip")
    ]
    if len(files) != 1:
        raise ContractError(
            SOURCE,
            f"{lake.root}/{GTFS_LANDING_PREFIX}/{version.isoformat()}/",
            f"expected one GTFS zip, found {len(files)}",
        )
    feed = read_gtfs(lake.get_file(files[0]), files[0], bbox)
    rows = {}
    for name, frame in reference_tables(feed, version).items():
        table = frame.to_arrow(compat_level=pl.CompatLevel.oldest())
        lake.replace_days(
            "silver",
            name,
            pa.Table.from_batches(table.to_batches(), table.schema),
            date_column="feed_version",
            days=[version],
        )
        rows[f"{name}_rows"] = frame.height
    return rows
