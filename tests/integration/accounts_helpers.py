"""Helpers for the accounts route tests: signing up through the API and reading results."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import Any
from uuid import UUID

import httpx
import jwt
from fastapi.testclient import TestClient

PASSWORD = "correct horse battery"
PROBLEM = "application/problem+json"


def unique_email(label: str = "user") -> str:
    return f"{label}-{uuid.uuid4().hex[:12]}@example.com"


@dataclass
class Account:
    """A user signed up (or logged in) through the API, with its latest token pair."""

    email: str
    password: str
    user: dict[str, Any]
    access: str
    refresh: str
    position: int

    @property
    def user_id(self) -> str:
        return str(self.user["id"])

    @property
    def client_id(self) -> str:
        return str(self.user["client_id"])

    @property
    def auth(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.access}"}

    def waiting(self, position: int | None = None) -> dict[str, str]:
        """Auth headers that also wait for the read model to reach `position`."""
        return {**self.auth, "X-Wait-For-Position": str(position or self.position)}


def signup(client: TestClient, email: str | None = None, password: str = PASSWORD,
           **extra: Any) -> Account:
    email = email or unique_email()
    body = {"email": email, "password": password, "name": "Ann Example",
            "client_name": "Ann's Cafe", **extra}
    response = client.post("/api/auth/signup/", json=body)
    assert response.status_code == 201, response.text
    return account_of(response, email, password)


def login(client: TestClient, email: str, password: str = PASSWORD) -> Account:
    response = client.post("/api/auth/login/", json={"email": email, "password": password})
    assert response.status_code == 200, response.text
    return account_of(response, email, password)


def account_of(response: httpx.Response, email: str, password: str) -> Account:
    data = response.json()
    return Account(email=email, password=password, user=data["user"], access=data["access"],
                   refresh=data["refresh"], position=int(response.headers["X-Event-Position"]))


def claims_of(token: str) -> dict[str, Any]:
    """A JWT's claims, read without checking the signature."""
    claims: dict[str, Any] = jwt.decode(token, options={"verify_signature": False})
    return claims


def session_id_of(refresh_token: str) -> UUID:
    return UUID(claims_of(refresh_token)["sid"])


def assert_problem(response: httpx.Response, status: int) -> dict[str, Any]:
    """The response is an RFC 9457 problem document with `status`; returns its body."""
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith(PROBLEM)
    body: dict[str, Any] = response.json()
    assert body["status"] == status
    assert body["type"].startswith("https://")
    assert isinstance(body["title"], str) and body["title"]
    assert isinstance(body["detail"], str) and body["detail"]
    return body


def assert_unauthorized(response: httpx.Response) -> dict[str, Any]:
    body = assert_problem(response, 401)
    assert response.headers["WWW-Authenticate"] == "Bearer"
    return body


def all_pages(client: TestClient, url: str, headers: dict[str, str]) -> list[dict[str, Any]]:
    """Every result of a paginated list, following its `next` links."""
    results: list[dict[str, Any]] = []
    next_url: str | None = url
    while next_url:
        response = client.get(next_url, headers=headers)
        assert response.status_code == 200, response.text
        page = response.json()
        results.extend(page["results"])
        next_url = page["next"]
    return results
