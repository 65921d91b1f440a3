"""What the gateway publishes: the topic scheme, message ids and the JSON envelope.

Topics live under a configurable prefix and the spacecraft name (docs/gateway.md)::

    <prefix>/<spacecraft>/products/<product>   one message per decoded product
    <prefix>/<spacecraft>/files                a notice per file delivered by CFDP
    <prefix>/<spacecraft>/status               "online" / "offline" (retained; last will)
    <prefix>/<spacecraft>/commands/<name>      commands in (the uplink, built later)

A message id is stable: it is derived from what identifies the data (spacecraft, APID,
sequence count, spacecraft time...), not from when or where it was received, so the same
packet received by two stations, or republished after a broker restart, carries the same
id and consumers deduplicate on it (delivery is at-least-once).
"""

from __future__ import annotations

import base64
import hashlib
import json
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Final

from comms.errors import UsageError

__all__ = [
    "ENVELOPE_VERSION",
    "OutboxMessage",
    "Topics",
    "envelope",
    "message_id",
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
        """A command topic, or with no name the filter matching them all."""
        if name != "#":
            _check_level("The command name", name)
        return f"{self.root}/commands/{name}"


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
    body: dict[str, Any] = {
        "v": ENVELOPE_VERSION,
        "id": message_id,
        "product": product,
        "ert": earth_receive_time,
        "stations": list(stations),
    }
    if spacecraft_time is not None:
        body["sct"] = spacecraft_time
    if apid is not None:
        body["apid"] = apid
    if isinstance(data, bytes | bytearray | memoryview):
        body["encoding"] = "base64"
        body["data"] = base64.b64encode(data).decode("ascii")
    else:
        body["encoding"] = "json"
        body["data"] = data
    if extra:
        clash = set(extra) & set(body)
        if clash:
            raise UsageError(f"Envelope extra keys {sorted(clash)} clash with its own keys.")
        body.update(extra)
    return json.dumps(body, separators=(",", ":"), allow_nan=False).encode()


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
        if not self.topic or any(c in self.topic for c in "+#\x00"):
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
