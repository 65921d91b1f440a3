"""Product decoders and the message each packet becomes.

A route (:class:`ProductRoute`, built from the config's ``[[routes]]``) says how the
data field of a Space Packet (133.0-B-2) of one APID is read:

- ``raw``: the octets as they are (base64 in the JSON envelope);
- ``json``: UTF-8 JSON (RFC 8259), passed through as a value;
- ``cbor``: CBOR (RFC 8949), converted to JSON as section 6.1 suggests (byte strings
  as base64url, NaN and infinities as null, non-string map keys as their JSON text);
  decoded by :func:`decode_cbor`, a small decoder of our own for the common types,
  rather than the ``cbor2`` package (one dependency less for ~120 lines);
- ``struct``: a fixed binary layout (a :mod:`struct` format) into named fields.

When the route names a time code, the packet's secondary header starts with the
spacecraft time (CUC or CDS, 301.0-B-4, via :mod:`comms.time`); the product follows the
secondary header.

:func:`build_message` turns one packet into an :class:`~gateway.messages.OutboxMessage`
with the envelope of :func:`gateway.messages.envelope`. A product that does not decode
raises :class:`ProductError` (a :class:`~comms.errors.DecodeError`: the data came from
the link), and :func:`error_message` makes the message for the error topic instead:
nothing is dropped silently.

Message ids (see :func:`packet_message_id`) are derived from what identifies the packet,
so a duplicate or a replay of the same packet gets the same id:

    (SCID, APID, sequence count, CRC-32 of the packet, spacecraft time code octets)
    or, without a spacecraft time,
    (SCID, APID, sequence count, CRC-32 of the packet, floor(ERT / ert_window_s))

Collision limits: sequence counts wrap at 16384, so two different packets share an id
only if they have the same APID, count and CRC-32 and the same spacecraft time (or,
without one, arrive in the same ERT window) -- for different data the CRC-32 makes that
about 2^-32 per pair. The price of the ERT form: a replay is stable only when it carries
the original earth-receive times (a recording replayed with its time stamps), and a
packet received across a window boundary by two unmerged paths gets two ids. Give
products a spacecraft time when consumers deduplicate on ids.

Left out: CBOR tags are dropped (the tagged value is kept), as are indefinite-length
strings' chunk boundaries; time codes other than CUC and CDS.
"""

from __future__ import annotations

import base64
import enum
import json
import math
import struct
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date
from hashlib import blake2b
from typing import Any, Final
from zlib import crc32

from comms.errors import DecodeError, UsageError
from comms.spp import SpacePacket
from comms.time import CdsTime, CucTime, Epoch
from gateway.config import Decoder, RouteConfig
from gateway.messages import OutboxMessage, Topics, envelope, product_envelope

__all__ = [
    "DEFAULT_ERT_WINDOW_S",
    "ProductError",
    "ProductRoute",
    "TimeCode",
    "TimeFormat",
    "build_message",
    "decode_cbor",
    "error_message",
    "packet_message_id",
    "split_packet",
]

#: Without a spacecraft time the id counts ERT windows of this length: well below the
#: time an APID takes to wrap its 14-bit count at the rates we carry (16384 packets in
#: 60 s is 273 packets/s), and long enough that a replay with recorded times matches.
DEFAULT_ERT_WINDOW_S: Final = 60.0
#: Nesting limit for JSON and CBOR products: deep enough for any real product, shallow
#: enough that a hostile packet cannot exhaust the stack.
MAX_DEPTH: Final = 64


class ProductError(DecodeError):
    """A packet's data field is not the product its route says (bad JSON, a struct
    layout longer than the data...). ``reason`` is a sentence, ``offset`` where in the
    product the problem was found."""


class TimeFormat(enum.Enum):
    CUC = "cuc"
    CDS = "cds"


