"""Table maintenance: compaction (OPTIMIZE) and VACUUM within a time-travel window, and restore.

Daily partition replaces leave many small files and, with every replace, files no version
after it reads. `maintain` compacts each day partition's small files into larger ones and then
vacuums files that left the table more than `LAKEHOUSE_TIME_TRAVEL_DAYS` ago (default 7): any
version of the last week can still be read (`Lake.delta_table(...).load_as_version`) or
restored (`restore`), older ones can not. Works on the local lake and on MinIO (delta-rs).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from pipelines.lake.storage import Lake

MAINTAINED_LAYERS = ("bronze", "silver", "gold")


@dataclass(frozen=True)
class MaintenanceResult:
    """What one table's maintenance did."""

    layer: str
    table: str
    files_before: int
    files_after: int
    files_vacuumed: int
    version: int

    @property
    def name(self) -> str:
        return f"{self.layer}/{self.table}"


def delta_tables(lake: Lake, layers: tuple[str, ...] = MAINTAINED_LAYERS) -> list[tuple[str, str]]:
    """(layer, table) of every Delta table in the lake (a folder with a `_delta_log`)."""
    found = []
    for layer in layers:
        if lake.settings.is_s3:
            prefix = lake.uri(layer, "").removeprefix(f"s3://{lake.settings.bucket}/")
            objects = lake.minio_client().list_objects(lake.settings.bucket, prefix=prefix)
            names = sorted(
                o.object_name.removeprefix(prefix).strip("/") for o in objects if o.is_dir
            )
        else:
            folder = Path(lake.uri(layer, ""))
            names = (
                sorted(p.name for p in folder.iterdir() if p.is_dir()) if folder.exists() else []
            )
        found += [(layer, n) for n in names if lake.table_exists(layer, n)]
    return found


def maintain(lake: Lake, layer: str, table: str, keep_days: int | None = None) -> MaintenanceResult:
    """Compact the table's small files, then vacuum what left it more than `keep_days` ago
    (default: the settings' time-travel window)."""
    keep_days = lake.settings.time_travel_days if keep_days is None else keep_days
    delta = lake.delta_table(layer, table)
    files_before = len(delta.file_uris())
    delta.optimize.compact()
    delta = lake.delta_table(layer, table)
    vacuumed = _vacuum(lake, layer, table, keep_days)
    delta = lake.delta_table(layer, table)
    return MaintenanceResult(
        layer, table, files_before, len(delta.file_uris()), len(vacuumed), delta.version()
    )


def _vacuum(lake: Lake, layer: str, table: str, keep_days: int) -> list[str]:
    """VACUUM: delete the files that left the table more than `keep_days` ago. The window is
    the platform's setting, not delta-rs's 7-day default guard. On MinIO the files delta-rs
    lists are deleted with the minio SDK: object_store's bulk delete cannot parse MinIO's
    DeleteObjects reply (`missing field Key`), the same incompatibility RisingWave hit
    (risingwavelabs/risingwave#20416)."""
    delta = lake.delta_table(layer, table)
    hours = keep_days * 24
    if not lake.settings.is_s3:
        return delta.vacuum(retention_hours=hours, dry_run=False, enforce_retention_duration=False)
    files = delta.vacuum(retention_hours=hours, dry_run=True, enforce_retention_duration=False)
    client, bucket = lake.minio_client(), lake.settings.bucket
    prefix = lake.uri(layer, table).removeprefix(f"s3://{bucket}/")
    for name in files:
        key = name.removeprefix(f"s3://{bucket}/")
        client.remove_object(bucket, key if key.startswith(prefix) else f"{prefix}/{key}")
    return files


def restore(lake: Lake, layer: str, table: str, version: int) -> int:
    """Make an earlier version the table's current state (a new commit); returns its version.
    The version must still be inside the time-travel window (its files not vacuumed)."""
    lake.delta_table(layer, table).restore(version)
    return lake.delta_table(layer, table).version()
