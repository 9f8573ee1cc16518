"""The same three assets for every source: landing files -> bronze (contract, quarantine) ->
silver (Spark, or DuckDB on one node where the job has both), with the row-accounting check on bronze. One factory, so sources cannot drift."""

from collections.abc import Iterator
from contextlib import contextmanager

import dagster as dg
import pyarrow.compute as pc

from orchestration.partitions import (
    LARGE_MEMORY,
    LARGE_MEMORY_SOURCES,
    daily_partitions,
    lake_pool,
    lake_retry,
    partition_days,
    run_partition_days,
    single_run,
)
from orchestration.resources import CitySimulatorResource, LakehouseResource, SparkResource
from pipelines.ingest import (
    QUARANTINE_TABLE,
    ContractError,
    count_landing_rows,
    ingest_days,
    landing_files,
)
from pipelines.memory import release_unused_memory
from pipelines.sources import Source


@contextmanager
def no_retry_on_contract_error() -> Iterator[None]:
    """A broken delivery fails the step at once, naming source, file, row and rule: trying it
    again would not mend the file (an unreachable lake, by contrast, is retried)."""
    try:
        yield
    except ContractError as error:
        raise dg.Failure(
            description=str(error),
            metadata={"source": error.source, "file": error.file, "rule": error.rule},
            allow_retries=False,
        ) from error


