"""The officers' workbench in a real browser: Debian's Chromium driven by Playwright, against a
real `screening workbench` process, the session's broker and its real worker.

Each test has a workbench of its own on a fresh database, and declaration ids of its own. The
workbench reads every hit on the session's broker, other tests' too, so the tests look at their
own rows through the worklist's search or office filter, as an officer would.

The docs' screenshots (docs/images/workbench-*.png) are taken by
``test_screenshots_for_the_docs``; they are written there only with
``SCREENING_UPDATE_SCREENSHOTS=1``, otherwise to the test's temporary folder.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import msgspec
import orjson
import psycopg
import pytest
from confluent_kafka import Producer
from playwright.sync_api import (
    Browser,
    BrowserContext,
    Locator,
    Page,
    ViewportSize,
    expect,
    sync_playwright,
)
from psycopg import sql

from pipeline import topics
from pipeline.contract.models import ExaminationResult
from pipeline.records import InputRecord
from pipeline.settings import Settings
from tests.factories import amendment, encode, filing, invalidation
from tests.integration.conftest import ROOT, collect, publish
from tests.integration.workbench import DEMO_PASSWORD, WorkbenchProcess, spawn_workbench

pytestmark = pytest.mark.integration

CHROMIUM = Path("/usr/bin/chromium")
# Headless, and quiet: as root no sandbox, and none of the calls home that a closed network
# would answer with a flood of retries.
CHROMIUM_ARGS = [
    "--headless=new",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
VIEWPORT: ViewportSize = {"width": 1400, "height": 900}
ACROSS_KAFKA_MS = 60_000  # anything that goes through the broker, the worker and the ingest
PAGE_MS = 30_000  # a page of the workbench, on a loaded machine
ACROSS_KAFKA_S = ACROSS_KAFKA_MS / 1000
WATCHLIST_HEADER = "entry_id,name,aliases,country,ids,list,action,reason\n"
SCREENSHOTS = ROOT / "docs" / "images"
UPDATE_SCREENSHOTS = "SCREENING_UPDATE_SCREENSHOTS"


# --- the browser -----------------------------------------------------------------------------


@pytest.fixture(scope="module")
def chromium() -> Iterator[Browser]:
    """Debian's Chromium (Playwright's own browser download is not used)."""
    if not CHROMIUM.exists():
        pytest.fail(
            f"{CHROMIUM} is missing: the workbench's browser tests need Debian's chromium "
            "package (make system-deps installs it; apt-get install chromium)"
        )
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        try:
            yield browser
        finally:
            browser.close()


@pytest.fixture
def context(chromium: Browser) -> Iterator[BrowserContext]:
    """A browser profile of the test's own: no cookie of another test's session."""
    context = chromium.new_context(viewport=VIEWPORT, timezone_id="UTC")
    context.set_default_timeout(PAGE_MS)
    context.set_default_navigation_timeout(PAGE_MS)
    try:
        yield context
    finally:
        context.close()


@pytest.fixture
def page(context: BrowserContext, tmp_path: Path) -> Iterator[Page]:
    page = context.new_page()
    yield page
    # What the browser showed last, to look at when a test failed.
    try:
        page.screenshot(path=str(tmp_path / "last-page.png"), full_page=True)
    except Exception as exc:  # the page may be gone; the test's own result is what counts
        print(f"no screenshot of the last page: {exc}")


# --- helpers -----------------------------------------------------------------------------------


def log_in(page: Page, bench: WorkbenchProcess, username: str, then: str = "/") -> None:
    page.goto(f"{bench.url}/login?next={then}")
    page.locator("input[name=username]").fill(username)
    page.locator("input[name=password]").fill(DEMO_PASSWORD)
    page.get_by_role("button", name="Log in", exact=True).click()
    expect(page.get_by_test_id("who")).to_contain_text(f"({username})")


def search(page: Page, bench: WorkbenchProcess, term: str) -> None:
    """The worklist, searched for ``term`` with the filter form."""
    page.goto(f"{bench.url}/")
    page.get_by_label("Search").fill(term)
    page.get_by_role("button", name="Filter", exact=True).click()
    expect(page).to_have_url(re.compile(r"[?&]q="))


def rows(page: Page) -> Locator:
    return page.locator("#worklist tbody tr[data-declaration]")


def row(page: Page, declaration_id: str) -> Locator:
    return page.locator(f'#worklist tbody tr[data-declaration="{declaration_id}"]')


def mark_page(page: Page) -> None:
    """Mark the loaded document: the mark is gone if the page is ever reloaded."""
    page.evaluate("window.__sameDocument = true")


def same_document(page: Page) -> bool:
    return bool(page.evaluate("window.__sameDocument === true"))


def red(element: Locator) -> bool:
    """Shown in the workbench's red (loading near or passed)."""
    return element.evaluate("e => getComputedStyle(e).color") == "rgb(183, 28, 28)"


