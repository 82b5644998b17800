"""`screening hits` on the real broker: the live view picks up new hits, drops withdrawn ones,
and the filters of the one-shot view select what they say."""

from __future__ import annotations

import queue
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import IO, Any

import orjson
import pytest
from confluent_kafka import Producer

from pipeline.settings import Settings
from tests.factories import amendment, encode, filing
from tests.integration.conftest import ROOT, publish

pytestmark = pytest.mark.integration

WATCHLIST_HEADER = "entry_id,name,aliases,country,ids,list,action,reason\n"
WAIT_S = 60.0


class Follower:
    """`screening hits --follow --json` as a subprocess, its lines read as they come."""

    def __init__(self, settings: Settings) -> None:
        self.process = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "pipeline",
                "hits",
                "--follow",
                "--json",
                "--bootstrap",
                settings.kafka.servers,
            ],
            cwd=ROOT,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
        )
        self.lines: queue.Queue[dict[str, Any]] = queue.Queue()
        self.stderr: queue.Queue[str] = queue.Queue()
        assert self.process.stdout is not None
        assert self.process.stderr is not None
        self._threads = [
            threading.Thread(
                target=self._read, args=(self.process.stdout, self._json), daemon=True
            ),
            threading.Thread(
                target=self._read, args=(self.process.stderr, self._text), daemon=True
            ),
        ]
        for thread in self._threads:
            thread.start()

    def _json(self, line: bytes) -> None:
        self.lines.put(orjson.loads(line))

    def _text(self, line: bytes) -> None:
        self.stderr.put(line.decode())

    @staticmethod
    def _read(stream: IO[bytes], handle: Callable[[bytes], None]) -> None:
        for line in stream:
            handle(line)

    def wait_following(self) -> None:
        deadline = time.monotonic() + WAIT_S
        while time.monotonic() < deadline:
            try:
                if "following customs.targeting.hits.v1" in self.stderr.get(timeout=0.5):
                    return
            except queue.Empty:
                assert self.process.poll() is None, "screening hits exited"
        pytest.fail("screening hits --follow did not catch up")

    def next_line(self, wanted: Callable[[dict[str, Any]], bool]) -> dict[str, Any]:
        line = self.line_within(wanted, WAIT_S)
        if line is None:
            pytest.fail("the expected line did not come")
        return line

    def line_within(
        self, wanted: Callable[[dict[str, Any]], bool], timeout_s: float
    ) -> dict[str, Any] | None:
        """The next line that ``wanted`` accepts, or None if none comes within ``timeout_s``."""
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            try:
                line = self.lines.get(timeout=0.5)
            except queue.Empty:
                continue
            if wanted(line):
                return line
        return None

    def stop(self) -> int:
        """Ctrl-C, as an officer stops it; the readers finish with the pipes' ends."""
        self.process.send_signal(signal.SIGINT)
        try:
            return self.process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
            raise
        finally:
            for thread in self._threads:
                thread.join(timeout=10)
            for stream in (self.process.stdout, self.process.stderr):
                if stream is not None:
                    stream.close()


@pytest.fixture
def follower(settings: Settings, worker: object) -> Iterator[Follower]:
    running = Follower(settings)
    try:
        running.wait_following()
        yield running
    finally:
        if running.process.stdout is not None and not running.process.stdout.closed:
            running.stop()


def _screening(settings: Settings, *args: str) -> subprocess.CompletedProcess[bytes]:
    return subprocess.run(
        [sys.executable, "-m", "pipeline", *args, "--bootstrap", settings.kafka.servers],
        capture_output=True,
        timeout=120,
        cwd=ROOT,
    )


def _of(declaration_id: str, **fields: Any) -> Callable[[dict[str, Any]], bool]:
    def wanted(line: dict[str, Any]) -> bool:
        return line.get("declaration_id") == declaration_id and all(
            line.get(k) == v for k, v in fields.items()
        )

    return wanted


