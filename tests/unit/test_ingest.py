"""The bronze boundary: contract rules, quarantine with reasons, row accounting."""

import io
import json
from datetime import UTC, date, datetime

import polars as pl
import pyarrow as pa
import pytest

from contracts.ambulance_calls import AMBULANCE_CALLS
from pipelines.ingest import ContractError, ingest_day, read_landing_file, split_file
from pipelines.lake import Lake
from pipelines.settings import LakehouseSettings
from pipelines.sources.ambulance import simulate_day

DAY = date(2020, 3, 2)
NOW = datetime(2026, 1, 1, tzinfo=UTC)
HEADER = "call_id,call_ts,district,reason,age_band,priority,response_min"
GOOD = "AMB-1,2020-03-02T08:15:00+06:00,Almaly,cardiac,45-64,1,12.5"


def split(csv_text: str, file: str = "landing/ambulance_calls/2020-03-02/calls.csv"):
    raw = read_landing_file(csv_text.encode(), file, AMBULANCE_CALLS)
    return split_file(raw, file, AMBULANCE_CALLS, DAY, now=NOW)


def test_valid_rows_are_accepted_typed_and_dated_locally() -> None:
    result = split(
        f"{HEADER}\n{GOOD}\nAMB-2,2020-03-02 00:30:00,Алмалинский район,fever,65+,3,20\n"
    )
    assert result.quarantined.height == 0
    rows = result.accepted.sort("call_id").to_dicts()
    assert rows[0]["call_ts"] == datetime(2020, 3, 2, 2, 15, tzinfo=UTC)
    assert rows[0]["priority"] == 1 and rows[0]["response_min"] == 12.5
    # A naive timestamp is Almaty local time (UTC+6 in 2020): 00:30 local is the day before in UTC.
    assert rows[1]["call_ts"] == datetime(2020, 3, 1, 18, 30, tzinfo=UTC)
    assert rows[1]["call_date"] == DAY


@pytest.mark.parametrize(
    ("bad_row", "rule"),
    [
        ("AMB-3,2020-03-02T08:15:00+06:00,Astana,cardiac,45-64,1,12.5", "district: known_district"),
        ("AMB-3,2020-03-02T08:15:00+06:00,Almaly,hiccups,45-64,1,12.5", "reason: isin"),
        (
            "AMB-3,2020-03-02T08:15:00+06:00,Almaly,cardiac,45-64,7,12.5",
            "priority: less_than_or_equal_to(4",
        ),
        (
            "AMB-3,2020-03-02T08:15:00+06:00,Almaly,cardiac,45-64,1,-3",
            "response_min: greater_than_or_equal_to(0",
        ),
        (
            "AMB-3,2020-03-02T08:15:00+06:00,Almaly,cardiac,45-64,one,12.5",
            "priority: not a valid int",
        ),
        ("AMB-3,yesterday,Almaly,cardiac,45-64,1,12.5", "call_ts: not a valid timestamp"),
        ("AMB-3,,Almaly,cardiac,45-64,1,12.5", "call_ts: not_nullable"),
        ("AMB-3,2027-03-02T08:15:00+06:00,Almaly,cardiac,45-64,1,12.5", "call_ts: not_in_future"),
        (
            "AMB-3,2020-02-20T08:15:00+06:00,Almaly,cardiac,45-64,1,12.5",
            "outside the delivery window",
        ),
    ],
)
def test_each_rule_quarantines_the_row_with_its_reason(bad_row: str, rule: str) -> None:
    result = split(f"{HEADER}\n{GOOD}\n{bad_row}\n")
    assert result.rows_in == 2
    assert result.accepted.height == 1 and result.quarantined.height == 1
    quarantined = result.quarantined.row(0, named=True)
    assert rule in quarantined["rule"]
    assert quarantined["row_number"] == 2
    assert quarantined["source"] == "emergency_line_103"
    assert quarantined["file"].endswith("calls.csv")
    assert json.loads(quarantined["record"])["call_id"] == "AMB-3"


