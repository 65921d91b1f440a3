"""The gateway's one TOML configuration file, read into typed, frozen values.

:func:`load_config` (a path) and :func:`parse_config` (a mapping, as ``tomllib`` gives)
return a :class:`GatewayConfig`. Every key is checked at start: an unknown key or a bad
value raises :class:`ConfigError` naming the full dotted key and what was expected::

    mqtt.port: expected an integer 1..65535, got 'abc'

Secrets (the MQTT password, uplink keys) are held in :class:`Secret`, whose ``repr`` and
``str`` are masked, so a config object can be logged or printed whole.
``examples/gateway.toml`` is the annotated example; docs/gateway.md explains each section.

Left out for now: an agency epoch for route time codes (the CCSDS 1958 epoch is
assumed). The ``[uplink]`` section drives gateway/uplink.py and
gateway/commands.py (docs/gateway-commands.md).
"""

from __future__ import annotations

import math
import re
import ssl
import struct
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import Enum
from pathlib import Path
from typing import Any, Final

from comms.errors import UsageError
from comms.frames import AosParams, TmParams
from comms.time import CdsTime, CucTime

__all__ = [
    "CfdpConfig",
    "CfdpRemoteConfig",
    "ConfigError",
    "Cop1Config",
    "Decoder",
    "GatewayConfig",
    "LoggingConfig",
    "MergeConfig",
    "MetricsConfig",
    "MqttConfig",
    "MqttTls",
    "OutboxConfig",
    "OverflowPolicy",
    "RouteConfig",
    "SdlsConfig",
    "Secret",
    "SenderKey",
    "SpacecraftConfig",
    "StationConfig",
    "StationKind",
    "UplinkConfig",
    "UplinkStationConfig",
    "load_config",
    "parse_config",
]


class ConfigError(UsageError):
    """A configuration key is unknown or its value is not what the gateway accepts.

    ``key`` is the full dotted name (``stations[1].port``), ``expected`` says what to
    write instead and ``got`` is the offending value (masked for secrets).
    """

    def __init__(self, key: str, expected: str, got: object = None, *, secret: bool = False):
        self.key = key
        self.expected = expected
        self.got = "***" if secret else got
        text = f"{key}: {expected}" if got is None else f"{key}: {expected}, got {self.got!r}"
        super().__init__(text)


class Secret:
    """A string that never shows itself in ``repr``, ``str`` or a format string.

    Call :meth:`reveal` at the one place the value is needed (the MQTT connect, the
    HMAC check). Equality compares the hidden values, so configs stay comparable.
    """

    __slots__ = ("_value",)

    def __init__(self, value: str) -> None:
        self._value = value

    def reveal(self) -> str:
        return self._value

    def __repr__(self) -> str:
        return "Secret('***')"

    __str__ = __repr__

    def __format__(self, spec: str) -> str:
        return repr(self)

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Secret) and other._value == self._value

    def __hash__(self) -> int:
        return hash(self._value)

    def __reduce__(self) -> Any:
        # Pickling would write the secret out in clear through a side door; refuse.
        raise TypeError("a Secret cannot be pickled")


class OverflowPolicy(Enum):
    """What the outbox does when a put would exceed ``max_rows`` or ``max_bytes``."""

    REJECT_NEW = "reject-new"  # the put raises OutboxFull; the pipeline decides (backpressure)
    DROP_OLDEST = "drop-oldest"  # the oldest rows are deleted and counted as dropped


class StationKind(Enum):
    TCP_CADU = "tcp-cadu"  # a TCP stream of CADUs (ASM + optionally RS-coded frames)
    UDP_FRAMES = "udp-frames"  # one transfer frame per UDP datagram, already decoded


class Decoder(Enum):
    RAW = "raw"  # the packet data field as bytes (base64 in the JSON envelope)
    JSON = "json"  # the data field is UTF-8 JSON, passed through as a value
    CBOR = "cbor"  # the data field is CBOR, converted to JSON
    STRUCT = "struct"  # a fixed binary layout with named fields (``format`` + ``fields``)


@dataclass(frozen=True)
class MqttTls:
    """TLS towards the broker; files are PEM. ``ca`` alone authenticates the broker,
    ``cert`` + ``key`` add a client certificate (mutual TLS)."""

    ca: Path | None = None
    cert: Path | None = None
    key: Path | None = None

    def ssl_context(self) -> ssl.SSLContext:
        """What paho's ``tls_set`` would build: the broker's certificate and host name
        checked against ``ca`` (the system's CAs without it), plus our certificate."""
        context = ssl.create_default_context(cafile=str(self.ca) if self.ca else None)
        if self.cert is not None:
            context.load_cert_chain(str(self.cert), str(self.key) if self.key else None)
        return context


@dataclass(frozen=True)
class MqttConfig:
    host: str = "localhost"
    port: int = 1883  # IANA port for MQTT without TLS; 8883 with TLS
    client_id: str = "dawnlink-gateway"
    username: str | None = None
    password: Secret | None = None
    tls: MqttTls | None = None
    protocol: int = 5  # 5 carries the message id as a user property; 3 means 3.1.1
    topic_prefix: str = "dawnlink"
    qos: int = 1  # at-least-once: the outbox deletes a row only on PUBACK
    keepalive_s: int = 60  # paho's default; the broker drops us after 1.5x this silence
    payload_format: str = "json"  # "json" envelope (binary as base64) or "raw" bytes
    reconnect_initial_s: float = 0.5  # first backoff after a lost connection, jittered
    reconnect_max_s: float = 30.0  # cap: a broker restart is usually back within this


