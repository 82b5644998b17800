"""The workbench against the real broker, the session's worker and a real PostgreSQL:
referrals become cases, amendments and withdrawals follow them, officers' actions are checked
and audited, and restarts or a lost database neither lose nor duplicate anything."""

from __future__ import annotations

import threading
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import orjson
import psycopg
import pytest
from confluent_kafka import Consumer, Producer, TopicPartition
from psycopg import sql

from pipeline import topics
from pipeline.settings import Settings
from pipeline.workbench import cases, intake, worklist
from pipeline.workbench.accounts import Account
from pipeline.workbench.migrations import available, migrate
from pipeline.workbench.referrals import referral_from_hit
from pipeline.workbench.retention import purge_expired
from tests.factories import amendment, encode, filing, invalidation
from tests.integration.conftest import collect, key_prefix, publish
from tests.integration.workbench import WorkbenchProcess, spawn_workbench
from tests.integration.workbench_client import Officer

ARMS = "930690"  # HS chapter 93: an HRCM referral under the default rules
CHAPTER_ONLY = "940000"  # an HS code naming only its chapter: an RFI
RETENTION_DAYS = 7 * 365 + 2


def _case_of(bench: WorkbenchProcess, declaration_id: str) -> tuple[int, int, str, str | None]:
    rows = bench.wait_for(
        "SELECT case_id, version, status, disposition FROM cases WHERE declaration_id = %s"
        " ORDER BY case_id DESC",
        (declaration_id,),
    )
    return rows[0]


def _events_of(declaration_id: str) -> object:
    """Whether an audit-topic record is about ``declaration_id``."""
    return lambda record: orjson.loads(record.value).get("declaration_id") == declaration_id


@pytest.fixture
def arms_case(
    worker: object, producer: Producer, run_id: str, workbench: WorkbenchProcess
) -> tuple[dict[str, object], int]:
    """An arms filing screened by the session's worker: its document and its open case."""
    document = filing(f"{run_id}-ARMS", hs_code=ARMS)
    publish(producer, [encode(document)])
    case_id, *_ = _case_of(workbench, str(document["declaration_id"]))
    return document, case_id


def test_migrations_apply_once_to_an_empty_database(database_url: str) -> None:
    with psycopg.connect(database_url) as conn:
        assert migrate(conn) == [m.name for m in available()]
        assert migrate(conn) == []
        tables = {
            row[0]
            for row in conn.execute(
                "SELECT tablename FROM pg_tables WHERE schemaname = 'public'"
            ).fetchall()
        }
    assert {"cases", "case_events", "referrals", "outbox", "clearances", "accounts"} <= tables


def test_the_audit_trail_cannot_be_rewritten(database_url: str) -> None:
    with psycopg.connect(database_url, autocommit=True) as conn:
        migrate(conn)
        conn.execute(
            "INSERT INTO cases (declaration_id, version, outcome, priority, score, summary,"
            " assessed_at) VALUES ('D1', 1, 'RFI', 3, 30, 's', now())"
        )
        conn.execute("INSERT INTO case_events (case_id, actor, kind) VALUES (1, 'x', 'OPENED')")
        with pytest.raises(psycopg.errors.RaiseException, match="append-only"):
            conn.execute("UPDATE case_events SET actor = 'y'")
        with pytest.raises(psycopg.errors.RaiseException, match="retention"):
            conn.execute("DELETE FROM case_events")
        assert conn.execute("SELECT actor FROM case_events").fetchall() == [("x",)]


