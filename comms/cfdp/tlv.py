"""CFDP LV and TLV objects (CCSDS 727.0-B-5 5.1.8, 5.1.9 and 5.4).

An LV is a length octet and that many value octets (file names, filestore messages);
a TLV adds a type octet in front. The TLVs 727.0-B-5 defines:

=====  =========================  ==========================================================
type   class                      value
=====  =========================  ==========================================================
0x00   :class:`FilestoreRequest`  action (4) spare (4), first name LV, [second name LV]
0x01   :class:`FilestoreResponse` action (4) status (4), first LV, [second LV], message LV
0x02   :class:`MessageToUser`     any octets (reserved CFDP messages start with "cfdp")
0x04   :class:`FaultHandlerOverride`  condition code (4), handler code (4)
0x05   :class:`FlowLabel`         any octets (mission-defined)
0x06   :class:`EntityIdTlv`       an entity id, 1..8 octets (the fault location)
=====  =========================  ==========================================================

The second file name is present only for rename, append and replace (table 5-16).
Any other type code decodes as :class:`UnknownTlv`, kept as sent, so a PDU carrying a
future TLV still decodes and re-encodes unchanged. File names are octet strings
(``bytes``); constructors also take ``str`` and encode it as UTF-8.
"""

from __future__ import annotations

from typing import ClassVar, Self

from comms.buffers import BytesLike
from comms.cfdp._value import (
    CfdpValue,
    check_enum,
    check_octets,
    check_uint,
    init,
    short,
)
from comms.cfdp.codes import (
    FILESTORE_STATUS_NAMES,
    ConditionCode,
    FaultHandlerCode,
    FilestoreAction,
    TlvType,
)
from comms.cfdp.header import minimal_length
from comms.errors import DecodeError, UsageError

__all__ = [
    "EntityIdTlv",
    "FaultHandlerOverride",
    "FilestoreRequest",
    "FilestoreResponse",
    "FlowLabel",
    "MessageToUser",
    "Tlv",
    "UnknownTlv",
    "decode_lv",
    "decode_tlv",
    "encode_lv",
]

MAX_LV_LENGTH = 255


def encode_lv(value: bytes) -> bytes:
    """``value`` as an LV: one length octet then the octets (at most 255)."""
    if len(value) > MAX_LV_LENGTH:
        raise UsageError(f"An LV holds at most 255 octets, got {len(value)}.")
    return bytes((len(value),)) + value


def decode_lv(raw: bytes, offset: int, end: int, what: str) -> tuple[bytes, int]:
    """The LV at ``raw[offset:end]``: its value and the offset after it."""
    if offset >= end:
        raise DecodeError(f"missing {what} (an LV)", offset=offset, expected="a length octet")
    length = raw[offset]
    stop = offset + 1 + length
    if stop > end:
        raise short(f"{what} (an LV)", offset, 1 + length, end - offset)
    return raw[offset + 1 : stop], stop


class Tlv(CfdpValue):
    """Base of the TLV values: ``encode()`` gives type, length and value octets."""

    __slots__ = ()
    tlv_type: ClassVar[int]

    def value(self) -> bytes:
        """The value field's octets (without type and length)."""
        raise NotImplementedError

    def encode(self) -> bytes:
        value = self.value()
        return bytes((self.tlv_type, len(value))) + value

    def __len__(self) -> int:
        """Octets on the wire, type and length included."""
        return 2 + len(self.value())

    @classmethod
    def decode(cls, buf: BytesLike) -> Self:
        """Decode ``buf``, which must hold exactly one TLV of this class's type."""
        raw = bytes(buf)
        tlv, end = decode_tlv(raw, 0, len(raw))
        if not isinstance(tlv, cls):
            raise DecodeError(
                f"not a {cls.__name__} TLV", offset=0, expected=cls.tlv_type, got=raw[0]
            )
        if end != len(raw):
            raise DecodeError("trailing octets after the TLV", offset=end, got=len(raw) - end)
        return tlv

    @classmethod
    def _from_value(cls, raw: bytes, start: int, end: int) -> Self:
        raise NotImplementedError


def _value_too_long(owner: str, length: int) -> UsageError:
    return UsageError(f"{owner}: a TLV value holds at most 255 octets; this one needs {length}.")


