"""What the gateway publishes: the topic scheme, message ids and the JSON envelope.

Topics live under a configurable prefix and the spacecraft name (docs/gateway.md)::

    <prefix>/<spacecraft>/products/<product>   one message per decoded product
    <prefix>/<spacecraft>/files                a notice per file delivered by CFDP
    <prefix>/<spacecraft>/status               "online" / "offline" (retained; last will)
    <prefix>/<spacecraft>/commands/<sender>    commands in (docs/gateway-commands.md)
    <prefix>/<spacecraft>/responses/<sender>   each command's progress, by correlation id

A message id is stable: it is derived from what identifies the data (spacecraft, APID,
sequence count, spacecraft time...), not from when or where it was received, so the same
packet received by two stations, or republished after a broker restart, carries the same
id and consumers deduplicate on it (delivery is at-least-once).
"""

from __future__ import annotations

import functools
import hashlib
import json
import re
from binascii import b2a_base64
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from json.encoder import encode_basestring_ascii
from typing import Any, Final

from comms.errors import UsageError

__all__ = [
    "ENVELOPE_VERSION",
    "OutboxMessage",
    "Topics",
    "envelope",
    "message_id",
    "product_envelope",
]

ENVELOPE_VERSION: Final = 1
_LEVEL: Final = re.compile(r"^[A-Za-z0-9_.\-]+$")


def _check_level(what: str, value: str) -> str:
    if not _LEVEL.match(value):
        raise UsageError(
            f"{what} {value!r} is not one MQTT topic level: use letters, digits, '_', '.' "
            "or '-' (no '/', '+', '#' or spaces)."
        )
    return value


@dataclass(frozen=True)
class Topics:
    """The topic names of one spacecraft under one prefix."""

    prefix: str
    spacecraft: str

    def __post_init__(self) -> None:
        _check_level("The topic prefix", self.prefix)
        _check_level("The spacecraft name", self.spacecraft)

    @property
    def root(self) -> str:
        return f"{self.prefix}/{self.spacecraft}"

    @property
    def status(self) -> str:
        return f"{self.root}/status"

    @property
    def files(self) -> str:
        return f"{self.root}/files"

    @property
    def errors(self) -> str:
        """Where products that failed to decode go, with the reason."""
        return f"{self.root}/errors"

    def product(self, name: str) -> str:
        return f"{self.root}/products/{_check_level('The product name', name)}"

    def commands(self, name: str = "#") -> str:
        """A command topic, or with no name the filter matching them all.

        ``name`` is the sender (``+`` gives the filter of one level per sender, which
        is what the gateway subscribes to: broker ACLs can then give each sender
        write access to its own topic only).
        """
        if name not in ("#", "+"):
            _check_level("The command name", name)
        return f"{self.root}/commands/{name}"

    def responses(self, name: str = "#") -> str:
        """Where the progress of ``name``'s commands is published (accepted, radiated,
        acknowledged, failed, refused), or with no name the filter matching them all."""
        if name not in ("#", "+"):
            _check_level("The sender name", name)
        return f"{self.root}/responses/{name}"


def message_id(*parts: object) -> str:
    """A stable id from the values that identify the data (32 hex digits).

    ``message_id(scid, apid, sequence_count, spacecraft_time)`` gives the same id for the
    same packet wherever and however often it was received. Parts are joined with their
    type so ``(1, "2")`` and ``("1", 2)`` differ.
    """
    if not parts:
        raise UsageError("message_id needs at least one identifying value.")
    h = hashlib.blake2b(digest_size=16)
    for part in parts:
        token = f"{type(part).__name__}:{part!r}".encode()
        h.update(len(token).to_bytes(4, "big"))
        h.update(token)
    return h.hexdigest()