def case_of(bench: WorkbenchProcess, declaration_id: str) -> int:
    """The case the workbench opened for the declaration (waits for it)."""
    found = bench.wait_for(
        "SELECT case_id FROM cases WHERE declaration_id = %s ORDER BY case_id",
        (declaration_id,),
        timeout_s=ACROSS_KAFKA_S,
    )
    return int(found[0][0])


@contextmanager
def explained(
    settings: Settings, bench: WorkbenchProcess, worker_log: Path, *declaration_ids: str
) -> Iterator[None]:
    """On a failure of what crosses Kafka, say where the referral got to: the worker's
    assessment and hit, the workbench's case, and the tails of both logs."""
    try:
        yield
    except (AssertionError, pytest.fail.Exception) as exc:
        raise AssertionError(
            f"{exc}\n--- where it got to ---\n"
            + diagnosis(settings, bench, worker_log, declaration_ids)
        ) from exc


def diagnosis(
    settings: Settings, bench: WorkbenchProcess, worker_log: Path, declaration_ids: tuple[str, ...]
) -> str:
    wanted = {i.encode() for i in declaration_ids}
    lines = []
    for topic in (topics.ASSESSMENTS, topics.HITS):
        found = collect(settings, topic, lambda r: r.key in wanted, 10**6, 5.0, 0.0)
        lines += [
            f"{topic} [{r.partition}@{r.offset}] {r.key!r}: "
            + (orjson.loads(r.value).get("outcome", "?") if r.value else "tombstone")
            for r in found
        ] or [f"{topic}: nothing for {declaration_ids}"]
    lines.append(
        "cases: "
        + repr(
            bench.query(
                "SELECT case_id, declaration_id, version, outcome, status FROM cases"
                " WHERE declaration_id = ANY(%s)",
                (list(declaration_ids),),
            )
        )
    )
    lines.append(
        "read to: "
        + repr(bench.query("SELECT topic, partition, next_offset FROM kafka_offsets ORDER BY 1, 2"))
    )
    lines.append(f"--- workbench log ---\n{bench.log()[-2500:]}")
    lines.append(f"--- worker log ---\n{worker_log.read_text(errors='replace')[-2500:]}")
    return "\n".join(lines)


def exactly(declaration_id: str) -> Callable[[InputRecord], bool]:
    key = declaration_id.encode()
    return lambda record: record.key == key


def screening(settings: Settings, *args: str) -> str:
    done = subprocess.run(
        [sys.executable, "-m", "pipeline", *args, "--bootstrap", settings.kafka.servers],
        capture_output=True,
        timeout=120,
        cwd=ROOT,
    )
    assert done.returncode == 0, done.stderr.decode()
    return done.stderr.decode()


def load_watchlist(settings: Settings, folder: Path, *lines: str) -> None:
    csv = folder / "watchlist.csv"
    csv.write_text(WATCHLIST_HEADER + "".join(f"{line}\n" for line in lines))
    assert f"loaded {len(lines)}, skipped 0" in screening(settings, "watchlist", "load", str(csv))


def assessment(settings: Settings, declaration_id: str) -> dict[str, Any]:
    found = collect(settings, topics.ASSESSMENTS, exactly(declaration_id), expected=1, settle_s=0.5)
    assert len(found) == 1, f"{len(found)} assessments of {declaration_id}"
    assert found[0].value is not None
    return dict(orjson.loads(found[0].value))


