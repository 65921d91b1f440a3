"""TM Transfer Frames (CCSDS 132.0-B-3 section 4.1).

::

    primary header (6)  version 00 | SCID 10 | VCID 3 | OCF flag
                        MC frame count 8 | VC frame count 8
                        sec. header flag | sync flag | packet order flag
                        | segment length id 2 | first header pointer 11
    secondary header    version 00 + length (octets - 1), then 0..63 octets   (optional)
    data field          the rest
    OCF (4)                                                                   (optional)
    FECF (2)            CRC-16-CCITT over everything before it                (optional)

The frame length is fixed per physical channel and comes from :class:`TmParams`.
Decoded frames hold copies (``bytes``), not views into the caller's buffer.

FECF failures raise :class:`FecfError` (a :class:`DecodeError`) with the computed CRC
as ``expected`` and the received FECF as ``got``; ``decode(..., verify_fecf=False)``
skips the check (for callers that checked a whole batch at once, or want the frame
anyway), and ``encode`` always writes a correct FECF.

Reserved semantics are not enforced on receive: with the synchronization flag clear the
book asks for packet order flag 0 and segment length identifier 11, but a frame that
breaks this is still decoded as sent. Left out: the SDLS security header/trailer
(355.0-B-2) and the virtual channel services that fill the data field.
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
from comms.frames.params import TmParams

__all__ = ["FHP_IDLE", "FHP_NO_PACKET_START", "TmFrame"]

#: First header pointer: no packet starts in this frame's data field (132.0-B-3 4.1.2.7.5).
FHP_NO_PACKET_START: Final = 0x7FF
#: First header pointer: the data field holds only idle data (132.0-B-3 4.1.2.7.5).
FHP_IDLE: Final = 0x7FE

_HEADER = struct.Struct(">HBBH")
_FECF = struct.Struct(">H")


class TmFrame(FrameValue):
    """One TM Transfer Frame.

    ``secondary_header`` is the secondary header's data field (0..63 octets) or None;
    ``ocf`` the 4-octet Operational Control Field or None (sets the OCF flag);
    ``has_fecf`` whether ``encode`` appends the FECF. The frame's length is the sum of
    its parts: the virtual channel layer sizes ``data_field`` to fit the channel.
    """

    # Constructor order, not alphabetical: repr, replace and the fast setters rely on it.
    __slots__ = (  # noqa: RUF023
        "scid",
        "vcid",
        "mc_frame_count",
        "vc_frame_count",
        "first_header_pointer",
        "data_field",
        "ocf",
        "secondary_header",
        "sync_flag",
        "packet_order_flag",
        "segment_length_id",
        "has_fecf",
    )

    scid: int
    vcid: int
    mc_frame_count: int
    vc_frame_count: int
    first_header_pointer: int
    data_field: bytes
    ocf: bytes | None
    secondary_header: bytes | None
    sync_flag: bool
    packet_order_flag: bool
    segment_length_id: int
    has_fecf: bool

    def __init__(
        self,
        scid: int,
        vcid: int,
        mc_frame_count: int,
        vc_frame_count: int,
        first_header_pointer: int,
        data_field: BytesLike,
        ocf: BytesLike | None = None,
        secondary_header: BytesLike | None = None,
        sync_flag: bool = False,
        packet_order_flag: bool = False,
        segment_length_id: int = 0b11,
        has_fecf: bool = True,
    ) -> None:
        name = "TmFrame"
        sh = None
        if secondary_header is not None:
            sh = check_bytes(name, "secondary_header", secondary_header)
            if len(sh) > 63:
                raise UsageError(
                    f"TmFrame.secondary_header holds at most 63 octets after its "
                    f"identification octet (132.0-B-3 4.1.3), got {len(sh)}."
                )
        data = check_bytes(name, "data_field", data_field)
        if not data:
            raise UsageError("TmFrame.data_field must not be empty; fill it with idle data.")
        init_fields(
            self,
            {
                "scid": check_int(name, "scid", scid, 10),
                "vcid": check_int(name, "vcid", vcid, 3),
                "mc_frame_count": check_int(name, "mc_frame_count", mc_frame_count, 8),
                "vc_frame_count": check_int(name, "vc_frame_count", vc_frame_count, 8),
                "first_header_pointer": check_int(
                    name, "first_header_pointer", first_header_pointer, 11
                ),
                "data_field": data,
                "ocf": check_ocf(name, ocf),
                "secondary_header": sh,
                "sync_flag": check_flag(name, "sync_flag", sync_flag),
                "packet_order_flag": check_flag(name, "packet_order_flag", packet_order_flag),
                "segment_length_id": check_int(name, "segment_length_id", segment_length_id, 2),
                "has_fecf": check_flag(name, "has_fecf", has_fecf),
            },
        )
        if len(self) > 2048:
            raise UsageError(
                f"A TM frame is at most 2048 octets (132.0-B-3 4.1.1), this one would be "
                f"{len(self)}; shorten data_field."
            )

    def __len__(self) -> int:
        """Octets of the encoded frame."""
        n = 6 + len(self.data_field)
        if self.secondary_header is not None:
            n += 1 + len(self.secondary_header)
        if self.ocf is not None:
            n += 4
        return n + 2 * self.has_fecf

    @property
    def is_idle(self) -> bool:
        """The data field holds only idle data (first header pointer 0x7FE)."""
        return self.first_header_pointer == FHP_IDLE

    def encode(self) -> bytes:
        """The frame on the wire, FECF computed when ``has_fecf``."""
        ocf = self.ocf
        sh = self.secondary_header
        w0 = (self.scid << 4) | (self.vcid << 1) | (ocf is not None)
        w2 = (
            ((sh is not None) << 15)
            | (self.sync_flag << 14)
            | (self.packet_order_flag << 13)
            | (self.segment_length_id << 11)
            | self.first_header_pointer
        )
        parts = [_HEADER.pack(w0, self.mc_frame_count, self.vc_frame_count, w2)]
        if sh is not None:
            parts.append(bytes((len(sh),)))
            parts.append(sh)
        parts.append(self.data_field)
        if ocf is not None:
            parts.append(ocf)
        frame = b"".join(parts)
        if self.has_fecf:
            frame += _FECF.pack(crc16_ccitt(frame))
        return frame

    @classmethod
    def decode(cls, buf: BytesLike, params: TmParams, *, verify_fecf: bool = True) -> TmFrame:
        """Decode one frame of exactly ``params.frame_length`` octets.

        Raises :class:`DecodeError` for a wrong length or version, flags that disagree
        with ``params``, and :class:`FecfError` for a FECF mismatch (unless
        ``verify_fecf`` is False).
        """
        buf = as_bytes(buf)
        length = params.frame_length
        if len(buf) != length:
            raise DecodeError(
                "TM frame length differs from the managed frame length",
                offset=0,
                expected=length,
                got=len(buf),
            )
        w0, mc_count, vc_count, w2 = _HEADER.unpack_from(buf)
        if w0 >> 14:
            raise DecodeError(
                "bad TM transfer frame version number", offset=0, expected=0, got=w0 >> 14
            )
        end = length
        has_fecf = params.has_fecf
        if has_fecf:
            end -= 2
            # The CRC over a frame and its correct FECF is zero: one C call, no slice.
            if verify_fecf and crc16_ccitt(buf):
                raise FecfError(
                    "TM frame FECF mismatch",
                    offset=end,
                    expected=crc16_ccitt(buf[:end]),
                    got=_FECF.unpack_from(buf, end)[0],
                )
        ocf_flag = w0 & 1
        has_ocf = params.has_ocf
        if has_ocf is not None and has_ocf != ocf_flag:
            raise DecodeError(
                "TM OCF flag disagrees with the managed parameters",
                offset=1,
                expected=int(has_ocf),
                got=ocf_flag,
            )
        ocf = None
        if ocf_flag:
            end -= 4
            ocf = buf[end : end + 4]
        start = params._data_start
        sh_length = params.secondary_header_length
        secondary_header = None
        if w2 >> 15:
            if sh_length is None:
                raise DecodeError(
                    "TM secondary header flag set on a channel without secondary header",
                    offset=4,
                    expected=0,
                    got=1,
                )
            sh_id = buf[6]
            if sh_id >> 6:
                raise DecodeError(
                    "bad TM secondary header version number", offset=6, expected=0, got=sh_id >> 6
                )
            if sh_id & 0x3F != sh_length:
                raise DecodeError(
                    "TM secondary header length differs from the managed length",
                    offset=6,
                    expected=sh_length,
                    got=sh_id & 0x3F,
                )
            secondary_header = buf[7:start]
        elif sh_length is not None:
            raise DecodeError(
                "TM secondary header flag clear on a channel with a secondary header",
                offset=4,
                expected=1,
                got=0,
            )
        if end <= start:
            raise DecodeError(
                "TM frame too short for its OCF and an empty data field",
                offset=start,
                expected=f"frame length > {length - end + start}",
                got=length,
            )
        frame = _new(cls)
        _set_scid(frame, (w0 >> 4) & 0x3FF)
        _set_vcid(frame, (w0 >> 1) & 0x7)
        _set_mc(frame, mc_count)
        _set_vc(frame, vc_count)
        _set_fhp(frame, w2 & 0x7FF)
        _set_data(frame, buf[start:end])
        _set_ocf(frame, ocf)
        _set_sh(frame, secondary_header)
        _set_sync(frame, bool(w2 & 0x4000))
        _set_pof(frame, bool(w2 & 0x2000))
        _set_slid(frame, (w2 >> 11) & 0x3)
        _set_has_fecf(frame, has_fecf)
        return frame


_new = object.__new__
(
    _set_scid,
    _set_vcid,
    _set_mc,
    _set_vc,
    _set_fhp,
    _set_data,
    _set_ocf,
    _set_sh,
    _set_sync,
    _set_pof,
    _set_slid,
    _set_has_fecf,
) = slot_setters(TmFrame, TmFrame.__slots__)
