"""The Dagster code location of the lakehouse: every domain's definitions, merged."""

from __future__ import annotations

import os

import dagster as dg

from orchestration import maintenance, pool_wait
from orchestration.assets import charts, gold, marts, ml, quality, transit
from orchestration.assets.sources import source_definitions
from orchestration.partitions import LARGE_MEMORY, MEMORY_TAG, daily_partitions
from orchestration.resources import CitySimulatorResource, LakehouseResource, SparkResource
from orchestration.sensors import landing_sensor
from pipelines.settings import LakehouseSettings
from pipelines.silver_run import all_sources

SOURCES = all_sources()
# A run waiting for a pool's slot (the warehouse) sleeps between its claims, where Dagster's
# executors spin a core (`orchestration/pool_wait.py`).
pool_wait.install()


def resources_for(settings: LakehouseSettings) -> dict[str, object]:
    """The resources of a deployment, from its settings (local disk or MinIO, local or cluster)."""
    lakehouse = LakehouseResource.from_settings(settings)
    return {
        "lakehouse": lakehouse,
        "spark": SparkResource(lakehouse=lakehouse),
        "simulator": CitySimulatorResource(
            enabled=settings.simulate,
            seed=settings.simulation_seed,
            scale=settings.simulation_scale,
        ),
        "dbt": marts.LakehouseDbtCliResource(
            project_dir=os.fspath(marts.DBT_PROJECT_DIR),
            profiles_dir=os.fspath(marts.DBT_PROJECT_DIR),
            dbt_executable=marts.DBT_EXECUTABLE,
        ),
    }


# A run launched by the schedule, the sensor or the UI runs each step in a process of its own
# (a step's memory goes back to the system when it ends; steps of different pools overlap),
# forked from a server that has loaded these definitions once: a process started afresh spent
# ~8 s importing them before each of the daily run's 78 steps (BENCHMARKS.md, "The daily run
# as the schedule launches it"); the server freezes their objects for the collector
# (`orchestration.step_server`). `lakehouse run` executes in its own process and is unaffected.
# Of the steps that hold a large day in memory (`LARGE_MEMORY`), one runs at a time.
step_processes = dg.multiprocess_executor.configured(
    {
        "start_method": {"forkserver": {"preload_modules": ["orchestration.step_server"]}},
        "tag_concurrency_limits": [
            {"key": MEMORY_TAG, "value": LARGE_MEMORY[MEMORY_TAG], "limit": 1}
        ],
    },
    name="forked_step_processes",
)


city_daily_job = dg.define_asset_job(
    "city_daily",
    # Everything partitioned by day; the ESCO evaluation runs on demand (`ml.ESCO_KEY`).
    selection=dg.AssetSelection.all(include_sources=False) - dg.AssetSelection.assets(ml.ESCO_KEY),
    partitions_def=daily_partitions,
    description="Every source from landing to the marts, for a day or a range of days.",
)


def build_definitions(settings: LakehouseSettings) -> dg.Definitions:
    """Every domain's definitions, merged, with the resources the settings call for."""
    return dg.Definitions.merge(
        *(source_definitions(source) for source in SOURCES),
        transit.defs,
        marts.defs,
        charts.defs,
        gold.defs,
        ml.defs,
        quality.defs,
        maintenance.defs,
        dg.Definitions(
            jobs=[city_daily_job],  # the ingest jobs come with the sensor that targets them
            sensors=[landing_sensor(SOURCES)],
            schedules=[
                dg.build_schedule_from_partitioned_job(
                    city_daily_job, hour_of_day=2, minute_of_hour=30
                )
            ],
            resources=resources_for(settings),
            executor=step_processes,
        ),
    )


# Read, not exported: the dbt steps hand dbt their run's locations (`marts.dbt_environment`),
# and an import that wrote the environment would point its importer's other children here.
settings = LakehouseSettings()
defs = build_definitions(settings)
