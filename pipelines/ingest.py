"""The bronze boundary, the same for every source: read a landing file, type it, enforce the
contract, and split it into accepted rows and quarantined rows with their reasons.

Rows in = rows accepted + rows quarantined, for every file; a file that cannot be read at all,
or lacks a contract column, is refused whole with a `ContractError`.
"""

from __future__ import annotations

import io
import json
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from pathlib import PurePosixPath
from zoneinfo import ZoneInfo

import pandera.polars as pa
import polars as pl
import pyarrow as pa_arrow

from contracts.model import POLARS_TYPES, Contract
from pipelines.lake import Lake
from pipelines.pseudonymise import pseudonymise_column

QUARANTINE_TABLE = "_quarantine"
MAX_LATENESS_DAYS = 2  # a row may be delivered up to two days after its local date
CHUNK_ROWS = 1_000_000  # rows typed and checked at a time (bounds the memory of big files)
# A plain CSV of more rows than this is never held whole as strings (a day of bus GPS, 6.8
# million rows, is ~2 GiB so): it is counted, its header checked, then read a slice at a time
# while the slices stream into bronze.
SLICED_CSV_ROWS = CHUNK_ROWS
# A file of a few hundred thousand rows or more goes in at least this many slices: the Delta
# writer encodes one while the next is typed (a day of card taps in one slice of a million
# rows left the writer idle until all of them were typed and pseudonymised, then the producer
# idle while it wrote). Smaller files go whole: each slice costs ~15 ms however small.
PIPELINED_SLICES = 4
MIN_SLICE_ROWS = 100_000