@dataclass(frozen=True)
class OutboxConfig:
    path: Path = Path("dawnlink-outbox.sqlite3")
    max_rows: int = 1_000_000  # about a day of 10 products/s; bounded so a dead broker
    max_bytes: int = 1 << 30  # cannot fill the disk (1 GiB)
    overflow: OverflowPolicy = OverflowPolicy.REJECT_NEW  # losing data must be a choice
    # "full" fsyncs every commit (survives power loss); "normal" in WAL mode survives
    # kill -9 (the WAL write reached the OS) but may lose the last commits on power loss.
    synchronous: str = "full"
    # Publishes awaiting PUBACK at once (docs/gateway.md). Retries need no knob of
    # their own: a QoS 1 publish fails only with its connection, so unacknowledged rows
    # are republished after [mqtt] reconnect_initial_s / reconnect_max_s backoff.
    inflight_window: int = 64


@dataclass(frozen=True)
class MetricsConfig:
    enabled: bool = True
    host: str = "127.0.0.1"  # loopback by default: metrics are not for the open network
    port: int = 9464  # the port OpenTelemetry's Prometheus exporter uses by convention
    max_outbox_age_s: float = 300.0  # /healthz turns 503 when the oldest row is older


@dataclass(frozen=True)
class LoggingConfig:
    level: str = "INFO"
    json: bool = False  # one JSON object per line for log shippers; text otherwise


@dataclass(frozen=True)
class SpacecraftConfig:
    scid: int = 0  # the spacecraft identifier of the frames (10 bits TM, 8 bits AOS)
    name: str = "dawn"  # the topic level: dawnlink/<name>/...


@dataclass(frozen=True)
class StationConfig:
    name: str
    kind: StationKind
    host: str
    port: int
    frame_length: int = 1115  # octets of one transfer frame (the common 1115-octet TM)
    fecf: bool = True  # frames end in a CRC-16 frame error control field
    randomized: bool = True  # TM pseudo-randomizer applied (131.0-B-5 section 10)
    rs_interleave: int = 0  # RS(255,223) interleave depth; 0 = no Reed-Solomon
    # "connect": the gateway dials host:port (stations that serve their stream);
    # "listen": it binds host:port and the station dials in. UDP always listens.
    mode: str = "connect"
    frame_type: str = "tm"  # "tm" (132.0-B-3) or "aos" (732.0-B-4)
    # AOS only (the AOS header has no flags for them, so they are agreed, 732.0-B-4 5.2):
    fhec: bool = False  # the 2-octet frame header error control
    insert_zone_length: int = 0  # octets of the insert zone
    ocf: bool = False  # the 4-octet operational control field (TM frames flag it themselves)

    def frame_params(self) -> TmParams | AosParams:
        """The frame parameters of this station's channel."""
        if self.frame_type == "aos":
            return AosParams(
                frame_length=self.frame_length,
                has_fhec=self.fhec,
                insert_zone_length=self.insert_zone_length,
                has_ocf=self.ocf,
                has_fecf=self.fecf,
            )
        # has_ocf=None follows each TM frame's OCF flag.
        return TmParams(frame_length=self.frame_length, has_ocf=None, has_fecf=self.fecf)


@dataclass(frozen=True)
class MergeConfig:
    """How copies from several stations become one stream (gateway.merge.StationMerge)."""

    # Frames a count may run ahead of a missing one before it is given up; None = the
    # merge's default (64 for TM: below half the 8-bit count; 4096 for AOS).
    window: int | None = None
    timeout_s: float = 1.0  # give-up time for a missing frame: paths rarely differ by more
    start_hold_s: float | None = None  # hold of a new virtual channel; None = timeout_s
    idle_reset_s: float = 60.0  # a channel silent this long starts over (next pass)


@dataclass(frozen=True)
class RouteConfig:
    apid: int
    product: str
    decoder: Decoder = Decoder.RAW
    format: str | None = None  # struct: a struct module format, e.g. ">HhI"
    fields: tuple[str, ...] = ()  # struct: one name per value the format unpacks
    # The spacecraft time at the start of the packet secondary header (301.0-B-4):
    # None, "cuc" or "cds". Without a P-field the layout is agreed: CUC coarse + fine
    # octets (4 + 2, as ECSS PUS), CDS day + sub-millisecond octets (2 + 0).
    time_code: str | None = None
    time_pfield: bool = False
    coarse_octets: int = 4
    fine_octets: int = 2
    day_octets: int = 2
    submilli_octets: int = 0
    # Octets of the whole secondary header when it holds more than the time code
    # (None: just the time code); the product starts after it.
    secondary_header_length: int | None = None


@dataclass(frozen=True)
class SenderKey:
    """Who may send commands, and the key their commands are checked with."""

    name: str
    algorithm: str  # "hmac-sha256" (shared secret) or "ed25519" (sender's public key)
    key: Secret


@dataclass(frozen=True)
class UplinkStationConfig:
    """A ground station's uplink endpoint: the gateway dials it and writes CLTUs.

    ``name`` matches the station's downlink ``[[stations]]`` name when it has one, so
    the station that hears the spacecraft now is the one that commands it.
    """

    name: str
    host: str
    port: int


@dataclass(frozen=True)
class Cop1Config:
    """FOP-1 parameters (232.1-B-2 5.1); defaults are those of ``comms.cop1.Fop``."""

    sliding_window_k: int = 10  # K; at most the FARM's PW (default W = 20 gives 10)
    t1_initial_s: float = 5.0  # a LEO round trip plus a few TM frames of CLCW latency
    transmission_limit: int = 3  # transmissions of the oldest frame before an alert
    timeout_type: int = 0  # 0 alerts at the limit; 1 suspends


@dataclass(frozen=True)
class SdlsConfig:
    """SDLS ApplySecurity on the TC virtual channel (355.0-B-2, AES-256-GCM)."""

    spi: int
    key_id: int
    key_file: Path  # 32 raw octets or 64 hex digits (comms.sdls.Key.from_file)
    state_file: Path  # the SA counters (comms.sdls.FileStateStore): never reuse an IV
    service: str = "authentication"  # or "authenticated-encryption"
    sequence_number_length: int = 4  # the anti-replay sequence number field
    mac_length: int = 16  # the full GCM tag


