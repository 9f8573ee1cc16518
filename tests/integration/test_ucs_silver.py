"""UCS end to end to silver: the platform's API over HTTP -> landing -> bronze -> MERGE (on
Spark and on the single-node DuckDB engine), on the local lake and on a real MinIO."""

from datetime import date

import polars as pl
import pytest
from pydantic import SecretStr

from contracts.ucs import UCS_CONTRACTS, UCS_TALENTS
from pipelines.ingest import ingest_day
from pipelines.lake import Lake
from pipelines.privacy import find_clear_identifiers
from pipelines.settings import LakehouseSettings
from pipelines.sources import ucs
from pipelines.sources.ucs_api import UcsApiServer, fetch_day
from pipelines.spark import spark_session

pytestmark = pytest.mark.integration
DAYS = [date(2020, 3, 2), date(2020, 3, 3)]
SEED = 12
# A small city whose every table changes on these days (companies and courses change rarely).
SCALES = {"ucs_talents": 0.01, "ucs_jobs": 0.01, "ucs_companies": 0.2, "ucs_courses": 0.3}
SILVER = {  # table -> its key
    "ucs_talents": ["talent_id"],
    "ucs_talent_skills": ["talent_id", "skill"],
    "ucs_companies": ["company_id"],
    "ucs_jobs": ["job_id"],
    "ucs_job_skills": ["job_id", "skill"],
    "ucs_courses": ["course_id"],
}


def small_city(table: str, day: date) -> pl.DataFrame:
    return ucs.SIMULATORS[table](day, SEED, SCALES[table])


def keyed_lake(settings: LakehouseSettings) -> Lake:
    lake = Lake(settings.model_copy(update={"pseudonym_key": SecretStr("integration-key")}))
    lake.ensure_ready()
    return lake


def pull_and_ingest(lake: Lake, base_url: str, day: date) -> dict[str, int]:
    rows = {}
    for contract in UCS_CONTRACTS:
        _, rows[contract.table] = fetch_day(lake, contract, base_url, day, "t0ken", page_size=10)
        report = ingest_day(lake, contract, day)
        assert report.rows_quarantined == 0 and report.rows_accepted == rows[contract.table]
    return rows


def build_silver(lake: Lake, days: list[date], engine: str) -> dict[str, dict[str, int]]:
    results = {}
    for source in ucs.SOURCES:
        used, results[source.name] = source.run_silver(
            lake, days, lambda: spark_session(lake.settings), engine
        )
        assert used == engine
    return results


def silver(lake: Lake, table: str) -> pl.DataFrame:
    frame = pl.from_arrow(lake.read("silver", table))
    assert isinstance(frame, pl.DataFrame)
    return frame.sort(SILVER[table])


ENGINES = pytest.mark.parametrize("engine", ["spark", "duckdb"])


@ENGINES
def test_the_api_feed_reaches_silver_once_per_record_and_reruns_change_nothing(
    engine: str, local_settings: LakehouseSettings, spark_session_for_tests: object
) -> None:
    lake = keyed_lake(local_settings)
    with UcsApiServer(small_city, token="t0ken") as server:
        delivered = [pull_and_ingest(lake, server.base_url, day) for day in DAYS]
        assert all(rows > 0 for day in delivered for rows in day.values())
        build_silver(lake, DAYS, engine)  # a backfill of both days in one run
        first = {table: silver(lake, table) for table in SILVER}

        for contract in UCS_CONTRACTS:
            bronze = pl.from_arrow(lake.read("bronze", contract.table))
            assert isinstance(bronze, pl.DataFrame)
            key = contract.keys[0]
            newest = bronze.group_by(key).agg(pl.col("updated_at").max())
            current = first[contract.table].select(key, "updated_at")
            assert current.height == bronze[key].n_unique() == newest.height
            assert current.sort(key).equals(newest.sort(key).select(current.columns))
        talents = first["ucs_talents"]
        assert first["ucs_talent_skills"].height == talents["skills"].list.len().sum()
        assert (
            first["ucs_job_skills"].height == first["ucs_jobs"]["required_skills"].list.len().sum()
        )
        assert talents["name_pseudonym"].str.starts_with("ps_").all()
        for table in SILVER:
            assert find_clear_identifiers(lake.read("silver", table)) == [], table

        # The first day again, after the second: landed, ingested and merged anew, it brings
        # back no older version and duplicates nothing.
        pull_and_ingest(lake, server.base_url, DAYS[0])
        build_silver(lake, DAYS[:1], engine)
    for table in SILVER:
        assert silver(lake, table).equals(first[table]), table


