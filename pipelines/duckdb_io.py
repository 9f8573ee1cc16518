"""The silver jobs on one node: DuckDB reading and writing the lake's Delta tables.

The heavy silver jobs have two engines that write the same rows: Spark (`spark_io`), for a
cluster, and DuckDB here, for one machine, where Spark's JVM costs more than the work (its
fixed cost per job is seconds, its heap gigabytes). `LakehouseSettings.silver_engine` picks;
`tests/integration/test_silver_engines.py` proves the two write the same tables.

Tables are read by DuckDB's own `delta` extension (`delta_scan`: its Parquet reader, inside
its memory limit, only the day partitions asked for; an Arrow dataset from delta-rs read 2x
slower and held gigabytes outside the limit) and written back with `Lake.replace_days` as a
stream of batches, so the same code runs on the local lake and on MinIO. Intermediate
results live in an in-memory DuckDB database within `LAKEHOUSE_DUCKDB_MEMORY`; beyond it
DuckDB spills to a scratch folder under the home instead of growing (an on-disk database
measured slower and larger: its block cache is mapped in). Spilled sorts and joins cost more
than their share, so the two largest jobs (bus GPS, card taps) take their input in hash
slices of buses or cards (`hash_slices`, `slice_number`), each within the limit: their cost
grows with the rows, not faster.
"""

from __future__ import annotations

import itertools
import math
import shutil
import tempfile
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from datetime import date
from pathlib import Path

import duckdb
import pyarrow as pa
from deltalake import write_deltalake

from contracts.districts import ALIAS_TO_DISTRICT, DISTRICTS
from contracts.model import Contract
from pipelines.duckdb_lake import open_connection
from pipelines.lake import Lake

BATCH_ROWS = 256_000

# The district spelling normalised as `spark_districts.with_canonical_district` does it.
DISTRICT_KEY = r"""regexp_replace(trim(regexp_replace(lower({column}), 'district|район', '',
    'g')), '\s+', ' ', 'g')"""


# round(x, d) as Spark (and Python's `Decimal(repr(x))`) rounds: the shortest decimal form of x,
# half away from zero; DuckDB's round() works on the binary value, so 0.03235 (stored as
# 0.032349999...) would give 0.0323, not 0.0324. Only values within a hair of a tie take the
# slow exact path.
ROUND_DECIMAL = """
CREATE OR REPLACE TEMP MACRO round_decimal(x, d) AS
    CASE WHEN abs(abs(x) * pow(10, d) - floor(abs(x) * pow(10, d)) - 0.5) < 1e-6
         THEN CAST(round(CAST(CAST(x AS VARCHAR) AS DECIMAL(38, 18)), d) AS DOUBLE)
         ELSE round(x, d) END
"""


@contextmanager
def connect(lake: Lake) -> Iterator[duckdb.DuckDBPyConnection]:
    """An in-memory DuckDB connection spilling to a scratch folder (removed afterwards);
    times in UTC, Spark's rounding as `round_decimal`."""
    scratch_root = lake.settings.home / "scratch"
    scratch_root.mkdir(parents=True, exist_ok=True)
    scratch = Path(tempfile.mkdtemp(prefix="silver-", dir=scratch_root))
    con = open_connection(":memory:", lake.settings)
    try:
        con.execute("SET TimeZone = 'UTC'")
        con.execute(f"SET memory_limit = '{lake.settings.duckdb_memory}'")
        con.execute(f"SET temp_directory = '{scratch / 'spill'}'")
        con.execute("SET preserve_insertion_order = false")
        con.execute(ROUND_DECIMAL)
        yield con
    finally:
        con.close()
        shutil.rmtree(scratch, ignore_errors=True)


def sql_days(days: Iterable[date]) -> str:
    """`DATE '2020-03-02', ...` for an `IN (...)` list."""
    return ", ".join(f"DATE '{d.isoformat()}'" for d in sorted(set(days)))


def scan(
    con: duckdb.DuckDBPyConnection,
    view: str,
    lake: Lake,
    layer: str,
    table: str,
    *,
    date_column: str | None = None,
    days: Iterable[date] | None = None,
) -> None:
    """Make a Delta table (only the given days, when a date column is named) a DuckDB view."""
    uri = lake.uri(layer, table)
    if not lake.table_exists(layer, table):
        raise FileNotFoundError(f"no Delta table {layer}/{table} at {uri}")
    where = f" WHERE {date_column} IN ({sql_days(days)})" if date_column and days else ""
    con.execute(
        f"CREATE OR REPLACE TEMP VIEW {view} AS SELECT * FROM delta_scan({_quoted(uri)}){where}"
    )


