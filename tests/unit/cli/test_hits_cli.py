"""`screening hits` without a broker: argument checks and how a hit is drawn."""

from __future__ import annotations

import io
from collections.abc import Iterator
from typing import Any

import orjson
import pytest
from rich.console import Console

from pipeline.cli import hits as hits_cli
from pipeline.cli.hits import change_line, hit_table, party_lines, plain, rule_lines
from pipeline.cli.main import main
from pipeline.records import InputRecord
from pipeline.targeting.referrals import OpenReferrals, Shown, Withdrawn

HOSTILE = "[bold red]FAKE[/] \x1b[2J\x1b]0;owned\x07 ACME\u200b LTD\nline"


def _hit(**changes: Any) -> dict[str, Any]:
    hit: dict[str, Any] = {
        "declaration_id": "D-1",
        "version": 2,
        "outcome": "HRCM",
        "score": 65,
        "priority": 2,
        "matches": [
            {
                "rule_id": "ROUTE-HUB",
                "rule_version": 1,
                "action": "SCORE",
                "score": 15,
                "reason": "routed through a transhipment hub",
                "evidence": {},
            },
            {
                "rule_id": "HS-ARMS-93",
                "rule_version": 3,
                "action": "HRCM",
                "score": 50,
                "reason": f"goods[1] described as {HOSTILE}",
                "evidence": {},
            },
        ],
        "parties": [
            {
                "role": "consignor",
                "operator_id": None,
                "aeo_type": None,
                "status": "NONE",
                "source": None,
            },
            {
                "role": "consignee",
                "operator_id": "US1234",
                "aeo_type": "CTPAT",
                "status": "ACTIVE",
                "source": "MRA:US",
            },
        ],
        "assessed_at": "2026-11-27T15:04:05.123Z",
    }
    hit.update(changes)
    return hit


def _render(renderable: Any) -> str:
    console = Console(file=io.StringIO(), force_terminal=True, width=200, color_system="standard")
    console.print(renderable)
    output = console.file.getvalue()
    assert isinstance(output, str)
    return output


@pytest.mark.parametrize(
    "argv",
    [
        ["hits", "--since", "yesterday"],
        ["hits", "--since", "2026-11-27T10:00:00"],
        ["hits", "--outcome", "ASSESSMENT_COMPLETE"],
        ["hits", "--limit", "0"],
    ],
)
def test_bad_arguments_are_one_line_and_exit_code_2(
    argv: list[str], capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(argv) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("screening: error: ")
    assert "\n" not in err


def test_filer_text_cannot_reach_the_terminal_as_markup_or_control_codes() -> None:
    hostile = _hit(declaration_id=HOSTILE)
    output = _render(hit_table([hostile], 10)) + _render(change_line(Shown(hostile)))
    assert "[bold red]FAKE[/]" in output  # shown as written, not as markup
    assert "\x1b[2J" not in output
    assert "\x1b]0;" not in output
    assert "\x07" not in output
    assert "\u200b" not in output


def test_plain_replaces_control_and_format_characters() -> None:
    assert plain("A\x1bB\tC\u200bD") == "A\ufffdB C\ufffdD"
    assert plain("ÉCOLE [b]") == "ÉCOLE [b]"


def test_rules_most_severe_first_with_version_action_score_and_reason() -> None:
    lines = rule_lines(_hit()["matches"])
    assert lines[0].startswith("HS-ARMS-93 v3 HRCM +50: goods[1] described as [bold red]FAKE[/]")
    assert lines[1] == "ROUTE-HUB v1 SCORE +15: routed through a transhipment hub"


def test_parties_with_their_aeo_status_and_source() -> None:
    assert party_lines(_hit()["parties"]) == [
        "consignor: no AEO",
        "consignee: CTPAT ACTIVE US1234 (MRA:US)",
    ]


def test_table_shows_the_count_and_only_the_first_rows() -> None:
    hits = [_hit(declaration_id=f"D-{n}") for n in range(5)]
    output = _render(hit_table(hits, 2))
    assert "Open referrals: 5 (the first 2)" in output
    assert "D-0" in output
    assert "D-1" in output
    assert "D-4" not in output
    assert "2026-11-27 15:04:05" in output
    assert "consignee: CTPAT ACTIVE US1234 (MRA:US)" in output


def test_a_withdrawal_line_names_the_declaration_and_version() -> None:
    output = _render(change_line(Withdrawn("D-1", 2, "closed")))
    assert "withdrawn D-1 v2: no longer a referral" in output


class _Reader:
    """Hands out prepared polls of the hits topic, then stops as Ctrl-C would."""

    def __init__(self, polls: list[list[InputRecord]]) -> None:
        self.polls = polls

    def poll(self, timeout_s: float) -> Iterator[InputRecord]:
        if not self.polls:
            raise KeyboardInterrupt
        return iter(self.polls.pop(0))


def _record(hit: dict[str, Any] | None, key: str) -> InputRecord:
    return InputRecord("t", key.encode(), orjson.dumps(hit) if hit else None, 0, 0, 0)


def test_the_live_table_is_redrawn_with_new_hits_and_without_withdrawn_ones(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    screen = Console(file=io.StringIO(), force_terminal=True, width=200)
    monkeypatch.setattr(hits_cli, "stdout", screen)
    reader = _Reader(
        [
            [_record(_hit(declaration_id="RFI-1", outcome="RFI", priority=3), "RFI-1")],
            [],
            [_record(_hit(declaration_id="DNL-1", outcome="DNL", priority=1), "DNL-1")],
            [_record(None, "RFI-1")],
        ]
    )
    with pytest.raises(KeyboardInterrupt):
        hits_cli._follow_live(reader, OpenReferrals(), 10)  # type: ignore[arg-type]
    output = screen.file.getvalue()
    assert isinstance(output, str)
    frames = output.split("Open referrals: ")[1:]
    counts = [frame.split()[0] for frame in frames]
    # Drawn at start, on each change (an empty poll draws nothing), and once more on exit.
    assert counts == ["0", "1", "2", "1", "1"]
    assert "DNL-1" in frames[-1]
    assert "RFI-1" not in frames[-1]


def test_json_lines_carry_the_declaration_and_the_table_leaves_it_out(
    capsysbinary: pytest.CaptureFixture[bytes],
) -> None:
    filed = (
        b'{"declaration_id": "D-1", "consignee": {"name": "PRIVATE PERSON"},'
        b' "x_reading": 1e400, "x_serial": ' + b"7" * 30 + b"}"
    )
    referrals = OpenReferrals()
    assert referrals.apply(b"D-1", orjson.dumps(_hit())[:-1] + b', "declaration": ' + filed + b"}")
    hits_cli._write_json(referrals.ranked())
    (line,) = capsysbinary.readouterr().out.splitlines()
    written = orjson.loads(line)["declaration"]
    assert written["consignee"] == {"name": "PRIVATE PERSON"}
    assert written["x_reading"] is None  # beyond a double: JSON has no infinity
    assert written["x_serial"] == 7.777777777777778e29
    table = _render(hit_table(referrals.ranked(), 10))
    assert "D-1" in table
    assert "PRIVATE PERSON" not in table
