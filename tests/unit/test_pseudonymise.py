"""Identifiers are pseudonymised at the boundary: bronze and quarantine never hold them."""

import multiprocessing
import multiprocessing.synchronize
from concurrent.futures import ProcessPoolExecutor
from datetime import date
from pathlib import Path

import pytest

from contracts.model import Column, Contract
from pipelines.ingest import read_landing_file, split_file
from pipelines.privacy import find_clear_identifiers
from pipelines.pseudonymise import MissingPseudonymKey, ensure_local_key, pseudonym, pseudonyms
from pipelines.settings import LakehouseSettings

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


def _make_key(home: str, start: "multiprocessing.synchronize.Barrier") -> bool:
    # As `lakehouse run` does: its settings first (no key yet), then the key if none is set.
    settings = LakehouseSettings(home=Path(home), pseudonym_key="")  # type: ignore[call-arg]
    start.wait()
    return ensure_local_key(settings)


def test_runs_starting_together_on_a_fresh_home_share_one_key(tmp_path: Path) -> None:
    """A backfill and the day's run started at once on a fresh home: one of them generates the
    key, the others find it whole and use it, none fails."""
    home = tmp_path / "home"
    processes = 6
    with multiprocessing.Manager() as manager:
        start = manager.Barrier(processes)
        with ProcessPoolExecutor(
            processes, mp_context=multiprocessing.get_context("spawn")
        ) as pool:
            made = list(pool.map(_make_key, [str(home)] * processes, [start] * processes))
    assert sorted(made) == [False] * (processes - 1) + [True]
    key_file = LakehouseSettings(home=home, pseudonym_key="").pseudonym_key_file  # type: ignore[call-arg]
    assert len(key_file.read_text()) == 43  # 32 random bytes, URL-safe base64
    assert key_file.stat().st_mode & 0o777 == 0o600
    assert [p.name for p in key_file.parent.iterdir()] == [key_file.name]  # nothing staged left
