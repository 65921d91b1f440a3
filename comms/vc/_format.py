"""Frame builders for the send side: one per virtual channel, headers precomputed.

The senders hand a builder the fields that change from frame to frame (VC frame count,
master channel frame count, first header pointer, packet zone, OCF) and get the encoded
frame back. Everything else is fixed per virtual channel, so it is packed once here; the
per-frame work is one ``struct`` pack, one join and one CRC call, with no frame object
and no per-field validation (the senders only ever pass in-range values).
"""

from __future__ import annotations

import struct
from typing import Final

from comms.crc import crc16_ccitt
from comms.errors import UsageError
from comms.frames.aos import AOS_IDLE_VCID
from comms.frames.fhec import fhec_encode
from comms.frames.params import AosDataUnit, AosParams, TmParams, UslpParams
from comms.frames.tm import FHP_IDLE, FHP_NO_PACKET_START
from comms.frames.uslp import UPID_IDLE, UPID_SPACE_PACKETS, USLP_VERSION, crc32_uslp

__all__ = ["FrameBuilder", "make_builder"]

Params = TmParams | AosParams | UslpParams

_TM_HEADER: Final = struct.Struct(">HBBH")
_U16: Final = struct.Struct(">H")
_U32: Final = struct.Struct(">I")
#: USLP first header pointer when no packet starts in the TFDZ (732.1-B-2 4.1.4.2.4.4).
USLP_NO_PACKET_START: Final = 0xFFFF


def _check(name: str, value: object, bits: int) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value < 1 << bits:
        raise UsageError(f"{name} must be an int in 0..{(1 << bits) - 1}, got {value!r}.")
    return value


def _fixed_bytes(name: str, value: bytes | None, length: int) -> bytes:
    if value is None:
        return bytes(length)
    if not isinstance(value, bytes | bytearray | memoryview) or len(value) != length:
        raise UsageError(f"{name} must be {length} octets (the managed length), got {value!r}.")
    return bytes(value)


class FrameBuilder:
    """Encodes the frames of one virtual channel (and its idle frames)."""

    #: Octets of the packet zone of one frame.
    data_length: int
    #: First header pointer meaning "no packet starts here".
    no_packet_start: int
    #: VC frame counts wrap at this value.
    vc_count_modulus: int
    #: Whether frames carry a master channel frame count (TM only).
    has_mc_count: bool
    #: Whether frames carry the 4-octet OCF.
    has_ocf: bool
    #: Counter range of the idle frames' virtual channel (same VC for TM).
    idle_vcid: int

    def encode(self, vc_count: int, mc_count: int, fhp: int, data: bytes, ocf: bytes) -> bytes:
        raise NotImplementedError

    def idle_frame(self, vc_count: int, mc_count: int, ocf: bytes) -> bytes:
        raise NotImplementedError


class _TmBuilder(FrameBuilder):
    def __init__(
        self, params: TmParams, scid: int, vcid: int, secondary_header: bytes | None
    ) -> None:
        self.has_ocf = bool(params.has_ocf)
        self.has_fecf = params.has_fecf
        sh_length = params.secondary_header_length
        if sh_length is None:
            if secondary_header is not None:
                raise UsageError(
                    "secondary_header given for a channel without one; set "
                    "TmParams.secondary_header_length or pass secondary_header=None."
                )
            self._sh = b""
        else:
            # The identification octet (version 00, length field as TmParams reads it).
            self._sh = bytes((sh_length,)) + _fixed_bytes(
                "secondary_header", secondary_header, sh_length
            )
        start = 6 + len(self._sh)
        self.data_length = params.frame_length - start - 4 * self.has_ocf - 2 * self.has_fecf
        self.no_packet_start = FHP_NO_PACKET_START
        self.vc_count_modulus = 256
        self.has_mc_count = True
        self.idle_vcid = vcid
        self._w0 = (_check("scid", scid, 10) << 4) | (_check("vcid", vcid, 3) << 1) | self.has_ocf
        # Secondary header flag, sync flag 0, packet order 0, segment length id 11
        # (132.0-B-3 4.1.2.7.4: '11' when the sync flag is 0).
        self._w2 = ((sh_length is not None) << 15) | (0b11 << 11)
        self._idle_data = bytes(self.data_length)

    def encode(self, vc_count: int, mc_count: int, fhp: int, data: bytes, ocf: bytes) -> bytes:
        frame = b"".join(
            (_TM_HEADER.pack(self._w0, mc_count, vc_count, self._w2 | fhp), self._sh, data, ocf)
        )
        if self.has_fecf:
            return frame + _U16.pack(crc16_ccitt(frame))
        return frame

    def idle_frame(self, vc_count: int, mc_count: int, ocf: bytes) -> bytes:
        return self.encode(vc_count, mc_count, FHP_IDLE, self._idle_data, ocf)


