"""The webhook body and its signature: known answers, and what a receiver's verify rejects."""

from __future__ import annotations

import json

from hypothesis import given
from hypothesis import strategies as st

from kiln.domain.alarms import Severity
from kiln.notify.payload import encode, sign, verify
from tests.notify.events import describe, event

SECRET = "a-shared-secret-of-16+"


def test_signature_is_the_hmac_of_timestamp_dot_body() -> None:
    # printf '1764239489.{"id":"1"}' | openssl dgst -sha256 -hmac 'a-shared-secret-of-16+'
    expected = "fbc1a86cdb8dc65dfb7e226ba9a2429e9b2527c89fef6f6d0095a4fc891d65fc"
    assert sign(SECRET, 1764239489, b'{"id":"1"}') == f"sha256={expected}"


def test_the_body_carries_the_event_and_the_names_of_its_assets() -> None:
    ev = event(severity=Severity.CRITICAL, action="cleared")
    body = json.loads(encode(ev, describe(ev)))
    assert body == {
        "schema": "kiln.alarm-event/1",
        "id": "42:cleared:1764239489000",
        "alarm_id": 42,
        "action": "cleared",
        "ts_ms": 1764239489000,
        "time": "2025-11-27T10:31:29Z",
        "severity": "critical",
        "severity_code": 4,
        "kind": "threshold",
        "key": "rule:kiln-overheat:eq:42",
        "message": "firing_temp 1,212 °C above 1,200 °C",
        "who": None,
        "comment": None,
        "enterprise": {"id": 3, "slug": "acme-ceramics", "name": "Acme Ceramics"},
        "equipment": {"id": 7, "name": "kiln-1", "path": "acme-ceramics/plant-1/line-2/kiln-1"},
    }


def test_the_body_is_utf8_with_units_unescaped() -> None:
    ev = event()
    assert "1,212 °C".encode() in encode(ev, describe(ev))


def test_verify_accepts_what_was_signed_within_five_minutes() -> None:
    body = encode(event(), describe(event()))
    sig = sign(SECRET, 1_000_000, body)
    assert verify(SECRET, "1000000", body, sig, now_s=1_000_000 + 299)
    assert verify(SECRET, 1_000_000, body, sig, now_s=1_000_000 - 299)


def test_verify_rejects_a_tampered_body() -> None:
    body = encode(event(), describe(event()))
    sig = sign(SECRET, 1_000_000, body)
    tampered = body.replace(b'"severity":"high"', b'"severity":"low"')
    assert tampered != body
    assert not verify(SECRET, "1000000", tampered, sig, now_s=1_000_000)


def test_verify_rejects_an_old_timestamp_as_a_replay() -> None:
    body = b"{}"
    sig = sign(SECRET, 1_000_000, body)
    assert not verify(SECRET, "1000000", body, sig, now_s=1_000_000 + 301)
    assert not verify(SECRET, "1000000", body, sig, now_s=1_000_000 - 301)
    assert verify(SECRET, "1000000", body, sig, now_s=1_000_000 + 3600, tolerance_s=3600)


def test_verify_rejects_a_refreshed_timestamp_on_an_old_signature() -> None:
    body = b"{}"
    sig = sign(SECRET, 1_000_000, body)
    assert not verify(SECRET, "1000400", body, sig, now_s=1_000_400)


def test_verify_rejects_a_wrong_secret_and_malformed_headers() -> None:
    body = b"{}"
    sig = sign(SECRET, 1_000_000, body)
    assert not verify("another-secret-of-16+", "1000000", body, sig, now_s=1_000_000)
    assert not verify(SECRET, "yesterday", body, sig, now_s=1_000_000)
    assert not verify(SECRET, "1000000", body, sig.removeprefix("sha256="), now_s=1_000_000)
    assert not verify(SECRET, "1000000", body, "", now_s=1_000_000)


@given(
    secret=st.text(min_size=16, max_size=64),
    body=st.binary(max_size=512),
    stamp=st.integers(0, 2**40),
    skew=st.integers(-300, 300),
)
def test_what_is_signed_verifies(secret: str, body: bytes, stamp: int, skew: int) -> None:
    assert verify(secret, str(stamp), body, sign(secret, stamp, body), now_s=stamp + skew)


@given(body=st.binary(min_size=1, max_size=256), data=st.data())
def test_changing_any_byte_of_the_body_breaks_the_signature(
    body: bytes, data: st.DataObject
) -> None:
    i = data.draw(st.integers(0, len(body) - 1))
    flipped = body[:i] + bytes([body[i] ^ data.draw(st.integers(1, 255))]) + body[i + 1 :]
    assert not verify(SECRET, "5", flipped, sign(SECRET, 5, body), now_s=5)
