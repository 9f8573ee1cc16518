"""A lease lock on MinIO built on conditional PUT, to serialise Spark commits to one table.

delta-spark's S3 log store is safe for one driver only; two Spark jobs writing the same table
on MinIO could overwrite each other's commit file. Before committing, a job takes this lock:
a `_locks/<table>.lock` object created with `If-None-Match: *`, which MinIO grants to exactly
one writer. A lease that outlived its holder (a killed job) is taken over with `If-Match` on
its ETag, so two waiters cannot both take over the same stale lease.
"""

from __future__ import annotations

import json
import os
import socket
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

import boto3
from botocore.client import Config
from botocore.exceptions import ClientError

from pipelines.settings import LakehouseSettings

_CONFLICT_CODES = {"PreconditionFailed", "ConditionalRequestConflict", "412", "409"}


class LockTimeout(TimeoutError):
    """The table lock could not be taken in time."""


@dataclass(frozen=True)
class TableLock:
    """A lease lock on one table of the lake on MinIO."""

    settings: LakehouseSettings
    table_key: str
    lease_seconds: float = 600.0

    @property
    def object_key(self) -> str:
        return f"_locks/{self.table_key.strip('/')}.lock"

    def _client(self):  # type: ignore[no-untyped-def]
        s = self.settings
        return boto3.client(
            "s3",
            endpoint_url=s.s3_endpoint,
            aws_access_key_id=s.s3_access_key,
            aws_secret_access_key=s.s3_secret_key.get_secret_value(),
            region_name=s.s3_region,
            config=Config(s3={"addressing_style": "path"}, retries={"max_attempts": 3}),
        )

    @contextmanager
    def held(self, timeout_seconds: float = 300.0, poll_seconds: float = 0.5) -> Iterator[str]:
        """Hold the lock for the duration of the block; yields the holder token."""
        client = self._client()
        bucket = self.settings.bucket
        token = f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex}"
        body = json.dumps({"holder": token, "expires_at": time.time() + self.lease_seconds})
        deadline = time.monotonic() + timeout_seconds
        while True:
            try:
                client.put_object(Bucket=bucket, Key=self.object_key, Body=body, IfNoneMatch="*")
                break
            except ClientError as error:
                if error.response["Error"]["Code"] not in _CONFLICT_CODES:
                    raise
            if self._take_over_if_stale(client, bucket, body):
                break
            if time.monotonic() > deadline:
                raise LockTimeout(
                    f"could not lock table {self.table_key!r} on s3://{bucket} within "
                    f"{timeout_seconds:.0f}s (lock object {self.object_key})"
                )
            time.sleep(poll_seconds)
        try:
            yield token
        finally:
            self._release(client, bucket, token)

    def _take_over_if_stale(self, client, bucket: str, body: str) -> bool:  # type: ignore[no-untyped-def]
        try:
            current = client.get_object(Bucket=bucket, Key=self.object_key)
        except ClientError:
            return False  # released in the meantime; the next PUT will tell
        lease = json.loads(current["Body"].read())
        if lease.get("expires_at", 0) > time.time():
            return False
        try:
            client.put_object(
                Bucket=bucket, Key=self.object_key, Body=body, IfMatch=current["ETag"]
            )
            return True
        except ClientError as error:
            if error.response["Error"]["Code"] in _CONFLICT_CODES:
                return False
            raise

    def _release(self, client, bucket: str, token: str) -> None:  # type: ignore[no-untyped-def]
        try:
            current = json.loads(
                client.get_object(Bucket=bucket, Key=self.object_key)["Body"].read()
            )
        except ClientError:
            return
        if current.get("holder") == token:
            client.delete_object(Bucket=bucket, Key=self.object_key)
