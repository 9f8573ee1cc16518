"""The single-node engine's helpers: rounding as Spark rounds, deliveries, hash slices,
district names."""

from decimal import ROUND_HALF_UP, Decimal
from pathlib import Path

import duckdb
import pytest

from pipelines.duckdb_io import DISTRICT_KEY, ROUND_DECIMAL, hash_slices, one_delivery_per_key


@pytest.fixture
def con() -> duckdb.DuckDBPyConnection:
    connection = duckdb.connect()
    connection.execute(ROUND_DECIMAL)
    return connection


@pytest.mark.parametrize(
    ("x", "digits"),
    [(0.03235, 4), (0.15, 1), (2.5, 0), (-2.5, 0), (3747.05, 1), (1583143200.5, 0), (0.0323, 4),
     (1e-05, 4), (-0.00015, 4), (123.456, 1), (0.0, 2)],
)  # fmt: skip
def test_round_decimal_rounds_the_printed_number_half_away_from_zero(
    con: duckdb.DuckDBPyConnection, x: float, digits: int
) -> None:
    expected = float(Decimal(repr(x)).quantize(Decimal(1).scaleb(-digits), ROUND_HALF_UP))
    row = con.execute("SELECT round_decimal(?::DOUBLE, ?)", [x, digits]).fetchone()
    assert row is not None and row[0] == expected


def test_plain_round_is_what_round_decimal_corrects(con: duckdb.DuckDBPyConnection) -> None:
    # 0.03235 is stored as 0.0323499999...: DuckDB's round() sees the binary value.
    assert con.execute("SELECT round(0.03235::DOUBLE, 4)").fetchone() == (0.0323,)
    assert con.execute("SELECT round_decimal(0.03235::DOUBLE, 4)").fetchone() == (0.0324,)


def test_one_delivery_per_key_keeps_first_or_latest(con: duckdb.DuckDBPyConnection) -> None:
    con.execute(
        """CREATE TABLE b AS SELECT * FROM (VALUES
           ('a', 1, DATE '2020-03-02', 'f1', 5), ('a', 2, DATE '2020-03-03', 'f0', 1),
           ('a', 3, DATE '2020-03-02', 'f1', 2), ('b', 4, DATE '2020-03-02', 'f1', 9))
           t(k, v, landing_date, _source_file, _source_row)"""
    )
    first = con.sql(f"SELECT k, v FROM ({one_delivery_per_key('b', ['k'], 'first')}) ORDER BY k")
    latest = con.sql(f"SELECT k, v FROM ({one_delivery_per_key('b', ['k'], 'latest')}) ORDER BY k")
    assert first.fetchall() == [("a", 3), ("b", 4)]
    assert latest.fetchall() == [("a", 2), ("b", 4)]


@pytest.mark.parametrize("keep", ["first", "latest"])
def test_the_table_form_keeps_the_same_rows_as_the_window(
    con: duckdb.DuckDBPyConnection, keep: str
) -> None:
    """Only repeated keys ranked, the rest passed through: the same rows as ranking all, NULL
    keys counted as one key as the window's partitions count them."""
    from pipelines.duckdb_io import create_one_delivery_per_key

    con.execute(
        """CREATE TABLE b AS SELECT * FROM (VALUES
           ('a', 1, 1, DATE '2020-03-02', 'f1', 5), ('a', 1, 2, DATE '2020-03-03', 'f0', 1),
           ('a', 1, 3, DATE '2020-03-02', 'f1', 2), ('a', 2, 4, DATE '2020-03-02', 'f1', 3),
           ('b', 1, 5, DATE '2020-03-02', 'f1', 9), (NULL, 1, 6, DATE '2020-03-02', 'f1', 7),
           (NULL, 1, 7, DATE '2020-03-02', 'f1', 8), ('c', NULL, 8, DATE '2020-03-02', 'f1', 4))
           t(k1, k2, v, landing_date, _source_file, _source_row)"""
    )
    window = one_delivery_per_key("b", ["k1", "k2"], keep)
    create_one_delivery_per_key(con, "kept", "b", ["k1", "k2"], keep)
    expected = con.sql(f"SELECT v FROM ({window}) ORDER BY v").fetchall()
    assert con.sql("SELECT v FROM kept ORDER BY v").fetchall() == expected
    assert len(expected) == 5  # (a,1), (a,2), (b,1), (NULL,1), (c,NULL)


@pytest.mark.parametrize(("slice_rows", "parts"), [(5_000, 3), (2_500, 5)])  # reread, split once
def test_hash_slices_split_the_rows_by_key_without_losing_or_repeating_one(
    con: duckdb.DuckDBPyConnection, tmp_path: Path, slice_rows: int, parts: int
) -> None:
    con.execute(f"SET temp_directory = '{tmp_path / 'spill'}'")
    con.execute(
        "CREATE TABLE pings AS SELECT 'B' || (i % 97) AS bus, i AS n FROM range(10000) t(i) "
        "UNION ALL SELECT NULL, -1"
    )
    assert hash_slices(con, "pings", "bus", 10_001, 20_000) == ["pings"]
    slices = hash_slices(con, "pings", "bus", 10_001, slice_rows)
    assert len(slices) == parts
    rows = [con.execute(f"SELECT bus, n FROM {s}").fetchall() for s in slices]
    assert all(rows)  # 97 buses: every slice has some
    every = [row for part in rows for row in part]
    assert sorted(every, key=str) == sorted(con.execute("SELECT * FROM pings").fetchall(), key=str)
    buses = [{bus for bus, _ in part} for part in rows]
    assert sum(len(b) for b in buses) == len(set().union(*buses)) == 98  # no bus in two slices


def test_district_spellings_normalise_as_in_spark(con: duckdb.DuckDBPyConnection) -> None:
    key = DISTRICT_KEY.format(column="d")
    rows = con.execute(
        f"SELECT {key} FROM (VALUES ('Almaly District'), ('  Алмалинский   район '), ('MEDEU')) t(d)"
    ).fetchall()
    assert rows == [("almaly",), ("алмалинский",), ("medeu",)]


def test_the_lake_extension_signature_is_checked_once_per_process(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import deltalake
    import pyarrow as pa

    from pipelines import duckdb_lake
    from pipelines.settings import LakehouseSettings

    monkeypatch.setattr(duckdb_lake, "_CHECKED", set())
    settings = LakehouseSettings(_env_file=None, home=tmp_path / "home")  # type: ignore[call-arg]
    deltalake.write_deltalake(str(tmp_path / "t"), pa.table({"x": [1, 2, 3]}))

    def state(conn: duckdb.DuckDBPyConnection) -> tuple[str, set[str], int]:
        (unsigned,) = conn.execute(
            "select value from duckdb_settings() where name = 'allow_unsigned_extensions'"
        ).fetchone()  # type: ignore[misc]
        loaded = conn.execute(
            "select extension_name from duckdb_extensions() where loaded"
        ).fetchall()
        (rows,) = conn.execute(f"select count(*) from delta_scan('{tmp_path / 't'}')").fetchone()  # type: ignore[misc]
        return str(unsigned), {name for (name,) in loaded} & {"delta", "httpfs"}, rows

    first = duckdb_lake.open_connection(":memory:", settings)
    assert state(first) == ("false", {"delta"}, 3)  # the first load checks the signature
    second = duckdb_lake.open_connection(":memory:", settings)
    assert state(second) == ("true", {"delta"}, 3)  # the same file, already checked
