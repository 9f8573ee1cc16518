from pathlib import Path

import pytest
from pydantic import ValidationError

from pipelines.settings import LakehouseSettings


def test_embedded_default_needs_no_server(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    for key in ("LAKEHOUSE_LAKE_URI", "LAKEHOUSE_WAREHOUSE_PATH", "LAKEHOUSE_MLFLOW_TRACKING_URI"):
        monkeypatch.delenv(key, raising=False)
    settings = LakehouseSettings(_env_file=None, home=tmp_path)  # type: ignore[call-arg]
    assert settings.lake_uri == str(tmp_path / "lake")
    assert not settings.is_s3
    assert settings.spark_master == "local[*]"
    assert settings.warehouse_path == tmp_path / "warehouse.duckdb"
    assert settings.mlflow_tracking_uri == f"sqlite:///{tmp_path / 'mlflow.db'}"


def test_minio_is_one_switch_away(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("LAKEHOUSE_LAKE_URI", "s3://city-lake/almaty/")
    monkeypatch.setenv("LAKEHOUSE_S3_ACCESS_KEY", "pipeline")
    monkeypatch.setenv("LAKEHOUSE_S3_SECRET_KEY", "from-the-environment")
    settings = LakehouseSettings(_env_file=None)  # type: ignore[call-arg]
    assert settings.is_s3
    assert settings.bucket == "city-lake"
    assert settings.lake_uri == "s3://city-lake/almaty"
    assert "from-the-environment" not in repr(settings)  # secrets never printed


def test_s3_without_credentials_is_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("LAKEHOUSE_LAKE_URI", "s3://city-lake")
    monkeypatch.delenv("LAKEHOUSE_S3_ACCESS_KEY", raising=False)
    monkeypatch.delenv("LAKEHOUSE_S3_SECRET_KEY", raising=False)
    with pytest.raises(ValidationError, match="LAKEHOUSE_S3_ACCESS_KEY"):
        LakehouseSettings(_env_file=None)  # type: ignore[call-arg]


def test_spark_connect_is_refused_with_the_way_that_works(tmp_path: Path) -> None:
    from pipelines.spark import spark_session

    settings = LakehouseSettings(  # type: ignore[call-arg]
        _env_file=None, home=tmp_path, spark_remote="sc://127.0.0.1:15002"
    )
    with pytest.raises(RuntimeError, match="LAKEHOUSE_SPARK_MASTER"):
        spark_session(settings)


def test_silver_engine_is_duckdb_on_one_machine_and_spark_on_a_cluster(tmp_path: Path) -> None:
    from dataclasses import replace

    from pipelines.silver_run import all_sources
    from pipelines.sources import Source, bus

    def engine(source: Source, **settings: str) -> str:
        s = LakehouseSettings(_env_file=None, home=tmp_path, **settings)  # type: ignore[arg-type]
        return source.silver_engine(s)

    # Every source has both; the embedded default (local[*]) needs no JVM at all.
    assert {engine(s) for s in all_sources()} == {"duckdb"}
    assert engine(bus.SOURCE, spark_master="spark://10.0.0.5:7077") == "spark"
    assert engine(bus.SOURCE, spark_remote="sc://10.0.0.5:15002") == "spark"
    assert engine(bus.SOURCE, silver_engine="spark") == "spark"
    assert engine(bus.SOURCE, silver_engine="duckdb", spark_master="spark://h:7077") == "duckdb"
    spark_only = replace(bus.SOURCE, build_silver_duckdb=None)
    assert engine(spark_only, silver_engine="duckdb") == "spark"
    with pytest.raises(ValidationError, match="silver_engine"):
        engine(bus.SOURCE, silver_engine="polars")