def test_a_hit_read_before_its_assessment_record_still_gives_the_version(
    database_url: str,
) -> None:
    # Hits and assessments are on different topics: the assessment record of a referral may be
    # read before the hit, when no case exists to keep it. The hit carries the same fields.
    hit = {
        "declaration_id": "ORDER-1",
        "version": 1,
        "outcome": "HRCM",
        "priority": 2,
        "score": 60.0,
        "assessed_at": "2026-12-01T10:00:00Z",
        "message_type": "FILING",
        "declaration": filing("ORDER-1", hs_code=ARMS),
    }
    with psycopg.connect(database_url, autocommit=True) as conn:
        migrate(conn)
        early = {**hit, "matches": [], "summary": ""}
        assert intake.record_assessments(conn, [early]) == 0  # no case yet: not kept
        with conn.transaction():
            assert intake.apply_hit(conn, referral_from_hit(hit)) == "opened"
        rows = conn.execute(
            "SELECT version, outcome, score, message_type FROM assessments"
            " WHERE declaration_id = 'ORDER-1'"
        ).fetchall()
    assert rows == [(1, "HRCM", 60.0, "FILING")]


def test_referrals_open_cases_amendments_move_them_withdrawals_close_them(
    settings: Settings,
    worker: object,
    producer: Producer,
    run_id: str,
    workbench: WorkbenchProcess,
) -> None:
    first = filing(f"{run_id}-A", hs_code=ARMS)
    clean = filing(f"{run_id}-C")
    publish(producer, [encode(first), encode(clean)])
    case_id, version, status, _ = _case_of(workbench, first["declaration_id"])
    assert (version, status) == (1, "OPEN")

    publish(producer, [encode(amendment(first, 2, "930700"))])  # still arms: still a referral
    workbench.wait_for("SELECT 1 FROM cases WHERE case_id = %s AND version = 2", (case_id,))
    publish(producer, [encode(invalidation(first["declaration_id"], 3))])
    workbench.wait_for(
        "SELECT 1 FROM cases WHERE case_id = %s AND status = 'CLOSED'"
        " AND disposition = 'WITHDRAWN'",
        (case_id,),
    )
    kinds = [
        row[0]
        for row in workbench.query(
            "SELECT kind FROM case_events WHERE case_id = %s ORDER BY event_id", (case_id,)
        )
    ]
    assert kinds == ["OPENED", "REFERRAL_AMENDED", "WITHDRAWN"]
    # A clean filing is no referral: no case.
    assert (
        workbench.query("SELECT 1 FROM cases WHERE declaration_id = %s", (clean["declaration_id"],))
        == []
    )
    # The declaration's versions are all known to the case view, the invalidation included.
    workbench.wait_for(
        "SELECT version FROM assessments WHERE declaration_id = %s",
        (first["declaration_id"],),
        until=lambda rows: {r[0] for r in rows} == {1, 2, 3},
    )
    # Every change went to the audit topic, keyed by the case. Case numbers restart with each
    # test's database while the topic is the session's: the declaration tells this case apart.
    events = collect(settings, topics.CASE_EVENTS, _events_of(first["declaration_id"]), expected=3)
    mine = [orjson.loads(r.value) for r in events]
    assert [e["kind"] for e in mine] == kinds
    assert {r.key for r in events} == {str(case_id).encode()}


def test_a_killed_workbench_resumes_without_losing_or_repeating_cases(
    settings: Settings,
    worker: object,
    producer: Producer,
    run_id: str,
    database_url: str,
    tmp_path: Path,
    workbenches: list[WorkbenchProcess],
) -> None:
    # From the start: the session's earlier records are taken in too, before and after the kill.
    first = spawn_workbench(settings, database_url, tmp_path, from_the_start=True)
    workbenches.append(first)
    before = [filing(f"{run_id}-K{i:03d}", hs_code=ARMS) for i in range(30)]
    publish(producer, [encode(d) for d in before])
    first.wait_for(
        "SELECT count(*) FROM cases WHERE declaration_id LIKE %s",
        (f"{run_id}-%",),
        until=lambda rows: rows[0][0] >= 10,
    )
    first.kill()
    after = [filing(f"{run_id}-K{i:03d}", hs_code=ARMS) for i in range(30, 60)]
    publish(producer, [encode(d) for d in after])
    again = spawn_workbench(
        settings, database_url, tmp_path, group=first.group, log_name="2.log", from_the_start=True
    )
    workbenches.append(again)
    again.wait_for(
        "SELECT count(*) FROM cases WHERE declaration_id LIKE %s",
        (f"{run_id}-%",),
        until=lambda rows: rows[0][0] >= 60,
    )
    time.sleep(2)  # anything applied twice would show by now
    per_declaration = again.query(
        "SELECT declaration_id, count(*) FROM cases WHERE declaration_id LIKE %s"
        " GROUP BY declaration_id",
        (f"{run_id}-%",),
    )
    assert len(per_declaration) == 60
    assert {count for _, count in per_declaration} == {1}
    opened = again.query(
        "SELECT count(*) FROM case_events e JOIN cases c USING (case_id)"
        " WHERE c.declaration_id LIKE %s AND e.kind = 'OPENED'",
        (f"{run_id}-%",),
    )
    assert opened == [(60,)]


