"""Read the keys of line protocol: measurement and tags, and field keys, with their escapes.

Measurements escape ``,`` and space with a backslash; tag keys, tag values and field keys also
escape ``=``; two backslashes read as one. Any other backslash is kept as it is. Keys are
parsed once per distinct key of a body, so this code is plain Python.
"""

from __future__ import annotations

from dataclasses import dataclass

COMMA, EQUALS, BACKSLASH = ord(","), ord("="), ord("\\")


@dataclass(frozen=True, slots=True)
class KeyFault:
    """Why a key cannot be used, and where in it (0-based byte offset)."""

    offset: int
    reason: str
    syntax: bool = True


def _split(raw: bytes, sep: int) -> list[tuple[int, bytes]]:
    """Split on unescaped ``sep``; each part with its offset, escapes left in."""
    if BACKSLASH not in raw:
        parts, at = [], 0
        for p in raw.split(bytes([sep])):
            parts.append((at, p))
            at += len(p) + 1
        return parts
    out, start, i, n = [], 0, 0, len(raw)
    while i < n:
        if raw[i] == BACKSLASH:
            i += 2
            continue
        if raw[i] == sep:
            out.append((start, raw[start:i]))
            start = i + 1
        i += 1
    out.append((start, raw[start:]))
    return out


def _unescape(raw: bytes, escapable: bytes) -> bytes:
    if BACKSLASH not in raw:
        return raw
    out, i, n = bytearray(), 0, len(raw)
    while i < n:
        c = raw[i]
        if c == BACKSLASH and i + 1 < n and raw[i + 1] in escapable:
            out.append(raw[i + 1])
            i += 2
            continue
        out.append(c)
        i += 1
    return bytes(out)


def _text(raw: bytes, at: int, what: str) -> str | KeyFault:
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError as err:
        return KeyFault(at + err.start, f"{what} is not valid UTF-8")


def parse_key(raw: bytes) -> tuple[str, dict[str, str]] | KeyFault:
    r"""The measurement and tags of a key section, or why it cannot be read.

    >>> parse_key(b"press\\ 1,site=nan\\,hai,equipment=press-1")
    ('press 1', {'site': 'nan,hai', 'equipment': 'press-1'})
    >>> parse_key(b"press-1,site").reason
    "tag 'site' has no '=' and value"
    """
    parts = _split(raw, COMMA)
    measurement = _text(_unescape(parts[0][1], b", \\"), 0, "the measurement")
    if isinstance(measurement, KeyFault):
        return measurement
    if not measurement:
        return KeyFault(0, "the measurement is empty")
    tags: dict[str, str] = {}
    for at, part in parts[1:]:
        pair = _split(part, EQUALS)
        name = _text(_unescape(pair[0][1], b",= \\"), at, "a tag key")
        if isinstance(name, KeyFault):
            return name
        if not name:
            return KeyFault(at, "a tag key is empty")
        if len(pair) != 2:
            why = "has no '=' and value" if len(pair) < 2 else "has an unescaped '=' in its value"
            return KeyFault(at, f"tag {name!r} {why}")
        value = _text(_unescape(pair[1][1], b",= \\"), at + pair[1][0], f"tag {name!r}")
        if isinstance(value, KeyFault):
            return value
        if not value:
            return KeyFault(at + pair[1][0], f"tag {name!r} has an empty value")
        tags[name] = value
    return measurement, tags


def parse_field_key(raw: bytes) -> str | KeyFault:
    r"""A field key without its escapes, or why it cannot be read.

    >>> parse_field_key(b"lube\\ temp")
    'lube temp'
    """
    return _text(_unescape(raw, b",= \\"), 0, "the field key")
