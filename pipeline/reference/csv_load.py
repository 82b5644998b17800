"""The loaders' CSV formats, parsed into contract records row by row.

Each row gives either a record or an error with its line number and a reason, so that a loader
can report every bad row and still publish the good ones. The header must be exactly the
contract's. A file that cannot be opened or is not UTF-8 raises ``InputFileError``.
"""

from __future__ import annotations

import csv
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Generic, TypeVar, get_args

import msgspec
import pycountry

from pipeline.contract.models import AeoRecord, Referral, WatchlistEntry, WatchlistIdScheme
from pipeline.errors import InputFileError

__all__ = [
    "AEO_HEADER",
    "WATCHLIST_HEADER",
    "Row",
    "RowError",
    "RowResult",
    "read_aeo_csv",
    "read_watchlist_csv",
]

AEO_HEADER = (
    "operator_id",
    "scheme",
    "name",
    "country",
    "aeo_type",
    "status",
    "valid_from",
    "valid_to",
    "mra_partner",
)
WATCHLIST_HEADER = ("entry_id", "name", "aliases", "country", "ids", "list", "action", "reason")

_AEO_SCHEMES = ("EORI", "AEO", "CTPAT", "TIN")
_AEO_STATUSES = ("ACTIVE", "SUSPENDED", "REVOKED")
_HOME_TYPES = ("AEOC", "AEOS", "AEOF")
_ID_SCHEMES: tuple[str, ...] = get_args(WatchlistIdScheme)
_ACTIONS: tuple[str, ...] = get_args(Referral)
# ISO 3166-1, plus the user-assigned codes customs use: XI (Northern Ireland, in EORI and AEO
# numbers) and XK (Kosovo).
_COUNTRIES = frozenset(c.alpha_2 for c in pycountry.countries) | {"XI", "XK"}
_ISO_DATE = re.compile(r"\d{4}-\d{2}-\d{2}")

R = TypeVar("R")


@dataclass(frozen=True, slots=True)
class Row(Generic[R]):
    line: int
    record: R


@dataclass(frozen=True, slots=True)
class RowError:
    line: int
    reason: str


# What each row of a file gives: its record, or why it has none.
RowResult = Row[R] | RowError


class _BadRow(ValueError):
    """A field is wrong; the message is the reason given for the row."""


def read_aeo_csv(path: Path | str) -> Iterator[RowResult[AeoRecord]]:
    """AEO records, one per data row, in file order."""
    return _read(Path(path), AEO_HEADER, _aeo_record)


def read_watchlist_csv(path: Path | str) -> Iterator[RowResult[WatchlistEntry]]:
    """Watch-list entries, one per data row, in file order."""
    return _read(Path(path), WATCHLIST_HEADER, _watchlist_entry)


def _read(
    path: Path, header: tuple[str, ...], parse: Callable[[dict[str, str]], R]
) -> Iterator[RowResult[R]]:
    try:
        handle = path.open(encoding="utf-8-sig", newline="")
    except OSError as exc:
        raise InputFileError(f"{path}: {exc.strerror}") from exc
    with handle:
        reader = csv.reader(handle, strict=True)
        seen_header = False
        next_line = 1
        while True:
            line = next_line
            try:
                fields = next(reader)
            except StopIteration:
                break
            except csv.Error as exc:
                next_line = reader.line_num + 1
                yield RowError(line, f"not valid CSV: {exc}")
                continue
            except UnicodeDecodeError as exc:
                raise InputFileError(f"{path}:{_bad_utf8_line(path)}: not UTF-8 text") from exc
            next_line = reader.line_num + 1
            if not fields:
                continue  # a blank line
            if not seen_header:
                if tuple(f.strip() for f in fields) != header:
                    yield RowError(line, f"header must be {','.join(header)}")
                    return
                seen_header = True
                continue
            if len(fields) != len(header):
                yield RowError(line, f"{len(fields)} columns, expected {len(header)}")
                continue
            try:
                record = parse(dict(zip(header, (f.strip() for f in fields), strict=True)))
            except _BadRow as exc:
                yield RowError(line, str(exc))
                continue
            yield Row(line, record)
        if not seen_header:
            yield RowError(1, f"no header: expected {','.join(header)}")


