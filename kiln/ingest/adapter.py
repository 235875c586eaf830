"""The Adapter protocol, and the registry that builds the adapters the settings configure.

An adapter runs until cancelled: it connects, reconnects with backoff when its peer goes away,
decodes what arrives into bundles for the Sink, and sends what it cannot decode to the Sink's
dead letters. Nothing a peer sends may end ``run``; only cancellation does.
"""

from __future__ import annotations

from typing import Protocol

from kiln.config_ingest import IngestSettings
from kiln.ingest.sink import Sink


class Adapter(Protocol):
    """One configured connection: an MQTT subscription, an OPC UA session, a Modbus device…"""

    kind: str  # "mqtt", "sparkplug", "opcua", "modbus", "nats"
    name: str

    async def run(self, sink: Sink) -> None:
        """Deliver to the sink until cancelled."""
        ...


def adapters_from(settings: IngestSettings) -> list[Adapter]:
    """Every adapter the settings configure (each protocol's module loads only when used)."""
    adapters: list[Adapter] = []
    if settings.mqtt:
        from kiln.ingest.mqtt.adapter import MqttAdapter

        adapters.extend(MqttAdapter(cfg) for cfg in settings.mqtt)
    if settings.sparkplug:
        from kiln.ingest.sparkplug.host import SparkplugHost

        adapters.extend(SparkplugHost(cfg) for cfg in settings.sparkplug)
    if settings.opcua:
        from kiln.ingest.opcua.client import OpcUaAdapter

        adapters.extend(OpcUaAdapter(cfg) for cfg in settings.opcua)
    if settings.modbus:
        from kiln.ingest.modbus.poller import ModbusAdapter

        adapters.extend(ModbusAdapter(cfg) for cfg in settings.modbus)
    if settings.nats:
        from kiln.ingest.nats.adapter import NatsAdapter

        adapters.extend(NatsAdapter(cfg) for cfg in settings.nats)
    return adapters
