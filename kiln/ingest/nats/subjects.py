"""The unified namespace on NATS subjects: the MQTT topic's levels, joined with ``.``.

::

    kiln.v1.acme-auto.nanhai-1.press-shop.tandem-a.op20.press-2.telemetry.tonnage_kn
    fs/v1/acme-auto/nanhai-1/press-shop/tandem-a/op20/press-2/telemetry/tonnage_kn

Slugs hold no ``.`` and no ``/`` (lower-case letters, digits and ``-``), so a subject maps to a
topic and back level for level; the topic under the subject's own root (``kiln/v1/...``) is then
routed and decoded by the MQTT adapter's namespace and payload code, the one decoder of both.
A signal whose name holds a ``.`` cannot be named in a subject: send it on the equipment's
``.telemetry`` subject with ``values``.
"""

from __future__ import annotations

from kiln.domain.catalog import AssetCatalog
from kiln.ingest.mqtt.namespace import Namespace, Refused, Route


def topic_of(subject: str) -> str:
    """The topic whose levels are the subject's tokens.

    >>> topic_of("kiln.v1.acme-auto.nanhai-1.press-shop.tandem-a.op10.press-1.count")
    'kiln/v1/acme-auto/nanhai-1/press-shop/tandem-a/op10/press-1/count'
    """
    return subject.replace(".", "/")


def subject_of(topic: str, root: str = "kiln.v1", topic_root: str = "fs/v1") -> str:
    """The subject of a topic under ``topic_root``, moved to the subject ``root``.

    >>> subject_of("fs/v1/acme-auto/nanhai-1/press-shop/tandem-a/op10/press-1/state")
    'kiln.v1.acme-auto.nanhai-1.press-shop.tandem-a.op10.press-1.state'
    """
    prefix = topic_root.strip("/") + "/"
    if not topic.startswith(prefix):
        raise ValueError(f"{topic!r} is not under {prefix!r}")
    return f"{root}.{topic[len(prefix) :].replace('/', '.')}"


class SubjectNamespace:
    """Routes subjects under one root through the unified namespace (see Namespace.route)."""

    def __init__(self, root: str = "kiln.v1") -> None:
        self.root = root.strip(".")
        self._prefix = self.root + "."
        self._outside = Refused(f"outside the namespace: subjects start with {self._prefix!r}")
        self.namespace = Namespace(topic_of(self.root))

    def route(self, subject: str, catalog: AssetCatalog) -> Route | Refused:
        """Resolve a subject; unknown names and subjects outside the root are Refused.

        >>> SubjectNamespace().route("plant.press-2.tonnage", AssetCatalog()).reason
        "outside the namespace: subjects start with 'kiln.v1.'"
        """
        if not subject.startswith(self._prefix):
            return self._outside
        if "/" in subject:  # it would split a token into topic levels
            return Refused("outside the namespace: '/' in a subject token")
        return self.namespace.route(topic_of(subject), catalog)
