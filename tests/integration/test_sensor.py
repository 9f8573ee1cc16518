"""A file dropped into the landing zone on a real MinIO is picked up by the sensor and ingested."""

from datetime import date

import dagster as dg
import polars as pl
import pytest

from pipelines.lake import Lake
from pipelines.settings import LakehouseSettings
from pipelines.sources.ambulance import simulate_day

pytestmark = pytest.mark.integration
DAY = date(2020, 5, 5)


def test_dropped_file_is_ingested_through_the_sensor(
    s3_settings: LakehouseSettings, spark_session_for_tests: object
) -> None:
    from orchestration.definitions import build_definitions, resources_for

    lake = Lake(s3_settings)
    calls = simulate_day(DAY, seed=21, scale=0.1)
    broken = calls.head(2).with_columns(pl.lit("-4").alias("response_min"))
    lake.put_file(
        f"landing/ambulance_calls/{DAY}/dispatch_export.csv",
        pl.concat([calls, broken]).write_csv().encode(),
    )
    defs = build_definitions(s3_settings)
    sensor = defs.resolve_sensor_def("landing_files_sensor")
    instance = dg.DagsterInstance.ephemeral()

    resources = {"lakehouse": resources_for(s3_settings)["lakehouse"]}
    with dg.build_sensor_context(
        instance=instance, definitions=defs, resources=resources
    ) as context:
        tick = sensor.evaluate_tick(context)
    assert [(r.job_name, r.partition_key) for r in tick.run_requests] == [
        ("ingest_ambulance", DAY.isoformat())
    ]
    with dg.build_sensor_context(
        instance=instance, definitions=defs, resources=resources, cursor=tick.cursor
    ) as context:
        assert sensor.evaluate_tick(context).run_requests == []  # nothing new, nothing to run

    request = tick.run_requests[0]
    result = defs.resolve_job_def(request.job_name).execute_in_process(
        partition_key=request.partition_key, instance=instance
    )
    assert result.success
    assert lake.read("bronze", "ambulance_calls").num_rows == calls.height
    assert lake.read("bronze", "_quarantine").num_rows == 2
    assert lake.read("silver", "ambulance_calls").num_rows == calls.unique("call_id").height
