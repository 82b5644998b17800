"""TLS and SASL for the Faust worker's Kafka connections, from the same settings as librdkafka's.

The confluent-kafka clients take ``KafkaSettings.librdkafka_config()``; Faust (aiokafka) takes
credentials objects and an ``ssl.SSLContext``. Both are built from one set of settings, checked
here first, so that a misconfiguration is one clear line before any connection is tried. The
password is handed to the client only, never put in a message.
"""

from __future__ import annotations

import ssl
import time
from typing import TYPE_CHECKING, Any

from confluent_kafka import KafkaError, KafkaException
from confluent_kafka.admin import AdminClient

from pipeline.errors import ConfigurationError, KafkaAccessRefused, KafkaUnavailable
from pipeline.settings import KafkaSettings

if TYPE_CHECKING:
    from faust.auth import Credentials

__all__ = ["broker_credentials", "check_access", "check_security"]

ACCESS_CHECK_TIMEOUT_S = 15.0
# librdkafka reports these through the error callback at once, but a request only times out.
_REFUSALS = (
    KafkaError._AUTHENTICATION,
    KafkaError.SASL_AUTHENTICATION_FAILED,
    KafkaError._SSL,
)
SASL_MECHANISMS = ("PLAIN", "SCRAM-SHA-256", "SCRAM-SHA-512")


def check_security(kafka: KafkaSettings) -> None:
    """Raise ConfigurationError naming the setting when the connection settings disagree."""
    protocol = kafka.security_protocol
    if protocol in ("SASL_PLAINTEXT", "SASL_SSL"):
        if kafka.sasl_mechanism not in SASL_MECHANISMS:
            raise ConfigurationError(
                f"{protocol} needs SCREENING_KAFKA_SASL_MECHANISM, one of "
                f"{', '.join(SASL_MECHANISMS)} (it is {kafka.sasl_mechanism!r})"
            )
        if not kafka.sasl_username or kafka.sasl_password is None:
            raise ConfigurationError(
                f"{protocol} needs SCREENING_KAFKA_SASL_USERNAME and SCREENING_KAFKA_SASL_PASSWORD"
            )
    cafile = kafka.ssl_cafile
    if cafile is not None and not cafile.is_file():
        raise ConfigurationError(f"SCREENING_KAFKA_SSL_CAFILE {cafile} is not a readable file")


def ssl_context(kafka: KafkaSettings) -> ssl.SSLContext:
    """Server certificates verified against the given CA (or the system's), host names too."""
    cafile = kafka.ssl_cafile
    try:
        return ssl.create_default_context(cafile=str(cafile) if cafile else None)
    except (OSError, ssl.SSLError) as exc:
        raise ConfigurationError(f"SCREENING_KAFKA_SSL_CAFILE {cafile}: {exc}") from exc


def broker_credentials(kafka: KafkaSettings) -> Credentials | None:
    """Faust's ``broker_credentials`` for the settings; None for PLAINTEXT."""
    # Imported here: the commands that check settings should not pay for importing Faust.
    from faust.auth import SASLCredentials, SSLCredentials

    check_security(kafka)
    protocol = kafka.security_protocol
    if protocol == "PLAINTEXT":
        return None
    if protocol == "SSL":
        return SSLCredentials(ssl_context(kafka))
    password = kafka.sasl_password
    assert password is not None  # check_security made sure
    return SASLCredentials(
        username=kafka.sasl_username,
        password=password.get_secret_value(),
        ssl_context=ssl_context(kafka) if protocol == "SASL_SSL" else None,
        mechanism=kafka.sasl_mechanism,
    )


def check_access(kafka: KafkaSettings, timeout_s: float = ACCESS_CHECK_TIMEOUT_S) -> None:
    """Connect once; raise as soon as Kafka refuses the credentials or the certificate.

    Without this a refused login looks like any unreachable broker, and only after a timeout.
    """
    refusals: list[KafkaError] = []

    def on_error(error: KafkaError) -> None:
        if error.code() in _REFUSALS:
            refusals.append(error)

    config: dict[str, Any] = {**kafka.librdkafka_config(), "error_cb": on_error}
    admin = AdminClient(config)
    deadline = time.monotonic() + timeout_s
    while True:
        try:
            admin.list_topics(timeout=0.5)
            return
        except KafkaException:
            admin.poll(0)  # serves the error callback
        if refusals:
            raise KafkaAccessRefused(
                f"Kafka at {kafka.servers} refused the connection "
                f"({kafka.security_protocol}, user "
                f"{kafka.sasl_username or '-'}): {refusals[0].str()}"
            )
        if time.monotonic() >= deadline:
            raise KafkaUnavailable(f"cannot reach Kafka at {kafka.servers} within {timeout_s:g} s")
