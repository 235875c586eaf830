"""Settings of alarms: ``[alarms]`` (detection on or off, flapping limits) and its rules,
``[[alarms.rules]]``, each checked by the same parser the API and the UI use."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field, field_validator

from kiln.errors import BadInput
from kiln.stream.rule_defs import parse_rule


class AlarmSettings(BaseModel):
    """Rules, anomaly detection and the alarm lifecycle (docs/alarms.md)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    enabled: bool = Field(True, description="evaluate rules and detectors on what is ingested")
    detect: bool = Field(
        True, description="learn every signal's normal behaviour and alarm on anomalies"
    )
    flap_transitions: int = Field(
        5,
        ge=1,
        le=1000,
        description="raise/clear transitions within flap_window_s that mark an alarm flapping",
    )
    flap_window_s: float = Field(600.0, gt=0, le=86_400, description="the flapping window")
    rules: list[dict[str, Any]] = Field(
        default_factory=list, description="rules, one [[alarms.rules]] table each (docs/alarms.md)"
    )

    @field_validator("rules")
    @classmethod
    def _rules(cls, value: list[dict[str, Any]]) -> list[dict[str, Any]]:
        names: set[str] = set()
        for i, doc in enumerate(value):
            try:
                rule = parse_rule(doc, where=f"alarms.rules[{i}]")
            except BadInput as err:
                raise ValueError(str(err)) from None
            if rule.name in names:
                raise ValueError(f"alarms.rules[{i}]: the name {rule.name!r} is used twice")
            names.add(rule.name)
        return value
