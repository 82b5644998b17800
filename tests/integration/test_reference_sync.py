"""``screening watchlist|aeo sync`` through the real broker.

A sync deletes whatever the topic holds that the file does not, so on the session's shared
reference topics it would tombstone every other test's records. These tests therefore sync a
fresh compacted topic of their own: the command runs in this process with its feed pointed at
that topic. Only the dry run, which publishes nothing, runs as a process on the session's
watch-list topic.
"""

from __future__ import annotations

import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path

import pytest

from pipeline import topics
from pipeline.cli import reference
from pipeline.cli.main import main
from pipeline.errors import KafkaUnavailable
from pipeline.kafka.admin import admin_client, ensure_topics
from pipeline.kafka.reader import TopicReader, read_compacted
from pipeline.records import InputRecord
from pipeline.settings import Settings
from pipeline.topics import TopicSpec
from tests.integration.conftest import ROOT

pytestmark = pytest.mark.integration

WATCHLIST_HEADER = "entry_id,name,aliases,country,ids,list,action,reason\n"


@pytest.fixture
def fresh_topic(settings: Settings, monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    """A compacted topic of this test's own, which ``screening watchlist sync`` writes to."""
    name = f"test.reference.sync.{uuid.uuid4().hex[:10]}"
    ensure_topics(settings, (TopicSpec(name, "entry_id", {"cleanup.policy": "compact"}, 1),))
    deadline = time.monotonic() + 30
    while True:  # until the new topic's metadata has reached the broker's cache
        try:
            read_compacted(settings.kafka, name)
            break
        except KafkaUnavailable:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.5)
    monkeypatch.setattr(reference, "WATCHLIST", replace(reference.WATCHLIST, topic=name))
    yield name
    admin = admin_client(settings.kafka)
    for future in admin.delete_topics([name]).values():
        future.result(30)


def _csv(tmp_path: Path, ids: list[str], renamed: str = "") -> Path:
    path = tmp_path / "watchlist.csv"
    path.write_text(
        WATCHLIST_HEADER
        + "".join(
            f"{i},{'RENAMED' if i == renamed else 'NAME'} {i},,IR,,OFAC,DNL,listed\n" for i in ids
        ),
        encoding="utf-8",
    )
    return path


def _sync(
    settings: Settings, capsys: pytest.CaptureFixture[str], *args: str
) -> tuple[int, list[str]]:
    code = main(["watchlist", "sync", *args, "--bootstrap", settings.kafka.servers])
    return code, capsys.readouterr().err.strip().splitlines()


def _records(settings: Settings, topic: str) -> list[InputRecord]:
    reader = TopicReader(settings.kafka, topic)
    found: list[InputRecord] = []
    try:
        while not reader.caught_up:
            found.extend(reader.poll(1.0))
    finally:
        reader.close()
    return found


def test_sync_adds_keeps_updates_deletes_and_refuses(
    settings: Settings, fresh_topic: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    ids = [f"S{i:02}" for i in range(20)]

    # Adds every record of the file.
    code, err = _sync(settings, capsys, str(_csv(tmp_path, ids)))
    assert (code, err[-1]) == (
        0,
        f"{tmp_path}/watchlist.csv: loaded 20, unchanged 0, deleted 0 ({fresh_topic})",
    )
    assert sorted(read_compacted(settings.kafka, fresh_topic)) == [i.encode() for i in ids]

    # The same file again: all unchanged, nothing republished.
    code, err = _sync(settings, capsys, str(_csv(tmp_path, ids)))
    assert (code, err[-1]) == (
        0,
        f"{tmp_path}/watchlist.csv: loaded 0, unchanged 20, deleted 0 ({fresh_topic})",
    )
    assert len(_records(settings, fresh_topic)) == 20

    # Two records gone from the file (10 %), one renamed: two tombstones on the topic.
    kept = ids[2:]
    code, err = _sync(settings, capsys, str(_csv(tmp_path, kept, renamed="S05")))
    assert (code, err[-1]) == (
        0,
        f"{tmp_path}/watchlist.csv: loaded 1, unchanged 17, deleted 2 ({fresh_topic})",
    )
    raw = _records(settings, fresh_topic)
    assert [(r.key, r.value) for r in raw[-3:]] == [
        (b"S05", raw[-3].value),
        (b"S00", None),
        (b"S01", None),
    ]
    assert b"RENAMED S05" in (raw[-3].value or b"")
    state = read_compacted(settings.kafka, fresh_topic)
    assert sorted(state) == [i.encode() for i in kept]

    # A bad row: nothing published, not even the good rows.
    path = _csv(tmp_path, [*kept, "S99"])
    path.write_text(path.read_text() + "S98,BAD,,,,OFAC,BLOCK,listed\n", encoding="utf-8")
    before = len(_records(settings, fresh_topic))
    code, err = _sync(settings, capsys, str(path), "--force")
    assert code == 1
    assert err == [
        f"{path}:21: action 'BLOCK' is not one of RFI, HRCM, DNL",
        f"screening: {path}: 1 bad row, nothing published",
    ]
    assert len(_records(settings, fresh_topic)) == before

    # A truncated export (3 of 18 records left): refused, nothing deleted.
    truncated = _csv(tmp_path, kept[:3])
    code, err = _sync(settings, capsys, str(truncated))
    assert code == 1
    assert err == [
        f"screening: {truncated}: refusing to delete 15 of the 18 records on {fresh_topic} "
        "(83.3 %), more than the 10 % allowed; if the file is complete, run again with --force "
        "or --max-delete-share 0.84"
    ]
    assert len(_records(settings, fresh_topic)) == before

    # The dry run says what would go and publishes nothing.
    code, err = _sync(settings, capsys, str(truncated), "--dry-run", "--force")
    assert code == 0
    assert err[-1].endswith(
        f"would load 0, unchanged 3, would delete 15 ({fresh_topic}); dry run, nothing published"
    )
    assert len(_records(settings, fresh_topic)) == before

    # --force deletes them.
    code, err = _sync(settings, capsys, str(truncated), "--force")
    assert (code, err[-1]) == (0, f"{truncated}: loaded 0, unchanged 3, deleted 15 ({fresh_topic})")
    assert sorted(read_compacted(settings.kafka, fresh_topic)) == [i.encode() for i in kept[:3]]


def test_dry_run_on_the_session_topic_publishes_nothing(
    settings: Settings, run_id: str, tmp_path: Path
) -> None:
    entry = f"{run_id}-DRY"
    path = _csv(tmp_path, [entry])
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "pipeline",
            "watchlist",
            "sync",
            str(path),
            "--dry-run",
            "--force",
            "--bootstrap",
            settings.kafka.servers,
        ],
        capture_output=True,
        timeout=120,
        cwd=ROOT,
    )
    assert done.returncode == 0, done.stderr.decode()
    err = done.stderr.decode().splitlines()
    assert f"would load {entry}" in err
    assert err[-1].startswith(f"{path}: would load 1, unchanged 0, would delete ")
    assert err[-1].endswith(f"({topics.WATCHLIST}); dry run, nothing published")
    assert entry.encode() not in read_compacted(settings.kafka, topics.WATCHLIST)
    assert not any(r.key == entry.encode() for r in _records(settings, topics.WATCHLIST))
