"""The worker's version table as a dict, for screening without a broker."""

from __future__ import annotations

from pipeline.screening.ledger import DictLedger

__all__ = ["DictLedger"]
