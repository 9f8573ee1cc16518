"""One settings object for the whole platform, read from the environment and an optional `.env`.

The embedded default needs no server: the lake is a local folder, Spark runs `local[*]`,
MLflow writes to a local SQLite store and the warehouse is a DuckDB file. Each external
system is one variable away (see README.md, "Switching to MinIO, a Spark cluster, MLflow").
"""

from __future__ import annotations

import os
from functools import cached_property
from pathlib import Path
from typing import Literal

from pydantic import Field, SecretStr, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

# The checkout (or installed tree) the code runs from; pinned downloads are cached beside it.
PROJECT_ROOT = Path(__file__).resolve().parents[1]


class LakehouseSettings(BaseSettings):
    """Where every part of the lakehouse lives; environment variables are `LAKEHOUSE_<FIELD>`."""

    model_config = SettingsConfigDict(
        env_prefix="LAKEHOUSE_", env_file=".env", env_file_encoding="utf-8", extra="ignore"
    )

    home: Path = Field(
        default=Path(".lakehouse"),
        description="Local working folder: the embedded lake, warehouse, Dagster home, caches.",
    )
    cache_dir: Path = Field(
        default=PROJECT_ROOT / ".lakehouse" / "cache",
        description="Pinned downloads (Spark jars, the MinIO binary), shared by every home.",
    )
    lake_uri: str = Field(
        default="",
        description="Root of the lake: a local folder (default `<home>/lake`) or `s3://bucket[/prefix]`.",
    )
    s3_endpoint: str = Field(
        default="http://127.0.0.1:9000", description="MinIO / S3 endpoint URL."
    )
    s3_access_key: str = Field(default="", description="S3 access key (from the environment only).")
    s3_secret_key: SecretStr = Field(default=SecretStr(""), description="S3 secret key.")
    s3_region: str = Field(default="us-east-1")
    spark_master: str = Field(
        default="local[*]", description="Spark master URL, e.g. spark://host:7077."
    )
    spark_remote: str = Field(
        default="",
        description="Spark Connect URL (sc://host:15002): refused until the pins move to "
        "Spark 4 / Delta 4, whose Delta Connect serves the DeltaTable API the jobs use.",
    )
    spark_driver_memory: str = Field(default="2g")
    silver_engine: Literal["auto", "spark", "duckdb"] = Field(
        default="auto",
        description="Engine of the silver jobs that have two (`pipelines.duckdb_io`): `auto` runs "
        "them in DuckDB on a local Spark master and on Spark against a cluster; `spark` or "
        "`duckdb` forces one.",
    )
    duckdb_memory: str = Field(
        default="2GB", description="Memory limit of a single-node silver job; DuckDB spills beyond."
    )
    mlflow_tracking_uri: str = Field(
        default="", description="MLflow tracking URI; default a SQLite store under <home>."
    )
    warehouse_path: Path = Field(
        default=Path(""), description="DuckDB warehouse file the marts are built in."
    )
    simulate: bool = Field(
        default=True,
        description="Fill the landing zone from the city simulator (the embedded default); "
        "set false when real files arrive from the city's sources.",
    )
    simulation_seed: int = Field(default=42)
    simulation_scale: float = Field(default=1.0, description="1.0 = the real city's volumes.")
    time_travel_days: int = Field(
        default=7,
        ge=0,
        description="Table maintenance keeps every version of this many days readable and "
        "restorable; VACUUM removes files that left a table before that.",
    )
    k_anonymity: int = Field(
        default=10,
        ge=2,
        description="Telecom cells and flows with fewer subscribers are suppressed.",
    )
    pseudonym_key: SecretStr = Field(
        default=SecretStr(""),
        description="Secret key for pseudonymising identifiers at the bronze boundary.",
    )
    ucs_api_url: str = Field(
        default="",
        description="Base URL of the UCS talent platform's API (`http://host:port`); when set "
        "and the simulator is off, UCS landing days are pulled from it.",
    )
    ucs_api_token: SecretStr = Field(
        default=SecretStr(""), description="Bearer token for the UCS API (environment only)."
    )

    @model_validator(mode="after")
    def _resolve_defaults(self) -> LakehouseSettings:
        self.home = self.home.expanduser().resolve()
        self.cache_dir = self.cache_dir.expanduser().resolve()
        if not self.lake_uri:
            self.lake_uri = str(self.home / "lake")
        elif not self.lake_uri.startswith("s3://"):
            self.lake_uri = str(Path(self.lake_uri).expanduser().resolve())
        self.lake_uri = self.lake_uri.rstrip("/")
        if not self.mlflow_tracking_uri:
            self.mlflow_tracking_uri = f"sqlite:///{self.home / 'mlflow.db'}"
        if str(self.warehouse_path) in ("", "."):
            self.warehouse_path = self.home / "warehouse.duckdb"
        self.warehouse_path = self.warehouse_path.expanduser().resolve()
        if not self.pseudonym_key.get_secret_value() and self.pseudonym_key_file.exists():
            self.pseudonym_key = SecretStr(self.pseudonym_key_file.read_text().strip())
        if self.is_s3 and not (self.s3_access_key and self.s3_secret_key.get_secret_value()):
            raise ValueError(
                "LAKEHOUSE_LAKE_URI points at S3 but LAKEHOUSE_S3_ACCESS_KEY / "
                "LAKEHOUSE_S3_SECRET_KEY are not set in the environment"
            )
        return self

    @property
    def spark_is_local(self) -> bool:
        """Spark in this process (`local[...]`), not a cluster or a Connect server."""
        return not self.spark_remote and self.spark_master.startswith("local")

    def silver_on_duckdb(self) -> bool:
        """Whether a silver job that has a DuckDB version runs it (see `silver_engine`)."""
        if self.silver_engine == "auto":
            return self.spark_is_local
        return self.silver_engine == "duckdb"

    @property
    def is_s3(self) -> bool:
        return self.lake_uri.startswith("s3://")

    @cached_property
    def bucket(self) -> str:
        """The S3 bucket of the lake (only meaningful when `is_s3`)."""
        return self.lake_uri.removeprefix("s3://").split("/", 1)[0]

    @property
    def s3_endpoint_host(self) -> str:
        """Endpoint without scheme, as the minio SDK and DuckDB want it."""
        return self.s3_endpoint.split("://", 1)[-1].rstrip("/")

    @property
    def s3_secure(self) -> bool:
        return self.s3_endpoint.startswith("https://")

    @property
    def pseudonym_key_file(self) -> Path:
        """Where the embedded default keeps a generated key (outside the repository, 0600);
        read only when `LAKEHOUSE_PSEUDONYM_KEY` is not set."""
        return self.home / "secrets" / "pseudonym.key"

    @property
    def jars_dir(self) -> Path:
        return self.cache_dir / "jars"

    @property
    def dagster_home(self) -> Path:
        return self.home / "dagster"

    def location_env(self) -> dict[str, str]:
        """The resolved locations as environment variables, for a child process such as dbt."""
        return {
            "LAKEHOUSE_HOME": str(self.home),
            "LAKEHOUSE_LAKE_URI": self.lake_uri,
            "LAKEHOUSE_WAREHOUSE_PATH": str(self.warehouse_path),
            "LAKEHOUSE_CACHE_DIR": str(self.cache_dir),
        }

    def export_env(self) -> None:
        """Put the resolved locations into this process's environment, for every child it
        starts. Only a command's entry point may: a module that did it on import would point
        whatever imported it, and that process's later children, at this home."""
        os.environ.update(self.location_env())
