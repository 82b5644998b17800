"""/readyz and /livez of a real worker: what the Kubernetes probes of deploy/k8s/ ask."""

from __future__ import annotations

import contextlib
import json
import threading
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest

from pipeline.settings import Settings
from tests.integration.conftest import _free_port, spawn_worker

pytestmark = pytest.mark.integration


def _get(port: int, path: str) -> tuple[int, dict[str, object]]:
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}{path}", timeout=2) as response:
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as exc:
        return exc.code, json.loads(exc.read())


class ReadinessWatch:
    """Asks /readyz every 20 ms from before the worker starts; keeps every answer."""

    def __init__(self, port: int) -> None:
        self.port = port
        self.answers: list[tuple[int, dict[str, object]]] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def __enter__(self) -> ReadinessWatch:
        self._thread.start()
        return self

    def __exit__(self, *_: object) -> None:
        self._stop.set()
        self._thread.join(timeout=5)

    def _run(self) -> None:
        while not self._stop.is_set():
            # Refused while the worker reads the reference data: it is not listening yet.
            with contextlib.suppress(urllib.error.URLError, ConnectionError, TimeoutError):
                self.answers.append(_get(self.port, "/readyz"))
            time.sleep(0.02)


def test_worker_answers_ready_and_alive(settings: Settings, tmp_path: Path) -> None:
    port = _free_port()
    with ReadinessWatch(port) as watch:
        worker = spawn_worker(settings, tmp_path, extra_env={"SCREENING_WEB_PORT": str(port)})
        try:
            deadline = time.monotonic() + 30
            while time.monotonic() < deadline and not any(s == 200 for s, _ in watch.answers):
                time.sleep(0.1)
            assert _get(port, "/readyz") == (200, {"ok": True, "reasons": []})
            assert _get(port, "/livez") == (200, {"ok": True, "reasons": []})
        finally:
            worker.stop()
    statuses = [status for status, _ in watch.answers]
    first_ready = statuses.index(200)
    # The web server is up a second or so before the first rebalance completes.
    assert first_ready > 0, "readiness was never seen failing before the worker was ready"
    # Before the first rebalance completed the worker said why it was not ready; once ready
    # it stayed ready.
    for status, body in watch.answers[:first_ready]:
        assert status == 503
        assert body["ok"] is False
        assert "consumer group" in str(body["reasons"])
    assert set(statuses[first_ready:]) == {200}
