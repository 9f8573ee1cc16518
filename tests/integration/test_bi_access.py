"""BI access: the marts published to the lake's gold layer, a MinIO user that can read gold and
nothing else, and the dashboard's queries through SQLAlchemy + duckdb-engine, read-only.

Everything runs against a real DuckDB warehouse file and the real MinIO server; no mocks."""

from __future__ import annotations

import io
import stat
from collections.abc import Callable, Iterator
from pathlib import Path

import dagster as dg
import duckdb
import pyarrow as pa
import pytest
from deltalake import DeltaTable, write_deltalake
from minio import Minio
from minio.error import S3Error
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError

from infra.minio_policies import SECRET_ENV, ReaderCredentials, read_only_policy
from infra.minio_policies import main as minio_policies_main
from orchestration.assets.gold import GOLD_MARTS, MART_KEYS, gold_marts
from orchestration.resources import LakehouseResource
from pipelines.dashboards import DASHBOARD_QUERIES, read_only_engine, run_dashboard_queries
from pipelines.gold import publish_gold
from pipelines.lake import Lake
from pipelines.settings import PROJECT_ROOT, LakehouseSettings

pytestmark = pytest.mark.integration

DISTRICTS = [
    ("ALM", "Almaly", 215_000),
    ("AUE", "Auezov", 300_000),
    ("BOS", "Bostandyk", 350_000),
]
CALLS = 6_000
DAYS = 60  # 2020-03-01 .. 2020-04-29


def build_warehouse(path: Path) -> dict[str, int]:
    """A small warehouse: marts.fct_ambulance_calls_daily aggregated (as the dbt model does)
    from deterministic call-level rows, and marts.dim_districts. Returns rows per mart."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with duckdb.connect(str(path)) as conn:
        conn.execute("create schema if not exists marts")
        conn.execute(
            "create or replace table marts.dim_districts "
            "(district_code varchar, district varchar, population_2020 integer)"
        )
        conn.executemany("insert into marts.dim_districts values (?, ?, ?)", DISTRICTS)
        conn.execute(
            f"""
            create or replace table marts.fct_ambulance_calls_daily as
            with calls as (
                select
                    date '2020-03-01' + (hash(i || 'day') % {DAYS})::integer as call_date,
                    ['ALM', 'AUE', 'BOS'][1 + (hash(i || 'district') % 3)::integer]
                        as district_code,
                    ['cardiac', 'trauma', 'respiratory', 'other'][
                        1 + (hash(i || 'reason') % 4)::integer
                    ] as reason,
                    1 + (hash(i || 'priority') % 3)::integer as priority,
                    5 + (hash(i || 'response') % 400)::integer / 10.0 as response_min
                from range({CALLS}) as r(i)
            ),
            calls_per_day as (
                select call_date, district_code, reason,
                       count(*) as calls,
                       count(*) filter (where priority = 1) as priority_1_calls,
                       median(response_min) as median_response_min,
                       quantile_cont(response_min, 0.9) as p90_response_min
                from calls group by all
            )
            select c.call_date, c.district_code, d.district, c.reason, c.calls,
                   c.priority_1_calls,
                   round(c.median_response_min, 1) as median_response_min,
                   round(c.p90_response_min, 1) as p90_response_min,
                   round(1e5 * c.calls / d.population_2020, 2) as calls_per_100k
            from calls_per_day c join marts.dim_districts d using (district_code)
            """
        )
        return {
            table: conn.execute(f"select count(*) from marts.{table}").fetchone()[0]  # type: ignore[index]
            for table in ("dim_districts", "fct_ambulance_calls_daily")
        }


# -- publishing gold ---------------------------------------------------------------------------
def test_publish_gold_copies_every_mart_and_is_idempotent(
    local_settings: LakehouseSettings,
) -> None:
    expected = build_warehouse(local_settings.warehouse_path)
    lake = Lake(local_settings)

    assert publish_gold(local_settings) == expected
    first = {t: lake.delta_table("gold", t).to_pyarrow_table() for t in expected}
    assert {t: v.num_rows for t, v in first.items()} == expected
    assert publish_gold(local_settings) == expected  # again: same rows, a new version
    for table in expected:
        again = lake.delta_table("gold", table)
        assert again.version() == 1
        assert (
            again.to_pyarrow_table()
            .sort_by([(c, "ascending") for c in first[table].column_names])
            .equals(first[table].sort_by([(c, "ascending") for c in first[table].column_names]))
        )

    calls = first["fct_ambulance_calls_daily"]
    assert pa.compute.sum(calls["calls"]).as_py() == CALLS
    assert calls.schema.field("call_date").type == pa.date32()

    assert publish_gold(local_settings, ["dim_districts"]) == {"dim_districts": 3}
    with pytest.raises(ValueError, match="not_a_mart"):
        publish_gold(local_settings, ["not_a_mart"])


def test_gold_asset_publishes_the_marts_in_a_partitioned_run(
    local_settings: LakehouseSettings,
) -> None:
    expected = build_warehouse(local_settings.warehouse_path)
    assert dg.AssetKey(["marts", "fct_ambulance_calls_daily"]) in MART_KEYS
    assert all(key.path[0] == "marts" for key in MART_KEYS)

    result = dg.materialize(
        [gold_marts],
        partition_key="2020-03-02",
        resources={"lakehouse": LakehouseResource.from_settings(local_settings)},
        instance=dg.DagsterInstance.ephemeral(),
    )

    assert result.success
    (event,) = [
        e.materialization
        for e in result.get_asset_materialization_events()
        if e.materialization.asset_key == GOLD_MARTS
    ]
    assert event.partition == "2020-03-02"
    metadata = {k: getattr(v, "value", v) for k, v in event.metadata.items()}
    assert metadata["rows"] == expected
    assert metadata["dagster/row_count"] == sum(expected.values())
    assert metadata["gold_uri"] == f"{local_settings.lake_uri}/gold"
    assert Lake(local_settings).table_exists("gold", "fct_ambulance_calls_daily")


# -- the read-only MinIO user -----------------------------------------------------------------
def _client(settings: LakehouseSettings, access_key: str, secret_key: str) -> Minio:
    return Minio(
        settings.s3_endpoint_host,
        access_key=access_key,
        secret_key=secret_key,
        secure=settings.s3_secure,
        region=settings.s3_region,
    )


def _denied(call: Callable[[], object]) -> None:
    """The call (a listing is consumed) fails with S3's AccessDenied."""
    with pytest.raises(S3Error) as error:
        result = call()
        if isinstance(result, Iterator):
            list(result)
    assert error.value.code == "AccessDenied", error.value


