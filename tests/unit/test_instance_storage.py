"""The local Dagster instance's storage: a run over a range of days records every day of every
asset, in Dagster's own SQLite files, readable by Dagster's default storage and by another
process, with its open connections bounded."""

from __future__ import annotations

import logging
import multiprocessing
import os
import time
from pathlib import Path

import dagster as dg
import pytest
from dagster._core.events.log import EventLogEntry
from dagster._core.storage.event_log.sqlite.sqlite_event_log import INDEX_SHARD_NAME
from dagster._core.storage.tags import (
    ASSET_PARTITION_RANGE_END_TAG,
    ASSET_PARTITION_RANGE_START_TAG,
)

from orchestration import instance_storage
from orchestration.cli import dagster_yaml
from orchestration.instance_storage import LakehouseSqliteEventLogStorage

DAYS = dg.DailyPartitionsDefinition(start_date="2020-03-01", end_date="2020-04-01")
SPECS = [dg.AssetSpec("ambulance_calls_daily"), dg.AssetSpec("pharmacy_demand_daily")]


@dg.multi_asset(specs=SPECS, partitions_def=DAYS, backfill_policy=dg.BackfillPolicy.single_run())
def city_marts() -> object:
    for spec in SPECS:
        yield dg.MaterializeResult(asset_key=spec.key)


def _run(instance: dg.DagsterInstance, first: str, last: str) -> None:
    result = dg.materialize(
        [city_marts],
        instance=instance,
        tags={ASSET_PARTITION_RANGE_START_TAG: first, ASSET_PARTITION_RANGE_END_TAG: last},
    )
    assert result.success


def _run_in_fork(instance: dg.DagsterInstance, first: str, last: str) -> None:
    """In a forked process: the run, through connections this process opened itself."""
    _run(instance, first, last)
    storage = instance.event_log_storage
    assert isinstance(storage, LakehouseSqliteEventLogStorage)
    assert (os.getpid(), INDEX_SHARD_NAME) in storage._engines


def _materialised(home: Path) -> dict[str, set[str]]:
    with dg.DagsterInstance.from_config(str(home)) as instance:
        return {
            spec.key.to_user_string(): set(instance.get_materialized_partitions(spec.key))
            for spec in SPECS
        }


def _days(first: int, last: int) -> set[str]:
    return {f"2020-03-{day:02d}" for day in range(first, last + 1)}


@pytest.fixture
def dagster_home(tmp_path: Path) -> Path:
    """An instance folder as `lakehouse` writes it; opened from its file alone (no
    `DAGSTER_HOME`), as `dagster job execute` or a test opens another home."""
    home = tmp_path / "dagster"
    home.mkdir()
    (home / "dagster.yaml").write_text(dagster_yaml(home))
    return home


def test_a_range_run_records_every_day_in_files_dagsters_default_storage_reads(
    dagster_home: Path, tmp_path: Path
) -> None:
    with dg.DagsterInstance.from_config(str(dagster_home)) as instance:
        assert isinstance(instance.event_log_storage, LakehouseSqliteEventLogStorage)
        _run(instance, "2020-03-01", "2020-03-10")
        (run,) = instance.get_runs()
        materialisations = instance.get_records_for_run(
            run.run_id, of_type=dg.DagsterEventType.ASSET_MATERIALIZATION, limit=1000
        ).records
        assert len(materialisations) == 2 * 10

    assert _materialised(dagster_home) == {
        spec.key.to_user_string(): _days(1, 10) for spec in SPECS
    }
    # The same files opened by Dagster's own SQLite storage (a home made before this storage).
    (dagster_home / "dagster.yaml").write_text("telemetry:\n  enabled: false\n")
    with dg.DagsterInstance.from_config(str(dagster_home)) as instance:
        assert type(instance.event_log_storage).__name__ == "SqliteEventLogStorage"
        assert set(instance.get_materialized_partitions(SPECS[0].key)) == _days(1, 10)
        _run(instance, "2020-03-11", "2020-03-12")
    (dagster_home / "dagster.yaml").write_text(dagster_yaml(dagster_home))
    assert _materialised(dagster_home)["ambulance_calls_daily"] == _days(1, 12)


