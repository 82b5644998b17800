"""``screening hits``: the open referrals, most urgent first, as a table or as JSON lines.

Without ``--follow`` it prints the referrals open now and exits. With ``--follow`` it keeps
reading ``customs.targeting.hits.v1``: on a terminal the table is redrawn in place as hits
arrive and are withdrawn; otherwise (or with ``--json``) each change is one more line.

JSON lines: each open referral is the Hit as published, with the declaration it carries. With
``--follow``, a referral that leaves the view is the line ``{"withdrawn": true,
"declaration_id": …, "version": …, "reason": "closed" | "filtered"}``: closed by a later
version that is no longer a referral or by an invalidation, or replaced by a version that the
filters do not show.
"""

from __future__ import annotations

import sys
from collections.abc import Iterable, Mapping, Sequence
from datetime import UTC, datetime
from enum import StrEnum
from typing import Any

import orjson
import typer
from rich.console import Console, Group
from rich.live import Live
from rich.table import Table
from rich.text import Text

from pipeline import topics
from pipeline.cli.common import BootstrapOption, console, load_settings
from pipeline.kafka.reader import TopicReader
from pipeline.screening.outcome import SEVERITY
from pipeline.targeting.referrals import (
    Change,
    Hit,
    HitFilter,
    OpenReferrals,
    Shown,
    Withdrawn,
)
from pipeline.targeting.since import parse_since

# Small enough that a DNL shows well within a second of its assessment.
POLL_S = 0.2
_OUTCOME_STYLE = {"DNL": "bold red", "HRCM": "red", "RFI": "yellow"}
stdout = Console(soft_wrap=True)
if not stdout.is_terminal:
    # Files and pipes get whole rule lines rather than rich's 80 columns.
    stdout.width = 160


class ReferralOutcome(StrEnum):
    DNL = "DNL"
    HRCM = "HRCM"
    RFI = "RFI"


def _since(value: str | None) -> datetime | None:
    if value is None:
        return None
    try:
        return parse_since(value, datetime.now(UTC))
    except ValueError as exc:
        raise typer.BadParameter(str(exc), param_hint="--since") from None


def hits(
    follow: bool = typer.Option(False, "--follow", "-f", help="Keep showing hits as they come."),
    as_json: bool = typer.Option(False, "--json", help="JSON lines instead of a table."),
    outcome: list[ReferralOutcome] = typer.Option(
        [], "--outcome", case_sensitive=False, help="Only this outcome (repeatable)."
    ),
    rule: list[str] = typer.Option([], "--rule", help="Only hits this rule fired (repeatable)."),
    since: str | None = typer.Option(
        None,
        "--since",
        help="Only hits assessed since: a duration back from now (15m, 2h, 1d) or an RFC 3339 "
        "time (2026-11-27T15:00:00Z).",
    ),
    limit: int = typer.Option(50, min=1, help="Most rows in the table (highest priority first)."),
    bootstrap: BootstrapOption = None,
) -> None:
    """Show open targeting referrals: DNL first, then HRCM, then RFI; higher score first."""
    hit_filter = HitFilter({o.value for o in outcome}, set(rule), _since(since))
    # The table does not show the declaration a hit carries: it is kept for JSON lines only.
    referrals = OpenReferrals(hit_filter, declarations=as_json)
    kafka = load_settings(bootstrap).kafka
    reader = TopicReader(kafka, topics.HITS)
    try:
        while not reader.caught_up:
            for record in reader.poll(POLL_S):
                referrals.apply(record.key, record.value)
        if follow and not as_json and stdout.is_terminal:
            _follow_live(reader, referrals, limit)
            return
        if as_json:
            _write_json(referrals.ranked())
        else:
            stdout.print(hit_table(referrals.ranked(), limit))
        if follow:
            console.print(f"{len(referrals)} open; following {topics.HITS} (Ctrl-C stops)")
            _follow_lines(reader, referrals, as_json)
    except KeyboardInterrupt:
        pass
    finally:
        reader.close()


def _changes(reader: TopicReader, referrals: OpenReferrals) -> list[Change]:
    found = (referrals.apply(r.key, r.value) for r in reader.poll(POLL_S))
    return [change for change in found if change is not None]