def slice_rows(height: int) -> int:
    """The rows typed and written at a time of a file of `height` rows."""
    return min(CHUNK_ROWS, max(MIN_SLICE_ROWS, -(-height // PIPELINED_SLICES)))


# No field of any source is legitimately longer (job descriptions run to a few KB): a longer
# value is a broken export or an attack, and would bloat every table it reached.
MAX_VALUE_BYTES = 65_536
GZIP_MAGIC = b"\x1f\x8b"
QUARANTINE_VALUE_CHARS = 1_000  # a value over MAX_VALUE_BYTES is kept in quarantine as its start


class ContractError(ValueError):
    """A landing file broke its source's contract as a whole."""

    def __init__(self, source: str, file: str, rule: str, row: int | None = None) -> None:
        where = f"{file}" + (f", row {row}" if row is not None else "")
        super().__init__(f"[{source}] {where}: {rule}")
        self.source, self.file, self.rule, self.row = source, file, rule, row


@dataclass
class FileResult:
    """One landing file split at the boundary."""

    file: str
    rows_in: int
    accepted: pl.DataFrame
    quarantined: pl.DataFrame
    dropped_columns: list[str] = field(default_factory=list)

    def __post_init__(self) -> None:
        if self.rows_in != self.accepted.height + self.quarantined.height:
            raise AssertionError(
                f"row accounting broken for {self.file}: {self.rows_in} in, "
                f"{self.accepted.height} accepted, {self.quarantined.height} quarantined"
            )


@dataclass
class FileSummary:
    """One landing file after the boundary: its counts and quarantined rows (the accepted rows
    went to bronze in slices and are not kept)."""

    file: str
    rows_in: int = 0
    rows_accepted: int = 0
    quarantined: pl.DataFrame = field(default_factory=pl.DataFrame)
    dropped_columns: list[str] = field(default_factory=list)

    def add(self, part: FileResult) -> None:
        self.rows_in += part.rows_in
        self.rows_accepted += part.accepted.height
        self.quarantined = (
            pl.concat([self.quarantined, part.quarantined])
            if self.quarantined.height
            else part.quarantined
        )
        self.dropped_columns = part.dropped_columns


@dataclass
class IngestReport:
    """What one day of one source did at the bronze boundary."""

    table: str
    landing_date: date
    files: list[FileSummary]
    bronze_version: int
    quarantine_version: int

    @property
    def rows_in(self) -> int:
        return sum(f.rows_in for f in self.files)

    @property
    def rows_accepted(self) -> int:
        return sum(f.rows_accepted for f in self.files)

    @property
    def rows_quarantined(self) -> int:
        return sum(f.quarantined.height for f in self.files)


def read_landing_file(payload: bytes, file: str, contract: Contract) -> pl.DataFrame:
    """Parse a landing file into a frame of strings (one column per field as delivered)."""
    suffix = PurePosixPath(file).suffix.lower().lstrip(".")
    fmt = {
        "csv": "csv",
        "jsonl": "jsonl",
        "ndjson": "jsonl",
        "json": "jsonl",
        "parquet": "parquet",
        "pb": "gtfs-rt",
    }
    kind = fmt.get(suffix)
    if kind is None or kind not in contract.formats:
        raise ContractError(
            contract.source,
            file,
            f"unsupported file format {suffix!r}; accepted: {contract.formats}",
        )
    if not payload:
        raise ContractError(contract.source, file, "empty file (no header, no rows)")
    try:
        if kind == "csv":
            frame = pl.read_csv(io.BytesIO(payload), infer_schema=False, encoding="utf8")
        elif kind == "jsonl":
            frame = pl.read_ndjson(io.BytesIO(payload), infer_schema_length=None)
        elif kind == "gtfs-rt":
            from pipelines.transit.gtfs_rt import read_vehicle_positions

            frame = read_vehicle_positions(payload)
        else:
            frame = pl.read_parquet(io.BytesIO(payload))
    except Exception as error:  # the parsers raise many types; all mean "unreadable"
        raise ContractError(contract.source, file, f"unreadable {kind} file: {error}") from error
    return frame.with_columns(_as_text(frame[c]) for c in frame.columns)


def _is_plain_csv(payload: bytes, file: str) -> bool:
    """A CSV the lazy reader can slice: uncompressed and not empty."""
    return (
        PurePosixPath(file).suffix.lower() == ".csv"
        and bool(payload)
        and not payload.startswith(GZIP_MAGIC)
    )


def _csv_scan(payload: bytes) -> pl.LazyFrame:
    # The same parser and options as `read_landing_file`: a slice reads what the whole would.
    return pl.scan_csv(io.BytesIO(payload), infer_schema=False, encoding="utf8")


def count_landing_rows(payload: bytes, file: str, contract: Contract) -> int:
    """The rows `read_landing_file` reads from a file, without building the frame of a plain
    CSV (a count of its records, quoted line ends understood)."""
    if _is_plain_csv(payload, file) and "csv" in contract.formats:
        try:
            return int(_csv_scan(payload).select(pl.len()).collect().item())
        except Exception as error:
            raise ContractError(contract.source, file, f"unreadable csv file: {error}") from error
    return read_landing_file(payload, file, contract).height


@dataclass(frozen=True)
class LandingRows:
    """A landing file's rows as strings: the whole frame, or, for a large plain CSV, its bytes,
    read a slice at a time (`slice`) when bronze is written."""

    source: str
    file: str
    height: int
    columns: list[str]
    frame: pl.DataFrame | None = None
    payload: bytes | None = None

    def slice(self, offset: int, length: int) -> pl.DataFrame:
        if self.frame is not None:
            return self.frame.slice(offset, length)
        assert self.payload is not None
        try:
            return _csv_scan(self.payload).slice(offset, length).collect()
        except Exception as error:  # a broken line past the header: the whole file is refused
            raise ContractError(self.source, self.file, f"unreadable csv file: {error}") from error


def landing_rows(payload: bytes, file: str, contract: Contract) -> LandingRows:
    """Read a landing file for bronze: whole, or counted and sliced later if a large CSV."""
    if _is_plain_csv(payload, file) and "csv" in contract.formats:
        height = count_landing_rows(payload, file, contract)
        if height > SLICED_CSV_ROWS:
            try:
                header = pl.read_csv(
                    io.BytesIO(payload), infer_schema=False, encoding="utf8", n_rows=0
                )
            except Exception as error:
                raise ContractError(
                    contract.source, file, f"unreadable csv file: {error}"
                ) from error
            return LandingRows(contract.source, file, height, header.columns, payload=payload)
    frame = read_landing_file(payload, file, contract)
    return LandingRows(contract.source, file, frame.height, frame.columns, frame=frame)


def _as_text(series: pl.Series) -> pl.Series:
    if series.dtype == pl.Utf8:
        return series
    if isinstance(series.dtype, pl.Datetime):
        if series.dtype.time_zone is None:  # type: ignore[union-attr]
            return series.dt.strftime("%Y-%m-%dT%H:%M:%S%.f")
        return series.dt.convert_time_zone("UTC").dt.strftime("%Y-%m-%dT%H:%M:%S%.f+00:00")
    return series.cast(pl.Utf8)


def _typed(column: str, dtype: str, timezone: str) -> pl.Expr:
    raw = pl.col(column).str.strip_chars()
    if dtype == "string":
        return raw
    if dtype == "int":
        return raw.cast(pl.Int64, strict=False)
    if dtype == "float":
        return raw.cast(pl.Float64, strict=False)
    if dtype == "date":
        return raw.str.to_date("%Y-%m-%d", strict=False)
    return _timestamps(raw, timezone)


# RFC 3339 (`T`, then `Z` or `+06:00`): what senders deliver nearly always, parsed in one pass.
RFC3339 = "%Y-%m-%dT%H:%M:%S%.f%#z"


def _timestamps(text: pl.Expr, timezone: str) -> pl.Expr:
    """UTC instants from ISO text: with an offset (`Z`, `+06:00`, `+0600`, a space for `T`),
    or local wall time in the contract's zone."""
    iso = text.str.replace(" ", "T", literal=True).str.replace(r"Z$", "+00:00")
    with_offset = iso.str.to_datetime("%Y-%m-%dT%H:%M:%S%.f%z", strict=False, time_zone="UTC")
    local = (
        iso.str.to_datetime("%Y-%m-%dT%H:%M:%S%.f", strict=False)
        .dt.replace_time_zone(timezone, ambiguous="earliest", non_existent="null")
        .dt.convert_time_zone("UTC")
    )
    return pl.coalesce(with_offset, local).dt.cast_time_unit("us")


def _typed_timestamps(raw: pl.Series, timezone: str) -> pl.Series:
    """`_timestamps` of a column, the RFC 3339 fast path first and the general parse only for
    the values it could not read (a few, if any): the same result, several times faster."""
    return _retry_stripped(
        raw.str.to_datetime(RFC3339, strict=False, time_zone="UTC").dt.cast_time_unit("us"),
        raw,
        lambda text: _stripped_timestamps(text, timezone),
    )


def _stripped_timestamps(raw: pl.Series, timezone: str) -> pl.Series:
    text = raw.str.strip_chars()
    fast = text.str.to_datetime(RFC3339, strict=False, time_zone="UTC").dt.cast_time_unit("us")
    retry = fast.is_null() & text.is_not_null()
    if not retry.any():
        return fast
    rows = retry.arg_true()
    slow = pl.select(_timestamps(pl.lit(text.gather(rows)), timezone)).to_series()
    return fast.scatter(rows, slow)


def _typed_numbers(raw: pl.Series, dtype: pl.DataType) -> pl.Series:
    """A text column cast to numbers, as `_typed` would: each value stripped of blanks first."""
    return _retry_stripped(
        raw.cast(dtype, strict=False),
        raw,
        lambda text: text.str.strip_chars().cast(dtype, strict=False),
    )


def _retry_stripped(
    typed: pl.Series, raw: pl.Series, parse: Callable[[pl.Series], pl.Series]
) -> pl.Series:
    """`typed`, a parse of the text as it came, with the values it could not read parsed again
    by `parse` (which strips them first). Stripping every value costs as much as the parse
    (~6 ms a column of a million), and a value that parses unstripped parses to the same."""
    retry = typed.is_null() & raw.is_not_null()
    if not retry.any():
        return typed.alias(raw.name)
    rows = retry.arg_true()
    return typed.scatter(rows, parse(raw.gather(rows))).alias(raw.name)


def _check_columns(raw: pl.DataFrame | LandingRows, file: str, contract: Contract) -> list[str]:
    """Refuse a file that lacks a contract column; the extra columns it will drop."""
    missing = [c for c in contract.column_names if c not in raw.columns]
    if missing:
        raise ContractError(
            contract.source, file, f"missing contract column(s): {', '.join(missing)}"
        )
    return [c for c in raw.columns if c not in contract.column_names]


def split_file(
    raw: pl.DataFrame,
    file: str,
    contract: Contract,
    landing_date: date,
    now: datetime | None = None,
    pseudonym_key: bytes | None = None,
    row_offset: int = 0,
    unterminated_row: int | None = None,
) -> FileResult:
    """Type a landing frame and split it into accepted and quarantined rows.

    Personal identifiers are pseudonymised first, so neither bronze nor the quarantine ever
    holds them in the clear. `row_offset` is the file row before `raw`'s first, when `raw` is
    a slice of a larger file. `unterminated_row` is the file's last row when the file ends
    without a line end: a cut-off file whose last value may be cut short (123.45 read as 12).
    """
    dropped = _check_columns(raw, file, contract)
    for column in contract.columns:
        if column.pseudonymise:
            raw = pseudonymise_column(raw, column.name, pseudonym_key, column.name)
    raw = raw.select(contract.column_names).with_row_index("_source_row", offset=1 + row_offset)
    raw = raw.with_columns(pl.col("_source_row").cast(pl.Int64))

    typed = raw.with_columns(
        _typed(c.name, c.dtype, contract.timezone).alias(c.name)
        for c in contract.columns
        # a pseudonym is typed already (its identifier was stripped before it was hashed)
        if c.dtype not in ("timestamp", "int", "float") and not c.pseudonymise
    ).with_columns(
        _typed_numbers(raw[c.name], POLARS_TYPES[c.dtype])
        if c.dtype in ("int", "float")
        else _typed_timestamps(raw[c.name], contract.timezone)
        for c in contract.columns
        if c.dtype in ("timestamp", "int", "float")
    )
    reasons: list[pl.DataFrame] = []
    for c in contract.columns:
        # A text value is never null where its text is not; a typed one, where it failed
        # to type (or was blank).
        if c.dtype == "string" or typed[c.name].null_count() == 0:
            continue
        bad_type = typed.filter(pl.col(c.name).is_null() & raw[c.name].str.strip_chars().ne(""))
        if bad_type.height:
            reasons.append(
                bad_type.select(
                    "_source_row", pl.lit(f"{c.name}: not a valid {c.dtype}").alias("rule")
                )
            )
    for c in contract.columns:
        if c.dtype == "string":
            huge = raw.filter(raw[c.name].str.len_bytes() > MAX_VALUE_BYTES)
            if huge.height:
                reasons.append(
                    huge.select(
                        "_source_row",
                        pl.lit(f"{c.name}: value longer than {MAX_VALUE_BYTES} bytes").alias(
                            "rule"
                        ),
                    )
                )
    if unterminated_row is not None:
        reasons.append(
            raw.filter(pl.col("_source_row") == unterminated_row).select(
                "_source_row",
                pl.lit("last line has no line end: the file was cut off?").alias("rule"),
            )
        )
    reasons.append(_contract_failures(typed, contract, now))

    stamp = typed[contract.timestamp_column]
    if contract.column(contract.timestamp_column).dtype == "date":
        local_day = stamp
    else:
        local_day = local_dates(stamp, contract.timezone)
    typed = typed.with_columns(local_day.alias(contract.partition_column))
    window_start = landing_date - timedelta(days=MAX_LATENESS_DAYS)
    late = typed.filter(
        pl.col(contract.partition_column).is_not_null()
        & ~pl.col(contract.partition_column).is_between(window_start, landing_date)
    )
    reasons.append(
        late.select(
            "_source_row",
            pl.lit(
                f"{contract.timestamp_column}: local date outside the delivery window "
                f"{window_start}..{landing_date} (wrong day or time zone?)"
            ).alias("rule"),
        )
    )
    failures = (
        pl.concat(reasons)
        .group_by("_source_row")
        .agg(pl.col("rule").unique().sort().str.join("; "))
    )
    bad_rows = failures["_source_row"]

    clean = (
        typed
        if bad_rows.is_empty()
        else typed.filter(~pl.col("_source_row").is_in(bad_rows.implode()))
    )
    accepted = clean.with_columns(
        pl.lit(landing_date).alias("landing_date"), pl.lit(file).alias("_source_file")
    )
    quarantined = (
        raw.filter(pl.col("_source_row").is_in(bad_rows.implode()))
        .join(failures, on="_source_row", how="inner")
        .select(
            pl.lit(contract.source).alias("source"),
            pl.lit(contract.table).alias("source_table"),
            pl.lit(file).alias("file"),
            pl.col("_source_row").alias("row_number"),
            pl.col("rule"),
            pl.struct(contract.column_names)
            .map_elements(_record_json, return_dtype=pl.Utf8)
            .alias("record"),
            pl.lit(landing_date).alias("landing_date"),
        )
        .sort("row_number")
    )
    # `accepted` keeps the file's row order: filters never reorder.
    return FileResult(file, raw.height, accepted, quarantined, dropped)


# A zone's offset is looked up this often across a slice's time span; no zone changes its
# offset twice within it.
OFFSET_PROBE = timedelta(minutes=15)
FIXED_OFFSET_SPAN = timedelta(days=MAX_LATENESS_DAYS + 2)


def local_dates(stamps: pl.Series, timezone: str) -> pl.Series:
    """The local date, in `timezone`, of each UTC instant.

    Where the zone keeps one offset over the span of the instants (every day but a clock
    change's; Almaty has had +05:00 since 2024 and +06:00 for 20 years before), the date is
    the instant shifted by that offset: ~4 ms a million rows, where converting each value to
    the zone takes ~45 ms. Otherwise (a span over a clock change, or over more than a few
    days, as a broken file's may be) each value is converted.
    """
    values = stamps.drop_nulls()
    if values.is_empty():
        return stamps.dt.date()
    first, last = values.min(), values.max()
    assert isinstance(first, datetime) and isinstance(last, datetime)
    if last - first <= FIXED_OFFSET_SPAN:
        zone = ZoneInfo(timezone)
        probes = [first + OFFSET_PROBE * i for i in range(int((last - first) / OFFSET_PROBE) + 1)]
        offsets = {probe.astimezone(zone).utcoffset() for probe in [*probes, last]}
        if len(offsets) == 1:
            (offset,) = offsets
            assert offset is not None
            return stamps.dt.offset_by(f"{int(offset.total_seconds())}s").dt.date()
    return stamps.dt.convert_time_zone(timezone).dt.date()


def _record_json(row: dict[str, object]) -> str:
    """A quarantined row as delivered, as JSON; a huge value is kept as its start."""
    kept = {
        k: v[:QUARANTINE_VALUE_CHARS] + f"... ({len(v.encode())} bytes)"
        if isinstance(v, str) and len(v.encode()) > MAX_VALUE_BYTES
        else v
        for k, v in row.items()
    }
    return json.dumps(kept, ensure_ascii=False)


def _contract_failures(
    typed: pl.DataFrame, contract: Contract, now: datetime | None
) -> pl.DataFrame:
    """Rows breaking the pandera schema of the contract, as (_source_row, rule)."""
    empty = pl.DataFrame(schema={"_source_row": pl.Int64, "rule": pl.Utf8})
    try:
        contract.to_pandera(now or datetime.now(UTC)).validate(typed, lazy=True)
    except pa.errors.SchemaErrors as errors:
        cases = errors.failure_cases.filter(pl.col("index").is_not_null())
        if cases.height == 0:
            raise
        rows = typed["_source_row"]
        return cases.select(
            pl.col("index")
            .map_elements(lambda i: rows[i], return_dtype=pl.Int64)
            .alias("_source_row"),
            (pl.col("column") + pl.lit(": ") + pl.col("check")).alias("rule"),
        )
    return empty


def quarantine_schema() -> pa_arrow.Schema:
    return pa_arrow.schema(
        [
            ("source", pa_arrow.large_string()),
            ("source_table", pa_arrow.large_string()),
            ("file", pa_arrow.large_string()),
            ("row_number", pa_arrow.int64()),
            ("rule", pa_arrow.large_string()),
            ("record", pa_arrow.large_string()),
            ("landing_date", pa_arrow.date32()),
        ]
    )


def bronze_schema(contract: Contract) -> pa_arrow.Schema:
    types = {
        "string": pa_arrow.large_string(),
        "int": pa_arrow.int64(),
        "float": pa_arrow.float64(),
        "timestamp": pa_arrow.timestamp("us", tz="UTC"),
        "date": pa_arrow.date32(),
    }
    fields = [("_source_row", pa_arrow.int64())]
    fields += [(c.name, types[c.dtype]) for c in contract.columns]
    if contract.partition_column not in contract.column_names:
        fields.append((contract.partition_column, pa_arrow.date32()))
    fields += [
        ("landing_date", pa_arrow.date32()),
        ("_source_file", pa_arrow.large_string()),
    ]
    return pa_arrow.schema(fields)


def _to_arrow(frames: list[pl.DataFrame], schema: pa_arrow.Schema) -> pa_arrow.Table:
    if not frames:
        return schema.empty_table()
    table = pl.concat(frames).select(schema.names).to_arrow(compat_level=pl.CompatLevel.oldest())
    return table.cast(schema)


FILE_COLUMN = "_source_file"


def _streamed_schema(schema: pa_arrow.Schema) -> pa_arrow.Schema:
    """`schema` as the Delta writer is handed the accepted rows: text as polars holds it
    (string views: no copy into Arrow's `large_string`, ~0.5 CPU s less for a day of bus GPS,
    the writer's share included) and the file column as a dictionary of strings. Bronze's Delta
    schema stays plain `string` (the writer casts each batch to the table's schema)."""
    fields = [
        pa_arrow.field(f.name, pa_arrow.string_view()) if f.type == pa_arrow.large_string() else f
        for f in schema
    ]
    index = schema.get_field_index(FILE_COLUMN)
    fields[index] = pa_arrow.field(
        FILE_COLUMN, pa_arrow.dictionary(pa_arrow.int32(), pa_arrow.large_string())
    )
    return pa_arrow.schema(fields)


def _accepted_batches(
    accepted: pl.DataFrame, file: str, streamed: pa_arrow.Schema
) -> list[pa_arrow.RecordBatch]:
    """A file's accepted rows as batches of `_streamed_schema`: every row's file name one
    index into a dictionary of one value, where a column of strings would copy the name for
    each row (~75 MB for a million rows of bus GPS) and the writer hash every copy again."""
    index = streamed.get_field_index(FILE_COLUMN)
    columns = streamed.remove(index)
    table = (
        accepted.select(columns.names).to_arrow(compat_level=pl.CompatLevel.newest()).cast(columns)
    )
    names = pa_arrow.DictionaryArray.from_arrays(
        pa_arrow.repeat(pa_arrow.scalar(0, pa_arrow.int32()), table.num_rows),
        pa_arrow.array([file], pa_arrow.large_string()),
    )
    return table.add_column(index, streamed.field(index), names).to_batches()


def landing_files(lake: Lake, contract: Contract, day: date) -> list[str]:
    return lake.list_files(f"{contract.landing_prefix}/{day.isoformat()}")


# A backfill loads many days in one Delta commit per table (a commit costs the same for a
# day of ten rows as for a day of a million); days are added to a batch until its landing rows
# pass this, so a full-scale day of bus GPS (6.8 million pings) still goes alone.
BATCH_ROWS = 2_000_000

ParsedFile = tuple[str, LandingRows, int | None]  # file, its raw rows, a cut-off last row


def _parse_day(lake: Lake, contract: Contract, day: date) -> list[ParsedFile]:
    """Read and check the landing files of one day (nothing is written yet): each whole, but
    a large CSV only counted and its header checked (its rows are read as bronze is written)."""
    files = landing_files(lake, contract, day)
    if not files:
        raise ContractError(
            contract.source,
            f"{lake.root}/{contract.landing_prefix}/{day.isoformat()}/",
            "no landing file for this day",
        )
    parsed = []
    for f in files:
        payload = lake.get_file(f)
        raw = landing_rows(payload, f, contract)
        _check_columns(raw, f, contract)
        cut_off = (
            f.lower().endswith(".csv")
            and raw.height > 0
            and not payload.startswith(GZIP_MAGIC)  # a compressed file has no line ends
            and not payload.endswith((b"\n", b"\r"))
        )
        parsed.append((f, raw, raw.height if cut_off else None))
        del payload
    return parsed


def _load_batch(
    lake: Lake,
    contract: Contract,
    batch: list[tuple[date, list[ParsedFile]]],
    now: datetime | None,
) -> list[IngestReport]:
    """Split the parsed days at the boundary and replace them in bronze and its quarantine,
    one commit each for the whole batch."""
    key = lake.settings.pseudonym_key.get_secret_value().encode() or None
    if not key and any(c.pseudonymise for c in contract.columns):
        pseudonymise_column(pl.DataFrame({"_": []}), "_", key, "_")  # raises MissingPseudonymKey
    summaries = {day: [FileSummary(f) for f, _, _ in parsed] for day, parsed in batch}
    schema = _streamed_schema(bronze_schema(contract))
    refused: list[ContractError] = []  # raised inside the Delta writer, which wraps it

    def accepted_batches() -> Iterator[pa_arrow.RecordBatch]:
        try:
            yield from typed_slices()
        except ContractError as error:
            refused.append(error)
            raise

    def typed_slices() -> Iterator[pa_arrow.RecordBatch]:
        # Slices of at most CHUNK_ROWS bound the memory of a large file (a day of bus GPS is
        # 6.8 million rows): each is typed, checked and streamed into the same Delta commit.
        for day, parsed in batch:
            for (f, raw, unterminated), summary in zip(parsed, summaries[day], strict=True):
                step = slice_rows(raw.height)
                for offset in range(0, max(raw.height, 1), step):
                    part = split_file(
                        raw.slice(offset, step),
                        f,
                        contract,
                        day,
                        now,
                        key,
                        row_offset=offset,
                        unterminated_row=unterminated,
                    )
                    summary.add(part)
                    yield from _accepted_batches(part.accepted, f, schema)
                if summary.rows_in != raw.height:  # the count and the read disagree
                    raise ContractError(
                        contract.source,
                        f,
                        f"read {summary.rows_in} rows where the file counted {raw.height}",
                    )

    days = [day for day, _ in batch]
    try:
        bronze_version = lake.replace_days(
            "bronze",
            contract.table,
            pa_arrow.RecordBatchReader.from_batches(schema, accepted_batches()),
            date_column="landing_date",
            days=days,
        )
    except Exception:
        if refused:  # the file's own error, not the writer's wrapping of it
            raise refused[0] from refused[0].__cause__
        raise
    quarantined = [s.quarantined for day in days for s in summaries[day] if s.quarantined.height]
    quarantine_version = lake.replace_days(
        "bronze",
        QUARANTINE_TABLE,
        _to_arrow(quarantined, quarantine_schema()),
        date_column="landing_date",
        days=days,
        partition_by=["source_table", "landing_date"],
        within={"source_table": contract.table},
    )
    return [
        IngestReport(contract.table, day, summaries[day], bronze_version, quarantine_version)
        for day in days
    ]


def ingest_days(
    lake: Lake,
    contract: Contract,
    days: Iterable[date],
    now: datetime | None = None,
    batch_rows: int = BATCH_ROWS,
) -> Iterator[IngestReport]:
    """Load landing days of a source into bronze, replacing what those days loaded before;
    yields each day's report as its batch commits.

    Days go in batches of up to `batch_rows` landing rows, a commit per table per batch.
    A broken file leaves its batch's days (and every later one) as they were, and the batches
    before it loaded: whole-file refusals come before the batch writes, except a broken line
    deep in a large CSV, read as it is written, which fails the batch's write before its
    commit (the data files it wrote are never committed: no reader sees them).
    """
    batch: list[tuple[date, list[ParsedFile]]] = []
    rows = 0
    for day in days:
        parsed = _parse_day(lake, contract, day)
        day_rows = sum(raw.height for _, raw, _ in parsed)
        if batch and rows + day_rows > batch_rows:
            yield from _load_batch(lake, contract, batch, now)
            batch, rows = [], 0
        batch.append((day, parsed))
        rows += day_rows
    if batch:
        yield from _load_batch(lake, contract, batch, now)


def ingest_day(
    lake: Lake, contract: Contract, day: date, now: datetime | None = None
) -> IngestReport:
    """Load one landing day of a source into bronze, replacing what that day loaded before."""
    (report,) = ingest_days(lake, contract, [day], now)
    return report
