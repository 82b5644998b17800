"""Two administrations' clusters on one machine, and MirrorMaker 2 between them.

``two_clusters`` (session) starts two brokers of their own (deploy/kafka/kafka.sh, free ports,
data in the pytest temp folder), `eu` and `cn`, apart from the session's broker: other tests
write to the outbound topic there, and SCREENING_TEST_BOOTSTRAP may name a secured broker that
a plain MirrorMaker could not join. ``mirrormaker`` runs deploy/kafka/mirrormaker.sh between them
(one process per module; each test gets it running) and yields a handle whose ``stop()`` and
``start()`` take the link down and bring it back.

The test modules import the fixtures: ``from tests.integration.c2c import
mirrormaker_fixture, two_clusters_fixture``.
"""

from __future__ import annotations

import os
import subprocess
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from pipeline import topics
from pipeline.c2c.link import link_lag_seconds
from pipeline.kafka.admin import ensure_topics
from pipeline.settings import Settings
from tests.integration.conftest import KAFKA_SCRIPT, ROOT, _free_port

MM2_SCRIPT = ROOT / "deploy" / "kafka" / "mirrormaker.sh"
PARTITIONS = 2
# Short intervals so that a new topic or group is picked up within the tests' patience.
REFRESH_S = 2
CHECKPOINT_S = 2
LINKED_TIMEOUT_S = 60.0
# A healthy link's lag is about the heartbeat interval (1 s); two cores shared with two
# brokers and the tests allow some more.
LINKED_LAG_S = 5.0
# The topics created on both sides before MirrorMaker starts: the mirrored one and one that
# must never leave.
CREATED = (topics.C2C_OUTBOUND, topics.ASSESSMENTS)


@dataclass(frozen=True)
class Cluster:
    """One administration's broker: its alias, client settings and kafka.sh environment."""

    alias: str
    settings: Settings
    env: dict[str, str]

    @property
    def bootstrap(self) -> str:
        return self.settings.kafka.servers


@dataclass(frozen=True)
class TwoClusters:
    eu: Cluster
    cn: Cluster

    def both_ways(self) -> list[tuple[Cluster, Cluster]]:
        """(source, target) of each replication flow."""
        return [(self.eu, self.cn), (self.cn, self.eu)]


def _broker_env(data_dir: Path) -> dict[str, str]:
    data_dir.mkdir(parents=True)
    # The log cleaner takes 128 MB of heap by default, at start; a small broker needs less.
    extra = data_dir / "small.properties"
    extra.write_text("log.cleaner.dedupe.buffer.size=16777216\n")
    return {
        **os.environ,
        "KAFKA_PORT": str(_free_port()),
        "KAFKA_CONTROLLER_PORT": str(_free_port()),
        "KAFKA_DATA_DIR": str(data_dir),
        "KAFKA_HEAP": "256m",
        "KAFKA_EXTRA_CONFIG": str(extra),
    }


def _cluster(alias: str, env: dict[str, str]) -> Cluster:
    settings = Settings(kafka_bootstrap=f"127.0.0.1:{env['KAFKA_PORT']}", partitions=PARTITIONS)
    return Cluster(alias, settings, env)


@pytest.fixture(scope="session", name="two_clusters")
def two_clusters_fixture(tmp_path_factory: pytest.TempPathFactory) -> Iterator[TwoClusters]:
    workdir = tmp_path_factory.mktemp("c2c")
    envs = {alias: _broker_env(workdir / alias) for alias in ("eu", "cn")}
    # Started side by side: each formats its own storage with a cluster id of its own.
    starting = {
        alias: subprocess.Popen([str(KAFKA_SCRIPT), "start"], env=env)
        for alias, env in envs.items()
    }
    try:
        failed = [alias for alias, p in starting.items() if p.wait(timeout=300) != 0]
        if failed:
            pytest.fail(f"the brokers of {failed} did not start; see {workdir}")
        clusters = TwoClusters(_cluster("eu", envs["eu"]), _cluster("cn", envs["cn"]))
        for cluster in (clusters.eu, clusters.cn):
            ensure_topics(cluster.settings, tuple(topics.spec(name) for name in CREATED))
        yield clusters
    finally:
        for env in envs.values():
            subprocess.run([str(KAFKA_SCRIPT), "stop"], env=env, check=False, timeout=120)


class MirrorMaker:
    """deploy/kafka/mirrormaker.sh between the two clusters, with its data in ``data_dir``."""

    def __init__(self, clusters: TwoClusters, data_dir: Path) -> None:
        self.clusters = clusters
        self.data_dir = data_dir
        self.env = {
            **os.environ,
            "MM2_A_ALIAS": clusters.eu.alias,
            "MM2_A_BOOTSTRAP": clusters.eu.bootstrap,
            "MM2_B_ALIAS": clusters.cn.alias,
            "MM2_B_BOOTSTRAP": clusters.cn.bootstrap,
            "MM2_REFRESH_S": str(REFRESH_S),
            "MM2_CHECKPOINT_S": str(CHECKPOINT_S),
            "MM2_DATA_DIR": str(data_dir),
            "MM2_HEAP": "256m",
            # As deploy/mirrormaker/mm2.properties: a partner's AEO registry is shared too.
            "MM2_EXTRA_TOPICS": r"customs\.aeo\.registry\.v1",
        }

    def _script(self, command: str, timeout_s: float) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [str(MM2_SCRIPT), command],
            env=self.env,
            capture_output=True,
            text=True,
            check=False,
            timeout=timeout_s,
        )

    @property
    def running(self) -> bool:
        return self._script("status", 30).returncode == 0

    def start(self) -> None:
        """Start it (if stopped) and wait until heartbeats cross both ways."""
        done = self._script("start", 240)
        if done.returncode != 0:
            pytest.fail(f"MirrorMaker 2 did not start:\n{done.stderr}\n{self.log_tail()}")
        self.wait_linked()

    def stop(self) -> None:
        self._script("stop", 120)

    def lags(self) -> dict[str, float | None]:
        """Each flow's lag, by "source->target", from the heartbeats on the target."""
        return {
            f"{source.alias}->{target.alias}": link_lag_seconds(target.settings.kafka, source.alias)
            for source, target in self.clusters.both_ways()
        }

    def wait_linked(self, timeout_s: float = LINKED_TIMEOUT_S) -> None:
        deadline = time.monotonic() + timeout_s
        lags = self.lags()
        while time.monotonic() < deadline:
            if all(lag is not None and lag < LINKED_LAG_S for lag in lags.values()):
                return
            time.sleep(0.5)
            lags = self.lags()
        pytest.fail(f"no fresh heartbeats both ways within {timeout_s} s: {lags}")

    def log_tail(self, chars: int = 4000) -> str:
        path = self.data_dir / "logs" / "mirrormaker.log"
        return path.read_text(errors="replace")[-chars:] if path.exists() else "(no log)"


@pytest.fixture(scope="module", name="mirrormaker_process")
def mirrormaker_process_fixture(
    two_clusters: TwoClusters, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[MirrorMaker]:
    mm2 = MirrorMaker(two_clusters, tmp_path_factory.mktemp("mirrormaker"))
    mm2.start()
    try:
        yield mm2
    finally:
        mm2.stop()


@pytest.fixture(name="mirrormaker")
def mirrormaker_fixture(mirrormaker_process: MirrorMaker) -> MirrorMaker:
    """The module's MirrorMaker 2, running (again, if a test before stopped it)."""
    if not mirrormaker_process.running:
        mirrormaker_process.start()
    return mirrormaker_process