def test_a_row_breaking_several_rules_is_quarantined_once_with_all_reasons() -> None:
    result = split(f"{HEADER}\nAMB-9,2020-03-02T08:15:00+06:00,Astana,hiccups,45-64,9,12.5\n")
    assert result.quarantined.height == 1
    assert result.quarantined["rule"][0].count(";") == 2


def test_missing_column_refuses_the_file_naming_source_file_and_column() -> None:
    with pytest.raises(ContractError) as error:
        split(
            "call_id,call_ts,district,reason,age_band,priority\nAMB-1,2020-03-02T08:15:00+06:00,Almaly,cardiac,45-64,1\n"
        )
    message = str(error.value)
    assert "emergency_line_103" in message and "calls.csv" in message and "response_min" in message


def test_extra_columns_are_dropped_and_reported() -> None:
    result = split(f"{HEADER},patient_name\n{GOOD},Aigerim\n")
    assert result.dropped_columns == ["patient_name"]
    assert "patient_name" not in result.accepted.columns


@pytest.mark.parametrize("payload", [b"", b"\xff\xfe\x00garbage\x00\n\x01"])
def test_empty_or_unreadable_files_fail_clearly(payload: bytes) -> None:
    with pytest.raises(ContractError, match="emergency_line_103"):
        raw = read_landing_file(payload, "x.csv", AMBULANCE_CALLS)
        split_file(raw, "x.csv", AMBULANCE_CALLS, DAY, now=NOW)


def test_json_lines_and_parquet_are_accepted_like_csv() -> None:
    calls = simulate_day(DAY, seed=7, scale=0.05)
    jsonl = "\n".join(json.dumps(r) for r in calls.to_dicts()).encode()
    parquet = io.BytesIO()
    calls.with_columns(pl.col("priority").cast(pl.Int64)).write_parquet(parquet)
    for name, payload in (("calls.jsonl", jsonl), ("calls.parquet", parquet.getvalue())):
        raw = read_landing_file(payload, name, AMBULANCE_CALLS)
        result = split_file(raw, name, AMBULANCE_CALLS, DAY, now=NOW)
        assert result.accepted.height == calls.height, name


def test_a_day_lands_in_bronze_with_rows_accounted_for(local_settings: LakehouseSettings) -> None:
    lake = Lake(local_settings)
    lake.ensure_ready()
    calls = simulate_day(DAY, seed=3, scale=0.1)
    broken = calls.head(3).with_columns(pl.lit("Astana").alias("district"))
    lake.put_file(
        f"landing/ambulance_calls/{DAY}/calls.csv",
        pl.concat([calls, broken]).write_csv().encode(),
    )
    report = ingest_day(lake, AMBULANCE_CALLS, DAY, now=NOW)
    assert report.rows_in == calls.height + 3
    assert report.rows_accepted == calls.height and report.rows_quarantined == 3
    assert lake.read("bronze", "ambulance_calls").num_rows == calls.height
    quarantine = lake.read("bronze", "_quarantine")
    assert quarantine.num_rows == 3
    assert set(quarantine["rule"].to_pylist()) == {"district: known_district"}


def _two_days_in_bronze(settings: LakehouseSettings) -> Lake:
    """A lake holding two simulated days of ambulance calls in bronze."""
    lake = Lake(settings)
    lake.ensure_ready()
    for day in (DAY, date(2020, 3, 3)):
        lake.put_file(
            f"landing/ambulance_calls/{day}/calls.csv",
            simulate_day(day, seed=3, scale=0.1).write_csv().encode(),
        )
        ingest_day(lake, AMBULANCE_CALLS, day, now=NOW)
    return lake


def test_reingesting_a_day_replaces_it(local_settings: LakehouseSettings) -> None:
    lake = _two_days_in_bronze(local_settings)
    before = lake.read("bronze", "ambulance_calls").sort_by("call_id")
    ingest_day(lake, AMBULANCE_CALLS, DAY, now=NOW)
    after = lake.read("bronze", "ambulance_calls").sort_by("call_id")
    assert after.num_rows == before.num_rows
    assert after.equals(before.select(after.column_names))


