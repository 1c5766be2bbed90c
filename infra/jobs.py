"""Background jobs on dramatiq (Redis broker), and the projection that queues them.

Mail is a job too (`send_mail`, queued by infra/mail.py's QueuedMailer): the
request only queues it, and a mail server that refuses is tried again.

Jobs are queued by a projection that follows the library's events, not by the
request that caused them: a job is queued for every event that needs one, even
when Redis was down at the time (the projection retries from its position),
and the jobs themselves are idempotent, so at-least-once delivery is enough.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any
from uuid import UUID

import dramatiq
from dramatiq.brokers.redis import RedisBroker
from eventsourcing.dispatch import singledispatchmethod
from eventsourcing.persistence import Tracking, TrackingRecorder
from eventsourcing.projection import Projection

from application.media_jobs import MediaProcessor
from application.ports import Mailer
from domain.announcement import Announcement
from domain.track import Track
from infra.metrics import JobMetrics

log = logging.getLogger(__name__)

RETRY: dict[str, Any] = {"max_retries": 8, "min_backoff": 200, "max_backoff": 10_000}
# A mail server that refuses for a while is waited for longer: about an hour in all.
MAIL_RETRY: dict[str, Any] = {"max_retries": 12, "min_backoff": 500, "max_backoff": 600_000}


class Jobs:
    """The actors, bound to one broker; `processor` does the work."""

    def __init__(self, broker: dramatiq.Broker,
                 processor: Callable[[], MediaProcessor] | None = None,
                 mailer: Callable[[], Mailer] | None = None, mail_queue: str = "mail") -> None:
        self.broker = broker
        self._media = processor
        self._mailer = mailer
        self.mail_queue = mail_queue
        self.send_mail = dramatiq.actor(
            broker=broker, actor_name="send_mail", queue_name=mail_queue, **MAIL_RETRY
        )(self._send_mail)
        self.extract_metadata = dramatiq.actor(
            broker=broker, actor_name="extract_metadata", queue_name="media", **RETRY
        )(self._extract)
        self.synthesize = dramatiq.actor(
            broker=broker, actor_name="synthesize_speech", queue_name="media", **RETRY
        )(self._synthesize)
        self.measure_announcement = dramatiq.actor(
            broker=broker, actor_name="measure_announcement", queue_name="media", **RETRY
        )(self._measure_announcement)
        self._worker: dramatiq.Worker | None = None

    def _send_mail(self, to: str, subject: str, body: str) -> None:
        if self._mailer is None:
            raise RuntimeError("this worker has no mailer")
        self._mailer().send(to, subject, body)

    def serve_media(self, processor: MediaProcessor) -> None:
        """Do the media jobs with `processor` (the library's, built after the jobs)."""
        self._media = lambda: processor

    def _processor(self) -> MediaProcessor:
        if self._media is None:
            raise RuntimeError("this worker has no media processor")
        return self._media()

    def _extract(self, track_id: str) -> None:
        self._processor().extract_track(UUID(track_id))

    def _synthesize(self, announcement_id: str) -> None:
        self._processor().synthesize(UUID(announcement_id))

    @property
    def queues(self) -> list[str]:
        return sorted(self.broker.get_declared_queues())

    @property
    def namespace(self) -> str:
        """The prefix of the broker's Redis keys."""
        return str(getattr(self.broker, "namespace", "dramatiq"))

    def _measure_announcement(self, announcement_id: str) -> None:
        self._processor().measure_announcement(UUID(announcement_id))

    def start_worker(self, threads: int = 2, queues: set[str] | None = None) -> None:
        """Work every declared queue (or only `queues`)."""
        self._worker = dramatiq.Worker(self.broker, queues=queues, worker_threads=threads,
                                       worker_timeout=200)
        self._worker.start()

    def stop_worker(self) -> None:
        if self._worker is not None:
            self._worker.stop(timeout=10_000)
            self._worker = None


def redis_broker(redis_url: str, prefix: str, *, heartbeat_timeout_ms: int = 60_000,
                 maintenance_chance: int = 1000) -> RedisBroker:
    """The broker. Jobs of a worker silent for `heartbeat_timeout_ms` are requeued by
    whichever process runs queue maintenance (on `maintenance_chance` commands per million)."""
    broker = RedisBroker(  # type: ignore[no-untyped-call]
        url=redis_url, namespace=f"{prefix}dramatiq",
        heartbeat_timeout=heartbeat_timeout_ms, maintenance_chance=maintenance_chance,
    )
    broker.add_middleware(JobMetrics())
    return broker


def jobs_projection(jobs: Jobs) -> type[Projection[TrackingRecorder]]:
    """A projection class bound to `jobs` (the runner constructs it with only a view)."""

    class MediaJobsProjection(Projection[TrackingRecorder]):
        name = "media_jobs"

        @singledispatchmethod
        def process_event(self, domain_event: Any, tracking: Tracking) -> None:
            self.view.insert_tracking(tracking)

        @process_event.register
        def _uploaded(self, e: Track.Uploaded, tracking: Tracking) -> None:
            jobs.extract_metadata.send(str(e.originator_id))
            self.view.insert_tracking(tracking)

        @process_event.register
        def _announcement(self, e: Announcement.Created, tracking: Tracking) -> None:
            if e.source == "tts":
                jobs.synthesize.send(str(e.originator_id))
            else:
                jobs.measure_announcement.send(str(e.originator_id))
            self.view.insert_tracking(tracking)

        @process_event.register
        def _spoken(self, e: Announcement.SpeechGenerated, tracking: Tracking) -> None:
            jobs.measure_announcement.send(str(e.originator_id))
            self.view.insert_tracking(tracking)

    return MediaJobsProjection