@dataclass(frozen=True)
class UplinkConfig:
    """The command uplink (docs/gateway-commands.md); off while ``stations`` is empty."""

    senders: tuple[SenderKey, ...] = ()
    stations: tuple[UplinkStationConfig, ...] = ()  # priority order
    vcid: int = 0
    map_id: int = 0  # MAP of the segment header, when ``segmentation`` is on
    max_frame_length: int = 1024  # octets, FECF and SDLS included (232.0-B-4 4.1.2.7)
    fecf: bool = True
    segmentation: bool = False  # the 1-octet segment header; packets may span frames
    randomize: bool = False  # the TC pseudo-randomizer on each CLTU (231.0-B-4 section 6)
    cop1: Cop1Config | None = field(default_factory=Cop1Config)  # None: BD frames only
    sdls: SdlsConfig | None = None
    # Commands whose timestamp is further than this from the gateway's clock are
    # refused: 5 minutes is the clock skew Kerberos tolerates (RFC 4120 1.6).
    freshness_window_s: float = 300.0
    # Each sender's last sequence number; None = next to the outbox (<outbox>-commands.json).
    state_path: Path | None = None
    # A station that delivered a valid downlink frame this recently has the uplink.
    station_window_s: float = 10.0
    # A command not radiated within this long fails (no station, no CLCW to start COP-1).
    queue_timeout_s: float = 120.0


@dataclass(frozen=True)
class CfdpRemoteConfig:
    """One remote CFDP entity (the spacecraft's) as the ground MIB knows it (727.0-B-5
    table 8-2). Defaults are :class:`comms.cfdp.RemoteEntityConfig`'s (reasons there);
    times are seconds."""

    entity_id: int
    max_pdu_length: int = 1024  # largest PDU the spacecraft accepts up: bounds each NAK
    ack_timer_s: float = 10.0  # positive ACK timer for our Finished (4.6.5.1)
    ack_limit: int = 4
    nak_timer_s: float = 10.0  # NAK repeated this often while data is missing (4.6.4.3.4)
    nak_limit: int = 4  # NAK rounds without new data before the NAK limit fault
    inactivity_timer_s: float = 60.0  # no PDU this long ends the transaction (4.6.4.4)
    check_timer_s: float = 10.0  # class 1: wait this long for late data after EOF
    check_limit: int = 2
    crc: bool = False  # require the PDU CRC (4.1.3) from this entity
    entity_id_length: int = 2  # octets of entity ids in the PDUs (5.1.4)
    sequence_number_length: int = 4  # octets of transaction sequence numbers (5.1.5)
    nak_mode: str = "deferred"  # "deferred" (NAK at EOF) or "immediate" (at each gap)
    max_nak_segment_requests: int | None = None  # a bounded gap table (CF: 58); None: all
    keep_alive_s: float | None = None  # class 2 Keep Alive period; None: only when prompted
    retain_incomplete_files: bool = False  # keep what came of a file that did not complete


@dataclass(frozen=True)
class CfdpConfig:
    """The gateway's CFDP entity (727.0-B-5): PDUs down in packets of ``downlink_apids``,
    files into ``directory``, ACK/NAK/Finished up in TC packets of ``uplink_apid``."""

    entity_id: int  # the ground entity id (the spacecraft sends files to it)
    directory: Path  # received files land here (and their .part files while open)
    downlink_apids: tuple[int, ...]
    uplink_apid: int
    remotes: tuple[CfdpRemoteConfig, ...] = ()
    # On stop, open transactions are saved (received ranges, Metadata, EOF, the partial
    # file) and picked up again at start, so class 2 NAKs fetch only what is missing.
    resume: bool = True
    # With resume: the same state is also written every checkpoint_s (and at each EOF)
    # without stopping anything, so open transactions survive a kill -9 too. 0 = off.
    checkpoint_s: float = 5.0


@dataclass(frozen=True)
class GatewayConfig:
    mqtt: MqttConfig = field(default_factory=MqttConfig)
    outbox: OutboxConfig = field(default_factory=OutboxConfig)
    metrics: MetricsConfig = field(default_factory=MetricsConfig)
    logging: LoggingConfig = field(default_factory=LoggingConfig)
    spacecraft: SpacecraftConfig = field(default_factory=SpacecraftConfig)
    stations: tuple[StationConfig, ...] = ()
    routes: tuple[RouteConfig, ...] = ()
    uplink: UplinkConfig = field(default_factory=UplinkConfig)
    cfdp: CfdpConfig | None = None  # None: no CFDP entity (docs/gateway-files.md)
    merge: MergeConfig = field(default_factory=MergeConfig)

    def route_for(self, apid: int) -> RouteConfig | None:
        for route in self.routes:
            if route.apid == apid:
                return route
        return None


# -- reading ------------------------------------------------------------------------------

_TOPIC_LEVEL: Final = re.compile(r"^[A-Za-z0-9_.\-]+$")
_LOG_LEVELS: Final = ("DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL")


