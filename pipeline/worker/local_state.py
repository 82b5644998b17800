"""The worker's tables on disk are a copy of their changelog topics: this keeps them so.

Each table partition's RocksDB database remembers the changelog offset it holds, and on start
Faust reads the changelog only from there. Those offsets mean something only for the topic they
came from. If the changelog is not that topic any more (the cluster was reformatted, the topic
deleted and created again, or the folder was used by a worker of another app id), Faust either
refuses to start (the offset is past the topic's end) or skips the new topic's first records.

So the folder notes the id Kafka gave each changelog topic. A table whose changelog id is not
the one noted is deleted from the folder before the worker starts, and rebuilt from its
changelog as on a first start.
"""

from __future__ import annotations

import json
import logging
import shutil
from collections.abc import Mapping
from pathlib import Path

log = logging.getLogger(__name__)

STAMP = "changelog-topics.json"


def keep_tables_of(
    tabledir: Path, changelogs: Mapping[str, str], ids: Mapping[str, str]
) -> list[str]:
    """``changelogs`` maps each table's name to its changelog topic, ``ids`` each changelog
    topic to its id in Kafka. Deletes the folder's copy of every table whose changelog is not
    the noted one; returns their names."""
    stamp_path = tabledir / STAMP
    noted: dict[str, str] = {}
    if stamp_path.exists():
        try:
            noted = json.loads(stamp_path.read_text())
        except (OSError, ValueError):
            noted = {}
    discarded: list[str] = []
    for table, topic in sorted(changelogs.items()):
        if noted.get(topic) == ids[topic]:
            continue
        held = list(tabledir.glob(f"{table}-*.db"))
        if held:
            log.warning(
                "table %s: the copy in %s was built from another %s topic than Kafka has now; "
                "deleted, it is rebuilt from the changelog",
                table,
                tabledir,
                topic,
            )
            for path in held:
                shutil.rmtree(path)
            discarded.append(table)
    tabledir.mkdir(parents=True, exist_ok=True)
    stamp_path.write_text(json.dumps({topic: ids[topic] for topic in changelogs.values()}))
    return discarded
