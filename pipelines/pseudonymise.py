"""Pseudonymisation at the bronze boundary: a keyed hash (HMAC-SHA256) of an identifier.

The same identifier under the same key always gives the same pseudonym, so a card's taps still
chain into trips and a talent's records still join; without the key, which lives only in the
environment (`LAKEHOUSE_PSEUDONYM_KEY`), the pseudonym cannot be reversed or recomputed from a
guess.
"""

from __future__ import annotations

import hashlib
import hmac

import polars as pl

PREFIX = "ps_"


class MissingPseudonymKey(ValueError):
    """A source with personal identifiers was ingested without a pseudonymisation key."""


def pseudonym(value: str, key: bytes, namespace: str) -> str:
    """The pseudonym of one identifier; `namespace` keeps kinds of identifier apart."""
    digest = hmac.new(key, f"{namespace}\x1f{value}".encode(), hashlib.sha256).hexdigest()
    return PREFIX + digest[:32]


def pseudonymise_column(
    frame: pl.DataFrame, column: str, key: bytes | None, namespace: str
) -> pl.DataFrame:
    """Replace a string column by its pseudonyms (nulls stay null)."""
    if not key:
        raise MissingPseudonymKey(
            f"column {column!r} holds personal identifiers; set LAKEHOUSE_PSEUDONYM_KEY in the "
            "environment (a long random secret, never committed) before ingesting it"
        )
    values = frame[column].str.strip_chars()
    return frame.with_columns(
        values.map_elements(lambda v: pseudonym(v, key, namespace), return_dtype=pl.Utf8).alias(
            column
        )
    )
