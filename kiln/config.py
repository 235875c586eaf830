"""Settings: one TOML file plus KILN_* environment variables, validated at start-up.

``KILN_SERVER__PORT=8080`` overrides ``[server] port``. A bad value stops start-up with a message
naming the key, where it came from and what is expected.
"""

from __future__ import annotations

import json
import os
import tomllib
from collections.abc import Mapping
from pathlib import Path
from typing import Any, Literal, get_args, get_origin

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from kiln.config_alarms import AlarmSettings
from kiln.config_ingest import IngestSettings
from kiln.config_notify import NotifySettings
from kiln.domain.states import DEFAULT_MICRO_STOP_MS
from kiln.domain.templates import TEMPLATES
from kiln.errors import ConfigError

ENV_PREFIX = "KILN_"


class _Section(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class ServerSettings(_Section):
    """The web app and API."""

    host: str = Field("127.0.0.1", description="address to listen on")
    port: int = Field(8000, ge=1, le=65535, description="TCP port to listen on")
    max_body_bytes: int = Field(16 * 1024 * 1024, ge=1024, description="largest request body")


class WebSettings(_Section):
    """The pages: which language a browser that states none is shown (docs/web.md)."""

    default_language: Literal["zh", "en"] = Field(
        "zh", description="page language when neither the user nor the browser chooses one"
    )


class StoreSettings(_Section):
    """Where telemetry and assets are kept."""

    backend: Literal["duckdb", "postgres"] = Field("duckdb", description="storage backend")
    path: Path = Field(Path("data/kiln.duckdb"), description="DuckDB file")
    memory_limit: str = Field("512MB", description="DuckDB memory limit")
    url: str = Field(
        "postgresql://postgres@127.0.0.1:5432/kiln",
        description="PostgreSQL URL (libpq form), for backend = postgres",
    )
    pool_size: int = Field(8, ge=1, le=200, description="PostgreSQL connections per process")
    batch_ids_days: float = Field(
        7.0,
        gt=0,
        description="how long committed batch identities guard against redelivery (longer than "
        "any broker keeps an unacknowledged message)",
    )
    compact_every_s: float = Field(300.0, gt=0, description="how often live points are sorted in")


class RetentionSettings(_Section):
    """How long telemetry is kept, in whole UTC days; 0 keeps forever (docs/storage.md)."""

    enabled: bool = Field(True, description="apply retention once a day, after a compaction")
    raw_days: int = Field(30, ge=0, le=36_500, description="days of raw points kept")
    rollup_1m_days: int = Field(
        180, ge=0, le=36_500, description="days of 1-minute rollups kept (at least raw_days)"
    )
    rollup_1h_days: int = Field(
        0, ge=0, le=36_500, description="days of 1-hour rollups kept (at least rollup_1m_days)"
    )
    enterprises: dict[str, int] = Field(
        default_factory=dict, description="raw days per enterprise slug, e.g. {acme-auto = 90}"
    )
    signals: dict[str, int] = Field(
        default_factory=dict,
        description="raw days per signal kind or template.signal pattern, e.g. "
        '{state = 365, "industrial_robot.*" = 7}; the longest matching rule wins',
    )

    @field_validator("enterprises", "signals")
    @classmethod
    def _days(cls, value: dict[str, int]) -> dict[str, int]:
        for key, days in value.items():
            if not 0 <= days <= 36_500:
                raise ValueError(f"{key}: {days} is not within 0..36500 days")
        return value

    @field_validator("signals")
    @classmethod
    def _signal_classes(cls, value: dict[str, int]) -> dict[str, int]:
        kinds = ("gauge", "counter", "state", "enum")
        for key in value:
            template = key.split(".", 1)[0]
            if "." not in key and key not in kinds:
                raise ValueError(
                    f"{key!r} is neither a signal kind ({', '.join(kinds)}) nor a "
                    "template.signal pattern"
                )
            if "." in key and not any(c in template for c in "*?[") and template not in TEMPLATES:
                raise ValueError(f"{key!r}: unknown template {template!r}")
        return value


class SimulatorSettings(_Section):
    """The built-in factory city."""

    enabled: bool = Field(True, description="stream a simulated city inside `kiln demo`")
    seed: int = Field(7, description="seed of the deterministic city")
    enterprises: int = Field(40, ge=1, le=2000, description="enterprises in the city")
    speed: float = Field(1.0, gt=0, le=3600, description="simulated seconds per real second")
    backfill_hours: float = Field(
        2.0, ge=0, le=24 * 31, description="history to create on first start"
    )
    step_s: float = Field(1.0, gt=0, le=60, description="real seconds between live steps")


class SecuritySettings(_Section):
    """Sign-in, sessions, tokens and limits."""

    session_hours: float = Field(12.0, gt=0, le=24 * 30, description="web session lifetime")
    cookie_secure: bool = Field(False, description="mark cookies Secure (set when behind HTTPS)")
    login_per_minute: float = Field(10.0, gt=0, description="sign-in attempts per user and address")
    ingest_per_s: float = Field(200.0, gt=0, description="ingest requests per second per token")
    ingest_burst: int = Field(400, ge=1, description="ingest requests a token may burst")
    max_batch_items: int = Field(100_000, ge=1, description="points+states+counts in one batch")


StateKey = Literal["running", "idle", "setup", "down_fault", "planned_down"]
ElementKey = Literal["apt", "adot", "aust", "adet", "pdot"]


class KpiSettings(_Section):
    """ISO 22400 KPIs: the time model's rules, and limits on what one request may compute."""

    micro_stop_s: float = Field(
        DEFAULT_MICRO_STOP_MS / 1000,
        ge=0,
        le=3600,
        description="stops shorter than this stay in production time as minor stops",
    )
    micro_stop_s_by_template: dict[str, float] = Field(
        default_factory=dict,
        description="micro-stop threshold per equipment template, e.g. {press = 60}",
    )
    mapping: dict[str, dict[StateKey, ElementKey]] = Field(
        default_factory=dict,
        description="per template, the time element a state counts as, e.g. "
        '[kpi.mapping.injection_moulding] idle = "adet"',
    )
    min_enterprises: int = Field(
        3, ge=1, le=100, description="city roll-ups of fewer enterprises are suppressed"
    )
    max_windows: int = Field(
        1_200, ge=1, le=10_000, description="most windows (days, shifts) one request computes"
    )

    @field_validator("micro_stop_s_by_template", "mapping")
    @classmethod
    def _known_templates(cls, value: dict[str, Any]) -> dict[str, Any]:
        unknown = sorted(set(value) - set(TEMPLATES))
        if unknown:
            raise ValueError(f"unknown template {unknown[0]!r}; known: {', '.join(TEMPLATES)}")
        for key, seconds in value.items():
            if isinstance(seconds, float) and not 0 <= seconds <= 3600:
                raise ValueError(f"{key}: {seconds} s is not within 0..3600 s")
        return value


class Settings(_Section):
    """All of Kiln's settings."""

    server: ServerSettings = ServerSettings()
    security: SecuritySettings = SecuritySettings()
    web: WebSettings = WebSettings()
    store: StoreSettings = StoreSettings()
    retention: RetentionSettings = RetentionSettings()
    simulator: SimulatorSettings = SimulatorSettings()
    ingest: IngestSettings = IngestSettings()
    kpi: KpiSettings = KpiSettings()
    alarms: AlarmSettings = AlarmSettings()
    notify: NotifySettings = NotifySettings()
    assets: list[Path] = Field(default_factory=list, description="asset files loaded at start")


def _env_value(name: str, value: str) -> Any:
    # Lists come as JSON (KILN_ASSETS='["a.yaml", "b.toml"]'); scalars as text, which the
    # model then validates and converts.
    if value.lstrip().startswith("["):
        try:
            return json.loads(value)
        except json.JSONDecodeError as err:
            raise ConfigError(f"not a JSON list: {err}", where=name) from None
    return value


def _env_overrides(environ: Mapping[str, str]) -> tuple[dict[str, Any], dict[str, str]]:
    tree: dict[str, Any] = {}
    origin: dict[str, str] = {}
    for name, value in environ.items():
        if not name.startswith(ENV_PREFIX) or name == "KILN_CONFIG":
            continue
        path = name[len(ENV_PREFIX) :].lower().split("__")
        node = tree
        for part in path[:-1]:
            node = node.setdefault(part, {})
            if not isinstance(node, dict):
                raise ConfigError(
                    f"{name} conflicts with another KILN_ variable", where="environment"
                )
        node[path[-1]] = _env_value(name, value)
        origin[".".join(path)] = name
    return tree, origin


def _merge(base: dict[str, Any], over: dict[str, Any]) -> dict[str, Any]:
    out = dict(base)
    for k, v in over.items():
        out[k] = _merge(out[k], v) if isinstance(v, dict) and isinstance(out.get(k), dict) else v
    return out


def load_settings(
    path: Path | None = None,
    environ: Mapping[str, str] | None = None,
    overrides: dict[str, Any] | None = None,
) -> Settings:
    """Read the TOML file (if any), apply KILN_* variables and overrides, and validate."""
    environ = os.environ if environ is None else environ
    if path is None and environ.get("KILN_CONFIG"):
        path = Path(environ["KILN_CONFIG"])
    data: dict[str, Any] = {}
    source = "defaults"
    if path is not None:
        try:
            data = tomllib.loads(path.read_text(encoding="utf-8"))
        except FileNotFoundError:
            raise ConfigError("configuration file not found", where=str(path)) from None
        except tomllib.TOMLDecodeError as err:
            raise ConfigError(f"not valid TOML: {err}", where=str(path)) from None
        source = str(path)
    env_tree, env_origin = _env_overrides(environ)
    data = _merge(_merge(data, env_tree), overrides or {})
    try:
        return Settings.model_validate(data)
    except ValidationError as err:
        first = err.errors()[0]
        key = ".".join(str(p) for p in first["loc"])
        where = env_origin.get(key, source)
        got = first.get("input")
        raise ConfigError(
            f"{key}: {first['msg']} (got {got!r})"
            if not isinstance(got, dict)
            else f"{key}: {first['msg']}",
            where=where,
        ) from None


def _describe(prefix: str, model: type[BaseModel]) -> list[tuple[str, str, str]]:
    rows = []
    for key, field in model.model_fields.items():
        name = f"{prefix}.{key}" if prefix else key
        ann = field.annotation
        item = get_args(ann)[0] if get_origin(ann) is list else None
        default = (
            "required"
            if field.is_required()
            else repr(field.get_default(call_default_factory=True))
        )
        if isinstance(ann, type) and issubclass(ann, BaseModel):
            rows.extend(_describe(name, ann))
        elif isinstance(item, type) and issubclass(item, BaseModel):
            rows.append((name, "[]", field.description or ""))
            rows.extend(_describe(f"{name}[]", item))
        else:
            rows.append((name, default, field.description or ""))
    return rows


def describe_settings() -> list[tuple[str, str, str]]:
    """Every setting as (key, default, description), for the docs and `kiln --help`.

    Keys inside a list of tables read ``ingest.mqtt[].host``.
    """
    return _describe("", Settings)
