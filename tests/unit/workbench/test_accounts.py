from __future__ import annotations

import pytest

from pipeline.workbench.accounts import Account, check_password_rules
from pipeline.workbench.web import _local


def test_roles() -> None:
    assert Account("a", "A", "officer").can_work
    assert not Account("a", "A", "officer").is_supervisor
    assert Account("s", "S", "supervisor").is_supervisor
    assert not Account("r", "R", "analyst").can_work


def test_short_passwords_are_refused() -> None:
    with pytest.raises(ValueError, match="at least 12"):
        check_password_rules("short")
    check_password_rules("long enough password")


@pytest.mark.parametrize(
    ("target", "kept"),
    [
        ("/cases/3", "/cases/3"),
        ("//evil.example/x", "/"),
        ("https://evil.example/", "/"),
        ("/\\evil.example", "/"),
        ("", "/"),
    ],
)
def test_after_login_only_a_path_of_this_site(target: str, kept: str) -> None:
    assert _local(target) == kept
