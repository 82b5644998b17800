"""Officers' accounts, their passwords (argon2id) and their sessions.

A session token is 32 random bytes given to the browser in an HttpOnly cookie; the database
keeps only its SHA-256, so a copy of the table logs nobody in. Each session has its own CSRF
token, which every form and every htmx request sends back.
"""

from __future__ import annotations

import hashlib
import re
import secrets
from dataclasses import dataclass
from typing import Any, Literal

import psycopg
from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

__all__ = ["DEMO_ACCOUNTS", "ROLES", "Account", "check_password_rules", "upsert"]

Role = Literal["officer", "supervisor", "analyst"]
ROLES: tuple[Role, ...] = ("officer", "supervisor", "analyst")
DEMO_ACCOUNTS: tuple[tuple[str, str, Role], ...] = (
    ("officer", "Demo Officer", "officer"),
    ("supervisor", "Demo Supervisor", "supervisor"),
    ("analyst", "Demo Analyst", "analyst"),
)
USERNAME = re.compile(r"^[a-z0-9._-]{2,64}$")
MIN_PASSWORD = 12

_HASHER = PasswordHasher()
# Verified against when the user does not exist, so that a wrong name takes as long as a
# wrong password and the login page tells nobody which names exist.
_DUMMY_HASH = _HASHER.hash(secrets.token_urlsafe(16))


@dataclass(frozen=True)
class Account:
    username: str
    display_name: str
    role: Role

    @property
    def can_work(self) -> bool:
        return self.role in ("officer", "supervisor")

    @property
    def is_supervisor(self) -> bool:
        return self.role == "supervisor"


@dataclass(frozen=True)
class Session:
    account: Account
    csrf_token: str


def check_password_rules(password: str) -> None:
    if len(password) < MIN_PASSWORD:
        raise ValueError(f"a password needs at least {MIN_PASSWORD} characters")


def upsert(
    conn: psycopg.Connection[Any], username: str, display_name: str, role: Role, password: str
) -> None:
    """Create the account, or reset its name, role and password; sessions of a reset end."""
    if not USERNAME.match(username):
        raise ValueError("a user name is 2-64 of a-z 0-9 . _ -")
    if role not in ROLES:
        raise ValueError(f"role must be one of {', '.join(ROLES)}")
    check_password_rules(password)
    with conn.transaction():
        conn.execute(
            "INSERT INTO accounts (username, display_name, role, password_hash)"
            " VALUES (%s, %s, %s, %s) ON CONFLICT (username) DO UPDATE SET"
            " display_name = EXCLUDED.display_name, role = EXCLUDED.role,"
            " password_hash = EXCLUDED.password_hash, active = true",
            (username, display_name, role, _HASHER.hash(password)),
        )
        conn.execute("DELETE FROM web_sessions WHERE username = %s", (username,))


def authenticate(conn: psycopg.Connection[Any], username: str, password: str) -> Account | None:
    row = conn.execute(
        "SELECT username, display_name, role, password_hash FROM accounts"
        " WHERE username = %s AND active",
        (username,),
    ).fetchone()
    stored = row[3] if row is not None else _DUMMY_HASH
    try:
        _HASHER.verify(stored, password)
    except (VerificationError, InvalidHashError):
        return None
    if row is None:
        return None
    if _HASHER.check_needs_rehash(stored):
        conn.execute(
            "UPDATE accounts SET password_hash = %s WHERE username = %s",
            (_HASHER.hash(password), username),
        )
    return Account(row[0], row[1], row[2])


def open_session(conn: psycopg.Connection[Any], account: Account) -> tuple[str, str]:
    """Start a session; return the token for the cookie and the session's CSRF token."""
    token = secrets.token_urlsafe(32)
    csrf = secrets.token_urlsafe(32)
    conn.execute(
        "INSERT INTO web_sessions (token_hash, username, csrf_token) VALUES (%s, %s, %s)",
        (_digest(token), account.username, csrf),
    )
    return token, csrf


def session_for(
    conn: psycopg.Connection[Any], token: str, idle_s: int, touch: bool = True
) -> Session | None:
    """The live session of a cookie's token; None when unknown or idle too long. ``touch``
    counts the request as use: the worklist's own refresh does not, so a page left open does
    not keep its session alive."""
    live = (
        " s.token_hash = %s AND a.username = s.username AND a.active"
        " AND s.last_seen_at > now() - make_interval(secs => %s)"
    )
    columns = "a.username, a.display_name, a.role, s.csrf_token"
    if touch:
        query = (
            f"UPDATE web_sessions s SET last_seen_at = now() FROM accounts a WHERE{live}"
            f" RETURNING {columns}"
        )
    else:
        query = f"SELECT {columns} FROM web_sessions s, accounts a WHERE{live}"
    row = conn.execute(query, (_digest(token), idle_s)).fetchone()
    if row is None:
        return None
    return Session(Account(row[0], row[1], row[2]), row[3])


def close_session(conn: psycopg.Connection[Any], token: str) -> None:
    conn.execute("DELETE FROM web_sessions WHERE token_hash = %s", (_digest(token),))


def usernames(conn: psycopg.Connection[Any], roles: tuple[Role, ...] = ROLES) -> list[str]:
    rows = conn.execute(
        "SELECT username FROM accounts WHERE active AND role = ANY(%s) ORDER BY username",
        (list(roles),),
    ).fetchall()
    return [row[0] for row in rows]


def _digest(token: str) -> bytes:
    return hashlib.sha256(token.encode("ascii", "replace")).digest()
