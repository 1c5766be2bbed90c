"""Request rate and latency by route template, for Prometheus.

`http_requests_total{method, handler, status}` (status grouped: 2xx, 4xx, ...)
and `http_request_duration_seconds{method, handler}`, the names and labels
prometheus-fastapi-instrumentator gives them, so dashboards read either. The
handler is the route template the router matched (`/api/zones/{zone_id}/`),
taken from the scope once the request has been handled (the request envelope,
interfaces/http/middleware.py, reports each request): ids never become labels,
and no route is matched twice. Requests that matched no route (404s
of unknown paths) and the excluded paths are not counted.

Why not the instrumentator itself: per request it matched the path against
every route again, built a Request, a Response and an Info object and gathered
an empty list of coroutines: ~0.7 ms of the API's CPU per `next` command at 16
clients on the development machine (/proc counters), ~9% of the command's cost.
"""

from __future__ import annotations

from collections.abc import Collection

from prometheus_client import CollectorRegistry, Counter, Histogram
from starlette.types import Scope

BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)


class RequestMetrics:
    """Counts each templated HTTP request once (the request envelope,
    interfaces/http/middleware.py, reports each request here when it is done)."""

    def __init__(self, registry: CollectorRegistry, excluded: Collection[str] = ()) -> None:
        self.excluded = frozenset(excluded)
        self.requests = Counter("http_requests_total", "HTTP requests by route template,"
                                " method and status class", ["method", "status", "handler"],
                                registry=registry)
        self.latency = Histogram("http_request_duration_seconds", "HTTP request latency by"
                                 " route template and method", ["method", "handler"],
                                 buckets=BUCKETS, registry=registry)
        self._children: dict[tuple[str, str, str], tuple[Counter, Histogram]] = {}

    def observe(self, scope: Scope, status: int, seconds: float) -> None:
        handler = _template(scope)
        if handler is not None and handler not in self.excluded:
            count, latency = self._child(scope["method"], f"{status // 100}xx", handler)
            count.inc()
            latency.observe(seconds)

    def _child(self, method: str, status: str, handler: str) -> tuple[Counter, Histogram]:
        key = (method, status, handler)
        child = self._children.get(key)
        if child is None:  # a few hundred at most: routes x methods x status classes
            child = (self.requests.labels(method, status, handler),
                     self.latency.labels(method, handler))
            self._children[key] = child
        return child


def _template(scope: Scope) -> str | None:
    """The matched route's path template, if a route matched."""
    route = scope.get("route")
    template = getattr(route, "path_format", None) or getattr(route, "path", None)
    return template if isinstance(template, str) else None
