"""Prometheus metrics: what an operator watches.

Counters and histograms live in the process's default registry (commands by
type and outcome, jobs by actor and outcome, scheduler ticks); gauges that are
read at scrape time (projection lag per view, sockets, online devices, job
queues) come from a `SystemCollector` bound to one container, in a registry of
that container's own. An API process serves both at `GET /metrics`; the other
processes (`sync2gear projections | scheduler | worker`) serve theirs on
`METRICS_PORT` when it is set. Request rate and latency by route come from
a middleware of our own (interfaces/http/request_metrics.py).
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Iterator, Mapping
from typing import Any

import dramatiq
from dramatiq.broker import MessageProxy
from prometheus_client import (
    REGISTRY,
    CollectorRegistry,
    Counter,
    Histogram,
    generate_latest,
    start_http_server,
)
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.registry import Collector

log = logging.getLogger(__name__)

COMMANDS = Counter("s2g_commands_total", "Commands dispatched, by type and outcome"
                   " (ok, refused: not allowed or rate limited, rejected: a broken rule,"
                   " error)", ["command", "outcome"])
COMMAND_SECONDS = Histogram(
    "s2g_command_seconds", "Time to decide and save a command, by type", ["command"],
    buckets=(0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5))
JOBS = Counter("s2g_jobs_total", "Background jobs run, by actor and outcome"
               " (ok, retried, failed: given up after its retries)", ["actor", "outcome"])
SCHEDULER_TICKS = Counter("s2g_scheduler_ticks_total", "Scheduler passes over the zones")
SCHEDULER_ZONES = Counter("s2g_scheduler_zone_changes_total",
                          "Zones whose schedules decided something new")
SCHEDULER_FAILURES = Counter("s2g_scheduler_failures_total",
                             "Zones whose schedules could not be applied on a pass")


def observe_command(command: str, outcome: str, seconds: float) -> None:
    COMMANDS.labels(command, outcome).inc()
    if outcome == "ok":
        COMMAND_SECONDS.labels(command).observe(seconds)


class JobMetrics(dramatiq.Middleware):
    """Counts each processed message by outcome (a dramatiq middleware)."""

    def after_process_message(self, broker: dramatiq.Broker, message: MessageProxy,
                              *, result: Any = None, exception: BaseException | None = None
                              ) -> None:
        if exception is None:
            JOBS.labels(message.actor_name, "ok").inc()
            return
        retries, max_retries = message.options.get("retries", 0), message.options.get(
            "max_retries")
        given_up = max_retries is not None and retries >= max_retries
        JOBS.labels(message.actor_name, "failed" if given_up else "retried").inc()

    def after_skip_message(self, broker: dramatiq.Broker, message: MessageProxy) -> None:
        JOBS.labels(message.actor_name, "skipped").inc()


class SystemCollector(Collector):
    """Gauges read when scraped. Each source is a callable so that a failing one
    (say, PostgreSQL restarting) leaves its metric out instead of failing the scrape."""

    def __init__(self, *, lag: Callable[[], Mapping[str, int]],
                 devices: Callable[[], tuple[int, int]],
                 queues: Callable[[], Mapping[str, tuple[int, int]]],
                 clock: Callable[[], float] = time.monotonic) -> None:
        self._lag, self._devices, self._queues = lag, devices, queues
        # (sockets, zones) of each zone hub of this process (the HTTP apps serving)
        self._hubs: list[Callable[[], tuple[int, int]]] = []
        self._clock = clock
        self._caught_up: dict[str, float] = {}  # view -> when it was last seen caught up
        self._lock = threading.Lock()

    def add_hub(self, counts: Callable[[], tuple[int, int]]) -> Callable[[], None]:
        """Count a zone hub's sockets from now on; returns what stops counting them."""
        with self._lock:
            self._hubs.append(counts)

        def remove() -> None:
            with self._lock:
                self._hubs.remove(counts)
        return remove

    def describe(self) -> list[GaugeMetricFamily]:
        return []  # collected on demand; nothing to check at registration

    def collect(self) -> Iterator[GaugeMetricFamily]:
        yield from self._guarded("projection lag", self._lag_metrics)
        if self._hubs:
            yield from self._guarded("sockets", self._socket_metrics)
        yield from self._guarded("devices", self._device_metrics)
        yield from self._guarded("job queues", self._queue_metrics)

    def _guarded(self, what: str, make: Callable[[], list[GaugeMetricFamily]]
                 ) -> list[GaugeMetricFamily]:
        try:
            return make()
        except Exception as e:  # noqa: BLE001 - a scrape must still answer
            log.warning("metrics: %s not available: %s", what, e)
            return []

    def _lag_metrics(self) -> list[GaugeMetricFamily]:
        events = GaugeMetricFamily("s2g_projection_lag_events",
                                   "Events recorded but not yet in the view", labels=["view"])
        seconds = GaugeMetricFamily(
            "s2g_projection_lag_seconds",
            "Seconds since the view was last seen caught up (0 while it is)", labels=["view"])
        now = self._clock()
        with self._lock:
            for view, behind in sorted(self._lag().items()):
                if behind <= 0:
                    self._caught_up[view] = now
                since = self._caught_up.setdefault(view, now)
                events.add_metric([view], max(0, behind))
                seconds.add_metric([view], 0.0 if behind <= 0 else now - since)
        return [events, seconds]

    def _socket_metrics(self) -> list[GaugeMetricFamily]:
        with self._lock:
            counts = [hub() for hub in self._hubs]
        sockets, zones = sum(c[0] for c in counts), sum(c[1] for c in counts)
        return [GaugeMetricFamily("s2g_websocket_connections",
                                  "Zone sockets open in this process", value=sockets),
                GaugeMetricFamily("s2g_websocket_zones",
                                  "Zones followed by a socket in this process", value=zones)]

    def _device_metrics(self) -> list[GaugeMetricFamily]:
        total, online = self._devices()
        return [GaugeMetricFamily("s2g_devices", "Paired devices", value=total),
                GaugeMetricFamily("s2g_devices_online", "Devices online (heartbeat within"
                                  " the presence TTL)", value=online)]

    def _queue_metrics(self) -> list[GaugeMetricFamily]:
        waiting = GaugeMetricFamily("s2g_job_queue_messages",
                                    "Jobs waiting or running", labels=["queue"])
        dead = GaugeMetricFamily("s2g_job_dead_letters",
                                 "Jobs given up after their retries", labels=["queue"])
        for queue, (messages, dead_letters) in sorted(self._queues().items()):
            waiting.add_metric([queue], messages)
            dead.add_metric([queue], dead_letters)
        return [waiting, dead]


