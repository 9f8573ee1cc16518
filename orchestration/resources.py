"""External systems as Dagster resources, configured from `LakehouseSettings`.

Local disk or MinIO, `local[*]` or a Spark cluster, the silver engine: the choice is made
once, from the environment, when the definitions load; assets never branch on it (a source
asks its settings which engine runs its silver job).
"""

import dagster as dg
from pydantic import PrivateAttr
from pyspark.sql import SparkSession

from pipelines.lake import Lake
from pipelines.settings import LakehouseSettings
from pipelines.spark import spark_session


class LakehouseResource(dg.ConfigurableResource):
    """Where the lake, the warehouse and the caches are; secrets come from the environment."""

    home: str
    lake_uri: str
    warehouse_path: str
    s3_endpoint: str = ""
    s3_access_key: str = ""
    s3_secret_key: str = ""
    spark_master: str = "local[*]"
    spark_remote: str = ""
    silver_engine: str = "auto"  # see `LakehouseSettings.silver_engine`

    @classmethod
    def from_settings(cls, settings: LakehouseSettings) -> "LakehouseResource":
        s3 = {}
        if settings.is_s3:
            s3 = {
                "s3_endpoint": settings.s3_endpoint,
                "s3_access_key": dg.EnvVar("LAKEHOUSE_S3_ACCESS_KEY"),
                "s3_secret_key": dg.EnvVar("LAKEHOUSE_S3_SECRET_KEY"),
            }
        return cls(
            home=str(settings.home),
            lake_uri=settings.lake_uri,
            warehouse_path=str(settings.warehouse_path),
            spark_master=settings.spark_master,
            spark_remote=settings.spark_remote,
            silver_engine=settings.silver_engine,
            **s3,
        )

    def settings(self) -> LakehouseSettings:
        overrides: dict[str, object] = {
            "home": self.home,
            "lake_uri": self.lake_uri,
            "warehouse_path": self.warehouse_path,
            "spark_master": self.spark_master,
            "spark_remote": self.spark_remote,
            "silver_engine": self.silver_engine,
        }
        if self.s3_endpoint:
            overrides |= {
                "s3_endpoint": self.s3_endpoint,
                "s3_access_key": self.s3_access_key,
                "s3_secret_key": self.s3_secret_key,
            }
        return LakehouseSettings(**overrides)  # type: ignore[arg-type]

    def lake(self) -> Lake:
        lake = Lake(self.settings())
        lake.ensure_ready()
        return lake


class SparkResource(dg.ConfigurableResource):
    """A Spark session with Delta, started on first use and kept for the life of the process
    (steps of one run share it; the JVM ends with the process)."""

    lakehouse: dg.ResourceDependency[LakehouseResource]
    _session: SparkSession | None = PrivateAttr(default=None)

    def session(self) -> SparkSession:
        if self._session is None:
            self._session = spark_session(self.lakehouse.settings())
        return self._session


class CitySimulatorResource(dg.ConfigurableResource):
    """Fills the landing zone with a simulated Almaty when no real feed is connected."""

    enabled: bool = True
    seed: int = 42
    scale: float = 1.0