@ENGINES
def test_a_talent_changed_on_a_later_day_replaces_its_earlier_version(
    engine: str, local_settings: LakehouseSettings, spark_session_for_tests: object
) -> None:
    lake = keyed_lake(local_settings)
    first_day = ucs.simulate_talents_day(DAYS[0], SEED, 0.01)
    talent = first_day.row(0, named=True)
    skills = talent["skills"].split(";")
    dropped, kept = skills[0], skills[1:]
    learned = next(s for s in ("Leadership", "Teamwork", "Problem Solving") if s not in skills)
    changed = {
        **talent,
        "skills": ";".join([*kept, f"  {learned.lower()} "]),  # any case and spacing
        "profile_text": "Moved into a team lead role this spring. " + talent["profile_text"],
        "updated_at": "2020-03-03T21:15:00+06:00",
    }
    second_day = pl.concat([ucs.simulate_talents_day(DAYS[1], SEED, 0.01), pl.DataFrame([changed])])
    ucs.land_changes(lake, UCS_TALENTS, DAYS[0], first_day, "talents", "jsonl")
    ucs.land_changes(lake, UCS_TALENTS, DAYS[1], second_day, "talents", "jsonl")
    spark = lambda: spark_session(lake.settings)  # noqa: E731
    for day in DAYS:
        ingest_day(lake, UCS_TALENTS, day)
        ucs.TALENTS.run_silver(lake, [day], spark, engine)
    ucs.TALENTS.run_silver(lake, DAYS[:1], spark, engine)  # an older day re-run changes nothing

    current = silver(lake, "ucs_talents").filter(pl.col("talent_id") == talent["talent_id"])
    assert current.height == 1
    assert current["profile_text"][0].startswith("Moved into a team lead role")
    assert current["updated_date"][0] == DAYS[1]
    skill_rows = silver(lake, "ucs_talent_skills").filter(
        pl.col("talent_id") == talent["talent_id"]
    )
    expected = set(kept) | {learned}
    assert set(skill_rows["skill"]) == expected and dropped not in expected
    assert set(current["skills"][0]) == expected


@ENGINES
def test_silver_merges_on_minio_under_the_table_lock(
    engine: str, s3_settings: LakehouseSettings, spark_session_for_tests: object
) -> None:
    lake = keyed_lake(s3_settings)
    ucs.write_talents_day(lake, DAYS[0], SEED, 0.01)
    landed = ingest_day(lake, UCS_TALENTS, DAYS[0]).rows_accepted
    spark = lambda: spark_session(lake.settings)  # noqa: E731
    _, stats = ucs.TALENTS.run_silver(lake, DAYS[:1], spark, engine)
    _, again = ucs.TALENTS.run_silver(lake, DAYS[:1], spark, engine)
    assert stats["ucs_talents_rows"] == again["ucs_talents_rows"] == landed > 0
    assert again["ucs_talents_version"] == stats["ucs_talents_version"] + 1  # merged, not appended
    assert again["ucs_talent_skills_rows"] == stats["ucs_talent_skills_rows"] > landed
    objects = lake.minio_client().list_objects(s3_settings.bucket, recursive=True)
    names = [o.object_name for o in objects]
    assert any(n.startswith("silver/ucs_talent_skills/_delta_log/") for n in names)
    assert not [n for n in names if n.startswith("_locks/")]  # every lock released
    assert find_clear_identifiers(lake.read("silver", "ucs_talents")) == []