def file_until(
    settings: Settings,
    producer: Producer,
    make: Callable[[str], dict[str, Any]],
    prefix: str,
    done: Callable[[dict[str, Any]], bool],
) -> dict[str, Any]:
    """File fresh declarations (``prefix``-0, -1, ...) until one's assessment shows ``done``:
    the worker applies reference data published moments ago, not at once."""
    deadline = datetime.now(UTC) + timedelta(seconds=ACROSS_KAFKA_S)
    attempt = 0
    while True:
        declaration_id = f"{prefix}-{attempt}"
        publish(producer, [encode(make(declaration_id))])
        assessed = assessment(settings, declaration_id)
        if done(assessed) or datetime.now(UTC) > deadline:
            return assessed
        attempt += 1


def with_party(document: dict[str, Any], role: str, party: dict[str, Any]) -> dict[str, Any]:
    document[role] = {**document[role], **party}
    return document


def watchlist_entries(document: dict[str, Any], role: str) -> set[str]:
    """The watch-list entries the party of ``role`` matched, per the matches' evidence."""
    key = f"{role}.watchlist_entry"
    return {m["evidence"][key] for m in document["matches"] if key in (m["evidence"] or {})}


# --- 1. nobody logged in ------------------------------------------------------------------------


def test_anonymous_visitors_see_no_declaration_and_change_nothing(
    settings: Settings,
    worker: Path,
    producer: Producer,
    run_id: str,
    workbench: WorkbenchProcess,
    page: Page,
) -> None:
    declaration_id = f"{run_id}-ANON"
    publish(producer, [encode(filing(declaration_id, hs_code="930690"))])  # HS-ARMS-93: HRCM
    with explained(settings, workbench, worker, declaration_id):
        case_id = case_of(workbench, declaration_id)
    before = workbench.query(
        "SELECT status, assignee, revision FROM cases WHERE case_id = %s", (case_id,)
    )

    page.goto(f"{workbench.url}/")
    expect(page).to_have_url(f"{workbench.url}/login?next=%2F")
    expect(page.get_by_role("button", name="Log in", exact=True)).to_be_visible()
    expect(page.get_by_test_id("who")).to_have_count(0)

    for path in ("/cases/1", f"/cases/{case_id}", "/?q=" + declaration_id):
        page.goto(workbench.url + path)
        expect(page).to_have_url(re.compile(r"/login\?next="))
        assert declaration_id not in page.content(), path

    api = page.request
    # The worklist's fragment: 401 to htmx, the login page to a browser.
    for headers, status in (({"HX-Request": "true"}, 401), ({}, 303)):
        answer = api.get(f"{workbench.url}/worklist/rows", headers=headers, max_redirects=0)
        assert answer.status == status, answer.text()
        assert declaration_id not in answer.text()
        if status == 303:
            assert answer.headers["location"].startswith("/login")
        else:  # htmx takes the page to the login form
            assert answer.headers.get("hx-redirect") == "/login"
    answer = api.get(f"{workbench.url}/cases/{case_id}", max_redirects=0)
    assert answer.status == 303
    assert declaration_id not in answer.text()

    # A change without a session, or with a made-up one, is refused.
    for cookie in ({}, {"Cookie": "screening_session=made-up-token"}):
        answer = api.post(
            f"{workbench.url}/cases/{case_id}/claim",
            form={"csrf_token": "made-up"},
            headers=cookie,
            max_redirects=0,
        )
        assert answer.status == 401, answer.text()
        assert declaration_id not in answer.text()
    answer = api.post(
        f"{workbench.url}/cases/{case_id}/examination",
        form={"csrf_token": "made-up", "result": "NO_FINDING", "examined_at": "2026-11-20T08:00"},
        max_redirects=0,
    )
    assert answer.status == 401

    assert (
        workbench.query(
            "SELECT status, assignee, revision FROM cases WHERE case_id = %s", (case_id,)
        )
        == before
        == [("OPEN", None, 1)]
    )
    assert workbench.query("SELECT kind FROM case_events WHERE case_id = %s", (case_id,)) == [
        ("OPENED",)
    ]
    assert workbench.query("SELECT count(*) FROM examinations") == [(0,)]


