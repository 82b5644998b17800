"""How the worker's process uses Python's cyclic garbage collector.

Screening a batch allocates hundreds of thousands of short-lived objects (decoded declarations,
frame rows, assessments) that reference counting frees. With the interpreter's default
thresholds, the collector still walks the young ones every 700 allocations and the whole heap
(version table, reference data) every few seconds: about a third of the worker's CPU. Rarer
collections free the same cycles, later.
"""

from __future__ import annotations

import gc

# Young collections every 200,000 allocations (a batch or so), older ones every 20 of those,
# and a full collection after 100 older ones: minutes apart at full load.
THRESHOLDS = (200_000, 20, 100)


def settle_long_lived_objects() -> None:
    """Call once everything the worker keeps for its lifetime is loaded.

    The objects loaded so far (reference data, millions of them) move to a generation that the
    collector never walks again; later collections come at ``THRESHOLDS``.
    """
    gc.freeze()
    gc.set_threshold(*THRESHOLDS)
