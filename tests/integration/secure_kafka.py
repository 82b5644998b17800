"""A local Kafka broker of a test's own with TLS and SCRAM, and, when asked, Kafka's authorizer.

``make_certificates`` makes a throwaway CA and a broker certificate with openssl;
``started_secure_broker`` starts deploy/kafka/kafka.sh with listeners laid out as SECURITY.md
says for production:

- ``SASL_SSL``: the clients, one SCRAM-SHA-512 user each (created by Kafka's storage tool);
- ``CONTROLLER`` and ``INTERNAL`` (the inter-broker listener): TLS with client certificates,
  so that the broker's own principal is its certificate's subject, ``User:CN=localhost``;
- ``PLAINTEXT``: kept only because kafka.sh's start check connects to it. Its clients are
  ``User:ANONYMOUS``, which is never a super user, so under the authorizer it may do nothing.

With ``super_users`` the broker runs the StandardAuthorizer with
``allow.everyone.if.no.acl.found=false``; those users and the broker's own principal are its
super users.
"""

from __future__ import annotations

import os
import secrets
import subprocess
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pipeline.settings import Settings
from tests.integration.conftest import KAFKA_SCRIPT, _free_port

BROKER_PRINCIPAL = "User:CN=localhost"
AUTHORIZER = "org.apache.kafka.metadata.authorizer.StandardAuthorizer"


@dataclass(frozen=True)
class SecureBroker:
    bootstrap: str  # the SASL_SSL listener
    plaintext: str  # the local PLAINTEXT listener (User:ANONYMOUS)
    cafile: Path
    passwords: dict[str, str]  # SCRAM user -> password

    def settings(self, user: str, **overrides: Any) -> Settings:
        return Settings(
            kafka_bootstrap=self.bootstrap,
            kafka_security_protocol="SASL_SSL",
            kafka_sasl_mechanism="SCRAM-SHA-512",
            kafka_sasl_username=user,
            kafka_sasl_password=self.passwords[user],
            kafka_ssl_cafile=self.cafile,
            **overrides,
        )

    def env(self, user: str, password: str | None = None) -> dict[str, str]:
        """The SCREENING_ settings for a command run as ``user``."""
        return {
            "SCREENING_KAFKA_BOOTSTRAP": self.bootstrap,
            "SCREENING_KAFKA_SECURITY_PROTOCOL": "SASL_SSL",
            "SCREENING_KAFKA_SASL_MECHANISM": "SCRAM-SHA-512",
            "SCREENING_KAFKA_SASL_USERNAME": user,
            "SCREENING_KAFKA_SASL_PASSWORD": password or self.passwords[user],
            "SCREENING_KAFKA_SSL_CAFILE": str(self.cafile),
        }


def _openssl(*args: str, cwd: Path) -> None:
    subprocess.run(["openssl", *args], cwd=cwd, check=True, capture_output=True, timeout=60)


def make_certificates(folder: Path, keystore_password: str) -> tuple[Path, Path]:
    """A CA and a broker certificate for 127.0.0.1/localhost; returns (CA file, keystore)."""
    _openssl(
        "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2",
        "-subj", "/CN=screening test CA", "-keyout", "ca.key", "-out", "ca.pem",
        cwd=folder,
    )  # fmt: skip
    _openssl(
        "req", "-newkey", "rsa:2048", "-nodes", "-subj", "/CN=localhost",
        "-keyout", "broker.key", "-out", "broker.csr",
        cwd=folder,
    )  # fmt: skip
    (folder / "san.ext").write_text("subjectAltName=IP:127.0.0.1,DNS:localhost\n")
    _openssl(
        "x509", "-req", "-in", "broker.csr", "-CA", "ca.pem", "-CAkey", "ca.key",
        "-CAcreateserial", "-days", "2", "-extfile", "san.ext", "-out", "broker.pem",
        cwd=folder,
    )  # fmt: skip
    _openssl(
        "pkcs12", "-export", "-in", "broker.pem", "-inkey", "broker.key",
        "-certfile", "ca.pem", "-name", "broker", "-out", "broker.p12",
        "-passout", f"pass:{keystore_password}",
        cwd=folder,
    )  # fmt: skip
    return folder / "ca.pem", folder / "broker.p12"


