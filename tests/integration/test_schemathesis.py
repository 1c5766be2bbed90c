"""Every API operation fuzzed from its own OpenAPI description (schemathesis).

A signed-up user sends schemathesis's generated requests, valid and invalid:
no answer may be a server error, and every answer must be documented (status
code, content type, headers, body schema). Half of the generated path ids are
swapped for objects the user owns (a zone, a track, ...), so that the routes
get past their 404s too. The example count is bounded so that the whole run
stays within a few minutes on two cores; every operation is tried, and all the
operations that failed are reported together.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import schemathesis
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis.errors import Unsatisfiable
from schemathesis import GenerationMode, checks
from schemathesis.core.failures import FailureGroup

from infra.bootstrap import Container
from interfaces.http.app import create_app
from interfaces.http.deps import MAX_PAGE
from tests.audio_factory import make_wav
from tests.integration.accounts_helpers import Account, signup

MAX_EXAMPLES = 10

# The admin routes have their own fuzz test, as an admin (test_admin_fuzz.py).
EXCLUDED_PATHS = "^/api/admin/"


@pytest.fixture(scope="module")
def fuzzer(client: TestClient) -> Account:
    return signup(client)


def _created(response: Any) -> str:
    assert response.status_code in (201, 202), response.text
    return str(response.json()["id"])


@pytest.fixture(scope="module")
def owned(client: TestClient, fuzzer: Account, tmp_path_factory: pytest.TempPathFactory
          ) -> dict[str, str]:
    """Ids of objects the fuzzing user owns, by path parameter name."""
    auth, tmp = fuzzer.auth, tmp_path_factory.mktemp("fuzz")
    zone = _created(client.post("/api/zones/", json={"name": "Fuzz"}, headers=auth))
    folder = _created(client.post("/api/music/folders/", json={"name": "F"}, headers=auth))

    def wav(name: str) -> Path:
        return make_wav(tmp / name, 2, freq=300 + len(name))

    track = client.post("/api/music/upload/", headers=auth, data={"folder_id": folder},
                        files=[("files", ("t.wav", wav("t.wav").read_bytes(), "audio/wav"))])
    assert track.status_code == 201, track.text
    announcement = client.post(
        "/api/announcements/upload/", headers=auth, data={"title": "A"},
        files=[("file", ("a.wav", wav("ann.wav").read_bytes(), "audio/wav"))])
    device = client.post("/api/devices/register/", headers=auth, json={
        "device_id": "fuzz-hw-1", "name": "D", "device_type": "speaker", "zone": zone})
    schedule = client.post("/api/schedules/", headers=auth, json={
        "name": "S", "type": "music", "folder_ids": [folder], "zone_ids": [zone],
        "start_time": "09:00", "end_time": "17:00"})
    return {"zone_id": zone, "folder_id": folder, "track_id": track.json()["created"][0]["id"],
            "announcement_id": _created(announcement), "device_id": _created(device),
            "schedule_id": _created(schedule), "user_id": fuzzer.user_id,
            "client_id": fuzzer.client_id}


def _own_some(case: Any, owned: dict[str, str]) -> None:
    """Swap about half of the generated path ids for owned ones (decided by the
    generated value itself, so that a seed reproduces it)."""
    for name, value in (case.path_parameters or {}).items():
        if name in owned and ord((str(value) or "0")[0]) % 2 == 0:
            case.path_parameters[name] = owned[name]


# Valid data may still break a domain rule (a time zone that does not exist, a folder
# of another tenant): 4xx is right there. Invalid data is not checked for rejection:
# the user's token and owned ids replace generated ones, and unknown query
# parameters are ignored, as HTTP servers do. No answer may still be a 5xx, and
# each must be documented.
EXCLUDED = {
    GenerationMode.POSITIVE: [checks.positive_data_acceptance],
    GenerationMode.NEGATIVE: [checks.positive_data_acceptance, checks.negative_data_rejection],
}


def _fuzz(operation: Any, mode: GenerationMode, auth: dict[str, str],
          owned: dict[str, str]) -> None:
    @given(case=operation.as_strategy(mode))
    # No shrinking: it can take minutes, and the report has a curl line to reproduce.
    @settings(max_examples=MAX_EXAMPLES, deadline=None, database=None,
              phases=[Phase.explicit, Phase.generate], suppress_health_check=list(HealthCheck))
    def answers(case: Any) -> None:
        # A made-up event position would only wait out the read-your-writes timeout.
        (case.headers or {}).pop("X-Wait-For-Position", None)
        if mode is GenerationMode.POSITIVE:
            _own_some(case, owned)
        case.call_and_validate(headers=auth, excluded_checks=EXCLUDED[mode])

    answers()


def test_every_operation_answers_as_documented(container: Container, fuzzer: Account,
                                               owned: dict[str, str]) -> None:
    # An app of its own: schemathesis runs its lifespan, which would stop the
    # live-state hub of the shared test client's app.
    app = create_app(container)
    schema = schemathesis.openapi.from_asgi("/api/openapi.json", app).exclude(
        path_regex=EXCLUDED_PATHS)
    operations = [result.ok() for result in schema.get_all_operations()]
    assert len(operations) > 50
    failures = []
    for operation in operations:
        for mode in GenerationMode:
            try:
                _fuzz(operation, mode, fuzzer.auth, owned)
            except Unsatisfiable:  # no input at all (health): nothing can be invalid
                assert mode is GenerationMode.NEGATIVE, operation.label
            except (Exception, FailureGroup) as e:  # one run shows every failing operation
                failures.append(f"{operation.label} ({mode.value} data): {e}")
    assert not failures, "\n\n".join(failures)


def test_pages_far_past_the_end_are_empty_or_refused_never_a_server_error(
    client: TestClient, fuzzer: Account
) -> None:
    # Found by fuzzing: an OFFSET past PostgreSQL's bigint was a 500 on every list.
    last = client.get("/api/zones/", params={"page": MAX_PAGE, "page_size": 200},
                      headers=fuzzer.auth)
    assert last.status_code == 200 and last.json()["results"] == []
    beyond = client.get("/api/zones/", params={"page": 10**17}, headers=fuzzer.auth)
    assert beyond.status_code == 422
    assert beyond.headers["content-type"] == "application/problem+json"


def test_texts_holding_nul_are_refused_before_they_can_stop_a_projection(
    client: TestClient, fuzzer: Account, owned: dict[str, str], tmp_path: Path
) -> None:
    # Found by fuzzing: PostgreSQL text cannot hold NUL, so a stored event carrying
    # one stopped the read model it was projected into.
    for path, body in [("/api/announcements/tts/", {"text": "closing\x00soon"}),
                       ("/api/music/folders/", {"name": "Mix\x00"}),
                       ("/api/zones/", {"name": "Bar", "description": "a\x00b"})]:
        refused = client.post(path, json=body, headers=fuzzer.auth)
        assert refused.status_code == 422, (path, refused.text)
    audio = make_wav(tmp_path / "nul.wav", 1, freq=500).read_bytes()
    body = (b'--b\r\nContent-Disposition: form-data; name="files"; '
            b'filename="bad\x00na\x1fme.wav"\r\nContent-Type: audio/wav\r\n\r\n'
            + audio + b"\r\n--b--\r\n")  # raw: a client library would escape them
    up = client.post("/api/music/upload/", content=body, headers={
        **fuzzer.auth, "Content-Type": "multipart/form-data; boundary=b"})
    assert up.status_code == 201, up.text
    assert up.json()["created"][0]["filename"] == "badname.wav"


def test_a_seek_past_any_finite_position_is_refused(client: TestClient, fuzzer: Account,
                                                    owned: dict[str, str]) -> None:
    # Found by fuzzing: 1e308 seconds is infinite in milliseconds, and was a 500.
    r = client.post("/api/playback/seek/", headers=fuzzer.auth,
                    json={"zone_id": owned["zone_id"], "position": 1e308})
    assert r.status_code == 422, r.text
