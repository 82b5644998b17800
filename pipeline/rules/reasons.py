"""Fill a rule's reason with the values that matched: ``{hs_code}`` -> ``930690, 930190``."""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

_PLACEHOLDER = re.compile(r"\{([A-Za-z0-9_.]+)\}")


def reason_fields(template: str) -> list[str]:
    """The field names a reason refers to, in order."""
    return list(dict.fromkeys(_PLACEHOLDER.findall(template)))


def render_reason(template: str, evidence: Mapping[str, Any]) -> str:
    def fill(found: re.Match[str]) -> str:
        name = found.group(1)
        values: list[str] = []
        for path, value in evidence.items():
            if path == name or path.endswith("." + name):
                text = _text(value)
                if text not in values:
                    values.append(text)
        return ", ".join(values) if values else found.group(0)

    return _PLACEHOLDER.sub(fill, template)


def _text(value: Any) -> str:
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, float):
        return f"{value:g}"
    if isinstance(value, list):
        return " > ".join(map(str, value))
    return str(value)
