"""A thin caller of the HTTP API for golden stores: checked status, read-your-writes."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from typing import Any

import httpx
from fastapi.testclient import TestClient

from tests.integration.accounts_helpers import all_pages
from tests.integration.library_fixtures import fetch


@dataclass
class Api:
    """Calls as one bearer token (or none); remembers the last command's event position
    (positions count per application: a query waits for its own application's)."""

    http: TestClient
    token: str | None = None
    position: int = 0
    headers: dict[str, str] = field(default_factory=dict)

    def as_(self, token: str | None) -> Api:
        return Api(self.http, token, self.position)

    @property
    def auth(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token}"} if self.token else {}

    def call(self, method: str, url: str, status: int = 200, **kw: Any) -> httpx.Response:
        headers = {**self.auth, **kw.pop("headers", {})}
        response: httpx.Response = self.http.request(method, url, headers=headers, **kw)
        assert response.status_code == status, f"{method} {url}: {response.text}"
        if "X-Event-Position" in response.headers:
            self.position = int(response.headers["X-Event-Position"])
        return response

    def get(self, url: str, status: int = 200, *, waiting: bool = False, **kw: Any) -> Any:
        return self.call("GET", url, status, headers=self._wait(waiting), **kw).json()

    def post(self, url: str, status: int = 200, **kw: Any) -> Any:
        return self.call("POST", url, status, **kw).json()

    def patch(self, url: str, status: int = 200, **kw: Any) -> Any:
        return self.call("PATCH", url, status, **kw).json()

    def pages(self, url: str, *, waiting: bool = False) -> list[dict[str, Any]]:
        """Every item of a list; `waiting`: once its read model has caught up with
        this caller's last command (of the same application)."""
        return all_pages(self.http, url, {**self.auth, **self._wait(waiting)})

    def _wait(self, waiting: bool) -> dict[str, str]:
        return {"X-Wait-For-Position": str(self.position)} if waiting else {}

    def sha256_of(self, signed_url: str) -> str:
        """The SHA-256 of what a signed media URL serves."""
        response = fetch(self.http, signed_url)
        assert response.status_code == 200, response.text
        return hashlib.sha256(response.content).hexdigest()
