"""``screening generate``: publish synthetic declarations, optionally at a fixed rate."""

from __future__ import annotations

import csv
import tempfile
import time
from pathlib import Path
from typing import TYPE_CHECKING

import msgspec
import typer
from confluent_kafka import Producer
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from pipeline import topics
from pipeline.backtest.export import OutputFileError
from pipeline.cli.common import (
    STDOUT,
    BootstrapOption,
    console,
    load_settings,
    open_output,
    output_path,
)
from pipeline.errors import DeliveryFailed
from pipeline.kafka.producer import produce_waiting, producer_config
from pipeline.kafka.security import check_access
from pipeline.reference.csv_load import AEO_HEADER, Row, read_aeo_csv

if TYPE_CHECKING:
    from pipeline.samples.generator import DeclarationGenerator


def generate(
    count: int = typer.Option(..., "--count", "-n", min=1, help="How many messages to publish."),
    rate: float | None = typer.Option(
        None,
        "--rate",
        "-r",
        min=0.001,
        help="Messages per second (open loop); default: as fast as possible.",
    ),
    risky_share: float = typer.Option(0.05, min=0.0, max=1.0, help="Share with risk indicators."),
    malformed_share: float = typer.Option(
        0.0, min=0.0, max=1.0, help="Share of malformed messages (dead-lettered by the worker)."
    ),
    seed: int | None = typer.Option(None, help="Seed for a reproducible stream."),
    bootstrap: BootstrapOption = None,
    topic: str = typer.Option(topics.DECLARATIONS, help="Topic to publish to."),
    progress: bool = typer.Option(True, "--progress/--no-progress", help="Show a progress bar."),
    publish_aeo: bool = typer.Option(
        False,
        "--publish-aeo",
        help="First publish the AEO records of the generated companies to the AEO registry.",
    ),
    out: Path | None = typer.Option(
        None,
        "--out",
        metavar="FILE",
        callback=output_path,
        help="Write the messages to FILE, one a line (- for standard output), instead of "
        "publishing them; `screening send FILE` publishes them later.",
    ),
) -> None:
    """Publish realistic synthetic declarations: several goods items, real HS codes and
    UN/LOCODEs, ISO 6346 container numbers, amendments, invalidations, risky and malformed."""
    from pipeline.samples.generator import DeclarationGenerator, GeneratorConfig

    generator = DeclarationGenerator(
        GeneratorConfig(seed=seed, risky_share=risky_share, malformed_share=malformed_share)
    )
    if out is not None:
        _write_messages(out, generator, count, rate=rate, publish_aeo=publish_aeo)
        return
    kafka = load_settings(bootstrap).kafka
    check_access(kafka)
    producer = Producer(producer_config(kafka))
    if publish_aeo:
        published = publish_aeo_rows(producer, generator.aeo_records())
        console.print(f"published {published} AEO records of the generated companies")
    started = time.monotonic()
    with Progress(
        TextColumn("generate"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        console=console,
        disable=not progress,
    ) as bar:
        task = bar.add_task("generate", total=count)
        for index, message in enumerate(generator.messages(count)):
            if rate is not None:
                # Open loop: each message has its own due time, so a slow consumer of the
                # topic can never slow the sender down.
                delay = started + index / rate - time.monotonic()
                if delay > 0:
                    producer.poll(0)
                    time.sleep(delay)
            produce_waiting(producer, topic, message.value, message.key or None)
            if rate is not None or index % 1000 == 0:
                bar.update(task, completed=index)
                producer.poll(0)
        bar.update(task, completed=count)
    remaining = producer.flush(60)
    if remaining:
        raise DeliveryFailed(f"{remaining} of {count} messages were not acknowledged")
    elapsed = time.monotonic() - started
    console.print(f"published {count} messages to {topic} in {elapsed:.1f} s")


def _write_messages(
    out: Path,
    generator: DeclarationGenerator,
    count: int,
    *,
    rate: float | None,
    publish_aeo: bool,
) -> None:
    """The messages as `screening send` reads them: each value on its own line."""
    # Both are about publishing: with --out nothing is published.
    if rate is not None:
        raise typer.BadParameter("not with --out: nothing is published", param_hint="--rate")
    if publish_aeo:
        raise typer.BadParameter("not with --out: nothing is published", param_hint="--publish-aeo")
    try:
        with open_output(out) as handle:
            for message in generator.messages(count):
                handle.write(message.value + b"\n")
    except OSError as exc:
        raise OutputFileError(f"{out}: {exc.strerror}") from exc
    where = "standard output" if out == STDOUT else str(out)
    console.print(f"wrote {count} messages to {where}", markup=False, highlight=False)


def publish_aeo_rows(producer: Producer, rows: list[dict[str, str | None]]) -> int:
    """Publish AEO registry rows (the AEO loader's CSV fields, as ``aeo_records()`` of the
    generator gives them) through the same CSV reader as `screening aeo load`; returns how many
    records were published. Also used by the benchmark for its input's registry."""
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "aeo.csv"
        with path.open("w", newline="", encoding="utf-8") as handle:
            writer = csv.DictWriter(handle, fieldnames=AEO_HEADER)
            writer.writeheader()
            writer.writerows(rows)
        records = [row.record for row in read_aeo_csv(path) if isinstance(row, Row)]
    for record in records:
        produce_waiting(
            producer, topics.AEO_REGISTRY, msgspec.json.encode(record), record.operator_id.encode()
        )
    if producer.flush(60):
        raise DeliveryFailed("the AEO records were not all acknowledged")
    return len(records)