def test_runs_in_forked_processes_beside_an_open_instance_all_land(dagster_home: Path) -> None:
    """Processes forked from one that holds open connections, using the instance they
    inherit, open connections of their own."""
    with dg.DagsterInstance.from_config(str(dagster_home)) as instance:
        _run(instance, "2020-03-01", "2020-03-05")
        fork = multiprocessing.get_context("fork")
        children = [
            fork.Process(target=_run_in_fork, args=(instance, first, last))
            for first, last in (("2020-03-06", "2020-03-15"), ("2020-03-16", "2020-03-25"))
        ]
        for child in children:
            child.start()
        _run(instance, "2020-03-26", "2020-03-31")
        for child in children:
            child.join(timeout=300)
            assert child.exitcode == 0
        assert len(instance.get_runs()) == 4
    assert _materialised(dagster_home) == {
        spec.key.to_user_string(): _days(1, 31) for spec in SPECS
    }


def test_more_runs_than_open_databases_close_the_oldest_and_lose_nothing(
    dagster_home: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(instance_storage, "OPEN_DATABASES", 2)
    with dg.DagsterInstance.from_config(str(dagster_home)) as instance:
        for day in range(1, 6):
            _run(instance, f"2020-03-{day:02d}", f"2020-03-{day:02d}")
        storage = instance.event_log_storage
        assert isinstance(storage, LakehouseSqliteEventLogStorage)
        assert len(storage._engines) == 2  # the index and the latest run's
        for run in instance.get_runs():  # an evicted run's database opens again
            assert len(instance.all_logs(run.run_id, of_type=dg.DagsterEventType.RUN_SUCCESS)) == 1
    assert _materialised(dagster_home)["pharmacy_demand_daily"] == _days(1, 5)


def test_a_watched_run_sees_each_event_as_it_is_committed(dagster_home: Path) -> None:
    """The UI follows a running run through a watch on its database: each event must wake it,
    though the connection that wrote it stays open (the event sits in the write-ahead log)."""
    seen: list[str] = []
    with dg.DagsterInstance.from_config(str(dagster_home)) as instance:
        storage = instance.event_log_storage
        run_id = "0f1c2e3d-0000-4000-8000-000000000001"
        storage.store_event(_message(run_id, "the run's database exists"))

        def follow(entry: EventLogEntry, _cursor: str) -> None:
            seen.append(entry.user_message)

        storage.watch(run_id, None, follow)
        for n in range(3):
            storage.store_event(_message(run_id, f"step {n}"))
            deadline = time.monotonic() + 10
            while f"step {n}" not in seen and time.monotonic() < deadline:
                time.sleep(0.05)
            assert f"step {n}" in seen, seen
        storage.end_watch(run_id, follow)


def _message(run_id: str, text: str) -> EventLogEntry:
    return EventLogEntry(
        error_info=None,
        level=logging.INFO,
        user_message=text,
        run_id=run_id,
        timestamp=time.time(),
    )


@pytest.mark.parametrize("storage_class", ["dagster", "lakehouse"])
def test_a_step_queued_as_the_slot_was_freed_gets_the_slot(
    dagster_home: Path, storage_class: str
) -> None:
    """Two runs share a pool of one slot. The second registers its step while the first still
    holds the slot, and inserts it into the queue only after the first freed the slot and found
    nobody to give it to (Dagster's check and insert are separate transactions). Dagster's own
    storage leaves that step waiting forever with the slot free; ours gives it the slot on the
    step's next claim."""
    from dagster._core.storage.event_log.sqlite.sqlite_event_log import SqliteEventLogStorage

    cls = LakehouseSqliteEventLogStorage if storage_class == "lakehouse" else SqliteEventLogStorage
    storage = cls(str(dagster_home / "history"))
    pool = "lake_telecom_presence"
    storage.set_concurrency_slots(pool, 1)
    assert storage.claim_concurrency_slot(pool, "day-run", "bronze").is_claimed
    # The backfill's first claim, cut where the other run's free falls between its two parts.
    assert not storage.has_unassigned_slots(pool)
    storage.free_concurrency_slot_for_step("day-run", "bronze")
    storage.add_pending_step(pool, "backfill", "bronze", priority=0, should_assign=False)

    retries = [storage.claim_concurrency_slot(pool, "backfill", "bronze") for _ in range(3)]
    if storage_class == "dagster":  # the bug the override is for, in the pinned Dagster
        assert not any(r.is_claimed for r in retries)
    else:
        assert retries[0].is_claimed
        info = storage.get_concurrency_info(pool)
        assert [(s.run_id, s.step_key) for s in info.claimed_slots] == [("backfill", "bronze")]
    storage.dispose()