def test_a_worklist_left_open_goes_to_the_login_form_when_its_session_ends(
    workbench: WorkbenchProcess, context: BrowserContext, page: Page
) -> None:
    log_in(page, workbench, "officer")
    expect(page.get_by_test_id("count")).to_be_visible()
    mark_page(page)

    # The officer logs out in another tab: the worklist's next refresh has no session.
    other = context.new_page()
    other.goto(f"{workbench.url}/")
    other.get_by_role("button", name="Log out").click()
    expect(other).to_have_url(f"{workbench.url}/login")
    assert workbench.query("SELECT count(*) FROM web_sessions") == [(0,)]

    expect(page).to_have_url(f"{workbench.url}/login", timeout=PAGE_MS)
    expect(page.get_by_role("button", name="Log in", exact=True)).to_be_visible()
    assert not same_document(page)


# --- 2. an officer works a DNL ------------------------------------------------------------------


def test_officer_claims_examines_and_may_not_close_a_dnl_from_the_live_worklist(
    settings: Settings,
    worker: Path,
    producer: Producer,
    run_id: str,
    tmp_path: Path,
    database_url: str,
    workbenches: list[WorkbenchProcess],
    page: Page,
) -> None:
    token = run_id.split("-")[1]
    # The case database keeps time far from UTC (as a server set to local time would): the
    # pages and the published examination still speak UTC.
    with psycopg.connect(database_url, autocommit=True) as conn:
        conn.execute(
            sql.SQL("ALTER DATABASE {} SET timezone TO 'Pacific/Auckland'").format(
                sql.Identifier(urlsplit(database_url).path.lstrip("/"))
            )
        )
    workbench = spawn_workbench(settings, database_url, tmp_path)
    workbenches.append(workbench)

    log_in(page, workbench, "officer")
    search(page, workbench, token)  # this test's rows: every party name here carries the token
    expect(page.get_by_test_id("count")).to_have_text("0 open referrals")
    mark_page(page)

    # An ordinary referral: arms, HRCM.
    arms_id = f"{run_id}-ARMS"
    arms = with_party(
        filing(arms_id, hs_code="930690"), "consignee", {"name": f"Harbour {token} Traders"}
    )
    publish(producer, [encode(arms)])
    with explained(settings, workbench, worker, arms_id):
        expect(row(page, arms_id)).to_be_visible(timeout=ACROSS_KAFKA_MS)

    # A consignee on a do-not-load watch list.
    entry = f"{run_id}-E-DNL"
    load_watchlist(
        settings, tmp_path, f"{entry},KESTREL {token} LOGISTICS,,AE,TIN:TX{token},NATIONAL,DNL,test"
    )
    consignee = {
        "name": f"Kestrel {token} Logistics",
        "ids": [{"scheme": "TIN", "value": f"TX{token}"}],
        "address": {"street": "Jebel Ali Free Zone", "city": "Dubai", "country": "AE"},
    }
    dnl = file_until(
        settings,
        producer,
        lambda i: with_party(filing(i), "consignee", consignee),
        f"{run_id}-DNL",
        lambda a: a["outcome"] == "DNL",
    )
    assert dnl["outcome"] == "DNL", f"the worker did not match watch-list entry {entry}: {dnl}"
    assert watchlist_entries(dnl, "consignee") == {entry}
    dnl_id = dnl["declaration_id"]

    # It shows at the top of the worklist, above the HRCM, without a reload.
    with explained(settings, workbench, worker, dnl_id):
        expect(rows(page).first).to_have_attribute(
            "data-declaration", dnl_id, timeout=ACROSS_KAFKA_MS
        )
    expect(rows(page)).to_have_count(2)
    expect(rows(page).nth(1)).to_have_attribute("data-declaration", arms_id)
    expect(rows(page).first.locator(".badge")).to_have_text("DNL")
    expect(page.get_by_test_id("count")).to_have_text("2 open referrals")
    assert same_document(page), "the worklist page was reloaded"

    # Open it and claim it.
    rows(page).first.get_by_role("link", name=dnl_id).click()
    expect(page.get_by_test_id("outcome")).to_have_text("DNL")
    expect(page.get_by_test_id("assignee")).to_have_text("unassigned")
    expect(page.get_by_text(f"matches watch-list entry {entry}").first).to_be_visible()
    page.get_by_role("button", name="Claim", exact=True).click()
    expect(page.get_by_test_id("assignee")).to_have_text("assigned to officer")
    expect(page.get_by_test_id("status")).to_have_text("in progress")
    case_id = case_of(workbench, dnl_id)
    assert workbench.query("SELECT assignee, status FROM cases WHERE case_id = %s", (case_id,)) == [
        ("officer", "IN_PROGRESS")
    ]

    # Record what the examination found: it goes to Kafka for rule effectiveness.
    form = page.get_by_test_id("examination-form")
    form.locator("select[name=result]").select_option("SEIZURE")
    form.get_by_role("button", name="Record result").click()
    expect(page.get_by_role("status")).to_have_text("Done: examination.")
    expect(page.get_by_text("seizure, examined")).to_be_visible()
    published = collect(
        settings, topics.EXAMINATION_RESULTS, exactly(dnl_id), expected=1, settle_s=0.5
    )
    results = [msgspec.json.decode(r.value, type=ExaminationResult) for r in published if r.value]
    assert [(r.declaration_id, r.version, r.result, r.officer_ref) for r in results] == [
        (dnl_id, 1, "SEIZURE", "officer")
    ]
    # The form's default examination time: now, in UTC (to the minute).
    assert abs(results[0].examined_at - datetime.now(UTC)) < timedelta(minutes=5), results

    # Closing a DNL needs a supervisor: refused, and the case stays open.
    close = page.get_by_test_id("close-form")
    close.locator("select[name=disposition]").select_option("CONFIRMED_RISK")
    close.locator("input[name=note]").fill("Arms found in the container.")
    close.get_by_role("button", name=re.compile("^Close case")).click()
    expect(page.get_by_test_id("error")).to_contain_text("needs a supervisor")
    assert workbench.query(
        "SELECT status, disposition, closed_at FROM cases WHERE case_id = %s", (case_id,)
    ) == [("IN_PROGRESS", None, None)]
    assert "CLOSED" not in {
        kind
        for (kind,) in workbench.query(
            "SELECT kind FROM case_events WHERE case_id = %s", (case_id,)
        )
    }


