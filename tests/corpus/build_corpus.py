"""Build the bad-input corpus under `tests/corpus/<table>/`: for one contract of each of the
six sources, at least 50 malformed landing files and `cases.json`, what each must end with.

Each file starts from ten valid rows the city simulator delivers for 2020-03-02 and breaks
them one way: truncated files, wrong encodings, missing and extra columns, wrong types,
empty cells, values out of range or not allowed, coordinates outside the city, timestamps in
the future or in another zone or day, negative amounts, empty files, huge lines, Parquet and
JSON Lines of another schema. The expected outcome is written by intent:

- `error`: the whole file is refused with a message naming the source, the file and the
  rule (`rule` is a fragment of it); nothing is written.
- `quarantine`: `quarantined` rows go to `bronze/_quarantine`, each with a reason containing
  `rule`; the other rows are accepted.
- `accept`: every row is accepted (`rows` of them), e.g. a re-sent row: bronze keeps
  deliveries as they came and silver keeps one row per key (its `duplicates_dropped`).

Run from the repository root: `.venv/bin/python tests/corpus/build_corpus.py`. The output
is deterministic; `tests/unit/test_bad_input_corpus.py` replays every case.
"""

from __future__ import annotations

import gzip
import io
import json
import shutil
import sys
import tempfile
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path

import polars as pl

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

from contracts.model import Contract  # noqa: E402

CORPUS = Path(__file__).resolve().parent
DAY = date(2020, 3, 2)
BASE_ROWS = 10
BAD_ROW = 4  # the file row (1-based, after the header) a row-level case breaks
# One contract per source: the six sources of the lakehouse.
TABLES = (
    "ambulance_calls",
    "fiscal_receipts",
    "telecom_presence",
    "bus_positions",
    "card_taps",
    "ucs_jobs",
)
MOSCOW = ("55.7558", "37.6173")
HUGE = 2_000_000  # a two-megabyte line


@dataclass
class Case:
    name: str
    payload: bytes
    ext: str
    expect: str  # error | quarantine | accept
    rule: str = ""
    quarantined: int = 0
    rows: int = BASE_ROWS
    extra: dict[str, object] = field(default_factory=dict)


def csv_bytes(frame: pl.DataFrame) -> bytes:
    out = io.BytesIO()
    frame.write_csv(out)
    return out.getvalue()


def with_value(
    frame: pl.DataFrame, column: str, value: str | None, row: int = BAD_ROW
) -> pl.DataFrame:
    values = frame[column].to_list()
    values[row - 1] = value
    return frame.with_columns(pl.Series(column, values, dtype=pl.Utf8))


def base_rows(table: str) -> tuple[Contract, pl.DataFrame]:
    """Ten valid rows of `table` as the simulator lands them for DAY (every column as text)."""
    from pipelines.ingest import landing_files, read_landing_file, split_file
    from pipelines.lake import Lake
    from pipelines.settings import LakehouseSettings
    from pipelines.silver_run import all_sources

    source = next(s for s in all_sources() if s.contract.table == table)
    contract = source.contract
    with tempfile.TemporaryDirectory() as home:
        settings = LakehouseSettings(  # type: ignore[call-arg]
            _env_file=None, home=Path(home), pseudonym_key="corpus-builder"
        )
        lake = Lake(settings)
        source.write_landing_day(lake, DAY, 20200302, 1.0 if table.startswith("ucs") else 0.02)
        frames = [
            read_landing_file(lake.get_file(f), f, contract)
            for f in landing_files(lake, contract, DAY)
        ]
    raw = pl.concat(frames, how="diagonal").select(contract.column_names)
    # Keep rows the boundary accepts as they are (the simulator plants a few bad ones).
    part = split_file(raw, "base", contract, DAY, pseudonym_key=b"corpus-builder")
    good = part.accepted["_source_row"].to_list()
    rows = raw.with_row_index("_r", offset=1).filter(pl.col("_r").is_in(good)).drop("_r")
    return contract, rows.head(BASE_ROWS)


