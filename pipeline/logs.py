"""Logging for the long-running commands (worker, workbench): JSON lines, or text for a terminal.

Our structlog loggers and every standard-library logger (Faust, mode, aiokafka, uvicorn, ours)
go through one handler on the root logger and one processor chain, so every line has the same
fields: ``timestamp`` (ISO 8601, UTC), ``level``, ``logger``, ``event``, the context bound with
``structlog.contextvars``, and ``exception`` (the traceback, in the same line) when there is one.

Never log payloads or party data (names, addresses, identifiers of people): log ids, counts and
reasons. Bound context is for batch, declaration and partition ids only.
"""

from __future__ import annotations

import json
import logging
import logging.config
import sys
from typing import IO, Any, get_args

import orjson
import structlog
from structlog.typing import EventDict, Processor, WrappedLogger

from pipeline.settings import LogFormat

FORMATS: tuple[LogFormat, ...] = get_args(LogFormat)
# The fields a reader looks for first, in this order; the others follow as they came.
_LEAD = ("timestamp", "level", "logger", "event")

# Applied to structlog's events before they reach the handler, and to every standard-library
# record in the handler: the one chain that gives all lines the same fields.
SHARED: list[Processor] = [
    structlog.contextvars.merge_contextvars,
    structlog.stdlib.add_logger_name,
    structlog.stdlib.add_log_level,
    structlog.processors.TimeStamper(fmt="iso", utc=True),
]


def _lead_fields(_logger: WrappedLogger, _method: str, event_dict: EventDict) -> EventDict:
    head = {key: event_dict.pop(key) for key in _LEAD if key in event_dict}
    return {**head, **event_dict}


def _dumps(obj: Any, default: Any = None) -> str:
    try:
        return orjson.dumps(obj, default=default, option=orjson.OPT_NON_STR_KEYS).decode()
    except orjson.JSONEncodeError:
        # orjson refuses what json takes (integers beyond 64 bits): a line rather than none.
        return json.dumps(obj, default=repr, ensure_ascii=False, separators=(",", ":"))


def _renderers(log_format: str, stream: IO[str]) -> list[Processor]:
    if log_format == "json":
        return [
            structlog.processors.format_exc_info,  # the traceback as one string field
            _lead_fields,
            structlog.processors.JSONRenderer(serializer=_dumps),
        ]
    if log_format == "text":
        return [
            structlog.dev.ConsoleRenderer(
                colors=_isatty(stream), exception_formatter=structlog.dev.plain_traceback
            )
        ]
    raise ValueError(f"log format must be one of {', '.join(FORMATS)}, not {log_format!r}")


def _isatty(stream: IO[str]) -> bool:
    try:
        return stream.isatty()
    except (AttributeError, ValueError):
        return False


def logging_config(
    level: str = "info", log_format: str = "json", stream: IO[str] | None = None
) -> dict[str, Any]:
    """A ``logging.config.dictConfig`` configuration: one handler on the root logger.

    Faust's worker applies the configuration it is given when it starts (and clears the root
    logger's handlers before), so the worker passes this to it as well.
    """
    # The stream is resolved now: Faust later replaces sys.stdout and sys.stderr with proxies
    # that log what is written to them, which must not be where the handler writes.
    out = sys.stdout if stream is None else stream
    formatter = {
        "()": structlog.stdlib.ProcessorFormatter,
        "foreign_pre_chain": SHARED,
        "processors": [
            structlog.stdlib.ProcessorFormatter.remove_processors_meta,
            *_renderers(log_format, out),
        ],
    }
    return {
        "version": 1,
        # Modules create their loggers at import, before this runs: keep them.
        "disable_existing_loggers": False,
        "formatters": {"structlog": formatter},
        "handlers": {
            "default": {
                "class": "logging.StreamHandler",
                "formatter": "structlog",
                "stream": out,
            }
        },
        "root": {"level": level.upper(), "handlers": ["default"]},
    }


def configure(level: str = "info", log_format: str = "json", stream: IO[str] | None = None) -> None:
    """Send every log record, standard library's and structlog's, to ``stream`` (default
    standard output) as ``log_format``: ``json`` (one object a line) or ``text``."""
    logging.config.dictConfig(logging_config(level, log_format, stream))
    # Python's warnings (deprecations from libraries) as records, not lines of their own.
    logging.captureWarnings(True)
    structlog.configure(
        processors=[
            structlog.stdlib.filter_by_level,
            *SHARED,
            structlog.stdlib.PositionalArgumentsFormatter(),
            structlog.stdlib.ProcessorFormatter.wrap_for_formatter,
        ],
        logger_factory=structlog.stdlib.LoggerFactory(),
        wrapper_class=structlog.stdlib.BoundLogger,
        cache_logger_on_first_use=True,
    )


def get_logger(name: str) -> structlog.stdlib.BoundLogger:
    """A structlog logger writing through the standard-library logger ``name``."""
    return structlog.stdlib.get_logger(name)
