"""The screening batch's assessments into the examination join: joined in the worker's own
partition of the table, or handed on to the partition the declaration id hashes to, where the
feedback loop joins them."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from datetime import UTC, datetime

import msgspec

from pipeline import topics
from pipeline.contract.models import Assessment, Match
from pipeline.feedback.decode import assessed_of, decode_assessment
from pipeline.feedback.join import JoinEntry
from pipeline.kafka.partitioning import expected_partition
from pipeline.records import InputRecord
from pipeline.worker.feedback import FeedbackHandler
from pipeline.worker.join_table import TableJoinStore, day_of
from pipeline.worker.screened_join import ScreenedJoin, handoff_topic
from pipeline.worker.table_store import PartitionedTableStore
from tests.unit.worker.conftest import PARTITIONS
from tests.unit.worker.test_feedback import examination, stored

Make = Callable[[str], PartitionedTableStore]
HANDOFF = handoff_topic("unit-tables")
AT = datetime(2026, 11, 21, 10, 0, tzinfo=UTC)


def assessment(declaration_id: str, outcome: str = "HRCM", version: int = 1) -> Assessment:
    rules = ("HS-ARMS-93", "ROUTE-HIGH-RISK", "HS-ARMS-93") if outcome != "CLEAR" else ()
    return Assessment(
        declaration_id=declaration_id,
        version=version,
        outcome=outcome,  # type: ignore[arg-type]
        score=90.0 if rules else 0.0,
        matches=[Match(rule, 1, "HRCM", 45.0, "a reason", {"hs_code": "930690"}) for rule in rules],
        shadow_matches=[],
        parties=[],
        ruleset_version="2026.11.1",
        submitted_at=AT,
        assessed_at=AT,
        superseded_versions=[],
    )


def screened(declaration_id: str, partition: int | None = None) -> InputRecord:
    """The declaration record an assessment was made from, by default in its key's partition."""
    key = declaration_id.encode()
    if partition is None:
        partition = expected_partition(key, PARTITIONS)
    return InputRecord(topics.DECLARATIONS, key, b"{}", partition, 7, None)


def test_an_assessment_joins_in_the_partition_its_declaration_was_screened_in(
    table_store: Make,
) -> None:
    tables = table_store("join")
    join = ScreenedJoin(TableJoinStore(tables), PARTITIONS, HANDOFF)
    referred, clear = screened("D-1"), screened("D-2")
    joined = join.join([(referred, assessment("D-1")), (clear, assessment("D-2", "CLEAR"))])
    assert joined.handed_on == []
    assert joined.tally.referrals == {"HS-ARMS-93": 1, "ROUTE-HIGH-RISK": 1}
    assert joined.tally.events == {"assessment_joined": 2}
    tables.drain()
    today = day_of(None)
    assert (
        stored(tables, referred.partition)["D-1/1"] == f"{today} HRCM - HS-ARMS-93 ROUTE-HIGH-RISK"
    )
    assert stored(tables, clear.partition)["D-2/1"] == f"{today} CLEAR -"

    # The same batch screened again after a crash adds nothing.
    again = join.join([(referred, assessment("D-1"))])
    assert again.tally.referrals == {}
    assert again.tally.events == {"assessment_duplicate": 1}
    assert tables.drain() == []


def test_an_examination_result_waiting_for_its_assessment_joins_when_it_is_screened(
    table_store: Make,
) -> None:
    tables = table_store("join")
    store = TableJoinStore(tables)
    asyncio.run(FeedbackHandler(store, PARTITIONS).handle([examination("D-3")]))
    joined = ScreenedJoin(store, PARTITIONS, HANDOFF).join([(screened("D-3"), assessment("D-3"))])
    assert joined.tally.events == {"assessment_joined": 1, "examination_joined_late": 1}
    assert joined.tally.seizures == {"HS-ARMS-93": 1, "ROUTE-HIGH-RISK": 1}
    entry = store.get("D-3/1", expected_partition(b"D-3", PARTITIONS))
    assert entry == JoinEntry("HRCM", "SEIZURE", ("HS-ARMS-93", "ROUTE-HIGH-RISK"))


def test_an_assessment_screened_outside_its_keys_partition_is_handed_on_and_joined_there(
    table_store: Make,
) -> None:
    tables = table_store("join")
    store = TableJoinStore(tables)
    right = expected_partition(b"D-4", PARTITIONS)
    made = assessment("D-4", version=2)
    joined = ScreenedJoin(store, PARTITIONS, HANDOFF).join(
        [(screened("D-4", (right + 1) % PARTITIONS), made)]
    )
    assert joined.tally.events == {}
    assert tables.drain() == []  # nothing joined where it was screened
    (handed,) = joined.handed_on
    # Keyed by declaration id, with no partition: the producer's murmur2 puts it at ``right``.
    assert (handed.topic, handed.key, handed.partition) == (HANDOFF, b"D-4", None)
    assert decode_assessment(handed.value) == assessed_of(made)
    assert len(handed.value or b"") < len(msgspec.json.encode(made)) / 2

    # The worker that owns ``right`` reads it off the hand-off topic and joins it.
    arrived = InputRecord(HANDOFF, handed.key, handed.value, right, 0, None)
    handled = asyncio.run(FeedbackHandler(store, PARTITIONS).handle([arrived]))
    assert handled.outputs == ()
    tables.drain()
    assert stored(tables, right)["D-4/2"].endswith(" HRCM - HS-ARMS-93 ROUTE-HIGH-RISK")
