from pathlib import Path

import pytest

from contracts.ambulance_calls import AMBULANCE_CALLS
from contracts.districts import DISTRICT_NAMES, normalise_district
from contracts.epi_series import EPI_SERIES
from contracts.fiscal_receipts import FISCAL_RECEIPTS
from contracts.model import Contract
from contracts.morbidity import MORBIDITY_DAILY
from contracts.telecom import TELECOM_FLOWS, TELECOM_PRESENCE
from contracts.ucs import UCS_CONTRACTS

CONTRACTS_DIR = Path(__file__).resolve().parents[2] / "contracts"


CONTRACTS = [
    AMBULANCE_CALLS,
    FISCAL_RECEIPTS,
    MORBIDITY_DAILY,
    TELECOM_PRESENCE,
    TELECOM_FLOWS,
    *UCS_CONTRACTS,
    EPI_SERIES,
]
WRITTEN = {
    "morbidity_daily": "morbidity.md",
    "telecom_presence": "telecom.md",
    "telecom_od_flows": "telecom.md",
    **{c.table: "ucs.md" for c in UCS_CONTRACTS},
}


@pytest.mark.parametrize("contract", CONTRACTS, ids=lambda c: c.table)
def test_written_contract_matches_the_enforced_one(contract: Contract) -> None:
    written = (CONTRACTS_DIR / WRITTEN.get(contract.table, f"{contract.table}.md")).read_text()
    assert contract.to_markdown().strip() in written


@pytest.mark.parametrize("contract", CONTRACTS, ids=lambda c: c.table)
def test_pandera_schema_covers_every_contract_column(contract: Contract) -> None:
    schema = contract.to_pandera()
    assert set(schema.columns) == set(contract.column_names)


@pytest.mark.parametrize(
    ("spelling", "district"),
    [
        ("Almaly", "Almaly"),
        ("  almaly district ", "Almaly"),
        ("Алмалинский район", "Almaly"),
        ("Бостандық ауданы", "Bostandyk"),
        ("TUR", "Turksib"),
        ("Жетысуский", "Zhetysu"),
    ],
)
def test_district_spellings_normalise(spelling: str, district: str) -> None:
    assert normalise_district(spelling) == district


def test_unknown_district_is_not_guessed() -> None:
    assert normalise_district("Astana") is None
    assert len(DISTRICT_NAMES) == 8
