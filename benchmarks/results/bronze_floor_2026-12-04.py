"""The two halves of bronze for one landed day, apart: the producer (each slice read, typed,
checked and turned into Arrow batches, nothing written) and Delta's writer (the accepted rows
written again, as a table, as a stream, by predicate), with the CPU each uses; then whether
the writer overlaps a producer that leaves the CPU (a sleep before each batch).

    # a home with the day landed at full scale and ingested once (bronze_cpu_2026-12-04.py's)
    LAKEHOUSE_PSEUDONYM_KEY=<any> .venv/bin/python benchmarks/results/bronze_floor_2026-12-04.py \\
        <home> bus_gps
"""

import resource
import sys
import tempfile
import time
from datetime import date
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

import pyarrow as pa  # noqa: E402
from deltalake import DeltaTable, write_deltalake  # noqa: E402

from pipelines import ingest  # noqa: E402
from pipelines.lake import Lake  # noqa: E402
from pipelines.settings import LakehouseSettings  # noqa: E402
from pipelines.silver_run import all_sources  # noqa: E402

DAY = date(2020, 3, 2)
home, name = Path(sys.argv[1]), sys.argv[2]
lake = Lake(LakehouseSettings(_env_file=None, home=home))  # type: ignore[call-arg]
contract = next(s for s in all_sources() if s.name == name).contract


def cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def producer() -> None:
    spent: dict[str, list[float]] = {}
    streamed = ingest._streamed_schema(ingest.bronze_schema(contract))
    for f, raw, unterminated in ingest._parse_day(lake, contract, DAY):
        step = ingest.slice_rows(raw.height)
        for offset in range(0, raw.height, step):
            marks = [(time.perf_counter(), cpu())]
            rows = raw.slice(offset, step)
            marks.append((time.perf_counter(), cpu()))
            part = ingest.split_file(
                rows, f, contract, DAY, None, b"a key for timing only", offset, unterminated
            )
            marks.append((time.perf_counter(), cpu()))
            ingest._accepted_batches(part.accepted, f, streamed)
            marks.append((time.perf_counter(), cpu()))
            for label, (w0, c0), (w1, c1) in zip(
                ("read", "split_file", "batches"), marks, marks[1:], strict=False
            ):
                total = spent.setdefault(label, [0.0, 0.0])
                total[0] += w1 - w0
                total[1] += c1 - c0
    for label, (wall, used) in spent.items():
        print(f"  producer {label:10s} wall {wall:5.2f} s  CPU {used:5.2f} s")
    wall = sum(w for w, _ in spent.values())
    used = sum(c for _, c in spent.values())
    print(f"  producer in all     wall {wall:5.2f} s  CPU {used:5.2f} s")


def writer(scratch: Path) -> None:
    rows = lake.read("bronze", contract.table)
    batches = rows.to_batches(max_chunksize=1_000_000)
    uri = str(scratch / "plain")
    write_deltalake(uri, rows, mode="append", partition_by=["landing_date"])
    predicate = f"landing_date = '{DAY.isoformat()}'"

    def timed(label: str, write) -> None:  # type: ignore[no-untyped-def]
        wall, used = time.perf_counter(), cpu()
        write()
        print(
            f"  writer {label:34s} wall {time.perf_counter() - wall:5.2f} s  CPU {cpu() - used:5.2f} s"
        )

    for _ in range(2):
        timed("table, overwrite", lambda: write_deltalake(uri, rows, mode="overwrite"))
        timed(
            "stream, overwrite by predicate",
            lambda: write_deltalake(
                DeltaTable(uri),
                pa.RecordBatchReader.from_batches(rows.schema, batches),
                mode="overwrite",
                predicate=predicate,
            ),
        )

    pulled: list[float] = []

    def slow_source():  # type: ignore[no-untyped-def]
        began = time.perf_counter()
        for batch in rows.to_batches():
            time.sleep(0.3)  # the GIL and the CPU left to the writer
            pulled.append(time.perf_counter() - began)
            yield batch

    wall = time.perf_counter()
    write_deltalake(
        DeltaTable(uri),
        pa.RecordBatchReader.from_batches(rows.schema, slow_source()),
        mode="overwrite",
        predicate=predicate,
    )
    wall = time.perf_counter() - wall
    print(
        f"  overlap: {len(pulled)} batches, the last pulled at {pulled[-1]:.2f} s, "
        f"the write done at {wall:.2f} s"
    )


print(f"{name}, {DAY}:")
producer()
producer()
with tempfile.TemporaryDirectory() as tmp:
    writer(Path(tmp))