def cases_for(contract: Contract, base: pl.DataFrame) -> list[Case]:
    good = csv_bytes(base)
    header_end = good.index(b"\n") + 1
    cases: list[Case] = []

    def add(
        name: str,
        payload: bytes,
        expect: str,
        rule: str = "",
        quarantined: int = 0,
        rows: int = BASE_ROWS,
        ext: str = "csv",
    ) -> None:
        cases.append(Case(name, payload, ext, expect, rule, quarantined, rows))

    def row_case(name: str, frame: pl.DataFrame, rule: str, quarantined: int = 1) -> None:
        add(name, csv_bytes(frame), "quarantine", rule, quarantined)

    # Whole files.
    add("empty-file", b"", "error", "empty file")
    add("header-only", good[:header_end], "accept", rows=0)
    add("blank-lines-only", b"\n\n\n", "error", "")
    add("truncated-in-the-header", good[: header_end // 2], "error", "missing contract column")
    cut = good.index(b"\n", len(good) * 2 // 3) - 5  # mid-way through a row
    truncated_rows = good[:cut].count(b"\n")
    add(
        "truncated-mid-row",
        good[:cut],
        "quarantine",
        "no line end",
        quarantined=1,
        rows=truncated_rows,
    )
    add("semicolon-delimited", good.replace(b",", b";"), "error", "missing contract column")
    add("tab-delimited", good.replace(b",", b"\t"), "error", "missing contract column")
    add("unsupported-format", good, "error", "unsupported file format", ext="xlsx")
    add("binary-garbage", bytes(range(256)) * 64, "error", "")
    # polars reads a gzip stream whatever the name: nothing is lost, every row is checked.
    add("gzip-without-extension", gzip.compress(good), "accept")
    add("utf16-encoded", good.decode().encode("utf-16"), "error", "")
    add("utf8-with-bom", b"\xef\xbb\xbf" + good, "accept")
    text_column = next(
        c.name for c in contract.columns if c.dtype == "string" and not c.allowed and not c.known
    )
    cyrillic = with_value(base, text_column, "Алматы-Медеу-001")
    add(
        "cp1251-encoded",
        csv_bytes(cyrillic).decode().encode("cp1251", errors="replace"),
        "error",
        "unreadable",
    )
    add("latin1-byte-in-a-value", good.replace(b"\n", b"\xe9\n", 3), "error", "unreadable")
    lines = good.split(b"\n")
    lines[BAD_ROW] = lines[BAD_ROW] + b",surplus,fields"
    add("row-with-surplus-fields", b"\n".join(lines), "error", "unreadable")
    lines = good.split(b"\n")
    lines[BAD_ROW] = b'"' + lines[BAD_ROW]
    add("unterminated-quote", b"\n".join(lines), "error", "")
    huge = with_value(base, text_column, "x" * HUGE)
    row_case("huge-line", huge, "longer than")
    add(
        "header-in-upper-case",
        good[:header_end].upper() + good[header_end:],
        "error",
        "missing contract column",
    )
    add("columns-reordered", csv_bytes(base.select(list(reversed(base.columns)))), "accept")
    add("extra-column", csv_bytes(base.with_columns(pl.lit("x").alias("operator_note"))), "accept")
    add("crlf-line-ends", good.replace(b"\n", b"\r\n"), "accept")
    add(
        "duplicate-row-re-sent",
        csv_bytes(pl.concat([base, base.head(1)])),
        "accept",
        rows=BASE_ROWS + 1,
    )
    add("whole-file-duplicated", csv_bytes(pl.concat([base, base])), "accept", rows=2 * BASE_ROWS)
    if "jsonl" in contract.formats:
        jl = io.BytesIO()
        base.write_ndjson(jl)
        jlines = jl.getvalue().split(b"\n")
        jlines[BAD_ROW - 1] = jlines[BAD_ROW - 1][:-7]
        add("jsonl-broken-line", b"\n".join(jlines), "error", "unreadable", ext="jsonl")
        add("jsonl-not-json", good, "error", "", ext="jsonl")
    if "parquet" in contract.formats:
        renamed = base.rename({base.columns[0]: base.columns[0] + "_v2"})
        add(
            "parquet-renamed-column",
            parquet_bytes(renamed),
            "error",
            "missing contract column",
            ext="parquet",
        )
        add(
            "parquet-fewer-columns",
            parquet_bytes(base.drop(base.columns[-1])),
            "error",
            "missing contract column",
            ext="parquet",
        )
        add(
            "parquet-extra-columns",
            parquet_bytes(base.with_columns(pl.lit(1).alias("batch"))),
            "accept",
            ext="parquet",
        )
        numeric = next(c.name for c in contract.columns if c.dtype in ("int", "float"))
        add(
            "parquet-wrong-type",
            parquet_bytes(with_value(base, numeric, "not-a-number")),
            "quarantine",
            numeric,
            quarantined=1,
            ext="parquet",
        )
        add("parquet-truncated", parquet_bytes(base)[:-100], "error", "unreadable", ext="parquet")
        add("parquet-suffix-on-csv", good, "error", "unreadable", ext="parquet")

    # Columns missing, one at a time.
    for column in contract.columns:
        add(
            f"missing-column-{column.name}",
            csv_bytes(base.drop(column.name)),
            "error",
            f"missing contract column(s): {column.name}",
        )
    # Cells: empty, wrong type, out of range, not allowed, unknown, in the future, elsewhere.
    for column in contract.columns:
        c = column.name
        if not column.nullable:
            row_case(f"empty-{c}", with_value(base, c, None), c)
        if column.dtype in ("int", "float", "timestamp", "date"):
            row_case(
                f"wrong-type-{c}", with_value(base, c, "12abc"), f"{c}: not a valid {column.dtype}"
            )
        if column.dtype == "float":
            row_case(f"decimal-comma-{c}", with_value(base, c, "1,5"), f"{c}: not a valid float")
            row_case(f"nan-{c}", with_value(base, c, "NaN"), c)
        if column.dtype == "int":
            row_case(f"fraction-in-int-{c}", with_value(base, c, "2.5"), f"{c}: not a valid int")
        if column.min_value is not None:
            low = column.min_value - (1 if column.dtype == "int" else 0.5)
            value = str(int(low)) if column.dtype == "int" else str(low)
            row_case(f"below-minimum-{c}", with_value(base, c, value), c)
        if column.max_value is not None:
            high = column.max_value + (1 if column.dtype == "int" else 0.5)
            value = str(int(high)) if column.dtype == "int" else str(high)
            row_case(f"above-maximum-{c}", with_value(base, c, value), c)
        if column.allowed:
            row_case(f"not-allowed-{c}", with_value(base, c, "unheard-of"), c)
        if column.known is not None:
            row_case(f"unknown-{c}", with_value(base, c, "Atlantis"), c)
        if column.not_in_future:
            future = "2099-03-02" if column.dtype == "date" else "2099-03-02T10:00:00+06:00"
            row_case(f"in-the-future-{c}", with_value(base, c, future), c)
        if column.dtype == "timestamp":
            row_case(f"zone-abbreviation-{c}", with_value(base, c, "2020-03-02 10:00:00 MSK"), c)
            row_case(f"epoch-seconds-{c}", with_value(base, c, "1583143200"), c)
            row_case(f"us-date-order-{c}", with_value(base, c, "03/02/2020 10:00"), c)
        if column.dtype == "date":
            row_case(f"day-first-date-{c}", with_value(base, c, "02.03.2020"), c)
        if c == contract.timestamp_column:  # other timestamps may be long past
            early = "2019-03-02" if column.dtype == "date" else "2019-03-02T10:00:00+06:00"
            row_case(f"a-year-early-{c}", with_value(base, c, early), "outside the delivery window")
    # Coordinates outside the city.
    for lat, lon in (("cell_lat", "cell_lon"), ("lat", "lon")):
        if lat in contract.column_names:
            frame = with_value(with_value(base, lat, "0"), lon, "0")
            row_case("null-island", frame, lat)
            frame = with_value(with_value(base, lat, MOSCOW[0]), lon, MOSCOW[1])
            row_case("coordinates-in-moscow", frame, lat)
            frame = with_value(
                with_value(base, lat, base[lon][BAD_ROW - 1]), lon, base[lat][BAD_ROW - 1]
            )
            row_case("latitude-and-longitude-swapped", frame, lat)
    # Negative amounts and counts.
    for column in contract.columns:
        if column.dtype in ("int", "float") and column.min_value == 0:
            row_case(f"negative-{column.name}", with_value(base, column.name, "-100"), column.name)
    # Every row bad at once.
    first_bounded = next(
        c for c in contract.columns if c.allowed or c.min_value is not None or c.known
    )
    frame = base.with_columns(
        pl.lit(
            "12abc" if not (first_bounded.allowed or first_bounded.known) else "unheard-of"
        ).alias(first_bounded.name)
    )
    row_case("every-row-bad", frame, first_bounded.name, quarantined=BASE_ROWS)
    return cases


def parquet_bytes(frame: pl.DataFrame) -> bytes:
    out = io.BytesIO()
    frame.write_parquet(out)
    return out.getvalue()


def main() -> None:
    for table in TABLES:
        contract, base = base_rows(table)
        assert base.height == BASE_ROWS, (table, base.height)
        folder = CORPUS / table
        shutil.rmtree(folder, ignore_errors=True)
        folder.mkdir(parents=True)
        manifest = []
        for n, case in enumerate(cases_for(contract, base), 1):
            name = f"{n:02d}-{case.name}.{case.ext}"
            (folder / name).write_bytes(case.payload)  # the huge line compresses to ~2 KB in git
            manifest.append(
                {
                    "file": name,
                    "case": case.name,
                    "expect": case.expect,
                    "rule": case.rule,
                    "rows_in": case.rows if case.expect != "error" else None,
                    "quarantined": case.quarantined,
                }
            )
        (folder / "cases.json").write_text(json.dumps(manifest, indent=1) + "\n")
        print(f"{table}: {len(manifest)} cases")


if __name__ == "__main__":
    main()