def redis_queue_depths(redis_client: Any, namespace: str, queues: list[str]
                       ) -> Callable[[], dict[str, tuple[int, int]]]:
    """Read dramatiq's Redis broker keys: `<ns>:<queue>.msgs` holds every message not
    yet acknowledged, `<ns>:<queue>.XQ` the dead-lettered ones."""
    def depths() -> dict[str, tuple[int, int]]:
        pipe = redis_client.pipeline(transaction=False)
        for queue in queues:
            pipe.hlen(f"{namespace}:{queue}.msgs")
            pipe.zcard(f"{namespace}:{queue}.XQ")
        values = pipe.execute()
        return {q: (int(values[2 * i]), int(values[2 * i + 1])) for i, q in enumerate(queues)}
    return depths


class Metrics:
    """One container's metrics: its collector's registry plus the process's own."""

    def __init__(self, collector: SystemCollector) -> None:
        self.collector = collector
        self.registry = CollectorRegistry(auto_describe=False)
        self.registry.register(collector)
        self._server: Any = None

    def exposition(self, *more: CollectorRegistry) -> bytes:
        """The text exposition format: process-wide metrics, this container's, then
        `more` (an HTTP app's requests)."""
        return b"".join(generate_latest(r) for r in (REGISTRY, self.registry, *more))

    def serve(self, port: int, addr: str = "0.0.0.0") -> None:  # noqa: S104 - a scrape target
        """Serve both registries on `port` (processes with no HTTP API)."""
        merged = CollectorRegistry(auto_describe=False)
        merged.register(_Both(self.registry))
        self._server, _ = start_http_server(port, addr=addr, registry=merged)
        log.info("metrics on :%s/metrics", port)

    def close(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server = None


class _Both(Collector):
    def __init__(self, own: CollectorRegistry) -> None:
        self._own = own

    def collect(self) -> Iterator[Any]:
        yield from REGISTRY.collect()
        yield from self._own.collect()
