"""Weekly table maintenance of the lake as a Dagster job: compaction and VACUUM of every Delta
table within the time-travel window (`pipelines.lake.maintenance`)."""

import dagster as dg

from orchestration.resources import LakehouseResource
from pipelines.lake.maintenance import delta_tables, maintain


@dg.op(
    description="Compact every Delta table's small files, then VACUUM the files that left it "
    "before the time-travel window (LAKEHOUSE_TIME_TRAVEL_DAYS)."
)
def compact_and_vacuum(
    context: dg.OpExecutionContext, lakehouse: LakehouseResource
) -> dg.Output[dict[str, int]]:
    lake = lakehouse.lake()
    tables = delta_tables(lake)
    totals = {"tables": len(tables), "files_before": 0, "files_after": 0, "files_vacuumed": 0}
    for n, (layer, table) in enumerate(tables, 1):
        result = maintain(lake, layer, table)
        context.log.info(
            f"[{n}/{len(tables)}] {result.name}: {result.files_before} -> {result.files_after} "
            f"files, {result.files_vacuumed} vacuumed, version {result.version}"
        )
        totals["files_before"] += result.files_before
        totals["files_after"] += result.files_after
        totals["files_vacuumed"] += result.files_vacuumed
    totals["time_travel_days"] = lake.settings.time_travel_days
    return dg.Output(totals, metadata=totals)


@dg.job(description="Weekly: compaction and VACUUM of every table, time travel kept a window.")
def lake_maintenance() -> None:
    compact_and_vacuum()


defs = dg.Definitions(
    jobs=[lake_maintenance],
    schedules=[
        dg.ScheduleDefinition(
            job=lake_maintenance,
            cron_schedule="0 4 * * 0",  # Sundays 04:00, after the night's daily run
            execution_timezone="Asia/Almaty",
        )
    ],
)
