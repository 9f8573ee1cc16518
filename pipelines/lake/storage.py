"""Read and write Delta tables and landing files on the local disk or on MinIO (S3).

Writers replace whole day partitions (`predicate` overwrite), so re-running a day never
duplicates rows. On MinIO, delta-rs commits with conditional puts (`If-None-Match`), which
MinIO honours, so concurrent writers cannot overwrite each other's commits; Spark commits
are serialised with `pipelines.lake.locks.TableLock` built on the same primitive.
"""

from __future__ import annotations

import io
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import IO

import pyarrow as pa
import pyarrow.compute as pc
from deltalake import DeltaTable, write_deltalake
from deltalake.exceptions import CommitFailedError
from minio import Minio

from pipelines.duckdb_lake import sql_literal
from pipelines.settings import LakehouseSettings

LAYERS = ("landing", "bronze", "silver", "gold")


@dataclass(frozen=True, order=True)
class LakeFile:
    """A file in the lake (a landing file, typically)."""

    uri: str
    size: int
    modified: float  # seconds since the epoch


# Tries of a day replace whose commit another writer's commit to the same days beat (rows in
# memory only).
COMMIT_ATTEMPTS = 3


def _date_predicate(column: str, days: Iterable[date]) -> str:
    values = ", ".join(f"'{d.isoformat()}'" for d in sorted(set(days)))
    return f"{column} IN ({values})"