def source_definitions(source: Source) -> dg.Definitions:
    """Landing, bronze and silver assets (daily partitions) and checks for one source."""
    contract = source.contract
    table = contract.table
    landing_key = dg.AssetKey(["landing", table])
    bronze_key = dg.AssetKey(["bronze", table])
    memory_tags = LARGE_MEMORY if source.name in LARGE_MEMORY_SOURCES else None
    silver_specs = [
        dg.AssetSpec(
            ["silver", name],
            deps=[bronze_key, *(dg.AssetKey(list(key)) for key in source.silver_inputs)],
            group_name=source.group_name,
            partitions_def=daily_partitions,
            kinds={"spark", "delta", *(("duckdb",) if source.build_silver_duckdb else ())},
            description=f"{source.description} Silver table `{name}` (Spark + delta-spark"
            + (
                ", or DuckDB on one node: `LAKEHOUSE_SILVER_ENGINE`)."
                if source.build_silver_duckdb
                else ")."
            ),
        )
        for name in source.silver_tables
    ]

    @dg.asset(
        key=landing_key,
        group_name=source.group_name,
        partitions_def=daily_partitions,
        backfill_policy=single_run,
        retry_policy=lake_retry,
        pool=lake_pool(source.name),
        op_tags=memory_tags,
        kinds={"file"},
        description=f"{source.description} Files in the landing zone, "
        f"`{contract.landing_prefix}/<day>/`, from the source or the city simulator.",
    )
    def landing(
        context: dg.AssetExecutionContext,
        lakehouse: LakehouseResource,
        simulator: CitySimulatorResource,
    ) -> dg.MaterializeResult:
        lake = lakehouse.lake()
        days = partition_days(context)
        rows = files = fetched_rows = 0
        for n, day in enumerate(days, 1):
            fetched = None  # pulled from the source's API, if it has one and the settings name it
            if not simulator.enabled and source.fetch_landing_day is not None:
                fetched = source.fetch_landing_day(lake, day, lake.settings)
            if simulator.enabled:
                _, day_rows = source.write_landing_day(lake, day, simulator.seed, simulator.scale)
                rows, files = rows + day_rows, files + 1
            elif fetched is not None:
                fetched_rows, files = fetched_rows + fetched[1], files + 1
            else:
                found = landing_files(lake, contract, day)
                if not found:
                    with no_retry_on_contract_error():
                        raise ContractError(
                            contract.source, f"{day}", "no landing file for this day"
                        )
                files += len(found)
            context.log.info(f"landing {table} {day} ({n}/{len(days)})")
        release_unused_memory()  # a full-scale simulated day leaves ~1 GiB in glibc's heap
        return dg.MaterializeResult(
            metadata={
                "files": files,
                "simulated_rows": rows,
                "fetched_rows": fetched_rows,
                "simulated": simulator.enabled,
            }
        )

    @dg.asset(
        key=bronze_key,
        deps=[landing_key],
        group_name=source.group_name,
        partitions_def=daily_partitions,
        backfill_policy=single_run,
        retry_policy=lake_retry,
        pool=lake_pool(source.name),
        op_tags=memory_tags,
        kinds={"delta", "pandera"},
        description=f"{source.description} As delivered, typed and checked against the "
        "contract; rejected rows go to bronze/_quarantine with source, file, row and rule.",
    )
    def bronze(
        context: dg.AssetExecutionContext, lakehouse: LakehouseResource
    ) -> dg.MaterializeResult:
        lake = lakehouse.lake()
        days = partition_days(context)
        rows_in = accepted = quarantined = 0
        version = -1
        with no_retry_on_contract_error():
            for n, report in enumerate(ingest_days(lake, contract, days), 1):
                rows_in += report.rows_in
                accepted += report.rows_accepted
                quarantined += report.rows_quarantined
                version = report.bronze_version
                context.log.info(
                    f"bronze {table} {report.landing_date} ({n}/{len(days)}, version "
                    f"{version}): {report.rows_in} in, {report.rows_accepted} accepted, "
                    f"{report.rows_quarantined} quarantined"
                )
        release_unused_memory()
        return dg.MaterializeResult(
            metadata={
                "rows_in": rows_in,
                "rows_accepted": accepted,
                "rows_quarantined": quarantined,
                "dagster/row_count": accepted,
                "delta_version": version,
                "table_uri": dg.MetadataValue.path(lake.uri("bronze", table)),
            }
        )

    @dg.asset_check(
        asset=bronze_key,
        name="bronze_rows_accounted_for",
        description="Every landing row of the run's days is either accepted into bronze or "
        "quarantined (of every day, when the check runs on its own).",
    )
    def rows_accounted_for(
        context: dg.AssetCheckExecutionContext, lakehouse: LakehouseResource
    ) -> dg.AssetCheckResult:
        # The run's days only: recounting every landing file ever would make each daily run
        # read the whole history (a year of full-scale bus GPS is ~2.5 billion rows).
        lake = lakehouse.lake()
        days = run_partition_days(context)
        accepted = lake.read(
            "bronze", table, date_column="landing_date", days=days, columns=["landing_date"]
        ).num_rows
        quarantined = 0
        if lake.table_exists("bronze", QUARANTINE_TABLE):
            tables = lake.read(
                "bronze", QUARANTINE_TABLE, date_column="landing_date", days=days,
                columns=["source_table"],
            )["source_table"]  # fmt: skip
            quarantined = pc.sum(pc.equal(tables, table)).as_py() or 0
        if days is None:
            files = lake.list_files(contract.landing_prefix)
        else:
            files = [f for day in days for f in landing_files(lake, contract, day)]
        landed = sum(count_landing_rows(lake.get_file(f), f, contract) for f in files)
        return dg.AssetCheckResult(
            passed=landed == accepted + quarantined,
            metadata={
                "days": f"{days[0]}..{days[-1]}" if days else "all",
                "rows_landed": landed,
                "rows_accepted": accepted,
                "rows_quarantined": quarantined,
            },
        )

    @dg.multi_asset(
        specs=silver_specs,
        name=f"silver_{source.name}",
        partitions_def=daily_partitions,
        backfill_policy=single_run,
        retry_policy=lake_retry,
        pool=lake_pool(source.name),
        op_tags=memory_tags,
    )
    def silver(
        context: dg.AssetExecutionContext, lakehouse: LakehouseResource, spark: SparkResource
    ):  # type: ignore[no-untyped-def]
        days = partition_days(context)
        lake = lakehouse.lake()
        engine = source.silver_engine(lake.settings)
        context.log.info(f"silver {source.name}: {engine} job over {len(days)} day(s)")
        _, stats = source.run_silver(lake, days, spark.session)
        release_unused_memory()
        context.log.info(f"silver {source.name}: {stats}")
        for spec in silver_specs:
            name = spec.key.path[-1]
            rows = stats.get(f"{name}_rows", stats.get("silver_rows"))
            yield dg.MaterializeResult(
                asset_key=spec.key,
                metadata={
                    **stats,
                    "engine": engine,
                    **({"dagster/row_count": rows} if rows is not None else {}),
                },
            )

    return dg.Definitions(assets=[landing, bronze, silver], asset_checks=[rows_accounted_for])
