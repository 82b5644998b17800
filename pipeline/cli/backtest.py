"""``screening rules backtest``: screen recorded declarations offline, report per rule.

Offline means no broker: the file is screened by the worker's own screening code with the
rule folders and reference CSV files given, and the report says what a worker would have
decided. With ``--against`` the same file is screened with a second rule set too (usually the
one in production) and the declarations whose outcome would change are listed.
"""

from __future__ import annotations

import csv
from pathlib import Path

import typer
from rich.console import Console
from rich.progress import (
    BarColumn,
    DownloadColumn,
    Progress,
    TextColumn,
    TimeElapsedColumn,
    TimeRemainingColumn,
)
from rich.table import Table
from rich.text import Text

from pipeline.backtest.export import (
    document,
    write_changes_csv,
    write_json,
    write_rules_csv,
    write_verdicts,
)
from pipeline.backtest.parallel import Job, default_processes, screen_file
from pipeline.backtest.reference import load_reference
from pipeline.backtest.report import (
    OUTCOMES,
    Comparison,
    RunReport,
    compare,
    differing_rules,
    rejection_kinds,
    rejection_location,
    run_report,
)
from pipeline.backtest.screen import RejectedLine, Tally
from pipeline.cli.archive import backtest_input
from pipeline.cli.common import STDOUT, console, default_rules_dir, load_settings, output_path
from pipeline.errors import ScreeningError
from pipeline.reference.csv_load import AEO_HEADER, WATCHLIST_HEADER
from pipeline.reference.parties import ReferenceData
from pipeline.rules.loader import load_ruleset
from pipeline.rules.model import RuleSet

# The report is the command's result: it goes to standard output, whole lines.
report_console = Console(soft_wrap=True)
if not report_console.is_terminal:
    # Files and pipes get the whole table rather than rich's 80 columns.
    report_console.width = 160
_REJECTIONS_SHOWN = 5
_SMALL_FILE_BYTES = 8 * 1024 * 1024


class NothingScreened(ScreeningError):
    """No line of the file is a declaration that could be screened: the report would be empty.
    Check that the file is the recording meant (the rejected lines say why)."""


def _output_path(path: Path | None) -> Path | None:
    return output_path(path)


