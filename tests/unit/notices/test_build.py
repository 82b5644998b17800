"""Notices built from a filing and its outcome: whom they go to, their ids, and their words."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import msgspec
import orjson
import pytest
from hypothesis import given
from hypothesis import strategies as st

from pipeline.contract.models import Declaration, NoticeError
from pipeline.notices import build, texts
from pipeline.screening.decode import DecodeFailure
from tests.factories import declaration, encoded, filing

ISSUED = datetime(2026, 11, 20, 8, 0, 5, tzinfo=UTC)
LOADING = "2026-11-23T08:00:00Z"  # BASE_DECLARATION's estimated_loading_at


def without(document: dict[str, Any], *fields: str) -> dict[str, Any]:
    return {k: v for k, v in document.items() if k not in fields}


# --- whom a notice goes to ----------------------------------------------------------------------


def test_a_notice_goes_to_the_filer_id() -> None:
    assert build.filer_of(declaration(filer_id="NO987654321")) == "NO987654321"


def test_without_a_filer_id_the_declarants_first_id_stands_in() -> None:
    assert build.filer_of(declaration()) == "NO1"  # BASE_DECLARATION's declarant EORI
    two = {"name": "X", "ids": [{"scheme": "EORI", "value": "A1"}, {"scheme": "TIN", "value": "B"}]}
    assert build.filer_of(declaration(declarant=two)) == "A1"
    assert build.filer_of(declaration(filer_id="", declarant=two)) == "A1"
    assert build.filer_of(declaration(filer_id="   ", declarant=two)) == "A1"


@pytest.mark.parametrize(
    "declarant",
    [
        {"name": "NO IDS"},
        {"name": "EMPTY IDS", "ids": []},
        {"name": "BLANK VALUE", "ids": [{"scheme": "EORI", "value": " "}]},
    ],
)
def test_no_filer_id_and_no_declarant_id_addresses_no_one(declarant: dict[str, Any]) -> None:
    document = without(filing(), "declarant")
    document["declarant"] = declarant
    decoded = msgspec.json.decode(orjson.dumps(document), type=Declaration)
    assert build.filer_of(decoded) is None


def test_an_invalidation_without_a_filer_id_addresses_no_one() -> None:
    invalidation = msgspec.json.decode(
        b'{"declaration_id": "D", "version": 2, "message_type": "INVALIDATION",'
        b' "submitted_at": "2026-11-20T08:00:00Z"}',
        type=Declaration,
    )
    assert build.filer_of(invalidation) is None


# --- ids ----------------------------------------------------------------------------------------


def test_notice_id_is_a_uuid5_of_declaration_version_and_kind() -> None:
    first = build.notice_id("D1", 2, "RFI")
    assert first == build.notice_id("D1", 2, "RFI")
    assert uuid.UUID(first).version == 5
    others = {
        build.notice_id("D1", 1, "RFI"),
        build.notice_id("D1", 2, "HRCM"),
        build.notice_id("D2", 2, "RFI"),
        build.notice_id("D1", 2, "REFERRAL_CLOSED"),
    }
    assert first not in others
    assert len(others) == 4


def test_a_rejected_notices_id_is_its_messages_position() -> None:
    rejected = build.RejectedFiling("F", "D1", 1, [NoticeError("$", "x")], True)
    one = build.rejected_notice(rejected, "t", 3, 42, ISSUED)
    assert one.notice_id == build.rejected_notice(rejected, "t", 3, 42, ISSUED).notice_id
    assert one.notice_id != build.rejected_notice(rejected, "t", 3, 43, ISSUED).notice_id
    assert one.notice_id != build.notice_id("D1", 1, "REJECTED")


# --- the words ----------------------------------------------------------------------------------


def test_assessment_complete_says_the_consignment_may_be_loaded() -> None:
    notice = build.outcome_notice(declaration(), "F", "ASSESSMENT_COMPLETE", ISSUED)
    assert (notice.filer_id, notice.declaration_id, notice.version) == ("F", "CASE-1", 1)
    assert notice.kind == "ASSESSMENT_COMPLETE"
    assert notice.issued_at == ISSUED
    assert "may be loaded" in notice.text
    assert "CASE-1 version 1" in notice.text
    assert notice.errors is msgspec.UNSET


def test_rfi_says_to_amend_the_filing_before_the_declared_loading() -> None:
    text = build.outcome_notice(declaration(), "F", "RFI", ISSUED).text
    assert "amending the filing (version 2 of declaration CASE-1" in text
    assert "before loading, which you declared for 2026-11-23 08:00 UTC" in text
    assert "RFI_ANSWER" in text
    assert "Do not load the consignment until customs tells you that it may be loaded" in text


def test_hrcm_names_every_approved_method_and_the_screening_result_response() -> None:
    text = build.outcome_notice(declaration(), "F", "HRCM", ISSUED).text
    for method in ("X-ray", "XRAY", "EDS", "ETD", "EDD", "physical search", "PHYSICAL"):
        assert method in text
    assert "SCREENING_RESULT" in text
    assert "before loading, which you declared for 2026-11-23 08:00 UTC" in text


def test_dnl_says_hold_contact_the_office_of_discharge_and_acknowledge() -> None:
    text = build.outcome_notice(declaration(), "F", "DNL", ISSUED).text
    assert text.startswith("Do not load the consignment of declaration CASE-1 version 1.")
    assert "Hold it where it is" in text
    assert "the targeting centre of the customs office at DEHAM" in text
    assert "DNL_ACKNOWLEDGEMENT" in text
    no_discharge = declaration(transport={"discharge_location": None})
    assert (
        "contact the customs targeting centre"
        in build.outcome_notice(no_discharge, "F", "DNL", ISSUED).text
    )


@pytest.mark.parametrize(
    ("loading_at", "expected"),
    [
        (None, "as soon as possible, and before the consignment is loaded"),
        (
            ISSUED + timedelta(hours=3),
            "before loading, which you declared for 2026-11-20 11:00 UTC",
        ),
        (
            ISSUED - timedelta(hours=1),
            "as soon as possible: the loading time you declared, 2026-11-20 07:00 UTC, has passed",
        ),
    ],
)
def test_by_when(loading_at: datetime | None, expected: str) -> None:
    assert texts.deadline(loading_at, ISSUED) == expected
    when = None if loading_at is None else loading_at.isoformat()
    filing = declaration(transport={"estimated_loading_at": when})
    for kind in ("RFI", "HRCM"):
        assert expected in build.outcome_notice(filing, "F", kind, ISSUED).text


def test_a_loading_time_in_another_zone_is_said_in_utc() -> None:
    filing = declaration(transport={"estimated_loading_at": "2026-11-23T10:00:00+02:00"})
    assert "2026-11-23 08:00 UTC" in build.outcome_notice(filing, "F", "RFI", ISSUED).text


@pytest.mark.parametrize(
    ("referral", "words"),
    [
        ("RFI", "The request for information"),
        ("HRCM", "The request to screen the consignment"),
        ("DNL", "The instruction not to load the consignment"),
        (None, "The request"),  # closed by a worker that did not record the kind
    ],
)
def test_referral_closed_names_what_is_withdrawn(referral: str | None, words: str) -> None:
    notice = build.referral_closed("F", "D1", 3, referral, ISSUED)
    assert notice.kind == "REFERRAL_CLOSED"
    assert notice.version == 3
    assert notice.notice_id == build.notice_id("D1", 3, "REFERRAL_CLOSED")
    assert notice.text.startswith(f"{words} on declaration D1 version 3 is withdrawn;")
    assert "no action is needed for it" in notice.text


def test_no_notice_for_an_invalidated_outcome() -> None:
    with pytest.raises(ValueError, match="INVALIDATED"):
        build.outcome_notice(declaration(), "F", "INVALIDATED", ISSUED)


# --- rejected messages --------------------------------------------------------------------------

SCHEMA = DecodeFailure("SCHEMA", "Expected `str` matching regex ...", "$.goods[0].hs_code")


def test_a_rejected_filing_names_every_error_in_plain_words() -> None:
    message = encoded(filer_id="NO987", goods=[{"hs_code": "93"}, {"hs_code": "12"}])
    rejected = build.read_rejected(message, SCHEMA, b"CASE-1", 1 << 20)
    assert rejected is not None
    assert (rejected.filer_id, rejected.declaration_id, rejected.version) == ("NO987", "CASE-1", 1)
    assert rejected.errors == [
        NoticeError("$.goods[0].hs_code", "must be 6 to 10 digits"),
        NoticeError("$.goods[1].hs_code", "must be 6 to 10 digits"),
    ]
    notice = build.rejected_notice(rejected, "customs.declarations.v1", 0, 7, ISSUED)
    assert notice.kind == "REJECTED"
    assert notice.errors == rejected.errors
    assert "declaration CASE-1 version 1 was rejected and not screened" in notice.text
    assert "Correct the 2 errors given with this notice" in notice.text


def test_a_rejected_filing_without_a_filer_id_goes_to_the_declarant() -> None:
    rejected = build.read_rejected(encoded(version="one"), SCHEMA, None, 1 << 20)
    assert rejected is not None
    assert rejected.filer_id == "NO1"


@pytest.mark.parametrize(
    ("version", "expected"),
    [("one", 0), (True, 0), (-1, 0), (2**40, 0), (None, 0), (3, 3), (0, 0)],
)
def test_a_rejected_messages_version_is_0_when_it_has_none_usable(
    version: Any, expected: int
) -> None:
    rejected = build.read_rejected(encoded(version=version), SCHEMA, None, 1 << 20)
    assert rejected is not None
    assert rejected.version == expected


@pytest.mark.parametrize(
    ("declaration_id", "expected"),
    [("D/1", "D/1"), ("D" * 64, "D" * 64), ("D" * 65, ""), (12, ""), (None, "")],
)
def test_a_rejected_messages_declaration_id_is_kept_when_it_is_short_text(
    declaration_id: Any, expected: str
) -> None:
    rejected = build.read_rejected(encoded(declaration_id=declaration_id), SCHEMA, None, 1 << 20)
    assert rejected is not None
    assert rejected.declaration_id == expected
    if not expected:
        notice = build.rejected_notice(rejected, "t", 0, 1, ISSUED)
        assert notice.text.startswith("Your declaration message was rejected")


def test_an_oversized_message_gets_one_error_with_its_size() -> None:
    message = encoded(filer_id="NO987")
    failure = DecodeFailure("TOO_LARGE", "too large", None)
    rejected = build.read_rejected(message, failure, None, 100)
    assert rejected is not None
    assert rejected.errors == [
        NoticeError("$", f"the message is {len(message):,} bytes; at most 100 are accepted")
    ]


@pytest.mark.parametrize(
    ("message", "failure"),
    [
        (b"{not json", DecodeFailure("INVALID_JSON", "x")),
        (b"[1, 2]", DecodeFailure("NOT_AN_OBJECT", "x", "$")),
        (b'{"filer_id": "\xff"}', DecodeFailure("ENCODING", "x")),
        (None, DecodeFailure("NOT_AN_OBJECT", "x")),
        (b'{"version": "one"}', SCHEMA),  # names no filer
        (b'{"filer_id": 7, "declarant": {"ids": [{"value": 8}]}}', SCHEMA),
        (b'{"filer_id": " ", "declarant": {"ids": []}}', SCHEMA),
        (orjson.dumps({"filer_id": "F" * 513}), SCHEMA),
        (b'{"declarant": {"ids": "NO1"}}', SCHEMA),
        (b'{"declarant": "NO1"}', SCHEMA),
    ],
)
def test_no_rejected_notice_for_a_message_that_names_no_filer(
    message: bytes | None, failure: DecodeFailure
) -> None:
    assert build.read_rejected(message, failure, None, 1 << 20) is None


def test_a_filer_id_of_the_wrong_type_falls_back_to_the_declarant() -> None:
    rejected = build.read_rejected(encoded(filer_id=12345), SCHEMA, None, 1 << 20)
    assert rejected is not None
    assert rejected.filer_id == "NO1"
    assert rejected.errors == [NoticeError("$.filer_id", "must be text of at most 512 characters")]


def test_key_and_cross_field_errors_are_listed_too() -> None:
    document = without(filing(filer_id="F"), "consignor", "goods")
    rejected = build.read_rejected(orjson.dumps(document), SCHEMA, b"OTHER", 1 << 20)
    assert rejected is not None
    assert [e.path for e in rejected.errors] == ["$.consignor", "$.goods", "$.declaration_id"]
    assert rejected.errors[0].message == "is required in a FILING"
    assert "message key" in rejected.errors[2].message


@given(st.text(max_size=80), st.integers(min_value=1, max_value=2_147_483_647))
def test_notice_ids_are_uuid5_of_the_declaration_version_and_kind(
    declaration_id: str, version: int
) -> None:
    name = f"{declaration_id}/{version}/RFI"
    try:
        expected = str(uuid.uuid5(build.NAMESPACE, name))
    except UnicodeEncodeError:  # a lone surrogate: refused alike
        with pytest.raises(UnicodeEncodeError):
            build.notice_id(declaration_id, version, "RFI")
        return
    assert build.notice_id(declaration_id, version, "RFI") == expected
