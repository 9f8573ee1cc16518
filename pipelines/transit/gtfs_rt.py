"""GTFS-Realtime VehiclePosition feeds (protobuf) as rows of the bus-positions contract.

A `.pb` landing file is one FeedMessage (a poll of the feed) or, as feed archivers write them,
a stream of FeedMessages each prefixed by its length as a protobuf varint.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from datetime import UTC, datetime

import polars as pl
from google.protobuf.internal.decoder import _DecodeVarint32  # type: ignore[attr-defined]
from google.protobuf.internal.encoder import _VarintBytes  # type: ignore[attr-defined]
from google.protobuf.message import DecodeError
from google.transit import gtfs_realtime_pb2

COLUMNS = (
    "vehicle_id",
    "route_id",
    "trip_id",
    "position_ts",
    "lat",
    "lon",
    "speed_kmh",
    "bearing_deg",
)


def _messages(payload: bytes) -> Iterator[gtfs_realtime_pb2.FeedMessage]:
    """One FeedMessage, or a length-delimited stream of them."""
    single = gtfs_realtime_pb2.FeedMessage()
    try:
        single.ParseFromString(payload)
        if single.header.gtfs_realtime_version:
            yield single
            return
    except DecodeError:
        pass
    position = 0
    while position < len(payload):
        size, position = _DecodeVarint32(payload, position)
        message = gtfs_realtime_pb2.FeedMessage()
        message.ParseFromString(payload[position : position + size])
        if not message.header.gtfs_realtime_version:
            raise DecodeError("not a GTFS-Realtime FeedMessage (no header version)")
        position += size
        yield message


def read_vehicle_positions(payload: bytes) -> pl.DataFrame:
    """Every VehiclePosition entity of a feed file, as strings in the contract's columns."""
    rows: list[tuple[str | None, ...]] = []
    for message in _messages(payload):
        fallback_ts = message.header.timestamp
        for entity in message.entity:
            if not entity.HasField("vehicle"):
                continue  # trip updates and alerts are not positions
            vp = entity.vehicle
            stamp = vp.timestamp or fallback_ts
            where: tuple[str | None, ...] = (None, None, None, None)
            if vp.HasField("position"):
                pos = vp.position
                where = (
                    str(pos.latitude),
                    str(pos.longitude),
                    str(round(pos.speed * 3.6, 2)) if pos.HasField("speed") else None,
                    str(pos.bearing) if pos.HasField("bearing") else None,
                )
            rows.append(
                (
                    vp.vehicle.id or entity.id,
                    vp.trip.route_id or None,
                    vp.trip.trip_id or None,
                    datetime.fromtimestamp(stamp, UTC).isoformat() if stamp else None,
                    *where,
                )
            )
    return pl.DataFrame(rows, schema=dict.fromkeys(COLUMNS, pl.Utf8), orient="row")


def write_vehicle_positions(snapshots: Iterable[pl.DataFrame], delimited: bool = True) -> bytes:
    """Encode frames of positions (one per poll) as FeedMessages, as a real feed publishes them.

    Used by the simulator and the tests; `delimited=False` writes the single-message form.
    """
    chunks = []
    for number, frame in enumerate(snapshots):
        message = gtfs_realtime_pb2.FeedMessage()
        message.header.gtfs_realtime_version = "2.0"
        message.header.incrementality = gtfs_realtime_pb2.FeedHeader.FULL_DATASET
        stamps = frame["position_ts"].str.to_datetime(time_zone="UTC")
        latest = stamps.max()
        message.header.timestamp = int(latest.timestamp()) if isinstance(latest, datetime) else 0
        for i, row in enumerate(frame.iter_rows(named=True)):
            entity = message.entity.add()
            entity.id = f"{number}-{i}"
            vp = entity.vehicle
            vp.vehicle.id = row["vehicle_id"]
            vp.trip.route_id = row["route_id"]
            if row.get("trip_id"):
                vp.trip.trip_id = row["trip_id"]
            vp.timestamp = int(stamps[i].timestamp())
            vp.position.latitude = float(row["lat"])
            vp.position.longitude = float(row["lon"])
            if row.get("speed_kmh") is not None:
                vp.position.speed = float(row["speed_kmh"]) / 3.6
            if row.get("bearing_deg") is not None:
                vp.position.bearing = float(row["bearing_deg"])
        data = message.SerializeToString()
        chunks.append(_VarintBytes(len(data)) + data if delimited else data)
    if not delimited and len(chunks) != 1:
        raise ValueError("the single-message form holds exactly one snapshot")
    return b"".join(chunks)