class _AosBuilder(FrameBuilder):
    def __init__(
        self, params: AosParams, scid: int, vcid: int, insert_zone: bytes | None, idle: bool
    ) -> None:
        _check("scid", scid, 8)
        _check("vcid", vcid, 6)
        if not idle and params.data_unit_of(vcid) is not AosDataUnit.M_PDU:
            raise UsageError(
                f"AOS virtual channel {vcid} carries {params.data_unit_of(vcid).value}, not an "
                "M_PDU; the packet service needs AosParams.data_unit M_PDU for it."
            )
        self.has_ocf = params.has_ocf
        self.has_fecf = params.has_fecf
        self._iz = _fixed_bytes("insert_zone", insert_zone, params.insert_zone_length)
        w0 = (1 << 14) | (scid << 6) | vcid
        # Signaling field: replay 0, VC frame count usage 0, cycle 0. The FHEC covers
        # the first two octets and the signaling field, not the count: fixed per VC.
        self._w0 = _U16.pack(w0)
        tail = b"\x00"
        if params.has_fhec:
            tail += _U16.pack(fhec_encode(w0 << 8))
        self._tail = tail + self._iz
        fixed = 6 + 2 * params.has_fhec + len(self._iz) + 4 * self.has_ocf + 2 * self.has_fecf
        self._mpdu = not idle
        self.data_length = params.frame_length - fixed - 2 * self._mpdu
        self.no_packet_start = FHP_NO_PACKET_START
        self.vc_count_modulus = 1 << 24
        self.has_mc_count = False
        self.idle_vcid = AOS_IDLE_VCID
        self._idle_data = bytes(self.data_length)

    def encode(self, vc_count: int, mc_count: int, fhp: int, data: bytes, ocf: bytes) -> bytes:
        parts = (self._w0, vc_count.to_bytes(3, "big"), self._tail)
        if self._mpdu:
            frame = b"".join((*parts, _U16.pack(fhp), data, ocf))
        else:
            frame = b"".join((*parts, data, ocf))
        if self.has_fecf:
            return frame + _U16.pack(crc16_ccitt(frame))
        return frame

    def idle_frame(self, vc_count: int, mc_count: int, ocf: bytes) -> bytes:
        # Only the VCID 63 builder makes idle frames; the senders hold one for it.
        return self.encode(vc_count, mc_count, 0, self._idle_data, ocf)


class _UslpBuilder(FrameBuilder):
    def __init__(
        self,
        params: UslpParams,
        scid: int,
        vcid: int,
        map_id: int,
        insert_zone: bytes | None,
        vcf_count_length: int | None,
        idle: bool,
    ) -> None:
        if params.frame_length is None:
            raise UsageError(
                "The USLP packet service (construction rule 000) needs fixed-length frames; "
                "set UslpParams.frame_length."
            )
        if vcf_count_length is None:
            vcf_count_length = params.vcf_count_length if params.vcf_count_length is not None else 1
        elif params.vcf_count_length is not None and params.vcf_count_length != vcf_count_length:
            raise UsageError(
                f"vcf_count_length {vcf_count_length} disagrees with UslpParams."
                f"vcf_count_length {params.vcf_count_length}; pass the same or None."
            )
        _check("vcf_count_length", vcf_count_length, 3)
        self._vcf_length = vcf_count_length
        self.has_ocf = bool(params.has_ocf)
        self._fecf_length = params.fecf_length
        self._iz = _fixed_bytes("insert_zone", insert_zone, params.insert_zone_length)
        w0 = (
            (USLP_VERSION << 28)
            | (_check("scid", scid, 16) << 12)
            | (_check("vcid", vcid, 6) << 5)
            | (_check("map_id", map_id, 4) << 1)
        )
        flags = (self.has_ocf << 3) | vcf_count_length
        self._head = _U32.pack(w0) + _U16.pack(params.frame_length - 1) + bytes((flags,))
        # TFDF header: construction rule 000 (packets spanning frames), UPID.
        self._tfdf = bytes((UPID_IDLE if idle else UPID_SPACE_PACKETS,))
        fixed = len(self._head) + vcf_count_length + len(self._iz) + 3
        fixed += 4 * self.has_ocf + self._fecf_length
        self.data_length = params.frame_length - fixed
        if self.data_length < 1:
            raise UsageError(
                f"USLP frame_length {params.frame_length} leaves no room for a packet zone."
            )
        self.no_packet_start = USLP_NO_PACKET_START
        self.vc_count_modulus = 1 << (8 * vcf_count_length)
        self.has_mc_count = False
        self.idle_vcid = 63
        self._idle_data = bytes(self.data_length)

    def encode(self, vc_count: int, mc_count: int, fhp: int, data: bytes, ocf: bytes) -> bytes:
        frame = b"".join(
            (
                self._head,
                vc_count.to_bytes(self._vcf_length, "big"),
                self._iz,
                self._tfdf,
                _U16.pack(fhp),
                data,
                ocf,
            )
        )
        if self._fecf_length == 2:
            return frame + _U16.pack(crc16_ccitt(frame))
        if self._fecf_length == 4:
            return frame + _U32.pack(crc32_uslp(frame))
        return frame

    def idle_frame(self, vc_count: int, mc_count: int, ocf: bytes) -> bytes:
        return self.encode(
            vc_count % self.vc_count_modulus, mc_count, USLP_NO_PACKET_START, self._idle_data, ocf
        )


def make_builder(
    params: Params,
    scid: int,
    vcid: int,
    *,
    idle: bool = False,
    secondary_header: bytes | None = None,
    insert_zone: bytes | None = None,
    map_id: int = 0,
    vcf_count_length: int | None = None,
) -> FrameBuilder:
    """The builder for ``vcid`` (or, with ``idle``, for the channel's idle frames)."""
    if isinstance(params, TmParams):
        return _TmBuilder(params, scid, vcid, secondary_header)
    if isinstance(params, AosParams):
        return _AosBuilder(params, scid, AOS_IDLE_VCID if idle else vcid, insert_zone, idle)
    if isinstance(params, UslpParams):
        return _UslpBuilder(
            params, scid, 63 if idle else vcid, map_id, insert_zone, vcf_count_length, idle
        )
    raise UsageError(
        f"params must be TmParams, AosParams or UslpParams, got {type(params).__name__}."
    )
