"""Queue items are stored inside zone events and snapshots: `as_dict` (written by
hand for speed) must keep exactly the shape `dataclasses.asdict` gave them, key
order included, and read back to the same item."""

from __future__ import annotations

import dataclasses
from typing import Any

from hypothesis import given
from hypothesis import strategies as st

from domain.playback import AnnouncementItem, QueueItem

text = st.text(max_size=20)
maybe_text = st.none() | text


def stored_shape(item: Any, id_field: str) -> dict[str, Any]:
    return {**dataclasses.asdict(item), id_field: str(getattr(item, id_field))}


@given(st.builds(QueueItem, item_id=st.uuids(), duration_ms=st.integers(0, 10**9),
                 media_key=text, content_type=text, title=text, artist=text,
                 cover_key=maybe_text))
def test_a_queue_item_is_stored_as_it_always_was(item: QueueItem) -> None:
    stored = item.as_dict()

    assert list(stored.items()) == list(stored_shape(item, "item_id").items())
    assert QueueItem.from_dict(stored) == item


@given(st.builds(AnnouncementItem, announcement_id=st.uuids(),
                 duration_ms=st.integers(0, 10**9), media_key=text, content_type=text,
                 title=text, schedule_id=maybe_text))
def test_an_announcement_item_is_stored_as_it_always_was(item: AnnouncementItem) -> None:
    stored = item.as_dict()

    assert list(stored.items()) == list(stored_shape(item, "announcement_id").items())
    assert AnnouncementItem.from_dict(stored) == item
