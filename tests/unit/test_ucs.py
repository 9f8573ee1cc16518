"""UCS, the talent platform: the simulated change feed, its contracts at the bronze boundary,
pseudonyms, and the paginated API served over real HTTP on 127.0.0.1."""

import json
import math
import urllib.error
import urllib.request
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import numpy as np
import polars as pl
import pytest
from pydantic import SecretStr

from contracts.model import Contract
from contracts.ucs import (
    SKILLS,
    UCS_COMPANIES,
    UCS_CONTRACTS,
    UCS_COURSES,
    UCS_JOBS,
    UCS_TALENTS,
    parse_skills,
)
from pipelines.ingest import QUARANTINE_TABLE, ingest_day, read_landing_file, split_file
from pipelines.lake import Lake
from pipelines.privacy import find_clear_identifiers
from pipelines.pseudonymise import MissingPseudonymKey, pseudonym
from pipelines.settings import LakehouseSettings
from pipelines.sources import ucs
from pipelines.sources.ucs_api import UcsApiError, UcsApiServer, fetch_day
from pipelines.sources.ucs_professions import PROFESSIONS

DAY = date(2020, 3, 2)
NOW = datetime(2026, 1, 1, tzinfo=UTC)
KEY = "test-pseudonym-key"
SIMULATE = ucs.SIMULATORS  # table -> simulate_<entity>_day
# Scales with a handful of changes a day for each table (companies and courses change rarely).
BUSY = {"ucs_talents": 0.2, "ucs_jobs": 0.2, "ucs_companies": 1.0, "ucs_courses": 1.0}


@pytest.fixture
def lake(local_settings: LakehouseSettings) -> Lake:
    settings = local_settings.model_copy(update={"pseudonym_key": SecretStr(KEY)})
    lake = Lake(settings)
    lake.ensure_ready()
    return lake


def _forget_the_platform() -> None:
    for cached in (
        ucs.talents,
        ucs.companies,
        ucs.courses,
        ucs._courses_by_profession,
        ucs._companies_by_industry,
        ucs.postings,
        ucs._talent_block,
        ucs._company_block,
        ucs._course_block,
    ):
        cached.cache_clear()


# -- the simulator --------------------------------------------------------------------------------
def test_the_feed_is_deterministic_by_seed() -> None:
    first = {table: simulate(DAY, 7, 0.05) for table, simulate in SIMULATE.items()}
    _forget_the_platform()  # drawn again from scratch, not served from a cache
    again = {table: simulate(DAY, 7, 0.05) for table, simulate in SIMULATE.items()}
    for table, frame in first.items():
        assert frame.equals(again[table]), table
    assert not ucs.simulate_talents_day(DAY, 8, 0.05).equals(first["ucs_talents"])


def test_a_talent_is_the_same_person_at_any_scale() -> None:
    small = ucs.talents(7, 0.01).records[5]
    large = ucs.talents(7, 0.1).records[5]
    assert small == large
    assert ucs.true_profession(7, small.talent_id) == PROFESSIONS[small.profession].key


def test_a_day_holds_only_the_changes_of_that_day() -> None:
    almaty = ZoneInfo("Asia/Almaty")
    for contract in UCS_CONTRACTS:
        frame = SIMULATE[contract.table](DAY, 7, BUSY[contract.table])
        assert frame.height > 0, contract.table
        changed = [datetime.fromisoformat(s).astimezone(almaty) for s in frame["updated_at"]]
        assert {c.date() for c in changed} == {DAY}, contract.table
        assert frame[contract.keys[0]].is_unique().all(), contract.table
    # ~60k talents at full scale, each changing every ~45 days: ~900 changes a day.
    talents = ucs.simulate_talents_day(DAY, 7, 0.2).height
    assert 100 < talents < 300


def test_talents_update_over_days_and_jobs_open_then_close() -> None:
    days = [DAY + timedelta(days=i) for i in range(21)]
    talents = pl.concat([ucs.simulate_talents_day(d, 7, 0.05) for d in days])
    changed_twice = talents.group_by("talent_id").len().filter(pl.col("len") > 1)
    assert changed_twice.height > 0
    jobs = pl.concat([ucs.simulate_jobs_day(d, 7, 0.05) for d in days])
    closed = jobs.filter(pl.col("status") == "closed")
    opened = jobs.filter(pl.col("status") == "open")["job_id"]
    assert closed.height > 0 and opened.len() > 0
    reopened = closed.join(opened.to_frame(), on="job_id")
    assert (reopened["updated_at"] > reopened["posted_at"]).all()