# --- 3. a supervisor clears a false watch-list match -------------------------------------------


def test_supervisor_clears_a_false_watch_list_match_and_the_next_filing_is_not_matched(
    settings: Settings,
    worker: Path,
    producer: Producer,
    run_id: str,
    tmp_path: Path,
    workbench: WorkbenchProcess,
    page: Page,
) -> None:
    token = run_id.split("-")[1]
    entry = f"{run_id}-E-HRCM"
    load_watchlist(
        settings,
        tmp_path,
        f"{entry},ORION {token} HOLDINGS,,AE,TIN:TY{token},NATIONAL,HRCM,previous seizure",
    )
    consignee = {
        "name": f"Orion {token} Holdings",
        "ids": [{"scheme": "TIN", "value": f"TY{token}"}],
        "address": {"street": "Sheikh Zayed Road 12", "city": "Dubai", "country": "AE"},
    }

    def of_the_consignee(declaration_id: str) -> dict[str, Any]:
        return with_party(filing(declaration_id), "consignee", consignee)

    matched = file_until(
        settings,
        producer,
        of_the_consignee,
        f"{run_id}-BEFORE",
        lambda a: entry in watchlist_entries(a, "consignee"),
    )
    assert watchlist_entries(matched, "consignee") == {entry}, matched
    with explained(settings, workbench, worker, matched["declaration_id"]):
        case_id = case_of(workbench, matched["declaration_id"])

    log_in(page, workbench, "supervisor", then=f"/cases/{case_id}")
    expect(page.get_by_test_id("outcome")).to_have_text("HRCM")
    form = page.get_by_test_id("clearance-form")
    form.locator("select[name=match]").select_option(f"consignee|{entry}")
    form.locator("textarea[name=reason]").fill(
        "Namesake: another trade licence and address, checked with the free zone registry."
    )
    until = datetime.now(UTC).date() + timedelta(days=30)
    form.locator("input[name=expires_on]").fill(until.isoformat())
    form.get_by_role("button", name=re.compile("^Clear this match")).click()
    expect(page.get_by_role("status")).to_have_text("Done: cleared.")
    expect(
        page.get_by_text(f"cleared of {entry} until {until.isoformat()} by supervisor")
    ).to_be_visible()
    assert workbench.query(
        "SELECT role, entry_id, expires_on, cleared_by FROM clearances WHERE case_id = %s",
        (case_id,),
    ) == [("consignee", entry, until, "supervisor")]

    # The workbench published it ...
    published = collect(
        settings,
        topics.WATCHLIST_CLEARANCES,
        lambda r: r.key is not None and r.key.endswith(f":{entry}".encode()),
        expected=1,
        settle_s=0.5,
    )
    assert len(published) == 1, "the workbench did not publish the clearance"
    # ... and the worker no longer matches this party to that entry.
    later = file_until(
        settings,
        producer,
        of_the_consignee,
        f"{run_id}-AFTER",
        lambda a: entry not in watchlist_entries(a, "consignee"),
    )
    assert entry not in watchlist_entries(later, "consignee"), (
        f"the worker still matches the cleared consignee to {entry}: {later['matches']}"
    )
    assert later["outcome"] == "ASSESSMENT_COMPLETE", later