def test_a_clean_day_costs_no_quarantine_commit_and_a_cleaned_day_empties_its_quarantine(
    local_settings: LakehouseSettings,
) -> None:
    lake = Lake(local_settings)
    lake.ensure_ready()
    calls = simulate_day(DAY, seed=3, scale=0.1)
    broken = calls.head(2).with_columns(pl.lit("Astana").alias("district"))
    path = f"landing/ambulance_calls/{DAY}/calls.csv"
    lake.put_file(path, pl.concat([calls, broken]).write_csv().encode())
    first = ingest_day(lake, AMBULANCE_CALLS, DAY, now=NOW)
    assert first.rows_quarantined == 2 and first.quarantine_version == 0
    first_quarantine = lake.read("bronze", "_quarantine")

    # Corrected and re-landed: the day's quarantined rows go (a commit that removes them).
    lake.put_file(path, calls.write_csv().encode())
    cleaned = ingest_day(lake, AMBULANCE_CALLS, DAY, now=NOW)
    assert cleaned.rows_quarantined == 0 and cleaned.quarantine_version == 1
    assert lake.read("bronze", "_quarantine").num_rows == 0

    # Clean again, and another clean day: nothing to remove, nothing to add, no commit.
    again = ingest_day(lake, AMBULANCE_CALLS, DAY, now=NOW)
    other = date(2020, 3, 3)
    lake.put_file(
        f"landing/ambulance_calls/{other}/calls.csv",
        simulate_day(other, seed=3, scale=0.1).write_csv().encode(),
    )
    next_day = ingest_day(lake, AMBULANCE_CALLS, other, now=NOW)
    assert again.quarantine_version == next_day.quarantine_version == 1
    assert lake.delta_table("bronze", "_quarantine").version() == 1
    assert lake.delta_table("bronze", "ambulance_calls").version() == 3

    # Another source's quarantined rows on the same day are not the ambulance day's: a clean
    # ambulance re-run still commits nothing, and leaves them be.
    theirs = first_quarantine.set_column(
        first_quarantine.schema.get_field_index("source_table"),
        "source_table",
        pa.array(["receipts"] * first_quarantine.num_rows),
    )
    version = lake.replace_days(
        "bronze",
        "_quarantine",
        theirs,
        date_column="landing_date",
        days=[DAY],
        within={"source_table": "receipts"},
    )
    assert ingest_day(lake, AMBULANCE_CALLS, DAY, now=NOW).quarantine_version == version == 2
    assert lake.read("bronze", "_quarantine")["source_table"].to_pylist() == ["receipts"] * 2


def test_days_load_in_batches_of_rows_one_commit_each_and_a_broken_day_stops_its_batch(
    local_settings: LakehouseSettings,
) -> None:
    from datetime import timedelta

    from pipelines.ingest import ingest_days

    lake = Lake(local_settings)
    lake.ensure_ready()
    days = [DAY + timedelta(days=n) for n in range(5)]
    landed = {}
    for day in days:
        calls = simulate_day(day, seed=3, scale=0.1)
        landed[day] = calls.height
        lake.put_file(f"landing/ambulance_calls/{day}/calls.csv", calls.write_csv().encode())
    per_day = max(landed.values())
    # Two days fit in a batch: five days are three commits, each day's report names its commit.
    reports = list(ingest_days(lake, AMBULANCE_CALLS, days, now=NOW, batch_rows=2 * per_day))
    assert [r.landing_date for r in reports] == days
    assert [r.rows_accepted for r in reports] == [landed[d] for d in days]
    assert [r.bronze_version for r in reports] == [0, 0, 1, 1, 2]
    assert lake.read("bronze", "ambulance_calls").num_rows == sum(landed.values())

    # The whole range again, with day 4's file broken: the batch of days 1-2 is reloaded (the
    # same rows), the batch holding day 4 refuses before writing, and nothing is duplicated.
    lake.put_file(f"landing/ambulance_calls/{days[3]}/calls.csv", b"call_id;oops\n1;2\n")
    loaded = []
    with pytest.raises(ContractError, match="ambulance_calls"):
        for report in ingest_days(lake, AMBULANCE_CALLS, days, now=NOW, batch_rows=2 * per_day):
            loaded.append(report.landing_date)
    assert loaded == days[:2]
    assert lake.delta_table("bronze", "ambulance_calls").version() == 3
    assert lake.read("bronze", "ambulance_calls").num_rows == sum(landed.values())