def test_talents_and_jobs_share_the_vocabulary_and_match_by_profession() -> None:
    assert {s for p in PROFESSIONS for s in p.skills} <= set(SKILLS)
    days = [DAY + timedelta(days=i) for i in range(3)]
    talents = pl.concat([ucs.simulate_talents_day(d, 7, 0.1) for d in days])
    jobs = pl.concat([ucs.simulate_jobs_day(d, 7, 0.1) for d in days])
    talent_skills = [set(parse_skills(s) or ()) for s in talents["skills"]]
    job_skills = [set(parse_skills(s) or ()) for s in jobs["required_skills"]]
    assert all(talent_skills) and all(job_skills)  # every list parses against SKILLS
    talent_professions = [ucs.true_profession(7, t) for t in talents["talent_id"]]
    # The hidden profession is recoverable only through the simulator, never from the data.
    assert not {"profession", "true_profession"} & set(talents.columns + jobs.columns)
    matched = 0
    for job_id, wanted in zip(jobs["job_id"], job_skills, strict=True):
        overlap = [len(wanted & have) / len(wanted | have) for have in talent_skills]
        matched += talent_professions[int(np.argmax(overlap))] == ucs.true_profession(7, job_id)
    assert matched / jobs.height > 0.8


def test_profiles_hold_no_name_email_or_phone() -> None:
    talents = pl.concat(
        [ucs.simulate_talents_day(DAY + timedelta(days=i), 7, 0.1) for i in range(3)]
    )
    for name, email, text in talents.select("full_name", "email", "profile_text").iter_rows():
        assert all(part not in text for part in name.split()), text
        assert email not in text
    texts = talents.select("profile_text").to_arrow()
    jobs = ucs.simulate_jobs_day(DAY, 7, 0.1).select("description").to_arrow()
    courses = ucs.simulate_courses_day(DAY, 7, 1.0).select("description").to_arrow()
    for table in (texts, jobs, courses):
        assert find_clear_identifiers(table) == []
    assert len(set(talents["profile_text"])) == talents.height  # varied, not one template


# -- the bronze boundary ----------------------------------------------------------------------------
def test_simulated_days_pass_their_contracts_into_bronze(lake: Lake) -> None:
    written = {
        "ucs_talents": ucs.write_talents_day,
        "ucs_companies": ucs.write_companies_day,
        "ucs_jobs": ucs.write_jobs_day,
        "ucs_courses": ucs.write_courses_day,
    }
    for contract in UCS_CONTRACTS:
        uri, rows = written[contract.table](lake, DAY, 7, BUSY[contract.table])
        report = ingest_day(lake, contract, DAY, now=NOW)
        assert rows > 0 and report.rows_quarantined == 0, report.files[0].quarantined.head(3)
        assert report.rows_in == report.rows_accepted == rows
        assert uri.endswith(
            {"ucs_companies": ".csv", "ucs_courses": ".parquet"}.get(contract.table, ".jsonl")
        )


def test_a_day_without_changes_lands_a_header_and_ingests_zero_rows(lake: Lake) -> None:
    empty = pl.DataFrame(schema=dict.fromkeys(UCS_COURSES.column_names, pl.Utf8))
    uri, rows = ucs.land_changes(lake, UCS_COURSES, DAY, empty, "courses", "parquet")
    assert uri.endswith(".csv") and rows == 0
    report = ingest_day(lake, UCS_COURSES, DAY, now=NOW)
    assert report.rows_in == report.rows_accepted == 0


def _valid_row(contract: Contract) -> dict[str, str | None]:
    return SIMULATE[contract.table](DAY, 7, BUSY[contract.table]).row(0, named=True)


