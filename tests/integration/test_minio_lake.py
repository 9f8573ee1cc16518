"""The lake on a real MinIO: Delta written by delta-spark, read back by DuckDB's delta
extension and by deltalake; safe concurrent commits; bucket management with the minio SDK."""

import threading
from datetime import date

import pyarrow as pa
import pytest

from contracts.ambulance_calls import AMBULANCE_CALLS
from pipelines.ingest import ingest_day
from pipelines.lake import Lake
from pipelines.lake.locks import LockTimeout, TableLock
from pipelines.settings import LakehouseSettings
from pipelines.sources import ambulance
from pipelines.spark import spark_session
from pipelines.warehouse import connect

pytestmark = pytest.mark.integration
DAYS = [date(2020, 3, 20), date(2020, 3, 21)]


def test_bucket_is_created_with_the_minio_sdk(s3_settings: LakehouseSettings) -> None:
    lake = Lake(s3_settings)
    assert lake.minio_client().bucket_exists(s3_settings.bucket)
    lake.ensure_ready()  # idempotent


def test_spark_delta_on_minio_reads_back_identically_in_duckdb_and_deltalake(
    s3_settings: LakehouseSettings, spark_session_for_tests: object
) -> None:
    lake = Lake(s3_settings)
    for day in DAYS:
        ambulance.write_landing_day(lake, day, seed=9, scale=0.1)
        ingest_day(lake, AMBULANCE_CALLS, day)
    assert lake.list_files("landing/ambulance_calls")[0].startswith(f"s3://{s3_settings.bucket}/")

    stats = ambulance.build_silver(spark_session(s3_settings), lake, DAYS)

    by_deltalake = lake.read("silver", "ambulance_calls").num_rows
    with connect(s3_settings, ":memory:") as conn:
        by_duckdb = conn.execute(
            f"select count(*) from delta_scan('{lake.uri('silver', 'ambulance_calls')}')"
        ).fetchone()[0]
        bronze_by_duckdb = conn.execute(
            f"select count(*) from delta_scan('{lake.uri('bronze', 'ambulance_calls')}')"
        ).fetchone()[0]
    assert by_deltalake == by_duckdb == stats["silver_rows"] > 0
    assert bronze_by_duckdb == stats["bronze_rows"]
    objects = [
        o.object_name
        for o in lake.minio_client().list_objects(s3_settings.bucket, "silver/", recursive=True)
    ]
    assert any("_delta_log/00000000000000000000.json" in name for name in objects)


def test_concurrent_delta_rs_writers_on_minio_lose_no_commit(
    s3_settings: LakehouseSettings,
) -> None:
    from deltalake import write_deltalake

    lake = Lake(s3_settings)
    uri = lake.uri("bronze", "concurrency_probe")
    write_deltalake(uri, pa.table({"writer": [-1]}), storage_options=lake.storage_options)
    errors: list[BaseException] = []

    def writer(n: int) -> None:
        for i in range(4):
            try:
                write_deltalake(
                    uri,
                    pa.table({"writer": [n * 100 + i]}),
                    mode="append",
                    storage_options=lake.storage_options,
                )
            except BaseException as error:  # collected, asserted below
                errors.append(error)

    threads = [threading.Thread(target=writer, args=(n,)) for n in range(3)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors
    table = lake.delta_table("bronze", "concurrency_probe")
    values = sorted(table.to_pyarrow_table()["writer"].to_pylist())
    assert values == sorted([-1] + [n * 100 + i for n in range(3) for i in range(4)])
    assert table.version() == 12  # every commit got its own version


def test_table_lock_admits_one_holder_at_a_time(s3_settings: LakehouseSettings) -> None:
    lock = TableLock(s3_settings, "silver/ambulance_calls")
    other = TableLock(s3_settings, "silver/ambulance_calls")
    with lock.held(), pytest.raises(LockTimeout), other.held(timeout_seconds=1.5):
        pass
    with other.held(timeout_seconds=5):
        pass


def test_a_stale_lock_of_a_killed_job_is_taken_over(s3_settings: LakehouseSettings) -> None:
    crashed = TableLock(s3_settings, "silver/x", lease_seconds=0.5)
    context = crashed.held()
    context.__enter__()  # the job dies without releasing
    with TableLock(s3_settings, "silver/x").held(timeout_seconds=10):
        pass