def test_live_view_shows_new_hits_and_drops_withdrawn_ones(
    settings: Settings, producer: Producer, follower: Follower, run_id: str, tmp_path: Path
) -> None:
    token = run_id.split("-")[1]
    watchlist = tmp_path / "watchlist.csv"
    watchlist.write_text(
        WATCHLIST_HEADER + f"{run_id}-E1,TALON {token} TRADING,,IR,TIN:TX{token},UN,DNL,arms\n"
    )
    loaded = _screening(settings, "watchlist", "load", str(watchlist))
    assert loaded.returncode == 0, loaded.stderr.decode()

    arms = filing(f"{run_id}-ARMS", hs_code="930690")
    publish(producer, [encode(arms)])
    shown = follower.next_line(_of(f"{run_id}-ARMS"))
    assert (shown["version"], shown["outcome"], shown["priority"]) == (1, "HRCM", 2)
    assert "HS-ARMS-93" in {m["rule_id"] for m in shown["matches"]}
    assert {p["role"] for p in shown["parties"]} >= {"consignor", "consignee"}

    # The watch list reaches the worker's mirror within moments: file until one is a DNL. A
    # filing screened before the entry arrived is clean and shows nothing.
    listed = {"ids": [{"scheme": "TIN", "value": f"TX{token}"}]}
    dnl: dict[str, Any] | None = None
    deadline = time.monotonic() + WAIT_S
    attempt = 0
    while dnl is None and time.monotonic() < deadline:
        document = filing(f"{run_id}-WL{attempt}")
        document["consignee"] = {**document["consignee"], **listed}
        publish(producer, [encode(document)])
        attempt += 1
        line = follower.line_within(
            lambda h: h.get("declaration_id", "").startswith(f"{run_id}-WL"), 3.0
        )
        if line is not None and line.get("outcome") == "DNL":
            dnl = line
    assert dnl is not None, f"no DNL hit in {WAIT_S:.0f} s ({attempt} filings)"
    assert dnl["priority"] == 1
    assert "WL-DNL" in {m["rule_id"] for m in dnl["matches"]}

    # A clean amendment closes the referral: the live view withdraws it.
    publish(producer, [encode(amendment(arms, 2, "940360"))])
    withdrawn = follower.next_line(_of(f"{run_id}-ARMS", withdrawn=True))
    assert withdrawn == {
        "withdrawn": True,
        "declaration_id": f"{run_id}-ARMS",
        "version": 1,
        "reason": "closed",
    }
    assert follower.stop() == 0

    # The one-shot view agrees: the DNL is open, the amended declaration is not.
    shown_now = _screening(settings, "hits", "--json", "--outcome", "DNL", "--since", "10m")
    assert shown_now.returncode == 0, shown_now.stderr.decode()
    open_now = [orjson.loads(line) for line in shown_now.stdout.splitlines()]
    ids = {h["declaration_id"] for h in open_now}
    assert dnl["declaration_id"] in ids
    assert f"{run_id}-ARMS" not in ids
    assert {h["outcome"] for h in open_now} == {"DNL"}
    assert _screening(settings, "watchlist", "delete", f"{run_id}-E1").returncode == 0


def test_one_shot_view_filters_and_ranks(
    settings: Settings, producer: Producer, worker: object, run_id: str
) -> None:
    arms = filing(f"{run_id}-A", hs_code="930690")  # HRCM
    explosives = filing(f"{run_id}-X", hs_code="360200")
    publish(producer, [encode(arms), encode(explosives)])

    def open_hits(*args: str) -> list[dict[str, Any]]:
        shown = _screening(settings, "hits", "--json", *args)
        assert shown.returncode == 0, shown.stderr.decode()
        found = [orjson.loads(line) for line in shown.stdout.splitlines()]
        return [h for h in found if h["declaration_id"].startswith(run_id)]

    deadline = time.monotonic() + WAIT_S
    while len(open_hits()) < 2 and time.monotonic() < deadline:
        time.sleep(0.5)
    both = open_hits()
    assert {h["declaration_id"] for h in both} == {f"{run_id}-A", f"{run_id}-X"}
    ranked = sorted(both, key=lambda h: (h["priority"], -h["score"]))
    assert both == ranked

    assert [h["declaration_id"] for h in open_hits("--rule", "HS-ARMS-93")] == [f"{run_id}-A"]
    assert open_hits("--outcome", "RFI", "--rule", "HS-ARMS-93") == []
    assert open_hits("--since", "2000-01-01T00:00:00Z", "--rule", "HS-ARMS-93") != []
    future = open_hits("--since", "2999-01-01T00:00:00Z")
    assert future == []

    # Other tests' hits share the broker: a limit above them all keeps this run's in the table.
    table = _screening(settings, "hits", "--rule", "HS-ARMS-93", "--limit", "100000")
    assert table.returncode == 0
    assert f"{run_id}-A".encode() in table.stdout
    assert b"HS-ARMS-93 v1 HRCM +60" in table.stdout
