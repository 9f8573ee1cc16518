"""Writing Delta tables from Spark: replace whole day partitions, under the MinIO table lock."""

from __future__ import annotations

from contextlib import nullcontext
from datetime import date

from delta.tables import DeltaTable
from pyspark.sql import DataFrame

from pipelines.lake import Lake
from pipelines.lake.locks import TableLock


def replace_days_spark(
    frame: DataFrame, lake: Lake, layer: str, name: str, date_column: str, days: list[date]
) -> int:
    """Overwrite the given day partitions of a Delta table with `frame`; returns the new version.

    `replaceWhere` makes the write idempotent: re-running days replaces them, never appends.
    """
    uri = lake.spark_uri(layer, name)
    values = ", ".join(f"'{d.isoformat()}'" for d in sorted(set(days)))
    lock = (
        TableLock(lake.settings, f"{layer}/{name}").held() if lake.settings.is_s3 else nullcontext()
    )
    with lock:
        (
            frame.write.format("delta")
            .mode("overwrite")
            .option("replaceWhere", f"{date_column} IN ({values})")
            .partitionBy(date_column)
            .save(uri)
        )
        latest = DeltaTable.forPath(frame.sparkSession, uri).history(1).select("version").first()
        assert latest is not None  # the write above committed a version
        return int(latest[0])
