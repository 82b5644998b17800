"""Topic administration against the broker."""

from __future__ import annotations

import uuid

from pipeline.kafka.admin import ensure_topics, topic_ids
from pipeline.settings import Settings
from pipeline.topics import TopicSpec


def test_a_topic_is_described_the_moment_it_is_created(settings: Settings) -> None:
    """The worker names its tables' changelogs by id right after creating them; the broker's
    metadata may not list a new topic yet, which must not stop the worker."""
    specs = tuple(
        TopicSpec(f"test-admin-{uuid.uuid4().hex[:8]}", "key", {"cleanup.policy": "compact"})
        for _ in range(10)
    )
    for spec in specs:
        ensure_topics(settings, (spec,))
        found = topic_ids(settings.kafka, [spec.name])
        assert len(found[spec.name]) == 22  # a base64 Uuid
    assert len(set(topic_ids(settings.kafka, [s.name for s in specs]).values())) == 10
