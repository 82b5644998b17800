"""`screening rules validate`, `publish` (the rules topic faked) and `backtest`, without a
broker."""

from __future__ import annotations

from pathlib import Path

import orjson
import pytest

from pipeline.cli import rules as rules_cli
from pipeline.cli.main import main
from pipeline.rules.publish import MANIFEST_KEY
from tests.factories import encoded

ROOT = Path(__file__).resolve().parents[3]


def test_the_default_rules_validate(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["rules", "validate", str(ROOT / "rules")]) == 0
    err = capsys.readouterr().err
    assert "cases pass; version rs-" in err


def test_a_broken_rule_file_is_refused_with_file_line_and_reason(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    rule = tmp_path / "broken.yaml"
    rule.write_text(
        "id: BROKEN\n"
        "version: 1\n"
        "title: Broken\n"
        "owner: tests\n"
        "reason: r\n"
        "review_by: 2027-01-01\n"
        "mode: active\n"
        "action: HRCM\n"
        "score: 10\n"
        "when:\n"
        "  any_goods:\n"
        "    hs_cod: {prefix: '93'}\n"
        "cases: {match: [{}]}\n"
    )
    assert main(["rules", "validate", str(tmp_path)]) == 1
    err = capsys.readouterr().err
    assert f"{rule}:12: unknown goods field `hs_cod`" in err


def test_a_rule_whose_case_fails_is_refused(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (tmp_path / "wrong.yaml").write_text(
        "id: WRONG\nversion: 1\ntitle: t\nowner: o\nreason: r\nreview_by: 2027-01-01\n"
        "mode: active\naction: RFI\nscore: 1\n"
        "when: {any_goods: {hs_chapter: '93'}}\n"
        "cases: {match: [{goods: [{hs_code: '940360'}]}]}\n"
    )
    assert main(["rules", "validate", str(tmp_path)]) == 1
    assert "WRONG cases.match[0]: expected the rule to match" in capsys.readouterr().err


def test_backtest_reports_hits_per_rule(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    recorded = tmp_path / "recorded.jsonl"
    recorded.write_bytes(encoded() + b"\n" + encoded(hs_code="930690") + b"\nnot json\n")
    assert main(["rules", "backtest", str(recorded), "--rules", str(ROOT / "rules")]) == 0
    out = capsys.readouterr().out
    assert "2 declarations screened: ASSESSMENT_COMPLETE 1 (50.0%), HRCM 1 (50.0%)" in out
    assert "1 line rejected: not JSON (1)" in out
    assert "HS-ARMS-93" in out


# `screening rules publish`, the rules topic faked: what it holds, and what is sent to it.

RULE = """\
id: {id}
version: {version}
title: t
owner: o
reason: r
review_by: {review_by}
mode: active
action: RFI
score: {score}
when: {{any_goods: {{hs_chapter: '93'}}}}
cases: {{match: [{{goods: [{{hs_code: '930690'}}]}}]}}
"""


def _folder(base: Path, *rules: tuple[str, int, int], review_by: str = "2099-01-01") -> Path:
    base.mkdir(parents=True, exist_ok=True)
    for rule_id, version, score in rules:
        (base / f"{rule_id}.yaml").write_text(
            RULE.format(id=rule_id, version=version, score=score, review_by=review_by)
        )
    return base


class FakeTopic:
    """The rules topic: ``read_compacted`` reads it, the producer writes to it."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch) -> None:
        self.live: dict[bytes, bytes] = {}
        self.sent: list[tuple[bytes, bytes | None]] = []
        monkeypatch.setattr(rules_cli, "read_compacted", lambda settings, topic: dict(self.live))
        monkeypatch.setattr(rules_cli, "Producer", lambda config: _FakeProducer())
        monkeypatch.setattr(rules_cli, "produce_waiting", self._produce)

    def _produce(self, producer: object, topic: str, value: bytes | None, key: bytes) -> None:
        self.sent.append((key, value))
        if value is None:
            self.live.pop(key, None)
        else:
            self.live[key] = value

    @property
    def manifest(self) -> dict[str, object]:
        return dict(orjson.loads(self.live[MANIFEST_KEY.encode()]))


class _FakeProducer:
    def flush(self, timeout: float) -> int:
        return 0


@pytest.fixture
def topic(monkeypatch: pytest.MonkeyPatch) -> FakeTopic:
    monkeypatch.setenv("SCREENING_KAFKA_BOOTSTRAP", "127.0.0.1:1")
    return FakeTopic(monkeypatch)


def _publish(folder: Path, *options: str) -> int:
    return main(["rules", "publish", str(folder), *options])


def test_publish_records_who_and_why_in_the_manifest(
    tmp_path: Path, topic: FakeTopic, capsys: pytest.CaptureFixture[str]
) -> None:
    folder = _folder(tmp_path / "one", ("A", 1, 30))
    assert _publish(folder, "--reason", "first set", "--by", "ana") == 0
    err = capsys.readouterr().err
    assert "nothing is published yet:" in err
    assert "    A v1 active RFI" in err
    assert "published rule set rs-" in err
    manifest = topic.manifest
    assert manifest["published_by"] == "ana"
    assert manifest["reason"] == "first set"
    assert manifest["previous_ruleset_version"] is None
    assert manifest["changes"] == {"added": ["A"], "retired": [], "changed": {}, "lists": []}


def test_publish_defaults_to_the_os_user_and_warns_without_a_reason(
    tmp_path: Path,
    topic: FakeTopic,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(rules_cli.getpass, "getuser", lambda: "osuser")
    assert _publish(_folder(tmp_path / "one", ("A", 1, 30))) == 0
    assert "warning: no --reason given" in capsys.readouterr().err
    assert topic.manifest["published_by"] == "osuser"
    assert topic.manifest["reason"] is None


def test_a_rule_changed_without_a_new_version_is_refused_and_nothing_sent(
    tmp_path: Path, topic: FakeTopic, capsys: pytest.CaptureFixture[str]
) -> None:
    assert _publish(_folder(tmp_path / "one", ("A", 2, 30), ("B", 1, 1)), "--reason", "x") == 0
    before = dict(topic.live)
    topic.sent.clear()
    changed = _folder(tmp_path / "two", ("A", 2, 40), ("B", 1, 1))
    assert _publish(changed, "--reason", "y") == 1
    err = capsys.readouterr().err
    assert (
        f"{changed / 'A.yaml'}: rule A: changed without a new version: raise `version` to 3"
    ) in err
    assert "nothing published" in err
    assert topic.sent == []
    assert topic.live == before


def test_a_lower_version_is_refused(
    tmp_path: Path, topic: FakeTopic, capsys: pytest.CaptureFixture[str]
) -> None:
    assert _publish(_folder(tmp_path / "one", ("A", 2, 30)), "--reason", "x") == 0
    topic.sent.clear()
    assert _publish(_folder(tmp_path / "two", ("A", 1, 30)), "--reason", "y") == 1
    assert "rule A: version 1 is lower than the published version 2" in capsys.readouterr().err
    assert topic.sent == []
    rolled_back = _folder(tmp_path / "two", ("A", 1, 30))
    assert _publish(rolled_back, "--rollback", "--reason", "back to A v1") == 0
    assert "    A version 2 -> 1" in capsys.readouterr().err
    assert topic.manifest["rollback"] is True


def test_publish_shows_the_diff_and_dry_run_sends_nothing(
    tmp_path: Path, topic: FakeTopic, capsys: pytest.CaptureFixture[str]
) -> None:
    assert _publish(_folder(tmp_path / "one", ("A", 1, 30), ("B", 1, 1)), "--reason", "x") == 0
    first = topic.manifest["ruleset_version"]
    capsys.readouterr()
    topic.sent.clear()
    raised = _folder(tmp_path / "two", ("A", 2, 40), ("C", 1, 1))
    assert _publish(raised, "--dry-run") == 0
    err = capsys.readouterr().err
    assert f"against rule set {first} on the topic, published by" in err
    assert "    A version 1 -> 2" in err
    assert "      -score: 30" in err
    assert "      +score: 40" in err
    assert "  added (1):\n    C v1 active RFI" in err
    assert "  retired (1):\n    B v1" in err
    assert "dry run: rule set rs-" in err
    assert "not published" in err
    assert topic.sent == []

    assert _publish(raised, "--reason", "raise A, replace B by C", "--by", "ana") == 0
    err = capsys.readouterr().err
    assert "    A version 1 -> 2" in err
    # Scripts read the version after "published rule set " (tests/integration/...hot_reload).
    assert err.count("published rule set ") == 1
    assert err.split("published rule set ")[1].split(":")[0] == topic.manifest["ruleset_version"]
    assert (b"B", None) in topic.sent
    manifest = topic.manifest
    assert manifest["previous_ruleset_version"] == first
    assert manifest["changes"] == {
        "added": ["C"],
        "retired": ["B"],
        "changed": {"A": [1, 2]},
        "lists": [],
    }


def test_publishing_what_is_published_sends_nothing(
    tmp_path: Path, topic: FakeTopic, capsys: pytest.CaptureFixture[str]
) -> None:
    folder = _folder(tmp_path / "one", ("A", 1, 30))
    assert _publish(folder, "--reason", "x", "--by", "ana") == 0
    topic.sent.clear()
    capsys.readouterr()
    assert _publish(folder) == 0
    err = capsys.readouterr().err
    assert ": no changes" in err
    assert "is already published: nothing sent" in err
    assert "warning" not in err
    assert topic.sent == []
    assert topic.manifest["published_by"] == "ana", "the record of who published it stays"


def test_validate_warns_of_rules_past_their_review_date(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    folder = _folder(tmp_path, ("A", 1, 30), review_by="2020-01-31")
    _folder(tmp_path, ("B", 1, 30))
    assert main(["rules", "validate", str(folder)]) == 0
    err = capsys.readouterr().err
    assert "1 rules" not in err
    assert "2 rules" in err
    warnings = [line for line in err.splitlines() if line.startswith("warning:")]
    assert len(warnings) == 1
    assert warnings[0].startswith(
        f"warning: {folder / 'A.yaml'}: rule A: review was due by 2020-01-31 ("
    )


# `screening rules publish --expected`: the backtest's estimates go into the manifest.


def _recorded(path: Path) -> Path:
    arms, plain = encoded(hs_code="930690"), encoded("PLAIN-1")
    path.write_bytes(arms + b"\n" + plain + b"\n")
    return path


def test_publish_records_the_backtests_estimate_of_each_rule(
    tmp_path: Path, topic: FakeTopic, capsys: pytest.CaptureFixture[str]
) -> None:
    folder = _folder(tmp_path / "one", ("A", 1, 30), ("B", 1, 1))
    (folder / "B.yaml").write_text(
        (folder / "B.yaml")
        .read_text()
        .replace("hs_chapter: '93'", "hs_chapter: '01'")
        .replace("930690", "010121")
    )
    report = tmp_path / "backtest.json"
    assert (
        main(
            [
                "rules",
                "backtest",
                str(_recorded(tmp_path / "rec.jsonl")),
                "--rules",
                str(folder),
                "--json-out",
                str(report),
            ]
        )
        == 0
    )
    capsys.readouterr()
    assert _publish(folder, "--reason", "with estimates", "--expected", str(report)) == 0
    err = capsys.readouterr().err
    assert f"expected match rates of 2 rules from {report} (2 declarations backtested)" in err
    assert "warning: the backtest screened 2 declarations (fewer than 1000)" in err
    manifest = topic.manifest
    assert manifest["expected_match_ratio"] == {"A": 0.5, "B": 0.0}
    assert manifest["expected_from"] == {"backtest": "backtest.json", "declarations": 2}


def test_publish_refuses_the_backtest_of_another_folder_and_sends_nothing(
    tmp_path: Path, topic: FakeTopic, capsys: pytest.CaptureFixture[str]
) -> None:
    tested = _folder(tmp_path / "tested", ("A", 1, 30))
    report = tmp_path / "backtest.json"
    recorded = _recorded(tmp_path / "rec.jsonl")
    assert (
        main(
            ["rules", "backtest", str(recorded), "--rules", str(tested), "--json-out", str(report)]
        )
        == 0
    )
    capsys.readouterr()
    changed = _folder(tmp_path / "changed", ("A", 2, 40))
    assert _publish(changed, "--expected", str(report)) == 1
    err = capsys.readouterr().err
    assert "backtest.json: the backtest screened with rule set rs-" in err
    assert topic.sent == []


def test_publish_with_a_file_that_is_no_backtest_report_is_a_bad_argument(
    tmp_path: Path, topic: FakeTopic, capsys: pytest.CaptureFixture[str]
) -> None:
    folder = _folder(tmp_path / "one", ("A", 1, 30))
    not_json = tmp_path / "notes.json"
    not_json.write_text("these are notes")
    assert _publish(folder, "--expected", str(not_json)) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1
    assert "--expected" in err[0]
    assert "not JSON" in err[0]
    other = tmp_path / "other.json"
    other.write_text('{"hits": []}')
    assert _publish(folder, "--expected", str(other)) == 2
    assert "not a report of `screening rules backtest --json-out`" in capsys.readouterr().err
    assert _publish(folder, "--expected", str(tmp_path / "missing.json")) == 2
    assert topic.sent == []
