"""Where a single-node silver job spends its time and memory: every statement it sends to DuckDB
and every Delta write, with its wall seconds and the process's peak resident set while it ran.

    .venv/bin/python benchmarks/profile_silver.py --home HOME --source bus_gps [--day 2020-03-02]
                                                   [--land SCALE]

HOME is a lakehouse home whose bronze (and the silver the job reads, e.g. the GTFS feed for bus
GPS) holds the day; `--land SCALE` first lands and ingests the source's day at that scale into
HOME (a fresh folder is fine), as the performance suite does. The job writes its silver tables
in HOME. Prints one line per statement, then the job's total.
"""

from __future__ import annotations

import argparse
import os
import sys
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import date
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from pipelines import duckdb_io  # noqa: E402
from pipelines.lake import Lake  # noqa: E402
from pipelines.settings import LakehouseSettings  # noqa: E402


class Peak:
    """This process's resident set, sampled every 50 ms: `peak` since the last `reset`,
    `high` since the start."""

    def __init__(self) -> None:
        self.peak = self.high = self.now()
        threading.Thread(target=self._sample, daemon=True).start()

    @staticmethod
    def now() -> int:
        with open("/proc/self/statm") as statm:
            return int(statm.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")

    def _sample(self) -> None:
        while True:
            now = self.now()
            self.peak, self.high = max(self.peak, now), max(self.high, now)
            time.sleep(0.05)

    def reset(self) -> None:
        self.peak = self.now()


PEAK: Peak | None = None


def timed(label: str, fn: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
    assert PEAK is not None
    PEAK.reset()
    began = time.perf_counter()
    value = fn(*args, **kwargs)
    print(
        f"{time.perf_counter() - began:7.1f} s  peak {PEAK.peak / 2**30:5.2f} GiB  "
        f"after {PEAK.now() / 2**30:5.2f} GiB  {label[:90]}",
        flush=True,
    )
    return value


class Profiled:
    """A DuckDB connection whose `execute` calls are timed."""

    def __init__(self, con: Any) -> None:
        self._con = con

    def execute(self, query: str, *args: Any, **kwargs: Any) -> Any:
        return timed(" ".join(query.split()), self._con.execute, query, *args, **kwargs)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._con, name)


def main() -> None:
    global PEAK
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawTextHelpFormatter
    )
    parser.add_argument("--home", type=Path, required=True)
    parser.add_argument("--source", required=True, help="a source name, e.g. bus_gps")
    parser.add_argument("--day", type=date.fromisoformat, default=date(2020, 3, 2))
    parser.add_argument("--land", type=float, help="land and ingest the day at this scale first")
    args = parser.parse_args()
    os.environ.setdefault("LAKEHOUSE_PSEUDONYM_KEY", "benchmark-key-not-a-secret")

    from pipelines.ingest import ingest_day
    from pipelines.silver_run import all_sources, land

    lake = Lake(LakehouseSettings(_env_file=None, home=args.home.resolve()))  # type: ignore[call-arg]
    lake.ensure_ready()
    source = next((s for s in all_sources() if s.name == args.source), None)
    if source is None or source.build_silver_duckdb is None:
        raise SystemExit(f"{args.source}: no such source with a DuckDB silver job")
    PEAK = Peak()
    if args.land is not None:
        rows = timed(
            f"land {args.source} x{args.land}", land, lake, source, args.day, 42, args.land
        )
        timed(f"bronze ({rows:,} rows landed)", ingest_day, lake, source.contract, args.day)

    connect = duckdb_io.connect

    @contextmanager
    def profiled(lake: Lake) -> Iterator[Profiled]:
        with connect(lake) as con:
            yield Profiled(con)

    replace_days = Lake.replace_days

    def write(self: Lake, layer: str, name: str, *a: Any, **k: Any) -> int:
        return int(timed(f"Delta write {layer}/{name}", replace_days, self, layer, name, *a, **k))

    duckdb_io.connect = profiled  # type: ignore[assignment]
    Lake.replace_days = write  # type: ignore[method-assign]
    began = time.perf_counter()
    stats = source.build_silver_duckdb(lake, [args.day])
    print(
        f"{time.perf_counter() - began:7.1f} s  peak {PEAK.high / 2**30:5.2f} GiB  "
        f"(the process's, from its start)  {args.source} silver job, in all\n{stats}"
    )


if __name__ == "__main__":
    main()
