"""A batch, once started, runs to its end; if it fails, the process stops unacknowledged.

Faust acknowledges a batch's events when the agent leaves them, whatever the reason, and commits
acknowledged offsets on its next commit, on a rebalance and on shutdown. So a batch is finished
even if the agent is cancelled meanwhile; and if it fails, the process exits before anything is
acknowledged, so that a supervisor restarts it and the batch is handled again.
"""

from __future__ import annotations

import asyncio
import logging
import os
from collections.abc import Coroutine
from typing import Any, NoReturn, TypeVar

# EX_SOFTWARE: a supervisor (systemd, Kubernetes) restarts the worker, which handles the
# uncommitted batch again.
EXIT_BATCH_FAILED = 70
log = logging.getLogger(__name__)
T = TypeVar("T")


async def run_batch(work: Coroutine[Any, Any, T], what: str) -> T:
    """Run ``work`` to its end; ``what`` names the batch in the message if it fails."""
    future = asyncio.ensure_future(work)
    try:
        return await asyncio.shield(future)
    except asyncio.CancelledError:
        try:
            await future
        except Exception:
            fail_stop(f"{what} failed while the worker was stopping; it will be handled again")
        raise
    except Exception:
        fail_stop(f"{what} failed; stopping so that it is handled again")


def fail_stop(message: str) -> NoReturn:
    log.critical(message, exc_info=True)
    logging.shutdown()
    os._exit(EXIT_BATCH_FAILED)
