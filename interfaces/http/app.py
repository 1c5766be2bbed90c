"""The FastAPI application factory."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager

from fastapi import FastAPI
from fastapi.middleware.cors import CORSMiddleware
from fastapi.responses import PlainTextResponse
from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry
from starlette.concurrency import run_in_threadpool

from application.rules import PUBLIC
from application.services import ZONE_FEED
from infra.bootstrap import Container
from interfaces.http import health, resumable, web
from interfaces.http.deps import rule_doc
from interfaces.http.errors import install_error_handlers
from interfaces.http.middleware import RequestEnvelope, trust_proxies
from interfaces.http.request_metrics import RequestMetrics
from interfaces.ws import ZoneHub

DESCRIPTION = """
Background music and announcements for businesses, event-sourced.

* Authenticate with `POST /api/auth/login/` (or sign up), then click **Authorize**
  and paste the `access` token.
* Every command response carries `X-Event-Position`; send it back as
  `X-Wait-For-Position` on a query to read your own writes.
* Errors are RFC 9457 problem documents (`application/problem+json`).
"""


def create_app(container: Container, *, owns_container: bool = False) -> FastAPI:
    """Build the app around a bootstrapped container (closed on shutdown if owned): its
    contexts' routes, each asking for the ports it uses (`app.state.ports`)."""

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        reader = container.auth_reader()
        app.state.auth_reader = reader
        hub = ZoneHub(container.ports[ZONE_FEED], reader)
        app.state.hub = hub
        uncount = (container.metrics.collector.add_hub(hub.counts)
                   if container.metrics is not None else lambda: None)
        await hub.start()
        yield
        await reader.aclose()
        uncount()
        await hub.stop()
        if owns_container:
            container.close()

    app = FastAPI(
        title="sync2gear API", version="0.1.0", description=DESCRIPTION,
        docs_url="/api/docs", redoc_url="/api/redoc", openapi_url="/api/openapi.json",
        lifespan=lifespan,
    )
    app.state.ports = container.ports
    install_error_handlers(app)
    # The app's own registry of its requests by route (one app per process in
    # production; tests build several, which must not count into one another).
    requests = CollectorRegistry(auto_describe=False)
    app.add_middleware(RequestEnvelope, limit_for=_body_limits(container),
                       metrics=RequestMetrics(requests, excluded=["/metrics"]))
    if container.settings.cors_origins:
        app.add_middleware(
            CORSMiddleware, allow_origins=container.settings.cors_origins,
            allow_credentials=True, allow_methods=["*"], allow_headers=["*"],
            expose_headers=["X-Request-ID", "X-Event-Position", "Location",
                            "Content-Location", *resumable.EXPOSED_HEADERS],
        )
    trust_proxies(app, container.settings.trusted_proxies)
    # Routes are matched in order: a context's marked `first` (playback: its socket and
    # commands are the hot path) before the others.
    for context in sorted(container.contexts, key=lambda c: not c.first):
        for router in context.routers:
            app.include_router(router)
    app.include_router(health.router)
    app.include_router(web.router)
    _metrics(app, container, requests)
    return app


def _metrics(app: FastAPI, container: Container, requests: CollectorRegistry) -> None:
    """The exposition of every metric at `/metrics`, `requests` (this app's requests by
    route) included (for Prometheus; not for the public: the shipped nginx.conf does
    not pass it through)."""

    @app.get("/metrics", response_class=PlainTextResponse, tags=["health"],
             openapi_extra=rule_doc(PUBLIC), summary="Prometheus metrics of this process",
             description="Requests by route (count, latency), commands by type and outcome,"
                         " projection lag per view (events, seconds), zone sockets, devices"
                         " online, job queues and failures, scheduler passes. Text"
                         " exposition format.")
    async def metrics() -> PlainTextResponse:
        assert container.metrics is not None
        body = await run_in_threadpool(container.metrics.exposition, requests)  # PostgreSQL
        return PlainTextResponse(body, media_type=CONTENT_TYPE_LATEST)


def _body_limits(container: Container) -> Callable[[str], int | None]:
    s = container.settings
    uploads = s.max_upload_bytes * s.max_files_per_upload + 1024 * 1024
    images = s.max_image_mb * 1024 * 1024 + 1024 * 1024

    def limit_for(path: str) -> int | None:
        if path.endswith("/upload/"):
            return uploads
        if "/uploads/" in path:  # a resumable upload's PATCH: at most one whole file
            return s.max_upload_bytes + 1024 * 1024
        if path.endswith("/cover/"):
            return images
        return 1024 * 1024  # JSON bodies
    return limit_for
