"""Decode and validate one raw declaration message.

Returns either a ``Declaration`` or a ``DecodeFailure`` with the contract's rejection code; it
never raises on input. msgspec validates types, patterns and bounds while it parses; the
cross-field rules of the contract are checked after.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

import msgspec
import orjson

from pipeline.contract.models import MAX_GOODS_ITEMS, Declaration, RejectionCode

__all__ = ["DecodeFailure", "decode_declaration"]

_DECODER = msgspec.json.Decoder(Declaration)
_PATH_IN_MESSAGE = re.compile(r" - at `(?P<path>[^`]*)`$")
_REQUIRED_FOR_FILINGS = ("declarant", "consignor", "consignee")


@dataclass(frozen=True, slots=True)
class DecodeFailure:
    code: RejectionCode
    message: str
    path: str | None = None


def decode_declaration(raw: bytes | None, max_bytes: int) -> Declaration | DecodeFailure:
    if raw is None:
        return DecodeFailure("NOT_AN_OBJECT", "the message has no value (null)", None)
    if len(raw) > max_bytes:
        return DecodeFailure(
            "TOO_LARGE", f"the message is {len(raw)} bytes; the limit is {max_bytes}", None
        )
    if not _is_utf8(raw):
        # Checked up front: msgspec skips unknown fields without looking at their bytes.
        return DecodeFailure("ENCODING", "the message is not valid UTF-8", None)
    try:
        declaration = _DECODER.decode(raw)
    except msgspec.ValidationError as exc:
        return _classify(raw, exc)
    except (msgspec.DecodeError, UnicodeDecodeError, RecursionError) as exc:
        return _classify(raw, exc)
    return _check_cross_field(declaration)


def _classify(raw: bytes, exc: Exception) -> DecodeFailure:
    """Tell malformed bytes from a well-formed document of the wrong shape.

    msgspec validates while it parses, so a truncated document may first fail on a field's
    type. Re-parsing without a schema (only for rejected messages) gives the right code.
    """
    if not raw.strip():
        return DecodeFailure("INVALID_JSON", "the message is empty", None)
    try:
        document = orjson.loads(raw)
    except orjson.JSONDecodeError as parse_error:
        if "depth" in str(parse_error):
            return _too_deep()
        return DecodeFailure("INVALID_JSON", f"not valid JSON: {parse_error}", None)
    if isinstance(exc, RecursionError) or "recursion" in str(exc):
        # msgspec's limit follows the interpreter's stack, orjson's is fixed at 1024 levels:
        # both mean the same thing and get the same code.
        return _too_deep()
    if not isinstance(document, dict):
        kind = type(document).__name__ if document is not None else "null"
        return DecodeFailure("NOT_AN_OBJECT", f"expected a JSON object, got {kind}", "$")
    text = str(exc)
    found = _PATH_IN_MESSAGE.search(text)
    if found:
        return DecodeFailure("SCHEMA", text[: found.start()], found.group("path"))
    return DecodeFailure("SCHEMA", text, "$")


def _too_deep() -> DecodeFailure:
    return DecodeFailure("INVALID_JSON", "the document is nested too deeply to be read", None)


def _is_utf8(raw: bytes) -> bool:
    if raw.isascii():
        return True
    try:
        raw.decode("utf-8")
    except UnicodeDecodeError:
        return False
    return True


def _check_cross_field(declaration: Declaration) -> Declaration | DecodeFailure:
    if declaration.message_type == "INVALIDATION":
        return declaration
    for field_name in _REQUIRED_FOR_FILINGS:
        if getattr(declaration, field_name) is None:
            return DecodeFailure(
                "SCHEMA",
                f"Object missing required field `{field_name}` for {declaration.message_type}",
                "$",
            )
    goods = declaration.goods
    if goods is None:
        return DecodeFailure(
            "SCHEMA", f"Object missing required field `goods` for {declaration.message_type}", "$"
        )
    if not 1 <= len(goods) <= MAX_GOODS_ITEMS:
        return DecodeFailure(
            "SCHEMA",
            f"goods must have 1 to {MAX_GOODS_ITEMS} items, got {len(goods)}",
            "$.goods",
        )
    return declaration