class _Table:
    """One TOML table being read: hands out keys by type and remembers which were used,
    so :meth:`done` can name every key nobody asked for."""

    def __init__(self, data: object, path: str, base: Path) -> None:
        if not isinstance(data, Mapping):
            raise ConfigError(path, "expected a table", data)
        self.data: Mapping[str, object] = data
        self.path = path
        self.base = base
        self.used: set[str] = set()

    def key(self, name: str) -> str:
        return f"{self.path}.{name}" if self.path else name

    def has(self, name: str) -> bool:
        return name in self.data

    def raw(self, name: str) -> object:
        self.used.add(name)
        return self.data.get(name)

    def integer(self, name: str, default: int, lo: int, hi: int) -> int:
        value = self.raw(name)
        if value is None:
            return default
        # bool is an int subclass; `port = true` is a mistake, not 1.
        if not isinstance(value, int) or isinstance(value, bool) or not lo <= value <= hi:
            raise ConfigError(self.key(name), f"expected an integer {lo}..{hi}", value)
        return value

    def number(self, name: str, default: float, lo: float, hi: float = math.inf) -> float:
        value = self.raw(name)
        if value is None:
            return default
        ok = isinstance(value, int | float) and not isinstance(value, bool)
        if not ok or not math.isfinite(float(value)) or not lo <= float(value) <= hi:  # type: ignore[arg-type]
            upper = "" if hi == math.inf else f" and at most {hi}"
            raise ConfigError(self.key(name), f"expected a number at least {lo}{upper}", value)
        return float(value)  # type: ignore[arg-type]

    def boolean(self, name: str, default: bool) -> bool:
        value = self.raw(name)
        if value is None:
            return default
        if not isinstance(value, bool):
            raise ConfigError(self.key(name), "expected true or false", value)
        return value

    def string(self, name: str, default: str | None, *, secret: bool = False) -> str | None:
        value = self.raw(name)
        if value is None:
            return default
        if not isinstance(value, str) or not value:
            raise ConfigError(self.key(name), "expected a non-empty string", value, secret=secret)
        return value

    def required_string(self, name: str) -> str:
        value = self.string(name, None)
        if value is None:
            raise ConfigError(self.key(name), "is required: expected a non-empty string")
        return value

    def choice(self, name: str, default: str, choices: tuple[str, ...]) -> str:
        value = self.raw(name)
        if value is None:
            return default
        if value not in choices:
            raise ConfigError(self.key(name), "expected one of " + ", ".join(choices), value)
        assert isinstance(value, str)
        return value

    def path_value(self, name: str, default: Path | None) -> Path | None:
        value = self.string(name, None)
        if value is None:
            return default
        path = Path(value).expanduser()
        return path if path.is_absolute() else self.base / path

    def table(self, name: str) -> _Table:
        value = self.raw(name)
        return _Table({} if value is None else value, self.key(name), self.base)

    def tables(self, name: str) -> list[_Table]:
        value = self.raw(name)
        if value is None:
            return []
        if not isinstance(value, list):
            raise ConfigError(self.key(name), f"expected an array of tables ([[{name}]])", value)
        return [_Table(item, f"{self.key(name)}[{i}]", self.base) for i, item in enumerate(value)]

    def done(self) -> None:
        for name in self.data:
            if name not in self.used:
                raise ConfigError(self.key(name), "unknown key (see examples/gateway.toml)")


def _topic_level(table: _Table, name: str, default: str) -> str:
    value = table.string(name, default)
    assert value is not None
    if not _TOPIC_LEVEL.match(value):
        raise ConfigError(
            table.key(name),
            "expected letters, digits, '_', '.' or '-' (one MQTT topic level, no '/', '+', '#')",
            value,
        )
    return value


def _read_secret_file(table: _Table, name: str) -> Secret | None:
    path = table.path_value(name, None)
    if path is None:
        return None
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise ConfigError(table.key(name), f"expected a readable file ({exc.strerror})") from None
    # A trailing newline is what `echo secret > file` leaves; it is never part of it.
    return Secret(text.rstrip("\r\n"))


def _mqtt(t: _Table) -> MqttConfig:
    d = MqttConfig()
    password = t.string("password", None, secret=True)
    password_file = _read_secret_file(t, "password_file")
    if password is not None and password_file is not None:
        raise ConfigError(t.key("password_file"), "expected either password or password_file")
    username = t.string("username", None)
    secret = Secret(password) if password is not None else password_file
    if secret is not None and username is None:
        raise ConfigError(t.key("username"), "is required when a password is given")
    tls: MqttTls | None = None
    if t.has("tls"):
        tt = t.table("tls")
        tls = MqttTls(
            ca=tt.path_value("ca", None),
            cert=tt.path_value("cert", None),
            key=tt.path_value("key", None),
        )
        if (tls.cert is None) != (tls.key is None):
            raise ConfigError(tt.key("key"), "expected cert and key together (mutual TLS)")
        tt.done()
    protocol_raw = t.raw("protocol")
    protocol = d.protocol
    if protocol_raw is not None:
        names = {"5": 5, "5.0": 5, "3.1.1": 3, "311": 3}
        key = str(protocol_raw) if not isinstance(protocol_raw, bool) else ""
        if key not in names:
            raise ConfigError(t.key("protocol"), 'expected "5" or "3.1.1"', protocol_raw)
        protocol = names[key]
    reconnect_initial = t.number("reconnect_initial_s", d.reconnect_initial_s, 0.001, 3600)
    reconnect_max = t.number("reconnect_max_s", d.reconnect_max_s, 0.001, 86400)
    if reconnect_max < reconnect_initial:
        raise ConfigError(t.key("reconnect_max_s"), "expected at least reconnect_initial_s")
    host = t.string("host", d.host)
    client_id = t.string("client_id", d.client_id)
    assert host is not None and client_id is not None
    config = MqttConfig(
        host=host,
        port=t.integer("port", 8883 if tls else d.port, 1, 65535),
        client_id=client_id,
        username=username,
        password=secret,
        tls=tls,
        protocol=protocol,
        topic_prefix=_topic_level(t, "topic_prefix", d.topic_prefix),
        qos=t.integer("qos", d.qos, 0, 2),
        keepalive_s=t.integer("keepalive_s", d.keepalive_s, 5, 65535),
        payload_format=t.choice("payload_format", d.payload_format, ("json", "raw")),
        reconnect_initial_s=reconnect_initial,
        reconnect_max_s=reconnect_max,
    )
    t.done()
    return config


