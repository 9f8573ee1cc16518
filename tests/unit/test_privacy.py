import pyarrow as pa
import pytest

from pipelines.privacy import find_clear_identifiers


@pytest.mark.parametrize(
    ("value", "kind"),
    [
        ("+7 701 234 56 78", "phone"),
        ("8(727)2345678", None),  # a landline of Almaty, not a mobile subscriber
        ("aigerim.n@mail.kz", "email"),
        ("900215300123", "iin"),
        ("4400 4301 2345 6789", "card_number"),
        ("AMB-20200301-ALM-00012", None),
        ("OFD-ALM-000123", None),
    ],
)
def test_identifiers_are_recognised(value: str, kind: str | None) -> None:
    findings = find_clear_identifiers(pa.table({"text": [value], "n": [1]}))
    assert [f.kind for f in findings] == ([kind] if kind else [])
