"""`sync2gear run` believes X-Forwarded-For only from TRUSTED_PROXIES: neither a
client on the server's own machine nor one behind the shipped nginx can unlock a
locked-out login by sending another X-Forwarded-For."""

from __future__ import annotations

import shutil
import subprocess
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path

import httpx
import pytest

from tests.e2e.conftest import free_port, wait_until_up
from tests.e2e.test_nginx import local_conf

PASSWORD = "a-long-password"
Spawn = Callable[..., subprocess.Popen[bytes]]


def serve(spawn: Spawn, env: dict[str, str]) -> str:
    port = free_port()
    # LOGIN_RATE_LIMIT: the name of the login limit before RATE_LIMIT_LOGIN.
    spawn("run", "--port", str(port), env={
        **env, "RATE_LIMIT_LOGIN": "3/hour", "LOGIN_RATE_LIMIT": "3/hour"})
    base = f"http://127.0.0.1:{port}"
    wait_until_up(base)
    return base


def new_account(http: httpx.Client) -> str:
    email = f"xff-{uuid.uuid4().hex[:8]}@example.com"
    response = http.post("/api/auth/signup/", json={
        "email": email, "password": PASSWORD, "name": "Xena", "client_name": "Proxy Bar"})
    assert response.status_code == 201, response.text
    return email


def log_in(http: httpx.Client, email: str, password: str,
           forwarded_for: str | None = None) -> int:
    headers = {"X-Forwarded-For": forwarded_for} if forwarded_for else {}
    response = http.post("/api/auth/login/", headers=headers,
                         json={"email": email, "password": password})
    return response.status_code


def locked_out_then_spoofing(http: httpx.Client, email: str) -> list[int]:
    """Three wrong passwords, a fourth, then three more and the right one, each
    with an X-Forwarded-For of its own."""
    answers = [log_in(http, email, "wrong") for _ in range(4)]
    answers += [log_in(http, email, "wrong", f"203.0.113.{i}") for i in range(3)]
    return answers + [log_in(http, email, PASSWORD, "203.0.113.99")]


def test_a_client_on_the_same_machine_cannot_unlock_its_login_with_x_forwarded_for(
        spawn: Spawn, process_env: dict[str, str]) -> None:
    with httpx.Client(base_url=serve(spawn, process_env), timeout=15) as http:
        email = new_account(http)
        answers = locked_out_then_spoofing(http, email)

    assert answers == [401] * 3 + [429] * 5


@pytest.fixture
def nginx(tmp_path: Path) -> Iterator[Callable[[int], str]]:
    """The shipped nginx configuration in front of one local API port."""
    started: list[subprocess.Popen[bytes]] = []

    def start(api_port: int) -> str:
        port = free_port()
        conf = tmp_path / "nginx.conf"
        conf.write_text(local_conf((api_port, api_port), port))
        log = open(tmp_path / "nginx.log", "wb")  # noqa: SIM115
        started.append(subprocess.Popen(
            ["nginx", "-p", str(tmp_path), "-c", str(conf), "-g", "daemon off;"],
            stdout=log, stderr=subprocess.STDOUT))
        return f"http://127.0.0.1:{port}"

    yield start
    for proc in started:
        proc.terminate()
        proc.wait(10)


@pytest.mark.skipif(shutil.which("nginx") is None, reason="nginx is not installed")
def test_behind_the_shipped_nginx_logins_count_per_client_and_spoofing_unlocks_nothing(
        spawn: Spawn, process_env: dict[str, str], nginx: Callable[[int], str]) -> None:
    api = serve(spawn, {**process_env, "TRUSTED_PROXIES": "127.0.0.1"})
    base = nginx(int(api.rsplit(":", 1)[1]))
    wait_until_up(base)

    def client_at(address: str) -> httpx.Client:
        # Clients on addresses of their own (all of 127/8 is this machine).
        return httpx.Client(base_url=base, timeout=15,
                            transport=httpx.HTTPTransport(local_address=address))

    # The attacker shares nginx's own address: appending to its X-Forwarded-For
    # (rather than replacing it) would let it name any client it likes.
    with client_at("127.0.0.1") as attacker, client_at("127.0.0.3") as owner:
        email = new_account(owner)
        answers = locked_out_then_spoofing(attacker, email)
        owners = log_in(owner, email, PASSWORD)

    assert answers == [401] * 3 + [429] * 5
    assert owners == 200
