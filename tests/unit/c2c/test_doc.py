"""docs/customs-to-customs.md: its example agreement validates, it names every key, and its
tables are the code's."""

from __future__ import annotations

import re
from pathlib import Path

from pipeline.c2c import agreements
from pipeline.c2c.agreements import load_agreements
from pipeline.c2c.categories import TAG_CATEGORIES

ROOT = Path(__file__).resolve().parents[3]
DOC = (ROOT / "docs" / "customs-to-customs.md").read_text(encoding="utf-8")


def test_the_example_agreement_validates(tmp_path: Path) -> None:
    (example,) = re.findall(r"```yaml\n(.*?)```", DOC, flags=re.DOTALL)
    (tmp_path / "cn.yaml").write_text(example)
    (agreement,) = load_agreements(tmp_path)
    assert agreement.partner == "CN"


def test_every_key_is_documented() -> None:
    for key in agreements.REQUIRED + agreements.OPTIONAL:
        assert f"| `{key}` |" in DOC, key
    for key in agreements.SEND_KEYS:
        assert re.search(rf"\| `send\.[^`]*\.{key}` \|", DOC), key
    for field in agreements.SHAREABLE_FIELDS:
        assert f"`{field}`" in DOC


def test_every_tag_of_the_mapping_is_documented() -> None:
    for tag in TAG_CATEGORIES:
        assert f"`{tag}`" in DOC, tag
