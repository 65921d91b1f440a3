"""The gateway's one TOML configuration file, read into typed, frozen values.

:func:`load_config` (a path) and :func:`parse_config` (a mapping, as ``tomllib`` gives)
return a :class:`GatewayConfig`. Every key is checked at start: an unknown key or a bad
value raises :class:`ConfigError` naming the full dotted key and what was expected::

    mqtt.port: expected an integer 1..65535, got 'abc'

Secrets (the MQTT password, uplink keys) are held in :class:`Secret`, whose ``repr`` and
``str`` are masked, so a config object can be logged or printed whole.
``examples/gateway.toml`` is the annotated example; docs/gateway.md explains each section.

Left out for now: the uplink is only configured (keys per sender), not run; station
``frame`` parameters are checked for shape but used by the ingest side, built later.
"""

from __future__ import annotations

import math
import re
import struct
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import Enum
from pathlib import Path
from typing import Any, Final

from comms.errors import UsageError

__all__ = [
    "ConfigError",
    "Decoder",
    "GatewayConfig",
    "LoggingConfig",
    "MetricsConfig",
    "MqttConfig",
    "MqttTls",
    "OutboxConfig",
    "OverflowPolicy",
    "RouteConfig",
    "Secret",
    "SenderKey",
    "SpacecraftConfig",
    "StationConfig",
    "StationKind",
    "UplinkConfig",
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


@dataclass(frozen=True)
class RouteConfig:
    apid: int
    product: str
    decoder: Decoder = Decoder.RAW
    format: str | None = None  # struct: a struct module format, e.g. ">HhI"
    fields: tuple[str, ...] = ()  # struct: one name per value the format unpacks


@dataclass(frozen=True)
class SenderKey:
    """Who may send commands, and the key their commands are checked with."""

    name: str
    algorithm: str  # "hmac-sha256" (shared secret) or "ed25519" (sender's public key)
    key: Secret


@dataclass(frozen=True)
class UplinkConfig:
    senders: tuple[SenderKey, ...] = ()


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
    config = StationConfig(
        name=_topic_level(t, "name", "") if t.has("name") else _missing(t, "name", "a name"),
        kind=kind,
        host=t.required_string("host"),
        port=t.integer("port", 0, 1, 65535) if t.has("port") else _missing(t, "port", "1..65535"),
        frame_length=frame_length,
        fecf=frame.boolean("fecf", True),
        randomized=frame.boolean("randomized", True),
        rs_interleave=rs_interleave,
    )
    frame.done()
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
    config = RouteConfig(apid=apid, product=product, decoder=decoder, format=fmt, fields=fields)
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
    routes = tuple(_route(t) for t in root.tables("routes"))
    apids = [r.apid for r in routes]
    for i, apid in enumerate(apids):
        if apid in apids[:i]:
            raise ConfigError(f"routes[{i}].apid", "expected an APID not routed before", apid)
    uplink_table = root.table("uplink")
    uplink = UplinkConfig(senders=tuple(_sender(t) for t in uplink_table.tables("senders")))
    uplink_table.done()
    config = GatewayConfig(
        mqtt=_mqtt(root.table("mqtt")),
        outbox=_outbox(root.table("outbox")),
        metrics=_metrics(root.table("metrics")),
        logging=_logging(root.table("logging")),
        spacecraft=_spacecraft(root.table("spacecraft")),
        stations=stations,
        routes=routes,
        uplink=uplink,
    )
    root.done()
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
