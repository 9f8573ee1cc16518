"""The gold layer: every mart of the warehouse published to `<lake>/gold/<table>` for BI tools.

Partitioned like the rest of `city_daily` so it runs in the same job, after the marts; each run
publishes the whole of every mart (a new Delta version), whatever days it was asked for.
"""

import dagster as dg

from orchestration.assets.marts import city_marts
from orchestration.partitions import WAREHOUSE_POOL, daily_partitions, partition_days, single_run
from orchestration.resources import LakehouseResource
from pipelines.gold import GOLD_LAYER, publish_gold
from pipelines.lake import Lake

GOLD_MARTS = dg.AssetKey([GOLD_LAYER, "marts"])
MART_KEYS = sorted(
    (key for key in city_marts.keys if key.path[0] == "marts"), key=lambda k: k.to_user_string()
)


@dg.asset(
    key=GOLD_MARTS,
    deps=MART_KEYS,
    group_name="marts",
    partitions_def=daily_partitions,
    backfill_policy=single_run,
    pool=WAREHOUSE_POOL,
    kinds={"delta"},
    description="The warehouse's marts copied to the lake as Delta tables, `gold/<mart>`, "
    "where BI tools read them with a read-only credential (`python -m infra.minio_policies`).",
)
def gold_marts(
    context: dg.AssetExecutionContext, lakehouse: LakehouseResource
) -> dg.MaterializeResult:
    settings = lakehouse.settings()
    days = partition_days(context)
    context.log.info(
        f"publishing every mart to gold (run for {days[0]}..{days[-1]}; marts are copied whole)"
    )
    rows = publish_gold(settings)
    for table, count in rows.items():
        context.log.info(f"gold/{table}: {count} rows")
    lake = Lake(settings)
    return dg.MaterializeResult(
        metadata={
            "tables": len(rows),
            "rows": dg.MetadataValue.json(rows),
            "dagster/row_count": sum(rows.values()),
            "gold_uri": dg.MetadataValue.path(f"{lake.root}/{GOLD_LAYER}"),
            **{f"rows/{table}": count for table, count in rows.items()},
        }
    )


defs = dg.Definitions(assets=[gold_marts])