def _outbox(t: _Table) -> OutboxConfig:
    d = OutboxConfig()
    path = t.path_value("path", None) or t.base / d.path
    overflow = OverflowPolicy(
        t.choice("overflow", d.overflow.value, tuple(p.value for p in OverflowPolicy))
    )
    config = OutboxConfig(
        path=path,
        max_rows=t.integer("max_rows", d.max_rows, 1, 2**62),
        max_bytes=t.integer("max_bytes", d.max_bytes, 1024, 2**62),
        overflow=overflow,
        synchronous=t.choice("synchronous", d.synchronous, ("full", "normal")),
        inflight_window=t.integer("inflight_window", d.inflight_window, 1, 65535),
    )
    t.done()
    return config


def _metrics(t: _Table) -> MetricsConfig:
    d = MetricsConfig()
    host = t.string("host", d.host)
    assert host is not None
    config = MetricsConfig(
        enabled=t.boolean("enabled", d.enabled),
        host=host,
        # 0 asks the OS for a free port (tests); the bound port is logged.
        port=t.integer("port", d.port, 0, 65535),
        max_outbox_age_s=t.number("max_outbox_age_s", d.max_outbox_age_s, 1.0),
    )
    t.done()
    return config


def _logging(t: _Table) -> LoggingConfig:
    d = LoggingConfig()
    level = t.raw("level")
    if level is None:
        level = d.level
    if not isinstance(level, str) or level.upper() not in _LOG_LEVELS:
        raise ConfigError(t.key("level"), "expected one of " + ", ".join(_LOG_LEVELS), level)
    config = LoggingConfig(level=level.upper(), json=t.boolean("json", d.json))
    t.done()
    return config


def _spacecraft(t: _Table) -> SpacecraftConfig:
    d = SpacecraftConfig()
    # 10 bits is the widest SCID of TM (132.0-B-3); AOS has 8, USLP 16 -- take the union.
    config = SpacecraftConfig(
        scid=t.integer("scid", d.scid, 0, 0xFFFF), name=_topic_level(t, "name", d.name)
    )
    t.done()
    return config


def _station(t: _Table) -> StationConfig:
    d_len = 1115
    kind = StationKind(
        t.choice("kind", "", tuple(k.value for k in StationKind))
        if t.has("kind")
        else _missing(t, "kind", "one of " + ", ".join(k.value for k in StationKind))
    )
    frame = t.table("frame")
    frame_length = frame.integer("length", d_len, 7, 65536)
    rs_interleave = frame.integer("rs_interleave", 0, 0, 8)
    if rs_interleave not in (0, 1, 2, 3, 4, 5, 8):
        raise ConfigError(frame.key("rs_interleave"), "expected 0 (none), 1..5 or 8", rs_interleave)
    if rs_interleave and frame_length > 223 * rs_interleave:
        raise ConfigError(
            frame.key("length"),
            f"expected at most {223 * rs_interleave} octets for interleave {rs_interleave}",
            frame_length,
        )
    udp = kind is StationKind.UDP_FRAMES
    mode = t.choice("mode", "listen" if udp else "connect", ("connect", "listen"))
    if udp and mode != "listen":
        raise ConfigError(
            t.key("mode"), 'expected "listen": a udp-frames station binds host:port', mode
        )
    frame_type = frame.choice("type", "tm", ("tm", "aos"))
    aos = frame_type == "aos"
    for name in ("fhec", "insert_zone_length", "ocf"):
        if frame.has(name) and not aos:
            # TM frames carry their OCF flag; the rest does not exist in TM.
            raise ConfigError(frame.key(name), 'is only for type = "aos"')
    config = StationConfig(
        name=_topic_level(t, "name", "") if t.has("name") else _missing(t, "name", "a name"),
        kind=kind,
        host=t.required_string("host"),
        port=t.integer("port", 0, 1, 65535) if t.has("port") else _missing(t, "port", "1..65535"),
        frame_length=frame_length,
        fecf=frame.boolean("fecf", True),
        randomized=frame.boolean("randomized", True),
        rs_interleave=rs_interleave,
        mode=mode,
        frame_type=frame_type,
        fhec=frame.boolean("fhec", False),
        insert_zone_length=frame.integer("insert_zone_length", 0, 0, 2000),
        ocf=frame.boolean("ocf", False),
    )
    try:
        config.frame_params()
    except UsageError as exc:
        # The fixed fields (header, insert zone, OCF, FECF) leave no data field.
        raise ConfigError(frame.key("length"), f"expected a longer frame ({exc})") from None
    frame.done()
    t.done()
    return config


def _merge(t: _Table) -> MergeConfig:
    d = MergeConfig()
    window: int | None = None
    if t.has("window"):
        # The TM bound (below half the 8-bit count) is checked against the stations'
        # frame type in parse_config; this is the AOS bound (24-bit counts).
        window = t.integer("window", 0, 1, (1 << 23) - 1)
    timeout_s = t.number("timeout_s", d.timeout_s, 0.0, 3600.0)
    start_hold_s = t.number("start_hold_s", 0.0, 0.0, 3600.0) if t.has("start_hold_s") else None
    config = MergeConfig(
        window=window,
        timeout_s=timeout_s,
        start_hold_s=start_hold_s,
        idle_reset_s=t.number("idle_reset_s", d.idle_reset_s, 0.0),
    )
    t.done()
    return config


def _missing(t: _Table, name: str, expected: str) -> Any:
    raise ConfigError(t.key(name), f"is required: expected {expected}")


