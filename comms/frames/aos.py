"""AOS Transfer Frames (CCSDS 732.0-B-4 section 4.1).

::

    primary header (6)  version 01 | SCID 8 | VCID 6
                        VC frame count 24
                        signaling: replay flag | VC frame count usage flag | spare 2
                                   | VC frame count cycle 4
    FHEC (2)            RS(10,6) over GF(16) on the first 2 octets + signaling (optional)
    insert zone         fixed length per physical channel                      (optional)
    data field          M_PDU:   spare 5 | first header pointer 11 | packet zone
                        B_PDU:   spare 2 | bitstream data pointer 14 | bitstream data
                        VCA_SDU: the data as delivered
    OCF (4)                                                                    (optional)
    FECF (2)            CRC-16-CCITT over everything before it                 (optional)

Everything optional is a managed parameter (:class:`AosParams`): the AOS header has no
flags for it. The data unit is per virtual channel; VCID 63 carries idle data and is
always read raw.

On receive, the FECF is checked first (it covers the whole frame, FHEC included; a
mismatch raises :class:`FecfError`, or skip it with ``verify_fecf=False``), then the
FHEC corrects up to two wrong 4-bit symbols of the routing fields; an uncorrectable
header raises :class:`DecodeError`. Spare bits are written as zeros and ignored on
receive. Left out: SDLS, and the VC services that build M_PDUs and B_PDUs.
"""

from __future__ import annotations

import struct
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
    check_ocf,
    init_fields,
    slot_setters,
)
from comms.frames.fhec import fhec_correct, fhec_encode
from comms.frames.params import AosDataUnit, AosParams

__all__ = ["AOS_IDLE_VCID", "BDP_ALL_VALID", "BDP_IDLE", "AosFrame"]

#: VCID reserved for idle frames (732.0-B-4 4.1.2.3.2).
AOS_IDLE_VCID: Final = 63
#: Bitstream data pointer: the whole bitstream data zone is valid (732.0-B-4 4.1.4.3.3).
BDP_ALL_VALID: Final = 0x3FFF
#: Bitstream data pointer: the bitstream data zone holds only idle data.
BDP_IDLE: Final = 0x3FFE

_HEADER = struct.Struct(">HHBB")
_U16 = struct.Struct(">H")