def test_policy_grants_only_reads_under_gold() -> None:
    policy = read_only_policy("lake", "gold")
    actions = {a for s in policy["Statement"] for a in s["Action"]}  # type: ignore[attr-defined]
    assert actions == {"s3:GetObject", "s3:ListBucket"}
    resources = {r for s in policy["Statement"] for r in s["Resource"]}  # type: ignore[attr-defined]
    assert resources == {"arn:aws:s3:::lake", "arn:aws:s3:::lake/gold/*"}


def test_bi_reader_reads_gold_and_nothing_else(
    s3_settings: LakehouseSettings,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    lake = Lake(s3_settings)
    # Row-level layers the BI user must not see, written with the pipeline's credentials.
    secret_rows = pa.table({"call_id": ["a1", "a2"], "patient_token": ["p1", "p2"]})
    write_deltalake(
        lake.uri("silver", "ambulance_calls"), secret_rows, storage_options=lake.storage_options
    )
    write_deltalake(
        lake.uri("bronze", "ambulance_calls"), secret_rows, storage_options=lake.storage_options
    )
    lake.put_file("landing/ambulance_calls/2020-03-01/calls.csv", b"call_id\na1\n")
    expected = build_warehouse(s3_settings.warehouse_path)
    assert publish_gold(s3_settings) == expected

    # The CLI: prints the access key, keeps the generated secret in a 0600 env file only.
    env_file = tmp_path / "secrets" / "bi-reader.env"
    monkeypatch.delenv(SECRET_ENV, raising=False)
    assert minio_policies_main(["bi-reader", "--env-file", str(env_file)]) == 0
    access_key = capsys.readouterr().out.strip()
    assert access_key == "bi-reader"
    assert stat.S_IMODE(env_file.stat().st_mode) == 0o600
    values = dict(
        line.removeprefix("export ").split("=", 1) for line in env_file.read_text().splitlines()
    )
    secret_key = values[SECRET_ENV]
    assert len(secret_key) >= 20 and secret_key not in access_key
    assert values["LAKEHOUSE_GOLD_URI"] == f"s3://{s3_settings.bucket}/gold"
    # Again: the same secret (read back from the env file), the user and policy unchanged.
    assert minio_policies_main(["bi-reader", "--env-file", str(env_file)]) == 0
    assert capsys.readouterr().out.strip() == access_key
    assert env_file.read_text().count(secret_key) == 1

    reader = ReaderCredentials(access_key, secret_key, "bi-reader", s3_settings.bucket, "gold")
    options = reader.storage_options(s3_settings)
    client = _client(s3_settings, access_key, secret_key)

    # (a) gold reads, as Delta, with every row.
    for table, rows in expected.items():
        gold = DeltaTable(lake.uri("gold", table), storage_options=options)
        assert gold.to_pyarrow_table().num_rows == rows
    listed = list(client.list_objects(s3_settings.bucket, "gold/", recursive=True))
    assert listed and all(o.object_name.startswith("gold/") for o in listed)

    # (b) silver, bronze and landing are refused, objects and listings alike.
    for layer in ("silver", "bronze"):
        key = next(
            o.object_name
            for o in lake.minio_client().list_objects(
                s3_settings.bucket, f"{layer}/ambulance_calls/", recursive=True
            )
            if o.object_name.endswith(".parquet")
        )
        _denied(lambda k=key: client.get_object(s3_settings.bucket, k))
        _denied(lambda k=key: client.stat_object(s3_settings.bucket, k))
        _denied(lambda p=layer: client.list_objects(s3_settings.bucket, f"{p}/", recursive=True))
        with pytest.raises(Exception, match="(?i)forbidden|access ?denied|403"):
            DeltaTable(lake.uri(layer, "ambulance_calls"), storage_options=options)
    _denied(
        lambda: client.get_object(
            s3_settings.bucket, "landing/ambulance_calls/2020-03-01/calls.csv"
        )
    )
    _denied(lambda: client.list_objects(s3_settings.bucket, "", recursive=True))

    # (c) writing to gold is refused: a plain object, and a Delta commit.
    _denied(lambda: client.put_object(s3_settings.bucket, "gold/evil.txt", io.BytesIO(b"x"), 1))
    gold_uri = lake.uri("gold", "dim_districts")
    with pytest.raises(Exception, match="(?i)forbidden|access ?denied|403"):
        write_deltalake(
            gold_uri,
            DeltaTable(gold_uri, storage_options=options).to_pyarrow_table(),
            mode="append",
            storage_options=options,
        )
    _denied(lambda: client.remove_object(s3_settings.bucket, listed[0].object_name))
    assert lake.delta_table("gold", "dim_districts").to_pyarrow_table().num_rows == 3


def test_env_file_inside_the_repository_must_be_git_ignored(
    local_settings: LakehouseSettings,
) -> None:
    tracked_place = PROJECT_ROOT / "infra" / "bi-reader.env"
    assert not tracked_place.exists()
    with pytest.raises(SystemExit, match="refusing to write a secret"):
        minio_policies_main(["bi-reader", "--bucket", "lake", "--env-file", str(tracked_place)])
    assert not tracked_place.exists()


# -- the dashboard through SQLAlchemy + duckdb-engine ------------------------------------------
def test_ambulance_dashboard_queries_return_rows_through_duckdb_engine(
    local_settings: LakehouseSettings,
) -> None:
    build_warehouse(local_settings.warehouse_path)
    # This warehouse holds the ambulance mart only; test_year runs every query on a full year.
    ambulance = {n: sql for n, sql in DASHBOARD_QUERIES.items() if n.startswith("ambulance_")}

    results = run_dashboard_queries(local_settings.warehouse_path, ambulance)

    assert set(results) == set(ambulance)
    for name, (rows, seconds) in results.items():
        assert rows, f"{name} returned no rows"
        assert seconds >= 0
    weekly = results["ambulance_calls_per_district_week"].rows
    assert sum(row[2] for row in weekly) == CALLS
    assert {row[1] for row in weekly} == {d for _, d, _ in DISTRICTS}
    trend = results["ambulance_response_p90_trend"].rows
    assert all(5 <= row[1] <= 45 and row[2] <= row[1] for row in trend)
    by_reason = results["ambulance_calls_by_reason_30d"].rows
    assert {row[0] for row in by_reason} == {"cardiac", "trauma", "respiratory", "other"}
    assert sum(row[1] for row in by_reason) < CALLS  # the last 30 of 60 days
    assert abs(sum(row[3] for row in by_reason) - 100) < 0.5

    # The same through a URL, as a BI tool is configured.
    by_url = run_dashboard_queries(f"duckdb:///{local_settings.warehouse_path}", ambulance)
    assert {k: v.rows for k, v in by_url.items()} == {k: v.rows for k, v in results.items()}


def test_the_dashboard_connection_refuses_writes(local_settings: LakehouseSettings) -> None:
    rows = build_warehouse(local_settings.warehouse_path)
    engine = read_only_engine(local_settings.warehouse_path)
    try:
        with engine.connect() as conn:
            for statement in (
                "insert into marts.dim_districts values ('X', 'x', 1)",
                "delete from marts.fct_ambulance_calls_daily",
                "create table marts.scratch (a integer)",
                "drop table marts.dim_districts",
            ):
                with pytest.raises(DBAPIError, match="read-only"):
                    conn.execute(text(statement))
                conn.rollback()
    finally:
        engine.dispose()
    with duckdb.connect(str(local_settings.warehouse_path), read_only=True) as conn:
        assert conn.execute("select count(*) from marts.dim_districts").fetchone()[0] == 3
        assert (
            conn.execute("select count(*) from marts.fct_ambulance_calls_daily").fetchone()[0]
            == rows["fct_ambulance_calls_daily"]
        )
