"""Writing Delta tables from Spark: replace whole day partitions, under the MinIO table lock."""

from __future__ import annotations

from contextlib import nullcontext
from datetime import date
from typing import Literal

from delta.tables import DeltaTable
from pyspark.sql import DataFrame, SparkSession, Window
from pyspark.sql import functions as F

from contracts.model import Contract
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


def read_bronze_days(
    spark: SparkSession, lake: Lake, contract: Contract, days: list[date]
) -> DataFrame:
    """The bronze rows of a source whose own (event) day is one of `days`."""
    bronze = spark.read.format("delta").load(lake.spark_uri("bronze", contract.table))
    return bronze.where(F.col(contract.partition_column).isin([d.isoformat() for d in days]))


def one_delivery_per_key(
    bronze: DataFrame, keys: list[str], keep: Literal["first", "latest"]
) -> DataFrame:
    """One row per key among repeated deliveries: the first delivered, or the latest."""
    order = ["landing_date", "_source_file", "_source_row"]
    columns = [F.col(c) if keep == "first" else F.desc(c) for c in order]
    delivery = Window.partitionBy(*keys).orderBy(*columns)
    return (
        bronze.withColumn("_delivery", F.row_number().over(delivery))
        .where("_delivery = 1")
        .drop("_delivery")
    )
