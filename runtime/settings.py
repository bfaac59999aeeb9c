"""All configuration, read from O11Y_* environment variables."""

from __future__ import annotations

import json
import logging
import stat
from pathlib import Path
from typing import Annotated, Any, Literal
from urllib.parse import urlsplit

from pydantic import BeforeValidator, Field, SecretStr, ValidationInfo, field_validator, model_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

ClientSecretMap = dict[str, list[SecretStr]]
BYTES_PER_BODY_BYTE = 8
"""What a request body costs the in-flight budget per byte: the bytes, their text and the parsed events (measured
3.7–7 times the body)."""
SINGLE_EVENT_SHARE = 8
"""1/8 of the in-flight budget is kept for bodies of one event: batches never take it."""
MIN_SECRET_LENGTH = 16
"""Shorter secrets can be guessed; 16 random URL-safe characters are 96 bits."""
log = logging.getLogger(__name__)


def _warn_if_readable(path: Path) -> None:
    try:
        mode = path.stat().st_mode
    except OSError:
        return
    if mode & (stat.S_IRWXG | stat.S_IRWXO):
        log.warning("client secrets file %s can be read by group or others (mode %o): chmod 600 it", path, mode & 0o777)


def _load_client_secrets(raw: Any) -> Any:
    """Accept a JSON object, `@/path/file.json`, or an already-parsed mapping."""
    if not isinstance(raw, str):
        return raw
    text = raw.strip()
    if not text:
        return {}
    if text.startswith("@"):
        path = Path(text[1:])
        _warn_if_readable(path)
        try:
            text = path.read_text(encoding="utf-8")
        except OSError as err:
            raise ValueError(f"cannot read client secrets file {path}: {err.strerror}") from err
    try:
        parsed = json.loads(text)
    except json.JSONDecodeError as err:
        raise ValueError(
            'must be a JSON object mapping client name to a list of secrets, e.g. {"kilo-gateway": ["s1"]}'
            f" (JSON error at line {err.lineno} column {err.colno})"
        ) from None
    if not isinstance(parsed, dict):
        raise ValueError("must be a JSON object mapping client name to a list of secrets")
    return {name: [v] if isinstance(v, str) else v for name, v in parsed.items()}


URL_SCHEMES: dict[str, tuple[str, ...]] = {
    "clickhouse_url": ("http", "https", "chdb"),
    "redis_url": ("redis", "rediss", "unix"),
    "slack_page_webhook_url": ("https", "http"),
    "slack_ticket_webhook_url": ("https", "http"),
    "alert_heartbeat_url": ("https", "http"),
    "recommended_models_url": ("https", "http"),
    "posthog_host": ("https", "http"),
    "public_url": ("https", "http"),
}
"""Which schemes each URL setting speaks; anything else is refused at start (a bare host:port was taken as HTTP)."""


def check_url(field: str, url: str) -> None:
    """Refuse a URL o11y cannot use; the message never repeats the URL (it may hold a password or a token)."""
    schemes = URL_SCHEMES[field]
    parts = urlsplit(url)
    if parts.scheme not in schemes:
        raise ValueError(f"must start with {' or '.join(f'{s}://' for s in schemes)}")
    try:
        port = parts.port
    except ValueError:
        raise ValueError("has a port that is not a number from 0 to 65535") from None
    if parts.scheme not in {"chdb", "unix"} and not parts.hostname:
        raise ValueError("names no host")
    if port == 0:
        raise ValueError("has port 0")


def check_brokers(servers: str) -> None:
    for server in servers.split(","):
        host, colon, port = server.strip().rpartition(":")
        if not colon or not host or not port.isdigit() or not 0 < int(port) < 65536:
            raise ValueError("must be host:port[,host:port] with ports from 1 to 65535")


