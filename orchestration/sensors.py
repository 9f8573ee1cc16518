"""A sensor that turns files dropped into the landing zone into runs of their day partitions."""

import json
from datetime import date

import dagster as dg

from orchestration.partitions import daily_partitions
from orchestration.resources import LakehouseResource
from pipelines.sources import Source


def ingest_job_name(source: Source) -> str:
    return f"ingest_{source.name}"


def ingest_job(source: Source, sources: tuple[Source, ...]):  # type: ignore[no-untyped-def]
    """Bronze and everything downstream of it that reads this source alone.

    Models that join several sources (the epidemic signals, the ULL indicators, gold, charts)
    are left to the daily `city_daily` run: a file of one source must not rebuild a mart
    from other sources' days that have not arrived yet (or a warehouse that lacks them).
    """
    own = dg.AssetSelection.assets(
        dg.AssetKey(["bronze", source.contract.table]),
        *(dg.AssetKey(["silver", table]) for table in source.silver_tables),
    )
    # Sources this one's silver job reads (card taps read bus arrivals) are not "other".
    inputs = {path[-1] for path in source.silver_inputs}
    others = dg.AssetSelection.assets(
        *(
            dg.AssetKey(["bronze", s.contract.table])
            for s in sources
            if s is not source and not inputs & set(s.silver_tables)
        )
    ).downstream()
    return dg.define_asset_job(
        ingest_job_name(source),
        # Reference seeds (districts) come along: the marts join them, even in a fresh warehouse.
        selection=(own.downstream() - others) | own | dg.AssetSelection.key_prefixes("reference"),
        partitions_def=daily_partitions,
        description=f"Ingest landing files of {source.contract.table} for a day, through to the "
        "models that read this source alone.",
    )


def landing_sensor(sources: tuple[Source, ...]) -> dg.SensorDefinition:
    """Every minute: new or changed landing files -> one run per (source, day)."""

    @dg.sensor(
        name="landing_files_sensor",
        jobs=[ingest_job(s, sources) for s in sources],
        minimum_interval_seconds=60,
        default_status=dg.DefaultSensorStatus.STOPPED,
        description="Runs the day partitions of every source whose landing files are new or changed.",
    )
    def sensor(context: dg.SensorEvaluationContext, lakehouse: LakehouseResource):  # type: ignore[no-untyped-def]
        lake = lakehouse.lake()
        seen: dict[str, float] = json.loads(context.cursor) if context.cursor else {}
        for source in sources:
            changed_days: dict[str, float] = {}
            for file in lake.stat_files(source.contract.landing_prefix):
                if seen.get(file.uri) == file.modified:
                    continue
                seen[file.uri] = file.modified
                day = _day_folder(file.uri, source.contract.landing_prefix)
                if day is None:
                    context.log.warning(f"{file.uri}: not under <landing>/<YYYY-MM-DD>/; ignored")
                    continue
                changed_days[day] = max(changed_days.get(day, 0.0), file.modified)
            for day, modified in sorted(changed_days.items()):
                yield dg.RunRequest(
                    run_key=f"{source.name}:{day}:{modified}",
                    job_name=ingest_job_name(source),
                    partition_key=day,
                    tags={"lakehouse/trigger": "landing_file"},
                )
        context.update_cursor(json.dumps(seen))

    return sensor


def _day_folder(uri: str, landing_prefix: str) -> str | None:
    folder = uri.split(f"{landing_prefix}/", 1)[-1].split("/", 1)[0]
    try:
        return date.fromisoformat(folder).isoformat()
    except ValueError:
        return None
