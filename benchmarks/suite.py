"""The performance suite: each stage of the lakehouse beside the fastest plain way this machine
does the same work, measured in the same run on the same data, with peak memory per stage.

    .venv/bin/python benchmarks/suite.py [--scale 1.0] [--growth 1,2,4] [--repeats 3]
                   [--stages bronze,silver,embeddings,daily,growth,daily_growth]
                   [--sources ambulance,bus_gps,onay_taps]   (a part: BENCHMARKS.md left alone)

Stages (figures are medians of --repeats runs; ratios are the headline):
- bronze: one simulated day of every source at --scale, landed once, then taken through the
  bronze boundary (`ingest_day`: parse, contract, quarantine, pseudonymisation, Delta write)
  vs. a plain `deltalake` write of the same accepted Arrow rows (the practical floor);
- growth: bronze, then silver on the single-node engine, of the high-volume sources at each
  --growth multiple of --scale (a lake per multiple; each job in a fresh process): seconds
  per million rows (flat = linear) and peak memory;
- daily_growth: the daily run below at each --growth multiple of --scale, each in a fresh
  home (not in the default stages: about 25 minutes at 1, 2 and 4 times a full-scale day);
- silver: Spark's fixed start-up, then every source's Spark silver job on the day, and where
  the job has a single-node version (`Source.build_silver_duckdb`, the embedded default's
  engine), the same job in DuckDB, its tables checked equal to Spark's;
- daily: the README's run command for the day (`lakehouse run`, every source, bronze to marts
  and the ML jobs, in Dagster) in a fresh home: wall time, its whole process tree's peak
  memory, and the run's step timings (orchestration overhead = run time not spent in steps);
- embeddings: the talent-matching store update (`update_embeddings`, on ONNX Runtime) vs. the
  model's raw encode on the same texts (PyTorch's `SentenceTransformer.encode`, and the ONNX
  encoder alone), and top-k matching latency over 100,000 job vectors.

Writes benchmarks/results/suite.json and replaces the suite's block in BENCHMARKS.md.
Peak memory: for bronze and the DuckDB silver jobs, the peak resident set of the fresh process
that ran them; for Spark silver and embeddings, the largest resident set of this process and
its children (the Spark JVM) sampled every 50 ms during the stage (Linux /proc).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import re
import shutil
import statistics
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from datetime import date
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import numpy as np  # noqa: E402
import polars as pl  # noqa: E402
import pyarrow as pa  # noqa: E402
from deltalake import write_deltalake  # noqa: E402

from pipelines.ingest import ingest_day  # noqa: E402
from pipelines.lake import Lake  # noqa: E402
from pipelines.settings import LakehouseSettings  # noqa: E402
from pipelines.silver_run import all_sources, land, silver_snapshot, snapshot_differences  # noqa: E402
from pipelines.sources import Source  # noqa: E402

SEED = 42
LOCATION_KEYS = (
    "LAKEHOUSE_HOME",
    "LAKEHOUSE_LAKE_URI",
    "LAKEHOUSE_WAREHOUSE_PATH",
    "LAKEHOUSE_MLFLOW_TRACKING_URI",
)
DAY = date(2020, 3, 2)
GROWTH_SOURCES = ("fiscal", "bus_gps", "onay_taps")  # telecom: one row per cell-hour, capped
RESULTS = ROOT / "benchmarks" / "results" / "suite.json"
BENCHMARKS_MD = ROOT / "BENCHMARKS.md"
BEGIN, END = "<!-- suite:begin -->", "<!-- suite:end -->"


# -- measuring ----------------------------------------------------------------------------------
def _tree_rss(root: int) -> int:
    """Resident bytes of `root` and all its descendants (Linux /proc)."""
    parents: dict[int, int] = {}
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                with open(f"/proc/{entry}/stat") as stat:
                    fields = stat.read().rsplit(")", 1)[1].split()
                parents[int(entry)] = int(fields[1])
            except (OSError, IndexError):
                continue
    tree, frontier = {root}, [root]
    while frontier:
        parent = frontier.pop()
        children = [pid for pid, ppid in parents.items() if ppid == parent and pid not in tree]
        tree.update(children)
        frontier.extend(children)
    total = 0
    for pid in tree:
        try:
            with open(f"/proc/{pid}/statm") as statm:
                total += int(statm.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")
        except OSError:
            continue
    return total


class PeakMemory:
    """Samples this process tree's resident set while the block runs; `.peak_gib` after, and
    `.samples`, (epoch seconds, bytes) of every sample, to tell which part of the block peaked."""

    def __init__(self, interval_s: float = 0.05, root: int | None = None) -> None:
        self.interval_s = interval_s
        self.root = root or os.getpid()
        self.peak = 0
        self.samples: list[tuple[float, int]] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._sample, daemon=True)

    def _sample(self) -> None:
        while not self._stop.is_set():
            rss = _tree_rss(self.root)
            self.samples.append((time.time(), rss))
            self.peak = max(self.peak, rss)
            self._stop.wait(self.interval_s)

    def peak_between(self, start: float, end: float) -> float:
        """The largest sample (GiB) from `start` to `end` (epoch seconds); 0 if none."""
        inside = [rss for at, rss in self.samples if start <= at <= end]
        return round(max(inside, default=0) / 2**30, 2)

    def __enter__(self) -> PeakMemory:
        self.peak = _tree_rss(self.root)
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()
        self.peak = max(self.peak, _tree_rss(self.root))

    @property
    def peak_gib(self) -> float:
        return round(self.peak / 2**30, 2)


def median_seconds(fn: Callable[[], Any], repeats: int) -> tuple[float, Any]:
    """Median wall seconds of `repeats` calls of `fn`, and the last call's value."""
    times, value = [], None
    for _ in range(repeats):
        began = time.perf_counter()
        value = fn()
        times.append(time.perf_counter() - began)
    return round(statistics.median(times), 3), value


