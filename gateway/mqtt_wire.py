"""A sans-I/O MQTT publisher codec: just what the outbox needs, built for throughput.

MQTT 3.1.1 (OASIS, 2014) and 5.0 (OASIS, 2019), client side, publish only: CONNECT
(clean session / clean start, keep alive, user name and password), PUBLISH at QoS 0
and 1 (MQTT 5: the message id as the user property ``message-id``, section 3.3.2.3.7),
PINGREQ and DISCONNECT out; CONNACK, PUBACK, PINGRESP and (5.0) DISCONNECT in.
A PUBLISH the broker should not have sent (we subscribe to nothing; amqtt 0.11 sends
some anyway) is acknowledged as the protocol asks and dropped (``unsolicited`` counts
them): PUBACK for QoS 1, PUBREC then PUBCOMP for QoS 2. The acknowledgements wait in
:meth:`PublisherWire.take_replies` for the I/O side to write.

Why not paho (through aiomqtt): a paho publish costs ~60 us of Python per message (a
``Properties`` object per message, a ``MQTTMessageInfo``, reading each packet with
three ``recv`` calls) and caps a QoS 1 stream near 8k messages/s on loopback whatever the
window (tools/bench/bench_outbox.py). Here a PUBLISH is a few slices joined, PUBACKs are
parsed from one buffer many at a time, and a whole window of PUBLISHes goes out in
one write.

:class:`PublisherWire` is the machine: ``connect()`` returns the CONNECT octets,
``receive_data(data)`` takes what the broker sent (any split) and returns the packet
tokens acknowledged by it, ``publish(...)`` returns a PUBLISH's octets and takes one
slot of the window (``free`` says how many are left). It does no I/O.

Left out: QoS 2, subscriptions (the status/command connection is aiomqtt's), wills,
topic aliases, AUTH (enhanced authentication), session resumption (the outbox is our
persistence: every connect is a clean start).
"""

from __future__ import annotations

import struct
from dataclasses import dataclass
from typing import Final

from comms.errors import DecodeError, UsageError

__all__ = [
    "BrokerRefused",
    "Connack",
    "PublisherWire",
    "WireError",
    "encode_varint",
]

_CONNECT: Final = 0x10
_CONNACK: Final = 0x20
_PUBLISH: Final = 0x30
_PUBACK: Final = 0x40
_PUBREC: Final = 0x50
_PUBREL: Final = 0x60
_PUBCOMP: Final = 0x70
_PINGREQ: Final = b"\xc0\x00"
_PINGRESP: Final = 0xD0
_DISCONNECT: Final = 0xE0
_MAX_REMAINING: Final = 268_435_455  # four varint octets (MQTT 5.0 section 1.5.5)
_U16: Final = struct.Struct(">H")

#: MQTT 5 property identifiers and their value types (section 2.2.2.2).
_PROPERTY_TYPES: Final = {
    0x01: "byte", 0x02: "u32", 0x03: "str", 0x08: "str", 0x09: "bin", 0x0B: "varint",
    0x11: "u32", 0x12: "str", 0x13: "u16", 0x15: "str", 0x16: "bin", 0x17: "byte",
    0x18: "u32", 0x19: "byte", 0x1A: "str", 0x1C: "str", 0x1F: "str", 0x21: "u16",
    0x22: "u16", 0x23: "u16", 0x24: "byte", 0x25: "byte", 0x26: "pair", 0x27: "u32",
    0x28: "byte", 0x29: "byte", 0x2A: "byte",
}  # fmt: skip
_RECEIVE_MAXIMUM: Final = 0x21
_MAXIMUM_QOS: Final = 0x24
_MAXIMUM_PACKET_SIZE: Final = 0x27
_REASON_STRING: Final = 0x1F
_USER_PROPERTY: Final = 0x26


class WireError(DecodeError):
    """The broker sent something this client cannot accept (a malformed or unexpected
    packet); the connection must be closed."""


class BrokerRefused(WireError):
    """The broker refused the connection (CONNACK), a publish (PUBACK reason >= 0x80)
    or disconnected us (MQTT 5 DISCONNECT); ``reason_code`` says why."""

    def __init__(self, message: str, *, reason_code: int) -> None:
        super().__init__(message, offset=0, got=reason_code)
        self.reason_code = reason_code


def encode_varint(n: int) -> bytes:
    """An MQTT Variable Byte Integer (section 1.5.5)."""
    if not 0 <= n <= _MAX_REMAINING:
        raise UsageError(f"{n} does not fit an MQTT variable byte integer (0..{_MAX_REMAINING}).")
    if n < 128:
        return bytes((n,))
    out = bytearray()
    while True:
        n, digit = divmod(n, 128)
        if n:
            out.append(digit | 0x80)
        else:
            out.append(digit)
            return bytes(out)


