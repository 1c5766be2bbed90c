"""Search latency on 100,000 tracks: `GET /api/music/search/?q=` for several queries.

The tracks are rows of the library view's own table, with the columns its
projection writes, loaded in bulk (COPY: one row per transaction would take
minutes and is not what is measured; the search and GIN indexes are kept up
as on any insert), all for one tenant: the worst case, since a tenant's
search only ever scans its own rows. Titles, artists and albums are
pseudo-words drawn with Zipf-like frequencies, so queries range from tens of
thousands of matches to none. Each query runs on one connection (latency,
not throughput); the baseline is the view's own query called directly,
without HTTP, on one thread, for the same time.
"""

from __future__ import annotations

import random
import time
import uuid
from datetime import UTC, datetime
from typing import Any
from urllib.parse import quote

from psycopg import sql

from bench.core import Context, Row, pct
from bench.fixtures import tenant
from bench.loadgen import wrk
from infra.postgres import construct_view, eventsourcing_env
from infra.postgres.library_view import PostgresLibraryView
from infra.postgres.names import versioned, view_version
from projections.library import LibraryProjection

PAGE = 50  # the API's default page size


def run(ctx: Context) -> list[Row]:
    api = ctx.servers.api
    owner = tenant(api.url, ctx.servers.admin_token, tracks=0)
    count = ctx.size(100_000, 2_000)
    env = eventsourcing_env(ctx.servers.database_url, pool_size=1, max_overflow=0)
    view = construct_view(LibraryProjection.name, PostgresLibraryView, env)
    try:
        words = Words(random.Random(8))
        seeded = _seed(view, uuid.UUID(owner.client_id), words, count)
        rows, seconds = [], ctx.size(5, 1)
        for label, query in words.queries():
            http = wrk(f"{api.url}/api/music/search/?q={quote(query)}", connections=1,
                       seconds=seconds, token=owner.token)
            direct = _direct(view, uuid.UUID(owner.client_id), query, seconds)
            matches = view.search_tracks(client_id=uuid.UUID(owner.client_id), query=query,
                                         offset=0, limit=1).count
            rows.append(Row(
                key=f"search.{label}", measure=f"search {count:,} tracks: {label} ({query!r})",
                per_s=http.per_s, p50_ms=http.p50_ms, p99_ms=http.p99_ms,
                note=f"{matches:,} matches; view query alone p50 {direct['p50_ms']:.1f} / "
                     f"p99 {direct['p99_ms']:.1f} ms",
                data={"query": query, "matches": matches, "http": http.as_dict(),
                      "view_query": direct, "seeded": seeded}))
        return rows
    finally:
        view.datastore.close()


class Words:
    """Pseudo-words with Zipf-like frequencies; word 0 is the most frequent."""

    SYLLABLES = ("ka", "lo", "mi", "re", "su", "ta", "ne", "vo", "ri", "da", "po", "lu",
                 "be", "zo", "fi", "ga", "mo", "sa", "te", "ni")

    def __init__(self, rng: random.Random, size: int = 3000) -> None:
        self.rng = rng
        seen: dict[str, None] = {}
        while len(seen) < size:
            seen["".join(rng.choice(self.SYLLABLES) for _ in range(rng.randint(2, 4)))] = None
        self.vocabulary = list(seen)
        self.weights = [1 / (rank + 1) for rank in range(size)]

    def phrase(self, low: int, high: int) -> str:
        return " ".join(self.rng.choices(self.vocabulary, self.weights, k=self.rng.randint(
            low, high)))

    def queries(self) -> list[tuple[str, str]]:
        v = self.vocabulary
        return [("common word", v[5]), ("rare word", v[1500]),
                ("two words", f"{v[1]} {v[20]}"), ("2-letter prefix", v[2][:2]),
                ("no match", "zzzqx")]


def _seed(view: PostgresLibraryView, client_id: uuid.UUID, words: Words,
          count: int) -> dict[str, float]:
    now = datetime.now(UTC)
    rows = [_track(client_id, words, now) for _ in range(count)]
    name = versioned("library_tracks", view_version(PostgresLibraryView))  # the table of today
    table = sql.SQL("{}.{}").format(sql.Identifier(view.datastore.schema), sql.Identifier(name))
    copy = sql.SQL("COPY {} ({}) FROM STDIN").format(
        table, sql.SQL(", ").join(map(sql.Identifier, rows[0])))
    start = time.monotonic()
    with view.datastore.transaction(commit=True) as curs:
        with curs.copy(copy) as load:
            for row in rows:
                load.write_row(list(row.values()))
        curs.execute(sql.SQL("ANALYZE {}").format(table))  # as autovacuum would, soon after
    seconds = time.monotonic() - start
    return {"tracks": count, "seconds": seconds, "rows_per_s": count / seconds}


def _track(client_id: uuid.UUID, words: Words, now: datetime) -> dict[str, Any]:
    track_id = uuid.uuid4()
    return {
        "id": track_id, "client_id": client_id, "folder_id": None, "position": None,
        "filename": f"{track_id.hex}.mp3", "file_size": 4_000_000,
        "content_hash": track_id.hex, "media_key": f"{client_id}/{track_id}.mp3",
        "content_type": "audio/mpeg", "format": "mp3", "duration": 200.0,
        "title": words.phrase(1, 4), "artist": words.phrase(1, 2), "album": words.phrase(1, 3),
        "genre": "", "year": 2020, "cover_key": None, "thumbnail_key": None,
        "status": "ready", "failure_reason": None, "uploaded_by": None,
        "created_at": now, "updated_at": now,
    }


def _direct(view: PostgresLibraryView, client_id: uuid.UUID, query: str,
            seconds: float) -> dict[str, float]:
    latencies: list[float] = []
    until = time.perf_counter() + seconds
    while time.perf_counter() < until or len(latencies) < 5:
        start = time.perf_counter()
        view.search_tracks(client_id=client_id, query=query, offset=0, limit=PAGE)
        latencies.append(time.perf_counter() - start)
    return {"p50_ms": pct(latencies, 0.5) * 1000, "p99_ms": pct(latencies, 0.99) * 1000,
            "calls": len(latencies)}
