"""Live zone state in Redis: the latest state per zone, and one channel announcing it."""

from __future__ import annotations

import json
from typing import Any

import redis

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

    def _key(self, zone_id: str) -> str:
        return f"{self.prefix}zone:{zone_id}:state"

    def publish(self, zone_id: str, version: int, state: dict[str, Any]) -> bool:
        payload = json.dumps(state, default=str)
        message = (f'{{"zone_id": {json.dumps(zone_id)}, "version": {int(version)},'
                   f' "state": {payload}}}')  # the state encoded once
        return bool(self._script(keys=[self._key(zone_id), self.channel],
                                 args=[version, payload, message]))

    def current(self, zone_id: str) -> dict[str, Any] | None:
        raw: Any = self._redis.hget(self._key(zone_id), "state")
        if raw is None:
            return None
        state: dict[str, Any] = json.loads(raw)
        return state