def _route(t: _Table) -> RouteConfig:
    if not t.has("apid"):
        _missing(t, "apid", "an integer 0..2046")
    # 0x7FF is the idle packet (133.0-B-2): never a product.
    apid = t.integer("apid", 0, 0, 0x7FE)
    product = (
        _topic_level(t, "product", "")
        if t.has("product")
        else _missing(t, "product", "a product name")
    )
    decoder = Decoder(t.choice("decoder", "raw", tuple(d.value for d in Decoder)))
    fmt = t.string("format", None)
    fields_raw = t.raw("fields")
    fields: tuple[str, ...] = ()
    if decoder is Decoder.STRUCT:
        if fmt is None:
            _missing(t, "format", 'a struct format such as ">HhI"')
        assert fmt is not None
        try:
            count = len(struct.unpack(fmt, bytes(struct.calcsize(fmt))))
        except struct.error as exc:
            raise ConfigError(t.key("format"), f"expected a struct format ({exc})", fmt) from None
        if (
            not isinstance(fields_raw, list)
            or not all(isinstance(f, str) and f.isidentifier() for f in fields_raw)
            or len(set(fields_raw)) != len(fields_raw)
        ):
            raise ConfigError(
                t.key("fields"), "expected a list of distinct field names", fields_raw
            )
        if len(fields_raw) != count:
            raise ConfigError(
                t.key("fields"), f"expected {count} names, one per value of {fmt!r}", fields_raw
            )
        fields = tuple(fields_raw)
    elif fmt is not None or fields_raw is not None:
        key = t.key("format" if fmt is not None else "fields")
        raise ConfigError(key, 'is only for decoder = "struct"')
    config = RouteConfig(
        apid=apid, product=product, decoder=decoder, format=fmt, fields=fields, **_time_code(t)
    )
    t.done()
    return config


_CUC_KEYS: Final = ("coarse_octets", "fine_octets")
_CDS_KEYS: Final = ("day_octets", "submilli_octets")


def _time_code(t: _Table) -> dict[str, Any]:
    """The spacecraft time keys of a route (301.0-B-4 layouts, checked by building one)."""
    code = t.choice("time_code", "", ("cuc", "cds")) if t.has("time_code") else None
    out: dict[str, Any] = {"time_code": code}
    layout = _CUC_KEYS if code == "cuc" else _CDS_KEYS if code == "cds" else ()
    for name in (*_CUC_KEYS, *_CDS_KEYS, "time_pfield"):
        if t.has(name) and name not in (*layout, "time_pfield"):
            raise ConfigError(t.key(name), f'is only for time_code = "{_key_owner(name)}"')
        if t.has(name) and code is None:
            raise ConfigError(t.key(name), 'is only with time_code = "cuc" or "cds"')
    pfield = t.boolean("time_pfield", False)
    if pfield:
        for name in layout:
            if t.has(name):
                raise ConfigError(
                    t.key(name), "is not needed with time_pfield = true (the P-field says it)"
                )
    d = RouteConfig(0, "x")
    length = 0
    if code == "cuc":
        out["coarse_octets"] = t.integer("coarse_octets", d.coarse_octets, 1, 7)
        out["fine_octets"] = t.integer("fine_octets", d.fine_octets, 0, 10)
        length = CucTime(
            0, 0, out["coarse_octets"], out["fine_octets"], with_pfield=False
        ).encoded_length
    elif code == "cds":
        out["day_octets"] = t.integer("day_octets", d.day_octets, 2, 3)
        out["submilli_octets"] = t.integer("submilli_octets", d.submilli_octets, 0, 4)
        if out["submilli_octets"] not in (0, 2, 4):
            raise ConfigError(
                t.key("submilli_octets"),
                "expected 0, 2 (microseconds) or 4 (picoseconds)",
                out["submilli_octets"],
            )
        length = CdsTime(
            0, 0, 0, out["day_octets"], out["submilli_octets"], with_pfield=False
        ).encoded_length
    out["time_pfield"] = pfield
    if t.has("secondary_header_length"):
        shl = t.integer("secondary_header_length", 0, 0, 65535)
        if code is not None and not pfield and shl < length:
            raise ConfigError(
                t.key("secondary_header_length"),
                f"expected at least {length}, the time code's length",
                shl,
            )
        out["secondary_header_length"] = shl
    return out


def _key_owner(name: str) -> str:
    return "cuc" if name in _CUC_KEYS else "cds"


def _cfdp_remote(t: _Table) -> CfdpRemoteConfig:
    from comms.cfdp import NakMode, RemoteEntityConfig  # the MIB checks the combination

    if not t.has("entity_id"):
        _missing(t, "entity_id", "the remote entity id, an integer")
    d = CfdpRemoteConfig(0)
    keep_alive = t.number("keep_alive_s", 1.0, 0.001) if t.has("keep_alive_s") else None
    gap_table = (
        t.integer("max_nak_segment_requests", 1, 1, 1 << 16)
        if t.has("max_nak_segment_requests")
        else None
    )
    config = CfdpRemoteConfig(
        entity_id=t.integer("entity_id", 0, 0, (1 << 64) - 1),
        max_pdu_length=t.integer("max_pdu_length", d.max_pdu_length, 64, 65535),
        ack_timer_s=t.number("ack_timer_s", d.ack_timer_s, 0.001),
        ack_limit=t.integer("ack_limit", d.ack_limit, 1, 1000),
        nak_timer_s=t.number("nak_timer_s", d.nak_timer_s, 0.001),
        nak_limit=t.integer("nak_limit", d.nak_limit, 1, 1000),
        inactivity_timer_s=t.number("inactivity_timer_s", d.inactivity_timer_s, 0.001),
        check_timer_s=t.number("check_timer_s", d.check_timer_s, 0.001),
        check_limit=t.integer("check_limit", d.check_limit, 1, 1000),
        crc=t.boolean("crc", d.crc),
        entity_id_length=t.integer("entity_id_length", d.entity_id_length, 1, 8),
        sequence_number_length=t.integer("sequence_number_length", d.sequence_number_length, 1, 8),
        nak_mode=t.choice("nak_mode", d.nak_mode, tuple(m.value for m in NakMode)),
        max_nak_segment_requests=gap_table,
        keep_alive_s=keep_alive,
        retain_incomplete_files=t.boolean("retain_incomplete_files", d.retain_incomplete_files),
    )
    if config.entity_id >> (8 * config.entity_id_length):
        raise ConfigError(
            t.key("entity_id"),
            f"expected an id that fits entity_id_length = {config.entity_id_length} octet(s)",
            config.entity_id,
        )
    try:
        RemoteEntityConfig(config.entity_id, max_pdu_length=config.max_pdu_length)
    except UsageError as exc:
        raise ConfigError(t.key("entity_id"), f"expected a valid CFDP peer ({exc})") from None
    t.done()
    return config


