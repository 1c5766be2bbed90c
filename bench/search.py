"""Search latency on 100,000 tracks: `GET /api/music/search/?q=` for several queries.

The tracks are written through the library view's own write path (`put`, one
row and its tracking position per transaction, as the projection does) for
one tenant: the worst case, since a tenant's search only ever scans its own
rows. Titles, artists and albums are pseudo-words drawn with Zipf-like
frequencies, so queries range from thousands of matches to a few. Each query
runs on one connection (latency, not throughput); the baseline is the view's
own query called directly, without HTTP, on one thread.
"""

from __future__ import annotations

import random
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime
from typing import Any
from urllib.parse import quote

from eventsourcing.persistence import Tracking

from bench.core import Context, Row, pct
from bench.fixtures import tenant
from bench.loadgen import wrk
from infra.postgres import construct_view, eventsourcing_env
from infra.postgres.library_view import PostgresLibraryView
from projections.library import LibraryProjection

SEED_THREADS = 8
PAGE = 50  # the API's default page size


def run(ctx: Context) -> list[Row]:
    api = ctx.servers.api
    owner = tenant(api.url, tracks=0)
    count = ctx.size(100_000, 2_000)
    env = eventsourcing_env(ctx.servers.database_url, pool_size=SEED_THREADS, max_overflow=0)
    view = construct_view(LibraryProjection.name, PostgresLibraryView, env)
    try:
        words = Words(random.Random(8))
        seeded = _seed(view, uuid.UUID(owner.client_id), words, count)
        rows = []
        for label, query in words.queries():
            http = wrk(f"{api.url}/api/music/search/?q={quote(query)}", connections=1,
                       seconds=ctx.size(5, 1), token=owner.token)
            direct = _direct(view, uuid.UUID(owner.client_id), query, ctx.size(200, 10))
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
    start = time.monotonic()

    def writer(k: int) -> None:  # tracking ids must rise per name: one name per thread
        for n, row in enumerate(rows[k::SEED_THREADS], start=1):
            view.put("library_tracks", row, Tracking(f"BenchSeed{k}", n))

    with ThreadPoolExecutor(SEED_THREADS) as pool:
        list(pool.map(writer, range(SEED_THREADS)))
    seconds = time.monotonic() - start
    with view.datastore.transaction(commit=True) as curs:
        curs.execute("ANALYZE library_tracks")  # as autovacuum would, soon after a load
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
            times: int) -> dict[str, float]:
    latencies = []
    for _ in range(times):
        start = time.perf_counter()
        view.search_tracks(client_id=client_id, query=query, offset=0, limit=PAGE)
        latencies.append(time.perf_counter() - start)
    return {"p50_ms": pct(latencies, 0.5) * 1000, "p99_ms": pct(latencies, 0.99) * 1000,
            "calls": times}
