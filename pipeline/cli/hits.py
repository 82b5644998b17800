"""``screening hits``: the open referrals, as a table or as JSON lines; ``--follow`` for live."""

from __future__ import annotations

import sys
from typing import Any

import orjson
import typer
from rich.console import Console
from rich.markup import escape
from rich.table import Table

from pipeline import topics
from pipeline.cli.common import BootstrapOption, load_settings
from pipeline.kafka.reader import TopicReader

_OUTCOME_STYLE = {"DNL": "bold red", "HRCM": "red", "RFI": "yellow"}
stdout = Console()


def hits(
    follow: bool = typer.Option(False, "--follow", "-f", help="Keep showing hits as they come."),
    as_json: bool = typer.Option(False, "--json", help="JSON lines instead of a table."),
    limit: int = typer.Option(50, min=1, help="Most rows in the table (highest priority first)."),
    bootstrap: BootstrapOption = None,
) -> None:
    """Show open targeting referrals: DNL first, then HRCM, then RFI; higher score first."""
    settings = load_settings(bootstrap)
    reader = TopicReader(settings, topics.HITS)
    open_hits: dict[bytes, dict[str, Any]] = {}
    try:
        while not reader.caught_up:
            for record in reader.poll(1.0):
                _apply(open_hits, record.key, record.value)
        _print_open(open_hits, as_json, limit)
        while follow:
            for record in reader.poll(1.0):
                _apply(open_hits, record.key, record.value)
                _print_change(record.key, record.value, as_json)
    except KeyboardInterrupt:
        pass
    finally:
        reader.close()


def _apply(open_hits: dict[bytes, dict[str, Any]], key: bytes | None, value: bytes | None) -> None:
    if key is None:
        return
    if value is None:
        open_hits.pop(key, None)
    else:
        open_hits[key] = orjson.loads(value)


def _ranked(open_hits: dict[bytes, dict[str, Any]]) -> list[dict[str, Any]]:
    return sorted(open_hits.values(), key=lambda h: (h["priority"], -h["score"]))


def _print_open(open_hits: dict[bytes, dict[str, Any]], as_json: bool, limit: int) -> None:
    ranked = _ranked(open_hits)
    if as_json:
        for hit in ranked:
            _write_json(hit)
        return
    table = Table(title=f"Open referrals: {len(ranked)}", title_justify="left")
    for column in ("declaration", "v", "outcome", "score", "rules", "summary"):
        table.add_column(column, overflow="fold")
    for hit in ranked[:limit]:
        table.add_row(*_row(hit))
    stdout.print(table)


def _print_change(key: bytes | None, value: bytes | None, as_json: bool) -> None:
    declaration_id = key.decode("utf-8", "replace") if key else ""
    if value is None:
        if as_json:
            _write_json({"declaration_id": declaration_id, "closed": True})
        else:
            stdout.print(f"[dim]closed  {escape(declaration_id)}: no longer a referral[/dim]")
        return
    hit = orjson.loads(value)
    if as_json:
        _write_json(hit)
        return
    declaration, version, outcome, score, rules, summary = _row(hit)
    stdout.print(f"{outcome:<6} {declaration} v{version} score {score}  {rules}\n       {summary}")


def _row(hit: dict[str, Any]) -> tuple[str, str, str, str, str, str]:
    outcome = hit["outcome"]
    style = _OUTCOME_STYLE.get(outcome, "")
    rules = ", ".join(sorted({m["rule_id"] for m in hit.get("matches", [])}))
    # Hits carry filer-supplied text: escape it so that it is never read as markup.
    return (
        escape(hit["declaration_id"]),
        str(hit["version"]),
        f"[{style}]{outcome}[/{style}]" if style else escape(outcome),
        f"{hit['score']:g}",
        escape(rules),
        escape(hit.get("summary", "")),
    )


def _write_json(document: dict[str, Any]) -> None:
    sys.stdout.buffer.write(orjson.dumps(document) + b"\n")
    sys.stdout.buffer.flush()