def test_without_the_database_nothing_is_acknowledged_and_the_page_says_so(
    settings: Settings,
    worker: object,
    producer: Producer,
    run_id: str,
    workbench: WorkbenchProcess,
    database_url: str,
    postgres: object,
) -> None:
    name = database_url.rsplit("/", 1)[1]
    officer = Officer(workbench.url)
    assert officer.login("officer").status_code == 303
    admin = psycopg.connect(database_url.rsplit("/", 1)[0] + "/postgres", autocommit=True)
    try:
        admin.execute(f'ALTER DATABASE "{name}" ALLOW_CONNECTIONS false')
        admin.execute(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = %s", (name,)
        )
        down = [filing(f"{run_id}-D{i}", hs_code=ARMS) for i in range(5)]
        publish(producer, [encode(d) for d in down])
        collect(settings, topics.HITS, key_prefix(run_id), expected=5)
        time.sleep(3)
        page = officer.client.get("/")
        assert page.status_code == 503
        assert "case database is unavailable" in page.text
        assert "D0" not in page.text
        # The group's committed offsets stay short of the hits that are not in the database.
        consumer = Consumer({**settings.kafka.librdkafka_config(), "group.id": workbench.group})
        try:
            committed = consumer.committed(
                [TopicPartition(topics.HITS, p) for p in range(settings.topics.partitions)],
                timeout=10,
            )
            ends = [
                consumer.get_watermark_offsets(TopicPartition(topics.HITS, p), timeout=10)[1]
                for p in range(settings.topics.partitions)
            ]
        finally:
            consumer.close()
        assert any(tp.offset < end for tp, end in zip(committed, ends, strict=True))
    finally:
        admin.execute(f'ALTER DATABASE "{name}" ALLOW_CONNECTIONS true')
        admin.close()
    workbench.wait_for(
        "SELECT count(*) FROM cases WHERE declaration_id LIKE %s",
        (f"{run_id}-%",),
        until=lambda rows: rows[0][0] == 5,
    )
    assert officer.client.get("/").status_code == 200
    officer.close()


def test_two_officers_claim_at_once_one_wins(
    settings: Settings,
    workbench: WorkbenchProcess,
    arms_case: tuple[dict[str, object], int],
) -> None:
    _, case_id = arms_case
    with psycopg.connect(workbench.database_url, autocommit=True) as conn:
        conn.execute(
            "INSERT INTO accounts (username, display_name, role, password_hash)"
            " VALUES ('second', 'Second Officer', 'officer', 'x')"
        )
    barrier = threading.Barrier(2)
    outcomes: dict[str, str] = {}

    def claim(username: str) -> None:
        with psycopg.connect(workbench.database_url, autocommit=True) as conn:
            barrier.wait()
            try:
                cases.claim(conn, Account(username, username, "officer"), case_id)
                outcomes[username] = "claimed"
            except cases.CaseConflict as exc:
                outcomes[username] = str(exc)

    threads = [threading.Thread(target=claim, args=(u,)) for u in ("officer", "second")]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    winners = [u for u, o in outcomes.items() if o == "claimed"]
    assert len(winners) == 1
    loser = next(u for u in outcomes if u not in winners)
    assert outcomes[loser] == f"{winners[0]} has already claimed this case"
    assert workbench.query("SELECT assignee, status FROM cases WHERE case_id = %s", (case_id,)) == [
        (winners[0], "IN_PROGRESS")
    ]
    claims = workbench.query(
        "SELECT actor FROM case_events WHERE case_id = %s AND kind = 'CLAIMED'", (case_id,)
    )
    assert claims == [(winners[0],)]


