"""The partner links' lag as the worker exports it."""

from __future__ import annotations

from prometheus_client import CollectorRegistry, generate_latest

from pipeline.c2c.link_metrics import LinkLagSampler
from pipeline.errors import KafkaUnavailable


def _exported(sampler: LinkLagSampler) -> str:
    registry = CollectorRegistry()
    registry.register(sampler)
    return generate_latest(registry).decode()


def test_before_the_first_sample_no_link_has_been_seen() -> None:
    text = _exported(LinkLagSampler(["cn", "us"], lambda alias: 1.0))
    assert 'screening_c2c_link_heartbeats_seen{partner="cn"} 0.0' in text
    assert "screening_c2c_link_lag_seconds{" not in text


def test_a_sample_exports_each_partners_lag() -> None:
    lags = {"cn": 1.5, "us": None}
    sampler = LinkLagSampler(["us", "cn"], lags.__getitem__)
    sampler.sample()
    text = _exported(sampler)
    assert 'screening_c2c_link_lag_seconds{partner="cn"} 1.5' in text
    assert 'screening_c2c_link_heartbeats_seen{partner="cn"} 1.0' in text
    assert 'screening_c2c_link_heartbeats_seen{partner="us"} 0.0' in text
    assert 'screening_c2c_link_lag_seconds{partner="us"}' not in text


def test_an_unreadable_partner_loses_its_value_not_the_others() -> None:
    def lag_of(alias: str) -> float | None:
        if alias == "us":
            raise KafkaUnavailable("broker down")
        return 2.0

    sampler = LinkLagSampler(["cn", "us"], lag_of)
    sampler.sample()
    assert sampler.lags() == {"cn": 2.0, "us": None}


def test_no_partner_no_thread() -> None:
    sampler = LinkLagSampler([], lambda alias: 0.0).start()
    sampler.stop()
    assert _exported(sampler).count("partner=") == 0
