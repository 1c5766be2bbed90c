"""Live zone state in Redis: the latest state per zone, and one channel announcing it."""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

import redis
from redis.exceptions import NoScriptError

# Store the frame only if it is newer than the stored one, then announce it.
_PUBLISH = """
local current = redis.call('HGET', KEYS[1], 'version')
if current and tonumber(current) >= tonumber(ARGV[1]) then return 0 end
redis.call('HSET', KEYS[1], 'version', ARGV[1], 'state', ARGV[2])
redis.call('PUBLISH', KEYS[2], ARGV[3])
return 1
"""


class RedisLiveState:
    def __init__(self, client: redis.Redis, prefix: str) -> None:
        self._redis = client
        self.prefix = prefix
        self.channel = f"{prefix}zone.state"
        self._script = client.register_script(_PUBLISH)

    def key(self, zone_id: str) -> str:
        """The hash holding the zone's live state (field `state`) and its version."""
        return f"{self.prefix}zone:{zone_id}:state"

    def publish(self, zone_id: str, version: int, state: dict[str, Any]) -> bool:
        return self.publish_many([(zone_id, version, state)])[0]

    def publish_many(self, states: Sequence[tuple[str, int, dict[str, Any]]]) -> list[bool]:
        """Each (zone id, version, state) as `publish` does, in one round trip."""
        calls = [self._call(*s) for s in states]
        results = self._pipelined(calls)
        if any(isinstance(r, NoScriptError) for r in results):  # Redis restarted, say
            self._redis.script_load(_PUBLISH)
            results = self._pipelined(calls)
        for result in results:
            if isinstance(result, Exception):
                raise result
        return [bool(r) for r in results]

    def _call(self, zone_id: str, version: int,
              state: dict[str, Any]) -> tuple[list[str], list[Any]]:
        payload = json.dumps(state, default=str)
        message = (f'{{"zone_id": {json.dumps(zone_id)}, "version": {int(version)},'
                   f' "state": {payload}}}')  # the state encoded once
        return [self.key(zone_id), self.channel], [version, payload, message]

    def _pipelined(self, calls: list[tuple[list[str], list[Any]]]) -> list[Any]:
        pipe = self._redis.pipeline(transaction=False)
        for keys, args in calls:
            pipe.evalsha(self._script.sha, len(keys), *keys, *args)
        return list(pipe.execute(raise_on_error=False))

    def current(self, zone_id: str) -> dict[str, Any] | None:
        raw: Any = self._redis.hget(self.key(zone_id), "state")
        if raw is None:
            return None
        state: dict[str, Any] = json.loads(raw)
        return state
