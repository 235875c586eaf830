"""Sparkplug B 3.0 topics and the primary host's STATE message (domain.md 3.1).

``spBv1.0/{group_id}/{verb}/{edge_node_id}[/{device_id}]``, and ``spBv1.0/STATE/{host_id}``
whose retained JSON payload says whether the primary host is online.
"""

from __future__ import annotations

import json
from dataclasses import dataclass

NAMESPACE = "spBv1.0"
NODE_VERBS = frozenset({"NBIRTH", "NDEATH", "NDATA", "NCMD"})
DEVICE_VERBS = frozenset({"DBIRTH", "DDEATH", "DDATA", "DCMD"})
REBIRTH_METRIC = "Node Control/Rebirth"


@dataclass(frozen=True, slots=True)
class Topic:
    """A parsed Sparkplug topic; ``device`` is empty for node-level verbs."""

    group: str
    verb: str
    node: str
    device: str = ""


def parse_topic(topic: str) -> Topic | None:
    """The parts of a Sparkplug edge topic, or None if it is not one (e.g. STATE).

    >>> parse_topic("spBv1.0/acme-auto.nanhai-1/DDATA/tandem-a/press-2")
    Topic(group='acme-auto.nanhai-1', verb='DDATA', node='tandem-a', device='press-2')
    >>> parse_topic("spBv1.0/g/DDATA/n") is None, parse_topic("spBv1.0/STATE/kiln") is None
    (True, True)
    """
    parts = topic.split("/")
    if len(parts) == 4 and parts[0] == NAMESPACE and parts[2] in NODE_VERBS:
        return Topic(parts[1], parts[2], parts[3])
    if len(parts) == 5 and parts[0] == NAMESPACE and parts[2] in DEVICE_VERBS:
        return Topic(parts[1], parts[2], parts[3], parts[4])
    return None


def edge_topic(group: str, verb: str, node: str, device: str = "") -> str:
    """The topic of an edge node's (or device's) message.

    >>> edge_topic("g", "NCMD", "n")
    'spBv1.0/g/NCMD/n'
    """
    return "/".join(
        (NAMESPACE, group, verb, node, device) if device else (NAMESPACE, group, verb, node)
    )


def state_topic(host_id: str) -> str:
    """The primary host's STATE topic (3.0: no group)."""
    return f"{NAMESPACE}/STATE/{host_id}"


def state_payload(online: bool, ts_ms: int) -> bytes:
    """The STATE message: ``{"online": bool, "timestamp": ms}``.

    >>> state_payload(True, 5)
    b'{"online":true,"timestamp":5}'
    """
    return json.dumps({"online": online, "timestamp": ts_ms}, separators=(",", ":")).encode()


def parse_state(payload: bytes) -> tuple[bool, int] | None:
    """(online, timestamp) of a STATE message, or None if it is not a 3.0 STATE payload.

    >>> parse_state(b'{"online": false, "timestamp": 7}'), parse_state(b"OFFLINE")
    ((False, 7), None)
    """
    try:
        doc = json.loads(payload)
    except ValueError:
        return None
    if not isinstance(doc, dict):
        return None
    online, ts = doc.get("online"), doc.get("timestamp")
    if not isinstance(online, bool) or not isinstance(ts, int) or isinstance(ts, bool):
        return None
    return online, ts
