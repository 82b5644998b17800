"""An HTTP client's cookies for the workbench on loopback, kept as a browser keeps them."""

from __future__ import annotations

from collections.abc import Generator

import httpx


class LoopbackCookies(httpx.Auth):
    """Keeps the workbench's cookies as a browser does for http://127.0.0.1, which it treats
    as a secure origin: httpx's own jar would hold back the Secure cookies over plain HTTP."""

    def __init__(self) -> None:
        self.cookies: dict[str, str] = {}

    def auth_flow(self, request: httpx.Request) -> Generator[httpx.Request, httpx.Response, None]:
        if self.cookies:
            request.headers["Cookie"] = "; ".join(f"{k}={v}" for k, v in self.cookies.items())
        response = yield request
        for header in response.headers.get_list("set-cookie"):
            name, _, rest = header.partition("=")
            value = rest.split(";", 1)[0]
            if "Max-Age=0" in header or "expires=Thu, 01 Jan 1970" in header or not value:
                self.cookies.pop(name, None)
            else:
                self.cookies[name] = value.strip('"')
