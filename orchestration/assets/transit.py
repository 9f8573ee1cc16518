"""The GTFS static feed in force on each day, loaded into the reference tables the bus and
card-tap silver jobs match against."""

import dagster as dg

from orchestration.partitions import daily_partitions, partition_days, single_run
from orchestration.resources import CitySimulatorResource, LakehouseResource
from pipelines.ingest import ContractError
from pipelines.sources.bus import GTFS_BBOX, ensure_feed_landed
from pipelines.transit import gtfs


@dg.asset(
    key=["silver", "gtfs_feed"],
    group_name="transit",
    partitions_def=daily_partitions,
    backfill_policy=single_run,
    kinds={"delta", "gtfs"},
    description="The city's GTFS static feed in force on the day (the latest published on or "
    "before it, from `landing/gtfs/<publication day>/*.zip`), checked and loaded into "
    "silver/gtfs_routes, gtfs_stops, gtfs_trips, gtfs_stop_times and gtfs_route_patterns.",
)
def gtfs_feed(
    context: dg.AssetExecutionContext,
    lakehouse: LakehouseResource,
    simulator: CitySimulatorResource,
) -> dg.MaterializeResult:
    lake = lakehouse.lake()
    if simulator.enabled and ensure_feed_landed(lake, simulator.seed, simulator.scale):
        context.log.info("landed the simulated network's GTFS feed")
    versions = gtfs.feed_versions(lake)
    needed = {day: gtfs.version_in_force(versions, day) for day in partition_days(context)}
    missing = sorted(day for day, version in needed.items() if version is None)
    if missing:
        raise ContractError(
            gtfs.SOURCE, f"{lake.root}/landing/gtfs/", f"no GTFS feed published by {missing[0]}"
        )
    rows: dict[str, int] = {}
    for version in sorted({v for v in needed.values() if v is not None}):
        rows = gtfs.load_feed(lake, version, GTFS_BBOX)
        context.log.info(f"GTFS feed {version}: {rows}")
    return dg.MaterializeResult(
        metadata={
            "feed_versions": ", ".join(sorted({str(v) for v in needed.values()})),
            **rows,
            "dagster/row_count": rows.get("gtfs_stop_times_rows", 0),
        }
    )


defs = dg.Definitions(assets=[gtfs_feed])
