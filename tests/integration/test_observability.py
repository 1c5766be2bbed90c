"""Watchable in production: Prometheus metrics at /metrics, one JSON line per log
record naming the request and its actor."""

from __future__ import annotations

import json
import logging
import re
import threading
import time
import urllib.request
import uuid
from collections.abc import Iterator
from pathlib import Path

import dramatiq
import httpx
import pytest
import uvicorn
from dramatiq.broker import MessageProxy
from fastapi.testclient import TestClient
from prometheus_client.parser import text_string_to_metric_families

from domain.base import Actor, CommandContext
from infra.bootstrap import Container, bootstrap
from infra.logs import configure_logging
from infra.metrics import JobMetrics
from infra.settings import Settings
from interfaces.http.app import create_app
from tests.audio_factory import make_wav
from tests.conftest import make_settings
from tests.integration.accounts_helpers import signup
from tests.integration.conftest import free_port
from tests.integration.library_fixtures import upload_track, wait_for_track

CTX = CommandContext(Actor.system("test"), "observability")
DASHBOARD = Path(__file__).parents[2] / "infra" / "observability" / "grafana" / "dashboards"


def scrape(client: TestClient) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    response = client.get("/metrics")
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith("text/plain")
    return {(s.name, tuple(sorted(s.labels.items()))): s.value
            for family in text_string_to_metric_families(response.text)
            for s in family.samples}


def value(samples: dict[tuple[str, tuple[tuple[str, str], ...]], float], name: str,
          **labels: str) -> float:
    return samples.get((name, tuple(sorted(labels.items()))), 0.0)


def test_commands_are_counted_by_type_and_outcome(client: TestClient) -> None:
    owner = signup(client)
    zone = client.post("/api/zones/", json={"name": "Bar"}, headers=owner.auth).json()
    before = scrape(client)

    ok = client.post("/api/playback/volume/", json={"zone_id": zone["id"], "volume": 40},
                     headers=owner.auth)
    assert ok.status_code == 200, ok.text
    stranger = signup(client)
    refused = client.post("/api/playback/volume/", json={"zone_id": zone["id"], "volume": 50},
                          headers=stranger.auth)
    assert refused.status_code == 404
    rejected = client.post("/api/playback/next/", json={"zone_id": zone["id"]},
                           headers=owner.auth)  # nothing queued: a broken rule
    assert 400 <= rejected.status_code < 500

    after = scrape(client)
    for outcome, command in (("ok", "SetVolume"), ("refused", "SetVolume"),
                             ("rejected", "Next")):
        key = {"command": command, "outcome": outcome}
        assert value(after, "s2g_commands_total", **key) \
            == value(before, "s2g_commands_total", **key) + 1, key
    assert value(after, "s2g_command_seconds_count", command="SetVolume") \
        == value(before, "s2g_command_seconds_count", command="SetVolume") + 1


def test_requests_are_measured_by_route_template(client: TestClient) -> None:
    owner = signup(client)
    zone = client.post("/api/zones/", json={"name": "Hall"}, headers=owner.auth).json()
    before = scrape(client)
    for _ in range(3):
        assert client.get(f"/api/zones/{zone['id']}/", headers=owner.auth).status_code == 200
    missing = client.get(f"/api/zones/{uuid.uuid4()}/", headers=owner.auth)
    assert missing.status_code == 404
    stray = f"/api/no-such-thing/{uuid.uuid4()}/"
    assert client.get(stray).status_code == 404
    after = scrape(client)
    key = {"handler": "/api/zones/{zone_id}/", "method": "GET", "status": "2xx"}
    assert value(after, "http_requests_total", **key) \
        == value(before, "http_requests_total", **key) + 3
    key["status"] = "4xx"
    assert value(after, "http_requests_total", **key) \
        == value(before, "http_requests_total", **key) + 1
    assert value(after, "http_request_duration_seconds_count", handler=key["handler"],
                 method="GET") == value(before, "http_request_duration_seconds_count",
                                        handler=key["handler"], method="GET") + 4
    assert not any(name.startswith("http_request") and (zone["id"] in str(labels)
                                                        or "no-such-thing" in str(labels))
                   for name, labels in after)  # ids and unknown paths never become labels