BAD_VALUES = [
    (UCS_TALENTS, "district", "Astana", "district: known_district"),
    (UCS_TALENTS, "birth_year", "1900", "birth_year: greater_than_or_equal_to(1940"),
    (UCS_TALENTS, "birth_year", "nineteen", "birth_year: not a valid int"),
    (UCS_TALENTS, "education_level", "kindergarten", "education_level: isin"),
    (UCS_TALENTS, "university", "Hogwarts", "university: isin"),
    (UCS_TALENTS, "skills", "Python;Juggling", "skills: known_skills"),
    (UCS_TALENTS, "courses_taken", "CRS-00001;Yoga", "courses_taken: course_id_list"),
    (UCS_TALENTS, "years_experience", "-1", "years_experience: greater_than_or_equal_to(0"),
    (UCS_TALENTS, "profile_text", None, "profile_text: not_nullable"),
    (UCS_TALENTS, "created_at", "2099-01-01T10:00:00+06:00", "created_at: not_in_future"),
    (UCS_TALENTS, "updated_at", "2020-02-01T10:00:00+06:00", "outside the delivery window"),
    (UCS_COMPANIES, "industry", "mining", "industry: isin"),
    (UCS_COMPANIES, "employees", "-5", "employees: greater_than_or_equal_to(0"),
    (UCS_COMPANIES, "updated_at", "2099-03-02T10:00:00+06:00", "updated_at: not_in_future"),
    (UCS_JOBS, "salary_min_kzt", "-100", "salary_min_kzt: greater_than_or_equal_to(0"),
    (UCS_JOBS, "employment_type", "gig", "employment_type: isin"),
    (UCS_JOBS, "status", "paused", "status: isin"),
    (UCS_JOBS, "required_skills", None, "required_skills: not_nullable"),
    (UCS_JOBS, "required_skills", "", "required_skills: known_skills"),
    (UCS_JOBS, "posted_at", "2099-01-01T10:00:00+06:00", "posted_at: not_in_future"),
    (UCS_COURSES, "hours", "0", "hours: greater_than_or_equal_to(1"),
    (UCS_COURSES, "format", "hologram", "format: isin"),
    (UCS_COURSES, "skills_taught", "Basket Weaving", "skills_taught: known_skills"),
    (UCS_COURSES, "updated_at", "yesterday", "updated_at: not a valid timestamp"),
]


@pytest.mark.parametrize(
    ("contract", "column", "value", "rule"),
    BAD_VALUES,
    ids=[f"{c.table}.{col}={v}" for c, col, v, _ in BAD_VALUES],
)
def test_each_rule_quarantines_the_row_with_its_reason(
    contract: Contract, column: str, value: str | None, rule: str
) -> None:
    good = _valid_row(contract)
    key = contract.keys[0]
    bad = {**good, key: good[key] + "-bad", column: value}
    file = f"landing/{contract.table}/{DAY}/changes.csv"
    payload = pl.DataFrame([good, bad], schema=dict.fromkeys(good, pl.Utf8)).write_csv()
    raw = read_landing_file(payload.encode(), file, contract)
    result = split_file(raw, file, contract, DAY, now=NOW, pseudonym_key=KEY.encode())
    assert result.rows_in == 2 and result.accepted.height == 1
    quarantined = result.quarantined.row(0, named=True)
    assert rule in quarantined["rule"]
    assert quarantined["row_number"] == 2 and quarantined["file"] == file
    assert quarantined["source"] == "ucs_platform"
    assert json.loads(quarantined["record"])[key] == bad[key]


def test_names_and_emails_never_reach_bronze_or_quarantine_in_the_clear(lake: Lake) -> None:
    talents = ucs.simulate_talents_day(DAY, 7, 0.1)
    broken = talents.head(2).with_columns(pl.lit("Hogwarts").alias("university"))
    ucs.land_changes(lake, UCS_TALENTS, DAY, pl.concat([talents, broken]), "talents", "jsonl")
    report = ingest_day(lake, UCS_TALENTS, DAY, now=NOW)
    assert report.rows_quarantined == 2
    assert report.rows_in == report.rows_accepted + report.rows_quarantined

    bronze = lake.read("bronze", "ucs_talents")
    quarantine = lake.read("bronze", QUARANTINE_TABLE)
    expected = {pseudonym(n, KEY.encode(), "full_name") for n in talents["full_name"]}
    assert set(bronze["full_name"].to_pylist()) == expected
    clear = set(talents["full_name"]) | set(talents["email"])
    for record in quarantine["record"].to_pylist():
        values = json.loads(record)
        assert values["full_name"].startswith("ps_") and values["email"].startswith("ps_")
        assert not any(c in record for c in clear)
    assert not clear & set(bronze["full_name"].to_pylist() + bronze["email"].to_pylist())
    assert find_clear_identifiers(bronze) == []
    assert find_clear_identifiers(quarantine) == []


def test_talents_without_a_pseudonym_key_are_refused(local_settings: LakehouseSettings) -> None:
    lake = Lake(local_settings.model_copy(update={"pseudonym_key": SecretStr("")}))
    lake.ensure_ready()
    ucs.write_talents_day(lake, DAY, 7, 0.05)
    with pytest.raises(MissingPseudonymKey, match="LAKEHOUSE_PSEUDONYM_KEY"):
        ingest_day(lake, UCS_TALENTS, DAY, now=NOW)