# --- 4. an amendment withdraws the referral -----------------------------------------------------


def test_an_amendment_to_harmless_goods_takes_the_row_off_the_live_worklist(
    settings: Settings,
    worker: Path,
    producer: Producer,
    run_id: str,
    workbench: WorkbenchProcess,
    page: Page,
) -> None:
    declaration_id = f"{run_id}-AMEND"
    arms = filing(declaration_id, hs_code="930690")  # HS-ARMS-93: HRCM
    log_in(page, workbench, "officer")
    search(page, workbench, declaration_id)
    mark_page(page)

    publish(producer, [encode(arms)])
    with explained(settings, workbench, worker, declaration_id):
        expect(row(page, declaration_id)).to_be_visible(timeout=ACROSS_KAFKA_MS)
    expect(row(page, declaration_id).locator(".badge")).to_have_text("HRCM")
    case_id = case_of(workbench, declaration_id)

    publish(producer, [encode(amendment(arms, 2, "940360"))])  # wooden furniture
    with explained(settings, workbench, worker, declaration_id):
        expect(row(page, declaration_id)).to_have_count(0, timeout=ACROSS_KAFKA_MS)
    expect(page.get_by_test_id("count")).to_have_text("0 open referrals")
    assert same_document(page), "the worklist page was reloaded"

    assert workbench.query(
        "SELECT status, disposition FROM cases WHERE case_id = %s", (case_id,)
    ) == [("CLOSED", "WITHDRAWN")]
    page.goto(f"{workbench.url}/cases/{case_id}")
    expect(page.get_by_test_id("status")).to_have_text("closed: withdrawn")
    expect(page.get_by_test_id("actions")).to_have_count(0)
    expect(page.get_by_test_id("timeline")).to_contain_text("withdrawn")
    # The closed list has it.
    page.goto(f"{workbench.url}/?status=closed&q={declaration_id}")
    expect(row(page, declaration_id)).to_contain_text("closed: withdrawn")


# --- 5. an analyst reads and changes nothing ----------------------------------------------------


def test_analyst_reads_cases_and_a_forged_change_is_refused(
    settings: Settings,
    worker: Path,
    producer: Producer,
    run_id: str,
    workbench: WorkbenchProcess,
    page: Page,
) -> None:
    declaration_id = f"{run_id}-READ"
    publish(producer, [encode(filing(declaration_id, hs_code="930690"))])
    with explained(settings, workbench, worker, declaration_id):
        case_id = case_of(workbench, declaration_id)
    state = "SELECT status, assignee, revision FROM cases WHERE case_id = %s"
    before = workbench.query(state, (case_id,))

    log_in(page, workbench, "analyst")
    # The session's CSRF token, from the log-out form of a page the analyst may see.
    csrf = page.locator("form[action='/logout'] input[name=csrf_token]").get_attribute("value")
    assert csrf

    page.goto(f"{workbench.url}/cases/{case_id}")
    expect(page.get_by_role("heading", level=1)).to_contain_text(declaration_id)
    expect(page.get_by_test_id("timeline")).to_contain_text("opened")
    forms = page.locator("main form")
    expect(forms).to_have_count(0)
    for testid in ("actions", "examination-form", "close-form", "clearance-form"):
        expect(page.get_by_test_id(testid)).to_have_count(0)
    expect(page.get_by_role("button", name="Claim")).to_have_count(0)

    # A forged POST, with the session's cookie and its valid CSRF token: the role decides.
    for action, form in (
        ("claim", {}),
        ("examination", {"result": "SEIZURE", "examined_at": "2026-11-20T08:00"}),
        ("comment", {"text": "an analyst's note"}),
    ):
        answer = page.request.post(
            f"{workbench.url}/cases/{case_id}/{action}",
            form={"csrf_token": csrf, **form},
            max_redirects=0,
        )
        assert answer.status == 403, (action, answer.status, answer.text())
        assert "your role can read cases but not change them" in answer.text(), action

    assert workbench.query(state, (case_id,)) == before == [("OPEN", None, 1)]
    assert workbench.query("SELECT kind FROM case_events WHERE case_id = %s", (case_id,)) == [
        ("OPENED",)
    ]
    assert workbench.query("SELECT count(*) FROM examinations") == [(0,)]
    assert workbench.query(
        "SELECT count(*) FROM outbox WHERE topic = %s", (topics.EXAMINATION_RESULTS,)
    ) == [(0,)]