def _apid(key: str, value: object) -> int:
    if not isinstance(value, int) or isinstance(value, bool) or not 0 <= value <= 0x7FE:
        raise ConfigError(key, "expected an APID 0..2046 (0x7FF is the idle packet)", value)
    return value


def _cfdp(t: _Table) -> CfdpConfig:
    if not t.has("entity_id"):
        _missing(t, "entity_id", "the ground entity id, an integer")
    entity_id = t.integer("entity_id", 0, 0, (1 << 64) - 1)
    directory = t.path_value("directory", None)
    if directory is None:
        _missing(t, "directory", "the directory received files land in")
    raw_apids = t.raw("downlink_apids")
    if not isinstance(raw_apids, list) or not raw_apids:
        raise ConfigError(
            t.key("downlink_apids"), "is required: expected a non-empty list of APIDs", raw_apids
        )
    apids = tuple(_apid(f"{t.key('downlink_apids')}[{i}]", a) for i, a in enumerate(raw_apids))
    if len(set(apids)) != len(apids):
        raise ConfigError(t.key("downlink_apids"), "expected distinct APIDs", list(apids))
    if not t.has("uplink_apid"):
        _missing(t, "uplink_apid", "the APID of the TC packets carrying PDUs up")
    uplink_apid = _apid(t.key("uplink_apid"), t.raw("uplink_apid"))
    remotes = tuple(_cfdp_remote(r) for r in t.tables("remotes"))
    if not remotes:
        raise ConfigError(
            t.key("remotes"),
            "expected at least one [[cfdp.remotes]] (PDUs from entities not listed are refused)",
        )
    ids = [r.entity_id for r in remotes]
    for i, rid in enumerate(ids):
        if rid in ids[:i]:
            raise ConfigError(f"{t.key('remotes')}[{i}].entity_id", "expected a new id", rid)
        if rid == entity_id:
            raise ConfigError(
                f"{t.key('remotes')}[{i}].entity_id", "expected an id other than the ground's", rid
            )
        if entity_id >> (8 * remotes[i].entity_id_length):
            raise ConfigError(
                t.key("entity_id"),
                f"expected an id that fits remotes[{i}].entity_id_length = "
                f"{remotes[i].entity_id_length} octet(s)",
                entity_id,
            )
    assert directory is not None
    config = CfdpConfig(
        entity_id=entity_id,
        directory=directory,
        downlink_apids=apids,
        uplink_apid=uplink_apid,
        remotes=remotes,
        resume=t.boolean("resume", True),
        checkpoint_s=t.number("checkpoint_s", 5.0, 0.0, 86400.0),
    )
    t.done()
    return config


def _sender(t: _Table) -> SenderKey:
    name = t.required_string("name")
    algorithm = (
        t.choice("algorithm", "", ("hmac-sha256", "ed25519"))
        if t.has("algorithm")
        else _missing(t, "algorithm", '"hmac-sha256" or "ed25519"')
    )
    key_text = t.string("key", None, secret=True)
    key_file = _read_secret_file(t, "key_file")
    if (key_text is None) == (key_file is None):
        raise ConfigError(t.key("key"), "expected exactly one of key or key_file (hex)")
    key = key_file.reveal().strip() if key_file is not None else key_text
    assert key is not None
    try:
        raw = bytes.fromhex(key)
    except ValueError:
        raise ConfigError(t.key("key"), "expected hex digits", key, secret=True) from None
    if algorithm == "ed25519" and len(raw) != 32:
        raise ConfigError(t.key("key"), "expected a 32-octet Ed25519 public key (64 hex digits)")
    if algorithm == "hmac-sha256" and len(raw) < 16:
        raise ConfigError(t.key("key"), "expected an HMAC key of at least 16 octets")
    config = SenderKey(name=name, algorithm=algorithm, key=Secret(key))
    t.done()
    return config


