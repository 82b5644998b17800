"""The settings' sections: every SCREENING_* variable, and every public init name, sets its
field; init values are taken over the environment's; secrets stay hidden."""

from __future__ import annotations

import operator
import os
from pathlib import Path
from typing import Any

import pytest
from pydantic import SecretStr, ValidationError

from pipeline.cli.common import settings_problems
from pipeline.settings import VARIABLES, KafkaSettings, Settings

# Public name: (variable's value, where the field is, the value it gets). None of them the
# default, so that a variable that reached no field, or another one, fails.
SAMPLES: dict[str, tuple[str, str, Any]] = {
    "kafka_bootstrap": ("k1:9092, k2:9092,", "kafka.bootstrap", ["k1:9092", "k2:9092"]),
    "kafka_security_protocol": ("SASL_SSL", "kafka.security_protocol", "SASL_SSL"),
    "kafka_sasl_mechanism": ("SCRAM-SHA-512", "kafka.sasl_mechanism", "SCRAM-SHA-512"),
    "kafka_sasl_username": ("pipeline", "kafka.sasl_username", "pipeline"),
    "kafka_sasl_password": ("pa55", "kafka.sasl_password", SecretStr("pa55")),
    "kafka_ssl_cafile": ("/etc/ca.pem", "kafka.ssl_cafile", Path("/etc/ca.pem")),
    "librdkafka_log_level": ("7", "kafka.librdkafka_log_level", 7),
    "app_id": ("group-b", "topics.app_id", "group-b"),
    "partitions": ("6", "topics.partitions", 6),
    "replication_factor": ("3", "topics.replication_factor", 3),
    "consumer_offset_reset": ("latest", "topics.offset_reset", "latest"),
    "batch_max": ("500", "batching.max", 500),
    "batch_within_s": ("0.5", "batching.within_s", 0.5),
    "max_message_bytes": ("2048", "batching.max_message_bytes", 2048),
    "rules_dir": ("/srv/rules", "scoring.rules_dir", Path("/srv/rules")),
    "rfi_threshold": ("25", "scoring.rfi_threshold", 25.0),
    "hrcm_threshold": ("70", "scoring.hrcm_threshold", 70.0),
    "aeo_score_reduction": ("10", "scoring.aeo_score_reduction", 10.0),
    "random_selection_share": ("0.1", "scoring.random_selection_share", 0.1),
    "mra_partners": ("us, jp", "scoring.mra_partners", ["US", "JP"]),
    "watchlist_fuzzy_threshold": ("88", "scoring.watchlist_fuzzy_threshold", 88.0),
    "administration": ("BE", "partners.administration", "BE"),
    "agreements_dir": ("/srv/agreements", "partners.agreements_dir", Path("/srv/agreements")),
    "partner_finding_days": ("14", "partners.finding_days", 14),
    "web_host": ("0.0.0.0", "worker.web_host", "0.0.0.0"),
    "web_port": ("6123", "worker.web_port", 6123),
    "data_dir": ("/var/worker", "worker.data_dir", Path("/var/worker")),
    "reference_wait_s": ("60", "worker.reference_wait_s", 60.0),
    "session_timeout_s": ("30", "worker.session_timeout_s", 30.0),
    "heartbeat_interval_s": ("5", "worker.heartbeat_interval_s", 5.0),
    "stall_timeout_s": ("600", "worker.stall_timeout_s", 600.0),
    "worker_status_interval_s": ("10", "worker.status_interval_s", 10.0),
    "metrics_enabled": ("false", "worker.metrics_enabled", False),
    "log_level": ("WARNING", "logging.level", "warning"),
    "log_format": ("text", "logging.format", "text"),
    "database_url": (
        "postgresql://u:pw@db/cases",
        "workbench.database_url",
        SecretStr("postgresql://u:pw@db/cases"),
    ),
    "workbench_port": ("8099", "workbench.port", 8099),
    "workbench_host": ("0.0.0.0", "workbench.host", "0.0.0.0"),
    "workbench_group": ("bench-b", "workbench.group", "bench-b"),
    "workbench_secure_cookies": ("false", "workbench.secure_cookies", False),
    "workbench_session_idle_s": ("600", "workbench.session_idle_s", 600),
    "workbench_loading_soon_s": ("60", "workbench.loading_soon_s", 60),
    "workbench_rfi_answer_s": ("3600", "workbench.rfi_answer_s", 3600),
    "case_retention_days": ("30", "workbench.case_retention_days", 30),
    "demo_password": ("demo-pw", "workbench.demo_password", SecretStr("demo-pw")),
    "archive_dir": ("/var/archive", "archive.dir", Path("/var/archive")),
    "archive_retention_days": ("90", "archive.retention_days", 90),
}


