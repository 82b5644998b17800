"""The pipeline through a SASL_SSL listener (TLS, SCRAM-SHA-512) of a broker of its own.

The test makes a throwaway CA and broker certificate with openssl, starts the local Kafka with
a SASL_SSL listener and a SCRAM user created by Kafka's own storage tool, then runs
`screening topics ensure`, a worker and `screening send` through it and reads the assessment.
Wrong credentials make each command fail fast with one clear line and a non-zero exit, and the
password never shows in any output.
"""

from __future__ import annotations

import os
import secrets
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import orjson
import pytest

from pipeline import topics
from pipeline.settings import Settings
from tests.integration.conftest import (
    KAFKA_SCRIPT,
    ROOT,
    TEST_PARTITIONS,
    _free_port,
    collect,
    key_prefix,
    start_worker,
)
from tests.integration.factories import filing

pytestmark = pytest.mark.integration

USER = "pipeline"
COMMAND_TIMEOUT_S = 120


@dataclass(frozen=True)
class SecureBroker:
    bootstrap: str  # the SASL_SSL listener
    cafile: Path
    password: str


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


@pytest.fixture(scope="module")
def secure_broker(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SecureBroker]:
    folder = tmp_path_factory.mktemp("secure-kafka")
    keystore_password = secrets.token_hex(12)
    password = f"scram-{secrets.token_hex(12)}"
    cafile, keystore = make_certificates(folder, keystore_password)
    port, controller_port, secure_port = _free_port(), _free_port(), _free_port()
    extra = folder / "sasl_ssl.properties"
    extra.write_text(
        f"listeners=PLAINTEXT://127.0.0.1:{port},CONTROLLER://127.0.0.1:{controller_port},"
        f"SASL_SSL://127.0.0.1:{secure_port}\n"
        f"advertised.listeners=PLAINTEXT://127.0.0.1:{port},SASL_SSL://127.0.0.1:{secure_port}\n"
        "listener.security.protocol.map=CONTROLLER:PLAINTEXT,PLAINTEXT:PLAINTEXT,"
        "SASL_SSL:SASL_SSL\n"
        "sasl.enabled.mechanisms=SCRAM-SHA-512\n"
        "listener.name.sasl_ssl.scram-sha-512.sasl.jaas.config="
        "org.apache.kafka.common.security.scram.ScramLoginModule required;\n"
        "ssl.keystore.type=PKCS12\n"
        f"ssl.keystore.location={keystore}\n"
        f"ssl.keystore.password={keystore_password}\n"
    )
    env = {
        **os.environ,
        "KAFKA_PORT": str(port),
        "KAFKA_CONTROLLER_PORT": str(controller_port),
        "KAFKA_DATA_DIR": str(folder / "data"),
        "KAFKA_EXTRA_CONFIG": str(extra),
        "KAFKA_SCRAM_USERS": f"SCRAM-SHA-512=[name={USER},password={password}]",
    }
    subprocess.run([str(KAFKA_SCRIPT), "start"], env=env, check=True, timeout=300)
    try:
        yield SecureBroker(f"127.0.0.1:{secure_port}", cafile, password)
    finally:
        subprocess.run([str(KAFKA_SCRIPT), "stop"], env=env, check=False, timeout=120)


def secure_env(broker: SecureBroker, password: str) -> dict[str, str]:
    return {
        "SCREENING_KAFKA_BOOTSTRAP": broker.bootstrap,
        "SCREENING_KAFKA_SECURITY_PROTOCOL": "SASL_SSL",
        "SCREENING_KAFKA_SASL_MECHANISM": "SCRAM-SHA-512",
        "SCREENING_KAFKA_SASL_USERNAME": USER,
        "SCREENING_KAFKA_SASL_PASSWORD": password,
        "SCREENING_KAFKA_SSL_CAFILE": str(broker.cafile),
        "SCREENING_PARTITIONS": str(TEST_PARTITIONS),
    }


def secure_settings(broker: SecureBroker) -> Settings:
    return Settings(
        kafka_bootstrap=broker.bootstrap,
        kafka_security_protocol="SASL_SSL",
        kafka_sasl_mechanism="SCRAM-SHA-512",
        kafka_sasl_username=USER,
        kafka_sasl_password=broker.password,  # type: ignore[arg-type]
        kafka_ssl_cafile=broker.cafile,
        partitions=TEST_PARTITIONS,
    )


def screening(
    args: list[str], env: dict[str, str], cwd: Path = ROOT
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "pipeline", *args],
        cwd=cwd,
        env={**os.environ, **env},
        capture_output=True,
        text=True,
        timeout=COMMAND_TIMEOUT_S,
    )


def test_the_pipeline_runs_through_sasl_ssl(
    secure_broker: SecureBroker,
    tmp_path: Path,
    run_id: str,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    env = secure_env(secure_broker, secure_broker.password)
    ensured = screening(["topics", "ensure"], env)
    assert ensured.returncode == 0, ensured.stderr
    assert topics.DECLARATIONS in ensured.stderr

    for name, value in env.items():
        monkeypatch.setenv(name, value)
    settings = secure_settings(secure_broker)
    with start_worker(settings, tmp_path) as log_path:
        declarations = tmp_path / "declarations.jsonl"
        documents = [filing(f"{run_id}-S0", hs_code="930690")]
        documents += [filing(f"{run_id}-S{i}") for i in range(1, 3)]
        declarations.write_bytes(b"\n".join(orjson.dumps(d) for d in documents) + b"\n")
        sent = screening(["send", str(declarations)], env)
        assert sent.returncode == 0, sent.stderr

        assessments = collect(settings, topics.ASSESSMENTS, key_prefix(run_id), expected=3)
        outcomes = {
            orjson.loads(r.value)["declaration_id"]: orjson.loads(r.value)["outcome"]
            for r in assessments
            if r.value is not None
        }
        assert outcomes == {
            f"{run_id}-S0": "HRCM",
            f"{run_id}-S1": "ASSESSMENT_COMPLETE",
            f"{run_id}-S2": "ASSESSMENT_COMPLETE",
        }
        assert secure_broker.password not in log_path.read_text(errors="replace")


@pytest.mark.parametrize(
    "args",
    [
        pytest.param(["topics", "ensure"], id="topics ensure"),
        pytest.param(["send", "{file}"], id="send"),
        pytest.param(["hits", "--json"], id="hits"),
        pytest.param(["worker", "--no-ensure-topics", "--data-dir", "{state}"], id="worker"),
        pytest.param(["worker", "--data-dir", "{state}"], id="worker ensuring topics"),
    ],
)
def test_wrong_credentials_fail_fast_with_one_clear_line_and_no_secret(
    secure_broker: SecureBroker, tmp_path: Path, args: list[str], run_id: str
) -> None:
    wrong = f"wrong-{secrets.token_hex(12)}"
    declarations = tmp_path / "declarations.jsonl"
    declarations.write_bytes(orjson.dumps(filing(f"{run_id}-W")) + b"\n")
    args = [a.format(file=declarations, state=tmp_path / "state") for a in args]
    env = secure_env(secure_broker, wrong)
    env["SCREENING_WEB_PORT"] = str(_free_port())
    result = screening(args, env, cwd=ROOT)
    output = result.stdout + result.stderr
    assert result.returncode not in (0, None), output
    assert wrong not in output
    assert secure_broker.password not in output
    last = result.stderr.strip().splitlines()[-1]
    assert last.startswith("screening: "), output
    assert "authentication" in last.lower(), output
