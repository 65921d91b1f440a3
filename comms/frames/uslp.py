"""USLP Transfer Frames (CCSDS 732.1-B-2 section 4.1).

::

    primary header (7..14)  version 1100 | SCID 16 | source-or-destination id | VCID 6
                            | MAP id 4 | end of frame primary header flag (0)
                            | frame length 16 (octets - 1) | bypass/sequence control flag
                            | protocol control command flag | spare 2 | OCF flag
                            | VC frame count length 3 | VC frame count 0..7 octets
    insert zone             fixed length per physical channel              (optional)
    TFDF header (1 or 3)    TFDZ construction rule 3 | UPID 5
                            | first header pointer / last valid octet pointer 16
                              (only for construction rules 000, 001 and 010)
    TFDZ                    the data zone
    OCF (4)                                                                 (optional)
    FECF (2 or 4)           CRC-16-CCITT, or the 32-bit CRC (polynomial 0x00A00805,
                            initial value 0, as Proximity-1 211.2-B)         (optional)

A *truncated* frame (end of frame primary header flag 1) has only the first 4 header
octets; its length is the managed ``truncated_frame_length``. We read it as insert
zone (if any), a TFDF whose header is always the single octet (no pointer), and the
FECF the channel is configured with; it has no OCF. spacepackets reads truncated frames
the same way; check the annex of 732.1-B-2 before relying on it for flight.

Frame length: fixed-length channels give ``frame_length`` in :class:`UslpParams` and
the header must agree; variable-length frames take the header's value. Either way
``decode`` wants exactly one frame. FECF failures raise :class:`FecfError` unless
``verify_fecf=False``. Spare bits are written as zeros and ignored on receive.
Left out: SDLS, MAP multiplexing and the COP/VC services above the frame.
"""

from __future__ import annotations

import enum
import struct
from typing import Final

import crcmod

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
    check_ocf,
    init_fields,
    need_length,
    slot_setters,
)
from comms.frames.params import USLP_MAX_FRAME_LENGTH, UslpParams

__all__ = [
    "UPID_IDLE",
    "UPID_SPACE_PACKETS",
    "TfdzConstructionRule",
    "UslpFrame",
    "crc32_uslp",
]

USLP_VERSION: Final = 0b1100
#: UPID: Space Packets or Encapsulation Packets (SANA USLP protocol id registry).
UPID_SPACE_PACKETS: Final = 0
#: UPID: idle data only.
UPID_IDLE: Final = 0x1F

_U16 = struct.Struct(">H")
_U32 = struct.Struct(">I")
_HEADER_TAIL = struct.Struct(">HB")

# 732.1-B-2 4.1.6.3: 32-bit FECF with G(x) = x^32+x^23+x^21+x^11+x^2+1 (0x00A00805),
# not reflected, initial value 0, no final xor -- the Proximity-1 CRC-32, as Yamcs
# implements it for USLP (ProximityCrc32). crcmod gives it at C speed.
_crc32_uslp = crcmod.mkCrcFun(0x100A00805, initCrc=0, rev=False, xorOut=0)


def crc32_uslp(data: BytesLike) -> int:
    """The 32-bit USLP FECF of ``data``."""
    result: int = _crc32_uslp(data)
    return result


class TfdzConstructionRule(enum.IntEnum):
    """How the TFDZ is built (732.1-B-2 4.1.4.2.2, Table 4-3)."""

    #: Fixed-length TFDZ: packets spanning frames; the pointer is the first header pointer.
    PACKETS_SPANNING_FRAMES = 0b000
    #: Fixed-length TFDZ: start of a MAPA_SDU; the pointer is the last valid octet pointer.
    MAPA_SDU_START = 0b001
    #: Fixed-length TFDZ: continuing portion of a MAPA_SDU (last valid octet pointer).
    MAPA_SDU_CONTINUATION = 0b010
    #: Variable-length TFDZ: an octet stream.
    OCTET_STREAM = 0b011
    #: Variable-length TFDZ: starting segment of a segmented SDU.
    STARTING_SEGMENT = 0b100
    #: Variable-length TFDZ: continuing segment.
    CONTINUING_SEGMENT = 0b101
    #: Variable-length TFDZ: last segment.
    LAST_SEGMENT = 0b110
    #: Variable-length TFDZ: one complete SDU, no segmentation.
    NO_SEGMENTATION = 0b111

    @property
    def has_pointer(self) -> bool:
        """Whether the TFDF header carries the 16-bit FHP/LVOP (rules 000, 001, 010)."""
        return self <= 0b010