# --- 6. the docs' screenshots -------------------------------------------------------------------


def _stamp(at: datetime) -> str:
    return at.astimezone(UTC).isoformat(timespec="seconds").replace("+00:00", "Z")


def test_screenshots_for_the_docs(
    settings: Settings,
    worker: Path,
    producer: Producer,
    run_id: str,
    tmp_path: Path,
    workbench: WorkbenchProcess,
    page: Page,
) -> None:
    """The worklist with referrals of every outcome, and a DNL case, as docs/workbench.md shows
    them. Filings to an office no other test files to (Reykjavik), loading soon or not."""
    token = run_id.split("-")[1].upper()
    office = "ISREY"
    now = datetime.now(UTC).replace(second=0, microsecond=0)
    dnl_entry, hrcm_entry = f"NAT-{token}-1", f"NAT-{token}-2"
    load_watchlist(
        settings,
        tmp_path,
        f"{dnl_entry},NORTHERN STAR SHIPPING FZE,,AE,TIN:AE{token},NATIONAL,DNL,proliferation",
        f"{hrcm_entry},BALTIC RIM TRADING,,EE,TIN:EE{token},EU,HRCM,previous seizure",
    )

    def declaration(
        number: int, loading_in: timedelta, hs_code: str, description: str, **parties: Any
    ) -> dict[str, Any]:
        document = filing(f"PLACI-{token}-{number:04d}", hs_code=hs_code)
        document["submitted_at"] = _stamp(now - timedelta(hours=30))
        document["transport"] = {
            **document["transport"],
            "discharge_location": office,
            "routing_countries": ["CN", "IS"],
            "estimated_loading_at": _stamp(now + loading_in),
            "estimated_arrival_at": _stamp(now + loading_in + timedelta(days=24)),
        }
        document["goods"][0]["description"] = description
        parties = {"declarant": declarant, "consignor": consignor, **parties}
        for role, party in parties.items():
            with_party(document, role, party)
        return document

    # Parties of this test's own, so that the case's "earlier referrals" are this test's.
    declarant = {
        "name": "Atlantic Freight Forwarding ehf",
        "ids": [{"scheme": "EORI", "value": f"IS{token}"}],
    }
    consignor = {
        "name": "Qingdao Hardwood Furniture Co",
        "ids": [{"scheme": "TIN", "value": f"CN{token}"}],
        "address": {"street": "18 Haier Road", "city": "Qingdao", "country": "CN"},
    }

    northern_star = {
        "name": "Northern Star Shipping FZE",
        "ids": [{"scheme": "TIN", "value": f"AE{token}"}],
        "address": {"street": "Jebel Ali Free Zone", "city": "Dubai", "country": "AE"},
    }
    baltic_rim = {
        "name": "Baltic Rim Trading OU",
        "ids": [{"scheme": "TIN", "value": f"EE{token}"}],
        "address": {"street": "Sadama 5", "city": "Tallinn", "country": "EE"},
    }
    documents = [
        declaration(
            4711,
            timedelta(hours=1, minutes=25),
            "930690",
            "cartridges for sporting rifles",
            consignee=northern_star,
        ),
        declaration(4712, timedelta(hours=5, minutes=10), "930320", "hunting rifles"),
        declaration(
            4713,
            timedelta(hours=9, minutes=40),
            "940360",
            "wooden bedroom furniture",
            consignor=baltic_rim,
        ),
        declaration(4714, timedelta(minutes=-35), "940360", "GENERAL CARGO"),
        declaration(4715, timedelta(days=1, hours=3), "940000", "office furniture"),
    ]
    ids = [d["declaration_id"] for d in documents]
    probe_id = f"PLACI-{token}-PROBE-0"
    try:
        # Once the worker has the watch list (a probe filing to another office, of a namesake
        # without the ids, is a DNL) ...
        namesake = {"name": northern_star["name"], "address": northern_star["address"]}
        probe = file_until(
            settings,
            producer,
            lambda i: with_party(filing(i), "consignee", namesake),
            f"PLACI-{token}-PROBE",
            lambda a: a["outcome"] == "DNL",
        )
        probe_id = probe["declaration_id"]
        assert probe["outcome"] == "DNL", probe
        # ... the office's filings.
        publish(producer, [encode(d) for d in documents])
        with explained(settings, workbench, worker, *ids):
            workbench.wait_for(
                "SELECT declaration_id, outcome FROM cases"
                " WHERE office = %s AND status <> 'CLOSED'",
                (office,),
                until=lambda found: {i for i, _ in found} >= set(ids),
                timeout_s=ACROSS_KAFKA_S,
            )
        folder = SCREENSHOTS if os.environ.get(UPDATE_SCREENSHOTS) == "1" else tmp_path
        _take_screenshots(page, workbench, office, ids, folder)
    finally:
        # Nobody else's filings should meet these entries (they match by name alone), and the
        # office's worklist of a later run on the same broker should not show these referrals.
        screening(settings, "watchlist", "delete", dnl_entry, hrcm_entry)
        publish(producer, [encode(invalidation(i, 2)) for i in [*ids, probe_id]])