def envelope(
    *,
    message_id: str,
    product: str,
    data: bytes | Mapping[str, Any] | Sequence[Any] | str | int | float | None,
    earth_receive_time: float,
    stations: Sequence[str],
    spacecraft_time: float | None = None,
    apid: int | None = None,
    extra: Mapping[str, Any] | None = None,
) -> bytes:
    """The JSON envelope every product message carries (UTF-8, compact).

    ``data`` that is bytes is sent base64 (``"encoding": "base64"``); anything else is a
    JSON value as decoded. Times are Unix seconds (UTC, floats): the earth-receive time
    of the first station, and the spacecraft time when the packet carried one.
    """
    if not message_id:
        raise UsageError("An envelope needs a message_id: derive one with message_id(...).")
    # Built piece by piece rather than through a dict and json.dumps: this runs once per
    # product message (~2.5x cheaper, measured with tools/bench/bench_pipeline.py). The
    # octets are exactly json.dumps(body, separators=(",", ":"), allow_nan=False) of
    # the documented body (tests/gateway/test_envelope_oracle.py checks it against that).
    parts = [
        _HEAD,
        _json_str(message_id),
        ',"product":',
        _json_str(product),
        ',"ert":',
        _json_scalar(earth_receive_time),
        ',"stations":',
        _json_strings(stations) if stations.__class__ is tuple else _dumps(list(stations)),
    ]
    if spacecraft_time is not None:
        parts += (',"sct":', _json_scalar(spacecraft_time))
    if apid is not None:
        parts += (',"apid":', _json_scalar(apid))
    if isinstance(data, _BINARY):
        parts += (',"encoding":"base64","data":"', b2a_base64(data, newline=False).decode(), '"')
    else:
        parts += (',"encoding":"json","data":', _dumps(data))
    if extra:
        clash = [
            key
            for key in extra
            if key in _ENVELOPE_KEYS
            or (key == "sct" and spacecraft_time is not None)
            or (key == "apid" and apid is not None)
        ]
        if clash:
            raise UsageError(f"Envelope extra keys {sorted(clash)} clash with its own keys.")
        tail: list[str] = []
        for key, value in extra.items():
            if key.__class__ is not str:
                tail = [",", _dumps(dict(extra))[1:-1]]
                break
            tail += (",", _json_str(key), ":", _json_scalar(value))
        parts += tail
    parts.append("}")
    return "".join(parts).encode()


def product_envelope(
    message_id: str,
    product: str,
    data: Any,
    earth_receive_time: float,
    stations: tuple[str, ...],
    spacecraft_time: float | None,
    apid: int,
    scid: int,
    seq: int,
    vcid: int | None,
) -> bytes:
    """``envelope(...)`` of one product packet with ``extra={"scid", "seq"[, "vcid"]}``:
    the same octets from one f-string, for the per-packet path (ints as ints)."""
    if not message_id:
        raise UsageError("An envelope needs a message_id: derive one with message_id(...).")
    if isinstance(data, _BINARY):
        body = f',"encoding":"base64","data":"{b2a_base64(data, newline=False).decode()}"'
    else:
        body = ',"encoding":"json","data":' + _dumps(data)
    sct = "" if spacecraft_time is None else ',"sct":' + _json_scalar(spacecraft_time)
    tail = "}" if vcid is None else f',"vcid":{_json_scalar(vcid)}}}'
    return (
        f"{_HEAD}{_json_str(message_id)},"
        f'"product":{_json_str(product)},"ert":{_json_scalar(earth_receive_time)},'
        f'"stations":{_json_strings(stations)}{sct},"apid":{_json_scalar(apid)}{body},'
        f'"scid":{_json_scalar(scid)},"seq":{_json_scalar(seq)}{tail}'
    ).encode()


_HEAD: Final = f'{{"v":{ENVELOPE_VERSION},"id":'
_ENVELOPE_KEYS: Final = frozenset({"v", "id", "product", "ert", "stations", "encoding", "data"})
_json_str: Final = encode_basestring_ascii  # json.dumps' own (C) string encoder
# One encoder: json.dumps with keywords builds a new JSONEncoder on every call.
_dumps: Final = json.JSONEncoder(separators=(",", ":"), allow_nan=False).encode


def _json_scalar(value: Any) -> str:
    """``json.dumps(value, allow_nan=False)`` for one value, ints and floats inline."""
    cls = value.__class__
    if cls is float:
        if value != value or value in (_INF, -_INF):
            raise ValueError(f"Out of range float values are not JSON compliant: {value!r}")
        return float.__repr__(value)
    if cls is int:
        return int.__repr__(value)
    if cls is str:
        return _json_str(value)
    return _dumps(value)


@functools.lru_cache(maxsize=256)  # a handful of station tuples per pass
def _json_strings(values: tuple[str, ...]) -> str:
    if all(v.__class__ is str for v in values):
        return "[" + ",".join(map(_json_str, values)) + "]"
    return _dumps(list(values))


_INF: Final = float("inf")
_BINARY: Final = (bytes, bytearray, memoryview)


@dataclass(frozen=True, slots=True)
class OutboxMessage:
    """One message waiting in the outbox: what to publish and how.

    ``message_id`` travels with it (MQTT 5 user property ``message-id``) so a republish
    after a crash or a broker restart is recognisably the same message.
    """

    topic: str
    payload: bytes
    message_id: str
    qos: int = 1
    retain: bool = False

    def __post_init__(self) -> None:
        topic = self.topic
        if not topic or "+" in topic or "#" in topic or "\x00" in topic:
            raise UsageError(
                f"Topic {self.topic!r} cannot be published to: it must be non-empty and "
                "hold no '+', '#' or NUL (build it with Topics)."
            )
        if not isinstance(self.payload, bytes):
            raise UsageError("OutboxMessage.payload must be bytes; encode it first.")
        if not self.message_id:
            raise UsageError("OutboxMessage.message_id must be a non-empty string.")
        if self.qos not in (0, 1, 2):
            raise UsageError(f"qos must be 0, 1 or 2, not {self.qos!r}.")
