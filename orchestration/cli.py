"""`lakehouse`: run the city's pipeline on the embedded default, or open the Dagster UI."""

from __future__ import annotations

import atexit
import gc
import json
import os
import subprocess
import sys
import threading
import time
import uuid
import warnings
from collections.abc import Iterator
from contextlib import contextmanager, redirect_stderr, redirect_stdout
from datetime import date
from pathlib import Path
from typing import IO, Annotated

import typer
from rich.console import Console
from rich.progress import BarColumn, Progress, SpinnerColumn, TextColumn, TimeElapsedColumn

from pipelines.pseudonymise import ensure_local_key
from pipelines.settings import LakehouseSettings

warnings.filterwarnings("ignore", message=".*is currently in beta.*")
warnings.filterwarnings("ignore", message=".*is superseded.*")
app = typer.Typer(add_completion=False, help="The Almaty city-data lakehouse.")
# The last exit handler (registered first): the interpreter's shutdown then skips its garbage
# collections over every object the command's libraries made (Dagster, dbt, MLflow, ...): ~3 s
# of a `lakehouse run`'s exit, spent freeing memory the process gives back when it ends.
# Exit handlers still run and files are still closed; only unreachable cycles are not freed.
atexit.register(gc.freeze)
# Bound to the terminal itself: while a run executes, sys.stdout/err go to the run's log file.
console = Console(file=sys.__stdout__)


# The local instance: SQLite storage under the home (Dagster's files, with an event log that
# records a backfill's materialisations ~3x faster: `orchestration.instance_storage`), no
# telemetry (offline machines), and one step at a time in each concurrency pool
# (`orchestration.partitions`), so that a backfill and the daily schedule can run side by side
# (infra/dagster.yaml says the same in production, on Postgres).
def dagster_yaml(home: Path) -> str:
    """The local instance's `dagster.yaml` for the instance folder `home` (its storage's path
    written out: any process opens the instance from the file alone)."""
    return f"""\
telemetry:
  enabled: false
storage:
  custom:
    module: orchestration.instance_storage
    class: LakehouseSqliteStorage
    config:
      base_dir: {json.dumps(os.fspath(home))}
concurrency:
  pools:
    default_limit: 1
"""