@pytest.fixture(autouse=True)
def _no_screening_variables(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in [name for name in os.environ if name.upper().startswith("SCREENING_")]:
        monkeypatch.delenv(name)


def test_every_public_name_has_a_sample() -> None:
    assert set(SAMPLES) == set(VARIABLES)


@pytest.mark.parametrize("name", list(SAMPLES))
def test_each_variable_sets_its_field(name: str, monkeypatch: pytest.MonkeyPatch) -> None:
    raw, where, expected = SAMPLES[name]
    assert operator.attrgetter(where)(Settings()) != expected, "a sample must not be the default"
    monkeypatch.setenv(f"SCREENING_{name.upper()}", raw)
    settings = Settings()
    assert operator.attrgetter(where)(settings) == expected
    assert settings.value(name) == expected
    assert settings.is_set(name)
    assert Settings(**{name: raw}).value(name) == expected


def test_variables_are_read_in_any_case(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("screening_partitions", "5")
    assert Settings().topics.partitions == 5


def test_an_init_value_is_taken_over_the_variable_and_keeps_the_sections_others(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("SCREENING_KAFKA_BOOTSTRAP", "env:9092")
    monkeypatch.setenv("SCREENING_KAFKA_SASL_USERNAME", "from-env")
    settings = Settings(kafka_bootstrap="flag:9092")
    assert settings.kafka.bootstrap == ["flag:9092"]
    assert settings.kafka.sasl_username == "from-env"
    assert not settings.is_set("kafka_sasl_mechanism")


def test_a_whole_section_can_be_given_and_public_names_go_over_it(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("SCREENING_KAFKA_SASL_USERNAME", "from-env")
    section = KafkaSettings(kafka_bootstrap="a:1,b:2")
    settings = Settings(kafka=section, kafka_security_protocol="SSL")
    assert settings.kafka.bootstrap == ["a:1", "b:2"]
    assert settings.kafka.security_protocol == "SSL"
    assert settings.kafka.sasl_username is None, "a section given whole replaces the variables'"
    assert settings.kafka.librdkafka_config()["bootstrap.servers"] == "a:1,b:2"


def test_an_unknown_init_name_is_refused_and_an_unknown_variable_ignored(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("SCREENING_NO_SUCH_THING", "1")
    Settings()
    with pytest.raises(ValidationError) as refused:
        Settings(partition=3)
    assert settings_problems(refused.value) == [
        "SCREENING_PARTITION: Extra inputs are not permitted (got 3)"
    ]


@pytest.mark.parametrize(
    ("name", "value", "problem"),
    [
        ("consumer_offset_reset", "middle", "Input should be 'earliest' or 'latest'"),
        ("log_format", "xml", "Input should be 'json' or 'text'"),
        ("log_level", "verbose", "Input should be 'debug', 'info', 'warning' or 'error'"),
        ("batch_max", "0", "Input should be greater than or equal to 1"),
        ("administration", "nl", "an ISO 3166-1 alpha-2 country code in capitals, e.g. NL"),
    ],
)
def test_a_bad_variable_is_named_with_what_is_wrong(
    name: str, value: str, problem: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(f"SCREENING_{name.upper()}", value)
    with pytest.raises(ValidationError) as refused:
        Settings()
    assert settings_problems(refused.value) == [
        f"SCREENING_{name.upper()}: {problem} (got {value!r})"
    ]


def test_secrets_are_never_shown(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SCREENING_KAFKA_SASL_PASSWORD", "kafka-pw")
    monkeypatch.setenv("SCREENING_DATABASE_URL", "postgresql://u:db-pw@db/cases")
    settings = Settings(demo_password="demo-pw")
    shown = f"{settings!r} {settings} {settings.model_dump()}"
    for secret in ("kafka-pw", "db-pw", "demo-pw"):
        assert secret not in shown
    with pytest.raises(ValidationError) as refused:
        Settings(kafka_sasl_password=5)
    assert settings_problems(refused.value) == [
        "SCREENING_KAFKA_SASL_PASSWORD: Input should be a valid string"
    ]