def test_roles_and_bad_requests_change_nothing(
    settings: Settings,
    workbench: WorkbenchProcess,
    arms_case: tuple[dict[str, object], int],
) -> None:
    document, case_id = arms_case

    def trail() -> list[tuple[object, ...]]:
        return workbench.query(
            "SELECT kind FROM case_events WHERE case_id = %s ORDER BY event_id", (case_id,)
        )

    def state() -> list[tuple[object, ...]]:
        return workbench.query(
            "SELECT status, assignee, disposition, revision FROM cases WHERE case_id = %s",
            (case_id,),
        )

    start_trail, start_state = trail(), state()
    anonymous = Officer(workbench.url)
    assert anonymous.client.get(f"/cases/{case_id}").status_code == 303
    assert anonymous.client.get("/worklist/rows").status_code == 303
    assert anonymous.client.get("/worklist/rows", headers={"HX-Request": "true"}).status_code == 401
    assert anonymous.post(f"/cases/{case_id}/claim").status_code == 401

    analyst = Officer(workbench.url)
    assert analyst.login("analyst").status_code == 303
    page = analyst.case_page(case_id)
    assert page.status_code == 200
    assert document["declaration_id"] in page.text
    assert 'action="/cases/' not in page.text  # no forms for a reader
    refused = analyst.post(f"/cases/{case_id}/claim")
    assert refused.status_code == 403
    assert "can read cases but not change them" in refused.text

    officer = Officer(workbench.url)
    assert officer.login("officer").status_code == 303
    assert officer.login("officer", "wrong password").status_code == 401
    revision = officer.revision(case_id)
    forged = officer.client.post(f"/cases/{case_id}/claim", data={"csrf_token": "forged"})
    assert forged.status_code == 403
    bad = [
        officer.post(f"/cases/{case_id}/close", revision=revision, disposition="LOST"),
        officer.post(f"/cases/{case_id}/close", revision="x", disposition="RELEASED"),
        officer.post("/cases/not-a-number/claim"),
        officer.post(f"/cases/{case_id}/examination", result="SEIZURE", examined_at="yesterday"),
        officer.post(f"/cases/{case_id}/examination", result="FOUND", examined_at="2026-01-01"),
        officer.post(f"/cases/{case_id}/comment", text="   "),
        officer.post(f"/cases/{case_id}/comment", text="x" * 5000),
        officer.post(f"/cases/{case_id}/assign", revision=revision, assignee="officer"),
        officer.post(f"/cases/{case_id}/clearances", match="consignee|NOPE", reason="r" * 20,
                     expires_on="2027-01-01"),
        officer.post(f"/cases/{case_id}/close", revision=revision + 5, disposition="RELEASED"),
    ]  # fmt: skip
    assert [r.status_code for r in bad] == [400, 400, 400, 400, 400, 400, 400, 403, 403, 409]
    assert "the disposition must be one of" in bad[0].text
    assert "changed since you opened it" in bad[9].text
    assert officer.client.get("/?outcome=BOGUS").status_code == 400
    assert trail() == start_trail
    assert state() == start_state
    assert workbench.query("SELECT count(*) FROM examinations") == [(0,)]

    # The same officer, asked properly, closes the case; it is kept with its retention.
    done = officer.post(
        f"/cases/{case_id}/close", revision=revision, disposition="RELEASED", note="papers ok"
    )
    assert done.status_code == 303
    retained = workbench.query(
        "SELECT status, disposition, retain_until - closed_at FROM cases WHERE case_id = %s",
        (case_id,),
    )
    assert retained[0][:2] == ("CLOSED", "RELEASED")
    assert retained[0][2].days == RETENTION_DAYS
    for client in (anonymous, analyst, officer):
        client.close()


