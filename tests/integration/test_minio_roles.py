"""MinIO users per role on a real MinIO: the pipeline writes every layer, data scientists read
silver and gold, BI tools read gold only, and each is refused everywhere else."""

import io
from collections.abc import Callable
from datetime import date
from pathlib import Path

import pyarrow as pa
import pytest
from deltalake import DeltaTable
from minio import Minio
from minio.error import S3Error
from pydantic import SecretStr

from infra.minio_policies import ROLES, ensure_role_user, role_policy
from pipelines.lake import Lake
from pipelines.settings import LakehouseSettings

pytestmark = pytest.mark.integration
LAYERS = ("landing", "bronze", "silver", "gold")
# role -> layers it may read, layers it may write
EXPECTED = {
    "pipeline": (set(LAYERS), set(LAYERS)),
    "data-scientist": ({"silver", "gold"}, set()),
    "bi-reader": ({"gold"}, set()),
}


def test_policies_grant_exactly_the_role_s_layers() -> None:
    policy = role_policy("lake", ["city/silver", "city/gold"], write=False)
    listing, objects = policy["Statement"]  # type: ignore[index]
    assert objects["Action"] == ["s3:GetObject"]
    assert objects["Resource"] == [
        "arn:aws:s3:::lake/city/silver/*",
        "arn:aws:s3:::lake/city/gold/*",
    ]
    assert listing["Condition"]["StringLike"]["s3:prefix"] == [
        "city/silver", "city/silver/*", "city/gold", "city/gold/*",
    ]  # fmt: skip
    assert set(ROLES) == set(EXPECTED)


def test_each_role_is_refused_where_it_does_not_belong(s3_settings: LakehouseSettings) -> None:
    lake = Lake(s3_settings)
    # One Delta table per layer, written by the lakehouse's own (admin) credentials.
    table = pa.table({"district": ["Almaly", "Medeu"], "day": pa.array([date(2020, 3, 2)] * 2)})
    for layer in LAYERS:
        lake.replace_days(layer, "probe", table, date_column="day", days=[date(2020, 3, 2)])
    bucket = s3_settings.bucket
    for role, (readable, writable) in EXPECTED.items():
        user = ensure_role_user(s3_settings, role, secret_key=f"{role}-secret-for-tests")
        client = Minio(
            s3_settings.s3_endpoint_host,
            access_key=user.access_key,
            secret_key=user.secret_key,
            secure=False,
            region=s3_settings.s3_region,
        )
        for layer in LAYERS:
            read, listed, written = _probe(client, bucket, layer, role)
            assert read == listed == (layer in readable), (role, "read", layer)
            assert written == (layer in writable), (role, "write", layer)
        # What a data scientist or a dashboard does: read a Delta table where it may.
        for layer in readable & {"silver", "gold"}:
            options = {**lake.storage_options, **user.storage_options(s3_settings)}
            read = DeltaTable(lake.uri(layer, "probe"), storage_options=options).to_pyarrow_table()
            assert read.num_rows == 2, (role, layer)


def _probe(client: Minio, bucket: str, layer: str, role: str) -> tuple[bool, bool, bool]:
    """Whether the client may read a table's log, list the layer, and write into it."""
    log = f"{layer}/probe/_delta_log/00000000000000000000.json"
    key = f"{layer}/probe/written-by-{role}.txt"
    return (
        _allowed(lambda: client.get_object(bucket, log).read()),
        _allowed(lambda: list(client.list_objects(bucket, prefix=f"{layer}/", recursive=True))),
        _allowed(lambda: client.put_object(bucket, key, io.BytesIO(b"x"), 1)),
    )


def _allowed(action: Callable[[], object]) -> bool:
    try:
        action()
    except S3Error as error:
        assert error.code == "AccessDenied", error
        return False
    return True


def test_the_role_command_gives_a_data_scientist_a_read_only_lake(
    s3_settings: LakehouseSettings, tmp_path: Path
) -> None:
    from infra.minio_policies import _read_env_file, main

    lake = Lake(s3_settings)
    table = pa.table({"district": ["Almaly"], "day": pa.array([date(2020, 3, 2)])})
    lake.replace_days("silver", "probe", table, date_column="day", days=[date(2020, 3, 2)])
    env_file = tmp_path / "data-scientist.env"
    assert main(["role", "data-scientist", "--env-file", str(env_file)]) == 0
    assert env_file.stat().st_mode & 0o777 == 0o600
    env = _read_env_file(env_file)
    as_scientist = Lake(
        s3_settings.model_copy(
            update={
                "s3_access_key": env["LAKEHOUSE_S3_ACCESS_KEY"],
                "s3_secret_key": SecretStr(env["LAKEHOUSE_S3_SECRET_KEY"]),
            }
        )
    )
    assert as_scientist.read("silver", "probe").num_rows == 1
    with pytest.raises(Exception, match="(?i)access ?denied|forbidden|403"):  # no writes
        as_scientist.replace_days(
            "silver", "probe", table, date_column="day", days=[date(2020, 3, 2)]
        )
    assert lake.read("silver", "probe").num_rows == 1
