from pathlib import Path

import pytest

from contracts.ambulance_calls import AMBULANCE_CALLS
from contracts.districts import DISTRICT_NAMES, normalise_district

CONTRACTS_DIR = Path(__file__).resolve().parents[2] / "contracts"


def test_written_contract_matches_the_enforced_one() -> None:
    written = (CONTRACTS_DIR / "ambulance_calls.md").read_text()
    assert AMBULANCE_CALLS.to_markdown().strip() in written


def test_pandera_schema_covers_every_contract_column() -> None:
    schema = AMBULANCE_CALLS.to_pandera()
    assert set(schema.columns) == set(AMBULANCE_CALLS.column_names)


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
