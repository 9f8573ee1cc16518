"""The lake: Delta tables and landing files on the local disk or on MinIO, through one interface."""

from pipelines.lake.storage import Lake

__all__ = ["Lake"]
