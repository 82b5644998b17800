"""A backtest spread over processes, each screening a share of the declarations.

Screening is CPU-bound Python (decoding, building the rule frames), so one process uses one
core. Shares are cut by declaration id, as Kafka partitions by key, so that each process keeps
the version ledger of its own declarations in file order, as a worker owns its partitions.
Each process reads the rule folders and CSV files itself ("spawn": Polars must not be forked).
"""

from __future__ import annotations

import multiprocessing
import os
import queue
from collections.abc import Callable, Sequence
from concurrent.futures import Future, ProcessPoolExecutor
from dataclasses import dataclass
from pathlib import Path

from pipeline.backtest.reference import load_reference
from pipeline.backtest.screen import Share, Tally, read_batches, screenings
from pipeline.reference.parties import ReferenceData
from pipeline.rules.loader import load_ruleset
from pipeline.rules.model import RuleSet
from pipeline.settings import Settings

__all__ = ["Job", "default_processes", "screen_file"]

Progress = Callable[[int], None]  # bytes of the file read, summed over the processes
_PROGRESS_EVERY_S = 0.2
# A process's channel for progress reports, set when the pool starts it (a queue cannot be
# passed with each task).
_reports: multiprocessing.Queue[tuple[int, int]] | None = None


@dataclass(frozen=True)
class Job:
    file: Path
    rule_dirs: tuple[Path, ...]
    aeo_files: tuple[Path, ...]
    watchlist_files: tuple[Path, ...]
    settings: Settings


def default_processes() -> int:
    return max(1, len(os.sched_getaffinity(0)))


def screen_file(
    job: Job,
    rulesets: Sequence[RuleSet],
    reference: ReferenceData,
    processes: int,
    progress: Progress,
) -> list[Tally]:
    """One Tally per rule set, in the order of ``job.rule_dirs``, for the whole file."""
    if processes <= 1:
        return screen_share(job, rulesets, reference, None, progress)
    context = multiprocessing.get_context("spawn")
    reports: multiprocessing.Queue[tuple[int, int]] = context.Queue()
    with ProcessPoolExecutor(
        processes, mp_context=context, initializer=_set_reports, initargs=(reports,)
    ) as pool:
        futures = [
            pool.submit(_screen_in_process, job, Share(index, processes))
            for index in range(processes)
        ]
        _follow(futures, reports, processes, progress)
        shares = [future.result() for future in futures]
    return [Tally.merged(per_share) for per_share in zip(*shares, strict=True)]


def screen_share(
    job: Job,
    rulesets: Sequence[RuleSet],
    reference: ReferenceData,
    share: Share | None,
    progress: Progress,
) -> list[Tally]:
    runs = screenings(rulesets, job.settings, reference)
    for records, lines, consumed in read_batches(job.file, share):
        if records:
            for run in runs:
                run.screen(records, lines)
        progress(consumed)
    return [run.finish() for run in runs]


def _set_reports(reports: multiprocessing.Queue[tuple[int, int]]) -> None:
    global _reports
    _reports = reports


def _screen_in_process(job: Job, share: Share) -> list[Tally]:
    rulesets = [load_ruleset(folder) for folder in job.rule_dirs]
    reference = load_reference(job.settings.scoring, job.aeo_files, job.watchlist_files).data
    reports = _reports
    assert reports is not None
    return screen_share(
        job, rulesets, reference, share, lambda read: reports.put((share.index, read))
    )


def _follow(
    futures: list[Future[list[Tally]]],
    reports: multiprocessing.Queue[tuple[int, int]],
    processes: int,
    progress: Progress,
) -> None:
    read = [0] * processes
    while not all(future.done() for future in futures):
        try:
            index, consumed = reports.get(timeout=_PROGRESS_EVERY_S)
        except queue.Empty:
            continue
        read[index] = consumed
        progress(sum(read))
