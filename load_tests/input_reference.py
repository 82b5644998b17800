"""Reference data the bench's input actually hits: its own AEO registry and a few listed names.

The bulk reference data of the bench (``reference_startup.publish_reference_data``: a million
random AEO records, a hundred thousand random watch-list entries) gives the worker the size it
has in service, but none of it names a company of the generated declarations: every AEO claim
would be unverified and no party would ever match. So the bench also publishes the registry of
the generator that made its input (same seed, so the same companies and ids) and puts a small
share of those companies on the watch list.
"""

from __future__ import annotations

import random
from collections.abc import Iterable, Mapping

import msgspec
import orjson
from confluent_kafka import Producer

from pipeline import topics
from pipeline.cli.generate import publish_aeo_rows
from pipeline.contract.models import Referral, WatchlistEntry
from pipeline.kafka.producer import produce_waiting, producer_config
from pipeline.settings import Settings

# The share of the input's companies on the watch list. A watch list names a small minority
# of the traders an office sees; 1 % of the registry's names is a handful of companies, which
# the seed-42 input names in about 5 of 1,000 declarations: the matching, the enrichment and
# the referrals it causes run as in service, without turning the bench into a flood of hits.
WATCHLIST_SHARE = 0.01
WATCHLIST_SEED = 2121
_ACTIONS: tuple[Referral, ...] = ("DNL", "HRCM", "RFI")

AeoRow = Mapping[str, str | None]


def watchlist_entries(
    rows: Iterable[AeoRow], share: float = WATCHLIST_SHARE, seed: int = WATCHLIST_SEED
) -> list[WatchlistEntry]:
    """Entries ``BENCH-CO-<n>`` for ``share`` of the distinct company names of ``rows`` (at
    least one), names and actions (DNL, HRCM or RFI) drawn with a fixed seed."""
    countries: dict[str, str | None] = {}
    for row in rows:
        name = row.get("name")
        if name and name not in countries:
            countries[name] = row.get("country")
    if not countries:
        return []
    rng = random.Random(seed)
    chosen = rng.sample(sorted(countries), max(1, round(len(countries) * share)))
    return [
        WatchlistEntry(
            entry_id=f"BENCH-CO-{n}",
            name=name,
            country=countries[name],
            list="BENCH",
            action=rng.choice(_ACTIONS),
            reason="a company of the bench's input",
        )
        for n, name in enumerate(chosen, 1)
    ]


def names_in(value: bytes, names: Iterable[str]) -> bool:
    """Whether a declaration's JSON names any of ``names`` (as orjson writes them)."""
    return any(orjson.dumps(name)[1:-1] in value for name in names)


def publish_input_reference(
    settings: Settings, rows: list[dict[str, str | None]]
) -> dict[str, int]:
    """The input generator's AEO registry ``rows`` (as `screening aeo load` reads them) and
    the watch-list entries for a share of its companies; how many of each were published."""
    producer = Producer(producer_config(settings.kafka))
    aeo = publish_aeo_rows(producer, rows)
    entries = watchlist_entries(rows)
    for entry in entries:
        produce_waiting(
            producer, topics.WATCHLIST, msgspec.json.encode(entry), entry.entry_id.encode()
        )
    if producer.flush(60):
        raise RuntimeError("the watch-list entries were not fully written")
    return {"input_aeo_records": aeo, "input_watchlist_entries": len(entries)}
