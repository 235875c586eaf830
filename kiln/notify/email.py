"""E-mail delivery: one plain-text mail per event through an SMTP relay, retried like webhooks.

Every failure but a refused login is retried. RFC 5321 calls 5xx replies permanent, but relays
answer 5xx for rate limits and policy hiccups too, and an alarm mail is worth a few attempts;
a wrong password is not going to improve.
"""

from __future__ import annotations

import asyncio
import random
from collections.abc import Awaitable, Callable
from datetime import datetime
from email.message import EmailMessage
from email.utils import formatdate, make_msgid
from zoneinfo import ZoneInfo

import aiosmtplib

from kiln.domain.alarms import AlarmEvent
from kiln.notify.payload import Names, event_id
from kiln.notify.retry import Attempt, Outcome, Policy, with_retries
from kiln.notify.settings import EmailTarget

SUBJECT_MAX = 160


def subject(event: AlarmEvent, names: Names) -> str:
    """The subject line: severity, action, equipment and the first line of the message.

    >>> from dataclasses import replace
    >>> from kiln.notify.payload import EXAMPLE_EVENT as e, fallback_names
    >>> subject(e, replace(fallback_names(e), equipment_name="kiln-1"))
    '[Kiln HIGH] raised: kiln-1 firing_temp 1,212 °C above 1,200 °C'
    """
    first_line = event.message.strip().splitlines()[0] if event.message.strip() else event.kind
    text = f"[Kiln {event.severity.name}] {event.action}: {names.equipment_name} {first_line}"
    return text if len(text) <= SUBJECT_MAX else text[: SUBJECT_MAX - 1] + "…"


def body(event: AlarmEvent, names: Names, zone: ZoneInfo) -> str:
    """The mail's text: what happened, to what, when (in zone), then the details."""
    when = datetime.fromtimestamp(event.ts_ms / 1000, tz=zone).strftime("%Y-%m-%d %H:%M:%S %Z")
    lines = [
        f"{names.equipment_name} ({names.enterprise_name}): alarm {event.action} at {when}.",
        "",
        event.message.strip() or "(no message)",
        "",
        f"Severity:   {event.severity.name.lower()}",
        f"Kind:       {event.kind}",
        f"Equipment:  {names.path}",
        f"Alarm:      {event.alarm_id} ({event.key})",
    ]
    if event.who:
        lines.append(f"By:         {event.who}")
    if event.comment:
        lines.append(f"Comment:    {event.comment}")
    lines += ["", "Sent by Kiln. The alarm history is the record; this mail is a notice of it."]
    return "\n".join(lines) + "\n"


def build_message(event: AlarmEvent, names: Names, target: EmailTarget) -> EmailMessage:
    """The mail, built once per delivery so every attempt sends the same Message-ID."""
    msg = EmailMessage()
    msg["Subject"] = subject(event, names)
    msg["From"] = target.sender
    msg["To"] = ", ".join(target.recipients)
    msg["Date"] = formatdate(event.ts_ms / 1000, usegmt=True)
    msg["Message-ID"] = make_msgid(idstring=event_id(event).replace(":", "."), domain="kiln")
    msg["X-Kiln-Event"] = event_id(event)
    msg.set_content(body(event, names, ZoneInfo(target.timezone)))
    return msg


class EmailChannel:
    """Delivers events to one e-mail target's recipients."""

    kind = "email"

    def __init__(
        self,
        target: EmailTarget,
        *,
        rng: random.Random | None = None,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
    ) -> None:
        self.target = target
        self.rng = rng or random.Random()
        self.sleep = sleep
        self.policy = Policy(target.max_attempts, target.first_backoff_s, target.max_backoff_s)

    async def send(self, event: AlarmEvent, names: Names, delivery_id: str) -> Outcome:
        """Send the mail until the relay accepts it or the target's attempts run out."""
        msg = build_message(event, names, self.target)
        msg["X-Kiln-Delivery"] = delivery_id

        async def attempt(n: int) -> Attempt:
            return await self._attempt(msg)

        return await with_retries(attempt, self.policy, rng=self.rng, sleep=self.sleep)

    async def _attempt(self, msg: EmailMessage) -> Attempt:
        t = self.target
        try:
            refused, reply = await aiosmtplib.send(
                msg,
                hostname=t.host,
                port=t.port,
                username=t.username or None,
                password=t.password.get_secret_value() or None,
                use_tls=t.security == "ssl",
                start_tls=t.security == "starttls",
                timeout=t.timeout_s,
            )
        except aiosmtplib.SMTPAuthenticationError as err:
            return Attempt(ok=False, retry=False, status=f"SMTP {err.code} login refused")
        except aiosmtplib.SMTPRecipientsRefused as err:
            codes = sorted({r.code for r in err.recipients})
            return Attempt(ok=False, retry=True, status=f"SMTP {codes} recipients refused")
        except aiosmtplib.SMTPResponseException as err:
            return Attempt(ok=False, retry=True, status=f"SMTP {err.code} {err.message}")
        except aiosmtplib.SMTPTimeoutError:
            return Attempt(ok=False, retry=True, status="timeout")
        except (aiosmtplib.SMTPException, OSError) as err:
            return Attempt(ok=False, retry=True, status=f"{type(err).__name__}: {err}")
        # Some recipients refused while others accepted: a retry would mail the others twice.
        status = f"SMTP {reply}" + (f"; refused {sorted(refused)}" if refused else "")
        return Attempt(ok=True, status=status)
