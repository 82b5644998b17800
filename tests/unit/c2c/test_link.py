"""The MirrorMaker 2 link's lag from replicated heartbeats, on a fake reader."""

from __future__ import annotations

import pytest

from pipeline.c2c.link import heartbeats_topic, link_lag_seconds
from pipeline.settings import KafkaSettings, Settings

NOW_S = 1_800_000_000.0


class FakeReader:
    """Newest timestamps per topic, and the topics and bootstrap it was asked about."""

    def __init__(self, newest: dict[str, int]) -> None:
        self.newest = newest
        self.asked: list[tuple[str, str]] = []

    def __call__(self, kafka: KafkaSettings, topic: str) -> int | None:
        self.asked.append((kafka.servers, topic))
        return self.newest.get(topic)


def test_the_partners_heartbeats_are_named_by_the_default_replication_policy() -> None:
    assert heartbeats_topic("cn") == "cn.heartbeats"


def test_lag_is_the_age_of_the_newest_replicated_heartbeat() -> None:
    reader = FakeReader({"cn.heartbeats": int((NOW_S - 2.5) * 1000)})
    lag = link_lag_seconds("127.0.0.1:9192", "cn", newest=reader, now=lambda: NOW_S)
    assert lag == pytest.approx(2.5)
    assert reader.asked == [("127.0.0.1:9192", "cn.heartbeats")]


def test_settings_are_used_as_given() -> None:
    reader = FakeReader({"eu.heartbeats": int(NOW_S * 1000)})
    kafka = Settings(kafka_bootstrap="kafka.eu.example:9094").kafka
    assert link_lag_seconds(kafka, "eu", newest=reader, now=lambda: NOW_S) == 0.0
    assert reader.asked == [("kafka.eu.example:9094", "eu.heartbeats")]


def test_no_heartbeat_ever_means_no_link_not_zero_lag() -> None:
    assert link_lag_seconds("x:1", "cn", newest=FakeReader({}), now=lambda: NOW_S) is None


def test_a_partner_clock_ahead_of_ours_is_no_negative_lag() -> None:
    reader = FakeReader({"cn.heartbeats": int((NOW_S + 3) * 1000)})
    assert link_lag_seconds("x:1", "cn", newest=reader, now=lambda: NOW_S) == 0.0