@dataclass(frozen=True)
class TimeCode:
    """The spacecraft time at the start of the packet secondary header (301.0-B-4).

    ``pfield``: the time code starts with its P-field (self-describing); otherwise the
    layout is agreed: CUC ``coarse_octets``/``fine_octets`` (default 4 + 2, as ECSS PUS),
    CDS ``day_octets``/``submilli_octets``. ``epoch``: an agency-defined epoch (CUC: an
    :class:`~comms.time.Epoch`; CDS: a ``date``), None for the CCSDS 1958 epoch.
    """

    format: TimeFormat
    pfield: bool = False
    coarse_octets: int = 4
    fine_octets: int = 2
    day_octets: int = 2
    submilli_octets: int = 0
    epoch: Epoch | date | None = None

    def __post_init__(self) -> None:
        if not isinstance(self.format, TimeFormat):
            raise UsageError(f"TimeCode.format must be a TimeFormat, got {self.format!r}.")
        # Build one value now so a bad layout fails at start, not on the first packet.
        if self.format is TimeFormat.CUC:
            CucTime(0, 0, self.coarse_octets, self.fine_octets)
        else:
            CdsTime(0, 0, 0, self.day_octets, self.submilli_octets)

    def decode_from(self, data: bytes) -> tuple[float, bytes, int]:
        """(Unix seconds UTC, the time code's octets, its length) at the start of ``data``."""
        if self.format is TimeFormat.CUC:
            epoch = self.epoch if isinstance(self.epoch, Epoch) else None
            if self.pfield:
                cuc, end = CucTime.decode_from(data, epoch=epoch)
            else:
                cuc, end = CucTime.decode_from(
                    data,
                    coarse_octets=self.coarse_octets,
                    fine_octets=self.fine_octets,
                    epoch=epoch,
                )
            seconds = cuc.to_datetime().timestamp()
        else:
            day_epoch = self.epoch if isinstance(self.epoch, date) else None
            if self.pfield:
                cds, end = CdsTime.decode_from(data, epoch=day_epoch)
            else:
                cds, end = CdsTime.decode_from(
                    data,
                    day_octets=self.day_octets,
                    submilli_octets=self.submilli_octets,
                    epoch=day_epoch,
                )
            seconds = cds.to_datetime().timestamp()
        return seconds, data[:end], end


@dataclass(frozen=True)
class ProductRoute:
    """How packets of ``apid`` become ``product`` messages.

    ``time``: the spacecraft time code at the start of the secondary header (read only
    when the packet's secondary header flag is set). ``secondary_header_length``: octets
    of the secondary header when it holds more than the time code (default: the time
    code's length, 0 without one); the product starts after it.
    """

    apid: int
    product: str
    decoder: Decoder = Decoder.RAW
    format: str | None = None
    fields: tuple[str, ...] = ()
    time: TimeCode | None = None
    secondary_header_length: int | None = None

    def __post_init__(self) -> None:
        if isinstance(self.apid, bool) or not isinstance(self.apid, int):
            raise UsageError(f"ProductRoute.apid must be an int, got {self.apid!r}.")
        if not 0 <= self.apid <= 0x7FE:
            raise UsageError(
                f"ProductRoute.apid must be 0..2046 (0x7FF is the idle packet), got {self.apid}."
            )
        if not isinstance(self.decoder, Decoder):
            raise UsageError(f"ProductRoute.decoder must be a Decoder, got {self.decoder!r}.")
        if self.decoder is Decoder.STRUCT:
            if self.format is None:
                raise UsageError("A struct route needs a format, e.g. '>fH'.")
            try:
                layout = struct.Struct(self.format)
                count = len(layout.unpack(bytes(layout.size)))
            except struct.error as exc:
                raise UsageError(f"{self.format!r} is not a struct format ({exc}).") from None
            if len(self.fields) != count:
                raise UsageError(
                    f"A struct route names one field per value: {self.format!r} unpacks "
                    f"{count} values, got {len(self.fields)} names."
                )
        if self.secondary_header_length is not None and self.secondary_header_length < 0:
            raise UsageError("ProductRoute.secondary_header_length must be >= 0 or None.")
        object.__setattr__(self, "_decode", _decoder_for(self))

    @classmethod
    def from_config(
        cls,
        route: RouteConfig,
        *,
        time: TimeCode | None = None,
        secondary_header_length: int | None = None,
    ) -> ProductRoute:
        """The route of a config ``[[routes]]`` entry; ``time`` and
        ``secondary_header_length`` override the entry's ``time_code`` keys (e.g. for an
        agency epoch, which the config does not carry)."""
        if time is None and route.time_code is not None:
            time = TimeCode(
                TimeFormat(route.time_code),
                pfield=route.time_pfield,
                coarse_octets=route.coarse_octets,
                fine_octets=route.fine_octets,
                day_octets=route.day_octets,
                submilli_octets=route.submilli_octets,
            )
        if secondary_header_length is None:
            secondary_header_length = route.secondary_header_length
        return cls(
            route.apid,
            route.product,
            route.decoder,
            route.format,
            route.fields,
            time,
            secondary_header_length,
        )

    def decode(self, data: bytes) -> Any:
        """The product value of ``data`` (the octets after the secondary header)."""
        decode: Callable[[bytes], Any] = self._decode  # type: ignore[attr-defined]
        return decode(data)


