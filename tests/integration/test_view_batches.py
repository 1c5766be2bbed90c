"""A batch of view writes commits its rows and its position together, and only
from the position it started at: should two runners ever apply the same batch
(a leader whose connection died unnoticed for a moment), the second fails and
writes nothing, whether it is the view's first batch or a later one."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from typing import Any

import psycopg
import pytest
from eventsourcing.persistence import Tracking

from infra.bootstrap import Container
from infra.postgres import construct_view
from infra.postgres.view import PositionMoved, PostgresView

APP = "notes-app"


class NotesView(PostgresView):
    ddl = ("CREATE TABLE IF NOT EXISTS {schema}.batch_notes (id uuid PRIMARY KEY, text text)",)

    def note(self, text: str, tracking: Tracking) -> None:
        self._insert("batch_notes", {"id": uuid.uuid4(), "text": text}, tracking)


@pytest.fixture
def views(container: Container) -> Iterator[tuple[NotesView, NotesView]]:
    name = f"notes_{uuid.uuid4().hex[:8]}"
    one = construct_view(name, NotesView, container.es_env)
    two = construct_view(name, NotesView, container.es_env)
    one.create_table()
    yield one, two
    one.datastore.close()
    two.datastore.close()


def write(view: NotesView, texts: list[str], start: int | None, end: int) -> None:
    view.begin_batch()
    for n, text in enumerate(texts):
        view.note(text, Tracking(APP, (start or 0) + n + 1))
    view.commit_batch(APP, start, end)


def notes(container: Container) -> list[Any]:
    with psycopg.connect(container.database_url) as conn:
        return [r[0] for r in conn.execute("SELECT text FROM batch_notes ORDER BY text")]


def test_a_second_runner_cannot_apply_a_batch_again(
        views: tuple[NotesView, NotesView], container: Container) -> None:
    one, two = views
    write(one, ["a1", "a2"], None, 2)
    with pytest.raises(PositionMoved):
        write(two, ["b1", "b2"], None, 2)  # its first batch: the position exists already

    write(one, ["a3"], 2, 3)
    with pytest.raises(PositionMoved):
        write(two, ["b3"], 2, 3)  # a later batch: the position moved on

    assert one.max_tracking_id(APP) == 3
    assert [t for t in notes(container) if t[0] in "ab"] == ["a1", "a2", "a3"]
    write(two, ["b4"], 3, 4)  # from where it really is, it goes on
    assert two.max_tracking_id(APP) == 4
