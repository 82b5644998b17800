"""Faust credentials and the checks on the connection settings, without a broker."""

from __future__ import annotations

import ssl
from pathlib import Path
from typing import Any

import pytest
from faust.auth import SASLCredentials, SSLCredentials
from faust.types.auth import AuthProtocol, SASLMechanism
from pydantic import ValidationError

from pipeline.cli.common import settings_problems
from pipeline.errors import ConfigurationError
from pipeline.kafka.security import broker_credentials, check_security
from pipeline.settings import KafkaSettings, Settings

PASSWORD = "s3cret-Pa55word"


def kafka(**values: Any) -> KafkaSettings:
    return Settings(**values).kafka


def sasl(**values: Any) -> KafkaSettings:
    defaults: dict[str, Any] = {
        "kafka_security_protocol": "SASL_SSL",
        "kafka_sasl_mechanism": "SCRAM-SHA-512",
        "kafka_sasl_username": "pipeline",
        "kafka_sasl_password": PASSWORD,
    }
    return kafka(**{**defaults, **values})


def test_plaintext_needs_no_credentials() -> None:
    assert broker_credentials(kafka()) is None


def test_sasl_ssl_gives_scram_credentials_over_a_verifying_tls_context() -> None:
    credentials = broker_credentials(sasl())
    assert isinstance(credentials, SASLCredentials)
    assert credentials.protocol is AuthProtocol.SASL_SSL
    assert credentials.mechanism is SASLMechanism.SCRAM_SHA_512
    assert credentials.username == "pipeline"
    assert credentials.password == PASSWORD
    assert credentials.ssl_context is not None
    assert credentials.ssl_context.verify_mode is ssl.CERT_REQUIRED
    assert credentials.ssl_context.check_hostname
    assert PASSWORD not in repr(credentials)


def test_sasl_plaintext_has_no_tls() -> None:
    credentials = broker_credentials(sasl(kafka_security_protocol="SASL_PLAINTEXT"))
    assert isinstance(credentials, SASLCredentials)
    assert credentials.protocol is AuthProtocol.SASL_PLAINTEXT
    assert credentials.ssl_context is None


def test_ssl_alone_gives_a_tls_context() -> None:
    credentials = broker_credentials(kafka(kafka_security_protocol="SSL"))
    assert isinstance(credentials, SSLCredentials)
    assert credentials.context.verify_mode is ssl.CERT_REQUIRED


def test_the_librdkafka_config_carries_the_same_settings(tmp_path: Path) -> None:
    cafile = tmp_path / "ca.pem"
    cafile.write_text("not used here")
    config = sasl(kafka_ssl_cafile=cafile).librdkafka_config()
    assert config["security.protocol"] == "SASL_SSL"
    assert config["sasl.mechanism"] == "SCRAM-SHA-512"
    assert config["sasl.username"] == "pipeline"
    assert config["sasl.password"] == PASSWORD
    assert config["ssl.ca.location"] == str(cafile)


@pytest.mark.parametrize(
    ("values", "named"),
    [
        ({"kafka_sasl_mechanism": None}, "SCREENING_KAFKA_SASL_MECHANISM"),
        ({"kafka_sasl_mechanism": "GSSAPI"}, "SCREENING_KAFKA_SASL_MECHANISM"),
        ({"kafka_sasl_username": None}, "SCREENING_KAFKA_SASL_USERNAME"),
        ({"kafka_sasl_password": None}, "SCREENING_KAFKA_SASL_PASSWORD"),
        ({"kafka_ssl_cafile": Path("/nonexistent/ca.pem")}, "SCREENING_KAFKA_SSL_CAFILE"),
    ],
)
def test_inconsistent_settings_name_the_setting_and_never_the_password(
    values: dict[str, Any], named: str
) -> None:
    with pytest.raises(ConfigurationError) as raised:
        check_security(sasl(**values))
    message = str(raised.value)
    assert named in message
    assert "\n" not in message
    assert PASSWORD not in message


def test_an_unknown_protocol_is_refused_as_a_bad_setting() -> None:
    with pytest.raises(ValidationError) as raised:
        sasl(kafka_security_protocol="TLS")
    assert settings_problems(raised.value) == [
        "SCREENING_KAFKA_SECURITY_PROTOCOL: Input should be 'PLAINTEXT', 'SSL', 'SASL_PLAINTEXT' "
        "or 'SASL_SSL' (got 'TLS')"
    ]


def test_a_ca_file_that_is_not_a_certificate_is_a_configuration_error(tmp_path: Path) -> None:
    cafile = tmp_path / "ca.pem"
    cafile.write_text("-----BEGIN CERTIFICATE-----\nnot base64\n-----END CERTIFICATE-----\n")
    with pytest.raises(ConfigurationError, match="SCREENING_KAFKA_SSL_CAFILE"):
        broker_credentials(sasl(kafka_ssl_cafile=cafile))
