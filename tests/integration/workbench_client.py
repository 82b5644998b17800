"""An officer's browser, as far as the tests need one: log in, read pages, post forms."""

from __future__ import annotations

import re

import httpx

from load_tests.http_session import LoopbackCookies
from tests.integration.workbench import DEMO_PASSWORD

_CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')
_LOGIN_TOKEN = re.compile(r'name="login_token" value="([^"]+)"')
_REVISION = re.compile(r'name="revision" value="(\d+)"')


class Officer:
    def __init__(self, base_url: str) -> None:
        self.client = httpx.Client(
            base_url=base_url, follow_redirects=False, timeout=30, auth=LoopbackCookies()
        )
        self.csrf = ""

    def login(self, username: str, password: str = DEMO_PASSWORD) -> httpx.Response:
        form = self.client.get("/login")
        token = _LOGIN_TOKEN.search(form.text)
        assert token, form.text
        answer = self.client.post(
            "/login",
            data={"username": username, "password": password, "login_token": token.group(1)},
        )
        if answer.status_code == 303:
            page = self.client.get("/")
            found = _CSRF.search(page.text)
            assert found, page.text
            self.csrf = found.group(1)
        return answer

    def case_page(self, case_id: int) -> httpx.Response:
        return self.client.get(f"/cases/{case_id}")

    def revision(self, case_id: int) -> int:
        found = _REVISION.search(self.case_page(case_id).text)
        assert found, "no form with a revision on the case page"
        return int(found.group(1))

    def post(self, path: str, **form: object) -> httpx.Response:
        data = {"csrf_token": self.csrf, **{k: str(v) for k, v in form.items()}}
        return self.client.post(path, data=data)

    def close(self) -> None:
        self.client.close()
