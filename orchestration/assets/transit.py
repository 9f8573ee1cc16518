"""The GTFS static feed in force on each day, loaded into the reference tables the bus and
card-tap silver jobs match against."""

import dagster as dg

from orchestration.partitions import daily_partitions, lake_pool, partition_days, single_run
from orchestration.resources import CitySimulatorResource, LakehouseResource
from pipelines.ingest import ContractError
from pipelines.sources.bus import GTFS_BBOX, ensure_feed_landed
from pipelines.transit import gtfs

GTFS_TABLES = ("gtfs_routes", "gtfs_stops", "gtfs_trips", "gtfs_stop_times", "gtfs_route_patterns")


@dg.multi_asset(
    name="gtfs_feed",
    specs=[
        dg.AssetSpec(
            ["silver", "gtfs_feed"],
            group_name="transit",
            kinds={"delta", "gtfs"},
            description="The city's GTFS static feed in force on the day (the latest published "
            "on or before it, from `landing/gtfs/<publication day>/*.zip`), checked and loaded "
            "into the silver/gtfs_* tables.",
        ),
        *(
            dg.AssetSpec(
                ["silver", table],
                group_name="transit",
                kinds={"delta"},
                deps=[dg.AssetKey(["silver", "gtfs_feed"])],
                description=f"The GTFS feed's {table.removeprefix('gtfs_')}, one partition per "
                "feed version.",
            )
            for table in GTFS_TABLES
        ),
    ],
    partitions_def=daily_partitions,
    backfill_policy=single_run,
    pool=lake_pool("gtfs"),
)
def gtfs_feed(
    context: dg.AssetExecutionContext,
    lakehouse: LakehouseResource,
    simulator: CitySimulatorResource,
):  # type: ignore[no-untyped-def]
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
    feed_versions = ", ".join(sorted({str(v) for v in needed.values()}))
    yield dg.MaterializeResult(
        asset_key=["silver", "gtfs_feed"],
        metadata={
            "feed_versions": feed_versions,
            **rows,
            "dagster/row_count": rows.get("gtfs_stop_times_rows", 0),
        },
    )
    for table in GTFS_TABLES:
        yield dg.MaterializeResult(
            asset_key=["silver", table],
            metadata={
                "feed_versions": feed_versions,
                "dagster/row_count": rows.get(f"{table}_rows", 0),
            },
        )


defs = dg.Definitions(assets=[gtfs_feed])
