"""``screening aeo|watchlist sync`` without a broker: the plan (file against topic), the share
of deletions allowed, and the command with the topic's state and the producer replaced."""

from __future__ import annotations

from pathlib import Path
from typing import Any, ClassVar

import msgspec
import pytest

from pipeline import topics
from pipeline.cli import reference
from pipeline.cli.main import main
from pipeline.contract.models import WatchlistEntry
from pipeline.reference.csv_load import WATCHLIST_HEADER
from pipeline.reference.sync import (
    DeletionRefused,
    Duplicate,
    FileRecord,
    check_deletions,
    deletions_allowed,
    duplicates,
    plan_sync,
)
from pipeline.settings import Settings

WL_HEAD = ",".join(WATCHLIST_HEADER)


def rec(key: str, value: str, line: int = 2) -> FileRecord:
    return FileRecord(line, key.encode(), value.encode())


# --- the plan -------------------------------------------------------------------------------


def test_new_changed_unchanged_and_gone_records() -> None:
    current = {b"A": b'{"v":1}', b"B": b'{"v":2}', b"C": b'{"v":3}'}
    plan = plan_sync([rec("A", '{"v":1}'), rec("B", '{"v":9}'), rec("D", '{"v":4}')], current)
    assert plan.publish == ((b"B", b'{"v":9}'), (b"D", b'{"v":4}'))
    assert plan.unchanged == 1
    assert plan.delete == (b"C",)
    assert plan.current == 3
    assert plan.delete_share == pytest.approx(1 / 3)


def test_same_json_in_another_order_or_spacing_is_unchanged() -> None:
    plan = plan_sync([rec("A", '{"a":1,"b":[1,2]}')], {b"A": b'{ "b": [1, 2], "a": 1 }'})
    assert (plan.publish, plan.unchanged, plan.delete) == ((), 1, ())


def test_a_value_on_the_topic_that_is_not_json_is_replaced() -> None:
    plan = plan_sync([rec("A", '{"a":1}')], {b"A": b"\xff not json"})
    assert plan.publish == ((b"A", b'{"a":1}'),)


def test_an_empty_topic_gets_everything_and_deletes_nothing() -> None:
    plan = plan_sync([rec("A", "{}"), rec("B", "{}")], {})
    assert [k for k, _ in plan.publish] == [b"A", b"B"]
    assert (plan.unchanged, plan.delete, plan.current, plan.delete_share) == (0, (), 0, 0.0)


def test_an_empty_file_deletes_everything_sorted() -> None:
    plan = plan_sync([], {b"Z": b"{}", b"A": b"{}"})
    assert plan.delete == (b"A", b"Z")
    assert plan.delete_share == 1.0


def test_duplicate_keys_name_the_first_line() -> None:
    rows = [rec("A", "{}", 2), rec("B", "{}", 3), rec("A", "{}", 4), rec("A", "{}", 7)]
    assert duplicates(rows) == [Duplicate(4, b"A", 2), Duplicate(7, b"A", 2)]
    assert duplicates(rows[:2]) == []


# --- the share of deletions -----------------------------------------------------------------


@pytest.mark.parametrize(
    ("current", "share", "allowed"),
    [(0, 0.1, 0), (9, 0.1, 0), (10, 0.1, 1), (30, 0.1, 3), (100, 0.25, 25), (7, 1.0, 7)],
)
def test_deletions_allowed(current: int, share: float, allowed: int) -> None:
    assert deletions_allowed(current, share) == allowed


def _plan(deleted: int, kept: int) -> Any:
    current = {f"K{i:03}".encode(): b"{}" for i in range(deleted + kept)}
    return plan_sync([rec(f"K{i:03}", "{}") for i in range(deleted, deleted + kept)], current)


def test_up_to_the_share_passes() -> None:
    check_deletions(_plan(3, 27), 0.1, False, "t", "f.csv")  # 3 of 30 is 10 %


def test_more_than_the_share_is_refused_with_how_to_override() -> None:
    with pytest.raises(DeletionRefused) as refused:
        check_deletions(_plan(4, 26), 0.1, False, "t", "f.csv")
    assert str(refused.value) == (
        "f.csv: refusing to delete 4 of the 30 records on t (13.3 %), more than the 10 % "
        "allowed; if the file is complete, run again with --force or --max-delete-share 0.14"
    )


def test_force_deletes_everything() -> None:
    check_deletions(_plan(30, 0), 0.1, True, "t", "f.csv")


def test_a_truncated_export_is_refused() -> None:
    with pytest.raises(DeletionRefused, match="refusing to delete 900 of the 1000 records"):
        check_deletions(_plan(900, 100), 0.1, False, "t", "f.csv")


# --- the command, with the topic's state and the producer replaced ---------------------------


class RecordingProducer:
    produced: ClassVar[list[tuple[str, bytes | None, bytes | None]]] = []

    def __init__(self, config: dict[str, Any]) -> None:
        RecordingProducer.produced = []

    def produce(self, topic: str, value: bytes | None, key: bytes | None) -> None:
        RecordingProducer.produced.append((topic, key, value))

    def poll(self, timeout: float) -> int:
        return 0

    def flush(self, timeout: float) -> int:
        return 0


class Topic:
    """What the command reads as the topic's state."""

    def __init__(self) -> None:
        self.state: dict[bytes, bytes] = {}
        self.reads: list[str] = []

    def read(self, settings: Settings, topic: str) -> dict[bytes, bytes]:
        self.reads.append(topic)
        return dict(self.state)


