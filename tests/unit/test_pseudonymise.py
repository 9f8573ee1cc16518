"""Identifiers are pseudonymised at the boundary: bronze and quarantine never hold them."""

from datetime import date

import pytest

from contracts.model import Column, Contract
from pipelines.ingest import read_landing_file, split_file
from pipelines.privacy import find_clear_identifiers
from pipelines.pseudonymise import MissingPseudonymKey, pseudonym, pseudonyms

# A card-tap feed in miniature: the card number is a personal identifier.
TAPS = Contract(
    source="onay_test",
    table="taps_test",
    description="Card taps.",
    columns=(
        Column("card_number", "string", "Card number.", pseudonymise=True),
        Column("tap_ts", "timestamp", "When.", not_in_future=True),
        Column("fare_kzt", "float", "Fare.", min_value=0),
    ),
    keys=("card_number", "tap_ts"),
    timestamp_column="tap_ts",
    partition_column="tap_date",
)
DAY = date(2020, 3, 2)
CSV = (
    "card_number,tap_ts,fare_kzt\n"
    "4400 4301 2345 6789,2020-03-02T08:00:00+06:00,80\n"
    "4400 4301 2345 6789,2020-03-02T18:00:00+06:00,80\n"
    "4400 4301 9999 0000,2020-03-02T09:00:00+06:00,-80\n"
)


def split(key: bytes | None):
    raw = read_landing_file(CSV.encode(), "taps.csv", TAPS)
    return split_file(raw, "taps.csv", TAPS, DAY, pseudonym_key=key)


def test_card_numbers_become_stable_pseudonyms() -> None:
    result = split(b"city-secret")
    cards = result.accepted["card_number"].to_list()
    assert cards[0] == cards[1] == pseudonym("4400 4301 2345 6789", b"city-secret", "card_number")
    assert cards[0].startswith("ps_") and "4400" not in cards[0]
    assert split(b"another-secret").accepted["card_number"][0] != cards[0]


def test_nothing_in_the_clear_in_bronze_or_quarantine() -> None:
    result = split(b"city-secret")
    assert result.quarantined.height == 1  # the negative fare
    assert "4400" not in result.quarantined["record"][0]
    assert find_clear_identifiers(result.accepted.to_arrow()) == []
    assert find_clear_identifiers(result.quarantined.to_arrow()) == []


def test_ingesting_identifiers_without_a_key_is_refused() -> None:
    with pytest.raises(MissingPseudonymKey, match="LAKEHOUSE_PSEUDONYM_KEY"):
        split(None)


@pytest.mark.parametrize("key", [b"k", b"city-secret", b"x" * 64, b"long-key-" * 20])
def test_batch_pseudonyms_are_the_standard_hmac(key: bytes) -> None:
    """The precomputed-state HMAC gives `hmac.new`'s digest for short, block-sized and long
    keys (a key over 64 bytes is hashed first), empty and non-ASCII values included."""
    values = ["4400 4301 2345 6789", "", "Әлия Серікқызы", "x" * 200]
    assert pseudonyms(values, key, "card_number") == [
        pseudonym(v, key, "card_number") for v in values
    ]
    assert pseudonyms(values, key, "other")[0] != pseudonyms(values, key, "card_number")[0]
