"""``screening acl``: the table printed, applied through a fake admin client, bad input refused
with one line and exit code 2."""

from __future__ import annotations

import pytest

from pipeline.cli import acl as acl_cli
from pipeline.cli.main import main
from pipeline.kafka import acls
from tests.unit.kafka.test_acls import FakeAdmin


@pytest.fixture
def admin(monkeypatch: pytest.MonkeyPatch) -> FakeAdmin:
    fake = FakeAdmin()
    monkeypatch.setattr(acl_cli, "check_access", lambda settings: None)
    monkeypatch.setattr(acl_cli, "admin_client", lambda settings: fake)
    return fake


@pytest.mark.parametrize(
    "argv",
    [
        ["acl", "show", "--principal", "nobody"],
        ["acl", "apply", "-p", "filer-gateway", "-p", "admin"],
        ["acl", "apply", "--no-such-flag"],
        ["acl", "add-gateway"],
        ["acl", "add-gateway", "gw north"],
        ["acl", "add-gateway", "screening-pipeline"],
        ["acl", "add-gateway", "gw-north", "--group", "customs-workbench"],
        ["acl", "add-gateway", "gw-north", "--group", "screening-reader-x"],
        ["acl", "remove-gateway", "customs-it"],
        ["acl", "remove-gateway"],
    ],
)
def test_bad_input_is_one_line_and_exit_code_2(
    argv: list[str], admin: FakeAdmin, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(argv) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("screening: error: ")
    assert "\n" not in err
    assert admin.calls == []


def test_show_prints_every_role_and_the_reasons(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["acl", "show"]) == 0
    out = capsys.readouterr().out
    for role in acls.ROLES:
        assert f"User:{role.principal}: {role.who}" in out
        for grant in role.grants:
            assert grant.why in out


def test_show_markdown_is_the_generated_table(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["acl", "show", "--markdown", "-p", "filer-gateway"]) == 0
    assert capsys.readouterr().out == acls.markdown_table([acls.TABLE["filer-gateway"]])


def test_show_by_topic_is_the_generated_topic_table(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["acl", "show", "--by-topic"]) == 0
    assert capsys.readouterr().out == acls.topic_table()


def test_apply_creates_then_finds_them_present(
    admin: FakeAdmin, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["acl", "apply", "-p", "filer-gateway"]) == 0
    err = capsys.readouterr().err
    assert "create: User:filer-gateway ALLOW Read on topic customs.filer.notices.v1" in err
    assert "acl: 4 created, 0 present, 0 deleted, 0 not in the table (filer-gateway)" in err
    assert main(["acl", "apply", "-p", "filer-gateway", "--prune"]) == 0
    assert "acl: 0 created, 4 present, 0 deleted" in capsys.readouterr().err


def test_add_and_remove_a_gateway(admin: FakeAdmin, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["acl", "add-gateway", "gw-north", "--dry-run"]) == 0
    assert "acl: 4 to create" in capsys.readouterr().err
    assert admin.bindings == set()
    assert main(["acl", "add-gateway", "gw-north"]) == 0
    assert "create: User:gw-north ALLOW Read on group gw-north" in capsys.readouterr().err
    assert admin.bindings == set(acls.gateway_role("gw-north").bindings())
    assert main(["acl", "remove-gateway", "gw-north"]) == 0
    assert "acl: 0 created, 0 present, 4 deleted" in capsys.readouterr().err
    assert admin.bindings == set()
