"""Settings of alarm notifications: ``[[notify.webhooks]]`` and ``[[notify.email]]`` tables, one
per target, each with its own filter (least severity, enterprises, actions) and retry policy.

Notifications are a courtesy, not the record: the alarm history is. A target that is down for
longer than its retries last misses what happened meanwhile, and that is counted and logged.
"""

from __future__ import annotations

from typing import Any, Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import BaseModel, ConfigDict, Field, SecretStr, field_validator, model_validator

from kiln.domain.alarms import AlarmEvent, Severity

Action = Literal[
    "raised", "cleared", "acknowledged", "shelved", "unshelved", "flapping", "escalated"
]

# Those that ask someone to act, and the all-clear; acknowledgements and shelving are the
# operators' own doing and would mostly echo back to them.
DEFAULT_ACTIONS: tuple[Action, ...] = ("raised", "escalated", "cleared")


class _Section(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class _Target(_Section):
    """What every target has: a name, a filter and a retry policy."""

    name: str = Field(
        pattern=r"^[a-z0-9][a-z0-9_-]{0,62}$", description="target name (unique in [notify])"
    )
    min_severity: Severity = Field(
        "low",  # validated into Severity.LOW; reads well in docs
        validate_default=True,
        description="least severity sent: low, medium, high or critical",
    )
    enterprises: list[int] | None = Field(
        None, description="enterprise ids whose alarms are sent (default: all)"
    )
    actions: list[Action] = Field(
        default_factory=lambda: list(DEFAULT_ACTIONS),
        min_length=1,
        description="alarm actions sent (raised, cleared, acknowledged, shelved, unshelved, "
        "flapping, escalated)",
    )
    timeout_s: float = Field(10.0, gt=0, le=300, description="timeout of one attempt")
    max_attempts: int = Field(5, ge=1, le=50, description="attempts before giving up")
    first_backoff_s: float = Field(
        1.0, gt=0, le=3600, description="wait after the first failure; doubles after each"
    )
    max_backoff_s: float = Field(
        60.0,
        gt=0,
        le=3600,
        description="longest wait between attempts; a longer Retry-After gives up at once",
    )

    @field_validator("min_severity", mode="before")
    @classmethod
    def _severity(cls, value: Any) -> Any:
        # TOML says "high"; Severity.parse's error lists the names that are accepted.
        return Severity.parse(value) if isinstance(value, str) else value

    @model_validator(mode="after")
    def _backoffs(self) -> _Target:
        if self.first_backoff_s > self.max_backoff_s:
            raise ValueError(
                f"first_backoff_s {self.first_backoff_s} is above max_backoff_s "
                f"{self.max_backoff_s}"
            )
        return self

    def accepts(self, event: AlarmEvent) -> bool:
        """Whether this target wants the event (severity, enterprise and action all match)."""
        return (
            event.severity >= self.min_severity
            and event.action in self.actions
            and (self.enterprises is None or event.enterprise_id in self.enterprises)
        )


class WebhookTarget(_Target):
    """An HTTP endpoint that receives each event as a signed JSON POST (docs in payload.py)."""

    url: str = Field(description="endpoint URL (http:// or https://)")
    secret: SecretStr = Field(description="shared secret of the HMAC-SHA256 signature")
    headers: dict[str, str] = Field(
        default_factory=dict, description="extra request headers, e.g. {Authorization = '...'}"
    )

    @field_validator("url")
    @classmethod
    def _http_url(cls, value: str) -> str:
        if not value.startswith(("http://", "https://")) or len(value.split("://", 1)[1]) == 0:
            raise ValueError(f"{value!r} is not an http:// or https:// URL")
        return value

    @field_validator("secret")
    @classmethod
    def _long_secret(cls, value: SecretStr) -> SecretStr:
        # A short secret can be guessed offline from one signed body.
        if len(value.get_secret_value()) < 16:
            raise ValueError("must be at least 16 characters")
        return value

    @field_validator("headers")
    @classmethod
    def _own_headers(cls, value: dict[str, str]) -> dict[str, str]:
        for key in value:
            if key.lower().startswith("x-kiln-") or key.lower() == "content-type":
                raise ValueError(f"{key!r} is set by Kiln and cannot be overridden")
        return value


class EmailTarget(_Target):
    """An SMTP relay and the people who get each event as a plain-text mail."""

    host: str = Field(description="SMTP server host")
    port: int = Field(587, ge=1, le=65535, description="SMTP port (587 STARTTLS, 465 SSL, 25)")
    security: Literal["starttls", "ssl", "none"] = Field(
        "starttls",
        description="starttls (upgrade after connecting), ssl (TLS from the start) or none",
    )
    username: str = Field("", description="SMTP user name (empty: no login)")
    password: SecretStr = Field(
        "",  # validated into SecretStr(""); reads well in docs
        validate_default=True,
        description="SMTP password",
    )
    sender: str = Field(description="From address, e.g. kiln@plant.example")
    recipients: list[str] = Field(min_length=1, description="To addresses")
    timezone: str = Field("UTC", description="time zone the mail shows times in")

    @field_validator("sender")
    @classmethod
    def _sender(cls, value: str) -> str:
        return _address(value)

    @field_validator("recipients")
    @classmethod
    def _recipients(cls, value: list[str]) -> list[str]:
        return [_address(v) for v in value]

    @field_validator("timezone")
    @classmethod
    def _zone(cls, value: str) -> str:
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError):
            raise ValueError(f"unknown time zone {value!r}") from None
        return value

    @model_validator(mode="after")
    def _login(self) -> EmailTarget:
        if self.password.get_secret_value() and not self.username:
            raise ValueError("password is set but username is empty")
        return self


def _address(value: str) -> str:
    local, at, domain = value.strip().rpartition("@")
    if not at or not local or "." not in domain or any(c in value for c in " \r\n<>,"):
        raise ValueError(f"{value!r} is not a mail address")
    return value.strip()


class NotifySettings(_Section):
    """Where alarm notifications go."""

    queue_size: int = Field(
        1000, ge=1, le=1_000_000, description="notifications waiting per target; more are dropped"
    )
    drain_s: float = Field(
        5.0, ge=0, le=300, description="on stop, how long queued notifications may still go out"
    )
    webhooks: list[WebhookTarget] = Field(default_factory=list, description="webhook targets")
    email: list[EmailTarget] = Field(default_factory=list, description="e-mail targets")

    @model_validator(mode="after")
    def _unique_names(self) -> NotifySettings:
        seen: set[str] = set()
        for target in [*self.webhooks, *self.email]:
            if target.name in seen:
                raise ValueError(f"target name {target.name!r} is used twice")
            seen.add(target.name)
        return self