def test_a_day_without_files_is_an_error(local_settings: LakehouseSettings) -> None:
    lake = Lake(local_settings)
    lake.ensure_ready()
    with pytest.raises(ContractError, match="no landing file"):
        ingest_day(lake, AMBULANCE_CALLS, DAY)


def test_the_fast_timestamp_path_reads_every_form_as_the_general_parse_does() -> None:
    from pipelines.ingest import _timestamps, _typed_timestamps

    raw = pl.Series(
        "ts",
        [
            "2020-03-02T08:15:00Z",
            "2020-03-02T08:15:00.250+06:00",
            " 2020-03-02T08:15:00+0600 ",
            "2020-03-02 08:15:00+06:00",
            "2020-03-02 08:15:00Z",
            "2020-03-02T08:15:00",  # local wall time, Asia/Almaty
            "2020-03-02 08:15:00.5",
            "02.03.2020 08:15",
            "not a time",
            "",
            None,
        ],
    )
    general = pl.select(_timestamps(pl.lit(raw).str.strip_chars(), "Asia/Almaty")).to_series()
    fast = _typed_timestamps(raw, "Asia/Almaty")
    assert fast.to_list() == general.to_list()
    assert fast.null_count() == 4 and fast.dtype == pl.Datetime("us", "UTC")
    assert fast[0].isoformat() == fast[4].isoformat() == "2020-03-02T08:15:00+00:00"
    assert fast[3] == fast[2]  # a space for the `T`, with and without the colon in the offset
    assert fast[1].isoformat() == "2020-03-02T02:15:00.250000+00:00"
    assert fast[5] == fast[2]  # local 08:15 in Almaty (UTC+6) is 02:15 UTC

    padded = pl.Series(
        "ts", ["\t2020-03-02T08:15:00Z", "2020-03-02T08:15:00Z\t", " 2020-03-02T08:15:00"]
    )
    assert _typed_timestamps(padded, "Asia/Almaty").to_list() == (
        pl.select(_timestamps(pl.lit(padded).str.strip_chars(), "Asia/Almaty"))
        .to_series()
        .to_list()
    )


@pytest.mark.parametrize("dtype", ["int", "float"])
def test_numbers_cast_as_they_came_read_what_the_stripped_text_reads(dtype: str) -> None:
    from contracts.model import POLARS_TYPES
    from pipelines.ingest import _typed_numbers

    values = [
        "12", " 12", "12 ", "\t12\t", "+12", "-0", "00012", "1.5", " 1.5 ", "1e3", ".5", "5.",
        "nan", "inf", "-inf", "1_000", "0x10", "12abc", "1,5", "١٢", "", "   ", None,
        "9223372036854775808", "1.7976931348623157e309",
    ]  # fmt: skip
    raw = pl.Series("x", values)
    expected = raw.str.strip_chars().cast(POLARS_TYPES[dtype], strict=False)
    typed = _typed_numbers(raw, POLARS_TYPES[dtype])
    assert typed.name == "x" and typed.dtype == expected.dtype
    assert typed.to_list() == expected.to_list() or (
        # NaN != NaN in a list comparison: compare the text of each
        [str(v) for v in typed.to_list()] == [str(v) for v in expected.to_list()]
    )
    assert typed.null_count() > 5  # the battery holds values neither reads


