"""District normalisation in Spark, shared by every silver job."""

from __future__ import annotations

from pyspark.sql import DataFrame, SparkSession
from pyspark.sql import functions as F

from contracts.districts import ALIAS_TO_DISTRICT, DISTRICTS


def with_canonical_district(
    spark: SparkSession, frame: DataFrame, column: str = "district"
) -> DataFrame:
    """Replace a district spelling column by the canonical `district` and its `district_code`.

    Unknown spellings get nulls; bronze contracts quarantine them, so callers assert none.
    """
    aliases = spark.createDataFrame(
        list(ALIAS_TO_DISTRICT.items()), "district_key string, district_name string"
    )
    codes = spark.createDataFrame(
        [(d.name, d.code, d.population) for d in DISTRICTS],
        "district_name string, district_code string, district_population long",
    )
    key = F.trim(F.regexp_replace(F.lower(F.col(column)), "district|район", ""))
    return (
        frame.withColumn("district_key", F.regexp_replace(key, r"\s+", " "))
        .drop(column)
        .join(F.broadcast(aliases), "district_key", "left")
        .join(F.broadcast(codes), "district_name", "left")
        .withColumnRenamed("district_name", "district")
        .drop("district_key")
    )


def assert_districts_known(frame: DataFrame, source: str) -> None:
    unknown = frame.where(F.col("district").isNull()).count()
    if unknown:
        raise ValueError(
            f"[{source}] silver: {unknown} bronze rows have a district the normalisation does "
            "not know; the bronze contract should have quarantined them"
        )
