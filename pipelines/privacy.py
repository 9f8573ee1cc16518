"""Scanning tables for personal identifiers in the clear: phone numbers, e-mail addresses,
Kazakh individual identification numbers (IIN), payment card numbers."""

from __future__ import annotations

import re
from dataclasses import dataclass

import pyarrow as pa

CLEAR_IDENTIFIERS: dict[str, re.Pattern[str]] = {
    # Kazakh mobile numbers (operator codes 700-708, 747, 771, 775-778).
    "phone": re.compile(
        r"(?:\+7|\b8)[\s(-]*7(?:0[0-8]|47|7[15-8])[\s)-]*\d{3}[\s-]*\d{2}[\s-]*\d{2}\b"
    ),
    "email": re.compile(r"\b[\w.+-]+@[\w-]+\.[\w.]+\b"),
    "iin": re.compile(r"\b\d{2}(?:0[1-9]|1[0-2])(?:0[1-9]|[12]\d|3[01])[0-6]\d{5}\b"),
    "card_number": re.compile(r"\b(?:\d[ -]?){15,18}\d\b"),
}


@dataclass(frozen=True)
class Finding:
    column: str
    kind: str
    example: str


def find_clear_identifiers(table: pa.Table) -> list[Finding]:
    """Every string column value that looks like a personal identifier, one finding per kind."""
    findings = []
    for field in table.schema:
        if not (pa.types.is_string(field.type) or pa.types.is_large_string(field.type)):
            continue
        values = [v for v in table[field.name].to_pylist() if v]
        for kind, pattern in CLEAR_IDENTIFIERS.items():
            hit = next((v for v in values if pattern.search(v)), None)
            if hit is not None:
                findings.append(Finding(field.name, kind, hit))
    return findings