_RULES = tuple(TfdzConstructionRule(i) for i in range(8))


class UslpFrame(FrameValue):
    """One USLP Transfer Frame.

    ``pointer`` is the TFDF's first header pointer (rule 000) or last valid octet
    pointer (rules 001, 010); it must be given exactly when the construction rule has
    one and the frame is not truncated. ``vcf_count_length`` is in octets (0..7).
    A ``truncated`` frame carries no frame length, flags, VC frame count or OCF.
    ``fecf_length`` (0, 2 or 4) says which FECF ``encode`` appends.
    """

    # Constructor order, not alphabetical: repr, replace and the fast setters rely on it.
    __slots__ = (  # noqa: RUF023
        "scid",
        "vcid",
        "map_id",
        "construction_rule",
        "upid",
        "data_zone",
        "pointer",
        "source_or_destination_id",
        "bypass_flag",
        "protocol_control_command_flag",
        "vcf_count_length",
        "vcf_count",
        "insert_zone",
        "ocf",
        "fecf_length",
        "truncated",
    )

    scid: int
    vcid: int
    map_id: int
    construction_rule: TfdzConstructionRule
    upid: int
    data_zone: bytes
    pointer: int | None
    source_or_destination_id: int
    bypass_flag: bool
    protocol_control_command_flag: bool
    vcf_count_length: int
    vcf_count: int
    insert_zone: bytes
    ocf: bytes | None
    fecf_length: int
    truncated: bool

    def __init__(
        self,
        scid: int,
        vcid: int,
        map_id: int,
        construction_rule: int,
        upid: int,
        data_zone: BytesLike,
        pointer: int | None = None,
        source_or_destination_id: int = 0,
        bypass_flag: bool = False,
        protocol_control_command_flag: bool = False,
        vcf_count_length: int = 0,
        vcf_count: int = 0,
        insert_zone: BytesLike = b"",
        ocf: BytesLike | None = None,
        fecf_length: int = 2,
        truncated: bool = False,
    ) -> None:
        name = "UslpFrame"
        rule = _RULES[check_int(name, "construction_rule", construction_rule, 3)]
        truncated = check_flag(name, "truncated", truncated)
        if rule.has_pointer and not truncated:
            if pointer is None:
                raise UsageError(
                    f"Construction rule {rule.name} needs a pointer (first header pointer "
                    "or last valid octet pointer, 0xFFFF for none)."
                )
            check_int(name, "pointer", pointer, 16)
        elif pointer is not None:
            raise UsageError(
                f"Construction rule {rule.name} in a "
                f"{'truncated' if truncated else 'variable-length TFDZ'} frame has no "
                "pointer; pass pointer=None."
            )
        check_int(name, "vcf_count_length", vcf_count_length, 3)
        check_int(name, "vcf_count", vcf_count, 8 * vcf_count_length)
        if fecf_length not in (0, 2, 4) or isinstance(fecf_length, bool):
            raise UsageError(f"UslpFrame.fecf_length must be 0, 2 or 4, got {fecf_length!r}.")
        checked_ocf = check_ocf(name, ocf)
        bypass_flag = check_flag(name, "bypass_flag", bypass_flag)
        pcc = check_flag(name, "protocol_control_command_flag", protocol_control_command_flag)
        if truncated and (checked_ocf is not None or vcf_count_length or bypass_flag or pcc):
            raise UsageError(
                "A truncated USLP frame has no OCF, VC frame count, bypass or protocol "
                "control command flag; leave them at their defaults."
            )
        init_fields(
            self,
            {
                "scid": check_int(name, "scid", scid, 16),
                "vcid": check_int(name, "vcid", vcid, 6),
                "map_id": check_int(name, "map_id", map_id, 4),
                "construction_rule": rule,
                "upid": check_int(name, "upid", upid, 5),
                "data_zone": check_bytes(name, "data_zone", data_zone),
                "pointer": pointer,
                "source_or_destination_id": check_int(
                    name, "source_or_destination_id", source_or_destination_id, 1
                ),
                "bypass_flag": bypass_flag,
                "protocol_control_command_flag": pcc,
                "vcf_count_length": vcf_count_length,
                "vcf_count": vcf_count,
                "insert_zone": check_bytes(name, "insert_zone", insert_zone),
                "ocf": checked_ocf,
                "fecf_length": fecf_length,
                "truncated": truncated,
            },
        )
        if len(self) > USLP_MAX_FRAME_LENGTH:
            raise UsageError(
                f"A USLP frame is at most {USLP_MAX_FRAME_LENGTH} octets (16-bit length "
                f"field), this one would be {len(self)}; shorten data_zone."
            )

    def __len__(self) -> int:
        n = 4 if self.truncated else 7 + self.vcf_count_length
        n += len(self.insert_zone) + 1 + len(self.data_zone) + self.fecf_length
        if self.pointer is not None:
            n += 2
        if self.ocf is not None:
            n += 4
        return n

    def encode(self) -> bytes:
        """The frame on the wire; frame length and FECF computed."""
        w0 = (
            (USLP_VERSION << 28)
            | (self.scid << 12)
            | (self.source_or_destination_id << 11)
            | (self.vcid << 5)
            | (self.map_id << 1)
            | self.truncated
        )
        parts = [_U32.pack(w0)]
        if not self.truncated:
            flags = (
                (self.bypass_flag << 7)
                | (self.protocol_control_command_flag << 6)
                | ((self.ocf is not None) << 3)
                | self.vcf_count_length
            )
            parts.append(_HEADER_TAIL.pack(len(self) - 1, flags))
            parts.append(self.vcf_count.to_bytes(self.vcf_count_length, "big"))
        parts.append(self.insert_zone)
        parts.append(bytes(((self.construction_rule << 5) | self.upid,)))
        if self.pointer is not None:
            parts.append(_U16.pack(self.pointer))
        parts.append(self.data_zone)
        if self.ocf is not None:
            parts.append(self.ocf)
        frame = b"".join(parts)
        if self.fecf_length == 2:
            frame += _U16.pack(crc16_ccitt(frame))
        elif self.fecf_length == 4:
            frame += _U32.pack(_crc32_uslp(frame))
        return frame

    @staticmethod
    def frame_length(buf: BytesLike, params: UslpParams) -> int:
        """Octets of the frame that starts ``buf`` (header field, or the truncated length)."""
        need_length(len(buf), 4, "a USLP primary header")
        if buf[3] & 1:
            if params.truncated_frame_length is None:
                raise DecodeError(
                    "truncated USLP frame on a channel without truncated frames",
                    offset=3,
                    expected=0,
                    got=1,
                )
            return params.truncated_frame_length
        need_length(len(buf), 6, "the USLP frame length field")
        return ((buf[4] << 8) | buf[5]) + 1

    @classmethod
    def decode(cls, buf: BytesLike, params: UslpParams, *, verify_fecf: bool = True) -> UslpFrame:
        """Decode exactly one frame (fixed or variable length, or truncated)."""
        buf = as_bytes(buf)
        n = len(buf)
        need_length(n, 4, "a USLP primary header")
        (w0,) = _U32.unpack_from(buf)
        if w0 >> 28 != USLP_VERSION:
            raise DecodeError(
                "bad USLP transfer frame version number",
                offset=0,
                expected=USLP_VERSION,
                got=w0 >> 28,
            )
        truncated = bool(w0 & 1)
        length = cls.frame_length(buf, params)
        if length != n:
            raise DecodeError(
                "buffer length differs from the USLP frame length",
                offset=3 if truncated else 4,
                expected=length,
                got=n,
            )
        bypass = pcc = False
        ocf_flag = vcf_length = vcf_count = 0
        if truncated:
            pos = 4
        else:
            need_length(n, 7, "a USLP primary header")
            fixed = params.frame_length
            if fixed is not None and n != fixed:
                raise DecodeError(
                    "USLP frame length differs from the managed frame length",
                    offset=4,
                    expected=fixed,
                    got=n,
                )
            flags = buf[6]
            bypass = bool(flags & 0x80)
            pcc = bool(flags & 0x40)
            ocf_flag = (flags >> 3) & 1
            vcf_length = flags & 0x7
            if params.has_ocf is not None and params.has_ocf != ocf_flag:
                raise DecodeError(
                    "USLP OCF flag disagrees with the managed parameters",
                    offset=6,
                    expected=int(params.has_ocf),
                    got=ocf_flag,
                )
            if params.vcf_count_length is not None and params.vcf_count_length != vcf_length:
                raise DecodeError(
                    "USLP VC frame count length differs from the managed length",
                    offset=6,
                    expected=params.vcf_count_length,
                    got=vcf_length,
                )
            pos = 7 + vcf_length
            need_length(n, pos, "the USLP VC frame count")
            vcf_count = int.from_bytes(buf[7:pos], "big")
        fecf_length = params.fecf_length
        tfdf_start = pos + params.insert_zone_length
        end = n - fecf_length - 4 * ocf_flag
        if end < tfdf_start + 1:
            raise DecodeError(
                "USLP frame too short for its fields and a TFDF header",
                offset=tfdf_start,
                expected=f">= {n - end + tfdf_start + 1} octets",
                got=n,
            )
        if verify_fecf and fecf_length:
            body_end = n - fecf_length
            if fecf_length == 2:
                # Over a frame and its correct FECF the CRC is zero: one call, no slice.
                if crc16_ccitt(buf):
                    raise FecfError(
                        "USLP frame FECF mismatch",
                        offset=body_end,
                        expected=crc16_ccitt(buf[:body_end]),
                        got=_U16.unpack_from(buf, body_end)[0],
                    )
            else:
                computed = _crc32_uslp(buf[:body_end])
                received = _U32.unpack_from(buf, body_end)[0]
                if computed != received:
                    raise FecfError(
                        "USLP frame FECF mismatch", offset=body_end, expected=computed, got=received
                    )
        tfdf_header = buf[tfdf_start]
        rule = _RULES[tfdf_header >> 5]
        zone_start = tfdf_start + 1
        pointer = None
        if rule <= 0b010 and not truncated:
            if end < zone_start + 2:
                raise DecodeError(
                    "USLP TFDF too short for its first header / last valid octet pointer",
                    offset=zone_start,
                    expected="2 octets",
                    got=end - zone_start,
                )
            pointer = _U16.unpack_from(buf, zone_start)[0]
            zone_start += 2
        frame = _new(cls)
        _set_scid(frame, (w0 >> 12) & 0xFFFF)
        _set_vcid(frame, (w0 >> 5) & 0x3F)
        _set_map(frame, (w0 >> 1) & 0xF)
        _set_rule(frame, rule)
        _set_upid(frame, tfdf_header & 0x1F)
        _set_zone(frame, buf[zone_start:end])
        _set_pointer(frame, pointer)
        _set_sod(frame, (w0 >> 11) & 1)
        _set_bypass(frame, bypass)
        _set_pcc(frame, pcc)
        _set_vcf_length(frame, vcf_length)
        _set_vcf_count(frame, vcf_count)
        _set_iz(frame, buf[pos : pos + params.insert_zone_length])
        _set_ocf(frame, buf[end : end + 4] if ocf_flag else None)
        _set_fecf_length(frame, fecf_length)
        _set_truncated(frame, truncated)
        return frame


_new = object.__new__
(
    _set_scid,
    _set_vcid,
    _set_map,
    _set_rule,
    _set_upid,
    _set_zone,
    _set_pointer,
    _set_sod,
    _set_bypass,
    _set_pcc,
    _set_vcf_length,
    _set_vcf_count,
    _set_iz,
    _set_ocf,
    _set_fecf_length,
    _set_truncated,
) = slot_setters(UslpFrame, UslpFrame.__slots__)