def _decoder_for(route: ProductRoute) -> Callable[[bytes], Any]:
    if route.decoder is Decoder.RAW:
        return bytes
    if route.decoder is Decoder.JSON:
        return _decode_json
    if route.decoder is Decoder.CBOR:
        return decode_cbor
    assert route.format is not None
    layout = struct.Struct(route.format)
    names = route.fields

    def decode_struct(data: bytes) -> dict[str, Any]:
        if len(data) != layout.size:
            raise ProductError(
                f"struct layout {route.format!r} wants exactly {layout.size} octets",
                offset=min(len(data), layout.size),
                expected=layout.size,
                got=len(data),
            )
        return {name: _jsonable(v) for name, v in zip(names, layout.unpack(data), strict=True)}

    return decode_struct


# -- JSON -----------------------------------------------------------------------------------


def _reject_constant(name: str) -> Any:
    raise ValueError(f"{name} is not JSON (RFC 8259)")


def _decode_json(data: bytes) -> Any:
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise ProductError("JSON product is not UTF-8", offset=exc.start) from None
    try:
        if text.startswith("\ufeff"):  # what json.loads refuses before decoding
            raise json.JSONDecodeError("Unexpected UTF-8 BOM (decode using utf-8-sig)", text, 0)
        value = _JSON_DECODER.decode(text)
    except json.JSONDecodeError as exc:
        raise ProductError(f"JSON product does not parse: {exc.msg}", offset=exc.pos) from None
    except (ValueError, RecursionError) as exc:
        raise ProductError(f"JSON product does not parse: {exc}", offset=0) from None
    # Each level opens with a bracket: with no more brackets than levels allowed (inside
    # strings too, which only overcounts), the walk over the value can be skipped.
    if text.count("[") + text.count("{") > MAX_DEPTH and _depth(value) > MAX_DEPTH:
        raise ProductError("JSON product nests too deeply", offset=0, expected=f"<= {MAX_DEPTH}")
    return value


# One decoder for all products: json.loads with a keyword builds a new one per call.
_JSON_DECODER: Final = json.JSONDecoder(parse_constant=_reject_constant)


def _depth(value: Any) -> int:
    depth = 0
    level = [value]
    while level:
        containers = [v for v in level if isinstance(v, dict | list)]
        if not containers:
            return depth
        depth += 1
        if depth > MAX_DEPTH:
            return depth
        level = [x for c in containers for x in (c.values() if isinstance(c, dict) else c)]
    return depth


def _jsonable(value: Any) -> Any:
    if isinstance(value, float) and not math.isfinite(value):
        return None  # JSON has no NaN or infinities (RFC 8949 6.1 maps them to null)
    if isinstance(value, bytes):
        return base64.urlsafe_b64encode(value).decode("ascii").rstrip("=")
    return value


# -- CBOR (RFC 8949), the common types -------------------------------------------------------

_BREAK: Final = object()


def decode_cbor(data: bytes) -> Any:
    """One CBOR data item (RFC 8949) as a JSON-ready value.

    Unsigned and negative integers, byte and text strings (definite and indefinite
    length), arrays, maps, tags (dropped, the value kept), false/true/null/undefined and
    half, single and double floats. Raises :class:`ProductError` on truncated or
    malformed input, a nesting deeper than 64, or octets after the item.
    """
    value, end = _Cbor(data).item(0, 0)
    if value is _BREAK:
        raise ProductError("CBOR 'break' outside an indefinite-length item", offset=0)
    if end != len(data):
        raise ProductError(
            "octets after the CBOR data item", offset=end, expected=end, got=len(data)
        )
    return value