def _dagster_home(settings: LakehouseSettings) -> Path:
    home = settings.dagster_home
    home.mkdir(parents=True, exist_ok=True)
    config = home / "dagster.yaml"
    wanted = dagster_yaml(home)
    if not config.exists() or config.read_text() != wanted:
        # Whole or not at all: another command starting beside this one may be reading it.
        staged = config.with_name(f".{config.name}.{os.getpid()}")
        staged.write_text(wanted)
        os.replace(staged, config)
    os.environ["DAGSTER_HOME"] = str(home)
    # A run over a range of days announces each asset's planned materialisation once, with
    # its partition range, instead of once per asset and day: a year's backfill otherwise
    # writes ~30,000 events before its first step starts. (Dagster's trade: should such a
    # run fail, its partitions are not marked failed one by one; the run shows the failure.)
    os.environ.setdefault("DAGSTER_EMIT_PARTITION_SUBSET_IN_PLANNED_EVENTS", "true")
    # The first instance creates its SQLite stores; two commands starting at once on a fresh
    # home (a backfill and the daily run) would both stamp their schema version, and every
    # later open would refuse the doubled stamp. One creates them, under a lock.
    import fcntl

    from dagster import DagsterInstance

    with open(home / ".create.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        DagsterInstance.get().dispose()
    return home


@app.command()
def setup() -> None:
    """Fetch the pinned Spark jars, parse the dbt project and export the embedding model to
    ONNX (idempotent)."""
    from pipelines.spark import ensure_jars

    settings = LakehouseSettings()
    settings.export_env()
    ensure_jars(settings.jars_dir)
    from orchestration.assets.marts import parse_dbt_project

    manifest = parse_dbt_project()
    from ml.text_embeddings import onnx_model_file

    onnx = onnx_model_file(settings.cache_dir)
    console.print(
        f"[green]ready[/]: jars in {settings.jars_dir}, dbt manifest {manifest}, "
        f"embedding model {onnx}"
    )


@app.command()
def run(
    start: str = typer.Option("2020-03-01", help="First day (local Almaty date)."),
    end: str = typer.Option("2020-03-31", help="Last day, inclusive."),
    scale: float | None = typer.Option(
        None, help="Simulated city size, 1.0 = Almaty's real volumes (LAKEHOUSE_SIMULATION_SCALE)."
    ),
    seed: int | None = typer.Option(None, help="Simulation seed (LAKEHOUSE_SIMULATION_SEED)."),
) -> None:
    """Materialise every asset, landing to marts, for a range of days, in one Dagster run."""
    # The definitions read the settings from the environment when they load.
    if scale is not None:
        os.environ["LAKEHOUSE_SIMULATION_SCALE"] = str(scale)
    if seed is not None:
        os.environ["LAKEHOUSE_SIMULATION_SEED"] = str(seed)
    settings = LakehouseSettings()
    if ensure_local_key(settings):
        console.print(
            f"Generated a pseudonymisation key for this local lake: {settings.pseudonym_key_file} "
            "(set LAKEHOUSE_PSEUDONYM_KEY to use your own)"
        )
    first, last = date.fromisoformat(start), date.fromisoformat(end)
    if last < first:
        raise typer.BadParameter(f"--end {end} is before --start {start}")
    _dagster_home(settings)

    from dagster import DagsterInstance, DagsterRunStatus
    from dagster._core.storage.tags import (
        ASSET_PARTITION_RANGE_END_TAG,
        ASSET_PARTITION_RANGE_START_TAG,
    )

    from orchestration.definitions import defs

    job = defs.resolve_job_def("city_daily")
    # The definitions' objects (Dagster's, dbt's manifest, the libraries they import) live as
    # long as the process: moved out of the collector's sight, a full collection during the run
    # scans only what the run makes. At scale 0.01 that cut the run's full collections from
    # ~10 s to ~2.5 s (43-49 of them either way; `gc.callbacks`), the run 34 s -> 23 s.
    gc.collect()
    gc.freeze()
    instance = DagsterInstance.get()
    tags = {
        ASSET_PARTITION_RANGE_START_TAG: first.isoformat(),
        ASSET_PARTITION_RANGE_END_TAG: last.isoformat(),
    }
    steps = len(job.graph.node_defs)
    console.print(
        f"Running [bold]{steps}[/] steps for {first}..{last} "
        f"({(last - first).days + 1} days) on lake [cyan]{settings.lake_uri}[/]"
    )
    started = time.time()
    run_id = str(uuid.uuid4())
    outcome: dict[str, object] = {}
    done = threading.Event()

    # The run's id in the name: two runs started in the same second (a backfill beside the
    # day's run) wrote one file.
    log_path = settings.home / "logs" / f"run-{time.strftime('%Y%m%d-%H%M%S')}-{run_id[:8]}.log"
    log_path.parent.mkdir(parents=True, exist_ok=True)
    console.print(f"Step logs (Dagster, dbt, Spark): {log_path}")

    def execute() -> None:
        with open(log_path, "w") as log, redirect_stdout(log), redirect_stderr(log), _fd2_to(log):
            try:
                outcome["result"] = job.execute_in_process(
                    instance=instance, tags=tags, raise_on_error=False, run_id=run_id
                )
            except BaseException as error:  # reported below, in the main thread
                outcome["error"] = error
            finally:
                done.set()

    worker = threading.Thread(target=execute, name="dagster-run")
    worker.start()
    try:
        _show_progress(instance, run_id, steps, done)
    finally:
        worker.join()
    if "error" in outcome:
        raise outcome["error"]  # type: ignore[misc]
    result = outcome["result"]
    run = instance.get_run_by_id(result.run_id)  # type: ignore[attr-defined]
    elapsed = time.time() - started
    if run is None or run.status != DagsterRunStatus.SUCCESS or not result.success:  # type: ignore[attr-defined]
        console.print(
            f"[red]run {result.run_id} failed[/] after {elapsed:.0f}s; see {log_path} "
            "or `lakehouse ui`"
        )  # type: ignore[attr-defined]
        for event in result.all_events:  # type: ignore[attr-defined]
            if event.is_failure:
                console.print(f"  [red]{event.step_key}[/]: {event.message}")
        raise typer.Exit(1)
    _summary(settings, result.run_id, elapsed)  # type: ignore[attr-defined]


@contextmanager
def _fd2_to(log: IO[str]) -> Iterator[None]:
    """Send file descriptor 2 (where the Spark JVM writes) to the run's log file."""
    saved = os.dup(2)
    os.dup2(log.fileno(), 2)
    try:
        yield
    finally:
        os.dup2(saved, 2)
        os.close(saved)


def _show_progress(instance, run_id: str, total: int, done: threading.Event) -> None:  # type: ignore[no-untyped-def]
    """Steps finished and the latest log line of the run, until it ends."""
    from dagster import DagsterEventType

    with Progress(
        SpinnerColumn(),
        TextColumn("[bold]{task.description}"),
        BarColumn(),
        TextColumn("{task.completed}/{task.total} steps"),
        TimeElapsedColumn(),
        console=console,
        transient=False,
    ) as progress:
        task = progress.add_task("starting", total=max(total, 1))
        # Only what is new since the last look: a year's run logs tens of thousands of events,
        # and reading them all twice a second would slow the run it reports on.
        cursor, finished = None, 0
        ended = {DagsterEventType.STEP_SUCCESS, DagsterEventType.STEP_FAILURE}
        while not done.wait(0.5):
            if instance.get_run_by_id(run_id) is None:
                continue
            steps = instance.get_records_for_run(run_id, cursor=cursor, of_type=ended)
            cursor, finished = steps.cursor, finished + len(steps.records)
            recent = instance.get_records_for_run(run_id, limit=20, ascending=False).records
            latest = next(
                (r.event_log_entry.user_message for r in recent if r.event_log_entry.user_message),
                "",
            )
            progress.update(task, completed=finished, description=latest[:70] or "running")
        progress.update(task, completed=total, description="finished")


def _summary(settings: LakehouseSettings, run_id: str, elapsed: float) -> None:
    from orchestration.definitions import SOURCES
    from pipelines.lake import Lake
    from pipelines.warehouse import connect

    lake = Lake(settings)
    with connect(settings, read_only=True, lake=False) as conn:
        days, calls = conn.execute(
            "select count(distinct call_date), sum(calls) from marts.fct_ambulance_calls_daily"
        ).fetchone()
    console.print(f"[green]Run {run_id} succeeded[/] in {elapsed:.0f}s.", soft_wrap=True)
    tables = [("bronze", "_quarantine")]
    for source in SOURCES:
        tables += [
            ("bronze", source.contract.table),
            *(("silver", t) for t in source.silver_tables),
        ]
    for layer, name in tables:
        if lake.table_exists(layer, name):
            rows = lake.row_count(layer, name)
            console.print(
                f"  Delta table {layer}/{name} ({rows:,} rows): {lake.uri(layer, name)}",
                soft_wrap=True,
            )
    console.print(
        f"  DuckDB warehouse, marts.fct_ambulance_calls_daily ({calls:,} calls over {days} days): "
        f"{settings.warehouse_path}",
        soft_wrap=True,
    )
    console.print(
        f"  ML results (gold/ml_*) and MLflow runs: {settings.mlflow_tracking_uri}; browse with "
        f"`mlflow ui --backend-store-uri {settings.mlflow_tracking_uri}`",
        soft_wrap=True,
    )
    console.print(
        "  Dagster UI: run `lakehouse ui`, then open http://127.0.0.1:3000", soft_wrap=True
    )


@app.command()
def ui(
    port: int = typer.Option(3000, help="Port of the Dagster UI."),
    host: str = typer.Option(
        "127.0.0.1", help="Interface; loopback unless behind an authenticating proxy."
    ),
) -> None:
    """Open the Dagster UI (webserver and daemon) on this project."""
    settings = LakehouseSettings()
    ensure_local_key(settings)
    home = _dagster_home(settings)
    console.print(f"Dagster UI on http://{host}:{port} (DAGSTER_HOME={home}); Ctrl-C to stop")
    dagster = Path(sys.executable).parent / "dagster"
    raise typer.Exit(
        subprocess.call(
            [str(dagster), "dev", "-m", "orchestration.definitions", "-h", host, "-p", str(port)],
            env=os.environ.copy(),
        )
    )


@app.command()
def maintain(
    keep_days: int = typer.Option(
        None, help="Time-travel window in days (default LAKEHOUSE_TIME_TRAVEL_DAYS, 7)."
    ),
) -> None:
    """Compact every Delta table and VACUUM what left it before the time-travel window (what
    the weekly `lake_maintenance` job does)."""
    from pipelines.lake import Lake
    from pipelines.lake.maintenance import delta_tables
    from pipelines.lake.maintenance import maintain as maintain_table

    lake = Lake(LakehouseSettings())
    for layer, table in delta_tables(lake):
        r = maintain_table(lake, layer, table, keep_days)
        console.print(
            f"{r.name}: {r.files_before} -> {r.files_after} files, "
            f"{r.files_vacuumed} vacuumed, version {r.version}"
        )


@app.command()
def restore(
    table: Annotated[str, typer.Argument(help="layer/table, e.g. silver/bus_trips")],
    version: Annotated[int, typer.Argument(help="the version to bring back (see its history)")],
) -> None:
    """Make an earlier version of a table current again (a new commit; the version must be
    inside the time-travel window)."""
    from pipelines.lake import Lake
    from pipelines.lake.maintenance import restore as restore_table

    layer, _, name = table.partition("/")
    lake = Lake(LakehouseSettings())
    new = restore_table(lake, layer, name, version)
    console.print(f"{table}: version {version} restored as version {new}")


@app.command()
def docs() -> None:
    """Build the dbt docs site and the Great Expectations Data Docs of the marts (validating
    each mart); exits non-zero when a mart fails its suite."""
    settings = LakehouseSettings()
    settings.export_env()  # dbt reads the warehouse and the lake from the environment
    dbt_docs, quality_docs = settings.home / "docs" / "dbt", settings.home / "docs" / "quality"
    if not settings.warehouse_path.exists():
        console.print(
            f"[red]No warehouse at {settings.warehouse_path}[/]: run `lakehouse run` first."
        )
        raise typer.Exit(1)

    from orchestration.assets.marts import DBT_EXECUTABLE, DBT_PROJECT_DIR

    project = ["--project-dir", os.fspath(DBT_PROJECT_DIR)]
    project += ["--profiles-dir", os.fspath(DBT_PROJECT_DIR)]
    with console.status("dbt docs generate"):
        dbt = subprocess.run(
            [DBT_EXECUTABLE, "docs", "generate", "--static", *project]
            + ["--target-path", os.fspath(dbt_docs)],
            cwd=DBT_PROJECT_DIR,
            capture_output=True,
            text=True,
        )
    if dbt.returncode != 0:
        console.print(dbt.stdout[-4000:] + dbt.stderr[-4000:], markup=False, highlight=False)
        console.print(f"[red]dbt docs generate failed[/] (exit {dbt.returncode})")
        raise typer.Exit(dbt.returncode)
    console.print(
        f"[green]dbt docs[/]: {dbt_docs / 'index.html'} (with catalog.json, manifest.json); "
        f"open {dbt_docs / 'static_index.html'} as a file, or serve the folder: "
        f"`dbt docs serve --target-path {dbt_docs} "
        f"--project-dir {DBT_PROJECT_DIR} --profiles-dir {DBT_PROJECT_DIR}`",
        soft_wrap=True,
    )

    from pipelines.quality import validate_marts

    with console.status("Great Expectations: validating the marts"):
        report = validate_marts(settings, quality_docs)
    console.print(
        f"[green]Data Docs[/]: {report.docs_index} (static HTML; open it as a file)",
        soft_wrap=True,
    )
    for table in report.tables:
        verdict = "[green]pass[/]" if table.success else "[red]FAIL[/]"
        failed = f", {len(table.failed)} failed" if table.failed else ""
        console.print(
            f"  {verdict} marts.{table.table}: {table.rows:,} rows, "
            f"{table.evaluated} expectations{failed}",
            soft_wrap=True,
        )
        for line in table.details:
            console.print(f"      {line}", markup=False, highlight=False, soft_wrap=True)
    if report.skipped:
        console.print(
            f"  not in the warehouse yet, skipped: {', '.join(report.skipped)}", soft_wrap=True
        )
    if not report.tables:
        console.print("[red]No mart to validate[/]: run `lakehouse run` first.")
        raise typer.Exit(1)
    if not report.success:
        raise typer.Exit(1)


@app.command()
def forecast(
    input: Annotated[
        Path,
        typer.Option(
            "--input",
            exists=True,
            dir_okay=False,
            help="A CSV, JSON-lines or Parquet file in the format of contracts/epi_series.md: "
            "date, area, cases, and any signals.",
        ),
    ],
    name: str | None = typer.Option(
        None, help="Series name (default: the file's stem); the landed file is named after it."
    ),
) -> None:
    """Forecast a series of your own: land the file in `landing/epi_series/`, then backtest,
    register and forecast it (MLflow run, plot, gold rows), as the pipeline does the city's."""
    from ml.forecast import run_forecast
    from ml.forecast_input import land_series, parse_series, series_name

    settings = LakehouseSettings()
    settings.export_env()
    file_name = (series_name(name) if name else series_name(str(input))) + input.suffix.lower()
    payload = input.read_bytes()
    uri = land_series(settings, payload, file_name, date.today().isoformat())
    console.print(f"landed {input} as {uri}", soft_wrap=True)
    series = parse_series(payload, uri)
    console.print(
        f"{series.name}: {series.rows_in} rows in, {series.frame.height} accepted, "
        f"{series.quarantined.height} quarantined; areas {series.frame['area'].n_unique()}, "
        f"signals {', '.join(series.signals) or 'none'}",
        soft_wrap=True,
    )
    for row in series.quarantined.head(20).iter_rows(named=True):
        console.print(f"  [yellow]row {row['row_number']}[/]: {row['rule']}", soft_wrap=True)
    with console.status(f"backtesting {series.name}"):
        summary = run_forecast(settings, series)
    console.print(
        f"[green]{series.name}[/] ({summary['area']}), {summary['origins']} forecast origins; "
        f"MLflow run {summary['run_id']} at {settings.mlflow_tracking_uri}; registered model "
        f"{summary['registered_model']} v{summary['model_version']}",
        soft_wrap=True,
    )
    for horizon in (7, 14):
        h = summary[f"h{horizon}"]
        console.print(
            f"  {horizon} days ahead: MAE {h['mae']:.1f} vs seasonal naive "
            f"{h['mae_seasonal_naive']:.1f} and naive {h['mae_naive']:.1f}; relative MAE "
            f"{h['rel_mae']:.2f} (vs naive {h['rel_mae_naive']:.2f}), MASE {h['mase']:.2f}, "
            f"80% interval coverage {h['coverage_80']:.2f}",
            soft_wrap=True,
        )
    console.print(f"  plot: {summary['plot']}", soft_wrap=True)


@app.command()
def match(
    talent: str | None = typer.Option(None, help="Talent id: the best open jobs for them."),
    job: str | None = typer.Option(None, help="Job id: the best talents for it."),
    k: int = typer.Option(5, min=1, help="How many matches (or courses, with both ids)."),
) -> None:
    """Talent-job matches on the stored embeddings; with --talent and --job, the talent's
    skill gap for the job and the courses that close it."""
    if talent is None and job is None:
        raise typer.BadParameter("give --talent, --job or both")
    from rich.table import Table

    from ml.matching import (
        MatchingData,
        courses_for_gap,
        top_jobs_for_talent,
        top_talents_for_job,
    )

    data = MatchingData.load(LakehouseSettings())
    try:
        if talent is not None and job is not None:
            gap = courses_for_gap(data, talent, job, k)
            console.print(
                f"Skill gap of {talent} for {job}: "
                + (", ".join(gap.gap_skills) or "none, the talent lists every required skill")
            )
            rows, title = gap.courses, f"Courses that close the gap ({data.model_version})"
        elif talent is not None:
            rows = top_jobs_for_talent(data, talent, k)
            title = f"Open jobs for {talent} ({data.model_version})"
        else:
            rows = top_talents_for_job(data, str(job), k)
            title = f"Talents for {job} ({data.model_version})"
    except KeyError as missing:
        console.print(f"[red]{missing.args[0]}[/]")
        raise typer.Exit(1) from missing
    table = Table(title=title)
    for column in rows.columns:
        table.add_column(column, justify="right" if rows[column].dtype.is_numeric() else "left")
    for row in rows.iter_rows():
        table.add_row(*(_cell(value) for value in row))
    console.print(table)


def _cell(value: object) -> str:
    if isinstance(value, float):
        return f"{value:.3f}"
    if isinstance(value, list):
        return ", ".join(str(item) for item in value)
    return str(value)


if __name__ == "__main__":
    app()