class Settings(BaseSettings):
    """Every knob of the service; docs/operators/configuration.md documents each one."""

    model_config = SettingsConfigDict(env_prefix="O11Y_", extra="ignore")

    http_host: str = "0.0.0.0"
    http_port: int = Field(default=8080, ge=0, le=65535)
    http_max_body_bytes: int = Field(default=64 * 1024, gt=0)
    http_max_batch_bytes: int = Field(default=8 * 1024 * 1024, gt=0)
    http_max_batch_events: int = Field(default=1000, gt=0)
    http_body_timeout_s: float = Field(default=10.0, gt=0)
    http_keepalive_timeout_s: float = Field(default=75.0, gt=0)
    http_max_inflight_bytes: int = Field(default=192 * 1024 * 1024, gt=0)
    http_reuse_port: bool = False
    """Bind with SO_REUSEPORT, so that several processes share the port (what `--workers` sets for its workers)."""
    workers: int | None = Field(default=None, ge=1, le=256)
    """Processes of `o11y ingest` (default: the cores it may use) and of `o11y load` (default 1)."""

    kafka_bootstrap_servers: str | None = None
    kafka_topic: str = "api-metrics"
    kafka_session_topic: str = "session-metrics"
    kafka_partitions: int = Field(default=6, gt=0)
    kafka_ack_timeout_ms: int = Field(default=5000, gt=0, le=30000)
    kafka_linger_ms: int = Field(default=0, ge=0)
    kafka_batch_bytes: int = Field(default=256 * 1024, gt=0)
    kafka_compression: Literal["lz4", "gzip", "zstd", "none"] = "lz4"
    kafka_max_in_flight_events: int = Field(default=20000, gt=0)
    kafka_client: Literal["kafka-python", "confluent-kafka"] = "confluent-kafka"
    """Which Kafka client the ingest producer uses (per process)."""

    clickhouse_url: str | None = None
    clickhouse_raw_ttl_days: int = Field(default=90, gt=0)
    clickhouse_rollup_ttl_days: int = Field(default=400, gt=0)
    clickhouse_alert_ttl_days: int = Field(default=400, gt=0)

    loader_group_id: str = "o11y-loader"
    loader_batch_rows: int = Field(default=50_000, gt=0)
    loader_batch_ms: int = Field(default=1000, gt=0)
    loader_batch_bytes: int = Field(default=16 * 1024 * 1024, gt=0)
    loader_max_clock_skew_s: float = Field(default=300.0, gt=0)
    loader_session_timeout_ms: int = Field(default=10_000, ge=6000)
    loader_max_poll_interval_ms: int = Field(default=300_000, ge=10_000)
    """A member that does not poll for this long (a hung loader) is dropped from the group."""
    loader_dlq_max_run: int = Field(default=1000, gt=0)
    loader_dlq_max_share: float = Field(default=0.5, gt=0, le=1)
    dedup_horizon_s: int = Field(default=86_400, ge=0, le=30 * 86_400)
    """How long an event id is remembered: a copy within it is not stored again. 0 turns dedup off."""
    redis_url: str | None = None

    client_secrets: Annotated[ClientSecretMap, NoDecode] = Field(default_factory=dict)
    admin_tokens: Annotated[ClientSecretMap, NoDecode] = Field(default_factory=dict)
    api_tokens: Annotated[ClientSecretMap, NoDecode] = Field(default_factory=dict)
    """Read tokens of the read API: see usage, status, overrides, silences; change nothing."""
    admin_port: int | None = Field(default=None, ge=1, le=65535)
    api_port: int | None = Field(default=None, ge=0, le=65535)
    """Where `o11y dev` serves the read API (default: O11Y_HTTP_PORT + 1); `o11y api` itself uses O11Y_HTTP_PORT."""
    api_export_write_timeout_s: float = Field(default=30.0, gt=0, le=3600)
    """An export whose client does not take 64 KiB within this many seconds is cut off, freeing its slot."""

    sql_max_concurrent: int = Field(default=2, ge=1, le=64)
    """`POST /v1/sql` queries one API process runs at once; more get 429."""
    sql_timeout_s: int = Field(default=60, ge=1, le=3600)
    sql_max_memory_bytes: int = Field(default=512 * 1024 * 1024, ge=16 * 1024 * 1024, le=1024**4)
    sql_max_threads: int = Field(default=1, ge=1, le=256)

    slack_page_webhook_url: SecretStr | None = None
    slack_ticket_webhook_url: SecretStr | None = None
    slo_config: Path | None = None
    public_url: str | None = None
    """Where people open the pages (e.g. https://o11y.example.com): Slack messages link there when set."""
    prices: Path | None = None
    """The price table (YAML) the read API applies to token counts; None: every request is reported as unpriced."""
    recommended_models_url: str | None = None
    alert_stale_after_s: float = Field(default=120.0, gt=0)
    alert_data_wait_s: float = Field(default=20.0, ge=0, le=50)
    alert_send_timeout_s: int = Field(default=5, gt=0, le=30)
    alert_send_budget_s: float = Field(default=20.0, gt=0, le=50)
    alert_heartbeat_url: SecretStr | None = None

    posthog_api_key: SecretStr | None = None
    posthog_host: str = "https://us.i.posthog.com"

    log_level: Annotated[Literal["DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL"], BeforeValidator(
        lambda v: v.upper() if isinstance(v, str) else v)] = "INFO"
    log_format: Literal["text", "json"] | None = None
    """None: text under `o11y dev`, JSON for the services."""
    data_dir: Path = Path("var")

    _check_secrets = field_validator("client_secrets", "admin_tokens", "api_tokens", mode="before")(_load_client_secrets)

    @field_validator(*URL_SCHEMES)
    @classmethod
    def _usable_url(cls, value: str | SecretStr | None, info: ValidationInfo) -> str | SecretStr | None:
        if value is not None:
            check_url(str(info.field_name), value.get_secret_value() if isinstance(value, SecretStr) else value)
        return value

    @field_validator("kafka_bootstrap_servers")
    @classmethod
    def _usable_brokers(cls, value: str | None) -> str | None:
        if value is not None:
            check_brokers(value)
        return value

    @field_validator("client_secrets", "admin_tokens", "api_tokens")
    @classmethod
    def _usable_secrets(cls, value: ClientSecretMap, info: ValidationInfo) -> ClientSecretMap:
        """Each secret can match (no padding), is long enough, and belongs to one name only."""
        who = {"client_secrets": "client", "admin_tokens": "admin", "api_tokens": "reader"}[str(info.field_name)]
        owners: dict[str, str] = {}
        for name, secrets in value.items():
            if not name.strip():
                raise ValueError(f"{who} names must not be blank")
            if not secrets or any(not s.get_secret_value().strip() for s in secrets):
                raise ValueError(f"{who} {name!r} needs at least one non-blank secret")
            for secret in (s.get_secret_value() for s in secrets):
                if secret != secret.strip():
                    raise ValueError(f"a secret of {who} {name!r} starts or ends with white space: remove it")
                if len(secret) < MIN_SECRET_LENGTH:
                    raise ValueError(f"a secret of {who} {name!r} is shorter than {MIN_SECRET_LENGTH} characters")
                other = owners.setdefault(secret, name)
                if other != name:
                    raise ValueError(f"{who}s {other!r} and {name!r} share a secret: each secret names one {who}")
        return value

    @model_validator(mode="after")
    def _budget_holds_a_batch(self) -> Settings:
        """The largest batch must fit the part of the in-flight budget that batches may use (all but the eighth kept for
        single events): else no batch of that size could ever be taken."""
        needed = self.http_max_batch_bytes * BYTES_PER_BODY_BYTE * SINGLE_EVENT_SHARE // (SINGLE_EVENT_SHARE - 1) + 1
        if self.http_max_inflight_bytes < needed:
            raise ValueError(f"O11Y_HTTP_MAX_INFLIGHT_BYTES must be at least {needed} to hold one batch of "
                             f"O11Y_HTTP_MAX_BATCH_BYTES ({self.http_max_batch_bytes}) beside the room kept for single events")
        return self

    @model_validator(mode="after")
    def _one_role_per_secret(self) -> Settings:
        """An ingest secret is never an admin or read token, and an admin token is not also a read token."""
        roles: dict[str, str] = {}
        for field in ("client_secrets", "admin_tokens", "api_tokens"):
            for secrets in getattr(self, field).values():
                for secret in (s.get_secret_value() for s in secrets):
                    other = roles.setdefault(secret, field)
                    if other != field:
                        raise ValueError(f"O11Y_{other.upper()} and O11Y_{field.upper()} share a secret: give each role its own")
        return self

    def topics(self) -> dict[str, str]:
        """Each event type's topic, by the type's name (`schemas.event_registry`): `O11Y_KAFKA_TOPIC` for requests,
        `O11Y_KAFKA_SESSION_TOPIC` for sessions."""
        return {"api-metrics": self.kafka_topic, "session-metrics": self.kafka_session_topic}

    def topic_for(self, event_type: str) -> str:
        return self.topics()[event_type]

    def topic_dlq(self, event_type: str = "api-metrics") -> str:
        return f"{self.topic_for(event_type)}-dlq"

    def loader_group_for(self, event_type: str) -> str:
        """The consumer group of an event type's loader: `O11Y_LOADER_GROUP_ID` for requests, `<it>-<type>` for others."""
        return self.loader_group_id if event_type == "api-metrics" else f"{self.loader_group_id}-{event_type}"

    def event_topics(self) -> list[str]:
        """Every event type's topic: what the loaders read and the stale-data guard watches."""
        return list(self.topics().values())

    def all_topics(self) -> list[str]:
        """Every event topic and its dead-letter topic."""
        return [name for topic in self.event_topics() for name in (topic, f"{topic}-dlq")]

    def local_url(self, port: int) -> str:
        """This machine's address for a port o11y listens on: the host it binds, or loopback when it binds every address."""
        host = self.http_host if self.http_host not in ("", "0.0.0.0", "::") else "127.0.0.1"
        return f"http://{f'[{host}]' if ':' in host else host}:{port}"

    def dev_api_port(self) -> int:
        """Where `o11y dev` serves the read API, and where commands look for it."""
        return self.api_port if self.api_port is not None else self.http_port + 1