def test_an_examination_result_reaches_rule_effectiveness_topic(
    settings: Settings,
    workbench: WorkbenchProcess,
    arms_case: tuple[dict[str, object], int],
) -> None:
    document, case_id = arms_case
    officer = Officer(workbench.url)
    officer.login("officer")
    answer = officer.post(
        f"/cases/{case_id}/examination", result="SEIZURE", examined_at="2026-12-01T10:30"
    )
    assert answer.status_code == 303
    records = collect(
        settings, topics.EXAMINATION_RESULTS, key_prefix(document["declaration_id"]), expected=1
    )
    assert [orjson.loads(r.value) for r in records] == [
        {
            "declaration_id": document["declaration_id"],
            "version": 1,
            "result": "SEIZURE",
            "examined_at": "2026-12-01T10:30:00.000Z",
            "officer_ref": "officer",
        }
    ]
    # The outbox row is marked published once Kafka has acknowledged it, moments after the
    # record can be read; rows of earlier tests may still be on their way too.
    deadline = time.monotonic() + 30
    while workbench.query("SELECT count(*) FROM outbox WHERE published_at IS NULL") != [(0,)]:
        assert time.monotonic() < deadline, "outbox rows left unpublished"
        time.sleep(0.2)
    officer.close()


def test_closed_cases_are_kept_for_their_retention_then_deleted(database_url: str) -> None:
    with psycopg.connect(database_url, autocommit=True) as conn:
        migrate(conn)
        conn.execute(
            "INSERT INTO accounts (username, display_name, role, password_hash)"
            " VALUES ('sup', 'S', 'supervisor', 'x')"
        )
        for declaration_id, retain in (("OLD", "-1 day"), ("KEPT", "1 day"), ("HELD", "-1 day")):
            conn.execute(
                "INSERT INTO cases (declaration_id, version, outcome, priority, score, summary,"
                " assessed_at, status, disposition, closed_at, retain_until) VALUES"
                " (%s, 1, 'RFI', 3, 30, 's', now(), 'CLOSED', 'RELEASED', now(),"
                " now() + %s::interval)",
                (declaration_id, retain),
            )
            conn.execute(
                "INSERT INTO case_events (case_id, actor, kind)"
                " SELECT case_id, 'system', 'OPENED' FROM cases WHERE declaration_id = %s",
                (declaration_id,),
            )
        # A clearance still in force keeps its case past the retention.
        conn.execute(
            "INSERT INTO clearances (case_id, party_key, role, party_name, entry_id, reason,"
            " expires_on, cleared_by) SELECT case_id, 'k', 'consignee', 'n', 'E', 'a reason here',"
            " current_date + 10, 'sup' FROM cases WHERE declaration_id = 'HELD'"
        )
        with pytest.raises(psycopg.errors.RaiseException, match="retention"):
            conn.execute(
                "DELETE FROM case_events WHERE case_id IN"
                " (SELECT case_id FROM cases WHERE declaration_id = 'KEPT')"
            )
        assert purge_expired(conn) == 1
        left = conn.execute("SELECT declaration_id FROM cases ORDER BY 1").fetchall()
        assert left == [("HELD",), ("KEPT",)]
        assert conn.execute("SELECT count(*) FROM case_events").fetchone() == (2,)


def test_a_hostile_filing_still_makes_its_case(
    settings: Settings,
    worker: object,
    producer: Producer,
    run_id: str,
    workbench: WorkbenchProcess,
) -> None:
    document = filing(f"{run_id}-H", hs_code=ARMS)
    document["consignee"]["name"] = "NUL\u0000 TRADING"
    raw = orjson.dumps(document)[:-1] + b', "huge": 1e400, "long": ' + b"9" * 400 + b"}"
    following = filing(f"{run_id}-N", hs_code=ARMS)
    publish(producer, [(document["declaration_id"].encode(), raw), encode(following)])
    case_id, *_ = _case_of(workbench, document["declaration_id"])
    _case_of(workbench, following["declaration_id"])  # the next one is not held up
    stored = workbench.query(
        "SELECT declaration->'consignee'->>'name', hit ? 'stored_without_nul_characters'"
        " FROM referrals WHERE declaration_id = %s",
        (document["declaration_id"],),
    )
    assert stored == [("NUL TRADING", True)]
    officer = Officer(workbench.url)
    officer.login("officer")
    page = officer.case_page(case_id)
    assert page.status_code == 200
    assert "NUL TRADING" in page.text
    officer.close()