def _follow_live(reader: TopicReader, referrals: OpenReferrals, limit: int) -> None:
    def view() -> Group:
        footer = Text(f"following {topics.HITS}; Ctrl-C stops", style="dim")
        return Group(hit_table(referrals.ranked(), limit), footer)

    with Live(view(), console=stdout, auto_refresh=False, redirect_stderr=False) as live:
        while True:
            if _changes(reader, referrals):
                live.update(view(), refresh=True)


def _follow_lines(reader: TopicReader, referrals: OpenReferrals, as_json: bool) -> None:
    while True:
        for change in _changes(reader, referrals):
            if as_json:
                document = change.hit if isinstance(change, Shown) else change.as_json()
                _write_json([document])
            else:
                stdout.print(change_line(change))


# --- rendering: every text from a filing goes through plain(), never through markup --------


def plain(text: object) -> str:
    """Filer-supplied text made safe for a terminal: control characters (escape sequences
    among them) and invisible format characters become visible replacements."""
    return "".join(
        ch if ch.isprintable() else (" " if ch.isspace() else "\ufffd") for ch in str(text)
    )


def hit_table(ranked: Sequence[Hit], limit: int) -> Table:
    shown = f" (the first {limit})" if len(ranked) > limit else ""
    table = Table(title=f"Open referrals: {len(ranked)}{shown}", title_justify="left")
    table.add_column("declaration", overflow="fold")
    table.add_column("v", justify="right")
    table.add_column("outcome")
    table.add_column("score", justify="right")
    table.add_column("rules and reasons", overflow="fold", ratio=3)
    table.add_column("parties (AEO)", overflow="fold", ratio=1)
    table.add_column("assessed")
    for hit in ranked[:limit]:
        table.add_row(
            Text(plain(hit["declaration_id"])),
            str(hit["version"]),
            outcome_text(hit["outcome"]),
            f"{hit['score']:g}",
            Text("\n".join(rule_lines(hit.get("matches", [])))),
            Text("\n".join(party_lines(hit.get("parties", [])))),
            Text(assessed_text(hit.get("assessed_at"))),
        )
    return table


def change_line(change: Change) -> Text:
    if isinstance(change, Withdrawn):
        why = "no longer a referral" if change.reason == "closed" else "replaced, now filtered"
        return Text(f"withdrawn {plain(change.declaration_id)} v{change.version}: {why}", "dim")
    hit = change.hit
    line = Text()
    line.append_text(outcome_text(hit["outcome"]))
    line.append(f" {plain(hit['declaration_id'])} v{hit['version']} score {hit['score']:g}")
    for text in rule_lines(hit.get("matches", [])):
        line.append(f"\n    {text}")
    parties = "; ".join(party_lines(hit.get("parties", [])))
    if parties:
        line.append(f"\n    parties: {parties}")
    return line


def outcome_text(outcome: str) -> Text:
    return Text(plain(outcome), style=_OUTCOME_STYLE.get(outcome, ""))


def rule_lines(matches: Iterable[Mapping[str, Any]]) -> list[str]:
    """One line per rule that fired, most severe first: id, version, action, score, reason."""
    ranked = sorted(
        matches,
        key=lambda m: (SEVERITY.get(str(m.get("action")), 0), m.get("score", 0)),
        reverse=True,
    )
    return [
        plain(
            f"{m.get('rule_id')} v{m.get('rule_version')} {m.get('action')} "
            f"{m.get('score', 0):+g}: {m.get('reason', '')}"
        )
        for m in ranked
    ]


def party_lines(parties: Iterable[Mapping[str, Any]]) -> list[str]:
    """Each party's role and AEO status, e.g. ``consignee: AEOF ACTIVE DEAEOF123 (MRA:US)``."""
    lines = []
    for party in parties:
        status = party.get("status")
        words = [str(party.get("aeo_type") or ""), "no AEO" if status == "NONE" else str(status)]
        if party.get("operator_id"):
            words.append(str(party["operator_id"]))
        if party.get("source") and party["source"] != "REGISTRY":
            words.append(f"({party['source']})")
        lines.append(plain(f"{party.get('role')}: {' '.join(w for w in words if w)}"))
    return lines


def assessed_text(text: object) -> str:
    try:
        moment = datetime.fromisoformat(str(text))
    except ValueError:
        return plain(text or "")
    return moment.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S")


def _write_json(documents: Iterable[Mapping[str, Any]]) -> None:
    for document in documents:
        sys.stdout.buffer.write(orjson.dumps(document) + b"\n")
    sys.stdout.buffer.flush()
