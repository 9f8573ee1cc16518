"""Table maintenance: compaction and VACUUM keep every version of the time-travel window
readable, a bad re-run is undone by restoring yesterday's version, and versions older than the
window are gone; on the local lake, on MinIO, and as the weekly Dagster job."""

from datetime import date

import dagster as dg
import pyarrow as pa
import pytest
from deltalake import write_deltalake

from pipelines.lake import Lake
from pipelines.lake.maintenance import delta_tables, maintain, restore
from pipelines.settings import LakehouseSettings

pytestmark = pytest.mark.integration
YESTERDAY, TODAY = date(2020, 3, 2), date(2020, 3, 3)


def rows(day: date, start: int, n: int) -> pa.Table:
    return pa.table(
        {
            "stop_id": [f"S{i:04d}" for i in range(start, start + n)],
            "boardings": list(range(start, start + n)),
            "service_date": pa.array([day] * n, pa.date32()),
        }
    )


def yesterdays_table(lake: Lake) -> tuple[int, pa.Table]:
    """A silver table as yesterday's run left it: a replaced day and a day written in small
    appends (as several writers or Spark tasks leave it); (its version, its rows)."""
    lake.replace_days(
        "silver", "stop_boardings", rows(YESTERDAY, 0, 50), date_column="service_date",
        days=[YESTERDAY],
    )  # fmt: skip
    for k in range(5):
        write_deltalake(
            lake.uri("silver", "stop_boardings"),
            rows(TODAY, 100 + 10 * k, 10),
            mode="append",
            storage_options=lake.storage_options,
        )
    table = lake.delta_table("silver", "stop_boardings")
    return table.version(), table.to_pyarrow_table().sort_by("stop_id")


def check_maintenance_and_restore(lake: Lake) -> None:
    version, yesterday = yesterdays_table(lake)
    # Today a faulty re-run replaces yesterday's partition with 3 wrong rows.
    lake.replace_days(
        "silver", "stop_boardings", rows(YESTERDAY, 900, 3), date_column="service_date",
        days=[YESTERDAY],
    )  # fmt: skip
    assert ("silver", "stop_boardings") in delta_tables(lake)

    result = maintain(lake, "silver", "stop_boardings", keep_days=7)
    assert result.files_before == 6 and result.files_after == 2  # one file per day now
    assert result.files_vacuumed == 0  # everything that left the table did so inside the window
    current = lake.delta_table("silver", "stop_boardings").to_pyarrow_table()
    assert current.num_rows == 3 + 50  # compaction changes files, never rows
    # Yesterday's version is still readable, and restoring it undoes the faulty re-run.
    travelled = lake.delta_table("silver", "stop_boardings")
    travelled.load_as_version(version)
    assert travelled.to_pyarrow_table().sort_by("stop_id").equals(yesterday)
    restored = restore(lake, "silver", "stop_boardings", version)
    assert restored > result.version
    assert lake.read("silver", "stop_boardings").sort_by("stop_id").equals(yesterday)

    # With no window, VACUUM removes every file no current row lives in: time travel is gone.
    emptied = maintain(lake, "silver", "stop_boardings", keep_days=0)
    assert emptied.files_vacuumed > 0
    assert lake.read("silver", "stop_boardings").sort_by("stop_id").equals(yesterday)
    gone = lake.delta_table("silver", "stop_boardings")
    gone.load_as_version(version + 1)  # the faulty re-run's version: its file was vacuumed
    with pytest.raises(Exception, match="(?i)not found|no such file|does not exist"):
        gone.to_pyarrow_table()


def test_maintenance_keeps_the_window_and_restores_yesterday(
    local_settings: LakehouseSettings,
) -> None:
    lake = Lake(local_settings)
    lake.ensure_ready()
    check_maintenance_and_restore(lake)


def test_maintenance_on_minio(s3_settings: LakehouseSettings) -> None:
    check_maintenance_and_restore(Lake(s3_settings))


def test_the_weekly_job_maintains_every_table(local_settings: LakehouseSettings) -> None:
    from orchestration.definitions import build_definitions

    lake = Lake(local_settings)
    lake.ensure_ready()
    yesterdays_table(lake)
    lake.replace_days(
        "bronze", "stops_seen", rows(YESTERDAY, 0, 5), date_column="service_date",
        days=[YESTERDAY],
    )  # fmt: skip
    definitions = build_definitions(local_settings)
    schedule = definitions.get_schedule_def("lake_maintenance_schedule")
    assert schedule.cron_schedule == "0 4 * * 0" and schedule.job_name == "lake_maintenance"
    result = definitions.get_job_def("lake_maintenance").execute_in_process(
        instance=dg.DagsterInstance.ephemeral()
    )
    assert result.success
    totals = result.output_for_node("compact_and_vacuum")
    assert totals["tables"] == 2
    assert totals["files_before"] == 6 + 1 and totals["files_after"] == 2 + 1
    assert totals["time_travel_days"] == 7


def test_the_cli_maintains_and_restores(local_settings: LakehouseSettings) -> None:
    from typer.testing import CliRunner

    from orchestration.cli import app

    lake = Lake(local_settings)
    lake.ensure_ready()
    version, yesterday = yesterdays_table(lake)
    lake.replace_days(
        "silver", "stop_boardings", rows(YESTERDAY, 900, 3), date_column="service_date",
        days=[YESTERDAY],
    )  # fmt: skip
    runner = CliRunner()
    maintained = runner.invoke(app, ["maintain", "--keep-days", "7"])
    assert maintained.exit_code == 0, maintained.output
    assert len(lake.delta_table("silver", "stop_boardings").file_uris()) == 2  # was 6
    restored = runner.invoke(app, ["restore", "silver/stop_boardings", str(version)])
    assert restored.exit_code == 0, restored.output
    assert lake.read("silver", "stop_boardings").sort_by("stop_id").equals(yesterday)
