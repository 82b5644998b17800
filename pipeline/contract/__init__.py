"""The public contract (version 1), the bottom layer that everything else builds on.

Offers ``models`` (the msgspec structs of every message: Declaration, Assessment, Hit, Notice,
Referral, PartnerMessage, ...) and ``schemas`` (the JSON Schema files generated from them,
``python -m pipeline.contract.schemas``). Imports nothing from the rest of ``pipeline``.
"""
