"""A backtest's results as a JSON document and as CSV tables, for spreadsheets and scripts."""

from __future__ import annotations

import csv
import io
import sys
from collections.abc import Iterable, Mapping
from dataclasses import asdict
from pathlib import Path
from typing import Any

import orjson

from pipeline.backtest.report import OUTCOMES, Comparison, RunReport
from pipeline.backtest.screen import Tally, Verdict
from pipeline.errors import ScreeningError

__all__ = [
    "OutputFileError",
    "document",
    "write_changes_csv",
    "write_json",
    "write_rules_csv",
    "write_verdicts",
]

RULES_COLUMNS = (
    "rule_id",
    "rule_version",
    "mode",
    "action",
    "matches",
    "share",
    *(f"outcome_{o}" for o in OUTCOMES),
    "against_rule_version",
    "against_matches",
    "delta",
    "rule_changed",
)


# The path that stands for standard output, as in most command-line tools.
STDOUT = Path("-")


class OutputFileError(ScreeningError):
    """A result file cannot be written: check the path and that its folder is writable."""


CHANGES_COLUMNS = (
    "declaration_id",
    "version",
    "old_outcome",
    "new_outcome",
    "added_rules",
    "removed_rules",
    "changed_rules",
)


def document(
    file: Path,
    rules_dir: Path,
    report: RunReport,
    tally: Tally,
    against_dir: Path | None = None,
    against: RunReport | None = None,
    comparison: Comparison | None = None,
) -> dict[str, Any]:
    """The whole backtest as one JSON-ready document."""
    return {
        "file": str(file),
        "rules": {
            "folder": str(rules_dir),
            **_run(report),
            "hits": tally.hits,
            "open_referrals": tally.open_referrals,
        },
        "rejected": {
            "count": len(tally.rejected),
            "lines": [asdict(r) for r in tally.rejected],
        },
        "against": {"folder": str(against_dir), **_run(against)} if against else None,
        "comparison": _comparison(comparison) if comparison else None,
    }


def write_verdicts(path: Path, verdicts: Iterable[Verdict]) -> None:
    """One JSON line per declaration version screened: what its assessment would say."""
    lines = (
        orjson.dumps(
            {
                "declaration_id": v.declaration_id,
                "version": v.version,
                "outcome": v.outcome,
                "score": v.score,
                "rules": sorted(v.rules),
                "shadow_rules": sorted(v.shadow_rules),
                "superseded_by": v.superseded_by,
            }
        )
        + b"\n"
        for v in verdicts
    )
    _write(path, b"".join(lines))


def write_json(path: Path, doc: Mapping[str, Any]) -> None:
    _write(path, orjson.dumps(doc, option=orjson.OPT_INDENT_2) + b"\n")


def write_rules_csv(path: Path, report: RunReport, comparison: Comparison | None = None) -> None:
    """One row per rule of the new set (and per rule only the old set has, with --against)."""
    deltas = {d.rule_id: d for d in comparison.rule_deltas} if comparison else {}
    rows = []
    for stats in report.rules:
        delta = deltas.pop(stats.rule_id, None)
        rows.append(
            [
                stats.rule_id,
                _blank(stats.version),
                stats.mode,
                stats.action,
                stats.matches,
                f"{stats.share:.6f}",
                *(stats.outcomes[o] for o in OUTCOMES),
                _blank(delta.old_version) if delta else "",
                delta.old_matches if delta else "",
                delta.delta if delta else "",
                _yes(delta.changed) if delta else "",
            ]
        )
    for delta in deltas.values():  # rules the new set no longer has
        blanks = [""] * (len(RULES_COLUMNS) - 6)
        old = [_blank(delta.old_version), delta.old_matches, delta.delta, _yes(delta.changed)]
        rows.append([delta.rule_id, *blanks, *old])
    _write_csv(path, RULES_COLUMNS, rows)


def write_changes_csv(path: Path, comparison: Comparison) -> None:
    rows = [
        [
            c.declaration_id,
            c.version,
            c.old_outcome,
            c.new_outcome,
            "|".join(c.added_rules),
            "|".join(c.removed_rules),
            "|".join(c.changed_rules),
        ]
        for c in comparison.changes
    ]
    _write_csv(path, CHANGES_COLUMNS, rows)


def _run(report: RunReport | None) -> dict[str, Any]:
    assert report is not None
    return {
        "ruleset_version": report.ruleset_version,
        "screened": report.screened,
        "invalidated": report.invalidated,
        "outcomes": report.outcomes,
        "per_rule": [asdict(s) for s in report.rules],
    }


def _comparison(comparison: Comparison) -> dict[str, Any]:
    return {
        "old_ruleset_version": comparison.old_ruleset_version,
        "new_ruleset_version": comparison.new_ruleset_version,
        "outcome_changes": len(comparison.changes),
        "moves": comparison.moves,
        "matches_changed": comparison.matches_changed,
        "changed": [asdict(c) for c in comparison.changes],
        "rule_deltas": [{**asdict(d), "delta": d.delta} for d in comparison.rule_deltas],
    }


def _yes(flag: bool) -> str:
    return "yes" if flag else "no"


def _blank(value: int | None) -> int | str:
    return "" if value is None else value


def _write_csv(path: Path, header: tuple[str, ...], rows: list[list[Any]]) -> None:
    text = io.StringIO(newline="")
    writer = csv.writer(text)
    writer.writerow(header)
    writer.writerows(rows)
    _write(path, text.getvalue().encode("utf-8"))


def _write(path: Path, data: bytes) -> None:
    """Write the file, or standard output for ``-``."""
    try:
        if path == STDOUT:
            sys.stdout.buffer.write(data)
            sys.stdout.buffer.flush()
        else:
            path.write_bytes(data)
    except OSError as exc:
        raise OutputFileError(f"{path}: {exc.strerror}") from exc
