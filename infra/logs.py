"""Logging: one line per record, JSON in production, plain text in development.

Every module logs through the standard `logging` module; structlog's
`ProcessorFormatter` renders each record, adding what is bound to the current
context (structlog's `bind_contextvars`): the request id
(interfaces/http/middleware.py) and the actor (interfaces/http/deps.py) of the
request being served, so every line a request causes carries both.
"""

from __future__ import annotations

import logging
import sys
from typing import Any

import structlog
from structlog.contextvars import merge_contextvars

from infra.settings import Settings

_SHARED: list[Any] = [
    merge_contextvars,
    structlog.stdlib.add_log_level,
    structlog.stdlib.add_logger_name,
    structlog.processors.TimeStamper(fmt="iso", utc=True),
]


def configure_logging(settings: Settings) -> None:
    """Route every logger (ours, uvicorn's, dramatiq's) through one renderer."""
    json = settings.log_format == "json" if settings.log_format else (
        settings.environment != "development")
    renderer: Any = (structlog.processors.JSONRenderer() if json
                     else structlog.dev.ConsoleRenderer(colors=False))
    formatter = structlog.stdlib.ProcessorFormatter(
        foreign_pre_chain=_SHARED,
        processors=[structlog.stdlib.ProcessorFormatter.remove_processors_meta,
                    structlog.processors.format_exc_info, renderer])
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(formatter)
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(settings.log_level.upper())
    for name in ("uvicorn", "uvicorn.error", "uvicorn.access"):  # theirs go through ours
        logger = logging.getLogger(name)
        logger.handlers[:] = []
        logger.propagate = True

