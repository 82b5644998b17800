"""Notices through the Screener, with the default rules and a watch list: every filing's notice
in its batch, referrals withdrawn, rejections, redelivery; and no text tells why.

The tipping-off checks compare each notice with the assessment of the same declaration version,
as real rule evaluations made it: no rule id, title or reason, no score, no watch-list entry or
list, no evidence value of it appears in the text.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Sequence
from datetime import UTC, datetime
from functools import cache
from pathlib import Path
from typing import Any

import msgspec
import orjson
import pytest
from jsonschema import Draft202012Validator, FormatChecker

from pipeline import topics
from pipeline.backtest.reference import load_reference
from pipeline.contract.models import WatchlistEntry
from pipeline.contract.schemas import load_schema
from pipeline.notices import build
from pipeline.records import InputRecord, OutputRecord
from pipeline.rules.compiler import CompiledRuleSet
from pipeline.rules.evaluator import RuleEvaluator
from pipeline.rules.loader import load_ruleset
from pipeline.rules.model import RuleSet
from pipeline.samples.generator import DeclarationGenerator, GeneratorConfig
from pipeline.screening.batch import BatchResult, Screener
from pipeline.screening.ledger import DictLedger
from pipeline.screening.versions import VersionState
from pipeline.settings import Settings
from tests import factories
from tests.factories import invalidation

ROOT = Path(__file__).resolve().parents[3]
RULES_DIR = ROOT / "rules"
SAMPLE_DATA = ROOT / "deploy" / "sample-data"
NOW = datetime(2026, 11, 20, 8, 0, 5, 250_000, tzinfo=UTC)
FILER = "NO987654321"
ARMS = "930690"
# Watch-list entries for parties of the filings below, one per action.
ENTRIES = (
    WatchlistEntry("N-2026-88", "KESTREL LOGISTICS", country="IR", list="NATIONAL", action="DNL"),
    WatchlistEntry("EU-4711", "ORION HOLDINGS", country="AE", list="EU", action="HRCM"),
    WatchlistEntry("OFAC-3391", "BALTIC PETROCHEMICAL SUPPLY", list="OFAC", action="RFI"),
)
# Words that would say why: none of them is in any notice.
WHY_WORDS = (
    "rule",
    "score",
    "watch",
    "sanction",
    "reason",
    "because",
    "risk",
    "selected",
    "match",
    "evidence",
    "suspect",
    "intelligence",
    "random",
    "targeting rule",
    "list entry",
)


@cache
def ruleset() -> RuleSet:
    return load_ruleset(RULES_DIR)


@cache
def screener() -> Screener:
    """The default rules, the sample AEO registry and watch list, and ``ENTRIES``."""
    loaded = load_reference(
        Settings(random_selection_share=0.0).scoring,
        [SAMPLE_DATA / "aeo.csv"],
        [SAMPLE_DATA / "watchlist.csv"],
    )
    for entry in ENTRIES:
        loaded.data.apply_watchlist(entry.entry_id.encode(), msgspec.json.encode(entry))
    evaluator = RuleEvaluator(CompiledRuleSet(ruleset()), loaded.data)
    return Screener(evaluator, max_message_bytes=1 << 20, clock=lambda: NOW)


@cache
def validator() -> Draft202012Validator:
    return Draft202012Validator(load_schema("notice"), format_checker=FormatChecker())


def filing(declaration_id: str, version: int = 1, **fragment: Any) -> dict[str, Any]:
    """A clean filing by FILER."""
    return factories.filing(declaration_id, version, filer_id=FILER, **fragment)


# A filing of each outcome: ASSESSMENT_COMPLETE, RFI, HRCM, DNL.
CLEAN = filing("D-CLEAN")
RFI = filing("D-RFI", goods=[{"description": "GENERAL CARGO"}])
HRCM = filing("D-HRCM", goods=[{"hs_code": ARMS}])
DNL = filing("D-DNL", consignee={"name": "Kestrel Logistics"})
BY_OUTCOME = {"ASSESSMENT_COMPLETE": CLEAN, "RFI": RFI, "HRCM": HRCM, "DNL": DNL}


def record(
    document: dict[str, Any] | bytes, offset: int = 0, key: bytes | None = None
) -> InputRecord:
    if isinstance(document, dict):
        value = orjson.dumps(document)
        key = key or document["declaration_id"].encode()
    else:
        value = document
    return InputRecord(topics.DECLARATIONS, key, value, 0, offset)


def records(documents: Iterable[dict[str, Any] | bytes]) -> list[InputRecord]:
    return [record(document, offset) for offset, document in enumerate(documents)]


def screen(batch: Sequence[InputRecord], ledger: DictLedger | None = None) -> BatchResult:
    return screener().screen(batch, ledger if ledger is not None else DictLedger())


def notices_in(result: BatchResult) -> list[dict[str, Any]]:
    found = []
    for output in result.outputs:
        if output.topic == topics.FILER_NOTICES:
            assert output.value is not None
            notice = json.loads(output.value)
            assert output.key == notice["filer_id"].encode()
            assert output.partition is None  # placed by the filer_id key
            validator().validate(notice)
            found.append(notice)
    return found


def assessments_in(result: BatchResult) -> dict[tuple[str, int], dict[str, Any]]:
    return {
        (a["declaration_id"], a["version"]): a
        for a in (
            json.loads(o.value or b"") for o in result.outputs if o.topic == topics.ASSESSMENTS
        )
    }


def kinds(result: BatchResult) -> list[tuple[str, str, int]]:
    return [(n["kind"], n["declaration_id"], n["version"]) for n in notices_in(result)]


# --- one notice per filing, of its outcome -------------------------------------------------------


@pytest.mark.parametrize("outcome", sorted(BY_OUTCOME))
def test_a_filing_gets_one_notice_of_its_outcome(outcome: str) -> None:
    document = BY_OUTCOME[outcome]
    result = screen([record(document)])
    (assessment,) = assessments_in(result).values()
    assert assessment["outcome"] == outcome
    (notice,) = notices_in(result)
    declaration_id = document["declaration_id"]
    assert notice == {
        "filer_id": FILER,
        "declaration_id": declaration_id,
        "version": 1,
        "kind": outcome,
        "notice_id": build.notice_id(declaration_id, 1, outcome),
        "issued_at": "2026-11-20T08:00:05.250000Z",  # the batch's assessed_at
        "text": notice["text"],
    }
    assert assessment["assessed_at"] == notice["issued_at"]
    assert result.notices == {outcome: 1}
    # Produced in the batch, after its assessment (and hit).
    topics_in_order = [o.topic for o in result.outputs]
    assert topics_in_order[-1] == topics.FILER_NOTICES
    assert topics_in_order[0] == topics.ASSESSMENTS


def test_a_filing_without_a_filer_id_goes_to_the_declarants_first_id() -> None:
    document = filing("D-NOFILER")
    del document["filer_id"]
    (notice,) = notices_in(screen([record(document)]))
    assert notice["filer_id"] == "NO1"


def test_a_filing_that_names_no_filer_gets_no_notice_and_is_counted() -> None:
    document = filing("D-NOBODY", goods=[{"hs_code": ARMS}])
    del document["filer_id"]
    document["declarant"] = {"name": "NORDIC FORWARDING AS"}
    result = screen([record(document)])
    assert notices_in(result) == []
    assert result.notices_unaddressed == {"HRCM": 1}
    assert [o.topic for o in result.outputs] == [topics.ASSESSMENTS, topics.HITS]


# --- no tipping-off ------------------------------------------------------------------------------


def _generated(count: int) -> list[InputRecord]:
    """Generated traffic, every declaration risky, with amendments and invalidations."""
    generator = DeclarationGenerator(
        GeneratorConfig(seed=4242, risky_share=1.0, amendment_share=0.3, invalidation_share=0.1)
    )
    return [
        InputRecord(topics.DECLARATIONS, m.key, m.value, 0, offset)
        for offset, m in enumerate(generator.messages(count))
    ]


def _strings(value: Any) -> Iterable[str]:
    if isinstance(value, dict):
        for item in value.values():
            yield from _strings(item)
    elif isinstance(value, list):
        for item in value:
            yield from _strings(item)
    elif value is not None and not isinstance(value, bool):
        yield str(value)


def _secrets(assessment: dict[str, Any]) -> tuple[set[str], set[float]]:
    """What a notice about ``assessment`` must not say: rule ids, titles and reasons, every
    evidence value (watch-list entries and lists among them), and the scores."""
    rules = {rule.id: rule for rule in ruleset().rules}
    words: set[str] = set()
    scores = {float(assessment["score"])}
    for match in assessment["matches"] + assessment["shadow_matches"]:
        rule = rules[match["rule_id"]]
        words |= {match["rule_id"], rule.title, match["reason"]}
        words |= set(_strings(match["evidence"]))
        scores.add(float(match["score"]))
    return words, {s for s in scores if s}


def _echoed(notice: dict[str, Any], filed: dict[str, Any]) -> list[str]:
    """What a notice says of the filing on purpose: its id, and when and where it loads."""
    transport = filed.get("transport") or {}
    echoed = [notice["declaration_id"]]
    if transport.get("discharge_location"):
        echoed.append(transport["discharge_location"])
    return echoed


def check_no_tipping_off(
    notice: dict[str, Any], assessment: dict[str, Any], filed: dict[str, Any]
) -> int:
    """Assert ``notice`` reveals nothing of ``assessment``; return how many secrets were
    checked."""
    text = notice["text"]
    words, scores = _secrets(assessment)
    echoed = _echoed(notice, filed)
    checked = 0
    for secret in words:
        # Short values (a country code, a count) are everyday words of any text; what the
        # notice repeats of the filing on purpose is not a secret.
        if len(secret) < 4 or any(secret in e or e in secret for e in echoed):
            continue
        assert secret not in text, (secret, text)
        checked += 1
    scrubbed = re.sub(r"\d{4}-\d{2}-\d{2} \d{2}:\d{2} UTC", "", text)
    for e in echoed:
        scrubbed = scrubbed.replace(e, "")
    scrubbed = re.sub(r"version \d+", "", scrubbed)
    for score in scores:
        assert not re.search(rf"(?<![\d.]){score:g}(?![\d.])", scrubbed), (score, text)
        checked += 1
    lowered = text.lower()
    for word in WHY_WORDS:
        assert word not in lowered, (word, text)
    for rule in ruleset().rules:
        assert rule.id not in text
    return checked


def test_no_notice_says_why_for_hand_made_referrals() -> None:
    documents = [
        CLEAN,
        RFI,
        HRCM,
        DNL,
        filing("D-ENTRY-2", consignor={"name": "Orion Holdings LLC"}),
        filing("D-ENTRY-3", consignee={"name": "Baltik Petrochemical Supply Ltd."}),
        filing(
            "D-MANY",
            goods=[{"hs_code": "360100", "description": "SAID TO CONTAIN", "value": None}],
            consignee={"name": "Kestrel Logistics", "address": {"po_box": True}},
            equipment=[{"container_id": "MSCU6639871", "seals": []}],
            totals={"packages": 1, "gross_mass_kg": 9.0},
        ),
    ]
    result = screen(records(documents))
    assessments = assessments_in(result)
    outcomes = {a["outcome"] for a in assessments.values()}
    assert outcomes == {"ASSESSMENT_COMPLETE", "RFI", "HRCM", "DNL"}
    entries = set()
    for assessment in assessments.values():
        for match in assessment["matches"]:
            entries |= {v for k, v in match["evidence"].items() if k.endswith("watchlist_entry")}
    assert entries == {"N-2026-88", "EU-4711", "OFAC-3391"}  # each entry matched something
    filed = {d["declaration_id"]: d for d in documents}
    notices = notices_in(result)
    assert len(notices) == len(documents)
    checked = sum(
        check_no_tipping_off(
            n, assessments[(n["declaration_id"], n["version"])], filed[n["declaration_id"]]
        )
        for n in notices
    )
    assert checked > 50


def test_no_notice_says_why_in_generated_risky_traffic(ledger: DictLedger) -> None:
    batch = _generated(600)
    result = screen(batch, ledger)
    assessments = assessments_in(result)
    filed = {}
    for item in batch:
        document = orjson.loads(item.value or b"{}")
        if isinstance(document, dict) and "declaration_id" in document:
            filed[(document["declaration_id"], document.get("version"))] = document
    notices = notices_in(result)
    assert {n["kind"] for n in notices} >= {
        "ASSESSMENT_COMPLETE",
        "RFI",
        "HRCM",
        "REFERRAL_CLOSED",
    }
    rule_ids = set()
    checked = 0
    for notice in notices:
        key = (notice["declaration_id"], notice["version"])
        assessment, document = assessments[key], filed[key]
        rule_ids |= {m["rule_id"] for m in assessment["matches"]}
        checked += check_no_tipping_off(notice, assessment, document)
    assert len(rule_ids) >= 15  # the notices were checked against many rules' matches
    assert checked > 1000


# --- versions, withdrawals and redelivery --------------------------------------------------------


def test_an_amendment_to_harmless_goods_withdraws_the_referral_and_completes(
    ledger: DictLedger,
) -> None:
    assert kinds(screen([record(HRCM)], ledger)) == [("HRCM", "D-HRCM", 1)]
    amended = filing("D-HRCM", 2, goods=[{"hs_code": "940360"}])
    result = screen([record(amended, 1)], ledger)
    assert kinds(result) == [("REFERRAL_CLOSED", "D-HRCM", 1), ("ASSESSMENT_COMPLETE", "D-HRCM", 2)]
    closed, complete = notices_in(result)
    assert closed["text"].startswith(
        "The request to screen the consignment on declaration D-HRCM version 1 is withdrawn"
    )
    assert closed["notice_id"] == build.notice_id("D-HRCM", 1, "REFERRAL_CLOSED")
    assert "may be loaded" in complete["text"]
    assert result.notices == {"REFERRAL_CLOSED": 1, "ASSESSMENT_COMPLETE": 1}


def test_an_amendment_that_stays_a_referral_sends_only_its_own_notice(ledger: DictLedger) -> None:
    screen([record(HRCM)], ledger)
    amended = filing(
        "D-HRCM", 2, goods=[{"hs_code": ARMS}], consignee={"name": "Kestrel Logistics"}
    )
    assert kinds(screen([record(amended, 1)], ledger)) == [("DNL", "D-HRCM", 2)]


def test_an_amendment_of_a_clean_filing_withdraws_nothing(ledger: DictLedger) -> None:
    screen([record(CLEAN)], ledger)
    result = screen([record(filing("D-CLEAN", 2), 1)], ledger)
    assert kinds(result) == [("ASSESSMENT_COMPLETE", "D-CLEAN", 2)]
    assert result.tombstones == 1  # the spare tombstone is not a withdrawn referral


def test_an_invalidation_withdraws_the_referral_and_says_nothing_else(ledger: DictLedger) -> None:
    screen([record(DNL)], ledger)
    # No filer_id, no declarant: told to whoever was told of the referral.
    result = screen([record(invalidation("D-DNL", 2), 1)], ledger)
    (notice,) = notices_in(result)
    assert (notice["kind"], notice["version"], notice["filer_id"]) == ("REFERRAL_CLOSED", 1, FILER)
    assert notice["text"].startswith("The instruction not to load the consignment on declaration")


def test_an_invalidation_of_a_clean_filing_sends_no_notice(ledger: DictLedger) -> None:
    screen([record(CLEAN)], ledger)
    result = screen([record(invalidation("D-CLEAN", 2, filer_id=FILER), 1)], ledger)
    assert notices_in(result) == []
    assert result.notices_unaddressed == {}


def test_a_referral_closed_goes_to_the_closing_filer_when_its_own_is_not_known(
    ledger: DictLedger,
) -> None:
    # A state written before notices existed: the open hit's kind and filer are not known.
    ledger.states["D-OLD"] = VersionState((1,), open_hit=1)
    result = screen([record(invalidation("D-OLD", 2, filer_id="NEW-FILER"))], ledger)
    (notice,) = notices_in(result)
    assert notice["filer_id"] == "NEW-FILER"
    assert notice["text"].startswith("The request on declaration D-OLD version 1 is withdrawn")
    ledger.states["D-OLD2"] = VersionState((1,), open_hit=1)
    result = screen([record(invalidation("D-OLD2", 2))], ledger)
    assert notices_in(result) == []
    assert result.notices_unaddressed == {"REFERRAL_CLOSED": 1}


def test_a_version_arriving_after_a_newer_one_gets_no_notice(ledger: DictLedger) -> None:
    screen([record(filing("D-LATE", 3, goods=[{"hs_code": ARMS}]))], ledger)
    result = screen([record(filing("D-LATE", 1), 1)], ledger)
    assessment = assessments_in(result)[("D-LATE", 1)]
    assert assessment["superseded_by"] == 3
    assert notices_in(result) == []
    assert result.notices_unaddressed == {}


def test_versions_in_one_batch_each_get_their_notice_in_order() -> None:
    batch = records(
        [
            filing("D-SEQ", 1, goods=[{"hs_code": ARMS}]),
            filing("D-SEQ", 2),
            filing("D-SEQ", 3, goods=[{"description": "GENERAL CARGO"}]),
            invalidation("D-SEQ", 4),
        ]
    )
    assert kinds(screen(batch)) == [
        ("HRCM", "D-SEQ", 1),
        ("REFERRAL_CLOSED", "D-SEQ", 1),
        ("ASSESSMENT_COMPLETE", "D-SEQ", 2),
        ("RFI", "D-SEQ", 3),
        ("REFERRAL_CLOSED", "D-SEQ", 3),
    ]


def _notice_outputs(result: BatchResult) -> list[OutputRecord]:
    return [o for o in result.outputs if o.topic == topics.FILER_NOTICES]


def test_the_same_batch_screened_twice_sends_the_same_notices() -> None:
    batch = [
        *records([CLEAN, RFI, HRCM, DNL]),
        record(filing("D-HRCM", 2), 4),
        record(invalidation("D-DNL", 2), 5),
        record(b'{"filer_id": "NO987654321", "declaration_id": "D-X", "version": "one"}', 6),
    ]
    first = screen(batch, DictLedger())
    again = screen(batch, DictLedger())
    assert _notice_outputs(first) == _notice_outputs(again)
    assert len(_notice_outputs(first)) == 8
    assert len({n["notice_id"] for n in notices_in(first)}) == 8


@pytest.mark.parametrize("state_written", [True, False])
def test_a_closing_version_screened_again_after_a_crash_withdraws_again(
    state_written: bool,
    ledger: DictLedger,
) -> None:
    """After a crash the batch is screened again, with the version table as far as its
    changelog got: the filer gets the same notices, with the same ids."""
    screen([record(HRCM)], ledger)
    before = dict(ledger.states)
    closing = record(filing("D-HRCM", 2), 1)
    first = screen([closing], ledger)
    if not state_written:
        ledger.states = before
    again = screen([closing], ledger)
    assert _notice_outputs(again) == _notice_outputs(first)
    assert [n["kind"] for n in notices_in(again)] == ["REFERRAL_CLOSED", "ASSESSMENT_COMPLETE"]


def test_an_invalidation_screened_again_withdraws_again(ledger: DictLedger) -> None:
    screen([record(RFI)], ledger)
    closing = record(invalidation("D-RFI", 2), 1)
    first = screen([closing], ledger)
    again = screen([closing], ledger)
    assert _notice_outputs(first) == _notice_outputs(again)
    assert [n["kind"] for n in notices_in(again)] == ["REFERRAL_CLOSED"]
    # A later version makes the closing one old: it is superseded, and says nothing again.
    screen([record(filing("D-RFI", 3), 2)], ledger)
    assert notices_in(screen([closing], ledger)) == []


# --- rejected messages ---------------------------------------------------------------------------


def test_a_malformed_filing_naming_a_filer_gets_a_rejected_notice_with_paths() -> None:
    bad = filing("D-BAD", goods=[{"hs_code": "93"}, {"hs_code": "940360", "origin_country": "cn"}])
    result = screen([record(bad, offset=17)])
    assert [o.topic for o in result.outputs] == [topics.DLQ, topics.FILER_NOTICES]
    (notice,) = notices_in(result)
    assert notice["kind"] == "REJECTED"
    assert (notice["filer_id"], notice["declaration_id"], notice["version"]) == (FILER, "D-BAD", 1)
    assert notice["errors"] == [
        {"path": "$.goods[0].hs_code", "message": "must be 6 to 10 digits"},
        {
            "path": "$.goods[1].origin_country",
            "message": "must be a country code of two capital letters (ISO 3166-1), like DE",
        },
    ]
    assert notice["issued_at"] == "2026-11-20T08:00:05.250000Z"
    assert result.notices == {"REJECTED": 1}


def test_a_rejected_message_that_names_no_filer_is_counted() -> None:
    result = screen(records([b"{", b"[]", b'{"version": "one"}']))
    assert notices_in(result) == []
    assert result.notices_unaddressed == {"REJECTED": 3}


def test_good_and_bad_messages_in_one_batch() -> None:
    batch = records([b"{", CLEAN, filing("D-BAD", version="two"), HRCM])
    assert kinds(screen(batch)) == [
        ("REJECTED", "D-BAD", 0),
        ("ASSESSMENT_COMPLETE", "D-CLEAN", 1),
        ("HRCM", "D-HRCM", 1),
    ]