def log(message: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {message}", flush=True)


# -- bronze -------------------------------------------------------------------------------------
# What every child imports, loaded once by the fork server the children are forked from.
CHILD_PRELOAD = ["numpy", "polars", "pyarrow", "deltalake", "duckdb", "pipelines.silver_run"]


def in_child(fn: Callable[..., Any], *args: Any) -> Any:
    """`fn(*args)` in a fresh Python process: its memory peak is its own.

    Forked from a fork server, started once, that has imported `CHILD_PRELOAD`: a child starts
    in well under a second instead of the ~6 s a spawned one spends importing pandera, polars
    and the rest. (It still runs this script's top level as `__mp_main__`, whose imports are
    then there already; Python 3.11's server does not preload `__main__` itself.) The server
    never ran a job, so a child holds no thread, connection or JVM of this process; its peak
    counts the imported pages it touches (~0.25 GiB at small volumes).
    """
    import multiprocessing
    from concurrent.futures import ProcessPoolExecutor

    context = multiprocessing.get_context("forkserver")
    context.set_forkserver_preload(CHILD_PRELOAD)  # no effect once the server runs
    with ProcessPoolExecutor(1, mp_context=context) as pool:
        return pool.submit(fn, *args).result()


def _settings(home: Path) -> LakehouseSettings:
    return LakehouseSettings(_env_file=None, home=home)  # type: ignore[call-arg]


def land_child(home: Path, name: str, scale: float) -> int:
    lake = Lake(_settings(home))
    source = next(s for s in all_sources() if s.name == name)
    return land(lake, source, DAY, SEED, scale)


def _own_peak_gib() -> float:
    """This process's peak resident set (VmHWM, imports included: ~0.2 GiB). Not ru_maxrss: on
    Linux a spawned child inherits its parent's figure through fork and exec."""
    with open("/proc/self/status") as status:
        kib = next(int(line.split()[1]) for line in status if line.startswith("VmHWM:"))
    return round(kib / 2**20, 2)


def ingest_child(home: Path, name: str, repeats: int) -> dict[str, Any]:
    """Bronze ingest of the day `repeats` times in this (fresh) process; its peak memory."""
    lake = Lake(_settings(home))
    source = next(s for s in all_sources() if s.name == name)
    seconds, report = median_seconds(lambda: ingest_day(lake, source.contract, DAY), repeats)
    return {
        "rows_in": report.rows_in,
        "rows_accepted": report.rows_accepted,
        "rows_quarantined": report.rows_quarantined,
        "bronze_s": seconds,
        "peak_gib": _own_peak_gib(),
    }


def bronze_stage(lake: Lake, sources: tuple[Source, ...], scale: float, repeats: int) -> dict:  # type: ignore[type-arg]
    """Each source's bronze ingest of the day vs. a plain `deltalake` write of what it accepted;
    landing and ingest each in a fresh process, so the ingest's peak memory is its own."""
    results = {}
    home = lake.settings.home
    for source in sources:
        landed = in_child(land_child, home, source.name, scale)
        ingest = in_child(ingest_child, home, source.name, repeats)
        accepted = lake.read("bronze", source.contract.table)
        plain_table = f"_plain_{source.contract.table}"
        uri = lake.uri("bronze", plain_table)
        partition = source.contract.partition_column

        def plain(
            a: pa.Table = accepted, u: str = uri, p: str = partition, t: str = plain_table
        ) -> None:
            # The same kind of commit as the pipeline's: replace the day's partition.
            mode = "overwrite" if lake.table_exists("bronze", t) else "append"
            write_deltalake(
                u,
                a,
                mode=mode,
                partition_by=[p],
                predicate=f"{p} = '{DAY.isoformat()}'" if mode == "overwrite" else None,
                storage_options=lake.storage_options,
            )

        plain_s, _ = median_seconds(plain, repeats)
        del accepted
        results[source.name] = {
            "rows_landed": landed,
            "rows_accepted": ingest["rows_accepted"],
            "rows_quarantined": ingest["rows_quarantined"],
            "bronze_s": ingest["bronze_s"],
            "plain_deltalake_s": plain_s,
            "ratio": round(ingest["bronze_s"] / max(plain_s, 1e-3), 2),
            "bronze_peak_gib": ingest["peak_gib"],
        }
        log(f"bronze {source.name}: {results[source.name]}")
    return results


def growth_stage(home: Path, sources: tuple[Source, ...], scales: list[float]) -> dict:  # type: ignore[type-arg]
    """Bronze, then silver (the single-node engine), of the heavy sources at each volume
    multiple, in a lake per multiple; each job once, in a fresh process (its own peak)."""
    results: dict[str, dict[str, dict[str, float]]] = {}
    for scale in scales:
        lake_home = home / f"growth-{scale}"
        Lake(_settings(lake_home)).ensure_ready()
        # In the sources' order: bus GPS's silver is built before the card taps' that use it.
        for source in (s for s in sources if s.name in GROWTH_SOURCES):
            landed = in_child(land_child, lake_home, source.name, scale)
            ingest = in_child(ingest_child, lake_home, source.name, 1)
            silver = in_child(silver_duckdb_child, lake_home, source.name, 1)
            results.setdefault(source.name, {})[str(scale)] = {
                "rows_landed": landed,
                "bronze_s": ingest["bronze_s"],
                "s_per_million_rows": round(ingest["bronze_s"] / landed * 1e6, 3),
                "peak_gib": ingest["peak_gib"],
                "silver_s": silver["seconds"],
                "silver_s_per_million_rows": round(silver["seconds"] / landed * 1e6, 3),
                "silver_peak_gib": silver["peak_gib"],
            }
            log(f"growth {source.name} x{scale}: {results[source.name][str(scale)]}")
        shutil.rmtree(lake_home)  # a 4x day of bus GPS is gigabytes of landing CSV
    return results


# -- silver -------------------------------------------------------------------------------------
def silver_stage(lake: Lake, sources: tuple[Source, ...], repeats: int) -> dict:  # type: ignore[type-arg]
    """Spark start-up, then each silver job on Spark (median) and, where it has one, on the
    single-node DuckDB engine, whose tables must equal Spark's."""
    from pipelines.spark import spark_session

    with PeakMemory() as memory:
        began = time.perf_counter()
        spark = spark_session(lake.settings, app_name="benchmark-suite")
        spark.range(1).collect()
        startup = round(time.perf_counter() - began, 3)
    results: dict[str, Any] = {
        "spark_startup_s": startup,
        "spark_startup_peak_gib": memory.peak_gib,
    }
    log(f"spark start-up {startup} s")
    # The first job of a session also pays the JIT warm-up of the Delta write path: run one
    # small job first so no source is charged for it (with `--sources`, the first of them).
    warm = next((s for s in sources if s.name == "ucs_courses"), sources[0])
    warm.build_silver(spark, lake, [DAY])
    for source in sources:
        with PeakMemory() as memory:
            seconds, stats = median_seconds(
                lambda s=source: s.build_silver(spark, lake, [DAY]), repeats
            )
        entry: dict[str, Any] = {
            "spark_s": seconds,
            "bronze_rows": stats.get("bronze_rows"),
            "spark_peak_gib": memory.peak_gib,
        }
        if source.build_silver_duckdb is not None:
            on_spark = silver_snapshot(lake, (source,))
            duckdb = in_child(silver_duckdb_child, lake.settings.home, source.name, repeats)
            duckdb_s, duckdb_stats = duckdb["seconds"], duckdb["stats"]
            differences = snapshot_differences(on_spark, silver_snapshot(lake, (source,)))
            entry.update(
                reference="DuckDB",
                reference_s=duckdb_s,
                ratio=round(seconds / max(duckdb_s, 1e-3), 2),
                reference_peak_gib=duckdb["peak_gib"],
                same_statistics=_counts(stats) == _counts(duckdb_stats),
                same_output=not differences,
                differences=differences,
            )
        results[source.name] = entry
        log(f"silver {source.name}: {entry}")
    return results


def silver_duckdb_child(home: Path, name: str, repeats: int) -> dict[str, Any]:
    """A source's DuckDB silver job on the day `repeats` times in this (fresh) process, apart
    from the Spark JVM of the stage; its median seconds, statistics and own peak memory."""
    lake = Lake(_settings(home))
    source = next(s for s in all_sources() if s.name == name)
    assert source.build_silver_duckdb is not None
    job = source.build_silver_duckdb
    seconds, stats = median_seconds(lambda: job(lake, [DAY]), repeats)
    return {"seconds": seconds, "stats": stats, "peak_gib": _own_peak_gib()}


def _counts(stats: dict[str, int]) -> dict[str, int]:
    """A job's statistics without the Delta versions (each write makes a new one)."""
    return {k: v for k, v in stats.items() if not k.endswith("version")}


# -- embeddings ---------------------------------------------------------------------------------
def talent_texts(count: int) -> pl.DataFrame:
    """`count` distinct talent profiles from the UCS simulator (entity_type, entity_id, text)."""
    from datetime import timedelta

    from ml.text_embeddings import talent_text
    from pipelines.sources.ucs import simulate_talents_day

    seen: dict[str, str] = {}
    day = DAY
    while len(seen) < count:
        for row in simulate_talents_day(day, SEED, 1.0).iter_rows(named=True):
            skills = (row["skills"] or "").split(";")
            seen.setdefault(row["talent_id"], talent_text(row["profile_text"], skills))
        day += timedelta(days=1)
    ids = list(seen)[:count]
    return pl.DataFrame(
        {"entity_type": ["talent"] * count, "entity_id": ids, "text": [seen[i] for i in ids]}
    )


def embeddings_stage(lake: Lake, texts: int, jobs: int, repeats: int) -> dict:  # type: ignore[type-arg]
    """The store update vs. the model's raw encode on the same texts, two ways: PyTorch's
    (`SentenceTransformer.encode`, the library's own) and the ONNX Runtime encoder's alone
    (what the store update calls); top-k over `jobs` vectors."""
    from ml.matching import _top_k
    from ml.text_embeddings import ENCODE_BATCH, load_encoder, load_model, update_embeddings

    frame = talent_texts(texts)
    text_list = frame["text"].to_list()
    model, encoder = load_model(), load_encoder()
    model.encode(text_list[:64])  # warm both once
    encoder.encode(text_list[:64])
    with PeakMemory() as memory:
        raw_s, _ = median_seconds(
            lambda: model.encode(text_list, batch_size=ENCODE_BATCH, normalize_embeddings=True),
            repeats,
        )
        onnx_s, _ = median_seconds(lambda: encoder.encode(text_list, ENCODE_BATCH), repeats)

        def pipeline() -> None:
            # A fresh store each time: every text is new, as on the first run over a city.
            home = Path(tempfile.mkdtemp(dir=lake.settings.home))
            update_embeddings(LakehouseSettings(_env_file=None, home=home), frame)  # type: ignore[call-arg]

        pipeline_s, _ = median_seconds(pipeline, repeats)
    vectors = model.encode(frame["text"].to_list(), normalize_embeddings=True)
    rng = np.random.default_rng(SEED)
    # 100k jobs: the encoded ones, each copied with a little noise and re-normalised.
    picks = rng.integers(0, len(vectors), size=jobs)
    matrix = vectors[picks] + rng.normal(0, 0.02, size=(jobs, vectors.shape[1])).astype(np.float32)
    matrix /= np.linalg.norm(matrix, axis=1, keepdims=True)
    talent = vectors[0]
    latencies = []
    for _ in range(max(repeats, 20)):
        began = time.perf_counter()
        _top_k((talent @ matrix.T)[None, :], 10)
        latencies.append(time.perf_counter() - began)
    floor = []
    for _ in range(max(repeats, 20)):
        began = time.perf_counter()
        talent @ matrix.T
        floor.append(time.perf_counter() - began)
    result = {
        "texts": texts,
        "text_kind": "talent profiles + skills (UCS simulator)",
        "raw_encode_texts_per_s": round(texts / raw_s),
        "onnx_encode_texts_per_s": round(texts / onnx_s),
        "pipeline_texts_per_s": round(texts / pipeline_s),
        "ratio": round(pipeline_s / raw_s, 2),
        "ratio_to_onnx_encode": round(pipeline_s / onnx_s, 2),
        "peak_gib": memory.peak_gib,
        "top_k_jobs": jobs,
        "top_k_p50_ms": round(float(np.percentile(latencies, 50)) * 1e3, 2),
        "top_k_p95_ms": round(float(np.percentile(latencies, 95)) * 1e3, 2),
        "scores_only_p50_ms": round(float(np.percentile(floor, 50)) * 1e3, 2),
    }
    log(f"embeddings: {result}")
    return result


# -- the daily run through Dagster --------------------------------------------------------------
def step_stage(step_key: str) -> str:
    """The stage a Dagster step of `city_daily` belongs to."""
    if step_key == "gx_suites" or step_key.endswith(("_accounted_for", "_reconciles_with_silver")):
        return "asset checks"
    for prefix, stage in (
        ("landing__", "landing (simulators)"),
        ("bronze__", "bronze"),
        ("silver_", "silver"),
        ("gtfs", "silver"),
        ("city_marts", "marts (dbt build)"),
        ("ml_marts", "marts (dbt build)"),
        ("gold__", "gold"),
        ("charts__", "charts"),
    ):
        if step_key.startswith(prefix):
            return stage
    return "ML jobs"  # talent_matching, morbidity_forecast, ull_scoring


def daily_stage(home: Path, scale: float) -> dict[str, Any]:
    """`lakehouse run` for one day in a fresh home (the README's run command): wall time, the
    peak memory of its whole process tree, and Dagster's own step timings from the run."""
    import subprocess

    env = {**os.environ, "LAKEHOUSE_HOME": str(home)}
    env.pop("LAKEHOUSE_PSEUDONYM_KEY", None)  # the local default: a generated key
    command = [
        str(Path(sys.executable).parent / "lakehouse"),
        "run",
        "--start", DAY.isoformat(),
        "--end", DAY.isoformat(),
        "--scale", str(scale),
    ]  # fmt: skip
    home.parent.mkdir(parents=True, exist_ok=True)
    began = time.perf_counter()
    with open(home.parent / "daily.log", "w") as log_file:
        process = subprocess.Popen(command, env=env, stdout=log_file, stderr=subprocess.STDOUT)
        with PeakMemory(root=process.pid) as memory:
            code = process.wait()
    wall = time.perf_counter() - began
    if code != 0:
        # The home is temporary: keep the run's step log (the failed step's error and
        # traceback) beside the results before it goes.
        tail = (home.parent / "daily.log").read_text()[-3000:]
        kept = RESULTS.parent / f"daily_run_failed_scale_{scale}.log"
        step_logs = sorted((home / "logs").glob("run-*.log"))
        if step_logs:
            kept.parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(step_logs[-1], kept)
            tail += f"\nthe run's step log is kept at {kept}"
        raise RuntimeError(f"lakehouse run failed ({code}):\n{tail}")
    import dagster as dg

    os.environ["DAGSTER_HOME"] = str(_settings(home).dagster_home)
    with dg.DagsterInstance.get() as instance:
        run = instance.get_runs(limit=1)[0]
        stats = instance.get_run_stats(run.run_id)
        steps = instance.get_run_step_stats(run.run_id)
    by_stage: dict[str, float] = {}
    by_step: dict[str, float] = {}
    stage_peaks: dict[str, float] = {}
    step_peaks: dict[str, float] = {}
    for step in steps:
        stage = step_stage(step.step_key)
        seconds = (step.end_time or 0) - (step.start_time or 0)
        by_stage[stage] = round(by_stage.get(stage, 0.0) + seconds, 2)
        by_step[step.step_key] = round(seconds, 2)
        # The whole tree's resident set while the step ran (the in-process executor runs one
        # step at a time, so what grows during a step is that step's).
        peak = memory.peak_between(step.start_time or 0, step.end_time or 0)
        step_peaks[step.step_key] = peak
        stage_peaks[stage] = max(stage_peaks.get(stage, 0.0), peak)
    run_s = (stats.end_time or 0) - (stats.start_time or 0)
    step_sum = sum(by_stage.values())
    # The "bronze to marts": the steps neither simulating the landing files nor training
    # (nor building the `ml` models the ML jobs feed); one step at a time, so their sum is time.
    bronze_to_marts = sum(
        s
        for key, s in by_step.items()
        if step_stage(key) not in ("landing (simulators)", "ML jobs") and key != "ml_marts"
    )
    result = {
        "scale": scale,
        "wall_s": round(wall, 1),
        "run_s": round(run_s, 1),
        "steps": len(steps),
        "sum_of_steps_s": round(step_sum, 1),
        "bronze_to_marts_steps_s": round(bronze_to_marts, 1),
        "steps_by_stage_s": by_stage,
        "slowest_steps_s": dict(sorted(by_step.items(), key=lambda kv: -kv[1])[:12]),
        "peak_gib_by_stage": stage_peaks,
        "largest_steps_gib": dict(sorted(step_peaks.items(), key=lambda kv: -kv[1])[:8]),
        "before_the_run_peak_gib": memory.peak_between(0, stats.start_time or 0),
        "orchestration_overhead_share": round((run_s - step_sum) / run_s, 3),
        "outside_the_run_s": round(wall - run_s, 1),
        "peak_gib": memory.peak_gib,
    }
    log(f"daily run: {result}")
    return result


# -- report -------------------------------------------------------------------------------------
def markdown(record: dict) -> str:  # type: ignore[type-arg]
    lines = [
        BEGIN,
        f"Command: `{record['command']}`; machine: {record['machine']}; measured "
        f"{record['measured']}; medians of {record['repeats']} runs (growth: one run); one simulated day "
        f"({DAY}) at scale {record['scale']}. Results: `benchmarks/results/suite.json`.",
        "",
    ]
    if "bronze" in record:
        lines += [
            "**Landing to bronze** vs. a plain `deltalake` write of the accepted rows "
            "(target: within 1.3x)",
            "",
            "| source | rows landed | bronze (s) | plain deltalake (s) | ratio | peak memory (GiB) |",
            "|---|---|---|---|---|---|",
        ]
        for name, r in record["bronze"].items():
            lines.append(
                f"| `{name}` | {r['rows_landed']:,} | {r['bronze_s']} | {r['plain_deltalake_s']} "
                f"| {r['ratio']}x | {r['bronze_peak_gib']} |"
            )
        lines.append("")
    if "growth" in record:
        scales = sorted({s for v in record["growth"].values() for s in v}, key=float)
        lines += [
            "**Growth**: seconds per million rows landed at each volume (flat = linear), bronze "
            "and silver (the single-node engine), one run each in a fresh process",
            "",
            "| source | stage | " + " | ".join(f"x{s}" for s in scales) + " | peak GiB at each |",
            "|---|---|" + "---|" * (len(scales) + 1),
        ]
        for name, by_scale in record["growth"].items():
            for stage, key, peak in (
                ("bronze", "s_per_million_rows", "peak_gib"),
                ("silver", "silver_s_per_million_rows", "silver_peak_gib"),
            ):
                if any(key not in by_scale[s] for s in scales):
                    continue  # a record from before silver was measured here
                cells = [
                    f"{by_scale[s][key]} ({by_scale[s]['rows_landed']:,} rows)" for s in scales
                ]
                peaks = " / ".join(str(by_scale[s][peak]) for s in scales)
                lines.append(f"| `{name}` | {stage} | " + " | ".join(cells) + f" | {peaks} |")
        lines.append("")
    if "daily_growth" in record and record["daily_growth"]:
        runs = record["daily_growth"]
        first = runs[min(runs, key=float)]
        lines += [
            "**Growth of the daily run** (`lakehouse run` of the day at each volume, a fresh "
            "home each; one run each)",
            "",
            "| scale | wall (s) | per unit of volume (s) | the run (s) | silver steps (s) "
            "| landing (s) | bronze (s) | peak GiB |",
            "|---|---|---|---|---|---|---|---|",
        ]
        for scale in sorted(runs, key=float):
            d = runs[scale]
            if "failed" in d:
                failed = re.findall(r"Steps failed: \n?\[([^\]]*)\]", d["failed"])
                what = f"steps {failed[0]}" if failed else "see the log"
                lines.append(f"| {scale} | failed ({what}) | | | | | | |")
                continue
            by_stage = d["steps_by_stage_s"]
            lines.append(
                f"| {scale} | {d['wall_s']} | "
                f"{d['wall_s'] / (float(scale) / first['scale']):.1f} | {d['run_s']} | "
                f"{by_stage.get('silver', 0)} | {by_stage.get('landing (simulators)', 0)} | "
                f"{by_stage.get('bronze', 0)} | {d['peak_gib']} |"
            )
        lines.append("")
    if "silver" in record:
        silver = record["silver"]
        lines += [
            f"**Bronze to silver on Spark** (`local[*]`; start-up {silver['spark_startup_s']} s "
            "per process, reported apart) vs. the same job on the single-node DuckDB engine "
            "where it has one (the embedded default's engine; same output = every silver table "
            "equal, row for row)",
            "",
            "| source | bronze rows | Spark (s) | DuckDB (s) | ratio | same output "
            "| Spark peak GiB | DuckDB peak GiB |",
            "|---|---|---|---|---|---|---|---|",
        ]
        for name, r in silver.items():
            if not isinstance(r, dict):
                continue
            same = r.get("same_output") and r.get("same_statistics", True)
            ref = (
                (r["reference_s"], f"{r['ratio']}x", "yes" if same else "**no**")
                if "reference_s" in r
                else ("", "", "")
            )
            rows = f"{r['bronze_rows']:,}" if r.get("bronze_rows") is not None else ""
            lines.append(
                f"| `{name}` | {rows} | {r['spark_s']} | {ref[0]} | {ref[1]} | {ref[2]} "
                f"| {r['spark_peak_gib']} | {r.get('reference_peak_gib', '')} |"
            )
        lines.append("")
    if "embeddings" in record:
        e = record["embeddings"]
        lines += [
            "**Embeddings** (all-MiniLM-L6-v2 on the CPU)",
            "",
            "| measure | pipeline | reference | ratio |",
            "|---|---|---|---|",
            f"| texts per second ({e['texts']:,} talent profiles) | {e['pipeline_texts_per_s']} "
            f"(`update_embeddings`: hash, encode on ONNX Runtime, Delta write) | "
            f"{e['raw_encode_texts_per_s']} (raw `SentenceTransformer.encode`, PyTorch) | "
            f"{e['ratio']}x |",
            f"| the same, beside the encoder alone | {e['pipeline_texts_per_s']} | "
            f"{e.get('onnx_encode_texts_per_s', '')} (`OnnxEncoder.encode` alone) | "
            f"{e.get('ratio_to_onnx_encode', '')}x |",
            f"| top-10 jobs for a talent over {e['top_k_jobs']:,} jobs | p50 {e['top_k_p50_ms']} "
            f"ms, p95 {e['top_k_p95_ms']} ms | scores alone (one mat-vec) p50 "
            f"{e['scores_only_p50_ms']} ms | |",
            "",
        ]
    if "daily" in record:
        d = record["daily"]
        lines += [
            f"**The daily run through Dagster** (`lakehouse run` for one day at scale "
            f"{d['scale']}, a fresh home, the embedded default; {d['steps']} steps)",
            "",
            "| measure | figure |",
            "|---|---|",
            f"| wall time (command start to exit) | {d['wall_s']} s |",
            f"| the Dagster run (start to end) | {d['run_s']} s |",
            f"| sum of its steps | {d['sum_of_steps_s']} s |",
            *(
                [
                    "| of which bronze to marts (steps other than the landing simulators, the ML "
                    f"jobs and their `ml` models) | {d['bronze_to_marts_steps_s']} s |"
                ]
                if "bronze_to_marts_steps_s" in d
                else []
            ),
            f"| orchestration overhead (run minus steps, share of the run) | "
            f"{d['orchestration_overhead_share']:.1%} |",
            f"| outside the run (Python start, loading definitions, the summary) | "
            f"{d['outside_the_run_s']} s |",
            f"| peak memory, whole process tree (Python, DuckDB, dbt; a Spark JVM if one runs) "
            f"| {d['peak_gib']} GiB |",
        ]
        peaks = d.get("peak_gib_by_stage", {})
        lines += [
            f"| steps: {stage} | {s} s"
            + (f"; peak {peaks[stage]} GiB |" if stage in peaks else " |")
            for stage, s in d["steps_by_stage_s"].items()
        ]
        if "slowest_steps_s" in d:
            slowest = ", ".join(f"`{k}` {v} s" for k, v in list(d["slowest_steps_s"].items())[:8])
            lines.append(f"| slowest steps | {slowest} |")
        if "largest_steps_gib" in d:
            largest = ", ".join(f"`{k}` {v}" for k, v in d["largest_steps_gib"].items())
            lines.append(f"| largest steps (process tree's peak while each ran, GiB) | {largest} |")
        lines.append("")
    lines.append(END)
    return "\n".join(lines)


def write_benchmarks_md(block: str) -> None:
    text = BENCHMARKS_MD.read_text()
    if BEGIN in text:
        text = re.sub(re.escape(BEGIN) + ".*?" + re.escape(END), lambda _: block, text, flags=re.S)
    else:
        text += "\n## The performance suite\n\n" + block + "\n"
    BENCHMARKS_MD.write_text(text)


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawTextHelpFormatter
    )
    parser.add_argument("--scale", type=float, default=1.0)
    parser.add_argument("--growth", default="1,2,4", help="volume multiples of --scale")
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--stages", default="bronze,silver,embeddings,daily,growth")
    parser.add_argument("--texts", type=int, default=2000, help="texts for the embedding stage")
    parser.add_argument("--jobs", type=int, default=100_000, help="job vectors for top-k")
    parser.add_argument("--no-markdown", action="store_true", help="leave BENCHMARKS.md alone")
    parser.add_argument("--out", type=Path, default=RESULTS, help="the results file (JSON)")
    parser.add_argument(
        "--sources",
        help="only these sources (comma-separated names, e.g. ambulance,bus_gps,onay_taps; "
        "card taps need bus GPS) in the bronze, silver and growth stages; BENCHMARKS.md is "
        "then left alone",
    )
    args = parser.parse_args()
    stages = args.stages.split(",")
    # Every stage works in a home of its own under a temporary folder, and so must its children
    # (the bronze and DuckDB processes, the daily run): a lake, warehouse or tracking store
    # named in the environment would be written to, and shared with whatever else uses it.
    for key in LOCATION_KEYS:
        if os.environ.pop(key, None) is not None:
            log(f"{key} is ignored: the suite measures in temporary homes of its own")
    os.environ.setdefault("LAKEHOUSE_PSEUDONYM_KEY", "benchmark-key-not-a-secret")
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    sources = all_sources()
    if args.sources:
        wanted = args.sources.split(",")
        unknown = sorted(set(wanted) - {s.name for s in sources})
        if unknown:
            parser.error(f"--sources: no source {', '.join(unknown)}")
        if "onay_taps" in wanted and "bus_gps" not in wanted:
            parser.error("--sources: onay_taps' silver matches taps to bus_gps' silver")
        sources = tuple(s for s in sources if s.name in wanted)
        args.no_markdown = True  # a part of the suite does not replace its published table
    # Stages not run this time keep their figures from an earlier run at the same scale.
    earlier = json.loads(args.out.read_text()) if args.out.exists() else {}
    record: dict[str, Any] = earlier if earlier.get("scale") == args.scale else {}
    record |= {
        "command": " ".join(["benchmarks/suite.py", *sys.argv[1:]]),
        "machine": f"{platform.machine()}, {os.cpu_count()} cores, "
        f"{os.sysconf('SC_PHYS_PAGES') * os.sysconf('SC_PAGE_SIZE') / 2**30:.0f} GiB, "
        f"Python {platform.python_version()}",
        "measured": time.strftime("%Y-%m-%d"),
        "scale": args.scale,
        "repeats": args.repeats,
    }
    with tempfile.TemporaryDirectory() as tmp:
        settings = LakehouseSettings(
            _env_file=None, home=Path(tmp) / "home", spark_driver_memory="6g"
        )  # type: ignore[call-arg]
        lake = Lake(settings)
        lake.ensure_ready()

        def save() -> None:  # after each stage: a later stage's failure keeps the earlier
            args.out.parent.mkdir(parents=True, exist_ok=True)
            args.out.write_text(json.dumps(record, indent=2) + "\n")

        if "bronze" in stages or "silver" in stages:
            record["bronze"] = bronze_stage(lake, sources, args.scale, args.repeats)
            save()
        if "silver" in stages:
            record["silver"] = silver_stage(lake, sources, args.repeats)
            save()
        if "embeddings" in stages:
            record["embeddings"] = embeddings_stage(lake, args.texts, args.jobs, args.repeats)
            save()
        if "daily" in stages:
            record["daily"] = daily_stage(Path(tmp) / "daily" / "home", args.scale)
            save()
        scales = [args.scale * float(m) for m in args.growth.split(",")]
        if "growth" in stages:  # late: the largest volumes are the likeliest to run out of room
            record["growth"] = growth_stage(Path(tmp), sources, scales)
            save()
        if "daily_growth" in stages:
            record["daily_growth"] = {}
            for scale in scales:
                home = Path(tmp) / f"daily-{scale}" / "home"
                try:
                    record["daily_growth"][str(scale)] = daily_stage(home, scale)
                except RuntimeError as error:  # a volume the platform cannot take yet
                    log(f"daily run at {scale} failed: {error}")
                    record["daily_growth"][str(scale)] = {"scale": scale, "failed": str(error)}
                shutil.rmtree(home.parent)
                save()
    block = markdown(record)
    print("\n" + block)
    if not args.no_markdown:
        write_benchmarks_md(block)


if __name__ == "__main__":
    main()