def backtest(
    file: Path | None = typer.Argument(
        None,
        metavar="[FILE.jsonl]",
        exists=True,
        dir_okay=False,
        readable=True,
        help="Recorded declarations, one JSON object per line (or --from-archive).",
    ),
    rules: Path = typer.Option(
        default_rules_dir,
        "--rules",
        exists=True,
        file_okay=False,
        show_default="rules",
        help="The rule folder to test.",
    ),
    against: Path | None = typer.Option(
        None,
        "--against",
        exists=True,
        file_okay=False,
        help="A second rule folder, usually the one in production: list the declarations "
        "whose outcome would change from it to --rules.",
    ),
    aeo: list[Path] = typer.Option(
        [], "--aeo", exists=True, dir_okay=False, help="AEO registry CSV (repeatable)."
    ),
    watchlist: list[Path] = typer.Option(
        [], "--watchlist", exists=True, dir_okay=False, help="Watch-list CSV (repeatable)."
    ),
    json_out: Path | None = typer.Option(
        None,
        "--json-out",
        callback=_output_path,
        help="Write the whole report as JSON here (- for stdout).",
    ),
    csv_out: Path | None = typer.Option(
        None, "--csv-out", callback=_output_path, help="Write the per-rule table as CSV here."
    ),
    changes_out: Path | None = typer.Option(
        None,
        "--changes-out",
        callback=_output_path,
        help="Write the changed outcomes as CSV here (needs --against).",
    ),
    assessments_out: Path | None = typer.Option(
        None,
        "--assessments-out",
        callback=_output_path,
        help="Write one JSON line per declaration version screened with --rules: outcome, "
        "score and the rules that matched.",
    ),
    show: int = typer.Option(20, min=0, help="Changed outcomes listed on screen (all in files)."),
    max_bytes: int | None = typer.Option(
        None, min=1024, help="Size limit, as in the worker (default SCREENING_MAX_MESSAGE_BYTES)."
    ),
    progress: bool | None = typer.Option(
        None, "--progress/--no-progress", help="Progress bar on stderr (default: on a terminal)."
    ),
    processes: int | None = typer.Option(
        None,
        "--processes",
        min=1,
        help="Processes to screen with (default: one per core, one for a small file).",
    ),
    from_archive: Path | None = typer.Option(
        None,
        "--from-archive",
        metavar="DIR",
        help="Screen the declarations of the archive (screening archive run) instead of a file.",
    ),
    since: str | None = typer.Option(
        None, "--since", metavar="DATE", help="With --from-archive: first day, YYYY-MM-DD (UTC)."
    ),
    until: str | None = typer.Option(
        None, "--until", metavar="DATE", help="With --from-archive: last day, included."
    ),
) -> None:
    """Screen recorded declarations offline, as a worker would, and report hits per rule,
    outcomes, and with --against the outcomes that would change."""
    if changes_out is not None and against is None:
        raise typer.BadParameter("needs --against", param_hint="--changes-out")
    file = backtest_input(file, from_archive, since, until)
    outputs = (json_out, csv_out, changes_out, assessments_out)
    if sum(path == STDOUT for path in outputs) > 1:
        raise typer.BadParameter("only one output can go to standard output (-)")
    # With a file on standard output, the report goes to stderr so as not to mix with it.
    out = console if STDOUT in outputs else report_console
    _check_inputs(rules, against, aeo, watchlist)
    settings = load_settings(max_message_bytes=max_bytes)
    candidate = load_ruleset(rules)
    baseline = load_ruleset(against) if against is not None else None
    reference = load_reference(settings.scoring, aeo, watchlist)
    for problem in reference.skipped:
        console.print(problem, markup=False, highlight=False)

    rulesets = [candidate, *([baseline] if baseline else [])]
    job = Job(
        file,
        tuple([rules, *([against] if against else [])]),
        tuple(aeo),
        tuple(watchlist),
        settings,
    )
    tallies = _screen(
        job,
        rulesets,
        reference.data,
        processes or _processes_for(file),
        console.is_terminal if progress is None else progress,
    )

    new = run_report(candidate, tallies[0].verdicts)
    old = run_report(baseline, tallies[1].verdicts) if baseline else None
    comparison = None
    if old is not None and baseline is not None:
        differing = differing_rules(baseline, candidate)
        comparison = compare(old, tallies[1].verdicts, new, tallies[0].verdicts, differing)
    rejected = tallies[0].rejected

    if not new.screened and not new.invalidated:
        _print_rejections(file, rejected, out)
        why = f"all {len(rejected)} lines rejected" if rejected else "no declaration in it"
        raise NothingScreened(f"{file}: nothing screened, {why}")
    _print_rules(new, comparison, out)
    _print_summary(new, tallies[0], reference.aeo_records, reference.watchlist_entries, out)
    if comparison is not None and old is not None:
        _print_comparison(old, new, comparison, show, out)
    _print_rejections(file, rejected, out)

    if json_out is not None:
        write_json(json_out, document(file, rules, new, tallies[0], against, old, comparison))
    if csv_out is not None:
        write_rules_csv(csv_out, new, comparison)
    if changes_out is not None and comparison is not None:
        write_changes_csv(changes_out, comparison)
    if assessments_out is not None:
        write_verdicts(assessments_out, tallies[0].verdicts)


def _check_inputs(
    rules: Path, against: Path | None, aeo: list[Path], watchlist: list[Path]
) -> None:
    """Refuse what cannot be used before screening anything: a CSV file that is not the
    option's kind (its header says)."""
    for option, paths, header in (
        ("--aeo", aeo, AEO_HEADER),
        ("--watchlist", watchlist, WATCHLIST_HEADER),
    ):
        for path in paths:
            problem = _header_problem(path, header)
            if problem:
                raise typer.BadParameter(f"{path}:{problem}", param_hint=option)


def _header_problem(path: Path, header: tuple[str, ...]) -> str | None:
    """``LINE: reason`` when the file's first row is not ``header``, else None. The rows are
    left to the reader, which reports each bad one and skips it."""
    try:
        with path.open(encoding="utf-8-sig", newline="") as handle:
            reader = csv.reader(handle)
            first = next((row for row in reader if row), None)
            line = reader.line_num
    except (OSError, UnicodeDecodeError, csv.Error):
        return None  # the reader says what is wrong, with the line
    expected = ",".join(header)
    if first is None:
        return f"1: no header: expected {expected}"
    if tuple(field.strip() for field in first) != header:
        return f"{line}: header must be {expected}"
    return None


def _print_rejections(file: Path, rejected: list[RejectedLine], out: Console) -> None:
    """The first rejected lines on stderr, each with where in the document it went wrong,
    then how many of each kind."""
    for line in rejected[:_REJECTIONS_SHOWN]:
        where = rejection_location(line.path)
        at = f" at {where}" if where else ""
        console.print(f"{file}:{line.line}: {line.code}{at}: {line.message}", markup=False)
    if rejected:
        kinds = ", ".join(f"{kind} ({count})" for kind, count in rejection_kinds(rejected))
        lines = "line" if len(rejected) == 1 else "lines"
        out.print(f"{len(rejected)} {lines} rejected: {kinds}", markup=False)


