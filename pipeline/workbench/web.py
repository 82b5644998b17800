"""The workbench's web pages: log in, the worklist, the case view and the actions on a case.

Server-rendered HTML (Jinja2) with htmx for the live worklist; no script of our own. Every
page but the login form needs a session; every change needs the session's CSRF token and a
role that may make it. Database calls are plain synchronous psycopg, which FastAPI runs in its
thread pool.
"""

from __future__ import annotations

import hmac
import logging
import secrets
from collections.abc import AsyncIterator, Callable, Iterator
from contextlib import asynccontextmanager, contextmanager
from datetime import UTC, date, datetime, timedelta
from importlib import resources
from typing import Annotated, Any
from urllib.parse import urlencode

import psycopg
from fastapi import Depends, FastAPI, Form, Query, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import HTMLResponse, PlainTextResponse, RedirectResponse, Response
from fastapi.staticfiles import StaticFiles
from fastapi.templating import Jinja2Templates
from prometheus_client import generate_latest
from psycopg_pool import ConnectionPool, PoolTimeout
from starlette.exceptions import HTTPException as StarletteHTTPException

from pipeline.errors import ScreeningError
from pipeline.settings import Settings
from pipeline.workbench import (
    accounts,
    cases,
    deadlines,
    metrics,
    partner_outbound,
    partners,
    retention,
    worklist,
)
from pipeline.workbench.accounts import Session
from pipeline.workbench.ingest import Ingest
from pipeline.workbench.outbox import OutboxPublisher
from pipeline.workbench.periodic import Periodic
from pipeline.workbench.presentation import register_filters

__all__ = ["create_app"]

log = logging.getLogger(__name__)

SESSION_COOKIE = "screening_session"
LOGIN_COOKIE = "screening_login"
_FIELD_MAX = 256
_DATABASE_DOWN = (psycopg.OperationalError, PoolTimeout)


# Parameter types, at module level: FastAPI resolves the (postponed) annotations of the
# routes in this module's namespace.
Outcome = Annotated[str | None, Query(pattern="^(|RFI|HRCM|DNL)$")]
Mode = Annotated[str | None, Query(pattern="^(|AIR|SEA|ROAD|RAIL)$")]
Office = Annotated[str | None, Query(pattern="^(|[A-Z]{2}[A-Z2-9]{3})$")]
Assignee = Annotated[str | None, Query(pattern="^(|unassigned|[a-z0-9._-]{2,64})$")]
Rule = Annotated[str | None, Query(max_length=128)]
Search = Annotated[str | None, Query(max_length=128)]
Status = Annotated[str | None, Query(pattern="^(|open|closed|all)$")]
PageNumber = Annotated[int, Query(ge=1, le=100_000, alias="page")]

Csrf = Annotated[str, Form(max_length=_FIELD_MAX)]
Revision = Annotated[int, Form(ge=0, le=2_000_000_000)]


def filters_of(
    outcome: Outcome = None,
    mode: Mode = None,
    office: Office = None,
    assignee: Assignee = None,
    rule: Rule = None,
    q: Search = None,
    status: Status = None,
    page_number: PageNumber = 1,
) -> worklist.Filters:
    """The worklist's filters from the query string, each checked against what it may be."""
    return worklist.Filters(
        outcome=outcome or None,
        mode=mode or None,
        office=office or None,
        assignee=assignee or None,
        rule=rule or None,
        q=(q or "").strip() or None,
        status=status or "open",
        page=page_number,
    )


WorklistFilters = Annotated[worklist.Filters, Depends(filters_of)]


class Unauthenticated(ScreeningError):
    """No live session: pages go to the login form, fragments answer 401."""


class BadCsrf(ScreeningError):
    """A form posted without the session's CSRF token: answered 403."""


