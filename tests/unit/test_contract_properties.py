"""Property-based tests of the bronze boundary (hypothesis): rows generated around every
contract's bounds (just inside, on, and just outside each range; allowed and unknown values;
timestamps in the delivery window, in the future and unparseable; empty cells) are each
either accepted or quarantined with a reason, never both and never lost, and every accepted
row keeps every rule of the contract."""

from datetime import UTC, date, datetime, timedelta

import polars as pl
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from contracts.model import Column, Contract
from pipelines.ingest import split_file
from pipelines.silver_run import all_sources

LANDED = date(2020, 3, 3)
NOW = datetime(2020, 3, 4, 12, tzinfo=UTC)
CONTRACTS = {s.contract.table: s.contract for s in all_sources()}
GARBAGE = st.sampled_from(["", "n/a", "12abc", " ", "∞"])
# Values the contracts' lookups know, in several spellings, and one each they must refuse.
KNOWN_EXAMPLES = {
    "known_district": ["Almaly", "almaly district", "Медеуский район", "Atlantis"],
    "known_skills": ["Python;SQL", " python ;  sql ", "Docker", "Python;Basket weaving"],
    "course_id_list": ["CRS-00001", "CRS-00002; CRS-00042", "CRS-1"],
}


def _number(column: Column) -> st.SearchStrategy[str]:
    low = column.min_value if column.min_value is not None else -1e6
    high = column.max_value if column.max_value is not None else 1e6
    edges = [low, high, (low + high) / 2]
    if column.min_value is not None:
        edges.append(low - 1)
    if column.max_value is not None:
        edges.append(high + 1)
    if column.dtype == "int":
        return st.one_of(
            st.sampled_from([int(e) for e in edges]), st.integers(int(low), int(high))
        ).map(str)
    inside = st.floats(low, high, allow_nan=False, allow_infinity=False)
    return st.one_of(st.sampled_from(edges), inside).map(repr)


def _mostly(
    valid: st.SearchStrategy[str], invalid: st.SearchStrategy[str]
) -> st.SearchStrategy[str]:
    """Valid seven times in eight: rows that pass are common enough to test what passes."""
    return st.integers(0, 7).flatmap(lambda k: invalid if k == 0 else valid)


def _instant() -> st.SearchStrategy[str]:
    # Mostly inside the delivery window (local days 1-3 March); also well before it and after
    # "now", in the forms senders use.
    window = st.datetimes(datetime(2020, 2, 29, 19), datetime(2020, 3, 3, 17))
    wide = st.datetimes(datetime(2020, 2, 20), datetime(2020, 3, 10))
    moments = _mostly(window, wide).map(lambda d: d.replace(tzinfo=UTC))
    forms = st.sampled_from(["%Y-%m-%dT%H:%M:%SZ", "%Y-%m-%dT%H:%M:%S+06:00", "%Y-%m-%d %H:%M:%S"])
    return st.tuples(moments, forms).map(lambda m: m[0].strftime(m[1]))


def _cell(column: Column) -> st.SearchStrategy[str]:
    if column.dtype in ("int", "float"):
        values = _number(column)
    elif column.dtype == "timestamp":
        values = _instant()
    elif column.dtype == "date":
        values = _mostly(
            st.dates(date(2020, 3, 1), date(2020, 3, 3)), st.dates(date(2020, 2, 20), NOW.date())
        ).map(date.isoformat)
    elif column.allowed:
        values = st.sampled_from([*column.allowed, "not-in-the-list"])
    elif column.known is not None:
        values = st.sampled_from(KNOWN_EXAMPLES[column.known[0]])
    else:
        values = st.text(min_size=1, max_size=12).filter(lambda t: t.strip() != "")
    return _mostly(values, GARBAGE)


@st.composite
def landing_frame(draw: st.DrawFn, contract: Contract) -> pl.DataFrame:
    rows = draw(st.integers(5, 30))
    return pl.DataFrame(
        {c.name: draw(st.lists(_cell(c), min_size=rows, max_size=rows)) for c in contract.columns},
        schema={c.name: pl.Utf8 for c in contract.columns},
    )


def _keeps_the_contract(accepted: pl.DataFrame, contract: Contract) -> list[str]:
    broken = []
    for c in contract.columns:
        values = accepted[c.name]
        if not c.nullable and values.null_count():
            broken.append(f"{c.name}: null")
        present = values.drop_nulls()
        if c.min_value is not None and (present < c.min_value).any():
            broken.append(f"{c.name} < {c.min_value}")
        if c.max_value is not None and (present > c.max_value).any():
            broken.append(f"{c.name} > {c.max_value}")
        if c.allowed and not present.is_in(list(c.allowed)).all():
            broken.append(f"{c.name}: not allowed")
        if c.not_in_future and c.dtype == "timestamp" and (present > NOW).any():
            broken.append(f"{c.name}: in the future")
        if c.known is not None and any(c.known[1](v) is None for v in present.to_list()):
            broken.append(f"{c.name}: unknown")
    window = (LANDED - timedelta(days=2), LANDED)
    days = accepted[contract.partition_column]
    if not days.is_between(*window).all():
        broken.append("outside the delivery window")
    return broken


@pytest.mark.parametrize("table", sorted(CONTRACTS))
def test_every_generated_row_is_accepted_clean_or_quarantined_with_a_reason(table: str) -> None:
    contract = CONTRACTS[table]
    outcomes = {"accepted": 0, "quarantined": 0}

    @settings(
        max_examples=40,
        deadline=None,
        derandomize=True,  # the same examples on every run: CI never flakes
        database=None,
        suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
    )
    @given(landing_frame(contract))
    def check(raw: pl.DataFrame) -> None:
        result = split_file(raw, "generated.csv", contract, LANDED, NOW, b"property-test-key")
        accepted = set(result.accepted["_source_row"].to_list())
        quarantined = set(result.quarantined["row_number"].to_list())
        # Every row once: accepted or quarantined, never both, never lost.
        assert accepted | quarantined == set(range(1, raw.height + 1))
        assert not accepted & quarantined
        # A reason naming the column (or the delivery window) for each quarantined row.
        for rule in result.quarantined["rule"].to_list():
            assert any(c.name in rule for c in contract.columns), rule
        assert _keeps_the_contract(result.accepted, contract) == []
        outcomes["accepted"] += len(accepted)
        outcomes["quarantined"] += len(quarantined)

    check()
    # The generator reached both sides of the boundary.
    assert outcomes["accepted"] > 0 and outcomes["quarantined"] > 0, outcomes
