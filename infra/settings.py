"""All configuration, read from the environment (and `.env`) by pydantic-settings."""

from __future__ import annotations

import ipaddress
import json
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import (
    AfterValidator,
    AliasChoices,
    BeforeValidator,
    Field,
    SecretStr,
    model_validator,
)
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

from infra.ratelimit import parse_limits

DEV_JWT_SECRET = "dev-only-insecure-jwt-secret-change-me"
DEV_MEDIA_SECRET = "dev-only-insecure-media-secret-change-me"


def _limits(value: str) -> str:
    parse_limits(value)
    return value


def _address_list(value: Any) -> Any:
    """A JSON list, or addresses separated by commas (as uvicorn's FORWARDED_ALLOW_IPS)."""
    if isinstance(value, str):
        value = value.strip()
        if value.startswith("["):
            return json.loads(value)
        return [part.strip() for part in value.split(",") if part.strip()]
    return value


def _networks(values: list[str]) -> list[str]:
    """Addresses and networks, written as uvicorn's ProxyHeadersMiddleware reads them
    (it would take a malformed one for a host name, silently)."""
    return [str(ipaddress.ip_network(v, strict=False)) if "/" in v else str(ipaddress.ip_address(v))
            for v in values]


# The `limits` notation; several windows separated by ";" ("10/minute;50/hour").
RateLimit = Annotated[str, AfterValidator(_limits)]
Networks = Annotated[list[str], NoDecode, BeforeValidator(_address_list),
                     AfterValidator(_networks)]


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_file=".env", extra="ignore")

    environment: Literal["development", "test", "production"] = "development"
    log_level: str = "INFO"
    # One line per record: JSON (with request id and actor) or plain text; unset:
    # plain in development, JSON otherwise.
    log_format: Literal["json", "plain"] | None = None
    # Processes without the HTTP API serve /metrics on this port when set.
    metrics_port: int | None = Field(default=None, ge=1, le=65535)

    # Servers. Unset means "start the embedded one under data_dir".
    database_url: str | None = None
    redis_url: str | None = None
    data_dir: Path = Path(".data")
    redis_prefix: str = "s2g:"
    db_pool_size: int = Field(default=1, ge=1)
    db_max_overflow: int = Field(default=5, ge=0)
    # While PostgreSQL is down a request waits about ten times db_pool_timeout
    # (eventsourcing retries) before it is answered 503; a pool tries to
    # reconnect for db_reconnect_timeout, then again on the next request.
    db_pool_timeout: int = Field(default=2, ge=1)
    db_reconnect_timeout: float = Field(default=2.0, gt=0)
    # Nothing waits forever: PostgreSQL cancels a statement after db_statement_timeout
    # seconds, a lock wait (the event store's table lock too) after db_lock_timeout,
    # and ends a transaction left idle after db_idle_in_transaction_timeout; the call
    # is retried, then answered 503 with Retry-After.
    db_statement_timeout: float = Field(default=30.0, gt=0)
    db_lock_timeout: int = Field(default=5, ge=1)
    db_idle_in_transaction_timeout: int = Field(default=5, ge=1)
    # Aggregates each application keeps loaded, brought up to date on each use
    # with the events saved since (0: load every time from the last snapshot).
    aggregate_cache_size: int = Field(default=5000, ge=0)
    # SIGTERM: a process stops within this many seconds, whatever it is waiting on.
    shutdown_timeout: float = Field(default=8.0, gt=0, le=60)

    # HTTP
    host: str = "127.0.0.1"
    port: int = 8000
    public_url: str = "http://127.0.0.1:8000"
    cors_origins: list[str] = []

    # Auth
    jwt_secret: SecretStr = SecretStr(DEV_JWT_SECRET)
    access_token_ttl_seconds: int = Field(default=3600, gt=0)
    refresh_token_ttl_seconds: int = Field(default=7 * 24 * 3600, gt=0)

    # Rate limits, per client address (after TRUSTED_PROXIES), email or principal.
    rate_limit_login: RateLimit = Field(  # per client address + email
        default="10/minute;50/hour",
        validation_alias=AliasChoices("rate_limit_login", "login_rate_limit"))
    rate_limit_login_ip: RateLimit = "30/minute;300/hour"  # per client address
    rate_limit_signup: RateLimit = "5/minute;20/hour"  # per client address
    rate_limit_refresh: RateLimit = "30/minute;300/hour"  # per client address
    rate_limit_reset_request: RateLimit = "5/minute;20/hour"  # per client address
    rate_limit_reset_email: RateLimit = "3/hour;10/day"  # per email
    rate_limit_reset_confirm: RateLimit = "10/minute;50/hour"  # per client address
    rate_limit_pair: RateLimit = "10/minute;50/hour"  # per client address
    rate_limit_pairing_code: RateLimit = "10/minute;100/hour"  # per user
    rate_limit_tts: RateLimit = "10/minute;100/hour"  # per user
    rate_limit_upload: RateLimit = "30/minute;300/hour"  # per user
    rate_limit_command: RateLimit = "10/second;300/minute"  # per user or device
    # Proxies (addresses or networks) whose X-Forwarded-For / -Proto are believed.
    trusted_proxies: Networks = []

    # Read side
    projections_in_process: bool = True
    wait_for_position_timeout: float = Field(default=5.0, gt=0, le=30)

    # Media storage: a local folder (default) or S3 (or any S3-compatible store).
    storage_backend: Literal["local", "s3"] = "local"
    media_dir: Path | None = None  # default: DATA_DIR/media
    media_signing_key: SecretStr = SecretStr(DEV_MEDIA_SECRET)
    media_url_ttl_seconds: int = Field(default=3600, gt=0)
    s3_bucket: str | None = None
    s3_region: str = "us-east-1"
    s3_endpoint_url: str | None = None
    aws_access_key_id: str | None = None
    aws_secret_access_key: SecretStr | None = None
    s3_create_bucket: bool = False
    max_upload_mb: int = Field(default=200, gt=0)
    max_image_mb: int = Field(default=10, gt=0)
    max_files_per_upload: int = Field(default=50, gt=0)
    # Resumable (tus) uploads wait here until their last byte; an upload left
    # alone longer than the TTL is removed.
    resumable_dir: Path | None = None  # default: DATA_DIR/uploads
    resumable_ttl_seconds: int = Field(default=24 * 3600, gt=0)

    # Backups: the folder of pg_dump and psql (else pgserver's, else those on PATH)
    pg_bin_dir: Annotated[Path | None, BeforeValidator(lambda v: v or None)] = None  # "": unset

    # Playback clock and device presence
    tick_seconds: float = Field(default=1.0, gt=0)
    presence_ttl_seconds: int = Field(default=30, gt=0)
    presence_sweep_seconds: float = Field(default=10.0, gt=0)
    schedule_tick_seconds: float = Field(default=5.0, gt=0)
    # How often the leader looks for subscriptions that ended (a lapse is recorded
    # within this long after the client's local midnight).
    subscription_check_seconds: float = Field(default=60.0, gt=0)
    # The scheduler also runs with in-process projections (leader-elected either way)
    scheduler_in_process: bool = True
    schedule_grace_seconds: float = Field(default=300.0, ge=0)
    # Housekeeping (infra/housekeeping.py): how often the leader ends expired sessions
    # and pairing codes and looks for orphaned media; how long a file no event refers
    # to stays after it was first found so.
    housekeeping_seconds: float = Field(default=300.0, gt=0)
    orphan_grace_seconds: int = Field(default=24 * 3600, ge=0)

    # Background work (dramatiq on Redis)
    workers_in_process: bool = True
    worker_threads: int = Field(default=2, ge=1)
    # A worker silent for this long is dead: its unfinished jobs go back to the
    # queue. The check runs on this many broker commands out of a million.
    worker_heartbeat_timeout_ms: int = Field(default=60_000, gt=0)
    worker_maintenance_chance: int = Field(default=1000, ge=0, le=1_000_000)

    # Text to speech: Google Cloud when credentials are given, else espeak-ng.
    google_application_credentials: str | None = None
    tts_default_language: str = "en-US"

    # Mail: without smtp_host, mails are written to the log.
    smtp_host: str | None = None
    smtp_port: int = 587
    smtp_user: str | None = None
    smtp_password: SecretStr | None = None
    smtp_from: str = "sync2gear <noreply@sync2gear.local>"
    smtp_starttls: bool = False
    smtp_ssl: bool = False
    smtp_timeout: float = 10.0
    # The job queue mails are sent from (infra/mail.py): a process whose SMTP settings
    # differ from the workers' on the default queue sends through a queue of its own.
    mail_queue: str = Field(default="mail", pattern=r"^[A-Za-z_][A-Za-z0-9._-]*$")

    @model_validator(mode="after")
    def _refuse_insecure_production(self) -> Settings:
        if self.environment != "production":
            return self
        secret = self.jwt_secret.get_secret_value()
        if secret == DEV_JWT_SECRET or len(secret) < 32:
            raise ValueError("JWT_SECRET must be set to a random value of 32+ characters")
        if not self.database_url or not self.redis_url:
            raise ValueError("DATABASE_URL and REDIS_URL must be set in production")
        media_secret = self.media_signing_key.get_secret_value()
        if self.storage_backend == "local" and (
            media_secret == DEV_MEDIA_SECRET or len(media_secret) < 32
        ):
            raise ValueError("MEDIA_SIGNING_KEY must be set to a random value of 32+ characters")
        if self.public_url.startswith("http://127.0.0.1"):
            raise ValueError("PUBLIC_URL must be set in production")
        return self

    @model_validator(mode="after")
    def _s3_needs_a_bucket(self) -> Settings:
        if self.storage_backend == "s3" and not self.s3_bucket:
            raise ValueError("STORAGE_BACKEND=s3 needs S3_BUCKET")
        return self

    @property
    def rate_limits(self) -> dict[str, str]:
        """Every rate limit by name: `rate_limit_login` is "login"."""
        return {name.removeprefix("rate_limit_"): getattr(self, name)
                for name in type(self).model_fields if name.startswith("rate_limit_")}

    @property
    def media_root(self) -> Path:
        return self.media_dir or self.data_dir / "media"

    @property
    def resumable_root(self) -> Path:
        return self.resumable_dir or self.data_dir / "uploads"

    @property
    def max_upload_bytes(self) -> int:
        return self.max_upload_mb * 1024 * 1024

    @property
    def smtp_configured(self) -> bool:
        return bool(self.smtp_host)
