from __future__ import annotations

import pytest

from pipeline.workbench.intake import _CASE_COLUMNS, _case_values, _placeholders
from pipeline.workbench.referrals import Referral, referral_from_hit
from tests.factories import filing


def _referral(master: str | None) -> Referral:
    document = {"type": "HAWB", "number": "H-1", "master_number": master}
    hit = {
        "declaration_id": "D-1",
        "version": 1,
        "outcome": "RFI",
        "priority": 3,
        "score": 30.0,
        "assessed_at": "2026-12-01T10:00:00Z",
        "declaration": filing(transport_document=document),
    }
    return referral_from_hit(hit)


@pytest.mark.parametrize(("master", "stored"), [("020-1234 5675", "02012345675"), (None, None)])
def test_a_case_is_written_with_its_master_key(master: str | None, stored: str | None) -> None:
    columns = [c.strip() for c in _CASE_COLUMNS.split(",")]
    values = _case_values(_referral(master))
    assert len(values) == len(columns) == len(_placeholders().split(","))
    assert dict(zip(columns, values, strict=True))["master_number"] == stored
