"""The worklist: open referrals, most urgent first, filtered and searched.

Order: escalated cases first (a screening that did not clear the consignment, or a response
overdue); then DNL, HRCM, RFI (the hit's priority); then the time left before loading, the nearest
(or already passed) first and an unknown loading time last; then the higher score; then the
older case.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import psycopg
from psycopg import sql
from psycopg.rows import dict_row

from pipeline.reference.consolidations import master_key

PAGE = 100
STATUSES = ("open", "closed", "all")


@dataclass(frozen=True)
class Filters:
    outcome: str | None = None
    mode: str | None = None
    office: str | None = None
    assignee: str | None = None  # a user name, or "unassigned"
    rule: str | None = None
    q: str | None = None  # declaration id, container, transport or master document, party name
    status: str = "open"
    page: int = 1

    def query_string(self) -> dict[str, str]:
        """The filters as URL parameters, without the empty ones."""
        values = {
            "outcome": self.outcome,
            "mode": self.mode,
            "office": self.office,
            "assignee": self.assignee,
            "rule": self.rule,
            "q": self.q,
            "status": None if self.status == "open" else self.status,
        }
        return {k: v for k, v in values.items() if v}


@dataclass
class Page:
    rows: list[dict[str, Any]]
    total: int
    filters: Filters
    offices: list[str] = field(default_factory=list)
    now: datetime | None = None


def fetch(conn: psycopg.Connection[Any], filters: Filters, page_size: int = PAGE) -> Page:
    where, params = _conditions(filters)
    order = (
        "(escalated_at IS NULL), priority, estimated_loading_at ASC NULLS LAST, score DESC,"
        " opened_at, case_id"
        if filters.status == "open"
        else "coalesce(closed_at, opened_at) DESC, case_id DESC"
    )
    query = sql.SQL(
        "SELECT case_id, declaration_id, version, outcome, priority, score, summary, mode,"
        " office, loading_location, estimated_loading_at, transport_document, status,"
        " disposition, assignee, opened_at, closed_at, rule_ids, escalation,"
        " screening_cleared, responded_at, origin, partner, now() AS now,"
        " count(*) OVER () AS total"
        " FROM cases WHERE {where} ORDER BY {order} LIMIT %s OFFSET %s"
    ).format(where=sql.SQL(" AND ").join(where), order=sql.SQL(order))
    offset = (max(1, filters.page) - 1) * page_size
    with conn.cursor(row_factory=dict_row) as cursor:
        rows = cursor.execute(query, [*params, page_size, offset]).fetchall()
    total = int(rows[0]["total"]) if rows else _count(conn, where, params)
    now = rows[0]["now"] if rows else None
    return Page(rows=rows, total=total, filters=filters, now=now)


def offices(conn: psycopg.Connection[Any]) -> list[str]:
    rows = conn.execute(
        "SELECT DISTINCT office FROM cases WHERE status <> 'CLOSED' AND office IS NOT NULL"
        " ORDER BY office LIMIT 500"
    ).fetchall()
    return [row[0] for row in rows]


def _count(conn: psycopg.Connection[Any], where: list[sql.Composable], params: list[Any]) -> int:
    row = conn.execute(
        sql.SQL("SELECT count(*) FROM cases WHERE {}").format(sql.SQL(" AND ").join(where)),
        params,
    ).fetchone()
    return int(row[0]) if row else 0


def _conditions(filters: Filters) -> tuple[list[sql.Composable], list[Any]]:
    where: list[sql.Composable] = []
    params: list[Any] = []
    if filters.status == "open":
        where.append(sql.SQL("status <> 'CLOSED'"))
    elif filters.status == "closed":
        where.append(sql.SQL("status = 'CLOSED'"))
    else:
        where.append(sql.SQL("true"))
    for column, value in (
        ("outcome", filters.outcome),
        ("mode", filters.mode),
        ("office", filters.office),
    ):
        if value:
            where.append(sql.SQL("{} = %s").format(sql.Identifier(column)))
            params.append(value)
    if filters.assignee == "unassigned":
        where.append(sql.SQL("assignee IS NULL"))
    elif filters.assignee:
        where.append(sql.SQL("assignee = %s"))
        params.append(filters.assignee)
    if filters.rule:
        where.append(sql.SQL("rule_ids @> ARRAY[%s]::text[]"))
        params.append(filters.rule)
    if filters.q:
        condition, terms = _search(filters.q.strip())
        where.append(condition)
        params += terms
    return where, params


def _search(term: str) -> tuple[sql.Composable, list[Any]]:
    """One box for the identifiers officers are given: each alternative has its own index.

    A master number is compared as the worker links houses (``medu 123`` is MEDU123), so it
    finds every house filing of that master however each filer wrote it."""
    like = "%" + term.upper().replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    condition = sql.SQL(
        "(declaration_id = %s OR transport_document = %s"
        " OR container_ids @> ARRAY[%s]::text[] OR party_names LIKE %s"
        " OR ucr = %s OR master_number = %s)"
    )
    return condition, [term, term, term.upper(), like + "%", term, master_key(term) or None]
