"""Faults: MinIO killed while a day is being loaded (the step fails, Dagster retries it with
backoff once MinIO is back, the table stays readable at its last good version and the day
lands once); a broken delivery fails at once, without retries; the MLflow server down while
a model trains (the job fails clearly, nothing half-logged)."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from datetime import date
from pathlib import Path

import dagster as dg
import pyarrow.compute as pc
import pytest

from pipelines.lake import Lake
from pipelines.settings import LakehouseSettings

pytestmark = pytest.mark.integration
DAY_1, DAY_2 = "2020-03-02", "2020-03-03"


@pytest.fixture
def own_minio(tmp_path: Path) -> Iterator[object]:
    """A MinIO server of this test's own (it is killed and restarted), same port and data."""
    from infra.minio import MinioServer

    cache = LakehouseSettings(_env_file=None).cache_dir  # type: ignore[call-arg]
    server = MinioServer.create(cache, tmp_path / "minio" / "data")
    with server:
        yield server


def materialise(
    settings: LakehouseSettings, keys: list[str], day: str, instance: dg.DagsterInstance
) -> dg.ExecuteInProcessResult:
    from orchestration.definitions import build_definitions

    defs = build_definitions(settings)
    job = dg.define_asset_job(
        "fault_job", selection=dg.AssetSelection.keys(*[dg.AssetKey(k.split("/")) for k in keys])
    )
    resolved = dg.Definitions.merge(defs, dg.Definitions(jobs=[job])).resolve_job_def("fault_job")
    return resolved.execute_in_process(instance=instance, partition_key=day, raise_on_error=False)


def day_rows(lake: Lake, table: str, day: str) -> int:
    days = lake.read("bronze", table, columns=["landing_date"])["landing_date"]
    return int(pc.sum(pc.equal(days, date.fromisoformat(day))).as_py() or 0)


