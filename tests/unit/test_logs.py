"""pipeline.logs: one JSON object a line for structlog's loggers and the standard library's,
the same line for Faust's records once its worker has set up logging, text for a terminal."""

from __future__ import annotations

import io
import json
import logging
import warnings
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime, timedelta
from typing import Any

import pytest
import structlog
from mode.utils.logging import setup_logging
from pydantic import ValidationError

from pipeline import logs
from pipeline.cli.main import main
from pipeline.settings import Settings


@contextmanager
def configured(log_format: str = "json", level: str = "info") -> Iterator[io.StringIO]:
    """Logging configured to a string for the block; the root logger as it was afterwards."""
    root = logging.getLogger()
    handlers, root_level = root.handlers[:], root.level
    stream = io.StringIO()
    try:
        logs.configure(level, log_format, stream)
        yield stream
    finally:
        logging.captureWarnings(False)
        structlog.reset_defaults()
        structlog.contextvars.clear_contextvars()
        root.handlers[:] = handlers
        root.setLevel(root_level)


def lines(stream: io.StringIO) -> list[dict[str, Any]]:
    text = stream.getvalue()
    assert text.endswith("\n")
    return [json.loads(line) for line in text.splitlines()]


def assert_fields(line: dict[str, Any], level: str, logger: str, event: str) -> None:
    assert (line["level"], line["logger"], line["event"]) == (level, logger, event)
    assert line["timestamp"].endswith("Z")  # UTC
    assert datetime.fromisoformat(line["timestamp"]).utcoffset() == timedelta(0)
    assert list(line)[:4] == ["timestamp", "level", "logger", "event"]


def test_structlog_and_stdlib_loggers_write_one_json_object_a_line() -> None:
    with configured() as stream:
        logs.get_logger("pipeline.worker.batch").info("batch screened", declarations=12)
        logging.getLogger("faust.transport").warning("rebalance: %d partitions", 4)
        logging.getLogger("pipeline.worker.batch").debug("below the level")
    ours, faust = lines(stream)
    assert_fields(ours, "info", "pipeline.worker.batch", "batch screened")
    assert ours["declarations"] == 12
    assert_fields(faust, "warning", "faust.transport", "rebalance: 4 partitions")


def test_an_exception_is_one_line_with_its_traceback_in_a_field() -> None:
    with configured() as stream:
        try:
            raise ValueError("no such rule")
        except ValueError:
            logging.getLogger("mode.services").exception("agent crashed")
            logs.get_logger("pipeline.worker").exception("batch failed")
    text = stream.getvalue()
    assert text.count("\n") == 2
    for line, logger, event in zip(
        lines(stream),
        ("mode.services", "pipeline.worker"),
        ("agent crashed", "batch failed"),
        strict=True,
    ):
        assert_fields(line, "error", logger, event)
        assert line["exception"].startswith("Traceback (most recent call last):")
        assert "ValueError: no such rule" in line["exception"]


def test_bound_context_appears_on_structlog_and_stdlib_lines() -> None:
    with configured() as stream:
        with structlog.contextvars.bound_contextvars(batch_id="b-7", declaration_id="D-1"):
            logs.get_logger("pipeline.worker").info("screened")
            logging.getLogger("aiokafka.consumer").info("fetched")
        logging.getLogger("aiokafka.consumer").info("after")
    inside_ours, inside_stdlib, after = lines(stream)
    for line in (inside_ours, inside_stdlib):
        assert (line["batch_id"], line["declaration_id"]) == ("b-7", "D-1")
    assert "batch_id" not in after


def test_python_warnings_are_records_too() -> None:
    with configured() as stream, warnings.catch_warnings():
        warnings.simplefilter("always")
        warnings.warn("an old option", DeprecationWarning, stacklevel=1)
    (line,) = lines(stream)
    assert (line["level"], line["logger"]) == ("warning", "py.warnings")
    assert "an old option" in line["event"]


def test_text_format_is_for_a_terminal_not_json() -> None:
    with configured("text") as stream:
        logs.get_logger("pipeline.worker").info("screened", declarations=3)
        logging.getLogger("faust.worker").info("[^Worker]: Ready")
    text = stream.getvalue().splitlines()
    assert len(text) == 2
    for line in text:
        with pytest.raises(json.JSONDecodeError):
            json.loads(line)
    assert all(part in text[0] for part in ("[info", "screened", "declarations=3"))
    assert all(part in text[1] for part in ("[^Worker]: Ready", "[faust.worker]"))
    assert "\x1b[" not in "".join(text)  # no colours when the stream is not a terminal


def test_an_unknown_format_is_refused() -> None:
    with pytest.raises(ValueError, match="json, text"):
        logs.logging_config("info", "xml")


def test_faust_worker_setup_keeps_our_handler() -> None:
    """Faust's worker clears the root logger's handlers and applies the ``logging_config`` it is
    given (mode's setup_logging): given ours, its records still come out as our JSON lines."""
    stream = io.StringIO()
    with configured() as before:
        setup_logging(loglevel="info", logging_config=logs.logging_config("info", "json", stream))
        logging.getLogger("faust.worker").info("[^Worker]: Ready")
        logs.get_logger("pipeline.cli.worker").info("started")
    assert before.getvalue() == ""
    faust, ours = lines(stream)
    assert_fields(faust, "info", "faust.worker", "[^Worker]: Ready")
    assert_fields(ours, "info", "pipeline.cli.worker", "started")


def test_log_format_setting(monkeypatch: pytest.MonkeyPatch) -> None:
    assert Settings().logging.format == "json"
    monkeypatch.setenv("SCREENING_LOG_FORMAT", "text")
    assert Settings().logging.format == "text"
    monkeypatch.setenv("SCREENING_LOG_FORMAT", "xml")
    with pytest.raises(ValidationError, match="log_format"):
        Settings()


def test_worker_refuses_an_unknown_log_format(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["worker", "--log-format", "xml"]) == 2
    assert "--log-format" in capsys.readouterr().err
