"""The local Dagster instance's SQLite storage, fit for a backfill.

A run over a range of days records a materialisation per asset and day: a year of the graph's
assets is ~18,000 events. Dagster's SQLite event log opens a new engine and connection for every
event and closes it after the commit; in WAL mode each commit syncs the log to disk and each
close of the last connection checkpoints it: 23 ms an event on an idle 2-core machine, 65 ms
with its cores busy, and a year's dbt step spent ~8 of its 9.5 minutes recording them.

`LakehouseSqliteStorage` is Dagster's SQLite storage, the same files under `$DAGSTER_HOME`, with
an event log that keeps one open connection per database (the index and the latest runs') in
each process and commits with `synchronous=NORMAL`: WAL commits no longer wait on the disk, the
log is synced at each checkpoint. An application crash loses nothing committed; a power loss may
lose the last moments of events, never the database. Production runs on Postgres
(`infra/dagster.yaml`) and does not use this.
"""

from __future__ import annotations

import os
import threading
from collections import OrderedDict
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import sqlalchemy as db
from dagster._core.storage.event_log.base import EventHandlerFn
from dagster._core.storage.event_log.sqlite.sqlite_event_log import (
    SqliteEventLogStorage,
    SqliteEventLogStorageWatchdog,
)
from dagster._core.storage.sqlite import SQLITE_BUSY_TIMEOUT_SECONDS
from dagster._core.storage.sqlite_storage import DagsterSqliteStorage, _event_logs_directory
from dagster._serdes import ConfigurableClassData
from dagster._utils.concurrency import ConcurrencyClaimStatus
from sqlalchemy.engine import Connection, Engine
from watchdog.events import FileSystemEvent
from watchdog.observers import Observer

# Databases kept open per process: the index and the most recent runs' (a webserver or daemon
# reads many runs; each one left open would hold a file handle).
OPEN_DATABASES = 8
CLAIM_RETRY_S = 1.0  # between two claims of a step waiting for a pool's slot


def _tune(connection: Any, _record: object) -> None:
    cursor = connection.cursor()
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.close()


class LakehouseSqliteEventLogStorage(SqliteEventLogStorage):
    """Dagster's SQLite event log with connections kept open and WAL commits not synced."""

    def __init__(self, base_dir: str, inst_data: ConfigurableClassData | None = None) -> None:
        # Before Dagster's constructor, which opens the index through `_connect`.
        self._engines: OrderedDict[tuple[int, str], Engine] = OrderedDict()
        self._engines_lock = threading.Lock()
        super().__init__(base_dir, inst_data=inst_data)

    def _engine(self, shard: str) -> Engine:
        # By process: a forked step process must not share its parent's SQLite connections.
        key = (os.getpid(), shard)
        with self._engines_lock:
            engine = self._engines.get(key)
            if engine is not None:
                self._engines.move_to_end(key)
                return engine
            engine = db.create_engine(
                self.conn_string_for_shard(shard),
                poolclass=db.pool.QueuePool,
                pool_size=1,
                max_overflow=4,
                # Connections pass between threads; `_db_lock` lets one use them at a time.
                connect_args={"timeout": SQLITE_BUSY_TIMEOUT_SECONDS, "check_same_thread": False},
            )
            db.event.listen(engine, "connect", _tune)
            self._engines[key] = engine
            while len(self._engines) > OPEN_DATABASES:
                (pid, _), oldest = self._engines.popitem(last=False)
                if pid == os.getpid():
                    oldest.dispose()
            return engine

    @contextmanager
    def _connect(self, shard: str) -> Iterator[Connection]:  # type: ignore[override]
        with self._db_lock:
            engine = self._engine(shard)
            if shard not in self._initialized_dbs:
                self._initdb(engine)
                self._initialized_dbs.add(shard)
            with engine.connect() as conn, conn.begin():
                yield conn

    def claim_concurrency_slot(
        self, concurrency_key: str, run_id: str, step_key: str, priority: int | None = None
    ) -> ConcurrencyClaimStatus:
        """As Dagster's, and a waiting step is first given a slot that lies free.

        Dagster queues a step (is a slot free? then queue it assigned, else unassigned) and frees
        a slot (drop the finished step, assign the next queued one) in separate transactions. A
        step queued just as the last holder of its pool's slot finished is checked while the
        slot is still held and inserted after the holder looked for a step to assign: it stays
        unassigned with the slot free, and its run waits forever (seen: a backfill beside the
        day's run, hung after the day's run ended). Every retry of a waiting claim (Dagster's
        executor retries every few seconds) first assigns free slots to the queue, in its order.

        A blocked claim is retried after `CLAIM_RETRY_S`, where Dagster waits 1 s longer
        each time, up to 15 s (a run that waited three minutes for the warehouse would start
        up to 15 s after it was freed); a retry costs a few milliseconds here.
        """
        if (
            self.has_pending_step(concurrency_key, run_id, step_key)
            and not self.can_claim_from_pending(concurrency_key, run_id, step_key)
            and self.has_unassigned_slots(concurrency_key)
        ):
            self.assign_pending_steps([concurrency_key])
        status = super().claim_concurrency_slot(concurrency_key, run_id, step_key, priority)
        return status if status.is_claimed else status.with_sleep_interval(CLAIM_RETRY_S)

    def watch(self, run_id: str, cursor: str | None, callback: EventHandlerFn) -> None:
        """As Dagster's, for a run's live log in the UI, woken by its write-ahead log too."""
        if not self._obs:
            self._obs = Observer()
            self._obs.start()
        watchdog = _RunLogWatchdog(self, run_id, callback, cursor)
        self._watchers[run_id][callback] = (
            watchdog,
            self._obs.schedule(watchdog, self._base_dir, recursive=True),
        )

    def dispose(self) -> None:
        with self._engines_lock:
            for (pid, _), engine in self._engines.items():
                if pid == os.getpid():
                    engine.dispose()
            self._engines.clear()
        super().dispose()


class _RunLogWatchdog(SqliteEventLogStorageWatchdog):
    """Dagster's watch on a run's database, which reads new events when the file changes. With
    its connection held open, a commit lands in `<run>.db-wal` and the database file itself
    changes only at a checkpoint: the log file wakes the watch as well."""

    def __init__(
        self,
        storage: LakehouseSqliteEventLogStorage,
        run_id: str,
        callback: EventHandlerFn,
        cursor: str | None,
    ) -> None:
        super().__init__(storage, run_id, callback, cursor)
        self._patterns = [self._log_path, f"{self._log_path}-wal"]

    def on_modified(self, event: FileSystemEvent) -> None:
        self._process_log()


class LakehouseSqliteStorage(DagsterSqliteStorage):
    """Dagster's SQLite storage (runs, schedules, event log under `base_dir`, as by default)
    with the event log above. In `dagster.yaml`: `storage: {custom: {module:
    orchestration.instance_storage, class: LakehouseSqliteStorage, config: {base_dir: ...}}}`."""

    def __init__(self, base_dir: str, inst_data: ConfigurableClassData | None = None) -> None:
        super().__init__(base_dir, inst_data=inst_data)
        self._event_log_storage.dispose()
        self._event_log_storage = LakehouseSqliteEventLogStorage(_event_logs_directory(base_dir))

    @classmethod
    def from_config_value(  # type: ignore[override]
        cls, inst_data: ConfigurableClassData, config_value: dict[str, str]
    ) -> LakehouseSqliteStorage:
        return cls.from_local(inst_data=inst_data, **config_value)