class FilestoreRequest(Tlv):
    """Filestore request TLV (727.0-B-5 5.4.1): an action on the receiver's filestore."""

    __slots__ = ("action", "first_file_name", "second_file_name")
    tlv_type = TlvType.FILESTORE_REQUEST
    action: FilestoreAction
    first_file_name: bytes
    second_file_name: bytes | None

    def __init__(
        self,
        action: FilestoreAction | int,
        first_file_name: bytes | str,
        second_file_name: bytes | str | None = None,
    ) -> None:
        owner = type(self).__name__
        act = check_enum(owner, "action", action, FilestoreAction)
        first = check_octets(owner, "first_file_name", first_file_name, MAX_LV_LENGTH)
        second = _check_second(owner, act, second_file_name)
        init(self, action=act, first_file_name=first, second_file_name=second)
        if len(self.value()) > MAX_LV_LENGTH:
            raise _value_too_long(owner, len(self.value()))

    def value(self) -> bytes:
        out = bytes((self.action << 4,)) + encode_lv(self.first_file_name)
        if self.second_file_name is not None:
            out += encode_lv(self.second_file_name)
        return out

    @classmethod
    def _from_value(cls, raw: bytes, start: int, end: int) -> Self:
        action, first, second, offset = _decode_names(raw, start, end, cls.__name__)
        if offset != end:
            raise DecodeError("trailing octets in a filestore request", offset=offset)
        request = object.__new__(cls)
        init(request, action=action, first_file_name=first, second_file_name=second)
        return request


class FilestoreResponse(Tlv):
    """Filestore response TLV (727.0-B-5 5.4.2): what became of one filestore request.

    ``status_code`` is 0 for success and 15 for "not performed"; the other values mean
    different things per action (table 5-18, see :attr:`status_name`).
    """

    __slots__ = (  # noqa: RUF023
        "action",
        "status_code",
        "first_file_name",
        "second_file_name",
        "filestore_message",
    )
    tlv_type = TlvType.FILESTORE_RESPONSE
    action: FilestoreAction
    status_code: int
    first_file_name: bytes
    second_file_name: bytes | None
    filestore_message: bytes

    def __init__(
        self,
        action: FilestoreAction | int,
        status_code: int,
        first_file_name: bytes | str,
        second_file_name: bytes | str | None = None,
        filestore_message: bytes | str = b"",
    ) -> None:
        owner = type(self).__name__
        act = check_enum(owner, "action", action, FilestoreAction)
        status = check_uint(owner, "status_code", status_code, 4)
        if status not in FILESTORE_STATUS_NAMES[act]:
            raise UsageError(
                f"{owner}.status_code {status} is not defined for {act.name} "
                f"(727.0-B-5 table 5-18); use one of {sorted(FILESTORE_STATUS_NAMES[act])}."
            )
        first = check_octets(owner, "first_file_name", first_file_name, MAX_LV_LENGTH)
        second = _check_second(owner, act, second_file_name)
        message = check_octets(owner, "filestore_message", filestore_message, MAX_LV_LENGTH)
        init(
            self,
            action=act,
            status_code=status,
            first_file_name=first,
            second_file_name=second,
            filestore_message=message,
        )
        if len(self.value()) > MAX_LV_LENGTH:
            raise _value_too_long(owner, len(self.value()))

    @property
    def successful(self) -> bool:
        return self.status_code == 0

    @property
    def status_name(self) -> str:
        """The status code's meaning for this action (table 5-18)."""
        return FILESTORE_STATUS_NAMES[self.action][self.status_code]

    def value(self) -> bytes:
        out = bytes(((self.action << 4) | self.status_code,)) + encode_lv(self.first_file_name)
        if self.second_file_name is not None:
            out += encode_lv(self.second_file_name)
        return out + encode_lv(self.filestore_message)

    @classmethod
    def _from_value(cls, raw: bytes, start: int, end: int) -> Self:
        action, first, second, offset = _decode_names(raw, start, end, cls.__name__)
        status = raw[start] & 0x0F
        if status not in FILESTORE_STATUS_NAMES[action]:
            raise DecodeError(
                f"filestore status code not defined for {action.name}",
                offset=start,
                expected=sorted(FILESTORE_STATUS_NAMES[action]),
                got=status,
            )
        message, offset = decode_lv(raw, offset, end, "filestore message")
        if offset != end:
            raise DecodeError("trailing octets in a filestore response", offset=offset)
        response = object.__new__(cls)
        init(
            response,
            action=action,
            status_code=status,
            first_file_name=first,
            second_file_name=second,
            filestore_message=message,
        )
        return response


