"""Notification settings: the README's [notify] block parses; bad values name their field."""

from __future__ import annotations

import tomllib
from typing import Any, get_args

import pytest
from pydantic import ValidationError

from kiln.domain.alarms import ACTIONS, Severity
from kiln.notify.settings import Action, EmailTarget, NotifySettings, WebhookTarget
from tests.notify.events import event

README_BLOCK = """
[notify]
queue_size = 1000
drain_s = 5

[[notify.webhooks]]
name = "ops-hook"
url = "https://ops.example.com/kiln/alarms"
secret = "change-me-to-32-random-characters"
min_severity = "high"
enterprises = [3, 17]
actions = ["raised", "escalated", "cleared"]
timeout_s = 10
max_attempts = 5
first_backoff_s = 1
max_backoff_s = 60
headers = { Authorization = "Bearer abc123" }

[[notify.email]]
name = "shift-leads"
host = "smtp.example.com"
port = 587
security = "starttls"
username = "kiln"
password = "app-password"
sender = "kiln@plant.example.com"
recipients = ["shift-lead@plant.example.com", "maintenance@plant.example.com"]
min_severity = "medium"
timezone = "Asia/Shanghai"
"""


def _notify(data: dict[str, Any]) -> NotifySettings:
    return NotifySettings.model_validate(data)


def _webhook(**over: Any) -> dict[str, Any]:
    return {"name": "hook", "url": "http://x.example/h", "secret": "s" * 16, **over}


def _email(**over: Any) -> dict[str, Any]:
    return {
        "name": "mail",
        "host": "smtp.example.com",
        "sender": "kiln@example.com",
        "recipients": ["a@example.com"],
        **over,
    }


def _error(data: dict[str, Any]) -> tuple[str, str]:
    with pytest.raises(ValidationError) as info:
        _notify(data)
    first = info.value.errors()[0]
    return ".".join(str(p) for p in first["loc"]), first["msg"]


def test_the_readme_block_parses_into_targets() -> None:
    s = _notify(tomllib.loads(README_BLOCK)["notify"])
    hook, mail = s.webhooks[0], s.email[0]
    assert hook.min_severity is Severity.HIGH
    assert hook.enterprises == [3, 17]
    assert hook.secret.get_secret_value() == "change-me-to-32-random-characters"
    assert hook.headers == {"Authorization": "Bearer abc123"}
    assert mail.min_severity is Severity.MEDIUM
    assert mail.security == "starttls"
    assert mail.recipients == ["shift-lead@plant.example.com", "maintenance@plant.example.com"]


def test_defaults_send_raised_escalated_and_cleared_of_every_severity() -> None:
    hook = WebhookTarget.model_validate(_webhook())
    assert hook.actions == ["raised", "escalated", "cleared"]
    assert hook.min_severity is Severity.LOW
    assert hook.enterprises is None
    assert NotifySettings().webhooks == []


def test_secrets_do_not_show_in_repr() -> None:
    hook = WebhookTarget.model_validate(_webhook(secret="a-very-secret-value"))
    mail = EmailTarget.model_validate(_email(username="u", password="hunter2-password"))
    assert "a-very-secret-value" not in repr(hook)
    assert "hunter2-password" not in repr(mail)


def test_actions_are_the_domains_actions() -> None:
    assert set(get_args(Action)) == set(ACTIONS)


@pytest.mark.parametrize(
    ("data", "where", "says"),
    [
        ({"webhooks": [_webhook(min_severity="hgih")]}, "webhooks.0.min_severity", "low, medium"),
        ({"webhooks": [_webhook(secret="short")]}, "webhooks.0.secret", "at least 16"),
        ({"webhooks": [_webhook(url="ftp://x/y")]}, "webhooks.0.url", "not an http"),
        ({"webhooks": [_webhook(actions=["exploded"])]}, "webhooks.0.actions.0", "raised"),
        ({"webhooks": [_webhook(actions=[])]}, "webhooks.0.actions", "at least 1"),
        ({"webhooks": [_webhook(max_attempts=0)]}, "webhooks.0.max_attempts", "greater than"),
        ({"webhooks": [_webhook(timeout_s=0)]}, "webhooks.0.timeout_s", "greater than"),
        (
            {"webhooks": [_webhook(headers={"X-Kiln-Signature": "x"})]},
            "webhooks.0.headers",
            "set by Kiln",
        ),
        ({"webhooks": [_webhook(colour="red")]}, "webhooks.0.colour", "Extra inputs"),
        ({"email": [_email(recipients=["nobody"])]}, "email.0.recipients", "'nobody' is not"),
        ({"email": [_email(recipients=[])]}, "email.0.recipients", "at least 1"),
        ({"email": [_email(sender="kiln at home")]}, "email.0.sender", "not a mail address"),
        ({"email": [_email(port=70000)]}, "email.0.port", "less than or equal"),
        ({"email": [_email(security="tls13")]}, "email.0.security", "starttls"),
        ({"email": [_email(timezone="Mars/Olympus")]}, "email.0.timezone", "Mars/Olympus"),
        ({"email": [_email(password="pw")]}, "email.0", "username is empty"),
        ({"email": [_email(first_backoff_s=90)]}, "email.0", "above max_backoff_s"),
        ({"queue_size": 0}, "queue_size", "greater than"),
    ],
)
def test_a_bad_value_is_refused_naming_its_field(
    data: dict[str, Any], where: str, says: str
) -> None:
    loc, msg = _error(data)
    assert loc == where
    assert says in msg


def test_two_targets_with_one_name_are_refused() -> None:
    loc, msg = _error({"webhooks": [_webhook(name="ops")], "email": [_email(name="ops")]})
    assert loc == ""
    assert "'ops' is used twice" in msg


def test_a_target_accepts_by_severity_enterprise_and_action() -> None:
    hook = WebhookTarget.model_validate(
        _webhook(min_severity="high", enterprises=[3], actions=["raised"])
    )
    assert hook.accepts(event(severity=Severity.HIGH))
    assert hook.accepts(event(severity=Severity.CRITICAL))
    assert not hook.accepts(event(severity=Severity.MEDIUM))
    assert not hook.accepts(event(enterprise_id=4))
    assert not hook.accepts(event(action="cleared"))
