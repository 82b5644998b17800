"""Declarations as Polars frames: one row per declaration, and one per goods item, party and
container, each tied to its declaration by ``_row``. Facts are computed here, once per batch.

Text is kept as filed (for evidence and regular expressions) and normalised beside it, in a
column named ``FIELD#n``, by the same function the rule values went through.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import polars as pl
from stdnum import iso6346

from pipeline.contract.models import Declaration, Party
from pipeline.rules.conditions import normalise_text
from pipeline.rules.fields import (
    FIELDS,
    INTEGER_FIELDS,
    PARTY_ROLES,
    REFERENCE_PARTY_FACTS,
    Kind,
    Scope,
)

ROW = "_row"
ITEM = "_item"
PATH = "_path"  # a party's or item's path prefix in the declaration, for evidence
SUBMITTED_DATE = "_submitted_date"
NORMALISED = "#n"

_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_EPOCH_DATE = _EPOCH.date()
_MICROSECOND = timedelta(microseconds=1)
_LIST_SEPARATOR = "\x1f"  # the ASCII unit separator

# Batches are prepared one at a time, in one thread: the memo needs no lock.
NORMALISED_MEMO_LIMIT = 200_000
_NORMALISED: dict[str, str] = {}

# Reference facts for one party: the keys of REFERENCE_PARTY_FACTS.
PartyFacts = Callable[[Declaration, str, Party], Mapping[str, Any]]


@dataclass(frozen=True, slots=True)
class Frames:
    declarations: pl.DataFrame
    goods: pl.DataFrame
    parties: pl.DataFrame
    containers: pl.DataFrame

    def of(self, scope: Scope) -> pl.DataFrame:
        return {
            Scope.DECLARATION: self.declarations,
            Scope.GOODS: self.goods,
            Scope.PARTY: self.parties,
            Scope.CONTAINER: self.containers,
        }[scope]


def no_reference_facts(declaration: Declaration, role: str, party: Party) -> Mapping[str, Any]:
    """Facts when no reference data is loaded: nothing verified, nothing matched."""
    claimed = any(i.scheme == "AEO" for i in party.ids)
    return {"aeo_status": "UNVERIFIED" if claimed else "NONE", "aeo_security": False}


def build_frames(
    declarations: Sequence[Declaration],
    party_facts: PartyFacts = no_reference_facts,
    fields: Mapping[Scope, frozenset[str]] | None = None,
) -> Frames:
    """Frames for a batch; with ``fields``, only those columns (what a rule set reads)."""
    rows: list[dict[str, Any]] = []
    goods: list[dict[str, Any]] = []
    parties: list[dict[str, Any]] = []
    containers: list[dict[str, Any]] = []
    for row, declaration in enumerate(declarations):
        rows.append(_declaration_row(row, declaration))
        goods.extend(_goods_rows(row, declaration))
        parties.extend(_party_rows(row, declaration, party_facts))
        containers.extend(_container_rows(row, declaration))

    def wanted(scope: Scope) -> frozenset[str]:
        return fields[scope] if fields is not None else frozenset(FIELDS[scope])

    return Frames(
        _frame(rows, Scope.DECLARATION, {SUBMITTED_DATE: pl.Date}, wanted(Scope.DECLARATION)),
        _frame(goods, Scope.GOODS, {ITEM: pl.Int64}, wanted(Scope.GOODS)),
        _frame(parties, Scope.PARTY, {ITEM: pl.Int64, PATH: pl.String}, wanted(Scope.PARTY)),
        _frame(containers, Scope.CONTAINER, {ITEM: pl.Int64}, wanted(Scope.CONTAINER)),
    )


def _frame(
    records: list[dict[str, Any]],
    scope: Scope,
    extra: Mapping[str, pl.DataType | type[pl.DataType]],
    wanted: frozenset[str],
) -> pl.DataFrame:
    """Columns of the wanted fields; text also normalised, beside it, as rules compare it."""
    columns: list[pl.Series] = []
    for name, dtype in {ROW: pl.Int64, **extra}.items():
        columns.append(_series(name, [record.get(name) for record in records], dtype))
    for name, field in FIELDS[scope].items():
        if name not in wanted:
            continue
        values = [record.get(name) for record in records]
        if field.kind is Kind.TEXT:
            columns.append(_series(name, values, pl.String))
            normalised = [_normalised(v) for v in values]
            columns.append(_series(name + NORMALISED, normalised, pl.String))
        elif field.kind is Kind.NUMBER:
            dtype = pl.Int64 if name in INTEGER_FIELDS else pl.Float64
            columns.append(_series(name, values, dtype))
        elif field.kind is Kind.BOOL:
            columns.append(_series(name, values, pl.Boolean))
        elif field.kind is Kind.TEXT_LIST:
            columns.append(_text_lists(name, values))
            lists = [[_normalised(c) or "" for c in v] if v is not None else None for v in values]
            columns.append(_text_lists(name + NORMALISED, lists))
        elif field.kind is Kind.TIME:
            columns.append(_times(name, values))
    return pl.DataFrame(columns)


def _series(name: str, values: list[Any], dtype: pl.DataType | type[pl.DataType]) -> pl.Series:
    if dtype == pl.Date:
        days = [(v - _EPOCH_DATE).days if v is not None else None for v in values]
        return pl.Series(name, days, dtype=pl.Int32).cast(pl.Date)
    return pl.Series(name, values, dtype=dtype)


def _times(name: str, values: list[datetime | None]) -> pl.Series:
    # Polars converts datetime objects one by one in Python; integers it takes in bulk.
    micros = [(v - _EPOCH) // _MICROSECOND if v is not None else None for v in values]
    return pl.Series(name, micros, dtype=pl.Int64).cast(pl.Datetime("us", "UTC"))


def _text_lists(name: str, values: list[list[str] | None]) -> pl.Series:
    # Polars builds a list column from Python lists one inner Series at a time; joining each
    # list into one string and splitting it again in Polars is twenty times faster.
    if all(v is None or (v and not any(_LIST_SEPARATOR in c for c in v)) for v in values):
        joined = [_LIST_SEPARATOR.join(v) if v is not None else None for v in values]
        return pl.Series(name, joined, dtype=pl.String).str.split(_LIST_SEPARATOR)
    return pl.Series(name, values, dtype=pl.List(pl.String))


def _normalised(value: str | None) -> str | None:
    """normalise_text, remembered: names, places and descriptions recur from batch to batch."""
    if value is None:
        return None
    found = _NORMALISED.get(value)
    if found is None:
        if len(_NORMALISED) >= NORMALISED_MEMO_LIMIT:
            _NORMALISED.clear()
        found = _NORMALISED[value] = normalise_text(value)
    return found


def _declaration_row(row: int, d: Declaration) -> dict[str, Any]:
    t, doc, totals = d.transport, d.transport_document, d.totals
    record: dict[str, Any] = {
        ROW: row,
        # Validity windows are dates in UTC, whatever offset the filer wrote.
        SUBMITTED_DATE: d.submitted_at.astimezone(UTC).date(),
        "version": d.version,
        "submitted_at": d.submitted_at,
        "totals.packages": totals.packages if totals else None,
        "totals.gross_mass_kg": totals.gross_mass_kg if totals else None,
        "container_count": len(d.equipment),
    }
    record["declaration_id"] = d.declaration_id
    record["message_type"] = d.message_type
    record["transport.mode"] = t.mode if t else None
    record["transport.conveyance_ref"] = t.conveyance_ref if t else None
    record["transport.loading_location"] = t.loading_location if t else None
    record["transport.discharge_location"] = t.discharge_location if t else None
    record["loading_country"] = t.loading_location[:2] if t and t.loading_location else None
    record["discharge_country"] = t.discharge_location[:2] if t and t.discharge_location else None
    record["transport_document.type"] = doc.type if doc else None
    record["transport_document.number"] = doc.number if doc else None
    routing = list(t.routing_countries) if t else []
    record["transport.routing_countries"] = routing or None
    loading = t.estimated_loading_at if t else None
    record["transport.estimated_loading_at"] = loading
    record["transport.estimated_arrival_at"] = t.estimated_arrival_at if t else None
    record["hours_before_loading"] = _hours(d.submitted_at, loading)
    items = d.goods or []
    record["goods_count"] = len(items)
    masses = [g.gross_mass_kg for g in items if g.gross_mass_kg is not None]
    packages = [g.packages for g in items if g.packages is not None]
    record["goods_mass_kg"] = round(sum(masses), 3) if masses else None
    record["goods_packages"] = sum(packages) if packages else None
    record["mass_discrepancy"] = _discrepancy(
        totals.gross_mass_kg if totals else None, record["goods_mass_kg"]
    )
    record["packages_discrepancy"] = _discrepancy(
        totals.packages if totals else None, record["goods_packages"]
    )
    return record


def _hours(start: datetime, end: datetime | None) -> float | None:
    if end is None:
        return None
    return round((end - start).total_seconds() / 3600, 2)


def _discrepancy(total: float | None, items_sum: float | None) -> float | None:
    """|total - sum of items| / total, as a fraction; none when either is unknown or total 0."""
    if total is None or items_sum is None or total <= 0:
        return None
    return round(abs(total - items_sum) / total, 4)


def _goods_rows(row: int, d: Declaration) -> list[dict[str, Any]]:
    records = []
    for index, g in enumerate(d.goods or []):
        record: dict[str, Any] = {
            ROW: row,
            ITEM: index,
            "seq": g.seq,
            "packages": g.packages,
            "gross_mass_kg": g.gross_mass_kg,
            "value_amount": g.value.amount if g.value else None,
            "mass_per_package_kg": (
                round(g.gross_mass_kg / g.packages, 3)
                if g.gross_mass_kg is not None and g.packages
                else None
            ),
        }
        record["hs_code"] = g.hs_code
        record["hs_chapter"] = g.hs_code[:2] if g.hs_code else None
        record["hs_heading"] = g.hs_code[:4] if g.hs_code else None
        record["description"] = g.description
        record["package_type"] = g.package_type
        record["origin_country"] = g.origin_country
        record["un_number"] = g.un_number
        record["value_currency"] = g.value.currency if g.value else None
        records.append(record)
    return records


def party_path(role: str) -> str:
    return "transport.carrier" if role == "carrier" else role


def parties_of(d: Declaration) -> list[tuple[str, Party]]:
    present = {
        "declarant": d.declarant,
        "consignor": d.consignor,
        "consignee": d.consignee,
        "carrier": d.transport.carrier if d.transport else None,
        "notify_party": d.notify_party,
    }
    return [(role, party) for role in PARTY_ROLES if (party := present[role]) is not None]


def _party_rows(row: int, d: Declaration, party_facts: PartyFacts) -> list[dict[str, Any]]:
    records = []
    for index, (role, party) in enumerate(parties_of(d)):
        address = party.address
        record: dict[str, Any] = {
            ROW: row,
            ITEM: index,
            PATH: party_path(role),
            "po_box": address.po_box if address else None,
            "aeo_claimed": any(i.scheme == "AEO" for i in party.ids),
        }
        record["role"] = role
        record["name"] = party.name
        record["street"] = address.street if address else None
        record["city"] = address.city if address else None
        record["postcode"] = address.postcode if address else None
        record["country"] = address.country if address else None
        facts = party_facts(d, role, party)
        for name in REFERENCE_PARTY_FACTS:
            record[name] = facts.get(name)
        records.append(record)
    return records


@functools.lru_cache(maxsize=100_000)  # a container is filed again with every amendment
def check_digit_valid(container_id: str) -> bool:
    """ISO 6346; a number that cannot even be checked (letters outside A-Z) is not valid."""
    try:
        return bool(iso6346.is_valid(container_id))
    except ValueError:
        return False


def _container_rows(row: int, d: Declaration) -> list[dict[str, Any]]:
    records = []
    for index, unit in enumerate(d.equipment):
        record: dict[str, Any] = {
            ROW: row,
            ITEM: index,
            "check_digit_valid": check_digit_valid(unit.container_id),
            "seal_count": len(unit.seals),
        }
        record["container_id"] = unit.container_id
        records.append(record)
    return records