class AosFrame(FrameValue):
    """One AOS Transfer Frame.

    The data unit follows from the pointers: ``first_header_pointer`` set makes the data
    field an M_PDU (``data_field`` is its packet zone), ``bitstream_data_pointer`` set a
    B_PDU (``data_field`` is its bitstream data zone), neither a VCA_SDU or idle data.
    ``insert_zone`` is b"" when the channel has none; ``has_fhec``/``has_fecf`` say
    whether ``encode`` writes those fields.
    """

    # Constructor order, not alphabetical: repr, replace and the fast setters rely on it.
    __slots__ = (  # noqa: RUF023
        "scid",
        "vcid",
        "vc_frame_count",
        "data_field",
        "first_header_pointer",
        "bitstream_data_pointer",
        "replay_flag",
        "vc_frame_count_usage_flag",
        "vc_frame_count_cycle",
        "insert_zone",
        "ocf",
        "has_fhec",
        "has_fecf",
    )

    scid: int
    vcid: int
    vc_frame_count: int
    data_field: bytes
    first_header_pointer: int | None
    bitstream_data_pointer: int | None
    replay_flag: bool
    vc_frame_count_usage_flag: bool
    vc_frame_count_cycle: int
    insert_zone: bytes
    ocf: bytes | None
    has_fhec: bool
    has_fecf: bool

    def __init__(
        self,
        scid: int,
        vcid: int,
        vc_frame_count: int,
        data_field: BytesLike,
        first_header_pointer: int | None = None,
        bitstream_data_pointer: int | None = None,
        replay_flag: bool = False,
        vc_frame_count_usage_flag: bool = False,
        vc_frame_count_cycle: int = 0,
        insert_zone: BytesLike = b"",
        ocf: BytesLike | None = None,
        has_fhec: bool = False,
        has_fecf: bool = True,
    ) -> None:
        name = "AosFrame"
        if first_header_pointer is not None and bitstream_data_pointer is not None:
            raise UsageError(
                "An AOS frame carries an M_PDU (first_header_pointer) or a B_PDU "
                "(bitstream_data_pointer), not both; pass only one."
            )
        fhp = bdp = None
        if first_header_pointer is not None:
            fhp = check_int(name, "first_header_pointer", first_header_pointer, 11)
        if bitstream_data_pointer is not None:
            bdp = check_int(name, "bitstream_data_pointer", bitstream_data_pointer, 14)
        data = check_bytes(name, "data_field", data_field)
        if not data:
            raise UsageError("AosFrame.data_field must not be empty; fill it with idle data.")
        init_fields(
            self,
            {
                "scid": check_int(name, "scid", scid, 8),
                "vcid": check_int(name, "vcid", vcid, 6),
                "vc_frame_count": check_int(name, "vc_frame_count", vc_frame_count, 24),
                "data_field": data,
                "first_header_pointer": fhp,
                "bitstream_data_pointer": bdp,
                "replay_flag": check_flag(name, "replay_flag", replay_flag),
                "vc_frame_count_usage_flag": check_flag(
                    name, "vc_frame_count_usage_flag", vc_frame_count_usage_flag
                ),
                "vc_frame_count_cycle": check_int(
                    name, "vc_frame_count_cycle", vc_frame_count_cycle, 4
                ),
                "insert_zone": check_bytes(name, "insert_zone", insert_zone),
                "ocf": check_ocf(name, ocf),
                "has_fhec": check_flag(name, "has_fhec", has_fhec),
                "has_fecf": check_flag(name, "has_fecf", has_fecf),
            },
        )

    @property
    def data_unit(self) -> AosDataUnit:
        """M_PDU, B_PDU or VCA_SDU, as the pointers say."""
        if self.first_header_pointer is not None:
            return AosDataUnit.M_PDU
        if self.bitstream_data_pointer is not None:
            return AosDataUnit.B_PDU
        return AosDataUnit.VCA_SDU

    @property
    def is_idle(self) -> bool:
        """An idle frame (VCID 63)."""
        return self.vcid == AOS_IDLE_VCID

    def __len__(self) -> int:
        n = 6 + 2 * self.has_fhec + len(self.insert_zone) + len(self.data_field)
        if self.first_header_pointer is not None or self.bitstream_data_pointer is not None:
            n += 2
        if self.ocf is not None:
            n += 4
        return n + 2 * self.has_fecf

    def encode(self) -> bytes:
        """The frame on the wire, FHEC and FECF computed when present."""
        w0 = (1 << 14) | (self.scid << 6) | self.vcid
        signaling = (
            (self.replay_flag << 7)
            | (self.vc_frame_count_usage_flag << 6)
            | self.vc_frame_count_cycle
        )
        count = self.vc_frame_count
        parts = [_HEADER.pack(w0, count >> 8, count & 0xFF, signaling)]
        if self.has_fhec:
            parts.append(_U16.pack(fhec_encode((w0 << 8) | signaling)))
        parts.append(self.insert_zone)
        if self.first_header_pointer is not None:
            parts.append(_U16.pack(self.first_header_pointer))
        elif self.bitstream_data_pointer is not None:
            parts.append(_U16.pack(self.bitstream_data_pointer))
        parts.append(self.data_field)
        if self.ocf is not None:
            parts.append(self.ocf)
        frame = b"".join(parts)
        if self.has_fecf:
            frame += _U16.pack(crc16_ccitt(frame))
        return frame

    @classmethod
    def decode(cls, buf: BytesLike, params: AosParams, *, verify_fecf: bool = True) -> AosFrame:
        """Decode one frame of exactly ``params.frame_length`` octets.

        A header with one or two wrong FHEC symbols is corrected silently (the frame
        holds the corrected fields); more raise :class:`DecodeError` at offset 6.
        """
        buf = as_bytes(buf)
        length = params.frame_length
        if len(buf) != length:
            raise DecodeError(
                "AOS frame length differs from the managed frame length",
                offset=0,
                expected=length,
                got=len(buf),
            )
        w0, count_high, count_low, signaling = _HEADER.unpack_from(buf)
        end = length
        if params.has_fecf:
            end -= 2
            if verify_fecf and crc16_ccitt(buf):
                raise FecfError(
                    "AOS frame FECF mismatch",
                    offset=end,
                    expected=crc16_ccitt(buf[:end]),
                    got=_U16.unpack_from(buf, end)[0],
                )
        pos = 6
        if params.has_fhec:
            corrected = fhec_correct((w0 << 8) | signaling, _U16.unpack_from(buf, 6)[0])
            if corrected is None:
                raise DecodeError(
                    "AOS frame header error control found an uncorrectable header", offset=6
                )
            w0 = corrected[0] >> 8
            signaling = corrected[0] & 0xFF
            pos = 8
        if w0 >> 14 != 1:
            raise DecodeError(
                "bad AOS transfer frame version number", offset=0, expected=1, got=w0 >> 14
            )
        iz_end = pos + params.insert_zone_length
        insert_zone = buf[pos:iz_end]
        ocf = None
        if params.has_ocf:
            end -= 4
            ocf = buf[end : end + 4]
        vcid = w0 & 0x3F
        unit = params._data_units[vcid]
        fhp = bdp = None
        if unit is not AosDataUnit.VCA_SDU and end < iz_end + 3:
            raise DecodeError(
                f"AOS data field too short for an {unit.value} header and data",
                offset=iz_end,
                expected=">= 3 octets",
                got=end - iz_end,
            )
        if unit is AosDataUnit.M_PDU:
            fhp = _U16.unpack_from(buf, iz_end)[0] & 0x7FF
            iz_end += 2
        elif unit is AosDataUnit.B_PDU:
            bdp = _U16.unpack_from(buf, iz_end)[0] & 0x3FFF
            iz_end += 2
        frame = _new(cls)
        _set_scid(frame, (w0 >> 6) & 0xFF)
        _set_vcid(frame, vcid)
        _set_count(frame, (count_high << 8) | count_low)
        _set_data(frame, buf[iz_end:end])
        _set_fhp(frame, fhp)
        _set_bdp(frame, bdp)
        _set_replay(frame, bool(signaling & 0x80))
        _set_usage(frame, bool(signaling & 0x40))
        _set_cycle(frame, signaling & 0x0F)
        _set_iz(frame, insert_zone)
        _set_ocf(frame, ocf)
        _set_has_fhec(frame, params.has_fhec)
        _set_has_fecf(frame, params.has_fecf)
        return frame


_new = object.__new__
(
    _set_scid,
    _set_vcid,
    _set_count,
    _set_data,
    _set_fhp,
    _set_bdp,
    _set_replay,
    _set_usage,
    _set_cycle,
    _set_iz,
    _set_ocf,
    _set_has_fhec,
    _set_has_fecf,
) = slot_setters(AosFrame, AosFrame.__slots__)