# -- the API, over real HTTP --------------------------------------------------------------------------
def test_the_client_follows_every_page_into_one_landing_file(lake: Lake) -> None:
    expected = ucs.simulate_talents_day(DAY, 7, 0.05)
    with UcsApiServer(ucs.simulator_feed(7, 0.05), token="s3cret") as server:
        uri, rows = fetch_day(lake, UCS_TALENTS, server.base_url, DAY, "s3cret", page_size=7)
        assert server.requests == math.ceil(expected.height / 7) > 2
    assert uri.endswith(f"landing/ucs_talents/{DAY}/api_ucs_talents_20200302.jsonl")
    assert rows == expected.height
    landed = pl.read_ndjson(lake.get_file(uri), schema=expected.schema)
    assert landed.equals(expected)
    report = ingest_day(lake, UCS_TALENTS, DAY, now=NOW)
    assert report.rows_accepted == rows and report.rows_quarantined == 0


def test_server_errors_and_timeouts_are_retried_with_backoff(lake: Lake) -> None:
    feed = ucs.simulator_feed(7, 0.05)
    # The timeout leaves a good answer seconds to come on a loaded machine (CI runs two test
    # modules beside each other; at 0.5 s the real page once timed out too: 5 requests).
    with UcsApiServer(feed, fail_first=2, stall_first=1, stall_seconds=5.0) as server:
        _, rows = fetch_day(
            lake, UCS_JOBS, server.base_url, DAY, page_size=1000, timeout_s=2.5, backoff_s=0.01
        )
        assert server.requests == 4  # 503, 503, a timeout, then the page
    assert rows == ucs.simulate_jobs_day(DAY, 7, 0.05).height
    with (
        UcsApiServer(feed, fail_first=10) as server,
        pytest.raises(UcsApiError, match="no answer after 3 attempts; last: HTTP 503"),
    ):
        fetch_day(lake, UCS_JOBS, server.base_url, DAY, attempts=3, backoff_s=0.01)


def test_a_request_without_the_token_is_refused_naming_url_and_status(lake: Lake) -> None:
    with UcsApiServer(ucs.simulator_feed(7, 0.05), token="s3cret") as server:
        for token in (None, "guess"):
            with pytest.raises(
                UcsApiError, match=r"/api/v1/companies\?updated_date=2020-03-02.*HTTP 401"
            ):
                fetch_day(lake, UCS_COMPANIES, server.base_url, DAY, token, backoff_s=0.01)
        assert server.requests == 2  # a 4xx is not retried
        bad_day = f"{server.base_url}/api/v1/companies?updated_date=March"
        request = urllib.request.Request(bad_day, headers={"Authorization": "Bearer s3cret"})
        with pytest.raises(urllib.error.HTTPError) as refused:
            urllib.request.urlopen(request, timeout=5)
        assert refused.value.code == 400
    assert lake.list_files("landing/ucs_companies") == []


def test_a_day_without_changes_comes_through_the_api_as_a_header(lake: Lake) -> None:
    def quiet_feed(table: str, day: date) -> pl.DataFrame:
        return pl.DataFrame(schema=dict.fromkeys(UCS_COURSES.column_names, pl.Utf8))

    with UcsApiServer(quiet_feed) as server:
        uri, rows = fetch_day(lake, UCS_COURSES, server.base_url, DAY)
    assert uri.endswith("api_ucs_courses_20200302.csv") and rows == 0
    assert ingest_day(lake, UCS_COURSES, DAY, now=NOW).rows_in == 0


def test_the_source_pulls_from_the_api_only_when_the_settings_name_it(lake: Lake) -> None:
    fetch = ucs.JOBS.fetch_landing_day
    assert fetch is not None
    assert fetch(lake, DAY, lake.settings) is None  # no LAKEHOUSE_UCS_API_URL: files expected
    with UcsApiServer(ucs.simulator_feed(7, 0.05), token="s3cret") as server:
        settings = lake.settings.model_copy(
            update={"ucs_api_url": server.base_url, "ucs_api_token": SecretStr("s3cret")}
        )
        landed = fetch(lake, DAY, settings)
    assert landed is not None and landed[1] == ucs.simulate_jobs_day(DAY, 7, 0.05).height