def broker_properties(
    ports: dict[str, int],
    cafile: Path,
    keystore: Path,
    keystore_password: str,
    super_users: Sequence[str] | None,
) -> str:
    """What KAFKA_EXTRA_CONFIG adds to kafka.sh's server.properties."""
    plain, controller, internal, sasl = (
        f"127.0.0.1:{ports[name]}" for name in ("plaintext", "controller", "internal", "sasl_ssl")
    )
    lines = [
        f"listeners=PLAINTEXT://{plain},CONTROLLER://{controller},INTERNAL://{internal},"
        f"SASL_SSL://{sasl}",
        f"advertised.listeners=PLAINTEXT://{plain},INTERNAL://{internal},SASL_SSL://{sasl}",
        "listener.security.protocol.map=CONTROLLER:SSL,INTERNAL:SSL,PLAINTEXT:PLAINTEXT,"
        "SASL_SSL:SASL_SSL",
        "inter.broker.listener.name=INTERNAL",
        "listener.name.controller.ssl.client.auth=required",
        "listener.name.internal.ssl.client.auth=required",
        "sasl.enabled.mechanisms=SCRAM-SHA-512",
        "listener.name.sasl_ssl.scram-sha-512.sasl.jaas.config="
        "org.apache.kafka.common.security.scram.ScramLoginModule required;",
        "ssl.keystore.type=PKCS12",
        f"ssl.keystore.location={keystore}",
        f"ssl.keystore.password={keystore_password}",
        "ssl.truststore.type=PEM",
        f"ssl.truststore.location={cafile}",
    ]
    if super_users is not None:
        principals = [BROKER_PRINCIPAL, *(f"User:{user}" for user in super_users)]
        lines += [
            f"authorizer.class.name={AUTHORIZER}",
            "allow.everyone.if.no.acl.found=false",
            f"super.users={';'.join(principals)}",
        ]
    return "\n".join(lines) + "\n"


@contextmanager
def started_secure_broker(
    folder: Path, users: Iterable[str], super_users: Sequence[str] | None = None
) -> Iterator[SecureBroker]:
    """A broker with a SCRAM user (and a fresh password) for each of ``users``; the
    StandardAuthorizer when ``super_users`` is given. Stopped on leaving."""
    keystore_password = secrets.token_hex(12)
    passwords = {user: f"scram-{secrets.token_hex(12)}" for user in users}
    cafile, keystore = make_certificates(folder, keystore_password)
    ports = {name: _free_port() for name in ("plaintext", "controller", "internal", "sasl_ssl")}
    extra = folder / "secure.properties"
    extra.write_text(broker_properties(ports, cafile, keystore, keystore_password, super_users))
    env = {
        **os.environ,
        "KAFKA_PORT": str(ports["plaintext"]),
        "KAFKA_CONTROLLER_PORT": str(ports["controller"]),
        "KAFKA_DATA_DIR": str(folder / "data"),
        "KAFKA_EXTRA_CONFIG": str(extra),
        "KAFKA_SCRAM_USERS": "\n".join(
            f"SCRAM-SHA-512=[name={user},password={password}]"
            for user, password in passwords.items()
        ),
    }
    subprocess.run([str(KAFKA_SCRIPT), "start"], env=env, check=True, timeout=300)
    try:
        yield SecureBroker(
            f"127.0.0.1:{ports['sasl_ssl']}",
            f"127.0.0.1:{ports['plaintext']}",
            cafile,
            passwords,
        )
    finally:
        subprocess.run([str(KAFKA_SCRIPT), "stop"], env=env, check=False, timeout=120)