class _Cbor:
    __slots__ = ("data",)

    def __init__(self, data: bytes) -> None:
        self.data = data

    def _need(self, pos: int, n: int) -> None:
        if pos + n > len(self.data):
            raise ProductError(
                "truncated CBOR item", offset=len(self.data), expected=f"{n} more octets"
            )

    def _argument(self, info: int, pos: int) -> tuple[int, int]:
        if info < 24:
            return info, pos
        if info > 27:
            raise ProductError("reserved CBOR additional information", offset=pos - 1, got=info)
        n = 1 << (info - 24)
        self._need(pos, n)
        return int.from_bytes(self.data[pos : pos + n], "big"), pos + n

    def item(self, pos: int, depth: int) -> tuple[Any, int]:
        if depth > MAX_DEPTH:
            raise ProductError("CBOR item nests too deeply", offset=pos, expected=f"<= {MAX_DEPTH}")
        self._need(pos, 1)
        initial = self.data[pos]
        major, info = initial >> 5, initial & 0x1F
        pos += 1
        if major == 7:
            return self._simple(info, pos)
        if info == 31:
            return self._indefinite(major, pos, depth)
        arg, pos = self._argument(info, pos)
        if major == 0:
            return arg, pos
        if major == 1:
            return -1 - arg, pos
        if major in (2, 3):
            self._need(pos, arg)
            raw = self.data[pos : pos + arg]
            return self._string(major, raw, pos), pos + arg
        if major == 4:
            items: list[Any] = []
            for _ in range(arg):
                value, pos = self._value(pos, depth)
                items.append(value)
            return items, pos
        if major == 5:
            out: dict[str, Any] = {}
            for _ in range(arg):
                key, pos = self._value(pos, depth)
                value, pos = self._value(pos, depth)
                out[_key(key)] = value
            return out, pos
        # major 6: a tag; keep the value.
        return self._value(pos, depth)

    def _value(self, pos: int, depth: int) -> tuple[Any, int]:
        value, end = self.item(pos, depth + 1)
        if value is _BREAK:
            raise ProductError("CBOR 'break' where a value belongs", offset=pos)
        return value, end

    def _string(self, major: int, raw: bytes, pos: int) -> Any:
        if major == 2:
            return _jsonable(raw)
        try:
            return raw.decode("utf-8")
        except UnicodeDecodeError as exc:
            raise ProductError("CBOR text string is not UTF-8", offset=pos + exc.start) from None

    def _indefinite(self, major: int, pos: int, depth: int) -> tuple[Any, int]:
        if major in (2, 3):
            chunks = []
            while True:
                self._need(pos, 1)
                if self.data[pos] == 0xFF:
                    pos += 1
                    break
                if self.data[pos] >> 5 != major or self.data[pos] & 0x1F == 31:
                    raise ProductError("indefinite-length string chunk of another type", offset=pos)
                length, start = self._argument(self.data[pos] & 0x1F, pos + 1)
                self._need(start, length)
                chunks.append(self.data[start : start + length])
                pos = start + length
            return self._string(major, b"".join(chunks), pos), pos
        if major == 4:
            items: list[Any] = []
            while True:
                value, pos = self.item(pos, depth + 1)
                if value is _BREAK:
                    return items, pos
                items.append(value)
        if major == 5:
            out: dict[str, Any] = {}
            while True:
                key, pos = self.item(pos, depth + 1)
                if key is _BREAK:
                    return out, pos
                value, pos = self._value(pos, depth)
                out[_key(key)] = value
        raise ProductError("indefinite length on an integer or tag", offset=pos - 1)

    def _simple(self, info: int, pos: int) -> tuple[Any, int]:
        if info == 20:
            return False, pos
        if info == 21:
            return True, pos
        if info in (22, 23):
            return None, pos  # null, undefined
        if info == 25:
            self._need(pos, 2)
            return _jsonable(struct.unpack_from(">e", self.data, pos)[0]), pos + 2
        if info == 26:
            self._need(pos, 4)
            return _jsonable(struct.unpack_from(">f", self.data, pos)[0]), pos + 4
        if info == 27:
            self._need(pos, 8)
            return _jsonable(struct.unpack_from(">d", self.data, pos)[0]), pos + 8
        if info == 31:
            return _BREAK, pos
        if info == 24:
            self._need(pos, 1)
            if self.data[pos] < 32:
                raise ProductError("badly formed CBOR simple value", offset=pos)
            return None, pos + 1  # unassigned simple values: no JSON equivalent
        if info < 20:
            return None, pos
        raise ProductError("reserved CBOR simple value", offset=pos - 1, got=info)


def _key(key: Any) -> str:
    if isinstance(key, str):
        return key
    return json.dumps(key, separators=(",", ":"))


# -- messages -------------------------------------------------------------------------------


_ID_KEY: Final = struct.Struct(">BHHHI")
_ID_VERSION: Final = 1


