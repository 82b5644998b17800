"""The pipeline through a SASL_SSL listener (TLS, SCRAM-SHA-512) of a broker of its own.

The test makes a throwaway CA and broker certificate with openssl, starts the local Kafka with
a SASL_SSL listener and a SCRAM user created by Kafka's own storage tool (tests/integration/
secure_kafka.py, shared with the ACL tests), then runs
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
from pathlib import Path

import orjson
import pytest

from pipeline import topics
from pipeline.settings import Settings
from tests.factories import filing
from tests.integration.conftest import (
    ROOT,
    TEST_PARTITIONS,
    _free_port,
    collect,
    key_prefix,
    start_worker,
)
from tests.integration.secure_kafka import SecureBroker, started_secure_broker

pytestmark = pytest.mark.integration

USER = "pipeline"
COMMAND_TIMEOUT_S = 120


@pytest.fixture(scope="module")
def secure_broker(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SecureBroker]:
    with started_secure_broker(tmp_path_factory.mktemp("secure-kafka"), [USER]) as broker:
        yield broker


def secure_env(broker: SecureBroker, password: str) -> dict[str, str]:
    return {**broker.env(USER, password), "SCREENING_PARTITIONS": str(TEST_PARTITIONS)}


def secure_settings(broker: SecureBroker) -> Settings:
    return broker.settings(USER, partitions=TEST_PARTITIONS)


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
    env = secure_env(secure_broker, secure_broker.passwords[USER])
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
        assert secure_broker.passwords[USER] not in log_path.read_text(errors="replace")


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
    assert secure_broker.passwords[USER] not in output
    last = result.stderr.strip().splitlines()[-1]
    assert last.startswith("screening: "), output
    assert "authentication" in last.lower(), output
