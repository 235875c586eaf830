"""Settings of the ingest adapters: ``[[ingest.mqtt]]``, ``[[ingest.sparkplug]]``,
``[[ingest.opcua]]``, ``[[ingest.modbus]]`` and ``[[ingest.nats]]`` tables in the TOML file, one
per connection.

Each adapter configured here runs inside ``kiln serve`` / ``kiln demo`` and in ``kiln ingest``.
"""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator


class _Section(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


_NAME = Field(pattern=r"^[a-z0-9][a-z0-9_-]{0,62}$", description="adapter name (unique per kind)")


class BrokerSettings(_Section):
    """How to reach an MQTT broker."""

    host: str = Field("127.0.0.1", description="broker host")
    port: int = Field(1883, ge=1, le=65535, description="broker port (8883 for TLS)")
    protocol: Literal["3.1.1", "5"] = Field("5", description="MQTT protocol version")
    client_id: str = Field("", description="client id (default: kiln-<kind>-<name>)")
    username: str = Field("", description="broker user name")
    password: str = Field("", description="broker password")
    tls: bool = Field(False, description="connect with TLS")
    ca_file: Path | None = Field(None, description="CA certificate (PEM) to trust")
    cert_file: Path | None = Field(None, description="client certificate (PEM)")
    key_file: Path | None = Field(None, description="client private key (PEM)")
    keepalive_s: int = Field(30, ge=5, le=3600, description="MQTT keep-alive")
    reconnect_max_s: float = Field(30.0, gt=0, le=3600, description="longest reconnect backoff")


class MqttSettings(BrokerSettings):
    """An MQTT unified-namespace subscription with JSON payloads."""

    name: str = _NAME
    root: str = Field("fs/v1", description="UNS root: <root>/<enterprise>/<site>/<area>/...")
    topics: list[str] = Field(default_factory=list, description="topic filters (default: <root>/#)")
    qos: Literal[0, 1] = Field(1, description="subscription QoS; 1 acknowledges after commit")
    dedupe: bool = Field(
        True,
        description="QoS 1: commit each message under its topic and payload digest, so one "
        "delivered again is stored once",
    )
    shared_group: str = Field(
        "",
        pattern=r"^[^/+#]*$",
        description="MQTT 5 shared-subscription group: workers in it share the messages",
    )
    worker: str = Field(
        "",
        pattern=r"^[A-Za-z0-9_.-]*$",
        description="with shared_group: this worker's stable name, the client id's suffix "
        "(default: the host name)",
    )
    session_expiry_s: int = Field(
        3600,
        ge=0,
        le=4_294_967_295,
        description="QoS 1: how long the broker keeps the session (and unacknowledged "
        "messages) while the adapter is away",
    )

    @model_validator(mode="after")
    def _shared_needs_mqtt5(self) -> MqttSettings:
        if self.shared_group and self.protocol != "5":
            raise ValueError(
                f'shared_group {self.shared_group!r} needs protocol "5" '
                f"(shared subscriptions are MQTT 5), not {self.protocol!r}"
            )
        return self


class SparkplugSettings(BrokerSettings):
    """A Sparkplug B 3.0 primary host application."""

    name: str = _NAME
    host_id: str = Field("kiln", description="primary host id (spBv1.0/STATE/<host_id>)")
    groups: list[str] = Field(
        default_factory=list, description="group ids to follow (default: all)"
    )
    enterprises: dict[str, str] = Field(
        default_factory=dict,
        description="group id -> enterprise slug (default: group id up to its first '.')",
    )
    auto_register: list[str] = Field(
        default_factory=list, description="enterprises whose births create equipment and signals"
    )
    reorder_timeout_s: float = Field(
        2.0, gt=0, le=60, description="how long a seq gap may wait before a rebirth request"
    )
    rebirth_every_s: float = Field(
        5.0, gt=0, le=3600, description="at most one rebirth request per edge node in this time"
    )


class OpcUaNode(_Section):
    """One OPC UA variable mapped to a signal."""

    node: str = Field(description="node id, e.g. ns=2;s=Press1.Tonnage")
    equipment: str = Field(description="equipment slug")
    signal: str = Field(description="signal name")


class OpcUaFolder(_Section):
    """An OPC UA folder whose variables become an equipment's signals (by browse name)."""

    node: str = Field(description="node id of the folder or object")
    equipment: str = Field(description="equipment slug")


class OpcUaSettings(_Section):
    """An OPC UA client subscription."""

    name: str = _NAME
    endpoint: str = Field(description="server endpoint, opc.tcp://host:port/path")
    enterprise: str = Field(description="enterprise slug the data belongs to")
    security_policy: Literal["None", "Basic256Sha256", "Aes128Sha256RsaOaep"] = Field(
        "None", description="security policy"
    )
    security_mode: Literal["None", "Sign", "SignAndEncrypt"] = Field(
        "None", description="message security mode"
    )
    certificate: Path | None = Field(None, description="client certificate (DER or PEM)")
    private_key: Path | None = Field(None, description="client private key (PEM)")
    username: str = Field("", description="user name (empty: anonymous)")
    password: str = Field("", description="password")
    sampling_ms: float = Field(1000.0, ge=0, description="sampling interval")
    publishing_ms: float = Field(1000.0, gt=0, description="publishing interval")
    nodes: list[OpcUaNode] = Field(default_factory=list, description="variables to subscribe")
    folders: list[OpcUaFolder] = Field(
        default_factory=list, description="folders whose variables to subscribe"
    )
    robots: bool = Field(True, description="read OPC 40010 robot objects where present")
    reconnect_max_s: float = Field(30.0, gt=0, le=3600, description="longest reconnect backoff")

    @model_validator(mode="after")
    def _security_is_whole(self) -> OpcUaSettings:
        if (self.security_mode == "None") != (self.security_policy == "None"):
            raise ValueError(
                f"security_policy {self.security_policy!r} and security_mode "
                f"{self.security_mode!r} must both be None or both be set"
            )
        if self.security_mode != "None" and (self.certificate is None or self.private_key is None):
            raise ValueError(
                f"security_mode {self.security_mode!r} needs certificate and private_key"
            )
        return self


class ModbusRegister(_Section):
    """One value read from a Modbus device."""

    signal: str = Field(description="signal name")
    table: Literal["holding", "input", "coil", "discrete"] = Field(
        "holding", description="register table"
    )
    address: int = Field(ge=0, le=65535, description="zero-based address")
    type: Literal["int16", "uint16", "int32", "uint32", "float32", "bool"] = Field(
        "uint16", description="how the registers are read"
    )
    order: Literal["ABCD", "CDAB", "BADC", "DCBA"] = Field(
        "ABCD", description="byte/word order of 32-bit values (ABCD = big-endian)"
    )
    scale: float = Field(1.0, description="value = raw * scale + offset")
    offset: float = Field(0.0, description="added after scaling")


class ModbusSettings(_Section):
    """A Modbus TCP device polled for one equipment."""

    name: str = _NAME
    host: str = Field(description="device host")
    port: int = Field(502, ge=1, le=65535, description="device port")
    unit_id: int = Field(1, ge=0, le=255, description="unit (slave) id")
    enterprise: str = Field(description="enterprise slug")
    equipment: str = Field(description="equipment slug")
    poll_ms: float = Field(1000.0, ge=10, description="poll interval")
    timeout_s: float = Field(3.0, gt=0, le=60, description="request timeout")
    reconnect_max_s: float = Field(30.0, gt=0, le=3600, description="longest reconnect backoff")
    registers: list[ModbusRegister] = Field(default_factory=list, description="what to read")


class NatsSettings(_Section):
    """A NATS JetStream durable pull consumer; workers on the same durable share the stream."""

    name: str = _NAME
    servers: list[str] = Field(
        default_factory=lambda: ["nats://127.0.0.1:4222"],
        min_length=1,
        description="server URLs (nats:// or tls://)",
    )
    stream: str = Field(
        "KILN", pattern=r"^[A-Za-z0-9_-]{1,64}$", description="JetStream stream name"
    )
    subjects: list[str] = Field(
        default_factory=lambda: ["kiln.>"],
        min_length=1,
        description="subjects the stream holds (when Kiln creates it) and the consumer takes",
    )
    root: str = Field(
        "kiln.v1",
        pattern=r"^[A-Za-z0-9_-]+(\.[A-Za-z0-9_-]+)*$",
        description="subject root: <root>.<enterprise>.<site>.<area>.<line>...",
    )
    durable: str = Field(
        "kiln-ingest",
        pattern=r"^[A-Za-z0-9_-]{1,64}$",
        description="durable consumer name, the same for every worker that shares the stream",
    )
    batch: int = Field(500, ge=1, le=10_000, description="messages fetched (and committed) at once")
    in_flight: int = Field(
        2,
        ge=1,
        le=16,
        description="fetches decoded and committed at once (2: the next is fetched while the "
        "last commits)",
    )
    fetch_timeout_s: float = Field(
        1.0, gt=0, le=60, description="how long a fetch waits for messages"
    )
    ack_wait_s: float = Field(
        30.0, gt=0, le=3600, description="unacknowledged messages are delivered again after this"
    )
    max_deliver: int = Field(
        -1,
        ge=-1,
        description="deliveries of a message that keeps failing to commit, then a dead letter "
        "(-1: no limit)",
    )
    create_stream: bool = Field(True, description="create the stream if it is missing")
    retention: Literal["limits", "interest", "workqueue"] = Field(
        "limits", description="retention policy of a stream Kiln creates"
    )
    max_age_s: float = Field(
        0.0, ge=0, description="how long a stream Kiln creates keeps messages (0: no limit)"
    )
    user: str = Field("", description="user name")
    password: str = Field("", description="password")
    token: str = Field("", description="authentication token (instead of user and password)")
    tls: bool = Field(False, description="connect with TLS")
    ca_file: Path | None = Field(None, description="CA certificate (PEM) to trust")
    cert_file: Path | None = Field(None, description="client certificate (PEM)")
    key_file: Path | None = Field(None, description="client private key (PEM)")
    reconnect_max_s: float = Field(30.0, gt=0, le=3600, description="longest reconnect backoff")

    @model_validator(mode="after")
    def _consistent(self) -> NatsSettings:
        if self.max_deliver == 0:
            raise ValueError("max_deliver: 0 would deliver nothing; -1 means no limit")
        if self.token and self.user:
            raise ValueError("token and user: authenticate with one of them, not both")
        if (self.cert_file is None) != (self.key_file is None):
            raise ValueError("cert_file and key_file: give both or neither")
        return self


class IngestSettings(_Section):
    """Protocol adapters and the dead-letter table."""

    dead_letters_keep: int = Field(
        100_000, ge=100, description="dead letters kept (oldest dropped; counts are kept)"
    )
    metrics_port: int = Field(
        9108,
        ge=0,
        le=65535,
        description="port of /healthz, /readyz and /metrics in `kiln ingest` (0: off)",
    )
    mqtt: list[MqttSettings] = Field(default_factory=list, description="MQTT JSON subscriptions")
    sparkplug: list[SparkplugSettings] = Field(
        default_factory=list, description="Sparkplug B primary hosts"
    )
    opcua: list[OpcUaSettings] = Field(default_factory=list, description="OPC UA clients")
    modbus: list[ModbusSettings] = Field(default_factory=list, description="Modbus TCP pollers")
    nats: list[NatsSettings] = Field(
        default_factory=list, description="NATS JetStream pull consumers"
    )
