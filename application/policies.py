"""Rules across bounded contexts: what one context does about another's facts.

Each context stays the only writer of its aggregates; a rule here reads the
other context through its application and commands its own.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any
from uuid import UUID

from application.accounts import AccountsApplication
from application.library import LibraryApplication
from application.playback import PlaybackApplication
from domain.base import Actor, CommandContext
from domain.quota import GB
from domain.track import Track

ZonesOfClient = Callable[[UUID], Iterable[UUID]]  # a client's zones (the zones read model)


class DropDeletedTracks:
    """A track deleted from the library leaves every queue of its client, so it is
    skipped and never played again (run by the queue cleanup projection)."""

    def __init__(self, library: LibraryApplication, playback: PlaybackApplication,
                 zones_of_client: ZonesOfClient) -> None:
        self._library, self._playback, self._zones_of = library, playback, zones_of_client

    def __call__(self, track_id: UUID) -> None:
        track: Any = self._library.repository.get(track_id)
        assert isinstance(track, Track)
        ctx = CommandContext(Actor.system("library"), f"track-deleted-{track_id}")
        self._playback.drop_tracks(ctx, self._zones_of(track.client_id), {track_id})


def storage_limit(accounts: AccountsApplication) -> Callable[[UUID], int]:
    """Bytes a client may store: its plan's `max_storage_gb`."""
    def limit(client_id: UUID) -> int:
        return accounts.get_client(client_id).limit("max_storage_gb") * GB
    return limit
