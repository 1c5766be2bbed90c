"""Set-up through the public API: a tenant, a folder of tracks, zones that play it."""

from __future__ import annotations

import io
import time
import uuid
import wave
from dataclasses import dataclass

import httpx


@dataclass(frozen=True)
class Tenant:
    token: str  # a client user's access token
    client_id: str
    folder_id: str  # a music folder with a few long tracks, ready to play

    @property
    def auth(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token}"}


def wav(seconds: int) -> bytes:
    """A silent mono WAV: long enough that the playback clock never advances it here."""
    out = io.BytesIO()
    with wave.open(out, "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(1)
        w.setframerate(4000)
        w.writeframes(b"\x80" * 4000 * seconds)
    return out.getvalue()


# A bench measures the system, not a plan: far more than any bench makes.
UNLIMITED = {"max_zones": 100_000, "max_devices": 100_000, "max_schedules": 100_000,
             "max_storage_gb": 100_000}


def tenant(base: str, admin_token: str, tracks: int = 3) -> Tenant:
    """Sign up a new client with no plan limit in the way (by the admin of
    `admin_token`) and upload `tracks` ten-minute tracks into one folder."""
    with httpx.Client(base_url=base, timeout=60) as http:
        body = _ok(http.post("/api/auth/signup/", json={
            "email": f"bench-{uuid.uuid4().hex[:10]}@example.com",
            "password": "bench-password", "name": "Bench", "client_name": "Bench"})).json()
        _ok(http.patch(f"/api/admin/clients/{body['user']['client_id']}/", json=UNLIMITED,
                       headers={"Authorization": f"Bearer {admin_token}"}))
        auth = {"Authorization": f"Bearer {body['access']}"}
        folder = _ok(http.post("/api/music/folders/", json={"name": "Bench"},
                               headers=auth)).json()["id"]
        if tracks:
            _upload(http, auth, folder, tracks)
    return Tenant(body["access"], body["user"]["client_id"], folder)


def _upload(http: httpx.Client, auth: dict[str, str], folder: str, tracks: int) -> None:
    files = [("files", (f"bench-{i}.wav", wav(600 + i), "audio/wav")) for i in range(tracks)]
    up = _ok(http.post("/api/music/upload/", headers=auth, data={"folder_id": folder},
                       files=files))
    _ok(http.get("/api/music/files/", headers={  # until the library has read them
        **auth, "X-Wait-For-Position": up.headers["X-Event-Position"]}))
    _measured(http, auth, folder, tracks)


def _measured(http: httpx.Client, auth: dict[str, str], folder: str, tracks: int,
              timeout: float = 600) -> None:
    """Wait until the metadata jobs have measured every track: measuring is the
    heaviest job there is, and a bench must not time commands against it."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        page = _ok(http.get("/api/music/files/", headers=auth,
                            params={"folder": folder, "page_size": tracks})).json()
        if sum(bool(t["has_waveform"]) for t in page["results"]) >= tracks:
            return
        time.sleep(0.5)
    raise TimeoutError(f"the {tracks} bench tracks were not measured in {timeout:.0f} s")


def playing_zones(base: str, owner: Tenant, count: int) -> list[str]:
    """`count` new zones of the tenant, each playing its folder."""
    zones = []
    with httpx.Client(base_url=base, timeout=60, headers=owner.auth) as http:
        for i in range(count):
            zone = _ok(http.post("/api/zones/", json={"name": f"Bench {i}"})).json()["id"]
            _ok(http.post("/api/playback/play/",
                          json={"zone_id": zone, "folder_ids": [owner.folder_id]}))
            zones.append(zone)
    return zones


def _ok(response: httpx.Response) -> httpx.Response:
    if response.is_error:
        raise RuntimeError(f"{response.request.method} {response.request.url}: "
                           f"{response.status_code} {response.text[:500]}")
    return response
