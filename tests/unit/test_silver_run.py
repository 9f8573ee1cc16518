"""The comparison that proves two Spark deployments built the same silver tables."""

import polars as pl
import pytest

from pipelines.silver_run import select, snapshot_differences


def frames(**columns: list[object]) -> dict[str, pl.DataFrame]:
    return {"t": pl.DataFrame(columns)}


def test_equal_tables_and_float_rounding_are_no_difference() -> None:
    a = frames(k=[1, 2], v=[0.1 + 0.2, 1.0])
    b = frames(k=[1, 2], v=[0.3, 1.0])
    assert snapshot_differences(a, b) == []


def test_each_kind_of_difference_is_named() -> None:
    base = frames(k=[1, 2], v=[1.0, 2.0])
    assert snapshot_differences(base, frames(k=[1, 3], v=[1.0, 2.0])) == [
        "t.k: 1 of 2 rows differ, e.g. row 1: 2 vs 3"
    ]
    assert snapshot_differences(base, frames(k=[1, 2], v=[1.0, 2.001]))[0].startswith("t.v: 1 of 2")
    assert snapshot_differences(base, frames(k=[1], v=[1.0])) == ["t: 2 rows vs 1"]
    assert "schemas differ" in snapshot_differences(base, frames(k=["1", "2"], v=[1.0, 2.0]))[0]
    assert snapshot_differences(base, {}) == ["t: only in left"]


def test_unknown_source_names_are_refused() -> None:
    assert [s.name for s in select(["bus_gps", "onay_taps"])] == ["bus_gps", "onay_taps"]
    with pytest.raises(ValueError, match="unknown sources"):
        select(["buses"])
