"""A SparkSession with delta-spark and the S3A connector, configured from the settings.

The jars are pinned here and copied from Maven Central into `<home>/jars` once
(`mvn dependency:copy`), so a session starts offline afterwards.
"""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

from pyspark.sql import SparkSession

from pipelines.settings import LakehouseSettings

# Matches pyspark 3.5.7 (Scala 2.12, Hadoop client 3.3.4) and delta-spark 3.3.2 on PyPI.
SPARK_JARS = (
    "io.delta:delta-spark_2.12:3.3.2",
    "io.delta:delta-storage:3.3.2",
    "org.apache.hadoop:hadoop-aws:3.3.4",
    "com.amazonaws:aws-java-sdk-bundle:1.12.262",
)


def jar_path(jars_dir: Path, coordinate: str) -> Path:
    _, artifact, version = coordinate.split(":")
    return jars_dir / f"{artifact}-{version}.jar"


def ensure_jars(jars_dir: Path) -> list[Path]:
    """Copy the pinned jars from Maven Central into `jars_dir` unless they are there already."""
    jars_dir.mkdir(parents=True, exist_ok=True)
    paths = []
    for coordinate in SPARK_JARS:
        path = jar_path(jars_dir, coordinate)
        if not path.exists():
            mvn = shutil.which("mvn")
            if mvn is None:
                raise RuntimeError(
                    f"Maven (mvn) is needed once to fetch {coordinate} into {jars_dir}"
                )
            print(f"fetching {coordinate} from Maven Central into {jars_dir}", flush=True)
            subprocess.run(
                [
                    mvn,
                    "-q",
                    "dependency:copy",
                    f"-Dartifact={coordinate}",
                    f"-DoutputDirectory={jars_dir}",
                ],
                check=True,
            )
        paths.append(path)
    return paths


def spark_session(settings: LakehouseSettings, app_name: str = "almaty-lakehouse") -> SparkSession:
    """Get or create the SparkSession for the lakehouse (`local[*]` or a cluster's master)."""
    if settings.spark_remote:
        raise RuntimeError(
            f"LAKEHOUSE_SPARK_REMOTE={settings.spark_remote}: the silver jobs call delta-spark's "
            "DeltaTable API (MERGE, history), which needs a classic SparkSession with pyspark 3.5 "
            "and delta-spark 3.3 (Delta Connect comes with Spark 4 / Delta 4). Unset it and set "
            "LAKEHOUSE_SPARK_MASTER to the cluster's master, or submit the jobs with spark-submit "
            "(README.md, 'Switching to a Spark cluster')."
        )
    jars = ensure_jars(settings.jars_dir)
    builder = (
        SparkSession.builder.master(settings.spark_master)
        .appName(app_name)
        .config("spark.jars", ",".join(str(j) for j in jars))
        .config("spark.sql.extensions", "io.delta.sql.DeltaSparkSessionExtension")
        .config(
            "spark.sql.catalog.spark_catalog", "org.apache.spark.sql.delta.catalog.DeltaCatalog"
        )
        .config("spark.driver.memory", settings.spark_driver_memory)
        .config("spark.sql.session.timeZone", "UTC")
        .config("spark.sql.shuffle.partitions", "8")
        # Small Delta logs: reading a snapshot in 2 partitions, not 50, halves small writes.
        .config("spark.databricks.delta.snapshotPartitions", "2")
        .config("spark.ui.showConsoleProgress", "false")
        .config("spark.sql.warehouse.dir", str(settings.home / "spark-warehouse"))
        .config("spark.driver.extraJavaOptions", f"-Dderby.system.home={settings.home / 'derby'}")
        .config("spark.databricks.delta.schema.autoMerge.enabled", "false")
    )
    session = builder.getOrCreate()
    session.sparkContext.setLogLevel("WARN")
    if settings.is_s3:
        # Set on the live Hadoop configuration: a session that already exists in this JVM (an
        # earlier job, another lake) would otherwise keep the S3A settings it started with.
        hadoop = session.sparkContext._jsc.hadoopConfiguration()  # type: ignore[union-attr]
        for key, value in s3a_options(settings).items():
            hadoop.set(key, value)
    return session


def s3a_options(settings: LakehouseSettings) -> dict[str, str]:
    """Hadoop S3A options that point Spark at the lake's MinIO / S3 endpoint."""
    return {
        "fs.s3a.endpoint": settings.s3_endpoint,
        "fs.s3a.access.key": settings.s3_access_key,
        "fs.s3a.secret.key": settings.s3_secret_key.get_secret_value(),
        "fs.s3a.endpoint.region": settings.s3_region,
        "fs.s3a.path.style.access": "true",
        "fs.s3a.connection.ssl.enabled": str(settings.s3_secure).lower(),
        "fs.s3a.impl": "org.apache.hadoop.fs.s3a.S3AFileSystem",
        "fs.s3a.aws.credentials.provider": "org.apache.hadoop.fs.s3a.SimpleAWSCredentialsProvider",
        "fs.s3a.attempts.maximum": "3",
        "fs.s3a.retry.limit": "3",
    }
