"""Enriched declarations as Polars frames: one row per declaration, and one per goods item,
party and container, each tied to its declaration by ``_row``. Facts are computed here, once
per batch; what reference data says comes with the declarations (``screening.enrich``).

Text is kept as filed (for evidence and regular expressions) and, where a rule compares it,
normalised beside it, in a column named ``FIELD#n``, by the same function the rule values went
through.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any, cast

import polars as pl
from stdnum import iso6346

from pipeline.contract.models import Declaration, Transport
from pipeline.reference.ports import usual_sailing_hours
from pipeline.reference.vessels import imo_check_digit_valid
from pipeline.rules.conditions import normalise_text
from pipeline.rules.fields import (
    FIELDS,
    INTEGER_FIELDS,
    Kind,
    Scope,
)
from pipeline.screening.enrich import Enriched

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


def build_frames(
    batch: Sequence[Enriched],
    fields: Mapping[Scope, frozenset[str]] | None = None,
    normalised: Mapping[Scope, frozenset[str]] | None = None,
) -> Frames:
    """Frames for a batch; with ``fields``, only those columns (what a rule set reads), and
    with ``normalised``, only those text fields normalised beside (what it compares)."""
    # One tuple per row, turned into columns by zip: a dict per row cost a lookup per field
    # and row to take apart again, the largest part of building frames.
    rows: list[tuple[Any, ...]] = []
    goods: list[tuple[Any, ...]] = []
    parties: list[tuple[Any, ...]] = []
    containers: list[tuple[Any, ...]] = []
    for row, enriched in enumerate(batch):
        declaration = enriched.declaration
        rows.append(_declaration_row(row, enriched))
        goods.extend(_goods_rows(row, declaration))
        parties.extend(_party_rows(row, enriched))
        containers.extend(_container_rows(row, declaration))

    def frame(records: list[tuple[Any, ...]], names: tuple[str, ...], scope: Scope) -> pl.DataFrame:
        wanted = fields[scope] if fields is not None else frozenset(FIELDS[scope])
        compared = normalised.get(scope, frozenset()) if normalised is not None else wanted
        return _frame(records, names, scope, wanted, compared)

    return Frames(
        frame(rows, DECLARATION_COLUMNS, Scope.DECLARATION),
        frame(goods, GOODS_COLUMNS, Scope.GOODS),
        frame(parties, PARTY_COLUMNS, Scope.PARTY),
        frame(containers, CONTAINER_COLUMNS, Scope.CONTAINER),
    )


# The columns of each scope's row tuples: the bookkeeping columns, then the scope's fields in
# the order of FIELDS, which is the order the row functions below fill them in.
_KEYS: dict[str, pl.DataType | type[pl.DataType]] = {
    ROW: pl.Int64,
    ITEM: pl.Int64,
    PATH: pl.String,
    SUBMITTED_DATE: pl.Date,
}
DECLARATION_COLUMNS = (ROW, SUBMITTED_DATE, *FIELDS[Scope.DECLARATION])
GOODS_COLUMNS = (ROW, ITEM, *FIELDS[Scope.GOODS])
PARTY_COLUMNS = (ROW, ITEM, PATH, *FIELDS[Scope.PARTY])
CONTAINER_COLUMNS = (ROW, ITEM, *FIELDS[Scope.CONTAINER])


def _frame(
    rows: list[tuple[Any, ...]],
    names: tuple[str, ...],
    scope: Scope,
    wanted: frozenset[str],
    normalised: frozenset[str],
) -> pl.DataFrame:
    """Columns of the wanted fields; the ``normalised`` text fields also normalised, beside
    them, as rules compare them."""
    by_name: dict[str, Sequence[Any]] = (
        dict(zip(names, zip(*rows, strict=True), strict=True)) if rows else {n: () for n in names}
    )
    columns: list[pl.Series] = [
        _series(name, list(by_name[name]), _KEYS[name]) for name in names if name in _KEYS
    ]
    to_split: list[str] = []  # text list columns built as joined text, split below
    for name, field in FIELDS[scope].items():
        if name not in wanted:
            continue
        values = list(by_name[name])
        if field.kind is Kind.TEXT:
            columns.append(_series(name, values, pl.String))
            if name in normalised:
                columns.append(_series(name + NORMALISED, normalised_all(values), pl.String))
        elif field.kind is Kind.NUMBER:
            dtype = pl.Int64 if name in INTEGER_FIELDS else pl.Float64
            columns.append(_series(name, values, dtype))
        elif field.kind is Kind.BOOL:
            columns.append(_series(name, values, pl.Boolean))
        elif field.kind is Kind.TEXT_LIST:
            lists = [(name, values)]
            if name in normalised:
                lists.append((name + NORMALISED, _normalised_lists(values)))
            for column, column_values in lists:
                series = _text_lists(column, column_values)
                columns.append(series)
                if series.dtype == pl.String:
                    to_split.append(column)
        elif field.kind is Kind.TIME:
            columns.append(_times(name, values))
    frame = pl.DataFrame(columns)
    if not to_split:
        return frame
    # All of a frame's lists split in one query: a Series' own `str.split` is a query of its
    # own, and each costs a fifth of a millisecond whatever the batch.
    return frame.with_columns_seq(pl.col(to_split).str.split(_LIST_SEPARATOR))


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
    """The lists as one text each, for ``_frame`` to split; as lists if one is empty or an
    element holds the separator. Polars builds a list column from Python lists one inner
    Series at a time; joining each list into one string and splitting it again in Polars is
    twenty times faster."""
    if all(v is None or (v and not any(_LIST_SEPARATOR in c for c in v)) for v in values):
        joined = [_LIST_SEPARATOR.join(v) if v is not None else None for v in values]
        return pl.Series(name, joined, dtype=pl.String)
    return pl.Series(name, values, dtype=pl.List(pl.String))


def normalised_all(values: Sequence[str | None]) -> list[str | None]:
    """normalise_text of each value, remembered: names, places and descriptions recur from
    batch to batch, so most values are looked up, not normalised again."""
    missing = set(values).difference(_NORMALISED)
    if len(_NORMALISED) + len(missing) > NORMALISED_MEMO_LIMIT:
        _NORMALISED.clear()
        missing = set(values)
    for value in missing:
        if value is not None:
            _NORMALISED[value] = normalise_text(value)
    # The type as a string: a subscripted Callable is built anew at every call otherwise.
    look_up = cast("Callable[[str | None], str | None]", _NORMALISED.get)
    return list(map(look_up, values))


def _normalised_lists(values: Sequence[list[str] | None]) -> list[list[str] | None]:
    """normalise_text of every element, through one ``normalised_all`` for the whole column."""
    flat = normalised_all([element for v in values if v is not None for element in v])
    lists: list[list[str] | None] = []
    start = 0
    for v in values:
        if v is None:
            lists.append(None)
            continue
        lists.append([n or "" for n in flat[start : start + len(v)]])
        start += len(v)
    return lists


def _declaration_row(row: int, enriched: Enriched) -> tuple[Any, ...]:
    d = enriched.declaration
    t, doc, totals = d.transport, d.transport_document, d.totals
    master = doc.master_number if doc else None
    linked, partner, found = enriched.master, enriched.partner_finding, enriched.vessel
    vessel = t.vessel if t else None
    imo = vessel.imo if vessel else None
    loading = t.estimated_loading_at if t else None
    arrival = t.estimated_arrival_at if t else None
    best = best_loading_time(t)
    items = d.goods or []
    masses = [g.gross_mass_kg for g in items if g.gross_mass_kg is not None]
    packages = [g.packages for g in items if g.packages is not None]
    goods_mass = round(sum(masses), 3) if masses else None
    goods_packages = sum(packages) if packages else None
    loading_location = t.loading_location if t else None
    discharge_location = t.discharge_location if t else None
    # In the order of DECLARATION_COLUMNS.
    return (
        row,
        # Validity windows are dates in UTC, whatever offset the filer wrote.
        d.submitted_at.astimezone(UTC).date(),
        d.declaration_id,
        d.message_type,
        t.mode if t else None,
        t.conveyance_ref if t else None,
        loading_location,
        discharge_location,
        doc.type if doc else None,
        doc.number if doc else None,
        loading_location[:2] if loading_location else None,
        discharge_location[:2] if discharge_location else None,
        vessel.name if vessel else None,
        imo,
        vessel.flag if vessel else None,
        found.get("watchlist_action"),
        found.get("watchlist_list"),
        found.get("watchlist_entry"),
        best.basis,
        master,
        linked.get("master_referral_outcome"),
        linked.get("master_referred_declarations"),
        partner.get("partner_finding_level"),
        partner.get("partner_finding_partner"),
        partner.get("partner_finding_matched_by"),
        d.version,
        totals.packages if totals else None,
        totals.gross_mass_kg if totals else None,
        _hours(d.submitted_at, best.at),
        len(items),
        goods_mass,
        goods_packages,
        _discrepancy(totals.gross_mass_kg if totals else None, goods_mass),
        _discrepancy(totals.packages if totals else None, goods_packages),
        len(d.equipment),
        best.sailing_hours,
        _hours(loading, arrival) if loading else None,
        linked.get("master_house_count"),
        (list(t.routing_countries) if t else None) or None,
        partner.get("partner_finding_categories") or None,
        d.submitted_at,
        loading,
        arrival,
        t.estimated_departure_at if t else None,
        best.at,
        imo_check_digit_valid(imo) if imo else None,
    )


@dataclass(frozen=True, slots=True)
class BestLoadingTime:
    at: datetime | None = None
    basis: str | None = None  # plain words, for reasons: which time ``at`` comes from
    sailing_hours: float | None = None  # the usual sailing time, when ``at`` was estimated


LOADING_BASIS = "the filed loading time"
DEPARTURE_BASIS = "the filed departure time"
ARRIVAL_BASIS = "the arrival time less the usual sailing time"
_NO_TIME = BestLoadingTime()


def best_loading_time(t: Transport | None) -> BestLoadingTime:
    """The loading time the filing gives, else its departure time, else (by sea) its arrival
    time less the usual sailing time between its ports: a filing that leaves the loading time
    out is still judged on time or late."""
    if t is None:
        return _NO_TIME
    if t.estimated_loading_at is not None:
        return BestLoadingTime(t.estimated_loading_at, LOADING_BASIS)
    if t.estimated_departure_at is not None:
        return BestLoadingTime(t.estimated_departure_at, DEPARTURE_BASIS)
    arrival = t.estimated_arrival_at
    if t.mode != "SEA" or arrival is None or not t.loading_location or not t.discharge_location:
        return _NO_TIME
    hours = usual_sailing_hours(t.loading_location, t.discharge_location)
    if hours is None:
        return _NO_TIME
    return BestLoadingTime(arrival - timedelta(hours=hours), ARRIVAL_BASIS, hours)


def _hours(start: datetime, end: datetime | None) -> float | None:
    if end is None:
        return None
    return round((end - start).total_seconds() / 3600, 2)


def _discrepancy(total: float | None, items_sum: float | None) -> float | None:
    """|total - sum of items| / total, as a fraction; none when either is unknown or total 0."""
    if total is None or items_sum is None or total <= 0:
        return None
    return round(abs(total - items_sum) / total, 4)


def _goods_rows(row: int, d: Declaration) -> list[tuple[Any, ...]]:
    records = []
    for index, g in enumerate(d.goods or []):
        hs, mass, value = g.hs_code, g.gross_mass_kg, g.value
        # In the order of GOODS_COLUMNS.
        records.append(
            (
                row,
                index,
                hs,
                hs[:2] if hs else None,
                hs[:4] if hs else None,
                g.description,
                g.package_type,
                g.origin_country,
                g.un_number,
                value.currency if value else None,
                g.seq,
                g.packages,
                mass,
                value.amount if value else None,
                round(mass / g.packages, 3) if mass is not None and g.packages else None,
            )
        )
    return records


def party_path(role: str) -> str:
    return "transport.carrier" if role == "carrier" else role


def _party_rows(row: int, enriched: Enriched) -> list[tuple[Any, ...]]:
    records = []
    for index, found in enumerate(enriched.parties):
        role, party, fact = found.role, found.party, found.facts
        address = party.address
        # In the order of PARTY_COLUMNS.
        records.append(
            (
                row,
                index,
                party_path(role),
                role,
                party.name,
                address.street if address else None,
                address.city if address else None,
                address.postcode if address else None,
                address.country if address else None,
                fact.aeo_status,
                fact.aeo_type,
                fact.watchlist_action,
                fact.watchlist_list,
                fact.watchlist_entry,
                fact.watchlist_match,
                address.po_box if address else None,
                "AEO" in [i.scheme for i in party.ids],  # (a list: faster than any())
                fact.aeo_security,
                fact.watchlist_score,
            )
        )
    return records


# ISO 6346's values of the owner code's letters (multiples of 11 skipped) and of digits.
_ISO6346_VALUES = {
    c: v for v, c in enumerate("0123456789A BCDEFGHIJK LMNOPQRSTU VWXYZ") if c != " "
}
_ISO6346_COMPACT = re.compile(r"[A-Z]{3}[UJZR][0-9]{7}")


@functools.lru_cache(maxsize=100_000)  # a container is filed again with every amendment
def check_digit_valid(container_id: str) -> bool:
    """ISO 6346; a number that cannot even be checked (letters outside A-Z) is not valid.

    A number filed in its compact form (nearly all) is checked here, a fifth of the time
    python-stdnum takes to clean it first; any other form is left to python-stdnum."""
    if _ISO6346_COMPACT.fullmatch(container_id):
        total = sum(_ISO6346_VALUES[c] << i for i, c in enumerate(container_id[:10]))
        return total % 11 % 10 == int(container_id[10])
    try:
        return bool(iso6346.is_valid(container_id))
    except ValueError:
        return False


def _container_rows(row: int, d: Declaration) -> list[tuple[Any, ...]]:
    # In the order of CONTAINER_COLUMNS.
    return [
        (row, index, unit.container_id, check_digit_valid(unit.container_id), len(unit.seals))
        for index, unit in enumerate(d.equipment)
    ]