def _check_second(owner: str, action: FilestoreAction, second: object) -> bytes | None:
    if action.has_second_file_name:
        if second is None:
            raise UsageError(
                f"{owner}: {action.name} needs a second_file_name (727.0-B-5 table 5-16)."
            )
        return check_octets(owner, "second_file_name", second, MAX_LV_LENGTH)
    if second is not None:
        raise UsageError(
            f"{owner}: {action.name} takes no second_file_name (727.0-B-5 table 5-16); pass None."
        )
    return None


def _decode_names(
    raw: bytes, start: int, end: int, what: str
) -> tuple[FilestoreAction, bytes, bytes | None, int]:
    if start >= end:
        raise DecodeError(f"empty {what}", offset=start, expected="an action code octet")
    code = raw[start] >> 4
    if code > FilestoreAction.DENY_DIRECTORY:
        raise DecodeError("reserved filestore action code", offset=start, expected="0..8", got=code)
    action = _ACTIONS[code]
    first, offset = decode_lv(raw, start + 1, end, "first file name")
    second = None
    if action.has_second_file_name:
        second, offset = decode_lv(raw, offset, end, "second file name")
    return action, first, second, offset


_ACTIONS = tuple(FilestoreAction)


class MessageToUser(Tlv):
    """Message to user TLV (727.0-B-5 5.4.3): octets for the receiving CFDP user.

    Messages whose first four octets are ASCII ``cfdp`` are reserved CFDP messages
    (section 6); :meth:`reserved_message` decodes them.
    """

    __slots__ = ("message",)
    tlv_type = TlvType.MESSAGE_TO_USER
    message: bytes

    def __init__(self, message: bytes | str) -> None:
        init(self, message=check_octets("MessageToUser", "message", message, MAX_LV_LENGTH))

    def value(self) -> bytes:
        return self.message

    @property
    def is_reserved(self) -> bool:
        """Whether this is a reserved CFDP message (starts with ``cfdp`` and a type octet)."""
        return len(self.message) >= 5 and self.message[:4] == b"cfdp"

    def reserved_message(self) -> object | None:
        """The reserved CFDP message this carries (see :mod:`comms.cfdp.messages`), or None.

        Raises DecodeError when it starts with ``cfdp`` but is not a valid message.
        """
        if not self.is_reserved:
            return None
        from comms.cfdp.messages import decode_reserved_message  # messages imports tlv

        return decode_reserved_message(self.message)

    @classmethod
    def _from_value(cls, raw: bytes, start: int, end: int) -> Self:
        tlv = object.__new__(cls)
        init(tlv, message=raw[start:end])
        return tlv


class FaultHandlerOverride(Tlv):
    """Fault handler override TLV (727.0-B-5 5.4.4): the handler for one condition."""

    __slots__ = ("condition_code", "handler_code")
    tlv_type = TlvType.FAULT_HANDLER_OVERRIDE
    condition_code: ConditionCode
    handler_code: FaultHandlerCode

    def __init__(
        self, condition_code: ConditionCode | int, handler_code: FaultHandlerCode | int
    ) -> None:
        owner = type(self).__name__
        init(
            self,
            condition_code=check_enum(owner, "condition_code", condition_code, ConditionCode),
            handler_code=check_enum(owner, "handler_code", handler_code, FaultHandlerCode),
        )

    def value(self) -> bytes:
        return bytes(((self.condition_code << 4) | self.handler_code,))

    @classmethod
    def _from_value(cls, raw: bytes, start: int, end: int) -> Self:
        if end - start != 1:
            raise DecodeError(
                "fault handler override value must be one octet",
                offset=start,
                expected=1,
                got=end - start,
            )
        condition, handler = decode_fault_handler(raw, start)
        tlv = object.__new__(cls)
        init(tlv, condition_code=condition, handler_code=handler)
        return tlv


def decode_fault_handler(raw: bytes, offset: int) -> tuple[ConditionCode, FaultHandlerCode]:
    """Condition code and handler code from the octet at ``offset`` (table 5-19)."""
    octet = raw[offset]
    handler = octet & 0x0F
    if not 1 <= handler <= 4:
        raise DecodeError(
            "reserved fault handler code", offset=offset, expected="1..4", got=handler
        )
    return ConditionCode(octet >> 4), FaultHandlerCode(handler)