def test_a_session_ends_after_its_idle_time_even_with_the_worklist_open(
    workbench: WorkbenchProcess,
) -> None:
    officer = Officer(workbench.url)
    assert officer.login("officer").status_code == 303
    refresh = {"HX-Request": "true"}

    def idle_for(interval: str) -> None:
        workbench.query(
            "UPDATE web_sessions SET last_seen_at = now() - %s::interval RETURNING 1", (interval,)
        )

    idle_for("7 hours 59 minutes")
    assert officer.client.get("/worklist/rows", headers=refresh).status_code == 200
    # The page's own refresh did not count as use ...
    idle = workbench.query("SELECT now() - last_seen_at > interval '7 hours' FROM web_sessions")
    assert idle == [(True,)]
    # ... the officer's own request does.
    assert officer.client.get("/").status_code == 200
    assert workbench.query(
        "SELECT now() - last_seen_at < interval '1 minute' FROM web_sessions"
    ) == [(True,)]
    idle_for("8 hours 1 minute")
    expired = officer.client.get("/worklist/rows", headers=refresh)
    assert expired.status_code == 401
    assert expired.headers["HX-Redirect"] == "/login"
    assert officer.client.get("/").status_code == 303
    officer.close()


def _house(declaration_id: str, master: str, hs_code: str) -> dict[str, Any]:
    document = filing(declaration_id, hs_code=hs_code)
    document["transport_document"] = {
        "type": "HBL",
        "number": f"HB-{declaration_id}",
        "master_number": master,
    }
    return document


def _master_section(page: str) -> str:
    """The case page's panel of the other houses of its master ('' when there is none)."""
    start = page.find('data-testid="master-houses"')
    return "" if start < 0 else page[start : page.index("</section>", start)]


def test_the_cases_of_one_masters_houses_list_each_other(
    worker: object,
    producer: Producer,
    run_id: str,
    workbench: WorkbenchProcess,
) -> None:
    master = f"MEDU {run_id[-8:].upper()}"
    hrcm = _house(f"{run_id}-MH1", master, ARMS)
    rfi = _house(f"{run_id}-MH2", master.lower().replace(" ", "-"), CHAPTER_ONLY)
    alone = filing(f"{run_id}-MX", hs_code=ARMS)  # a master bill: it names no master
    publish(producer, [encode(hrcm), encode(rfi), encode(alone)])
    hrcm_case, *_ = _case_of(workbench, hrcm["declaration_id"])
    rfi_case, *_ = _case_of(workbench, rfi["declaration_id"])
    alone_case, *_ = _case_of(workbench, alone["declaration_id"])
    stored = workbench.query(
        "SELECT declaration_id, outcome, master_number FROM cases WHERE case_id = ANY(%s)"
        " ORDER BY declaration_id",
        ([hrcm_case, rfi_case, alone_case],),
    )
    key = master.replace(" ", "")
    assert stored == [
        (hrcm["declaration_id"], "HRCM", key),
        (rfi["declaration_id"], "RFI", key),
        (alone["declaration_id"], "HRCM", None),
    ]

    officer = Officer(workbench.url)
    assert officer.login("officer").status_code == 303
    # The RFI is closed: a closed house still shows, with its disposition.
    closed = officer.post(
        f"/cases/{rfi_case}/close", revision=officer.revision(rfi_case), disposition="RELEASED"
    )
    assert closed.status_code == 303

    on_hrcm = _master_section(officer.case_page(hrcm_case).text)
    assert f"Other house filings under master {master}" in on_hrcm
    assert f'<a href="/cases/{rfi_case}">{rfi["declaration_id"]}</a>' in on_hrcm
    assert "RFI" in on_hrcm
    assert "closed: released" in on_hrcm
    assert hrcm["declaration_id"] not in on_hrcm

    on_rfi = _master_section(officer.case_page(rfi_case).text)
    assert f"Other house filings under master {master.lower().replace(' ', '-')}" in on_rfi
    assert f'<a href="/cases/{hrcm_case}">{hrcm["declaration_id"]}</a>' in on_rfi
    assert "HRCM" in on_rfi
    assert rfi["declaration_id"] not in on_rfi

    without = officer.case_page(alone_case).text
    assert alone["declaration_id"] in without
    assert _master_section(without) == ""
    assert "Other house filings" not in without

    # The master written another way finds both houses, the closed one among all cases.
    written = f" {master.lower()} "
    found = officer.client.get("/", params={"q": written, "status": "all"}).text
    assert hrcm["declaration_id"] in found
    assert rfi["declaration_id"] in found
    assert alone["declaration_id"] not in found
    still_open = officer.client.get("/", params={"q": written.replace(" ", "")}).text
    assert hrcm["declaration_id"] in still_open
    assert rfi["declaration_id"] not in still_open
    officer.close()


