"""The API and the projection runner as separate real processes."""

from __future__ import annotations

import uuid

import httpx

from tests.e2e.conftest import free_port, wait_until_up


def test_api_and_separate_projection_process_serve_read_your_writes(spawn, process_env):
    port = free_port()
    env = {**process_env, "PROJECTIONS_IN_PROCESS": "false"}
    spawn("run", "--port", str(port), env=env)
    # Two runners: the advisory lock lets one work while the other stands by.
    spawn("projections", env=env)
    spawn("projections", env=env)
    base = f"http://127.0.0.1:{port}"
    wait_until_up(base)

    email = f"e2e-{uuid.uuid4().hex[:8]}@example.com"
    with httpx.Client(base_url=base, timeout=10) as http:
        signup = http.post("/api/auth/signup/", json={
            "email": email, "password": "a-long-password", "name": "Eve",
            "client_name": "Eve's Hotel", "timezone": "Europe/Paris",
        }, headers={"X-Request-ID": "e2e-signup-1"})
        assert signup.status_code == 201, signup.text
        assert signup.headers["X-Request-ID"] == "e2e-signup-1"
        position = signup.headers["X-Event-Position"]

        login = http.post("/api/auth/login/", json={"email": email, "password": "a-long-password"})
        assert login.status_code == 200, login.text
        bearer = {"Authorization": f"Bearer {login.json()['access']}"}

        me = http.get("/api/auth/me/", headers={**bearer, "X-Wait-For-Position": position})
        assert me.status_code == 200, me.text
        assert me.json()["email"] == email
        assert me.json()["timezone"] == "Europe/Paris"

        patched = http.patch("/api/auth/me/", json={"name": "Eve Adams"}, headers=bearer)
        assert patched.status_code == 200
        me = http.get("/api/auth/me/", headers={
            **bearer, "X-Wait-For-Position": patched.headers["X-Event-Position"]})
        assert me.json()["name"] == "Eve Adams"

        ready = http.get("/api/ready/").json()
        assert ready["checks"]["postgres"] == "ok" and ready["checks"]["redis"] == "ok"
