"""The gold layer: the warehouse's marts published as Delta tables in the lake, for BI tools.

dbt builds the marts inside the DuckDB warehouse file, which only processes on the same
machine can open. `publish_gold` copies each table of the `marts` schema to
`<lake>/gold/<table>` (local folder or MinIO), where a BI client with a read-only credential
for `gold/` (see `infra/minio_policies.py`) reads it with any Delta reader.

Each publish overwrites the whole table (a new Delta version; older versions stay readable
until vacuumed), so re-publishing is idempotent: same rows, new version.
"""

from __future__ import annotations

from deltalake import write_deltalake

from pipelines.lake import Lake
from pipelines.settings import LakehouseSettings
from pipelines.warehouse import connect

MARTS_SCHEMA = "marts"
GOLD_LAYER = "gold"
# Rows per Arrow batch streamed from DuckDB to delta-rs: a mart is never held whole in memory.
BATCH_ROWS = 1_000_000


def _quote_identifier(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def mart_tables(conn, schema: str = MARTS_SCHEMA) -> list[str]:  # type: ignore[no-untyped-def]
    """Tables and views of a schema of the warehouse the connection is attached to, sorted."""
    rows = conn.execute(
        """
        select table_name from information_schema.tables
        where table_catalog = current_database() and table_schema = ?
        order by table_name
        """,
        [schema],
    ).fetchall()
    return [name for (name,) in rows]


def publish_gold(settings: LakehouseSettings, tables: list[str] | None = None) -> dict[str, int]:
    """Copy the warehouse's marts (all of them, or `tables`) to `<lake>/gold/<table>`.

    Reads through a read-only DuckDB connection, so it never blocks on (or disturbs) the
    warehouse beyond a shared lock; returns the rows published per table.
    """
    if not settings.warehouse_path.exists():
        raise FileNotFoundError(
            f"no warehouse at {settings.warehouse_path}: build the marts (dbt) before "
            "publishing gold"
        )
    lake = Lake(settings)
    lake.ensure_ready()
    published: dict[str, int] = {}
    with connect(settings, read_only=True, lake=False) as conn:
        available = mart_tables(conn)
        if tables is None:
            selected = available
        else:
            missing = sorted(set(tables) - set(available))
            if missing:
                raise ValueError(
                    f"not in the warehouse's {MARTS_SCHEMA} schema: {missing}; "
                    f"available: {available}"
                )
            selected = list(dict.fromkeys(tables))
        for table in selected:
            relation = f"{MARTS_SCHEMA}.{_quote_identifier(table)}"
            # One read-only transaction: the count and the rows see the same snapshot.
            conn.execute("begin transaction")
            try:
                (rows,) = conn.execute(f"select count(*) from {relation}").fetchone()  # type: ignore[misc]
                reader = conn.execute(f"select * from {relation}").to_arrow_reader(BATCH_ROWS)
                write_deltalake(
                    lake.uri(GOLD_LAYER, table),
                    reader,
                    mode="overwrite",
                    schema_mode="overwrite",
                    storage_options=lake.storage_options,
                )
            finally:
                conn.execute("commit")
            published[table] = int(rows)
    return published
