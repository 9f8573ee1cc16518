"""Pseudonymisation at the bronze boundary: a keyed hash (HMAC-SHA256) of an identifier.

The same identifier under the same key always gives the same pseudonym, so a card's taps still
chain into trips and a talent's records still join; without the key, which lives only in the
environment (`LAKEHOUSE_PSEUDONYM_KEY`), the pseudonym cannot be reversed or recomputed from a
guess.
"""

from __future__ import annotations

import hashlib
import hmac
import os
import secrets
from typing import TYPE_CHECKING

import polars as pl

if TYPE_CHECKING:
    from pipelines.settings import LakehouseSettings

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
    # Each distinct identifier is hashed once (a card taps several times a day).
    distinct = values.drop_nulls().unique().to_list()
    mapping = {v: pseudonym(v, key, namespace) for v in distinct}
    return frame.with_columns(
        values.replace_strict(mapping, default=None, return_dtype=pl.Utf8).alias(column)
    )


def ensure_local_key(settings: LakehouseSettings) -> bool:
    """On the embedded default (a lake on local disk), make a random key once if none is set,
    in `<home>/secrets/pseudonym.key` (mode 0600), so a newcomer's first run works. A lake on
    S3 is a deployment: its key must come from the environment, and is never generated.
    Returns whether a key was generated."""
    if settings.pseudonym_key.get_secret_value() or settings.is_s3:
        return False
    path = settings.pseudonym_key_file
    path.parent.mkdir(parents=True, exist_ok=True)
    descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(descriptor, "w") as handle:
        handle.write(secrets.token_urlsafe(32))
    return True
