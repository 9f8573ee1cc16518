"""`Lake.replace_days` against another writer committing to the same table between its read of
the table and its commit (Delta's optimistic concurrency): the day is still replaced, once."""

from __future__ import annotations

from datetime import date
from typing import Any

import pyarrow as pa
import pytest
from deltalake import write_deltalake
from deltalake.exceptions import CommitFailedError

from pipelines.lake import Lake, storage
from pipelines.settings import LakehouseSettings

DAY = date(2020, 3, 2)


def _rows(source: str, values: list[int]) -> pa.Table:
    return pa.table(
        {
            "source_table": [source] * len(values),
            "value": values,
            "landing_date": pa.array([DAY] * len(values), pa.date32()),
        }
    )


def _replace(lake: Lake, rows: pa.Table | pa.RecordBatchReader, source: str) -> int:
    return lake.replace_days(
        "bronze",
        "_quarantine",
        rows,
        date_column="landing_date",
        days=[DAY],
        partition_by=["source_table", "landing_date"],
        within={"source_table": source},
    )


@pytest.fixture
def racing_lake(local_settings: LakehouseSettings, monkeypatch: pytest.MonkeyPatch) -> Lake:
    """A lake whose next write to `_quarantine` finds that another writer has just added rows
    of the same source and day (after the table was read, before the commit)."""
    lake = Lake(local_settings)
    lake.ensure_ready()
    _replace(lake, _rows("ambulance", [1, 2]), "ambulance")
    real_write = storage.write_deltalake
    raced: list[bool] = []

    def write_after_another_writer(table: Any, rows: Any, **options: Any) -> None:
        if not raced:
            raced.append(True)
            write_deltalake(
                lake.uri("bronze", "_quarantine"), _rows("ambulance", [9]), mode="append"
            )
        real_write(table, rows, **options)

    monkeypatch.setattr(storage, "write_deltalake", write_after_another_writer)
    return lake


def test_a_day_replaced_while_another_writer_commits_is_written_again_on_top(
    racing_lake: Lake,
) -> None:
    # Delta refuses the first commit (the other writer's rows match the replaced day); the
    # rows are in memory, so the replace is made again on the table as it now is.
    version = _replace(racing_lake, _rows("ambulance", [3, 4, 5]), "ambulance")
    table = racing_lake.read("bronze", "_quarantine")
    assert sorted(table["value"].to_pylist()) == [3, 4, 5]  # the day as replaced, once
    # v0 the first rows, v1 the other writer's, v2 this replace (the refused try left none)
    assert version == racing_lake.delta_table("bronze", "_quarantine").version() == 2


def test_a_stream_of_rows_cannot_be_written_again_and_the_conflict_is_raised(
    racing_lake: Lake,
) -> None:
    rows = _rows("ambulance", [3, 4, 5])
    stream = pa.RecordBatchReader.from_batches(rows.schema, rows.to_batches())
    with pytest.raises(CommitFailedError):
        _replace(racing_lake, stream, "ambulance")
    # Nothing of the refused commit is visible: the first rows and the other writer's.
    assert sorted(racing_lake.read("bronze", "_quarantine")["value"].to_pylist()) == [1, 2, 9]