def _bad_utf8_line(path: Path) -> int:
    # The text layer decodes ahead of the CSV reader, so its position says nothing: find the
    # first bad byte in the raw file instead.
    raw = path.read_bytes()
    try:
        raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        return raw.count(b"\n", 0, exc.start) + 1
    return 1


def _aeo_record(row: dict[str, str]) -> AeoRecord:
    partner = _country(row, "mra_partner", required=False)
    aeo_type = _required(row, "aeo_type").upper()
    if partner is None and aeo_type not in _HOME_TYPES:
        raise _BadRow(
            f"aeo_type {aeo_type!r} is not AEOC, AEOS or AEOF (a partner programme's record "
            "names its mra_partner)"
        )
    valid_from, valid_to = _date(row, "valid_from"), _date(row, "valid_to")
    if valid_from and valid_to and valid_to < valid_from:
        raise _BadRow(f"valid_to {valid_to} is before valid_from {valid_from}")
    return _convert(
        {
            "operator_id": _required(row, "operator_id"),
            "scheme": _one_of(row, "scheme", _AEO_SCHEMES),
            "name": _required(row, "name"),
            "country": _country(row, "country", required=True),
            "aeo_type": aeo_type,
            "status": _one_of(row, "status", _AEO_STATUSES),
            "valid_from": valid_from,
            "valid_to": valid_to,
            "mra_partner": partner,
        },
        AeoRecord,
    )


def _watchlist_entry(row: dict[str, str]) -> WatchlistEntry:
    return _convert(
        {
            "entry_id": _required(row, "entry_id"),
            "name": _required(row, "name"),
            "aliases": [a.strip() for a in row["aliases"].split("|") if a.strip()],
            "country": _country(row, "country", required=False),
            "ids": _ids(row["ids"]),
            "list": _required(row, "list"),
            "action": _one_of(row, "action", _ACTIONS),
            "reason": row["reason"],
        },
        WatchlistEntry,
    )


def _required(row: dict[str, str], field: str) -> str:
    value = row[field]
    if not value:
        raise _BadRow(f"{field} is empty")
    return value


def _one_of(row: dict[str, str], field: str, allowed: tuple[str, ...]) -> str:
    value = _required(row, field).upper()
    if value not in allowed:
        raise _BadRow(f"{field} {row[field]!r} is not one of {', '.join(allowed)}")
    return value


def _country(row: dict[str, str], field: str, *, required: bool) -> str | None:
    value = row[field].upper()
    if not value:
        if required:
            raise _BadRow(f"{field} is empty")
        return None
    if value not in _COUNTRIES:
        raise _BadRow(f"{field} {row[field]!r} is not an ISO 3166 alpha-2 country code")
    return value


def _date(row: dict[str, str], field: str) -> date | None:
    value = row[field]
    if not value:
        return None
    try:
        if not _ISO_DATE.fullmatch(value):
            raise ValueError(value)
        return date.fromisoformat(value)
    except ValueError:
        raise _BadRow(f"{field} {value!r} is not a date (YYYY-MM-DD)") from None


def _ids(text: str) -> list[dict[str, str]]:
    ids: list[dict[str, str]] = []
    for item in filter(None, (part.strip() for part in text.split("|"))):
        scheme, colon, value = item.partition(":")
        scheme, value = scheme.strip().upper(), value.strip()
        if not colon or not value or scheme not in _ID_SCHEMES:
            raise _BadRow(
                f"ids item {item!r} is not SCHEME:VALUE with a scheme of {', '.join(_ID_SCHEMES)}"
            )
        ids.append({"scheme": scheme, "value": value})
    return ids


_T = TypeVar("_T")


def _convert(fields: dict[str, object], kind: type[_T]) -> _T:
    # The struct's own constraints (text lengths, patterns) are the last word.
    try:
        return msgspec.convert(fields, kind)
    except msgspec.ValidationError as exc:
        raise _BadRow(str(exc)) from None
