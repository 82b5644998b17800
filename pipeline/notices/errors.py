"""Every error of a rejected declaration, as a JSON path and plain words.

The decoder (``pipeline.screening.decode``) stops at the first error: that is all the
dead-letter record needs. A filer correcting a filing wants all of them, so a rejected message
that names a filer is walked once more, field by field, against the same structs: each value is
checked with msgspec itself (so the walk accepts and refuses exactly what decoding does), and
what a refused field must be is said from its type, never as a regular expression:
``$.goods[2].hs_code: must be 6 to 10 digits``. Only rejected messages are walked, and the walk
is bounded (``MAX_ERRORS``, ``MAX_VALUES``).
"""

from __future__ import annotations

import types
import typing
from dataclasses import dataclass
from functools import cache
from typing import Any

import msgspec

from pipeline.contract.models import MAX_GOODS_ITEMS, Declaration, NoticeError

MAX_ERRORS = 20  # a notice lists at most this many; the text says when there were more
MAX_VALUES = 20_000  # values checked at most, so that a huge rejected message stays cheap

# What a value matching each pattern of the contract is, in words. A unit test checks that
# every pattern in the Declaration structs is here.
PATTERN_WORDS: dict[str, str] = {
    r"^[A-Za-z0-9_-]{1,64}$(?!\n)": "must be 1 to 64 letters, digits, '-' or '_'",
    r"^[A-Z]{2}$(?!\n)": "must be a country code of two capital letters (ISO 3166-1), like DE",
    r"^[A-Z]{2}[A-Z2-9]{3}$(?!\n)": "must be a UN/LOCODE of five characters, like DEHAM",
    r"^[0-9]{6,10}$(?!\n)": "must be 6 to 10 digits",
    r"^[A-Z]{3}$(?!\n)": "must be a currency code of three capital letters (ISO 4217), like EUR",
    r"^UN[0-9]{4}$(?!\n)": "must be UN followed by four digits, like UN3480",
}
_REQUIRED_FOR_FILINGS = ("declarant", "consignor", "consignee")


@dataclass(slots=True)
class Found:
    errors: list[NoticeError]
    complete: bool  # False when the walk stopped at MAX_ERRORS or MAX_VALUES


def schema_errors(document: dict[str, Any], key: bytes | None) -> Found:
    """Every error of ``document`` (a JSON object) as a Declaration with record key ``key``."""
    walk = _Walk()
    walk.struct(document, Declaration, "$")
    message_type = document.get("message_type")
    if message_type in ("FILING", "AMENDMENT"):
        for role in _REQUIRED_FOR_FILINGS:
            if document.get(role) is None:
                walk.error(f"$.{role}", f"is required in a {message_type}")
        goods = document.get("goods")
        if goods is None:
            walk.error("$.goods", f"is required in a {message_type}")
        elif isinstance(goods, list) and not 1 <= len(goods) <= MAX_GOODS_ITEMS:
            walk.error("$.goods", f"must have 1 to {MAX_GOODS_ITEMS} items; it has {len(goods)}")
    declaration_id = document.get("declaration_id")
    if key is not None and isinstance(declaration_id, str) and key != declaration_id.encode():
        walk.error(
            "$.declaration_id",
            "must be the same as the message key: every version of a declaration is sent "
            "with its declaration_id as the key",
        )
    return Found(walk.errors, not walk.stopped)