def test_system_gauges_are_read_at_scrape_time(client: TestClient, container: Container) -> None:
    owner = signup(client)
    position = owner.position
    container.wait("accounts_view", position, timeout=10)
    samples = scrape(client)
    views = {dict(labels)["view"] for name, labels in samples
             if name == "s2g_projection_lag_events"}
    assert views == set(container.projection_lag())
    for view in views:
        assert value(samples, "s2g_projection_lag_seconds", view=view) >= 0
    assert ("s2g_devices_online", ()) in samples and ("s2g_devices", ()) in samples
    assert ("s2g_job_queue_messages", (("queue", "media"),)) in samples
    assert ("s2g_job_dead_letters", (("queue", "media"),)) in samples
    assert ("s2g_websocket_connections", ()) in samples

    zone = client.post("/api/zones/", json={"name": "Live"}, headers=owner.auth).json()
    with client.websocket_connect(f"/ws/playback/{zone['id']}/?token={owner.access}") as socket:
        socket.receive_json()
        during = scrape(client)
        assert value(during, "s2g_websocket_connections") \
            == value(samples, "s2g_websocket_connections") + 1


def test_devices_jobs_and_the_scheduler_move_their_metrics(
        client: TestClient, container: Container, tmp_path: Path) -> None:
    owner = signup(client)
    zone = client.post("/api/zones/", json={"name": "Shop"}, headers=owner.auth).json()
    before = scrape(client)

    code = client.post(f"/api/zones/{zone['id']}/pairing-code/", headers=owner.auth).json()
    paired = client.post("/api/devices/pair/", json={
        "code": code["code"], "device_id": f"hw-{uuid.uuid4().hex[:10]}", "name": "Speaker",
        "device_type": "speaker"})
    assert paired.status_code == 201, paired.text
    device, token = paired.json()["device"], paired.json()["token"]
    beat = client.post(f"/api/devices/{device['id']}/heartbeat/",
                       headers={"Authorization": f"Bearer {token}"})
    assert beat.status_code == 200, beat.text
    container.wait("devices_view", int(beat.headers["X-Event-Position"]), timeout=10)

    wav = make_wav(tmp_path / "metrics.wav", 1, freq=523)
    track, position = upload_track(client, owner, (wav.name, wav.read_bytes(), "audio/wav"))
    wait_for_track(client, owner, track["id"], position)
    container.scheduler.tick()

    after = scrape(client)
    assert value(after, "s2g_devices") == value(before, "s2g_devices") + 1
    assert value(after, "s2g_devices_online") == value(before, "s2g_devices_online") + 1
    done = {"actor": "extract_metadata", "outcome": "ok"}
    assert value(after, "s2g_jobs_total", **done) >= value(before, "s2g_jobs_total", **done) + 1
    assert value(after, "s2g_scheduler_ticks_total") \
        == value(before, "s2g_scheduler_ticks_total") + 1


def test_failed_jobs_are_counted_as_retried_then_failed(client: TestClient,
                                                       container: Container) -> None:
    """dramatiq tells its middleware of each processed message; a job that raised is
    `retried` while it has retries left, `failed` once they are spent."""
    before = scrape(client)
    metrics = JobMetrics()
    broker = container.jobs.broker
    for retries in (0, 8):
        message = dramatiq.Message(queue_name="media", actor_name="extract_metadata",
                                   args=(), kwargs={},
                                   options={"retries": retries, "max_retries": 8})
        metrics.after_process_message(broker, MessageProxy(message),
                                      exception=RuntimeError("disk full"))
    after = scrape(client)
    for outcome in ("retried", "failed"):
        key = {"actor": "extract_metadata", "outcome": outcome}
        assert value(after, "s2g_jobs_total", **key) == value(before, "s2g_jobs_total", **key) + 1


def test_lag_and_job_queues_move_when_events_and_jobs_wait(
        own_database: str, servers: dict[str, str], tmp_path: Path) -> None:
    """A store whose views are not followed (no projections started): each event
    written is one more behind; a job sent with no worker waits in its queue."""
    prefix = f"s2g-obs-{uuid.uuid4().hex}:"
    other = bootstrap(make_settings(own_database, servers, prefix, tmp_path),
                      start_projections=False, start_workers=False)
    try:
        assert other.metrics is not None
        app = TestClient(create_app(other))
        with app:
            before = scrape(app)
            # three events: the zone, and its client's roster opened and the zone added
            other.playback.create_zone(CTX, uuid.uuid4(), name="Unwatched")
            other.jobs.extract_metadata.send(str(uuid.uuid4()))
            after = scrape(app)
        zones_views = [dict(labels)["view"] for name, labels in after
                       if name == "s2g_projection_lag_events"
                       and dict(labels)["view"].startswith("zones_view")]
        assert zones_views
        for view in zones_views:
            assert value(after, "s2g_projection_lag_events", view=view) \
                == value(before, "s2g_projection_lag_events", view=view) + 3
        assert value(after, "s2g_job_queue_messages", queue="media") \
            == value(before, "s2g_job_queue_messages", queue="media") + 1
    finally:
        other.close()


