"""Every file of the bad-input corpus (`tests/corpus/`, 50+ per source, built by
`tests/corpus/build_corpus.py`) delivered as a day's landing file and ingested into a lake
that already holds that day: each ends with a clear error naming the source, the file and
the rule (and the lake unchanged), or with its bad rows quarantined with a reason; rows in =
accepted + quarantined, for the report and for the tables."""

from __future__ import annotations

import json
import shutil
from datetime import date
from pathlib import Path

import pyarrow.compute as pc
import pytest

from contracts.model import Contract
from pipelines.ingest import QUARANTINE_TABLE, ContractError, ingest_day
from pipelines.lake import Lake
from pipelines.settings import LakehouseSettings
from pipelines.silver_run import all_sources

CORPUS = Path(__file__).resolve().parents[1] / "corpus"
DAY = date(2020, 3, 2)
CONTRACTS = {s.contract.table: s.contract for s in all_sources()}
CASES = [
    (table.name, case)
    for table in sorted(p for p in CORPUS.iterdir() if p.is_dir())
    for case in json.loads((table / "cases.json").read_text())
]
GOOD_ROWS = 10
GOOD_VERSION: dict[str, int] = {}  # the bronze version holding the good delivery, per table


def test_the_corpus_has_fifty_cases_for_each_of_the_six_sources() -> None:
    per_table: dict[str, int] = {}
    for table, _ in CASES:
        per_table[table] = per_table.get(table, 0) + 1
    assert len(per_table) == 6
    assert {CONTRACTS[t].source for t in per_table} == {
        "emergency_line_103",
        "fiscal_data_operators",
        "telecom_integrator",
        "bus_avl",
        "onay",
        "ucs_platform",
    }
    assert min(per_table.values()) >= 50, per_table
    kinds = {case["expect"] for _, case in CASES}
    assert kinds == {"error", "quarantine", "accept"}


@pytest.fixture(scope="module")
def lakes(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Lake]:
    """One lake per table, already holding a good delivery of DAY (the corpus's ten rows)."""
    made: dict[str, Lake] = {}
    for table in {t for t, _ in CASES}:
        home = tmp_path_factory.mktemp(table)
        settings = LakehouseSettings(  # type: ignore[call-arg]
            _env_file=None, home=home, pseudonym_key="corpus-test-key"
        )
        lake = Lake(settings)
        deliver(lake, CONTRACTS[table], "good.csv", _good_file(table))
        report = ingest_day(lake, CONTRACTS[table], DAY)
        assert report.rows_accepted == GOOD_ROWS and report.rows_quarantined == 0
        GOOD_VERSION[table] = report.bronze_version
        made[table] = lake
    return made


def _good_file(table: str) -> bytes:
    """The corpus's ten valid rows: the file with its columns reversed (a good file)."""
    case = next(c for t, c in CASES if t == table and c["case"] == "columns-reordered")
    return (CORPUS / table / case["file"]).read_bytes()


def deliver(lake: Lake, contract: Contract, name: str, payload: bytes) -> None:
    """Make `name` the only landing file of DAY."""
    folder = Path(lake.root) / contract.landing_prefix / DAY.isoformat()
    shutil.rmtree(folder, ignore_errors=True)
    lake.put_file(f"{contract.landing_prefix}/{DAY.isoformat()}/{name}", payload)


def day_rows(lake: Lake, table: str) -> int:
    days = lake.read("bronze", table, columns=["landing_date"])["landing_date"]
    return int(pc.sum(pc.equal(days, DAY)).as_py() or 0)


def quarantined_rules(lake: Lake, table: str) -> list[str]:
    if not lake.table_exists("bronze", QUARANTINE_TABLE):
        return []
    q = lake.read("bronze", QUARANTINE_TABLE).to_pylist()
    return [r["rule"] for r in q if r["source_table"] == table and r["landing_date"] == DAY]


@pytest.mark.parametrize(("table", "case"), CASES, ids=[f"{t}/{c['file']}" for t, c in CASES])
def test_a_bad_delivery_ends_in_a_clear_error_or_in_quarantine(
    lakes: dict[str, Lake], table: str, case: dict[str, object]
) -> None:
    lake, contract = lakes[table], CONTRACTS[table]
    name = str(case["file"])
    # Start from the good delivery of the day (again, unless the last case left it as it
    # was), then deliver the bad file in its place.
    if lake.delta_table("bronze", table).version() != GOOD_VERSION.get(table):
        deliver(lake, contract, "good.csv", _good_file(table))
        GOOD_VERSION[table] = ingest_day(lake, contract, DAY).bronze_version
    before = (lake.delta_table("bronze", table).version(), day_rows(lake, table))
    quarantine_before = lake.delta_table("bronze", QUARANTINE_TABLE).version()
    deliver(lake, contract, name, (CORPUS / table / name).read_bytes())

    if case["expect"] == "error":
        with pytest.raises(ContractError) as refused:
            ingest_day(lake, contract, DAY)
        message = str(refused.value)
        assert message.startswith(f"[{contract.source}] ") and name in message, message
        assert str(case["rule"]) in message, message
        # Nothing in the lake changed: same versions, the good rows still there.
        assert (lake.delta_table("bronze", table).version(), day_rows(lake, table)) == before
        assert lake.delta_table("bronze", QUARANTINE_TABLE).version() == quarantine_before
        return

    report = ingest_day(lake, contract, DAY)
    assert report.rows_in == case["rows_in"]
    assert report.rows_quarantined == case["quarantined"]
    assert report.rows_in == report.rows_accepted + report.rows_quarantined
    assert day_rows(lake, table) == report.rows_accepted
    rules = quarantined_rules(lake, table)
    assert len(rules) == report.rows_quarantined
    assert all(str(case["rule"]) in rule for rule in rules), rules
