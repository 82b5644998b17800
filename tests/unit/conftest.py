"""Fixtures the unit tests of several folders share."""

from __future__ import annotations

from pathlib import Path

import pytest

from pipeline.rules.compiler import CompiledRuleSet
from pipeline.rules.loader import load_ruleset
from pipeline.screening.ledger import DictLedger

RULES = Path(__file__).resolve().parents[2] / "rules"


@pytest.fixture
def ledger() -> DictLedger:
    """The worker's version table as a dict, empty: screening without a broker."""
    return DictLedger()


@pytest.fixture(scope="session")
def default_rules() -> CompiledRuleSet:
    """The repository's rule set (rules/), compiled once for the session."""
    return CompiledRuleSet(load_ruleset(RULES))