class _Walk:
    def __init__(self) -> None:
        self.errors: list[NoticeError] = []
        self.values = 0
        self.stopped = False

    def error(self, path: str, message: str) -> None:
        if len(self.errors) >= MAX_ERRORS:
            self.stopped = True
            return
        self.errors.append(NoticeError(path, message))

    def _full(self) -> bool:
        if len(self.errors) >= MAX_ERRORS or self.values >= MAX_VALUES:
            self.stopped = True
        return self.stopped

    def value(self, value: Any, annotation: Any, path: str) -> None:
        if self._full():
            return
        self.values += 1
        inner, nullable = _non_null(annotation)
        if value is None and nullable:
            return
        base, meta = _unannotated(inner)
        if isinstance(base, type) and issubclass(base, msgspec.Struct):
            if isinstance(value, dict):
                self.struct(value, base, path)
            else:
                self.error(path, "must be an object, in braces {...}")
        elif typing.get_origin(base) is list:
            self.array(value, base, meta, path)
        else:
            try:
                msgspec.convert(value, inner)
            except msgspec.ValidationError:
                self.error(path, describe(inner))

    def struct(self, value: dict[str, Any], struct: type[msgspec.Struct], path: str) -> None:
        for field in msgspec.structs.fields(struct):
            where = f"{path}.{field.encode_name}"
            if field.encode_name in value:
                self.value(value[field.encode_name], field.type, where)
            elif field.required:
                self.error(where, "is required")

    def array(self, value: Any, annotation: Any, meta: list[msgspec.Meta], path: str) -> None:
        if not isinstance(value, list):
            self.error(path, "must be a list, in brackets [...]")
            return
        longest = min((m.max_length for m in meta if m.max_length is not None), default=None)
        if longest is not None and len(value) > longest:
            self.error(path, f"must have at most {longest} items; it has {len(value)}")
            return
        (item,) = typing.get_args(annotation)
        for index, element in enumerate(value):
            self.value(element, item, f"{path}[{index}]")
            if self.stopped:
                return


def _non_null(annotation: Any) -> tuple[Any, bool]:
    """``X | None`` gives ``(X, True)``; the contract's unions are all of that form."""
    if typing.get_origin(annotation) in (typing.Union, types.UnionType):
        options = [a for a in typing.get_args(annotation) if a is not type(None)]
        nullable = len(options) < len(typing.get_args(annotation))
        if len(options) == 1:
            return options[0], nullable
    return annotation, False


def _unannotated(annotation: Any) -> tuple[Any, list[msgspec.Meta]]:
    if typing.get_origin(annotation) is typing.Annotated:
        base, *extras = typing.get_args(annotation)
        return base, [m for m in extras if isinstance(m, msgspec.Meta)]
    return annotation, []


@cache
def describe(annotation: Any) -> str:
    """What a value of ``annotation`` must be, in plain words."""
    info = msgspec.inspect.type_info(annotation)
    while isinstance(info, msgspec.inspect.Metadata):
        info = info.type
    return _words(info)


def _words(info: msgspec.inspect.Type) -> str:
    if isinstance(info, msgspec.inspect.StrType):
        if info.pattern is not None:
            return PATTERN_WORDS.get(info.pattern, "is not in the form the contract gives")
        if info.max_length is not None:
            return f"must be text of at most {info.max_length:,} characters"
        return "must be text, in quotes"
    if isinstance(info, msgspec.inspect.IntType):
        return "must be a whole number" + _range(info.ge, info.le)
    if isinstance(info, msgspec.inspect.FloatType):
        return "must be a number" + _range(info.ge, info.le)
    if isinstance(info, msgspec.inspect.BoolType):
        return "must be true or false"
    if isinstance(info, msgspec.inspect.LiteralType):
        values = [str(v) for v in info.values]
        return f"must be one of {', '.join(values[:-1])} or {values[-1]}"
    if isinstance(info, msgspec.inspect.DateTimeType):
        return "must be a date and time with its time zone, like 2026-11-27T15:04:05Z"
    if isinstance(info, msgspec.inspect.DateType):
        return "must be a date, like 2026-11-27"
    return "is not in the form the contract gives"


def _range(ge: float | None, le: float | None) -> str:
    if ge is not None and le is not None:
        return f" from {_number(ge)} to {_number(le)}"
    if ge is not None:
        return f" of at least {_number(ge)}"
    if le is not None:
        return f" of at most {_number(le)}"
    return ""


def _number(value: float) -> str:
    return f"{int(value):,}" if float(value).is_integer() else f"{value:,}"
