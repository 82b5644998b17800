"""``screening send FILE.jsonl``: publish declarations exactly as written, one per line."""

from __future__ import annotations

from pathlib import Path

import orjson
import typer
from confluent_kafka import Producer

from pipeline import topics
from pipeline.cli.common import BootstrapOption, console, load_settings
from pipeline.errors import DeliveryFailed, InputFileError
from pipeline.kafka.producer import produce_waiting, producer_config
from pipeline.kafka.security import check_access


def send(
    file: Path = typer.Argument(
        ...,
        exists=True,
        dir_okay=False,
        readable=True,
        help="JSON Lines file: one declaration per line.",
    ),
    bootstrap: BootstrapOption = None,
    topic: str = typer.Option(topics.DECLARATIONS, help="Topic to publish to."),
) -> None:
    """Publish declarations from a file; lines that are not valid declarations are sent as
    they are, and the pipeline dead-letters them with a reason."""
    kafka = load_settings(bootstrap).kafka
    try:
        lines = file.read_bytes().splitlines()
    except OSError as exc:
        raise InputFileError(f"{file}: {exc.strerror}") from exc
    check_access(kafka)
    producer = Producer(producer_config(kafka))
    sent = unkeyed = 0
    for line in lines:
        if not line.strip():
            continue
        key = _declaration_id(line)
        unkeyed += key is None
        produce_waiting(producer, topic, line, key)
        sent += 1
    remaining = producer.flush(60)
    if remaining:
        raise DeliveryFailed(f"{remaining} of {sent} declarations were not acknowledged")
    console.print(f"sent {sent} messages from {file} to {topic} ({unkeyed} without a usable id)")


def _declaration_id(line: bytes) -> bytes | None:
    try:
        document = orjson.loads(line)
    except orjson.JSONDecodeError:
        return None
    value = document.get("declaration_id") if isinstance(document, dict) else None
    return value.encode() if isinstance(value, str) else None
