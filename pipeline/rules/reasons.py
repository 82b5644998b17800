"""Fill a rule's reason with the values that matched: ``{hs_code}`` -> ``930690, 930190``.

A field named in a reason is looked up where the evidence keeps it: a declaration field under
its own path (``totals.packages``), an item's field under the item's path (``goods[2].packages``,
``consignee.address.city``). A value the filing does not give reads as plain words, so that an
officer never sees a placeholder.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Mapping
from typing import Any

from pipeline.rules.fields import FIELDS, PARTY_FIELD_PATHS, Scope

_PLACEHOLDER = re.compile(r"\{([A-Za-z0-9_.]+)\}")
NOT_GIVEN = "not given"

_DECLARATION_FIELDS = frozenset(FIELDS[Scope.DECLARATION])
# Each item field's path below its item (a party's city is under ``address``), per scope.
_ITEM_PATHS: dict[Scope, dict[str, str]] = {
    scope: {
        name: PARTY_FIELD_PATHS.get(name, name) if scope is Scope.PARTY else name
        for name in FIELDS[scope]
    }
    for scope in (Scope.GOODS, Scope.PARTY, Scope.CONTAINER)
}
_SCOPE_OF = {name: scope for scope, paths in _ITEM_PATHS.items() for name in paths}


def reason_fields(template: str) -> list[str]:
    """The field names a reason refers to, in order."""
    return list(dict.fromkeys(_PLACEHOLDER.findall(template)))


def stray_braces(template: str) -> bool:
    """Whether a brace is left once the placeholders are taken out (``{ seq }``, ``{seq``)."""
    rest = _PLACEHOLDER.sub("", template)
    return "{" in rest or "}" in rest


def render_reason(template: str, evidence: Mapping[str, Any]) -> str:
    def fill(found: re.Match[str]) -> str:
        values = [NOT_GIVEN if v is None else _text(v) for v in _values(found.group(1), evidence)]
        return ", ".join(dict.fromkeys(values)) if values else NOT_GIVEN

    return _PLACEHOLDER.sub(fill, template)


def _values(name: str, evidence: Mapping[str, Any]) -> list[Any]:
    """The field's value in each matched item (None where the item lacks it), or the
    declaration's value; empty when the evidence holds nothing for it."""
    if name in _DECLARATION_FIELDS:
        # Exact path only: `totals.packages` is not a goods item's `packages`.
        return [evidence[name]] if name in evidence else []
    scope = _SCOPE_OF.get(name)
    if scope is None:
        return [v for path, v in evidence.items() if path == name or path.endswith("." + name)]
    suffix = "." + _ITEM_PATHS[scope][name]
    return [evidence.get(prefix + suffix) for prefix in _item_prefixes(scope, evidence)]


def _item_prefixes(scope: Scope, evidence: Mapping[str, Any]) -> list[str]:
    """The paths of the items of ``scope`` that the evidence speaks of, in order."""
    prefixes: dict[str, None] = {}
    for path in evidence:
        prefix = _item_prefix(scope, path)
        if prefix is not None:
            prefixes[prefix] = None
    return list(prefixes)


# Remembered: the same paths (`consignee.address.city`, `goods[0].seq`) recur in nearly every
# reason, and finding one tries every field of the scope.
@functools.lru_cache(maxsize=20_000)
def _item_prefix(scope: Scope, path: str) -> str | None:
    """The item path ``path`` belongs to, if it is a field of an item of ``scope``."""
    if path in _DECLARATION_FIELDS:
        return None
    for field_path in _ITEM_PATHS[scope].values():
        if path.endswith("." + field_path):
            return path[: -len(field_path) - 1]
    return None


def _text(value: Any) -> str:
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, float):
        return f"{value:g}"
    if isinstance(value, list):
        return " > ".join(map(str, value)) if value else NOT_GIVEN
    return str(value)