@pytest.mark.parametrize(
    "zone", ["Asia/Almaty", "America/New_York", "Australia/Lord_Howe", "Asia/Kathmandu", "UTC"]
)
def test_local_dates_by_one_offset_match_the_conversion_of_each_value(zone: str) -> None:
    """Across clock changes (Almaty's move to +05:00 on 2024-03-01, the US and Lord Howe's
    half-hour summer time), a span a day long and a month long."""
    import random
    from datetime import timedelta

    from pipelines.ingest import local_dates

    rng = random.Random(7)
    starts = [datetime(2024, 2, 28, 12), datetime(2021, 3, 13), datetime(2021, 4, 3, 10)]
    starts += [datetime(2021, 10, 2, 10), datetime(2021, 11, 6), datetime(2020, 3, 2)]
    for start in starts:
        for days in (1, 3, 30):
            span = days * 86_400
            stamps = pl.Series(
                [
                    start.replace(tzinfo=UTC) + timedelta(seconds=rng.randint(0, span))
                    for _ in range(5_000)
                ]
                + [None],
                dtype=pl.Datetime("us", "UTC"),
            )
            expected = stamps.dt.convert_time_zone(zone).dt.date()
            assert local_dates(stamps, zone).equals(expected), (zone, start, days)
    assert local_dates(pl.Series([None], dtype=pl.Datetime("us", "UTC")), zone).to_list() == [None]


def _land_calls_with_bad_rows(lake: Lake) -> bytes:
    """A day of calls with three out-of-city rows inside and a cut-off last line."""
    calls = simulate_day(DAY, seed=3, scale=0.1)
    broken = calls.head(3).with_columns(pl.lit("Astana").alias("district"))
    payload = pl.concat([calls.head(20), broken, calls.tail(-20)]).write_csv().encode()
    payload = payload.rstrip(b"\n")
    lake.put_file(f"landing/ambulance_calls/{DAY}/calls.csv", payload)
    return payload


def test_a_large_csv_read_a_slice_at_a_time_lands_as_the_whole_file_does(
    local_settings: LakehouseSettings, monkeypatch: pytest.MonkeyPatch
) -> None:
    import pipelines.ingest as ingest

    lake = Lake(local_settings)
    lake.ensure_ready()
    payload = _land_calls_with_bad_rows(lake)
    whole = ingest_day(lake, AMBULANCE_CALLS, DAY, now=NOW)
    bronze = lake.read("bronze", "ambulance_calls").sort_by("_source_row")
    quarantine = lake.read("bronze", "_quarantine").sort_by("row_number")
    assert whole.rows_quarantined == 4  # three districts and the cut-off line

    # The same file as a "large" one: counted, its header checked, read 7 rows at a time.
    monkeypatch.setattr(ingest, "SLICED_CSV_ROWS", 10)
    monkeypatch.setattr(ingest, "CHUNK_ROWS", 7)

    def whole_read(*args: object) -> None:
        raise AssertionError("a large CSV was read whole")

    monkeypatch.setattr(ingest, "read_landing_file", whole_read)
    rows = ingest.landing_rows(payload, "calls.csv", AMBULANCE_CALLS)
    assert rows.frame is None and rows.height == whole.rows_in
    sliced = ingest_day(lake, AMBULANCE_CALLS, DAY, now=NOW)
    assert (sliced.rows_in, sliced.rows_accepted, sliced.rows_quarantined) == (
        whole.rows_in,
        whole.rows_accepted,
        whole.rows_quarantined,
    )
    assert lake.read("bronze", "ambulance_calls").sort_by("_source_row").equals(bronze)
    assert lake.read("bronze", "_quarantine").sort_by("row_number").equals(quarantine)


def test_a_broken_line_deep_in_a_large_csv_refuses_the_file_and_writes_nothing(
    local_settings: LakehouseSettings, monkeypatch: pytest.MonkeyPatch
) -> None:
    import pipelines.ingest as ingest

    lake = Lake(local_settings)
    lake.ensure_ready()
    _land_calls_with_bad_rows(lake)
    ingest_day(lake, AMBULANCE_CALLS, DAY, now=NOW)
    version = lake.delta_table("bronze", "ambulance_calls").version()
    before = lake.read("bronze", "ambulance_calls")

    calls = simulate_day(DAY, seed=4, scale=0.1).write_csv().encode().splitlines()
    calls.insert(40, calls[40] + b",an extra field")  # past the first slices
    lake.put_file(f"landing/ambulance_calls/{DAY}/calls.csv", b"\n".join(calls) + b"\n")
    monkeypatch.setattr(ingest, "SLICED_CSV_ROWS", 10)
    monkeypatch.setattr(ingest, "CHUNK_ROWS", 7)
    with pytest.raises(ContractError, match=r"ambulance_calls.*calls\.csv.*unreadable csv"):
        ingest_day(lake, AMBULANCE_CALLS, DAY, now=NOW)
    assert lake.delta_table("bronze", "ambulance_calls").version() == version
    assert lake.read("bronze", "ambulance_calls").equals(before)