def _processes_for(file: Path) -> int:
    # Starting a process costs about a second: not worth it for a few thousand lines.
    return default_processes() if file.stat().st_size > _SMALL_FILE_BYTES else 1


def _screen(
    job: Job,
    rulesets: list[RuleSet],
    reference: ReferenceData,
    processes: int,
    show_progress: bool,
) -> list[Tally]:
    with Progress(
        TextColumn("backtest"),
        BarColumn(),
        DownloadColumn(),
        TimeElapsedColumn(),
        TimeRemainingColumn(),
        console=console,
        disable=not show_progress,
    ) as bar:
        # Each process reads the whole file and screens its share of it.
        task = bar.add_task("backtest", total=job.file.stat().st_size * max(processes, 1))
        return screen_file(
            job, rulesets, reference, processes, lambda read: bar.update(task, completed=read)
        )


def _print_rules(report: RunReport, comparison: Comparison | None, out: Console) -> None:
    table = Table(title=f"Rule set {report.ruleset_version}", title_justify="left")
    for column in ("rule", "version", "mode", "action", "matches", "share"):
        table.add_column(column, justify="right" if column in ("matches", "share") else "left")
    for outcome in OUTCOMES:
        table.add_column(_short(outcome), justify="right")
    deltas = {d.rule_id: d for d in comparison.rule_deltas} if comparison else {}
    if comparison:
        table.add_column("before", justify="right")
        table.add_column("delta", justify="right")
        table.add_column("changed")
    for stats in report.rules:
        row: list[Text | str] = [
            Text(stats.rule_id),
            str(stats.version or ""),
            stats.mode,
            stats.action,
            str(stats.matches),
            f"{stats.share:.2%}",
            *(str(stats.outcomes[o]) for o in OUTCOMES),
        ]
        if comparison:
            delta = deltas.pop(stats.rule_id, None)
            if delta is None:
                row += ["", "", ""]
            else:
                row += [str(delta.old_matches), f"{delta.delta:+d}", "yes" if delta.changed else ""]
        table.add_row(*row)
    for delta in deltas.values():  # retired by the new set
        empty = [""] * (3 + len(OUTCOMES))
        retired: list[Text | str] = [Text(delta.rule_id), str(delta.old_version or ""), "retired"]
        table.add_row(*retired, *empty, str(delta.old_matches), f"{delta.delta:+d}", "yes")
    out.print(table)


def _print_summary(
    report: RunReport, run: Tally, aeo_records: int, watchlist_entries: int, out: Console
) -> None:
    total = report.screened or 1
    ranked = sorted(report.outcomes.items(), key=lambda item: -item[1])
    summary = ", ".join(f"{o} {n} ({n / total:.1%})" for o, n in ranked if n)
    screened = f"{report.screened} declarations screened"
    out.print(f"{screened}: {summary}" if summary else screened, markup=False)
    out.print(
        f"{report.invalidated} invalidations, {run.hits} hits raised, "
        f"{run.open_referrals} referrals open at the end; "
        f"reference data: {aeo_records} AEO records, {watchlist_entries} watch-list entries",
        markup=False,
    )


def _print_comparison(
    old: RunReport, new: RunReport, comparison: Comparison, show: int, out: Console
) -> None:
    out.print(
        f"against {old.ruleset_version}: {len(comparison.changes)} outcomes change, "
        f"{comparison.matches_changed} declaration versions match other rules",
        markup=False,
    )
    for move, count in comparison.moves.items():
        out.print(f"  {move}: {count}", markup=False)
    if not comparison.changes or show == 0:
        return
    table = Table(
        "declaration",
        "v",
        f"outcome with {old.ruleset_version}",
        f"with {new.ruleset_version}",
        "rules added",
        "rules removed",
        "rules changed",
        title=f"Changed outcomes (first {min(show, len(comparison.changes))})",
        title_justify="left",
    )
    for change in comparison.changes[:show]:
        table.add_row(
            Text(change.declaration_id),
            str(change.version),
            change.old_outcome,
            change.new_outcome,
            Text(", ".join(change.added_rules)),
            Text(", ".join(change.removed_rules)),
            Text(", ".join(change.changed_rules)),
        )
    out.print(table)


def _short(outcome: str) -> str:
    return "COMPLETE" if outcome == "ASSESSMENT_COMPLETE" else outcome
