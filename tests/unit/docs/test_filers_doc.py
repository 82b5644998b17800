"""docs/filers.md: its example notices are what the worker produces, and the topics, fields and
kinds it names are the contract's.

The examples are screened here with the default rules (and a watch-list entry for the DNL);
when a text changes, print the new ones with ``python -m tests.unit.docs.test_filers_doc``
and paste them into the page.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any, get_args

from pipeline import topics
from pipeline.contract.models import Declaration, Notice, NoticeKind, ReferralResponse
from pipeline.screening.ledger import DictLedger
from tests.unit.notices.test_screening import (
    ARMS,
    DNL,
    HRCM,
    RFI,
    filing,
    notices_in,
    record,
    screen,
)

ROOT = Path(__file__).resolve().parents[3]
DOCUMENT = ROOT / "docs" / "filers.md"
_EXAMPLE = re.compile(r"^### `(?P<kind>[A-Z_]+)`\n(?P<body>.*?)(?=^#{2,3} )", re.M | re.S)
_JSON = re.compile(r"```json\n(?P<json>.*?)\n```", re.S)


def examples() -> dict[str, dict[str, Any]]:
    """One notice of each kind, as the worker makes them."""
    ledger = DictLedger()
    clean = filing("DE-2026-000120")
    rfi = {**RFI, "declaration_id": "DE-2026-000121"}
    hrcm = {**HRCM, "declaration_id": "DE-2026-000122"}
    dnl = {**DNL, "declaration_id": "DE-2026-000123"}
    amended = filing("DE-2026-000122", 2, goods=[{"hs_code": "940360"}])
    rejected = filing("DE-2026-000124", goods=[{"hs_code": "9306"}, {"origin_country": "cn"}])
    assert hrcm["goods"][0]["hs_code"] == ARMS
    batch = [record(d, offset) for offset, d in enumerate([clean, rfi, hrcm, dnl, rejected])]
    found = notices_in(screen(batch, ledger))
    found += notices_in(screen([record(amended, 5)], ledger))
    shown: dict[str, dict[str, Any]] = {}
    for notice in found:
        shown.setdefault(notice["kind"], notice)  # the first of each kind
    return shown


def documented() -> dict[str, dict[str, Any]]:
    text = DOCUMENT.read_text()
    shown = {}
    for example in _EXAMPLE.finditer(text):
        block = _JSON.search(example["body"])
        assert block, f"no JSON example under {example['kind']}"
        shown[example["kind"]] = json.loads(block["json"])
    return shown


def test_every_kind_has_an_example_as_the_worker_produces_it() -> None:
    produced = examples()
    assert set(produced) == set(get_args(NoticeKind))
    assert documented() == produced


def test_the_topics_it_names_exist() -> None:
    named = set(re.findall(r"\bcustoms\.[a-z.]+\.v\d+\b", DOCUMENT.read_text()))
    known = {value for value in vars(topics).values() if isinstance(value, str)}
    assert {topics.DECLARATIONS, topics.ASSESSMENTS, topics.FILER_NOTICES} <= named
    assert named <= known, named - known


def test_the_fields_it_names_exist() -> None:
    text = DOCUMENT.read_text()
    for struct in (Notice, ReferralResponse):
        for name in struct.__struct_fields__:
            assert f"`{name}`" in text, (struct.__name__, name)
    for name in ("filer_id", "ucr", "place_of_receipt"):
        assert f"`{name}`" in text
        assert name in Declaration.__struct_fields__


def test_the_readme_links_it() -> None:
    assert "(docs/filers.md)" in (ROOT / "README.md").read_text()


if __name__ == "__main__":
    for kind, notice in examples().items():
        print(f"### `{kind}`\n\n```json\n{json.dumps(notice, indent=2)}\n```\n")
