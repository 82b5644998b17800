from __future__ import annotations

import msgspec
import pytest

from pipeline.contract.models import ReferralResponse
from pipeline.workbench.notices import DECISIONS
from pipeline.workbench.responses import EXPECTED_KIND, _path, _plain


def _error(document: bytes) -> str:
    with pytest.raises(msgspec.ValidationError) as caught:
        msgspec.json.decode(document, type=ReferralResponse)
    return str(caught.value)


def test_a_schema_error_reads_as_a_path_and_plain_words() -> None:
    message = _error(
        b'{"declaration_id": "D1", "version": 1, "filer_id": "F", "kind": "SCREENING_RESULT",'
        b' "submitted_at": "2026-12-05T10:00:00Z", "method": "SNIFFING"}'
    )
    assert _path(message) == "$.method"
    assert _plain(message) == "'SNIFFING' is not one of the values allowed here"


def test_a_pattern_is_never_shown_to_a_filer() -> None:
    message = _error(
        b'{"declaration_id": "not valid!", "version": 1, "filer_id": "F", "kind": "RFI_ANSWER",'
        b' "submitted_at": "2026-12-05T10:00:00Z"}'
    )
    assert _path(message) == "$.declaration_id"
    assert "^" not in _plain(message)
    assert _plain(message) == "a value does not have the form the contract gives it"


def test_each_referral_asks_for_its_own_kind_of_response() -> None:
    assert EXPECTED_KIND == {
        "RFI": "RFI_ANSWER",
        "HRCM": "SCREENING_RESULT",
        "DNL": "DNL_ACKNOWLEDGEMENT",
    }


@pytest.mark.parametrize("disposition", sorted(DECISIONS))
def test_a_decision_notice_says_what_to_do_and_never_why(disposition: str) -> None:
    kind, text = DECISIONS[disposition]
    assert kind in {"REFERRAL_CLOSED", "DNL"}
    words = text.format(d="D-1", v=2).lower()
    assert "d-1" in words
    for telling in ("rule", "score", "watch", "list", "risk", "match", "reason"):
        assert telling not in words