def create_app(settings: Settings, *, background: bool = True) -> FastAPI:
    """The web application; with ``background`` it also runs the ingest and the outbox."""
    workbench = settings.workbench
    url = workbench.database_url.get_secret_value()
    pool = ConnectionPool(
        url, min_size=1, max_size=8, open=False, timeout=5.0, kwargs={"autocommit": True}
    )

    def connect() -> psycopg.Connection[Any]:
        return psycopg.connect(url, connect_timeout=5)

    exchange = partners.Exchange.from_settings(settings)
    ingest = Ingest(settings, connect, exchange)
    outbox = OutboxPublisher(settings.kafka, connect)
    rfi_answer = timedelta(seconds=workbench.rfi_answer_s)
    periodic = [
        Periodic("retention", retention.SWEEP_EVERY_S, retention.sweep, connect),
        Periodic(
            "deadlines",
            deadlines.CHECK_EVERY_S,
            lambda conn: _discard(deadlines.escalate_overdue(conn, rfi_answer)),
            connect,
        ),
    ]
    keep_for = timedelta(days=workbench.case_retention_days)
    templates = Jinja2Templates(
        directory=str(resources.files("pipeline.workbench").joinpath("templates"))
    )
    register_filters(templates.env, workbench)

    @asynccontextmanager
    async def lifespan(_: FastAPI) -> AsyncIterator[None]:
        pool.open(wait=False)
        if background:
            ingest.start()
            outbox.start()
            for job in periodic:
                job.start()
        try:
            yield
        finally:
            if background:
                ingest.stop()
                outbox.stop()
                for job in periodic:
                    job.stop()
            pool.close()

    app = FastAPI(lifespan=lifespan, docs_url=None, redoc_url=None, openapi_url=None)
    app.state.ingest = ingest
    app.state.outbox = outbox
    static = resources.files("pipeline.workbench").joinpath("static")
    app.mount("/static", StaticFiles(directory=str(static)), name="static")

    @contextmanager
    def db() -> Iterator[psycopg.Connection[Any]]:
        with pool.connection() as conn:
            yield conn
        metrics.DATABASE_UP.set(1)

    def session_of(request: Request, touch: bool = True) -> Session:
        token = request.cookies.get(SESSION_COOKIE)
        if not token:
            raise Unauthenticated
        with db() as conn:
            session = accounts.session_for(conn, token, workbench.session_idle_s, touch=touch)
        if session is None:
            raise Unauthenticated
        return session

    def checked(request: Request, csrf_token: str) -> Session:
        session = session_of(request)
        sent = csrf_token or request.headers.get("x-csrf-token", "")
        if not hmac.compare_digest(sent.encode(), session.csrf_token.encode()):
            raise BadCsrf
        return session

    def page(
        request: Request, name: str, context: dict[str, Any], status_code: int = 200
    ) -> HTMLResponse:
        return templates.TemplateResponse(request, name, context, status_code=status_code)

    def set_cookie(response: Response, name: str, value: str, max_age: int) -> None:
        response.set_cookie(
            name,
            value,
            max_age=max_age,
            httponly=True,
            secure=workbench.secure_cookies,
            samesite="strict",
            path="/",
        )

    # --- errors ------------------------------------------------------------------------

    @app.exception_handler(Unauthenticated)
    async def unauthenticated(request: Request, _: Exception) -> Response:
        if request.headers.get("hx-request") or request.method != "GET":
            refused = PlainTextResponse("log in first", status_code=401)
            if request.headers.get("hx-request"):
                # The live worklist goes to the login form rather than go on showing, without
                # a word, what it showed when the session ended.
                refused.headers["HX-Redirect"] = "/login"
            return refused
        return RedirectResponse("/login?" + urlencode({"next": request.url.path}), 303)

    @app.exception_handler(BadCsrf)
    async def bad_csrf(request: Request, _: Exception) -> Response:
        return page(request, "error.html", {"message": _CSRF_MESSAGE}, 403)

    @app.exception_handler(RequestValidationError)
    async def invalid_request(request: Request, exc: RequestValidationError) -> Response:
        problems = "; ".join(
            f"{'.'.join(str(p) for p in e['loc'][1:]) or 'request'}: {e['msg']}"
            for e in exc.errors()
        )
        return page(request, "error.html", {"message": f"Bad request: {problems}"}, 400)

    @app.exception_handler(StarletteHTTPException)
    async def http_error(request: Request, exc: StarletteHTTPException) -> Response:
        return page(request, "error.html", {"message": str(exc.detail)}, exc.status_code)

    for down in _DATABASE_DOWN:

        @app.exception_handler(down)
        async def database_down(request: Request, exc: Exception) -> Response:
            metrics.DATABASE_UP.set(0)
            log.warning("case database unavailable: %s", exc)
            return page(request, "error.html", {"message": _DB_MESSAGE}, 503)

    @app.middleware("http")
    async def security_headers(request: Request, call_next: Callable[..., Any]) -> Response:
        response: Response = await call_next(request)
        response.headers["Content-Security-Policy"] = (
            "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self';"
            " frame-ancestors 'none'; form-action 'self'; base-uri 'none'"
        )
        response.headers["X-Content-Type-Options"] = "nosniff"
        response.headers["Referrer-Policy"] = "no-referrer"
        response.headers["X-Frame-Options"] = "DENY"
        if not request.url.path.startswith("/static/"):
            response.headers["Cache-Control"] = "no-store"
        return response

    # --- health and metrics ------------------------------------------------------------

    @app.get("/livez", response_class=PlainTextResponse)
    def livez() -> Response:
        broken = [
            name
            for name, part in (("ingest", ingest), ("outbox", outbox))
            if background and not part.alive()
        ]
        if broken:
            return PlainTextResponse(f"stopped: {', '.join(broken)}", status_code=503)
        return PlainTextResponse("ok")

    @app.get("/readyz", response_class=PlainTextResponse)
    def readyz() -> Response:
        try:
            with db() as conn:
                conn.execute("SELECT 1 FROM schema_migrations LIMIT 1")
        except (*_DATABASE_DOWN, psycopg.Error) as exc:
            metrics.DATABASE_UP.set(0)
            return PlainTextResponse(f"database unavailable: {type(exc).__name__}", 503)
        return PlainTextResponse("ok")

    @app.get("/metrics")
    def metrics_page() -> Response:
        return Response(generate_latest(metrics.REGISTRY), media_type="text/plain; version=0.0.4")

    # --- logging in and out ------------------------------------------------------------

    @app.get("/login")
    def login_form(request: Request, next: str = "/") -> Response:
        token = secrets.token_urlsafe(24)
        response = page(request, "login.html", {"login_token": token, "next": _local(next)})
        set_cookie(response, LOGIN_COOKIE, token, 900)
        return response

    @app.post("/login")
    def login(
        request: Request,
        username: Annotated[str, Form(max_length=_FIELD_MAX)] = "",
        password: Annotated[str, Form(max_length=_FIELD_MAX)] = "",
        login_token: Annotated[str, Form(max_length=_FIELD_MAX)] = "",
        next: Annotated[str, Form(max_length=_FIELD_MAX)] = "/",
    ) -> Response:
        expected = request.cookies.get(LOGIN_COOKIE, "")
        if not expected or not hmac.compare_digest(expected.encode(), login_token.encode()):
            return page(request, "error.html", {"message": _CSRF_MESSAGE}, 403)
        with db() as conn:
            account = accounts.authenticate(conn, username.strip().lower(), password)
            if account is None:
                fresh = secrets.token_urlsafe(24)
                refused = page(
                    request,
                    "login.html",
                    {"login_token": fresh, "next": _local(next), "error": _LOGIN_FAILED},
                    401,
                )
                set_cookie(refused, LOGIN_COOKIE, fresh, 900)
                return refused
            token, _ = accounts.open_session(conn, account)
        log.info("login", extra={"role": account.role})
        response = RedirectResponse(_local(next), 303)
        set_cookie(response, SESSION_COOKIE, token, workbench.session_idle_s)
        response.delete_cookie(LOGIN_COOKIE, path="/")
        return response

    @app.post("/logout")
    def logout(request: Request, csrf_token: Annotated[str, Form()] = "") -> Response:
        checked(request, csrf_token)
        with db() as conn:
            accounts.close_session(conn, request.cookies.get(SESSION_COOKIE, ""))
        response = RedirectResponse("/login", 303)
        response.delete_cookie(SESSION_COOKIE, path="/")
        return response

    # --- the worklist ------------------------------------------------------------------

    @app.get("/")
    def worklist_page(request: Request, filters: WorklistFilters) -> Response:
        session = session_of(request)
        with db() as conn:
            found = worklist.fetch(conn, filters)
            found.offices = worklist.offices(conn)
            people = accounts.usernames(conn, ("officer", "supervisor"))
        return page(
            request,
            "worklist.html",
            {"session": session, "page": found, "people": people, "filters": filters},
        )

    @app.get("/worklist/rows")
    def worklist_rows(request: Request, filters: WorklistFilters) -> Response:
        # The page's own refresh every 2 s is not the officer's use: an open page left alone
        # still ends its session after the idle time.
        session = session_of(request, touch=False)
        with db() as conn:
            found = worklist.fetch(conn, filters)
        return page(request, "_rows.html", {"session": session, "page": found})

    # --- a case ------------------------------------------------------------------------

    def case_page(
        request: Request,
        session: Session,
        case_id: int,
        error: str | None = None,
        status_code: int = 200,
    ) -> Response:
        with db() as conn:
            view = cases.case_view(conn, case_id, exchange)
            people = accounts.usernames(conn, ("officer", "supervisor"))
        context = {
            "session": session,
            "error": error,
            "people": people,
            "done": request.query_params.get("done"),
            "dispositions": cases.DISPOSITIONS,
            "results": cases.EXAMINATION_RESULTS,
            "today": datetime.now(UTC).date(),
            **view,
        }
        return page(request, "case.html", context, status_code)

    @app.get("/cases/{case_id}")
    def case_detail(request: Request, case_id: int) -> Response:
        session = session_of(request)
        try:
            return case_page(request, session, case_id)
        except cases.CaseNotFound as exc:
            return page(request, "error.html", {"session": session, "message": str(exc)}, 404)

    def act(
        request: Request,
        csrf_token: str,
        case_id: int,
        done: str,
        action: Callable[[psycopg.Connection[Any], Session], None],
    ) -> Response:
        session = checked(request, csrf_token)
        try:
            with db() as conn:
                action(conn, session)
        except (cases.CaseNotFound, partners.PartnerCaseNotFound) as exc:
            return page(request, "error.html", {"session": session, "message": str(exc)}, 404)
        except (cases.CaseError, partners.PartnerRefused) as exc:
            return case_page(request, session, case_id, str(exc), exc.status_code)
        metrics.CASE_ACTIONS.labels(done).inc()
        outbox.wake()
        return RedirectResponse(f"/cases/{case_id}?done={done}", 303)

    @app.post("/cases/{case_id}/claim")
    def claim(request: Request, case_id: int, csrf_token: Csrf = "") -> Response:
        return act(
            request, csrf_token, case_id, "claimed",
            lambda conn, s: cases.claim(conn, s.account, case_id),
        )  # fmt: skip

    @app.post("/cases/{case_id}/assign")
    def assign(
        request: Request,
        case_id: int,
        revision: Revision,
        assignee: Annotated[str, Form(pattern="^[a-z0-9._-]{2,64}$")],
        csrf_token: Csrf = "",
    ) -> Response:
        return act(
            request, csrf_token, case_id, "assigned",
            lambda conn, s: cases.assign(conn, s.account, case_id, assignee, revision),
        )  # fmt: skip

    @app.post("/cases/{case_id}/unassign")
    def unassign(
        request: Request, case_id: int, revision: Revision, csrf_token: Csrf = ""
    ) -> Response:
        return act(
            request, csrf_token, case_id, "unassigned",
            lambda conn, s: cases.unassign(conn, s.account, case_id, revision),
        )  # fmt: skip

    @app.post("/cases/{case_id}/start")
    def start(
        request: Request, case_id: int, revision: Revision, csrf_token: Csrf = ""
    ) -> Response:
        return act(
            request, csrf_token, case_id, "started",
            lambda conn, s: cases.start_work(conn, s.account, case_id, revision),
        )  # fmt: skip

    @app.post("/cases/{case_id}/comment")
    def comment(
        request: Request,
        case_id: int,
        text: Annotated[str, Form(max_length=cases.MAX_COMMENT + 100)] = "",
        csrf_token: Csrf = "",
    ) -> Response:
        return act(
            request, csrf_token, case_id, "commented",
            lambda conn, s: cases.comment(conn, s.account, case_id, text),
        )  # fmt: skip

    @app.post("/cases/{case_id}/close")
    def close(
        request: Request,
        case_id: int,
        revision: Revision,
        disposition: Annotated[str, Form(max_length=64)] = "",
        note: Annotated[str, Form(max_length=cases.MAX_COMMENT + 100)] = "",
        csrf_token: Csrf = "",
    ) -> Response:
        return act(
            request, csrf_token, case_id, "closed",
            lambda conn, s: cases.close(
                conn, s.account, case_id, disposition, note, revision, keep_for
            ),
        )  # fmt: skip

    @app.post("/cases/{case_id}/release-cleared")
    def release_cleared(
        request: Request, case_id: int, revision: Revision, csrf_token: Csrf = ""
    ) -> Response:
        return act(
            request, csrf_token, case_id, "released",
            lambda conn, s: cases.release_cleared(conn, s.account, case_id, revision, keep_for),
        )  # fmt: skip

    @app.post("/cases/{case_id}/examination")
    def examination(
        request: Request,
        case_id: int,
        result: Annotated[str, Form(max_length=64)] = "",
        examined_at: Annotated[str, Form(max_length=64)] = "",
        csrf_token: Csrf = "",
    ) -> Response:
        def record(conn: psycopg.Connection[Any], s: Session) -> None:
            cases.record_examination(conn, s.account, case_id, result, _when(examined_at), exchange)

        return act(request, csrf_token, case_id, "examination", record)

    @app.post("/cases/{case_id}/partner-request")
    def partner_request(
        request: Request,
        case_id: int,
        revision: Revision,
        partner: Annotated[str, Form(pattern="^[A-Z]{2}$")],
        reason: Annotated[str, Form(max_length=partners.MAX_REASON + 100)] = "",
        csrf_token: Csrf = "",
    ) -> Response:
        def send(conn: psycopg.Connection[Any], s: Session) -> None:
            cases.must_work(s.account)
            partner_outbound.send_request(
                conn, exchange, s.account.username, case_id, partner,
                revision=revision, reason=reason,
            )  # fmt: skip

        return act(request, csrf_token, case_id, "partner_request", send)

    @app.post("/cases/{case_id}/clearances")
    def clear_match(
        request: Request,
        case_id: int,
        match: Annotated[str, Form(max_length=300)] = "",
        reason: Annotated[str, Form(max_length=2100)] = "",
        expires_on: Annotated[str, Form(max_length=32)] = "",
        csrf_token: Csrf = "",
    ) -> Response:
        def clear(conn: psycopg.Connection[Any], s: Session) -> None:
            role, _, entry_id = match.partition("|")
            cases.clear_match(conn, s.account, case_id, role, entry_id, reason, _day(expires_on))

        return act(request, csrf_token, case_id, "cleared", clear)

    @app.post("/clearances/{clearance_id}/lift")
    def lift(
        request: Request,
        clearance_id: int,
        case_id: Annotated[int, Form(ge=1)],
        csrf_token: Csrf = "",
    ) -> Response:
        return act(
            request, csrf_token, case_id, "lifted",
            lambda conn, s: cases.lift_clearance(conn, s.account, clearance_id),
        )  # fmt: skip

    return app


def _discard(_: object) -> None:
    """A periodic job's result is for its callers in tests; the thread has no use for it."""


def _when(text: str) -> datetime:
    """A datetime-local field (the officer's local time is sent as UTC by the form)."""
    try:
        value = datetime.fromisoformat(text.strip().replace("Z", "+00:00"))
    except ValueError as exc:
        raise cases.CaseError("give the examination time as YYYY-MM-DDTHH:MM") from exc
    return value if value.tzinfo else value.replace(tzinfo=UTC)


def _day(text: str) -> date:
    try:
        return date.fromisoformat(text.strip())
    except ValueError as exc:
        raise cases.CaseError("give the expiry date as YYYY-MM-DD") from exc


def _local(target: str) -> str:
    """Only a path of this site: a login link cannot send the officer elsewhere."""
    if target.startswith("/") and not target.startswith("//") and "\\" not in target:
        return target
    return "/"


_CSRF_MESSAGE = (
    "This form has expired or did not come from the workbench. Go back, reload, try again."
)
_DB_MESSAGE = (
    "The case database is unavailable. Nothing was changed; try again in a moment. "
    "New referrals wait in Kafka and arrive once it is back."
)
_LOGIN_FAILED = "Wrong user name or password."