def _uplink(t: _Table) -> UplinkConfig:
    d = UplinkConfig()
    senders = tuple(_sender(s) for s in t.tables("senders"))
    names = [s.name for s in senders]
    for i, name in enumerate(names):
        if name in names[:i] or not _TOPIC_LEVEL.match(name):
            raise ConfigError(
                f"{t.key('senders')}[{i}].name",
                "expected a name not used before, of letters, digits, '_', '.' or '-'",
                name,
            )
    stations = []
    for s in t.tables("stations"):
        for name in ("name", "host", "port"):
            if not s.has(name):
                _missing(s, name, "the station's uplink " + name)
        stations.append(
            UplinkStationConfig(
                name=_topic_level(s, "name", ""),
                host=s.required_string("host"),
                port=s.integer("port", 0, 1, 65535),
            )
        )
        s.done()
    snames = [s.name for s in stations]
    for i, name in enumerate(snames):
        if name in snames[:i]:
            key = f"{t.key('stations')}[{i}].name"
            raise ConfigError(key, "expected a name not used before", name)
    cop1: Cop1Config | None = d.cop1
    if t.has("cop1"):
        c = t.table("cop1")
        dc = Cop1Config()
        enabled = c.boolean("enabled", True)
        cop1 = Cop1Config(
            sliding_window_k=c.integer("sliding_window_k", dc.sliding_window_k, 1, 255),
            t1_initial_s=c.number("t1_initial_s", dc.t1_initial_s, 0.001, 86400),
            transmission_limit=c.integer("transmission_limit", dc.transmission_limit, 1, 255),
            timeout_type=c.integer("timeout_type", dc.timeout_type, 0, 1),
        )
        c.done()
        if not enabled:
            cop1 = None
    sdls: SdlsConfig | None = None
    if t.has("sdls"):
        sd = t.table("sdls")
        authenticated = ("authentication", "authenticated-encryption")
        key_file = sd.path_value("key_file", None)
        state_file = sd.path_value("state_file", None)
        if key_file is None:
            _missing(sd, "key_file", "the path of the 32-octet AES-256 key")
        if state_file is None:
            _missing(sd, "state_file", "the path of the SA counter file")
        assert key_file is not None and state_file is not None
        sdls = SdlsConfig(
            spi=sd.integer("spi", 0, 1, 0xFFFF) if sd.has("spi") else _missing(sd, "spi", "1.."),
            key_id=sd.integer("key_id", 1, 0, 0xFFFF),
            key_file=key_file,
            state_file=state_file,
            service=sd.choice("service", "authentication", authenticated),
            sequence_number_length=sd.integer("sequence_number_length", 4, 0, 8),
            mac_length=sd.integer("mac_length", 16, 12, 16),
        )
        sd.done()
    segmentation = t.boolean("segmentation", d.segmentation)
    fecf = t.boolean("fecf", d.fecf)
    security = 0 if sdls is None else 2 + 12 + sdls.sequence_number_length + sdls.mac_length
    overhead = 5 + segmentation + 2 * fecf + security
    config = UplinkConfig(
        senders=senders,
        stations=tuple(stations),
        vcid=t.integer("vcid", d.vcid, 0, 63),
        map_id=t.integer("map_id", d.map_id, 0, 63),
        max_frame_length=t.integer("max_frame_length", d.max_frame_length, overhead + 1, 1024),
        fecf=fecf,
        segmentation=segmentation,
        randomize=t.boolean("randomize", d.randomize),
        cop1=cop1,
        sdls=sdls,
        freshness_window_s=t.number("freshness_window_s", d.freshness_window_s, 1.0, 86400),
        state_path=t.path_value("state_path", None),
        station_window_s=t.number("station_window_s", d.station_window_s, 0.0, 86400),
        queue_timeout_s=t.number("queue_timeout_s", d.queue_timeout_s, 0.001, 86400),
    )
    t.done()
    return config


def parse_config(data: Mapping[str, object], *, base: Path | None = None) -> GatewayConfig:
    """Check ``data`` (a parsed TOML document) and build the config.

    Relative paths are taken against ``base`` (the config file's directory).
    """
    root = _Table(data, "", base or Path.cwd())
    stations = tuple(_station(t) for t in root.tables("stations"))
    names = [s.name for s in stations]
    for i, name in enumerate(names):
        if name in names[:i]:
            raise ConfigError(f"stations[{i}].name", "expected a name not used before", name)
    for i, station in enumerate(stations[1:], 1):
        # One spacecraft, one physical channel: every station receives the same frames.
        if station.frame_params() != stations[0].frame_params():
            raise ConfigError(
                f"stations[{i}].frame",
                "expected the same frame type, length, fecf and AOS keys as stations[0] "
                "(every station receives the same frames)",
            )
    routes = tuple(_route(t) for t in root.tables("routes"))
    apids = [r.apid for r in routes]
    for i, apid in enumerate(apids):
        if apid in apids[:i]:
            raise ConfigError(f"routes[{i}].apid", "expected an APID not routed before", apid)
    uplink = _uplink(root.table("uplink"))
    cfdp = _cfdp(root.table("cfdp")) if root.has("cfdp") else None
    if cfdp is not None:
        both = sorted(set(cfdp.downlink_apids) & set(apids))
        if both:
            raise ConfigError("cfdp.downlink_apids", f"expected APIDs no route names ({both})")
    merge = _merge(root.table("merge"))
    tm = any(s.frame_type == "tm" for s in stations)
    if tm and merge.window is not None and merge.window >= 128:
        raise ConfigError(
            "merge.window",
            "expected at most 127 for TM frames (below half the 8-bit VC frame count)",
            merge.window,
        )
    config = GatewayConfig(
        mqtt=_mqtt(root.table("mqtt")),
        outbox=_outbox(root.table("outbox")),
        metrics=_metrics(root.table("metrics")),
        logging=_logging(root.table("logging")),
        spacecraft=_spacecraft(root.table("spacecraft")),
        stations=stations,
        routes=routes,
        uplink=uplink,
        cfdp=cfdp,
        merge=merge,
    )
    root.done()
    if uplink.stations and config.spacecraft.scid > 0x3FF:
        # TC frames carry a 10-bit SCID (232.0-B-4 4.1.2.2.3).
        scid = config.spacecraft.scid
        raise ConfigError("spacecraft.scid", "expected 0..1023 with an uplink", scid)
    return config


def load_config(path: str | Path) -> GatewayConfig:
    """Read and check the TOML file at ``path``."""
    path = Path(path)
    try:
        text = path.read_bytes()
    except OSError as exc:
        raise ConfigError(str(path), f"expected a readable file ({exc.strerror})") from None
    try:
        data = tomllib.loads(text.decode("utf-8"))
    except (UnicodeDecodeError, tomllib.TOMLDecodeError) as exc:
        raise ConfigError(str(path), f"expected valid TOML ({exc})") from None
    return parse_config(data, base=path.resolve().parent)