def scan_bronze_days(
    con: duckdb.DuckDBPyConnection, view: str, lake: Lake, contract: Contract, days: list[date]
) -> None:
    """The bronze rows of a source whose own (event) day is one of `days` (`read_bronze_days`)."""
    scan(
        con, view, lake, "bronze", contract.table, date_column=contract.partition_column, days=days
    )


def one_delivery_per_key(source: str, keys: list[str], keep: str) -> str:
    """SQL: one row per key among repeated deliveries, the first delivered or the latest
    (`spark_io.one_delivery_per_key`)."""
    direction = "" if keep == "first" else " DESC"
    order = ", ".join(f"{c}{direction}" for c in ("landing_date", "_source_file", "_source_row"))
    return (
        f"SELECT * FROM {source} QUALIFY row_number() OVER "
        f"(PARTITION BY {', '.join(keys)} ORDER BY {order}) = 1"
    )


def create_one_delivery_per_key(
    con: duckdb.DuckDBPyConnection, table: str, source: str, keys: list[str], keep: str
) -> None:
    """`one_delivery_per_key` of a large source as table `table`: only the keys delivered more
    than once are ranked. A window over every row sorts them all and holds them while it does
    (a day of bus GPS at twice Almaty's volume did not fit DuckDB's 2 GB so); a spilling
    aggregate finds the few repeated keys, the other rows pass through an anti-join."""
    same = " AND ".join(f"s.{k} IS NOT DISTINCT FROM r.{k}" for k in keys)
    con.execute(
        f"CREATE TEMP TABLE _{table}_repeated AS "
        f"SELECT {', '.join(keys)} FROM {source} GROUP BY ALL HAVING count(*) > 1"
    )
    repeated = f"(SELECT s.* FROM {source} s SEMI JOIN _{table}_repeated r ON {same})"
    con.execute(
        f"CREATE TABLE {table} AS "
        f"SELECT s.* FROM {source} s ANTI JOIN _{table}_repeated r ON {same} "
        f"UNION ALL SELECT * FROM ({one_delivery_per_key(repeated, keys, keep)})"
    )
    con.execute(f"DROP TABLE _{table}_repeated")


REREAD_SLICES = 4  # up to this many slices each read the source again; more, it is split once


def slice_number(key: str, parts: int) -> str:
    """SQL: the hash slice (0 to `parts` - 1) a row's `key` falls in; every row, NULLs too,
    falls in exactly one."""
    return f"CAST(hash({key}) % {parts} AS INTEGER)"


def one_stream(readers: Iterator[pa.RecordBatchReader]) -> pa.RecordBatchReader:
    """The batches of several readers as one, for one commit: each reader is asked for when
    the one before it has been read out, so a slice is computed only once the previous one
    has been written."""
    first = next(readers)
    return pa.RecordBatchReader.from_batches(
        first.schema, (batch for reader in itertools.chain([first], readers) for batch in reader)
    )


def _quoted(path: Path | str) -> str:
    return "'" + str(path).replace("'", "''") + "'"


def scratch_folder(con: duckdb.DuckDBPyConnection) -> Path:
    """The scratch folder of a `connect` connection (removed when it closes)."""
    row = con.execute("SELECT current_setting('temp_directory')").fetchone()
    assert row is not None
    return Path(row[0]).parent


def hash_slices(
    con: duckdb.DuckDBPyConnection, source: str, key: str, rows: int, slice_rows: int
) -> list[str]:
    """The rows of `source` as relations of about `slice_rows` rows each, split by the hash
    of `key` (so a slice holds every row of its keys); `[source]` when one slice holds all.

    A job whose windows and joins work within a key (a bus, a card) then does the same work
    slice after slice, each within the memory limit: on the whole input at once its sorts
    spill, and the cost grows faster than the rows (a day of bus GPS at four times Almaty's
    volume took 5.2x the time of one). A few slices each read the source again and keep
    their rows (2.5 s a slice for a 4x day of bus GPS); more are written out in one pass to
    Parquet in the connection's scratch folder (11 s for that day, then 1.5-2 s to read a
    quarter back), so the cost stays linear in the rows however many slices there are."""
    parts = max(1, math.ceil(rows / slice_rows))
    if parts == 1:
        return [source]
    if parts <= REREAD_SLICES:
        number = slice_number(key, parts)
        return [f"(SELECT * FROM {source} WHERE {number} = {i})" for i in range(parts)]
    folder = scratch_folder(con) / f"{source}-slices"
    con.execute(
        f"COPY (SELECT *, {slice_number(key, parts)} AS _slice FROM {source}) "
        f"TO {_quoted(folder)} (FORMAT parquet, PARTITION_BY (_slice))"
    )
    return [
        f"read_parquet({_quoted(part / '*.parquet')}, hive_partitioning = false)"
        for part in (folder / f"_slice={i}" for i in range(parts))
        if part.is_dir()  # no key hashed to it
    ]