def _string(value: str) -> bytes:
    raw = value.encode()
    if len(raw) > 0xFFFF:
        raise UsageError("An MQTT string is at most 65535 octets of UTF-8.")
    return _U16.pack(len(raw)) + raw


@dataclass(frozen=True, slots=True)
class Connack:
    """What the broker granted: how many QoS 1 publishes it takes in flight (MQTT 5
    Receive Maximum; 65535 when absent), the largest packet (None: no limit), the
    highest QoS."""

    session_present: bool
    receive_maximum: int = 0xFFFF
    maximum_packet_size: int | None = None
    maximum_qos: int = 2


class PublisherWire:
    """The publish side of one MQTT connection, sans-I/O (see the module docstring).

    ``protocol``: 5 or 4 (4 is MQTT 3.1.1's protocol level; 3 is accepted as a synonym,
    as in the gateway config). ``window``: our own cap on QoS 1 publishes awaiting
    PUBACK; the effective window is the smaller of it and the broker's Receive Maximum.
    ``message_id_property``: the MQTT 5 user property name carrying the message id.
    """

    def __init__(
        self,
        *,
        client_id: str,
        protocol: int = 5,
        keepalive_s: int = 60,
        username: str | None = None,
        password: bytes | None = None,
        window: int = 64,
        message_id_property: str = "message-id",
    ) -> None:
        if protocol not in (3, 4, 5):
            raise UsageError(f"MQTT protocol must be 5 or 3 (3.1.1), not {protocol!r}.")
        if not 0 <= keepalive_s <= 0xFFFF:
            raise UsageError("keepalive_s must be 0..65535.")
        if not 1 <= window <= 0xFFFF:
            raise UsageError("window must be 1..65535 (packet identifiers are 16 bits).")
        if password is not None and username is None and protocol != 5:
            raise UsageError("MQTT 3.1.1 sends a password only with a user name.")
        self.v5 = protocol == 5
        self.client_id = client_id
        self.keepalive_s = keepalive_s
        self.username = username
        self.password = password
        self.max_window = window
        self.connack: Connack | None = None
        self._property_prefix = b"\x26" + _string(message_id_property) if self.v5 else b""
        self._buffer = bytearray()
        self._topics: dict[str, bytes] = {}
        self._inflight: dict[int, object] = {}  # packet id -> the caller's token
        self._next_id = 1
        self._window = window
        self._max_packet: int | None = None
        self.pings_pending = 0
        self.unsolicited = 0  # PUBLISHes received and dropped (see the module docstring)
        self._replies = bytearray()

    # -- state -----------------------------------------------------------------------

    @property
    def connected(self) -> bool:
        return self.connack is not None

    @property
    def window(self) -> int:
        """QoS 1 publishes allowed in flight (known once the CONNACK came)."""
        return self._window

    @property
    def in_flight(self) -> int:
        return len(self._inflight)

    @property
    def free(self) -> int:
        """How many more QoS 1 publishes may go out before a PUBACK comes back."""
        return self._window - len(self._inflight) if self.connack is not None else 0

    def unacknowledged(self) -> list[object]:
        """Tokens of the publishes still awaiting PUBACK, in send order."""
        return list(self._inflight.values())

    # -- output ----------------------------------------------------------------------

    def connect(self) -> bytes:
        """The CONNECT packet (clean session / clean start)."""
        flags = 0x02
        payload = _string(self.client_id)
        if self.username is not None:
            flags |= 0x80
            payload += _string(self.username)
        if self.password is not None:
            flags |= 0x40
            payload += _U16.pack(len(self.password)) + self.password
        level = 5 if self.v5 else 4
        variable = b"\x00\x04MQTT" + bytes((level, flags)) + _U16.pack(self.keepalive_s)
        if self.v5:
            variable += b"\x00"  # no properties
        body = variable + payload
        return bytes((_CONNECT,)) + encode_varint(len(body)) + body

    def publish(
        self,
        topic: str,
        payload: bytes,
        *,
        qos: int = 1,
        retain: bool = False,
        message_id: str | None = None,
        token: object = None,
    ) -> bytes:
        """A PUBLISH packet. At QoS 1 it takes a slot of the window and ``token`` comes
        back from :meth:`receive_data` when its PUBACK arrives."""
        topic_field = self._topics.get(topic)
        if topic_field is None:
            if not topic or "+" in topic or "#" in topic or "\x00" in topic:
                raise UsageError(f"Topic {topic!r} cannot be published to.")
            topic_field = self._topics[topic] = _string(topic)
        if qos == 1:
            if self.free <= 0:
                raise UsageError("The publish window is full: wait for a PUBACK (see free).")
            pid = self._next_id
            while pid in self._inflight:
                pid = pid % 0xFFFF + 1
            self._next_id = pid % 0xFFFF + 1
            self._inflight[pid] = token
            variable = topic_field + _U16.pack(pid)
        elif qos == 0:
            if self.connack is None:
                raise UsageError("Publish only after the CONNACK.")
            variable = topic_field
        else:
            raise UsageError(f"This client publishes at QoS 0 or 1, not {qos!r}.")
        if self.v5:
            if message_id is not None:
                value = message_id.encode()
                prop = self._property_prefix + _U16.pack(len(value)) + value
                variable += encode_varint(len(prop)) + prop
            else:
                variable += b"\x00"
        length = len(variable) + len(payload)
        packet = (
            bytes((_PUBLISH | (qos << 1) | (1 if retain else 0),))
            + encode_varint(length)
            + variable
            + payload
        )
        if self._max_packet is not None and len(packet) > self._max_packet:
            if qos == 1:
                del self._inflight[pid]
                self._next_id = pid
            raise UsageError(
                f"A PUBLISH of {len(packet)} octets exceeds the broker's Maximum Packet "
                f"Size ({self._max_packet})."
            )
        return packet

    def ping(self) -> bytes:
        self.pings_pending += 1
        return _PINGREQ

    def disconnect(self) -> bytes:
        """DISCONNECT, normal (MQTT 5 reason 0x00 is implied by the empty body)."""
        return b"\xe0\x00"

    # -- input -----------------------------------------------------------------------

    def receive_data(self, data: bytes) -> list[object]:
        """Feed octets from the broker; returns the tokens of publishes acknowledged by
        them, in arrival order. Raises :class:`BrokerRefused` or :class:`WireError`."""
        buf = self._buffer
        buf += data
        acked: list[object] = []
        pos = 0
        end = len(buf)
        inflight = self._inflight
        try:
            while pos + 2 <= end:
                first = buf[pos]
                # Fast path: a PUBACK with a one-octet length (all of ours).
                length = buf[pos + 1]
                if length < 128:
                    start = pos + 2
                else:
                    length, start = self._varint(buf, pos + 1, end)
                    if start < 0:
                        break
                stop = start + length
                if stop > end:
                    break
                if first == _PUBACK:
                    if length < 2:
                        raise WireError("PUBACK shorter than its packet identifier", offset=pos)
                    pid = (buf[start] << 8) | buf[start + 1]
                    if length > 2 and buf[start + 2] >= 0x80:
                        raise BrokerRefused(
                            f"The broker refused publish {pid} with reason code "
                            f"0x{buf[start + 2]:02x}{self._reason_string(buf, start + 3, stop)}.",
                            reason_code=buf[start + 2],
                        )
                    try:
                        acked.append(inflight.pop(pid))
                    except KeyError:
                        raise WireError(
                            f"PUBACK for packet identifier {pid}, which is not in flight",
                            offset=pos,
                        ) from None
                else:
                    self._control(first, bytes(buf[start:stop]), pos)
                pos = stop
        finally:
            del buf[:pos]
        return acked

    @staticmethod
    def _varint(buf: bytearray, pos: int, end: int) -> tuple[int, int]:
        value = 0
        for i in range(4):
            if pos + i >= end:
                return 0, -1
            byte = buf[pos + i]
            value |= (byte & 0x7F) << (7 * i)
            if not byte & 0x80:
                return value, pos + i + 1
        raise WireError("malformed remaining length (more than four octets)", offset=pos)

    def take_replies(self) -> bytes:
        """Acknowledgements owed to the broker for its unsolicited PUBLISHes (to write)."""
        out = bytes(self._replies)
        self._replies.clear()
        return out

    def _control(self, first: int, body: bytes, offset: int) -> None:
        kind = first & 0xF0
        if kind == _PUBLISH:
            self.unsolicited += 1
            qos = (first >> 1) & 0x03
            if qos == 3:
                raise WireError("PUBLISH with QoS 3 (malformed)", offset=offset, got=first)
            if qos:
                if len(body) < 2 or len(body) < 2 + ((body[0] << 8) | body[1]) + 2:
                    raise WireError("PUBLISH shorter than its topic and packet id", offset=offset)
                at = 2 + ((body[0] << 8) | body[1])
                reply = _PUBACK if qos == 1 else _PUBREC
                self._replies += bytes((reply, 2)) + body[at : at + 2]
        elif kind == _PUBREL:
            if len(body) < 2:
                raise WireError("PUBREL shorter than its packet identifier", offset=offset)
            self._replies += bytes((_PUBCOMP, 2)) + body[:2]
        elif kind == _CONNACK:
            self._on_connack(body, offset)
        elif kind == _PINGRESP:
            self.pings_pending = max(0, self.pings_pending - 1)
        elif kind == _DISCONNECT:
            code = body[0] if body else 0
            raise BrokerRefused(
                f"The broker disconnected us with reason code 0x{code:02x}"
                f"{self._reason_string(bytearray(body), 1, len(body))}.",
                reason_code=code,
            )
        else:
            raise WireError(
                f"unexpected MQTT packet type {kind >> 4} from the broker", offset=offset, got=first
            )

    def _on_connack(self, body: bytes, offset: int) -> None:
        if self.connack is not None:
            raise WireError("a second CONNACK", offset=offset)
        if len(body) < 2:
            raise WireError("CONNACK shorter than 2 octets", offset=offset, got=len(body))
        code = body[1]
        if code != 0:
            raise BrokerRefused(
                f"The broker refused the connection with return code 0x{code:02x}"
                f"{self._reason_string(bytearray(body), 2, len(body)) if self.v5 else ''}.",
                reason_code=code,
            )
        connack = Connack(session_present=bool(body[0] & 1))
        if self.v5:
            props = _properties(body, 2, offset)
            size = props.get(_MAXIMUM_PACKET_SIZE)
            connack = Connack(
                session_present=connack.session_present,
                receive_maximum=_int(props.get(_RECEIVE_MAXIMUM, 0xFFFF)),
                maximum_packet_size=None if size is None else _int(size),
                maximum_qos=_int(props.get(_MAXIMUM_QOS, 2)),
            )
            if connack.receive_maximum == 0:
                raise WireError("CONNACK grants a Receive Maximum of 0", offset=offset)
        self.connack = connack
        self._window = min(self.max_window, connack.receive_maximum)
        self._max_packet = connack.maximum_packet_size

    def _reason_string(self, buf: bytearray, pos: int, stop: int) -> str:
        if not self.v5 or pos >= stop:
            return ""
        try:
            reason = _properties(bytes(buf[pos:stop]), 0, 0).get(_REASON_STRING)
        except WireError:
            return ""
        return f" ({reason!s})" if isinstance(reason, str) and reason else ""