def test_minio_killed_mid_load_is_retried_and_the_day_lands_once(
    own_minio: object, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from conftest import _isolated_env

    minio = own_minio
    settings = _isolated_env(monkeypatch, tmp_path / "home", **minio.env("faults"))  # type: ignore[attr-defined]
    lake = Lake(settings)
    lake.ensure_ready()
    instance = dg.DagsterInstance.ephemeral()
    keys = ["landing/ambulance_calls", "bronze/ambulance_calls"]
    assert materialise(settings, keys, DAY_1, instance).success
    assert materialise(settings, keys[:1], DAY_2, instance).success
    good_version = lake.delta_table("bronze", "ambulance_calls").version()
    day_1_rows = day_rows(lake, "ambulance_calls", DAY_1)

    # Kill MinIO as the bronze step starts; bring it back once the step has failed.
    events: list[str] = []
    earlier = {r.run_id for r in instance.get_runs()}

    def step_events(kind: dg.DagsterEventType) -> list[object]:
        runs = [r.run_id for r in instance.get_runs() if r.run_id not in earlier]
        return [e for run_id in runs for e in instance.all_logs(run_id, of_type=kind)]

    def saboteur() -> None:
        deadline = time.monotonic() + 300
        while time.monotonic() < deadline and not step_events(dg.DagsterEventType.STEP_START):
            time.sleep(0.05)
        minio.server.kill()  # type: ignore[attr-defined]
        events.append("killed")
        while time.monotonic() < deadline and not step_events(
            dg.DagsterEventType.STEP_UP_FOR_RETRY
        ):
            time.sleep(0.2)
        minio.start()  # type: ignore[attr-defined]
        events.append("restarted")

    thread = threading.Thread(target=saboteur, daemon=True)
    thread.start()
    result = materialise(settings, keys[1:], DAY_2, instance)
    thread.join(60)
    assert events == ["killed", "restarted"]

    logs = instance.all_logs(result.run_id)
    kinds = [e.dagster_event.event_type for e in logs if e.dagster_event]
    assert dg.DagsterEventType.STEP_UP_FOR_RETRY in kinds  # the failure was seen and retried
    failure = next(
        e
        for e in logs
        if e.dagster_event and e.dagster_event.event_type == dg.DagsterEventType.STEP_UP_FOR_RETRY
    )
    assert "bronze__ambulance_calls" in (failure.step_key or "")
    assert result.success, "the retry after MinIO came back completed the day"

    # The table moved from the last good version to exactly one new one; each day once.
    table = lake.delta_table("bronze", "ambulance_calls")
    assert table.version() == good_version + 1
    assert day_rows(lake, "ambulance_calls", DAY_1) == day_1_rows
    landed = result.asset_materializations_for_node("bronze__ambulance_calls")
    assert day_rows(lake, "ambulance_calls", DAY_2) == landed[-1].metadata["rows_accepted"].value
    # Re-running the day changes nothing but the version.
    again = materialise(settings, keys[1:], DAY_2, instance)
    assert again.success
    assert day_rows(lake, "ambulance_calls", DAY_2) == landed[-1].metadata["rows_accepted"].value


def test_a_broken_delivery_fails_at_once_without_retries(
    local_settings: LakehouseSettings,
) -> None:
    lake = Lake(local_settings)
    lake.put_file(f"landing/ambulance_calls/{DAY_1}/calls.csv", b"call_id,call_ts\nx,2020\n")
    instance = dg.DagsterInstance.ephemeral()
    started = time.monotonic()
    result = materialise(local_settings, ["bronze/ambulance_calls"], DAY_1, instance)
    assert not result.success
    assert time.monotonic() - started < 60  # no 10 + 20 + 40 s of retries
    kinds = [
        e.dagster_event.event_type for e in instance.all_logs(result.run_id) if e.dagster_event
    ]
    assert dg.DagsterEventType.STEP_UP_FOR_RETRY not in kinds
    (failure,) = [e for e in result.all_events if e.event_type == dg.DagsterEventType.STEP_FAILURE]
    message = str(failure.event_specific_data.error)  # type: ignore[union-attr]
    assert "[emergency_line_103]" in message and "calls.csv" in message
    assert "missing contract column(s): district" in message


def test_training_with_the_mlflow_server_down_stops_before_any_work(
    local_settings: LakehouseSettings, monkeypatch: pytest.MonkeyPatch
) -> None:
    from infra.process import free_port
    from ml import ull
    from ml.tracking import TrackingServerDown

    uri = f"http://127.0.0.1:{free_port()}"  # nothing listens there
    monkeypatch.setenv("LAKEHOUSE_MLFLOW_TRACKING_URI", uri)
    settings = LakehouseSettings(_env_file=None)  # type: ignore[call-arg]
    started = time.monotonic()
    with pytest.raises(TrackingServerDown, match="does not answer.*logged nothing"):
        ull.run_ull_scoring(settings)
    assert time.monotonic() - started < 30
    assert not Lake(settings).table_exists("gold", "ml_ull_scores")


def test_the_mlflow_server_dying_mid_run_fails_the_job_and_keeps_what_was_logged(
    minio_server: object, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import mlflow
    from mlflow.exceptions import MlflowException

    from infra.mlflow_server import MlflowServer
    from ml.tracking import tracked_run

    m = minio_server
    server = MlflowServer(
        tmp_path / "mlflow",
        m.endpoint,  # type: ignore[attr-defined]
        m.access_key,  # type: ignore[attr-defined]
        m.secret_key,  # type: ignore[attr-defined]
    )
    monkeypatch.setenv("MLFLOW_HTTP_REQUEST_MAX_RETRIES", "1")
    monkeypatch.setenv("MLFLOW_HTTP_REQUEST_TIMEOUT", "5")
    with server:
        monkeypatch.setenv("LAKEHOUSE_MLFLOW_TRACKING_URI", server.tracking_uri)
        settings = LakehouseSettings(_env_file=None)  # type: ignore[call-arg]
        with pytest.raises(MlflowException), tracked_run(settings, "faults", "dies") as run:
            run_id = run.info.run_id
            mlflow.log_metric("epoch_loss", 0.5, step=1)
            server.server.kill()  # type: ignore[union-attr]
            mlflow.log_metric("epoch_loss", 0.4, step=2)  # the job fails here, loudly
        mlflow.end_run()  # the client forgets the run it could not end
        server.start()  # same port, same store
        kept = mlflow.MlflowClient(server.tracking_uri).get_run(run_id)
    assert kept.data.metrics["epoch_loss"] == 0.5  # what was logged before is there
    assert kept.info.status != "FINISHED"  # and the run is not passed off as complete


def test_a_spark_job_killed_mid_way_is_rerun_to_the_same_silver(
    local_settings: LakehouseSettings,
) -> None:
    """The fiscal silver job (two tables, written one after the other) on Spark, SIGKILLed
    with its JVM as soon as its first table commits; the re-run ends with silver identical to
    an untroubled run's (the DuckDB engine's, proven equal to Spark's elsewhere)."""
    import os
    import signal
    import subprocess
    import sys
    from datetime import date as day_

    from pipelines.silver_run import land_and_ingest, select, silver_snapshot, snapshot_differences

    lake = Lake(local_settings)
    lake.ensure_ready()
    days = [day_(2020, 3, 2), day_(2020, 3, 3)]
    (fiscal,) = select(["fiscal"])
    land_and_ingest(lake, [fiscal], days, seed=11, scale=0.1)
    command = [
        sys.executable, "-m", "pipelines.silver_run", "--only", "fiscal", "--engine", "spark",
        "--days", ",".join(d.isoformat() for d in days),
    ]  # fmt: skip
    first_log = Path(lake.root) / "silver" / "fiscal_district_daily" / "_delta_log"
    job = subprocess.Popen(
        command, env=os.environ.copy(), start_new_session=True,
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )  # fmt: skip
    deadline = time.monotonic() + 300
    while time.monotonic() < deadline and job.poll() is None:
        if first_log.is_dir() and any(first_log.glob("*.json")):
            break
        time.sleep(0.02)
    assert job.poll() is None, "the job ended before it could be killed"
    os.killpg(job.pid, signal.SIGKILL)  # the Python driver and its JVM, mid-way
    job.wait()
    second = lake.table_exists("silver", "pharmacy_demand_daily")

    rerun = subprocess.run(command, env=os.environ.copy(), capture_output=True, text=True)
    assert rerun.returncode == 0, rerun.stderr[-3000:]
    after_rerun = silver_snapshot(lake, [fiscal])

    fiscal.run_silver(lake, days, lambda: None, "duckdb")  # type: ignore[arg-type,return-value]
    untroubled = silver_snapshot(lake, [fiscal])
    assert snapshot_differences(after_rerun, untroubled) == []
    assert all(frame.height > 0 for frame in after_rerun.values())
    print(f"killed after the first table; second table existed then: {second}")