class FlowLabel(Tlv):
    """Flow label TLV (727.0-B-5 5.4.5): mission-defined octets, carried as sent."""

    __slots__ = ("flow_label",)
    tlv_type = TlvType.FLOW_LABEL
    flow_label: bytes

    def __init__(self, flow_label: bytes | str) -> None:
        init(self, flow_label=check_octets("FlowLabel", "flow_label", flow_label, MAX_LV_LENGTH))

    def value(self) -> bytes:
        return self.flow_label

    @classmethod
    def _from_value(cls, raw: bytes, start: int, end: int) -> Self:
        tlv = object.__new__(cls)
        init(tlv, flow_label=raw[start:end])
        return tlv


class EntityIdTlv(Tlv):
    """Entity id TLV (727.0-B-5 5.4.6), used as the fault location of EOF and Finished.

    ``length`` is the id's octets on the wire (1..8); left out, the fewest that hold it.
    """

    __slots__ = ("entity_id", "length")
    tlv_type = TlvType.ENTITY_ID
    entity_id: int
    length: int

    def __init__(self, entity_id: int, length: int | None = None) -> None:
        owner = type(self).__name__
        value = check_uint(owner, "entity_id", entity_id, 64)
        size = minimal_length(value) if length is None else length
        if isinstance(size, bool) or not isinstance(size, int) or not 1 <= size <= 8:
            raise UsageError(f"{owner}.length must be 1 to 8 octets, got {size!r}.")
        if value >> (8 * size):
            raise UsageError(f"{owner}.entity_id = {value} does not fit in {size} octet(s).")
        init(self, entity_id=value, length=size)

    def value(self) -> bytes:
        return self.entity_id.to_bytes(self.length, "big")

    @classmethod
    def _from_value(cls, raw: bytes, start: int, end: int) -> Self:
        size = end - start
        if not 1 <= size <= 8:
            raise DecodeError("entity id must be 1 to 8 octets", offset=start, got=size)
        tlv = object.__new__(cls)
        init(tlv, entity_id=int.from_bytes(raw[start:end], "big"), length=size)
        return tlv


class UnknownTlv(Tlv):
    """A TLV whose type 727.0-B-5 reserves (3, 7..255), kept as sent."""

    __slots__ = ("type_code", "data")  # noqa: RUF023
    type_code: int
    data: bytes

    def __init__(self, type_code: int, data: bytes) -> None:
        code = check_uint("UnknownTlv", "type_code", type_code, 8)
        if code in _KNOWN:
            raise UsageError(
                f"UnknownTlv.type_code {code} is {TlvType(code).name}; use its own class."
            )
        init(self, type_code=code, data=check_octets("UnknownTlv", "data", data, MAX_LV_LENGTH))

    def value(self) -> bytes:
        return self.data

    def encode(self) -> bytes:
        return bytes((self.type_code, len(self.data))) + self.data

    @classmethod
    def _from_value(cls, raw: bytes, start: int, end: int) -> Self:
        tlv = object.__new__(cls)
        init(tlv, type_code=raw[start - 2], data=raw[start:end])
        return tlv


_CLASSES: dict[int, type[Tlv]] = {
    TlvType.FILESTORE_REQUEST: FilestoreRequest,
    TlvType.FILESTORE_RESPONSE: FilestoreResponse,
    TlvType.MESSAGE_TO_USER: MessageToUser,
    TlvType.FAULT_HANDLER_OVERRIDE: FaultHandlerOverride,
    TlvType.FLOW_LABEL: FlowLabel,
    TlvType.ENTITY_ID: EntityIdTlv,
}
_KNOWN = frozenset(int(t) for t in TlvType)


def decode_tlv(raw: bytes, offset: int, end: int) -> tuple[Tlv, int]:
    """The TLV at ``raw[offset:end]`` and the offset just after it."""
    if offset + 2 > end:
        raise short("TLV type and length", offset, 2, end - offset)
    length = raw[offset + 1]
    stop = offset + 2 + length
    if stop > end:
        raise short("TLV value", offset + 2, length, end - offset - 2)
    cls = _CLASSES.get(raw[offset], UnknownTlv)
    return cls._from_value(raw, offset + 2, stop), stop
