"""The live state in Redis: several zones' states go out in one round trip, each
only if newer than what is stored, each announced once; a Redis that lost its
scripts (restarted) is given the script again."""

from __future__ import annotations

import json
import time
import uuid
from collections.abc import Iterator

import pytest
import redis

from infra.live import RedisLiveState


@pytest.fixture
def client(servers: dict[str, str]) -> Iterator[redis.Redis]:
    client = redis.Redis.from_url(servers["redis_url"])
    yield client
    client.close()


@pytest.fixture
def live(client: redis.Redis) -> Iterator[RedisLiveState]:
    prefix = f"s2g-test-live-{uuid.uuid4().hex[:8]}:"
    yield RedisLiveState(client, prefix)
    for key in client.scan_iter(match=f"{prefix}*"):
        client.delete(key)


def announced(client: redis.Redis, live: RedisLiveState, publish: object) -> list[dict]:
    pubsub = client.pubsub()
    pubsub.subscribe(live.channel)
    assert pubsub.get_message(timeout=2)["type"] == "subscribe"  # type: ignore[index]
    publish()  # type: ignore[operator]
    messages, deadline = [], time.monotonic() + 2
    while time.monotonic() < deadline:
        message = pubsub.get_message(timeout=0.2)
        if message and message["type"] == "message":
            messages.append(json.loads(message["data"]))
    pubsub.close()
    return messages


def test_many_states_go_out_in_one_call_each_only_if_newer(client: redis.Redis,
                                                            live: RedisLiveState) -> None:
    a, b, c = (str(uuid.uuid4()) for _ in range(3))
    assert live.publish(b, 5, {"volume": 50})
    results: list[bool] = []
    messages = announced(client, live, lambda: results.extend(live.publish_many(
        [(a, 1, {"volume": 10}), (b, 4, {"volume": 40}), (c, 2, {"volume": 20})])))
    assert results == [True, False, True]
    assert live.current(a) == {"volume": 10} and live.current(c) == {"volume": 20}
    assert live.current(b) == {"volume": 50}  # the older version was not stored
    assert sorted((m["zone_id"], m["version"], m["state"]) for m in messages) == sorted(
        [(a, 1, {"volume": 10}), (c, 2, {"volume": 20})])


def test_a_redis_that_forgot_the_script_is_given_it_again(client: redis.Redis,
                                                          live: RedisLiveState) -> None:
    a, b = str(uuid.uuid4()), str(uuid.uuid4())
    client.script_flush()
    assert live.publish_many([(a, 1, {"n": 1}), (b, 1, {"n": 2})]) == [True, True]
    client.script_flush()
    assert live.publish(a, 2, {"n": 3})
    assert live.current(a) == {"n": 3} and live.current(b) == {"n": 2}