@pytest.fixture
def topic(monkeypatch: pytest.MonkeyPatch) -> Topic:
    RecordingProducer.produced = []
    state = Topic()
    monkeypatch.setattr(reference, "Producer", RecordingProducer)
    monkeypatch.setattr(reference, "check_access", lambda settings: None)
    monkeypatch.setattr(reference, "read_compacted", state.read)
    return state


def _entry(entry_id: str, name: str) -> str:
    return f"{entry_id},{name},,IR,,OFAC,DNL,listed"


def _encoded(entry_id: str, name: str) -> bytes:
    return msgspec.json.encode(
        WatchlistEntry(
            entry_id=entry_id, name=name, country="IR", list="OFAC", action="DNL", reason="listed"
        )
    )


def write(tmp_path: Path, *rows: str) -> Path:
    path = tmp_path / "watchlist.csv"
    path.write_text("\n".join([WL_HEAD, *rows]) + "\n", encoding="utf-8")
    return path


def err(capsys: pytest.CaptureFixture[str]) -> list[str]:
    return capsys.readouterr().err.strip().splitlines()


def test_sync_publishes_new_and_changed_and_tombstones_the_rest(
    tmp_path: Path, topic: Topic, capsys: pytest.CaptureFixture[str]
) -> None:
    topic.state = {
        f"E{i}".encode(): _encoded(f"E{i}", f"NAME {i}") for i in range(1, 11)
    }  # E1..E10
    rows = [_entry(f"E{i}", f"NAME {i}") for i in range(2, 11)]  # E1 gone
    rows[0] = _entry("E2", "RENAMED")
    path = write(tmp_path, *rows, _entry("E11", "NEW"))
    assert main(["watchlist", "sync", str(path), "-b", "broker:9092"]) == 0
    assert topic.reads == [topics.WATCHLIST]
    assert [(t, k, v is None) for t, k, v in RecordingProducer.produced] == [
        (topics.WATCHLIST, b"E2", False),
        (topics.WATCHLIST, b"E11", False),
        (topics.WATCHLIST, b"E1", True),
    ]
    assert err(capsys) == [f"{path}: loaded 2, unchanged 8, deleted 1 ({topics.WATCHLIST})"]


def test_bad_rows_and_duplicates_publish_nothing_and_read_no_topic(
    tmp_path: Path, topic: Topic, capsys: pytest.CaptureFixture[str]
) -> None:
    path = write(
        tmp_path,
        _entry("E1", "ONE"),
        "E2,Bad,,,,OFAC,BLOCK,listed",
        _entry("E1", "AGAIN"),
    )
    assert main(["watchlist", "sync", str(path), "--force"]) == 1
    assert err(capsys) == [
        f"{path}:3: action 'BLOCK' is not one of RFI, HRCM, DNL",
        f"{path}:4: entry_id 'E1' is already on line 2",
        f"screening: {path}: 2 bad rows, nothing published",
    ]
    assert topic.reads == []
    assert RecordingProducer.produced == []


def test_a_wrong_header_publishes_nothing(
    tmp_path: Path, topic: Topic, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "aeo.csv"
    path.write_text("id,name\nA,B\n", encoding="utf-8")
    assert main(["aeo", "sync", str(path)]) == 1
    lines = err(capsys)
    assert lines[0].startswith(f"{path}:1: header must be operator_id,")
    assert lines[-1] == f"screening: {path}: 1 bad row, nothing published"
    assert RecordingProducer.produced == []


def test_too_many_deletions_are_refused_and_nothing_published(
    tmp_path: Path, topic: Topic, capsys: pytest.CaptureFixture[str]
) -> None:
    topic.state = {f"E{i}".encode(): _encoded(f"E{i}", "N") for i in range(10)}
    path = write(tmp_path, _entry("E0", "N"), _entry("NEW", "N"))
    assert main(["watchlist", "sync", str(path)]) == 1
    assert err(capsys) == [
        f"screening: {path}: refusing to delete 9 of the 10 records on {topics.WATCHLIST} "
        "(90 %), more than the 10 % allowed; if the file is complete, run again with --force "
        "or --max-delete-share 0.9"
    ]
    assert RecordingProducer.produced == []

    assert main(["watchlist", "sync", str(path), "--max-delete-share", "0.9"]) == 0
    assert len(RecordingProducer.produced) == 10  # NEW, then 9 tombstones
    assert err(capsys) == [f"{path}: loaded 1, unchanged 1, deleted 9 ({topics.WATCHLIST})"]


def test_dry_run_prints_the_plan_and_publishes_nothing(
    tmp_path: Path, topic: Topic, capsys: pytest.CaptureFixture[str]
) -> None:
    topic.state = {b"OLD": _encoded("OLD", "N"), b"KEPT": _encoded("KEPT", "N")}
    path = write(tmp_path, _entry("KEPT", "N"), _entry("NEW", "N"))
    assert main(["watchlist", "sync", str(path), "--dry-run", "--force"]) == 0
    assert err(capsys) == [
        "would load NEW",
        "would delete OLD",
        f"{path}: would load 1, unchanged 1, would delete 1 ({topics.WATCHLIST}); "
        "dry run, nothing published",
    ]
    assert RecordingProducer.produced == []

    # Without --force the dry run also says the sync would be refused.
    assert main(["watchlist", "sync", str(path), "--dry-run"]) == 1
    assert err(capsys)[-1].startswith(f"screening: {path}: refusing to delete 1 of the 2")
    assert RecordingProducer.produced == []


@pytest.mark.parametrize("share", ["-0.1", "1.5", "ten"])
def test_a_share_out_of_range_is_a_usage_error(
    share: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = write(tmp_path, _entry("E1", "N"))
    assert main(["aeo", "sync", str(path), "--max-delete-share", share]) == 2
    [line] = err(capsys)
    assert line.startswith("screening: error: ")