def test_a_lagging_view_reports_events_and_seconds_behind(container: Container) -> None:
    collector = container.metrics.collector if container.metrics else None
    assert collector is not None
    ticks = iter([100.0, 107.5, 110.0])
    lags = iter([{"zones": 0}, {"zones": 4}, {"zones": 0}])
    probe = type(collector)(lag=lambda: next(lags), devices=lambda: (0, 0),
                            queues=lambda: {}, clock=lambda: next(ticks))

    def lag() -> tuple[float, float]:
        families = {f.name: f for f in probe.collect()}
        return (families["s2g_projection_lag_events"].samples[0].value,
                families["s2g_projection_lag_seconds"].samples[0].value)

    assert lag() == (0, 0.0)   # caught up at t=100
    assert lag() == (4, 7.5)   # at t=107.5: 4 events behind, since t=100
    assert lag() == (0, 0.0)


def test_metrics_are_documented_in_the_openapi_schema(client: TestClient) -> None:
    operation = client.get("/api/openapi.json").json()["paths"]["/metrics"]["get"]
    assert operation["summary"] and operation["description"]


def test_processes_without_the_api_serve_metrics_on_their_port(container: Container) -> None:
    assert container.metrics is not None
    port = free_port()
    container.metrics.serve(port, addr="127.0.0.1")
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=5) as r:
            text = r.read().decode()
    finally:
        container.metrics.close()
    assert "s2g_projection_lag_events" in text and "s2g_commands_total" in text


def test_the_dashboard_shows_only_metrics_that_exist(client: TestClient) -> None:
    owner = signup(client)
    client.post("/api/zones/", json={"name": "Dash"}, headers=owner.auth)
    exposed = {f.name for f in text_string_to_metric_families(client.get("/metrics").text)}
    exposed |= {f"{name}_{suffix}" for name in exposed
                for suffix in ("total", "count", "sum", "bucket", "created")}
    dashboards = list(DASHBOARD.glob("*.json"))
    assert dashboards
    used = {name for d in dashboards for panel in json.loads(d.read_text())["panels"]
            for target in panel.get("targets", ())
            for name in re.findall(r"\b(s2g_\w+|http_\w+)", target["expr"])}
    assert used and used <= exposed, used - exposed


@pytest.fixture
def json_logs(settings: Settings) -> Iterator[list[str]]:
    """Log as production does, into a list of lines."""
    lines: list[str] = []
    configure_logging(settings.model_copy(update={"log_format": "json"}))
    root = logging.getLogger()

    class Lines(logging.Handler):
        def emit(self, record: logging.LogRecord) -> None:
            lines.append(self.format(record))

    capture = Lines()
    capture.setFormatter(root.handlers[0].formatter)
    root.addHandler(capture)
    try:
        yield lines
    finally:
        root.removeHandler(capture)


def test_log_lines_are_json_with_the_request_id_and_actor(container: Container,
                                                          json_logs: list[str]) -> None:
    """A real server, configured as `sync2gear run` configures it: its access log
    line for a request names the request id and the caller."""
    port = free_port()
    server = uvicorn.Server(uvicorn.Config(create_app(container), host="127.0.0.1", port=port,
                                           log_config=None, access_log=True))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    try:
        deadline = time.monotonic() + 20
        while not server.started and time.monotonic() < deadline:
            time.sleep(0.05)
        with httpx.Client(base_url=f"http://127.0.0.1:{port}") as http:
            owner = signup(http)  # type: ignore[arg-type]
            response = http.get("/api/zones/", headers={**owner.auth, "X-Request-ID": "req-42"})
            assert response.status_code == 200
    finally:
        server.should_exit = True
        thread.join(20)
    records = [json.loads(line) for line in json_logs]  # every line is JSON
    [access] = [r for r in records if r.get("request_id") == "req-42"]
    assert access["logger"] == "uvicorn.access" and access["level"] == "info"
    assert access["actor"] == f"user:{owner.user_id}"
    assert "GET /api/zones/" in access["event"] and "timestamp" in access
    unauthenticated = [r for r in records if "/api/auth/signup/" in r.get("event", "")]
    assert unauthenticated and "actor" not in unauthenticated[0]  # nothing left over