def _take_screenshots(
    page: Page, workbench: WorkbenchProcess, office: str, ids: list[str], folder: Path
) -> None:
    folder.mkdir(parents=True, exist_ok=True)

    # The DNL case, claimed and commented on.
    log_in(page, workbench, "officer")
    page.goto(f"{workbench.url}/cases/{case_of(workbench, ids[0])}")
    expect(page.get_by_test_id("outcome")).to_have_text("DNL")
    page.get_by_role("button", name="Claim", exact=True).click()
    expect(page.get_by_test_id("assignee")).to_have_text("assigned to officer")
    page.get_by_label("Comment").fill("Carrier told not to load; container held at the terminal.")
    page.get_by_role("button", name="Add comment").click()
    expect(page.get_by_test_id("timeline")).to_contain_text("Carrier told not to load")
    page.goto(page.url.split("?")[0])  # without the "Done" banner
    expect(page.get_by_text("Do not load: the consignee").first).to_be_visible()
    assert red(page.locator(".case-head .left")), "loading within 2 h is not in red"
    case_png = folder / "workbench-case.png"
    page.screenshot(path=str(case_png), full_page=True)

    # The office's worklist: DNL, HRCM, RFI, each by the time left before loading.
    page.goto(f"{workbench.url}/?office={office}")
    expect(rows(page)).to_have_count(len(ids))
    order = [rows(page).nth(i).get_attribute("data-declaration") for i in range(len(ids))]
    assert order == [ids[0], ids[1], ids[2], ids[3], ids[4]], order
    expect(rows(page).nth(0)).to_contain_text("officer")
    expect(rows(page).nth(3).locator("td.left")).to_contain_text("passed")
    flagged = [red(rows(page).nth(i).locator("td.left")) for i in range(len(ids))]
    assert flagged == [True, False, False, True, False], flagged  # soon, and passed
    worklist_png = folder / "workbench-worklist.png"
    page.screenshot(path=str(worklist_png))

    for png, full_page in ((worklist_png, False), (case_png, True)):
        data = png.read_bytes()
        assert data[:8] == b"\x89PNG\r\n\x1a\n", png
        width, height = int.from_bytes(data[16:20], "big"), int.from_bytes(data[20:24], "big")
        assert width == VIEWPORT["width"], (png, width)
        if full_page:
            assert height >= VIEWPORT["height"], (png, height)
        else:
            assert height == VIEWPORT["height"], (png, height)