def register_districts(con: duckdb.DuckDBPyConnection) -> None:
    """`district_aliases(district_key, district)` and `district_codes(district, district_code,
    district_population)`: the tables `with_canonical_district` joins."""
    con.register(
        "district_aliases",
        pa.table(
            {
                "district_key": list(ALIAS_TO_DISTRICT),
                "district": list(ALIAS_TO_DISTRICT.values()),
            }
        ),
    )
    con.register(
        "district_codes",
        pa.table(
            {
                "district": [d.name for d in DISTRICTS],
                "district_code": [d.code for d in DISTRICTS],
                "district_population": [d.population for d in DISTRICTS],
            }
        ),
    )


def with_canonical_district(query: str) -> str:
    """SQL: the query's rows with the spelling in `district` replaced by the canonical
    `district`, its `district_code` and `district_population` (NULLs for an unknown spelling),
    as `spark_districts.with_canonical_district`; needs `register_districts`."""
    return f"""
        WITH keyed AS (
            SELECT * EXCLUDE (district), {DISTRICT_KEY.format(column="district")} AS district_key
            FROM ({query})
        )
        SELECT k.* EXCLUDE (district_key), a.district, c.district_code, c.district_population
        FROM keyed k
        LEFT JOIN district_aliases a USING (district_key)
        LEFT JOIN district_codes c ON c.district = a.district
    """


def assert_districts_known(con: duckdb.DuckDBPyConnection, table: str, source: str) -> None:
    """As `spark_districts.assert_districts_known`: bronze should have quarantined the rest."""
    unknown = count(con, f"SELECT * FROM {table} WHERE district IS NULL")
    if unknown:
        raise ValueError(
            f"[{source}] silver: {unknown} bronze rows have a district the normalisation does "
            "not know; the bronze contract should have quarantined them"
        )


def count(con: duckdb.DuckDBPyConnection, query: str) -> int:
    row = con.sql(f"SELECT count(*) FROM ({query})").fetchone()
    assert row is not None
    return int(row[0])


def replace_days(
    con: duckdb.DuckDBPyConnection,
    query: str,
    lake: Lake,
    layer: str,
    name: str,
    date_column: str,
    days: list[date],
) -> int:
    """Replace the given day partitions of a Delta table with the query's rows, streamed in
    batches into one commit (`spark_io.replace_days_spark`); returns the new version."""
    reader = con.sql(query).fetch_record_batch(BATCH_ROWS)
    return lake.replace_days(layer, name, reader, date_column=date_column, days=days)


def merge_latest(lake: Lake, table: str, rows: pa.Table, key: str) -> int:
    """Upsert one row per key into a silver table, keeping the newest `updated_at` (delta-rs
    MERGE, as `ucs_silver.merge_latest` does on Spark); the first write creates the table."""
    if not lake.table_exists("silver", table):
        write_deltalake(
            lake.uri("silver", table), rows, mode="append", storage_options=lake.storage_options
        )
        return lake.delta_table("silver", table).version()
    target = lake.delta_table("silver", table)  # the merge updates it to the new version
    (
        target.merge(rows, predicate=f"t.{key} = s.{key}", source_alias="s", target_alias="t")
        .when_matched_update_all(predicate="s.updated_at >= t.updated_at")
        .when_not_matched_insert_all()
        .execute()
    )
    return target.version()


def replace_table(lake: Lake, table: str, rows: pa.Table) -> int:
    """Overwrite a whole silver table in one commit; returns its version."""
    if not lake.table_exists("silver", table):
        write_deltalake(
            lake.uri("silver", table), rows, mode="overwrite", storage_options=lake.storage_options
        )
        return lake.delta_table("silver", table).version()
    target = lake.delta_table("silver", table)  # the writer updates it to the new version
    write_deltalake(target, rows, mode="overwrite")
    return target.version()