def _int(value: int | str | bytes) -> int:
    return value if isinstance(value, int) else 0


def _properties(body: bytes, pos: int, offset: int) -> dict[int, int | str | bytes]:
    """The MQTT 5 properties at ``pos`` (length first) as {identifier: value}; user
    properties are skipped (nothing here reads them)."""
    buf = bytearray(body)
    length, pos = PublisherWire._varint(buf, pos, len(buf))
    if pos < 0 or pos + length > len(buf):
        raise WireError("truncated MQTT 5 properties", offset=offset)
    stop = pos + length
    out: dict[int, int | str | bytes] = {}
    while pos < stop:
        ident = buf[pos]
        kind = _PROPERTY_TYPES.get(ident)
        pos += 1
        if kind is None:
            raise WireError(f"unknown MQTT 5 property 0x{ident:02x}", offset=offset + pos)
        if pos >= stop:
            raise WireError("truncated MQTT 5 property", offset=offset + pos)
        value: int | str | bytes
        if kind == "byte":
            value, pos = buf[pos], pos + 1
        elif kind == "u16":
            value, pos = int.from_bytes(buf[pos : pos + 2], "big"), pos + 2
        elif kind == "u32":
            value, pos = int.from_bytes(buf[pos : pos + 4], "big"), pos + 4
        elif kind == "varint":
            value, pos = PublisherWire._varint(buf, pos, stop)
            if pos < 0:
                raise WireError("truncated MQTT 5 property", offset=offset)
        else:
            n = int.from_bytes(buf[pos : pos + 2], "big")
            raw = bytes(buf[pos + 2 : pos + 2 + n])
            pos += 2 + n
            if kind == "pair":
                n2 = int.from_bytes(buf[pos : pos + 2], "big")
                pos += 2 + n2
                continue
            value = raw if kind == "bin" else raw.decode("utf-8", "replace")
        if pos > stop:
            raise WireError("truncated MQTT 5 property", offset=offset + pos)
        out[ident] = value
    return out
