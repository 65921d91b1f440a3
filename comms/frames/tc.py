"""TC Transfer Frames (CCSDS 232.0-B-4 section 4.1) and the COP-1 control commands.

::

    primary header (5)  version 00 | bypass flag | control command flag | spare 2
                        | SCID 10 | VCID 6 | frame length 10 (octets - 1)
                        | frame sequence number 8
    segment header (1)  sequence flags 2 | MAP id 6                (optional, per VC)
    data field          1 .. 1019 octets
    FECF (2)            CRC-16-CCITT over everything before it      (optional)

TC frames have variable length (at most 1024 octets); the length is in the header, and
:meth:`TcFrame.decode` wants exactly one frame. A CLTU decoder that hands over its
codeblock data with fill octets at the end can find the frame with
:meth:`TcFrame.frame_length` first.

Control commands (232.1-B-2 4.1.3.4, carried in Type-BC frames, control command flag
set): Unlock is the single octet 00, Set V(R) the three octets 82 00 V(R). Those frames
carry no segment header in this implementation. FECF failures raise :class:`FecfError`
unless ``verify_fecf=False``. Spare bits are written as zeros and ignored on receive.
Left out: SDLS, and the COP-1 machines (FOP/FARM) that decide what to send.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass
from typing import Final

from comms.buffers import BytesLike
from comms.crc import crc16_ccitt
from comms.errors import DecodeError, UsageError
from comms.frames._value import (
    FecfError,
    FrameValue,
    as_bytes,
    check_bytes,
    check_flag,
    check_int,
    init_fields,
    need_length,
    slot_setters,
)
from comms.frames.params import TC_MAX_FRAME_LENGTH, TcParams

__all__ = ["SEQUENCE_FLAGS_UNSEGMENTED", "SetVR", "TcFrame", "Unlock"]

#: Segment header sequence flags: a whole user data unit (232.0-B-4 4.1.3.2.2.2).
SEQUENCE_FLAGS_UNSEGMENTED: Final = 0b11

_HEADER = struct.Struct(">HHB")
_U16 = struct.Struct(">H")


@dataclass(frozen=True)
class Unlock:
    """The COP-1 Unlock control command (232.1-B-2 4.1.3.4.2): one octet 00."""

    def encode(self) -> bytes:
        return b"\x00"


@dataclass(frozen=True)
class SetVR:
    """The COP-1 Set V(R) control command (232.1-B-2 4.1.3.4.3): 82 00 then V(R)."""

    v_r: int

    def __post_init__(self) -> None:
        check_int("SetVR", "v_r", self.v_r, 8)

    def encode(self) -> bytes:
        return bytes((0x82, 0x00, self.v_r))


def decode_control_command(data: BytesLike) -> Unlock | SetVR:
    """Recognize a control command from a Type-BC frame's data field.

    Raises :class:`DecodeError` for anything other than Unlock or Set V(R).
    """
    data = as_bytes(data)
    if data == b"\x00":
        return Unlock()
    if len(data) == 3 and data[0] == 0x82 and data[1] == 0x00:
        return SetVR(data[2])
    raise DecodeError(
        "not a COP-1 control command",
        offset=0,
        expected="00 (Unlock) or 82 00 xx (Set V(R))",
        got=data[:8].hex(" "),
    )


class TcFrame(FrameValue):
    """One TC Transfer Frame.

    ``map_id`` set means a segment header is present (with ``sequence_flags``, which
    default to 11, unsegmented); None means no segment header. ``has_fecf`` says
    whether ``encode`` appends the FECF.
    """

    # Constructor order, not alphabetical: repr, replace and the fast setters rely on it.
    __slots__ = (  # noqa: RUF023
        "scid",
        "vcid",
        "frame_sequence_number",
        "data_field",
        "bypass_flag",
        "control_command_flag",
        "map_id",
        "sequence_flags",
        "has_fecf",
    )

    scid: int
    vcid: int
    frame_sequence_number: int
    data_field: bytes
    bypass_flag: bool
    control_command_flag: bool
    map_id: int | None
    sequence_flags: int
    has_fecf: bool

    def __init__(
        self,
        scid: int,
        vcid: int,
        frame_sequence_number: int,
        data_field: BytesLike,
        bypass_flag: bool = False,
        control_command_flag: bool = False,
        map_id: int | None = None,
        sequence_flags: int = SEQUENCE_FLAGS_UNSEGMENTED,
        has_fecf: bool = True,
    ) -> None:
        name = "TcFrame"
        data = check_bytes(name, "data_field", data_field)
        if not data:
            raise UsageError("TcFrame.data_field must hold at least one octet (232.0-B-4 4.1.3).")
        check_int(name, "sequence_flags", sequence_flags, 2)
        if map_id is not None:
            check_int(name, "map_id", map_id, 6)
            if control_command_flag:
                raise UsageError(
                    "A control command frame carries no segment header; pass map_id=None."
                )
        elif sequence_flags != SEQUENCE_FLAGS_UNSEGMENTED:
            raise UsageError(
                "TcFrame.sequence_flags belong to the segment header; pass a map_id to "
                "have one, or leave sequence_flags at 0b11."
            )
        init_fields(
            self,
            {
                "scid": check_int(name, "scid", scid, 10),
                "vcid": check_int(name, "vcid", vcid, 6),
                "frame_sequence_number": check_int(
                    name, "frame_sequence_number", frame_sequence_number, 8
                ),
                "data_field": data,
                "bypass_flag": check_flag(name, "bypass_flag", bypass_flag),
                "control_command_flag": check_flag(
                    name, "control_command_flag", control_command_flag
                ),
                "map_id": map_id,
                "sequence_flags": sequence_flags,
                "has_fecf": check_flag(name, "has_fecf", has_fecf),
            },
        )
        if len(self) > TC_MAX_FRAME_LENGTH:
            raise UsageError(
                f"A TC frame is at most {TC_MAX_FRAME_LENGTH} octets (232.0-B-4 4.1.2.7), "
                f"this one would be {len(self)}; split the data into more frames."
            )

    @classmethod
    def unlock(cls, scid: int, vcid: int, *, has_fecf: bool = True) -> TcFrame:
        """A Type-BC frame carrying the Unlock control command."""
        return cls(scid, vcid, 0, Unlock().encode(), True, True, has_fecf=has_fecf)

    @classmethod
    def set_v_r(cls, scid: int, vcid: int, v_r: int, *, has_fecf: bool = True) -> TcFrame:
        """A Type-BC frame carrying the Set V(R) control command."""
        return cls(scid, vcid, 0, SetVR(v_r).encode(), True, True, has_fecf=has_fecf)

    def control_command(self) -> Unlock | SetVR | None:
        """The control command of a control command frame, None for a data frame.

        Raises :class:`DecodeError` when the control command flag is set but the data
        field is neither Unlock nor Set V(R).
        """
        if not self.control_command_flag:
            return None
        return decode_control_command(self.data_field)

    def __len__(self) -> int:
        return 5 + (self.map_id is not None) + len(self.data_field) + 2 * self.has_fecf

    def encode(self) -> bytes:
        """The frame on the wire; the length field and FECF are computed."""
        w0 = (self.bypass_flag << 13) | (self.control_command_flag << 12) | self.scid
        w1 = (self.vcid << 10) | (len(self) - 1)
        parts = [_HEADER.pack(w0, w1, self.frame_sequence_number)]
        if self.map_id is not None:
            parts.append(bytes(((self.sequence_flags << 6) | self.map_id,)))
        parts.append(self.data_field)
        frame = b"".join(parts)
        if self.has_fecf:
            frame += _U16.pack(crc16_ccitt(frame))
        return frame

    @staticmethod
    def frame_length(buf: BytesLike) -> int:
        """Octets of the frame that starts ``buf``, from its frame length field."""
        need_length(len(buf), 4, "the TC frame length field")
        return (((buf[2] << 8) | buf[3]) & 0x3FF) + 1

    @classmethod
    def decode(cls, buf: BytesLike, params: TcParams, *, verify_fecf: bool = True) -> TcFrame:
        """Decode exactly one frame: ``buf`` must be as long as its frame length field says."""
        buf = as_bytes(buf)
        need_length(len(buf), 5, "a TC primary header")
        w0, w1, fsn = _HEADER.unpack_from(buf)
        if w0 >> 14:
            raise DecodeError(
                "bad TC transfer frame version number", offset=0, expected=0, got=w0 >> 14
            )
        length = (w1 & 0x3FF) + 1
        if length != len(buf):
            raise DecodeError(
                "buffer length differs from the TC frame length field",
                offset=2,
                expected=length,
                got=len(buf),
            )
        end = length
        if params.has_fecf:
            end -= 2
            if verify_fecf and end >= 5 and crc16_ccitt(buf):
                raise FecfError(
                    "TC frame FECF mismatch",
                    offset=end,
                    expected=crc16_ccitt(buf[:end]),
                    got=_U16.unpack_from(buf, end)[0],
                )
        control = bool(w0 & 0x1000)
        start = 5
        map_id = None
        flags = SEQUENCE_FLAGS_UNSEGMENTED
        if params.has_segment_header and not control and end > 5:
            segment_header = buf[5]
            flags = segment_header >> 6
            map_id = segment_header & 0x3F
            start = 6
        if end <= start:
            raise DecodeError(
                "TC frame too short for an empty data field",
                offset=start,
                expected=f">= {length - end + start + 1} octets",
                got=length,
            )
        frame = _new(cls)
        _set_scid(frame, w0 & 0x3FF)
        _set_vcid(frame, w1 >> 10)
        _set_fsn(frame, fsn)
        _set_data(frame, buf[start:end])
        _set_bypass(frame, bool(w0 & 0x2000))
        _set_control(frame, control)
        _set_map(frame, map_id)
        _set_flags(frame, flags)
        _set_has_fecf(frame, params.has_fecf)
        return frame


_new = object.__new__
(
    _set_scid,
    _set_vcid,
    _set_fsn,
    _set_data,
    _set_bypass,
    _set_control,
    _set_map,
    _set_flags,
    _set_has_fecf,
) = slot_setters(TcFrame, TcFrame.__slots__)
