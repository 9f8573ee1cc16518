"""Ambulance calls: landing files -> bronze (contract, quarantine) -> silver (Spark)."""

import dagster as dg
import pyarrow.compute as pc

from orchestration.partitions import daily_partitions, partition_days, single_run
from orchestration.resources import CitySimulatorResource, LakehouseResource, SparkResource
from pipelines.ingest import (
    QUARANTINE_TABLE,
    ContractError,
    ingest_day,
    landing_files,
    read_landing_file,
)
from pipelines.sources import ambulance

GROUP = "ambulance"
LANDING = dg.AssetKey(["landing", "ambulance_calls"])
BRONZE = dg.AssetKey(["bronze", "ambulance_calls"])
SILVER = dg.AssetKey(["silver", "ambulance_calls"])


@dg.asset(
    key=LANDING,
    group_name=GROUP,
    partitions_def=daily_partitions,
    backfill_policy=single_run,
    kinds={"csv"},
    description="Daily call files from the ambulance dispatch (or the city simulator) in the landing zone.",
)
def ambulance_call_files(
    context: dg.AssetExecutionContext,
    lakehouse: LakehouseResource,
    simulator: CitySimulatorResource,
) -> dg.MaterializeResult:
    lake = lakehouse.lake()
    days = partition_days(context)
    rows = files = 0
    for n, day in enumerate(days, 1):
        if simulator.enabled:
            _, day_rows = ambulance.write_landing_day(lake, day, simulator.seed, simulator.scale)
            rows += day_rows
            files += 1
        else:
            found = landing_files(lake, ambulance.CONTRACT, day)
            if not found:
                raise ContractError(
                    ambulance.CONTRACT.source, f"{day}", "no landing file for this day"
                )
            files += len(found)
        context.log.info(f"landing ambulance_calls {day} ({n}/{len(days)})")
    return dg.MaterializeResult(
        metadata={"files": files, "simulated_rows": rows, "simulated": simulator.enabled}
    )


@dg.asset(
    key=BRONZE,
    deps=[LANDING],
    group_name=GROUP,
    partitions_def=daily_partitions,
    backfill_policy=single_run,
    kinds={"delta", "pandera"},
    description="Calls as delivered, typed and checked against the contract; rejects go to "
    "bronze/_quarantine with source, file, row and rule.",
)
def bronze_ambulance_calls(
    context: dg.AssetExecutionContext, lakehouse: LakehouseResource
) -> dg.MaterializeResult:
    lake = lakehouse.lake()
    days = partition_days(context)
    rows_in = accepted = quarantined = 0
    version = -1
    for n, day in enumerate(days, 1):
        report = ingest_day(lake, ambulance.CONTRACT, day)
        rows_in += report.rows_in
        accepted += report.rows_accepted
        quarantined += report.rows_quarantined
        version = report.bronze_version
        context.log.info(
            f"bronze ambulance_calls {day} ({n}/{len(days)}): {report.rows_in} in, "
            f"{report.rows_accepted} accepted, {report.rows_quarantined} quarantined"
        )
    return dg.MaterializeResult(
        metadata={
            "rows_in": rows_in,
            "rows_accepted": accepted,
            "rows_quarantined": quarantined,
            "dagster/row_count": accepted,
            "delta_version": version,
            "table_uri": dg.MetadataValue.path(lake.uri("bronze", ambulance.CONTRACT.table)),
        }
    )


@dg.asset_check(asset=BRONZE, description="Every landing row is either accepted or quarantined.")
def bronze_rows_accounted_for(lakehouse: LakehouseResource) -> dg.AssetCheckResult:
    lake = lakehouse.lake()
    contract = ambulance.CONTRACT
    accepted = lake.read("bronze", contract.table, columns=["landing_date"]).num_rows
    quarantined = 0
    if lake.table_exists("bronze", QUARANTINE_TABLE):
        tables = lake.read("bronze", QUARANTINE_TABLE, columns=["source_table"])["source_table"]
        quarantined = pc.sum(pc.equal(tables, contract.table)).as_py() or 0
    landed = sum(
        read_landing_file(lake.get_file(f), f, contract).height
        for f in lake.list_files(contract.landing_prefix)
    )
    return dg.AssetCheckResult(
        passed=landed == accepted + quarantined,
        metadata={
            "rows_landed": landed,
            "rows_accepted": accepted,
            "rows_quarantined": quarantined,
        },
    )


@dg.asset(
    key=SILVER,
    deps=[BRONZE],
    group_name=GROUP,
    partitions_def=daily_partitions,
    backfill_policy=single_run,
    kinds={"spark", "delta"},
    description="One row per call: deduplicated, typed, districts normalised (Spark + delta-spark).",
)
def silver_ambulance_calls(
    context: dg.AssetExecutionContext, lakehouse: LakehouseResource, spark: SparkResource
) -> dg.MaterializeResult:
    days = partition_days(context)
    context.log.info(f"silver ambulance_calls: Spark job over {len(days)} day(s)")
    stats = ambulance.build_silver(spark.session(), lakehouse.lake(), days)
    context.log.info(f"silver ambulance_calls: {stats}")
    return dg.MaterializeResult(metadata={**stats, "dagster/row_count": stats["silver_rows"]})


defs = dg.Definitions(
    assets=[ambulance_call_files, bronze_ambulance_calls, silver_ambulance_calls],
    asset_checks=[bronze_rows_accounted_for],
)
