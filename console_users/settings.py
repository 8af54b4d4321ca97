"""Settings read once at start-up from the environment and an optional `.env` file."""

from __future__ import annotations

import enum
from pathlib import Path
from typing import Annotated, NamedTuple
from urllib.parse import urlsplit

from pydantic import Field, SecretStr, ValidationError, field_validator, model_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

DEFAULT_DATABASE_URL = "sqlite://var/console-users.sqlite3"


class SmtpSecurity(enum.StrEnum):
    NONE = "none"
    STARTTLS = "starttls"
    TLS = "tls"


class RateLimit(NamedTuple):
    """At most `count` attempts per `window_seconds`; written COUNT/SECONDS in the environment."""

    count: int
    window_seconds: int


def parse_rate_limit(value: object) -> object:
    """Turn 'COUNT/SECONDS' into a RateLimit; leave other values to pydantic's own checks."""
    if not isinstance(value, str):
        return value
    count, slash, seconds = value.strip().partition("/")
    if not (slash and count.strip().isdigit() and seconds.strip().isdigit()):
        raise ValueError(f"{value!r} is not COUNT/SECONDS, such as 10/900 for 10 attempts per 15 minutes")
    return RateLimit(int(count), int(seconds))


def origin_of(url: str) -> str:
    """Return the scheme://host[:port] part of a URL, lower-cased, as browsers send it in Origin."""
    parts = urlsplit(url.strip())
    return f"{parts.scheme}://{parts.netloc}".lower()


class SettingsError(Exception):
    """Raised when an environment variable has an invalid value; the message names it."""


# The settings written COUNT/SECONDS; each is parsed and checked the same way.
RATE_LIMIT_FIELDS = (
    "rate_limit_login_per_account",
    "rate_limit_login_per_address",
    "rate_limit_accept_per_address",
    "rate_limit_invites_per_organization",
    "rate_limit_resends_per_user",
)