def test_counting_and_slicing_a_csv_read_what_reading_it_whole_reads() -> None:
    """Over every CSV of the bad-input corpus (quotes, line ends inside values, BOMs, CRLF,
    ragged rows): the count equals the whole read's rows, and 3-row slices put together equal
    the whole read, wherever the whole read succeeds."""
    from pathlib import Path

    from pipelines.ingest import LandingRows, count_landing_rows

    corpus = Path(__file__).resolve().parents[1] / "corpus"
    checked = 0
    for path in sorted(corpus.rglob("*.csv")):
        payload = path.read_bytes()
        try:
            whole = read_landing_file(payload, path.name, AMBULANCE_CALLS)
        except ContractError:
            continue
        assert count_landing_rows(payload, path.name, AMBULANCE_CALLS) == whole.height, path
        lazy = LandingRows("test", path.name, whole.height, whole.columns, payload=payload)
        parts = [lazy.slice(offset, 3) for offset in range(0, max(whole.height, 1), 3)]
        assert pl.concat(parts).equals(whole), path
        checked += 1
    assert checked > 250


def test_row_count_reads_the_log_and_counts_what_a_reread_counts(
    local_settings: LakehouseSettings,
) -> None:
    lake = _two_days_in_bronze(local_settings)
    ingest_day(lake, AMBULANCE_CALLS, DAY, now=NOW)  # the replaced day's files leave the count
    for layer, name in (("bronze", "ambulance_calls"), ("bronze", "_quarantine")):
        assert lake.row_count(layer, name) == lake.read(layer, name).num_rows


def test_row_count_counts_files_committed_without_statistics(
    local_settings: LakehouseSettings,
) -> None:
    """Statistics are optional in the Delta protocol: such a file is counted from its footer."""
    import pyarrow.parquet as pq

    table = local_settings.home / "lake" / "silver" / "no_stats"
    (table / "_delta_log").mkdir(parents=True)
    pq.write_table(pa.table({"n": list(range(7))}), table / "part-0.parquet")
    field = {"name": "n", "type": "long", "nullable": True, "metadata": {}}
    schema = {"type": "struct", "fields": [field]}
    commit = [
        {"protocol": {"minReaderVersion": 1, "minWriterVersion": 2}},
        {
            "metaData": {
                "id": "00000000-0000-0000-0000-000000000001",
                "format": {"provider": "parquet", "options": {}},
                "schemaString": json.dumps(schema),
                "partitionColumns": [],
                "configuration": {},
                "createdTime": 0,
            }
        },
        {
            "add": {
                "path": "part-0.parquet",
                "partitionValues": {},
                "size": (table / "part-0.parquet").stat().st_size,
                "modificationTime": 0,
                "dataChange": True,
            }
        },
    ]
    (table / "_delta_log" / "00000000000000000000.json").write_text(
        "\n".join(json.dumps(action) for action in commit) + "\n"
    )
    lake = Lake(local_settings)
    assert lake.uri("silver", "no_stats") == str(table)
    assert lake.row_count("silver", "no_stats") == 7


def test_a_large_file_goes_in_slices_the_writer_can_overlap_and_a_small_one_whole() -> None:
    from pipelines.ingest import CHUNK_ROWS, MIN_SLICE_ROWS, PIPELINED_SLICES, slice_rows

    assert slice_rows(1_587) == MIN_SLICE_ROWS  # a small file: one slice
    assert slice_rows(1_001_694) * PIPELINED_SLICES >= 1_001_694  # a day of card taps: four
    assert slice_rows(1_001_694) < 1_001_694 // (PIPELINED_SLICES - 1)
    assert slice_rows(6_826_211) == CHUNK_ROWS  # bus GPS: memory bounds the slice
