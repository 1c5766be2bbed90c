"""What devices and dashboards see of a zone: its live state (JSON-ready).

One presenter per read shape: the live-state projection, the zones read
model and every command answer that shows a zone build its state here.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any
from uuid import UUID

from domain.playback import QueueItem
from domain.sound import Loudness, gain_db
from domain.zone import Zone


def upcoming_item(zone: Zone) -> QueueItem | None:
    """The track after the current one, if it is known already."""
    if zone.queue and zone.has_playable:
        for step in range(1, len(zone.queue) + 1):
            index = zone.queue_position + step
            if index >= len(zone.queue) and zone.shuffle:
                break  # the next round is reshuffled when it starts: not known yet
            item = zone.queue[index % len(zone.queue)]
            if item.item_id not in zone.removed:
                return item
    return None


def audible_ids(zone: Zone) -> set[UUID]:
    """The tracks and announcements the zone's state shows (whose gain it carries)."""
    music = [i.item_id for i in (zone.current, upcoming_item(zone)) if i is not None]
    ann = [zone.announcement] if zone.announcement is not None else []
    return {*music, *(a.announcement_id for a in (*ann, *zone.pending))}


def zone_state(zone: Zone, loudness: Mapping[UUID, Loudness] | None = None
               ) -> dict[str, Any]:
    """What devices and dashboards see of a zone (JSON-ready). Given the measured
    `loudness` of its items (of `audible_ids`), each item carries the `gain_db` that
    brings it to the zone's target (announcements `announcement_lift_lu` above it);
    without it (the zones view, which must not depend on when the library measured)
    the items carry none."""
    current = zone.current
    upcoming = upcoming_item(zone)
    ends_at = zone.ends_at()
    ann = zone.announcement
    state = {
        "zone_id": str(zone.id), "client_id": str(zone.client_id), "name": zone.name,
        "version": zone.version, "is_active": zone.is_active, "is_playing": zone.is_playing,
        "music_playing": zone.music_playing, "volume": zone.volume, "shuffle": zone.shuffle,
        "source": zone.source, "queue_length": len(zone.queue),
        "queue_position": zone.queue_position,
        "current": current.as_dict() if current else None,
        "next": upcoming.as_dict() if upcoming else None,
        "position_ms": zone.position_ms,
        "position_at": zone.position_at.isoformat() if zone.position_at else None,
        "play_seq": zone.play_seq,
        "announcement": None if ann is None else {
            **ann.as_dict(),
            "started_at": zone.announcement_started_at.isoformat()
            if zone.announcement_started_at else None,
            # what the music does under it: "duck" plays on (position advancing)
            "ducking": "duck" if zone.music_ducked else "pause",
        },
        "pending_announcements": [a.as_dict() for a in zone.pending],
        "ends_at": ends_at.isoformat() if ends_at else None,
        "timezone": zone.timezone,
        "sound": zone.sound,  # crossfade and ducking, applied by devices at the times above
    }
    if loudness is not None:
        _add_gains(zone, state, loudness)
    return state


def _add_gains(zone: Zone, state: dict[str, Any], loudness: Mapping[UUID, Loudness]) -> None:
    music, speech = zone.target_lufs, zone.target_lufs + zone.announcement_lift_lu
    for key in ("current", "next"):
        if state[key] is not None:
            state[key]["gain_db"] = gain_db(loudness.get(UUID(state[key]["item_id"])), music)
    for item in [state["announcement"], *state["pending_announcements"]]:
        if item is not None:
            item["gain_db"] = gain_db(loudness.get(UUID(item["announcement_id"])), speech)


def queue_of(zone: Zone) -> list[dict[str, Any]]:
    return [{**i.as_dict(), "removed": i.item_id in zone.removed} for i in zone.queue]