class Settings(BaseSettings):
    """Every setting of the server, one environment variable each."""

    model_config = SettingsConfigDict(env_file=".env", extra="ignore", frozen=True)

    # Tortoise database URL: sqlite://path/to/file or postgres://user@host:port/name.
    database_url: str = DEFAULT_DATABASE_URL
    # Connection pool bounds for PostgreSQL.
    database_pool_min: int = Field(default=1, ge=1)
    database_pool_max: int = Field(default=10, ge=1)

    # Without SMTP_HOST, messages are written to the log instead of being sent.
    smtp_host: str | None = None
    smtp_port: int = Field(default=25, ge=1, le=65535)
    smtp_username: str | None = None
    smtp_password: SecretStr | None = None
    smtp_security: SmtpSecurity = SmtpSecurity.STARTTLS
    # Seconds one SMTP socket operation may take.
    smtp_timeout_seconds: float = Field(default=30.0, gt=0)
    mail_from: str = "Console <no-reply@console.localhost>"

    # Base URL of the React console; invitation links point below it.
    console_url: str = "http://localhost:3000"
    invitation_ttl_seconds: int = Field(default=604800, ge=60)

    session_cookie_secure: bool = True
    # A session ends after this long without a request, and after its absolute lifetime.
    session_idle_timeout_seconds: int = Field(default=7 * 24 * 3600, ge=60)
    session_lifetime_seconds: int = Field(default=30 * 24 * 3600, ge=60)

    # --- Account self-service: lifetimes of mailed links, and limits on the mail they cause ---
    # How long a password reset link works. A newer request replaces the older link at once.
    password_reset_ttl_seconds: int = Field(default=3600, ge=60)
    # How long the confirmation link of an email change works.
    email_change_ttl_seconds: int = Field(default=24 * 3600, ge=60)
    # requestPasswordReset and requestEmailChange each accept at most this many requests per
    # ACCOUNT_MAIL_WINDOW_SECONDS for one email address, and for one client IP address.
    account_mail_requests_per_address: int = Field(default=5, ge=1)
    account_mail_requests_per_client: int = Field(default=20, ge=1)
    account_mail_window_seconds: int = Field(default=3600, ge=60)

    # Operations one API token may run per minute, across all server instances.
    api_token_requests_per_minute: int = Field(default=600, ge=1)

    # Serve the GraphiQL explorer on GET /graphql from a browser. Off unless set; `make run` sets it.
    graphiql: bool = False

    # --- Hardening: request limits, browser safety and abuse limits (README, "Security") ---
    # Request bodies larger than this get 413 before anything is parsed.
    max_request_body_bytes: int = Field(default=100 * 1024, ge=1024)
    # Limits on one GraphQL document, checked before execution.
    max_query_depth: int = Field(default=10, ge=1)
    max_query_aliases: int = Field(default=15, ge=0)
    max_query_tokens: int = Field(default=2000, ge=100)
    # Schema introspection (__schema, __type); GraphiQL's documentation needs it.
    introspection: bool = False
    # "Did you mean ...?" hints in error messages, which reveal names even without introspection.
    field_suggestions: bool = False
    # Let GET requests that carry the session cookie run queries. Off: such a request gets 403.
    get_with_session_cookie: bool = False
    # Origins whose pages may call the API with the session cookie, comma-separated.
    # Unset means the origin of CONSOLE_URL.
    allowed_origins: Annotated[tuple[str, ...], NoDecode] = ()
    # Attempts per time window, written COUNT/SECONDS; counted in the database across instances.
    rate_limit_login_per_account: Annotated[RateLimit, NoDecode] = Field(default_factory=lambda: RateLimit(10, 900))
    rate_limit_login_per_address: Annotated[RateLimit, NoDecode] = Field(default_factory=lambda: RateLimit(50, 900))
    rate_limit_accept_per_address: Annotated[RateLimit, NoDecode] = Field(default_factory=lambda: RateLimit(20, 900))
    rate_limit_invites_per_organization: Annotated[RateLimit, NoDecode] = Field(
        default_factory=lambda: RateLimit(100, 3600)
    )
    rate_limit_resends_per_user: Annotated[RateLimit, NoDecode] = Field(default_factory=lambda: RateLimit(5, 3600))
    # Pending (not accepted, not expired) invitations one organization may have at once.
    max_pending_invitations: int = Field(default=500, ge=1)

    # Outbox delivery: how often the loop looks for due messages, and how long a claim lasts.
    delivery_poll_seconds: float = Field(default=1.0, gt=0)
    delivery_lease_seconds: int = Field(default=120, ge=5)
    delivery_batch_size: int = Field(default=20, ge=1)
    delivery_max_attempts: int = Field(default=10, ge=1)

    @field_validator("database_url")
    @classmethod
    def _check_database_url(cls, value: str) -> str:
        schemes = ("sqlite://", "postgres://", "postgresql://", "asyncpg://")
        if not value.startswith(schemes):
            raise ValueError(
                f"{value!r} is not a supported URL; use sqlite://PATH or postgres://USER@HOST:PORT/NAME"
            )
        return value

    @field_validator("console_url")
    @classmethod
    def _check_console_url(cls, value: str) -> str:
        if not value.startswith(("http://", "https://")):
            raise ValueError(f"{value!r} is not an http:// or https:// URL")
        return value.rstrip("/")

    @field_validator("mail_from")
    @classmethod
    def _check_mail_from(cls, value: str) -> str:
        if any(ord(ch) < 32 for ch in value) or "@" not in value:
            raise ValueError(f"{value!r} is not a mail address such as 'Console <no-reply@example.com>'")
        return value

    @field_validator(*RATE_LIMIT_FIELDS, mode="before")
    @classmethod
    def _parse_rate_limit(cls, value: object) -> object:
        return parse_rate_limit(value)

    @field_validator(*RATE_LIMIT_FIELDS)
    @classmethod
    def _check_rate_limit(cls, value: RateLimit) -> RateLimit:
        if value.count < 1 or value.window_seconds < 1:
            raise ValueError(f"{value.count}/{value.window_seconds} allows nothing; give at least 1/1")
        return value

    @field_validator("allowed_origins", mode="before")
    @classmethod
    def _split_origins(cls, value: object) -> object:
        if isinstance(value, str):
            return tuple(part.strip() for part in value.split(",") if part.strip())
        return value

    @field_validator("allowed_origins")
    @classmethod
    def _check_origins(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        for origin in value:
            if origin == "*" or not origin.startswith(("http://", "https://")) or origin_of(origin) != origin.lower().rstrip("/"):
                raise ValueError(
                    f"{origin!r} is not an origin; list scheme://host[:port] values such as https://console.example.com"
                )
        return tuple(origin_of(origin) for origin in value)

    @model_validator(mode="after")
    def _check_smtp_credentials(self) -> Settings:
        # Credentials must never cross the network in clear text.
        if self.smtp_username and self.smtp_security is SmtpSecurity.NONE:
            raise ValueError(
                "SMTP_USERNAME is set while SMTP_SECURITY is 'none'; use starttls or tls so the password is encrypted"
            )
        if self.database_pool_min > self.database_pool_max:
            raise ValueError(
                f"DATABASE_POOL_MIN ({self.database_pool_min}) is larger than DATABASE_POOL_MAX ({self.database_pool_max})"
            )
        return self

    @property
    def session_cookie_name(self) -> str:
        # The __Host- prefix makes browsers insist on Secure, Path=/ and no Domain.
        return "__Host-session" if self.session_cookie_secure else "session"

    @property
    def trusted_origins(self) -> frozenset[str]:
        """Return ALLOWED_ORIGINS, or the origin of CONSOLE_URL when it is unset."""
        return frozenset(self.allowed_origins or (origin_of(self.console_url),))

    def sqlite_path(self) -> Path | None:
        if not self.database_url.startswith("sqlite://"):
            return None
        location = self.database_url.removeprefix("sqlite://").split("?", 1)[0]
        return None if location == ":memory:" else Path(location)


def load_settings(**overrides: object) -> Settings:
    """Read the settings, turning validation errors into one message per variable."""
    try:
        return Settings(**overrides)  # type: ignore[arg-type]
    except ValidationError as error:
        lines = []
        for problem in error.errors():
            if problem["loc"]:
                variable = "_".join(str(part) for part in problem["loc"]).upper()
                lines.append(f"{variable}: {problem['msg']} (got {problem.get('input')!r})")
            else:
                lines.append(problem["msg"].removeprefix("Value error, "))
        raise SettingsError("Invalid settings:\n  " + "\n  ".join(lines)) from None
