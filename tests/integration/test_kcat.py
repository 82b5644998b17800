"""A client nobody here wrote: kcat publishes declarations and reads the hits back."""

from __future__ import annotations

import shutil
import subprocess
import time

import orjson
import pytest

from pipeline import topics
from pipeline.settings import Settings
from tests.factories import filing

pytestmark = [
    pytest.mark.integration,
    pytest.mark.skipif(shutil.which("kcat") is None, reason="kcat is not installed"),
]


def test_kcat_declarations_in_hits_out(settings: Settings, worker: object, run_id: str) -> None:
    documents = [
        filing(f"{run_id}-K1"),
        filing(f"{run_id}-K2", hs_code="930190"),
        filing(f"{run_id}-K3", hs_code="360500"),
    ]
    lines = b"".join(
        d["declaration_id"].encode() + b"\t" + orjson.dumps(d) + b"\n" for d in documents
    )
    subprocess.run(
        ["kcat", "-b", settings.kafka.servers, "-P", "-t", topics.DECLARATIONS, "-K", "\t"],
        input=lines,
        check=True,
        timeout=30,
    )

    deadline = time.monotonic() + 60
    hits: dict[str, dict] = {}
    while time.monotonic() < deadline and f"{run_id}-K2" not in hits:
        out = subprocess.run(
            [
                "kcat",
                "-b",
                settings.kafka.servers,
                "-C",
                "-t",
                topics.HITS,
                "-o",
                "beginning",
                "-e",
                "-q",
                "-f",
                "%k\t%s\n",
            ],
            capture_output=True,
            check=True,
            timeout=60,
        ).stdout
        for line in out.splitlines():
            key, _, value = line.partition(b"\t")
            if key.startswith(run_id.encode()) and value:
                hits[key.decode()] = orjson.loads(value)
        time.sleep(0.5)

    # 930190 is arms (chapter 93): a hit. 360500 (matches) is not explosives: no hit.
    assert set(hits) == {f"{run_id}-K2"}
    hit = hits[f"{run_id}-K2"]
    assert hit["outcome"] == "HRCM"
    arms = next(m for m in hit["matches"] if m["rule_id"] == "HS-ARMS-93")
    assert arms["evidence"]["goods[0].hs_code"] == "930190"
    assert "930190" in arms["reason"]
