"""Screening a recorded file as the worker would: versions, rejections, shares."""

from __future__ import annotations

from pathlib import Path

import pytest

from pipeline.backtest.screen import Share, Tally, read_batches, screenings, share_key
from pipeline.rules.loader import load_ruleset
from pipeline.settings import Settings
from tests.factories import encoded

ROOT = Path(__file__).resolve().parents[3]


def write(path: Path, lines: list[bytes]) -> Path:
    path.write_bytes(b"\n".join(lines) + b"\n")
    return path


def screen(path: Path, share: Share | None = None) -> Tally:
    (run,) = screenings([load_ruleset(ROOT / "rules")], Settings(), None)
    for records, lines, _ in read_batches(path, share, batch_size=2):
        run.screen(records, lines)
    return run.finish()


def test_versions_are_kept_as_the_worker_keeps_them(tmp_path: Path) -> None:
    arms = encoded("A", hs_code="930690")
    cleared = encoded("A", version=2, hs_code="940360")
    late = encoded("A", version=1, hs_code="930690")
    other = encoded("B", hs_code="930690")
    path = write(tmp_path / "f.jsonl", [arms, b"", b"{broken", other, cleared, late])

    tally = screen(path)

    assert [(v.declaration_id, v.version, v.outcome) for v in tally.verdicts] == [
        ("A", 1, "HRCM"),
        ("B", 1, "HRCM"),
        ("A", 2, "ASSESSMENT_COMPLETE"),
        ("A", 1, "HRCM"),
    ]
    assert tally.verdicts[-1].superseded_by == 2  # arrived after a newer version: no hit
    assert "HS-ARMS-93" in tally.verdicts[0].rules
    assert tally.hits == 2
    assert tally.open_referrals == 1  # B; A's referral was closed by version 2
    assert [(r.line, r.code) for r in tally.rejected] == [(3, "INVALID_JSON")]


def test_shares_split_by_declaration_id_and_merge_back_in_file_order(tmp_path: Path) -> None:
    lines = [encoded(f"D{n % 7}", version=n // 7 + 1, hs_code="930690") for n in range(28)]
    path = write(tmp_path / "f.jsonl", [*lines, b"not json"])
    whole = screen(path)
    shares = [screen(path, Share(index, 3)) for index in range(3)]

    for tally in shares:
        ids = {v.declaration_id for v in tally.verdicts}
        assert all(
            not ids & {v.declaration_id for v in t.verdicts} for t in shares if t is not tally
        )
    merged = Tally.merged(shares)
    assert merged.verdicts == whole.verdicts
    assert merged.rejected == whole.rejected
    assert (merged.hits, merged.open_referrals) == (whole.hits, whole.open_referrals)


@pytest.mark.parametrize(
    "value",
    [
        b'{"declaration_id": "ABC-1", "version": 1}',
        b'{"version": 1, "declaration_id":"ABC-1"}',
        b'{"declaration_id": "\\u0041BC-1"}',  # an escape: the JSON parser decides
        b'{"x": {"declaration_id": "decoy"}, "declaration_id": "ABC-1"}',
    ],
)
def test_share_key_is_the_declaration_id_however_it_is_written(value: bytes) -> None:
    assert share_key(value) == share_key(b'{"declaration_id": "ABC-1"}')


def test_share_key_of_a_message_without_id_is_zero() -> None:
    assert share_key(b"not json") == 0
    assert share_key(b'{"version": 1}') == 0


def test_a_missing_file_is_one_clear_error(tmp_path: Path) -> None:
    with pytest.raises(Exception, match="No such file"):
        list(read_batches(tmp_path / "missing.jsonl"))