def packet_message_id(
    scid: int,
    packet: SpacePacket,
    *,
    time_octets: bytes | None,
    ert: float,
    ert_window_s: float = DEFAULT_ERT_WINDOW_S,
) -> str:
    """The stable message id of ``packet`` (see the module docstring for the scheme):
    32 hex digits of BLAKE2b-128 over a packed key, like
    :func:`gateway.messages.message_id` but without its per-part ``repr`` (this runs
    once per packet; the packed key measured ~6x cheaper)."""
    raw = packet.encode()
    return _packet_id(scid, raw, time_octets, ert, ert_window_s)


def _packet_id(
    scid: int, raw: bytes, time_octets: bytes | None, ert: float, ert_window_s: float
) -> str:
    # The header fields straight from the octets: this runs once per packet.
    key = _ID_KEY.pack(
        _ID_VERSION, scid, (raw[0] & 0x07) << 8 | raw[1], (raw[2] & 0x3F) << 8 | raw[3], crc32(raw)
    )
    if time_octets is not None:
        tail = b"s" + time_octets
    else:
        tail = b"e" + str(math.floor(ert / ert_window_s)).encode()
    return blake2b(key + tail, digest_size=16).hexdigest()


def split_packet(
    route: ProductRoute, packet: SpacePacket
) -> tuple[float | None, bytes | None, bytes]:
    """(spacecraft time, its octets, product octets) of ``packet`` under ``route``."""
    data = packet.data
    if route.time is None or not packet.sec_header_flag:
        skip = route.secondary_header_length if packet.sec_header_flag else 0
        return None, None, data[skip or 0 :]
    try:
        seconds, octets, end = route.time.decode_from(data)
    except (DecodeError, UsageError) as exc:
        # A time code that does not decode, or decodes to a value out of range.
        raise ProductError(f"spacecraft time does not decode: {exc}", offset=0) from None
    except (ValueError, OverflowError) as exc:
        raise ProductError(f"spacecraft time out of range: {exc}", offset=0) from None
    skip = route.secondary_header_length if route.secondary_header_length is not None else end
    if skip > len(data):
        raise ProductError(
            "secondary header longer than the data field", offset=len(data), expected=skip
        )
    return seconds, octets, data[skip:]


def build_message(
    route: ProductRoute,
    packet: SpacePacket,
    *,
    scid: int,
    topics: Topics,
    ert: float,
    stations: tuple[str, ...],
    vcid: int | None = None,
    ert_window_s: float = DEFAULT_ERT_WINDOW_S,
    raw_payload: bool = False,
    topic: str | None = None,
) -> OutboxMessage:
    """The product message of ``packet``; raises :class:`ProductError` when its data
    field is not what ``route`` says (publish :func:`error_message` instead).

    ``raw_payload``: a raw product is published as its bare octets (the id travels as
    the MQTT 5 user property only); other products always get the JSON envelope.
    ``topic``: the product topic when the caller has it already (it is checked once)."""
    if topic is None:
        topic = topics.product(route.product)
    raw = packet.encode()
    if route.time is None and not raw[0] & 0x08:
        # The common case, without split_packet's calls: no secondary header to skip.
        sct = octets = None
        product = raw[6:]
    else:
        sct, octets, product = split_packet(route, packet)
    value = route.decode(product)
    mid = _packet_id(scid, raw, octets, ert, ert_window_s)
    if raw_payload and isinstance(value, bytes):
        return OutboxMessage(topic, value, mid)
    payload = product_envelope(
        mid,
        route.product,
        value,
        ert,
        stations if stations.__class__ is tuple else tuple(stations),
        sct,
        (raw[0] & 0x07) << 8 | raw[1],
        scid,
        (raw[2] & 0x3F) << 8 | raw[3],
        vcid,
    )
    return OutboxMessage(topic, payload, mid)


def error_message(
    route: ProductRoute,
    packet: SpacePacket,
    error: DecodeError,
    *,
    scid: int,
    topics: Topics,
    ert: float,
    stations: tuple[str, ...],
    ert_window_s: float = DEFAULT_ERT_WINDOW_S,
) -> OutboxMessage:
    """The error-topic message for a packet whose product did not decode: the reason,
    where, and the whole packet (base64) for whoever wants to look."""
    mid = packet_message_id(scid, packet, time_octets=None, ert=ert, ert_window_s=ert_window_s)
    payload = envelope(
        message_id=mid,
        product=route.product,
        data=packet.encode(),
        earth_receive_time=ert,
        stations=stations,
        apid=packet.apid,
        extra={
            "scid": scid,
            "seq": packet.sequence_count,
            "error": error.reason,
            "offset": error.offset,
        },
    )
    return OutboxMessage(topics.errors, payload, mid)