def test_the_master_queries_read_their_index(database_url: str) -> None:
    with psycopg.connect(database_url, autocommit=True) as conn:
        migrate(conn)
        conn.execute("SET enable_seqscan = off")  # an empty table: ask whether the index can

        def plan(query: str | bytes, params: Sequence[object]) -> str:
            explained = conn.execute(b"EXPLAIN " + _bytes(query), params).fetchall()
            return "\n".join(str(row[0]) for row in explained)

        houses = plan(cases.OTHER_HOUSES, ("MEDU1", "D-1", cases.MAX_MASTER_HOUSES))
        assert "cases_by_master" in houses
        where, params = worklist._conditions(worklist.Filters(q="medu 1", status="all"))
        search = sql.SQL("SELECT case_id FROM cases WHERE {}").format(sql.SQL(" AND ").join(where))
        assert "cases_by_master" in plan(search.as_bytes(conn), params)


def _bytes(query: str | bytes) -> bytes:
    return query.encode() if isinstance(query, str) else query


def test_cases_opened_before_the_master_number_get_it_from_their_filing(
    database_url: str,
) -> None:
    with psycopg.connect(database_url, autocommit=True) as conn:
        for earlier in available()[:2]:
            conn.execute(earlier.sql.encode())
        conn.execute(
            "CREATE TABLE schema_migrations (number integer PRIMARY KEY, name text NOT NULL,"
            " applied_at timestamptz NOT NULL DEFAULT now())"
        )
        conn.execute("INSERT INTO schema_migrations (number, name) VALUES (1, 'a'), (2, 'b')")
        masters = {"H1": "medu 12-34", "H2": "  ", "H3": None, "H4": 1234}
        for declaration_id, master in masters.items():
            conn.execute(
                "INSERT INTO cases (declaration_id, version, outcome, priority, score, summary,"
                " assessed_at) VALUES (%s, 2, 'RFI', 3, 30, 's', now())",
                (declaration_id,),
            )
            for version, number in ((1, "OLD 1"), (2, master)):
                document = {"transport_document": {"type": "HBL", "master_number": number}}
                conn.execute(
                    "INSERT INTO referrals (declaration_id, version, outcome, score, hit,"
                    " declaration, assessed_at) VALUES (%s, %s, 'RFI', 30, '{}', %s, now())",
                    (declaration_id, version, orjson.dumps(document).decode()),
                )
        assert migrate(conn) == [m.name for m in available()[2:]]
        rows = conn.execute("SELECT declaration_id, master_number FROM cases ORDER BY 1").fetchall()
    assert rows == [("H1", "MEDU1234"), ("H2", None), ("H3", None), ("H4", None)]