class Lake:
    """The lake rooted at `settings.lake_uri`: `<root>/<layer>/<table>` Delta tables."""

    def __init__(self, settings: LakehouseSettings) -> None:
        self.settings = settings
        self.root = settings.lake_uri

    # -- locations -------------------------------------------------------------------------
    def uri(self, layer: str, name: str) -> str:
        """URI of a table or landing folder, as delta-rs and DuckDB spell it."""
        if layer not in LAYERS:
            raise ValueError(f"unknown lake layer {layer!r}; expected one of {LAYERS}")
        return f"{self.root}/{layer}/{name}"

    def spark_uri(self, layer: str, name: str) -> str:
        """The same location as Spark's Hadoop S3A connector spells it."""
        uri = self.uri(layer, name)
        return "s3a://" + uri.removeprefix("s3://") if self.settings.is_s3 else uri

    def _key(self, uri: str) -> str:
        """Object key inside the bucket for an `s3://bucket/key` URI."""
        return uri.removeprefix(f"s3://{self.settings.bucket}/")

    @property
    def storage_options(self) -> dict[str, str]:
        """delta-rs / object_store options; empty on the local disk."""
        if not self.settings.is_s3:
            return {}
        s = self.settings
        return {
            "AWS_ENDPOINT_URL": s.s3_endpoint,
            "AWS_ACCESS_KEY_ID": s.s3_access_key,
            "AWS_SECRET_ACCESS_KEY": s.s3_secret_key.get_secret_value(),
            "AWS_REGION": s.s3_region,
            "AWS_ALLOW_HTTP": "true" if not s.s3_secure else "false",
            # MinIO supports conditional PUT: safe concurrent commits without DynamoDB.
            "aws_conditional_put": "etag",
        }

    def minio_client(self) -> Minio:
        s = self.settings
        return Minio(
            s.s3_endpoint_host,
            access_key=s.s3_access_key,
            secret_key=s.s3_secret_key.get_secret_value(),
            secure=s.s3_secure,
            region=s.s3_region,
        )

    def ensure_ready(self) -> None:
        """Create the local root folder, or the MinIO bucket with the minio SDK."""
        if self.settings.is_s3:
            client = self.minio_client()
            if not client.bucket_exists(self.settings.bucket):
                client.make_bucket(self.settings.bucket)
        else:
            Path(self.root).mkdir(parents=True, exist_ok=True)

    # -- Delta tables ----------------------------------------------------------------------
    def table_exists(self, layer: str, name: str) -> bool:
        return DeltaTable.is_deltatable(self.uri(layer, name), storage_options=self.storage_options)

    def delta_table(self, layer: str, name: str) -> DeltaTable:
        return DeltaTable(self.uri(layer, name), storage_options=self.storage_options)

    def row_count(self, layer: str, name: str) -> int:
        """Rows in the table's current version, from the log's file statistics.

        The log records each data file's row count, so the count reads no data file (a year of
        daily partitions: 0.01 s instead of 0.2-0.5 s for each table's Parquet footers). A file
        committed without statistics is counted from its footer instead.
        """
        table = self.delta_table(layer, name)
        counts = pa.table(table.get_add_actions(flatten=True)).column("num_records")
        if counts.null_count:
            return int(table.to_pyarrow_dataset().count_rows())
        return int(pc.sum(counts).as_py() or 0)

    def replace_days(
        self,
        layer: str,
        name: str,
        rows: pa.Table | pa.RecordBatchReader,
        *,
        date_column: str,
        days: Iterable[date],
        partition_by: list[str] | None = None,
        within: dict[str, str] | None = None,
    ) -> int:
        """Replace the given day partitions of a table with `rows` (idempotent); returns the version.

        `rows` may be a stream of batches: they go into the one commit as they come. `within`
        narrows the replace to one value of other partition columns (`{"source_table": ...}`).

        Days listed in `days` but absent from `rows` are emptied, so a re-run that now accepts
        fewer rows never leaves stale ones behind. Replacing days that hold nothing with no
        rows commits nothing (the quarantine of a clean day costs no commit).
        """
        days = list(days)
        within = within or {}
        predicate = " AND ".join(
            [_date_predicate(date_column, days)]
            + [f"{column} = {sql_literal(value)}" for column, value in within.items()]
        )
        if not self.table_exists(layer, name):
            write_deltalake(
                self.uri(layer, name),
                rows,
                mode="append",
                partition_by=partition_by or [date_column],
                storage_options=self.storage_options,
            )
            return self.delta_table(layer, name).version()  # 0, unless another writer raced
        # One load of the log serves the check, the write and the new version: the writer
        # updates the table object it is given (with a URI it loads the log itself, and a
        # version read after it loaded the log a third time).
        attempt = 1
        while True:
            table = self.delta_table(layer, name)
            if isinstance(rows, pa.Table) and rows.num_rows == 0:
                partitions = set(table.metadata().partition_columns)
                if {date_column, *within} <= partitions and not table.file_uris(
                    partition_filters=[(date_column, "in", [d.isoformat() for d in days])]
                    + [(column, "=", value) for column, value in within.items()]
                ):
                    return table.version()
            try:
                write_deltalake(table, rows, mode="overwrite", predicate=predicate)
                return table.version()
            except CommitFailedError:
                # A commit that added rows of these days landed between the read and this
                # commit (another writer of the same days; rows of other partitions do not
                # conflict). Rows held in memory are replaced again on the table as it now is;
                # a stream is spent.
                if not isinstance(rows, pa.Table) or attempt == COMMIT_ATTEMPTS:
                    raise
                attempt += 1

    def read(
        self,
        layer: str,
        name: str,
        *,
        date_column: str | None = None,
        days: Iterable[date] | None = None,
        columns: list[str] | None = None,
    ) -> pa.Table:
        """Read a table, optionally only some day partitions."""
        table = self.delta_table(layer, name)
        dataset = table.to_pyarrow_dataset()
        expression = None
        if date_column and days is not None:
            expression = pc.field(date_column).isin(pa.array(sorted(set(days)), pa.date32()))
        return dataset.to_table(columns=columns, filter=expression)

    # -- landing files ---------------------------------------------------------------------
    def put_file(self, relative_path: str, payload: bytes) -> str:
        """Write a landing file (path relative to the lake root); returns its URI."""
        return self.write_file(relative_path, lambda out: out.write(payload))

    def write_file(self, relative_path: str, write: Callable[[IO[bytes]], object]) -> str:
        """Write a landing file through `write(stream)`; returns its URI. On the local disk the
        stream is the file itself (a large file is never held in memory whole) and the file
        appears complete or not at all; on S3 it is a buffer sent as one object."""
        uri = f"{self.root}/{relative_path}"
        if self.settings.is_s3:
            buffer = io.BytesIO()
            write(buffer)
            size = buffer.tell()
            buffer.seek(0)
            self.minio_client().put_object(self.settings.bucket, self._key(uri), buffer, size)
        else:
            path = Path(uri)
            path.parent.mkdir(parents=True, exist_ok=True)
            tmp = path.with_suffix(path.suffix + ".partial")
            with tmp.open("wb") as out:
                write(out)
            tmp.replace(path)
        return uri

    def get_file(self, uri: str) -> bytes:
        if self.settings.is_s3:
            response = self.minio_client().get_object(self.settings.bucket, self._key(uri))
            try:
                return response.read()
            finally:
                response.close()
                response.release_conn()
        return Path(uri).read_bytes()

    def list_files(self, relative_prefix: str) -> list[str]:
        """URIs of the files under a folder of the lake, sorted."""
        return [f.uri for f in self.stat_files(relative_prefix)]

    def stat_files(self, relative_prefix: str) -> list[LakeFile]:
        """The files under a folder of the lake with size and modification time, sorted by URI."""
        prefix_uri = f"{self.root}/{relative_prefix.strip('/')}"
        if self.settings.is_s3:
            objects = self.minio_client().list_objects(
                self.settings.bucket, prefix=self._key(prefix_uri) + "/", recursive=True
            )
            return sorted(
                LakeFile(
                    f"s3://{self.settings.bucket}/{o.object_name}",
                    int(o.size or 0),
                    o.last_modified.timestamp() if o.last_modified else 0.0,
                )
                for o in objects
            )
        folder = Path(prefix_uri)
        if not folder.exists():
            return []
        return sorted(
            LakeFile(str(p), p.stat().st_size, p.stat().st_mtime)
            for p in folder.rglob("*")
            if p.is_file() and not p.name.endswith(".partial")
        )
