"""Fixtures of the reference data tests."""

from __future__ import annotations

import pytest

from pipeline.reference.aeo import AeoRegistry
from pipeline.reference.parties import ReferenceData
from pipeline.reference.watchlist import Watchlist


@pytest.fixture
def empty_reference() -> ReferenceData:
    """Reference data as a worker starts with it: no AEO record, no listing, no clearance."""
    return ReferenceData(AeoRegistry(), Watchlist())
