"""The virtual channel packet service, receive side: master channel demultiplexing and
packet extraction (132.0-B-3 4.3.2.7 and 4.3.5, 732.0-B-4 4.3.2 and 4.3.6, 732.1-B-2
4.3.2 with TFDZ construction rule 000).

:class:`MasterChannelReceiver` takes the frames of one spacecraft (one master channel)
and gives back the packets they carry, in order, with everything that went wrong as
events and counters:

- frames that fail the FECF, have the wrong length or version, or disagree with the
  managed parameters are refused (:class:`FrameRejected`, counted), never fatal;
- a frame of another spacecraft (:class:`UnknownSpacecraft`) or of a VCID the receiver
  was not given (:class:`UnknownVirtualChannel`) is reported and counted;
- each VC's frame count is checked (TM modulo 256, AOS 2^24, USLP as its count length);
  a discontinuity is a :class:`FrameGap`. The packet that spanned the gap is dropped
  (:class:`PacketDiscarded`), never glued to the octets after it, and extraction resumes
  at the first header pointer of the next frame that has one;
- when the first header pointer disagrees with the partial packet carried over from the
  previous frame, the pointer wins and the partial is dropped;
- idle data is skipped and counted: idle frames (TM pointer 0x7FE, AOS VCID 63, USLP
  UPID 0x1F), idle Space Packets (APID 0x7FF) and Encapsulation idle packets.

Packets come out as :class:`~comms.spp.SpacePacket` (version 0) and
:class:`~comms.encap.EncapsulationPacket` (version 7) values; a SpacePacket holds its
raw octets, so its header fields cost an octet read each.

The hot path is ``receive_bytes``/``receive_many`` on TM frames: one CRC call in C, one
``struct.unpack_from`` for the header, and one slice per packet, working on offsets into
the frame rather than building a TmFrame. ``python -m tools.bench vc`` compares it with
``TmFrame.decode`` + ``PacketExtractor``; it measured 1.1-1.2x that here, ~180-190k
frames/s of 1115 octets (about 1.6 Gbps), derandomization included.

Left out: the TM/AOS VC frame, VC access and bitstream services, SDLS, the AOS
"VC frame count cycle" extension of the 24-bit count, and USLP MAP demultiplexing
(one MAP per VC carries packets; frames of other construction rules are refused).
"""

from __future__ import annotations

import struct
from collections.abc import Iterable
from typing import Final

import numpy as np
import numpy.typing as npt

from comms.buffers import BytesLike
from comms.coding.randomizer import randomize_tm_many
from comms.crc import crc16_ccitt
from comms.encap import EncapsulationPacket, ProtocolId, header_length, packet_length
from comms.errors import DecodeError, UsageError
from comms.frames._value import FecfError
from comms.frames.aos import AOS_IDLE_VCID, AosFrame
from comms.frames.fhec import fhec_correct
from comms.frames.params import AosDataUnit, AosParams, TmParams, UslpParams
from comms.frames.tm import FHP_IDLE, FHP_NO_PACKET_START, TmFrame
from comms.frames.uslp import UPID_IDLE, UPID_SPACE_PACKETS, USLP_VERSION, UslpFrame, crc32_uslp
from comms.spp.packet import SpacePacket
from comms.vc.events import (
    DiscardReason,
    FrameGap,
    FrameRejected,
    MasterChannelCounters,
    PacketDiscarded,
    RejectReason,
    UnknownSpacecraft,
    UnknownVirtualChannel,
    VcCounters,
    VcEvent,
)

__all__ = ["MasterChannelReceiver"]

ReceivedPacket = SpacePacket | EncapsulationPacket

_TM_HEADER: Final = struct.Struct(">HBBH")
_AOS_HEADER: Final = struct.Struct(">HI")
_USLP_HEADER: Final = struct.Struct(">IHB")
_U16: Final = struct.Struct(">H")
_U32: Final = struct.Struct(">I")
_new = object.__new__
_USLP_NO_PACKET_START: Final = 0xFFFF
_MAX_PACKET_LENGTH: Final = 65542 + 2  # a Space Packet: 6 + 65536 (encap may be longer)


class _BadHeader(Exception):
    """A packet header that cannot start a packet here (private control flow)."""


class _Vc:
    """Reassembly state of one virtual channel."""

    __slots__ = ("counters", "expected", "in_sync", "need", "pending", "vcid")

    def __init__(self, vcid: int) -> None:
        self.vcid = vcid
        self.counters = VcCounters()
        self.expected = -1  # next VC frame count; -1 before the first frame
        # False until a first header pointer shows where a packet starts: the first
        # frame, and every frame after a gap, may begin in the middle of a packet.
        self.in_sync = False
        self.pending: bytearray | None = None  # octets of a packet spanning frames
        self.need = 0  # its total length, 0 while its header is incomplete


class MasterChannelReceiver:
    """Frames of spacecraft ``scid`` in, packets and events out.

    ``params``: :class:`~comms.frames.TmParams`, :class:`~comms.frames.AosParams` or
    :class:`~comms.frames.UslpParams` (fixed ``frame_length``). ``vcids``: the virtual
    channels to extract packets from; None (default) accepts every VCID as it appears.
    ``max_packet_length`` (default 65542, a Space Packet's maximum): a packet header
    announcing more is taken as corrupt and the rest of its frame dropped; a mission
    that knows its largest packet catches corrupt lengths sooner with a lower bound.
    """

    def __init__(
        self,
        params: TmParams | AosParams | UslpParams,
        scid: int,
        *,
        vcids: Iterable[int] | None = None,
        max_packet_length: int = 65542,
    ) -> None:
        if isinstance(params, TmParams):
            self._kind = 0
            scid_bits, n_vcids = 10, 8
            self._length = params.frame_length
        elif isinstance(params, AosParams):
            self._kind = 1
            scid_bits, n_vcids = 8, 64
            self._length = params.frame_length
        elif isinstance(params, UslpParams):
            if params.frame_length is None:
                raise UsageError(
                    "The USLP packet service (construction rule 000) needs fixed-length "
                    "frames; set UslpParams.frame_length."
                )
            self._kind = 2
            scid_bits, n_vcids = 16, 64
            self._length = params.frame_length
        else:
            raise UsageError(
                f"params must be TmParams, AosParams or UslpParams, got {type(params).__name__}."
            )
        if isinstance(scid, bool) or not isinstance(scid, int) or not 0 <= scid < 1 << scid_bits:
            raise UsageError(f"scid must be an int in 0..{(1 << scid_bits) - 1}, got {scid!r}.")
        if (
            isinstance(max_packet_length, bool)
            or not isinstance(max_packet_length, int)
            or max_packet_length < 7
        ):
            raise UsageError(f"max_packet_length must be an int >= 7, got {max_packet_length!r}.")
        self.params = params
        self.scid = scid
        self.max_packet_length = max_packet_length
        self._vcs: list[_Vc | None] = [None] * n_vcids
        self._auto = vcids is None
        for vcid in vcids or ():
            if isinstance(vcid, bool) or not isinstance(vcid, int) or not 0 <= vcid < n_vcids:
                raise UsageError(f"vcids must be ints in 0..{n_vcids - 1}, got {vcid!r}.")
            self._vcs[vcid] = _Vc(vcid)
        self.counters = MasterChannelCounters()
        #: The OCF of the latest accepted frame that had one (a CLCW under COP-1).
        self.last_ocf: bytes | None = None
        self._packets: list[ReceivedPacket] = []
        self._events: list[VcEvent] = []
        self._mc_expected = -1
        if isinstance(params, TmParams):
            self._fecf = 2 * params.has_fecf
            self._data_start = params._data_start
            self._has_sh = params.secondary_header_length is not None
            self._ocf_mode = -1 if params.has_ocf is None else int(params.has_ocf)
        elif isinstance(params, AosParams):
            self._fecf = 2 * params.has_fecf
            self._aos_iz = 6 + 2 * params.has_fhec
            self._data_start = self._aos_iz + params.insert_zone_length
            self._data_end = self._length - self._fecf - 4 * params.has_ocf
            self._aos_ocf = params.has_ocf
            self._aos_units = [params.data_unit_of(v) for v in range(64)]
            for vc in self._vcs:
                if vc is not None and self._aos_units[vc.vcid] is not AosDataUnit.M_PDU:
                    raise UsageError(
                        f"AOS virtual channel {vc.vcid} carries "
                        f"{self._aos_units[vc.vcid].value}, not an M_PDU; the packet "
                        "service cannot read it."
                    )
        else:
            self._fecf = params.fecf_length
            self._uslp_iz = params.insert_zone_length

    # -- outputs ---------------------------------------------------------------------

    def packets(self) -> list[ReceivedPacket]:
        """Drain the packets extracted so far, in arrival order."""
        packets, self._packets = self._packets, []
        return packets

    def events(self) -> list[VcEvent]:
        """Drain the events reported so far."""
        events, self._events = self._events, []
        return events

    def vc_counters(self, vcid: int) -> VcCounters:
        """Running totals of ``vcid`` (a fresh zero set if it has had no frame yet)."""
        if not 0 <= vcid < len(self._vcs):
            raise UsageError(f"vcid must be in 0..{len(self._vcs) - 1}, got {vcid!r}.")
        vc = self._vcs[vcid]
        return vc.counters if vc is not None else VcCounters()

    @property
    def vcids(self) -> list[int]:
        """The virtual channels with reassembly state."""
        return [vc.vcid for vc in self._vcs if vc is not None]

    # -- inputs ----------------------------------------------------------------------

    def receive_bytes(self, frame: BytesLike) -> None:
        """Take one frame of exactly the managed frame length, FECF included."""
        buf = frame if isinstance(frame, bytes) else bytes(frame)
        self.counters.frames += 1
        if len(buf) != self._length:
            self._reject(
                RejectReason.LENGTH,
                f"frame of {len(buf)} octets on a channel of {self._length}-octet frames",
            )
            return
        kind = self._kind
        if kind == 0:
            if self._fecf and crc16_ccitt(buf):
                self._crc_failure()
                return
            self._tm_body(buf, 0)
        elif kind == 1:
            if self._fecf and crc16_ccitt(buf):
                self._crc_failure()
                return
            self._aos_body(buf, 0)
        else:
            self._uslp(buf)

    def receive_many(
        self, frames: BytesLike | npt.NDArray[np.uint8], *, derandomize: bool = False
    ) -> None:
        """Take N frames back to back (or an (N, frame_length) uint8 array).

        ``derandomize``: XOR every frame with the TM pseudo-randomizer sequence first
        (131.0-B-5), in one numpy call over the whole batch.
        """
        length = self._length
        if isinstance(frames, np.ndarray):
            array = frames
            if array.ndim != 2 or array.shape[1] != length or array.dtype != np.uint8:
                raise UsageError(
                    f"Pass frames as a 2-D uint8 array of shape (N, {length}); got "
                    f"{array.dtype} with shape {array.shape}."
                )
            if derandomize:
                array = randomize_tm_many(array)
            buf = array.tobytes()
        else:
            if len(frames) % length:
                raise UsageError(
                    f"receive_many wants whole frames: {len(frames)} octets is not a "
                    f"multiple of the {length}-octet frame length."
                )
            if derandomize:
                batch = np.frombuffer(frames, dtype=np.uint8).reshape(-1, length)
                buf = randomize_tm_many(batch).tobytes()
            else:
                buf = frames if isinstance(frames, bytes) else bytes(frames)
        kind = self._kind
        if kind == 2:
            for off in range(0, len(buf), length):
                self.counters.frames += 1
                self._uslp(buf[off : off + length])
            return
        counters = self.counters
        body = self._tm_body if kind == 0 else self._aos_body
        check = bool(self._fecf)
        frames_view = memoryview(buf)
        crc = crc16_ccitt
        counters.frames += len(buf) // length
        for off in range(0, len(buf), length):
            if check and crc(frames_view[off : off + length], 0xFFFF):
                self._crc_failure()
                continue
            body(buf, off)

    def receive_frame(self, frame: TmFrame | AosFrame | UslpFrame) -> None:
        """Take a frame the caller decoded already (its FECF was checked then)."""
        self.counters.frames += 1
        if frame.scid != self.scid:
            self._unknown_scid(frame.scid)
            return
        if isinstance(frame, TmFrame) and self._kind == 0:
            self._mc_check(frame.mc_frame_count)
            if frame.ocf is not None:
                self.last_ocf = frame.ocf
            vc = self._vc(frame.vcid, frame.first_header_pointer == FHP_IDLE)
            if vc is None:
                return
            self._count(vc, frame.vc_frame_count, 256)
            if frame.first_header_pointer == FHP_IDLE:
                self._idle_frame(vc)
                return
            data = frame.data_field
            self._extract(vc, data, 0, len(data), frame.first_header_pointer, FHP_NO_PACKET_START)
        elif isinstance(frame, AosFrame) and self._kind == 1:
            if frame.ocf is not None:
                self.last_ocf = frame.ocf
            if frame.vcid == AOS_IDLE_VCID:
                self._idle_frame(None)
                return
            if frame.first_header_pointer is None:
                self._unknown_vcid(frame.vcid)
                return
            vc = self._vc(frame.vcid, False)
            if vc is None:
                return
            self._count(vc, frame.vc_frame_count, 1 << 24)
            if frame.first_header_pointer == FHP_IDLE:
                self._idle_frame(vc)
                return
            data = frame.data_field
            self._extract(vc, data, 0, len(data), frame.first_header_pointer, FHP_NO_PACKET_START)
        elif isinstance(frame, UslpFrame) and self._kind == 2:
            if frame.ocf is not None:
                self.last_ocf = frame.ocf
            self._uslp_fields(
                frame.vcid,
                frame.vcf_count_length,
                frame.vcf_count,
                int(frame.construction_rule),
                frame.upid,
                frame.pointer,
                frame.data_zone,
                0,
                len(frame.data_zone),
                frame.truncated,
            )
        else:
            raise UsageError(
                f"A {type(frame).__name__} does not belong on a channel with "
                f"{type(self.params).__name__}."
            )

    def receive_error(self, error: DecodeError) -> None:
        """Count a frame the caller's decoder refused (``FecfError`` is a CRC failure)."""
        self.counters.frames += 1
        if isinstance(error, FecfError):
            self._crc_failure()
        else:
            self._reject(RejectReason.MALFORMED, str(error))

    def gap(self, vcid: int | None = None) -> None:
        """Frames were lost without the counts showing it (e.g. frame sync lost):
        drop the partial packet of ``vcid`` (every VC if None) and resynchronize."""
        for vc in self._vcs:
            if vc is not None and (vcid is None or vc.vcid == vcid):
                self._drop(vc, DiscardReason.LOST_FRAME)
                vc.in_sync = False
                vc.expected = -1

    # -- per-protocol frame bodies ---------------------------------------------------

    def _tm_body(self, buf: bytes, off: int) -> None:
        w0, mc, count, w2 = _TM_HEADER.unpack_from(buf, off)
        if w0 >> 14:
            self._reject(RejectReason.VERSION, f"TM frame version {w0 >> 14}")
            return
        if (w0 >> 4) & 0x3FF != self.scid:
            self._unknown_scid((w0 >> 4) & 0x3FF)
            return
        if mc != self._mc_expected:
            self._mc_check(mc)
        else:
            self._mc_expected = (mc + 1) & 0xFF
        end = off + self._length - self._fecf
        if w0 & 1:
            if self._ocf_mode == 0:
                self._reject(RejectReason.MALFORMED, "OCF flag set on a channel without OCF")
                return
            end -= 4
            self.last_ocf = buf[end : end + 4]
        elif self._ocf_mode == 1:
            self._reject(RejectReason.MALFORMED, "OCF flag clear on a channel with an OCF")
            return
        if (w2 >> 15) != self._has_sh:
            self._reject(RejectReason.MALFORMED, "secondary header flag against the params")
            return
        fhp = w2 & 0x7FF
        vc = self._vcs[(w0 >> 1) & 7]
        if vc is None:
            vc = self._vc((w0 >> 1) & 7, fhp == FHP_IDLE)
            if vc is None:
                return
        counters = vc.counters
        counters.frames += 1
        if count != vc.expected:
            self._count(vc, count, 256)
        else:
            vc.expected = (count + 1) & 0xFF
        if fhp == FHP_IDLE:
            counters.idle_frames += 1
            self.counters.idle_frames += 1
            return
        self._extract(vc, buf, off + self._data_start, end, fhp, FHP_NO_PACKET_START)

    def _aos_body(self, buf: bytes, off: int) -> None:
        w0, rest = _AOS_HEADER.unpack_from(buf, off)
        if self._aos_iz == 8:
            corrected = fhec_correct((w0 << 8) | (rest & 0xFF), _U16.unpack_from(buf, off + 6)[0])
            if corrected is None:
                self._reject(RejectReason.MALFORMED, "uncorrectable AOS frame header")
                return
            w0 = corrected[0] >> 8
        if w0 >> 14 != 1:
            self._reject(RejectReason.VERSION, f"AOS frame version {w0 >> 14}")
            return
        if (w0 >> 6) & 0xFF != self.scid:
            self._unknown_scid((w0 >> 6) & 0xFF)
            return
        end = off + self._data_end
        if self._aos_ocf:
            self.last_ocf = buf[end : end + 4]
        vcid = w0 & 0x3F
        if vcid == AOS_IDLE_VCID:
            self._idle_frame(None)
            return
        vc = self._vcs[vcid]
        if vc is None:
            if self._aos_units[vcid] is not AosDataUnit.M_PDU:
                self._unknown_vcid(vcid)
                return
            vc = self._vc(vcid, False)
            if vc is None:
                return
        vc.counters.frames += 1
        count = rest >> 8
        if count != vc.expected:
            self._count(vc, count, 1 << 24)
        else:
            vc.expected = (count + 1) & 0xFFFFFF
        start = off + self._data_start
        fhp = (buf[start] << 8 | buf[start + 1]) & 0x7FF
        if fhp == FHP_IDLE:
            vc.counters.idle_frames += 1
            self.counters.idle_frames += 1
            return
        self._extract(vc, buf, start + 2, end, fhp, FHP_NO_PACKET_START)

    def _uslp(self, buf: bytes) -> None:
        n = len(buf)
        fecf = self._fecf
        if fecf == 2 and crc16_ccitt(buf):
            self._crc_failure()
            return
        if fecf == 4 and crc32_uslp(buf[: n - 4]) != _U32.unpack_from(buf, n - 4)[0]:
            self._crc_failure()
            return
        w0, _length, flags = _USLP_HEADER.unpack_from(buf)
        if w0 >> 28 != USLP_VERSION:
            self._reject(RejectReason.VERSION, f"USLP frame version {w0 >> 28}")
            return
        if (w0 >> 12) & 0xFFFF != self.scid:
            self._unknown_scid((w0 >> 12) & 0xFFFF)
            return
        if w0 & 1:
            self._reject(RejectReason.MALFORMED, "truncated USLP frame on the packet service")
            return
        params = self.params
        assert isinstance(params, UslpParams)
        if _length + 1 != n:
            self._reject(RejectReason.LENGTH, "USLP frame length field against the frame")
            return
        ocf_flag = (flags >> 3) & 1
        vcf_length = flags & 7
        if (params.has_ocf is not None and params.has_ocf != ocf_flag) or (
            params.vcf_count_length is not None and params.vcf_count_length != vcf_length
        ):
            self._reject(RejectReason.MALFORMED, "USLP header flags against the params")
            return
        pos = 7 + vcf_length + self._uslp_iz
        end = n - fecf - 4 * ocf_flag
        if end < pos + 3:
            self._reject(RejectReason.MALFORMED, "USLP frame too short for a TFDF header")
            return
        if ocf_flag:
            self.last_ocf = buf[end : end + 4]
        tfdf = buf[pos]
        self._uslp_fields(
            (w0 >> 5) & 0x3F,
            vcf_length,
            int.from_bytes(buf[7 : 7 + vcf_length], "big"),
            tfdf >> 5,
            tfdf & 0x1F,
            _U16.unpack_from(buf, pos + 1)[0] if tfdf >> 5 <= 2 else None,
            buf,
            pos + 3,
            end,
            False,
        )

    def _uslp_fields(
        self,
        vcid: int,
        vcf_length: int,
        count: int,
        rule: int,
        upid: int,
        pointer: int | None,
        buf: bytes,
        start: int,
        end: int,
        truncated: bool,
    ) -> None:
        if upid == UPID_IDLE or vcid == 63:
            self._idle_frame(None)
            return
        if truncated or rule != 0 or upid != UPID_SPACE_PACKETS or pointer is None:
            self._reject(
                RejectReason.MALFORMED,
                f"USLP frame with construction rule {rule:03b} and UPID {upid} is not the "
                "packet service",
            )
            return
        vc = self._vc(vcid, False)
        if vc is None:
            return
        vc.counters.frames += 1
        if vcf_length:
            self._count(vc, count, 1 << (8 * vcf_length))
        if pointer != _USLP_NO_PACKET_START and pointer >= end - start:
            self._bad_pointer(vc, pointer)
            return
        self._extract(vc, buf, start, end, pointer, _USLP_NO_PACKET_START)

    # -- packet extraction -----------------------------------------------------------

    def _extract(self, vc: _Vc, buf: bytes, start: int, end: int, fhp: int, no_start: int) -> None:
        """Packets out of the packet zone ``buf[start:end]`` whose first header is at
        ``start + fhp`` (``no_start``: none starts here)."""
        pending = vc.pending
        if fhp == no_start:
            if pending is not None:
                pending += buf[start:end]
                self._continue(vc, pending, False)
            else:
                # In sync this cannot happen (a packet zone begins with a header or a
                # continuation); out of sync it is the middle of a packet we lost.
                self._discard(vc, DiscardReason.NO_HEADER, end - start)
            return
        pos = start + fhp
        if pos >= end:
            self._bad_pointer(vc, fhp)
            return
        if pending is not None:
            pending += buf[start:pos]
            self._continue(vc, pending, True)
        elif fhp:
            self._discard(
                vc,
                DiscardReason.POINTER_MISMATCH if vc.in_sync else DiscardReason.NO_HEADER,
                fhp,
            )
        vc.in_sync = True
        # The hot loop: four octet reads, one slice, one allocation per packet. The
        # first octet is tested once for the two rare cases: a version other than 0
        # (Encapsulation or garbage) and APID high bits 111 (a possible idle packet).
        packets = self._packets
        append = packets.append
        new = _new
        space_packet = SpacePacket
        counters = vc.counters
        delivered = len(packets)
        idle = 0
        limit = end - 6
        while pos <= limit:
            b0 = buf[pos]
            if b0 & 0xE7 >= 0x07:
                if b0 >= 0x20:
                    # _deliver counts the packets it delivers itself: keep them out of
                    # the tally of this loop's Space Packets below.
                    delivered -= len(packets)
                    stop = self._other_packet(vc, buf, pos, end)
                    delivered += len(packets)
                    if stop <= pos:  # dropped (-1), or a partial packet to keep
                        pos = stop
                        break
                    pos = stop
                    continue
                if buf[pos + 1] == 0xFF:
                    stop = pos + 7 + (buf[pos + 4] << 8 | buf[pos + 5])
                    if stop > end:
                        break
                    idle += 1
                    pos = stop
                    continue
            stop = pos + 7 + (buf[pos + 4] << 8 | buf[pos + 5])
            if stop > end:
                break
            packet = new(space_packet)
            packet._raw = buf[pos:stop]
            append(packet)
            pos = stop
        counters.packets += len(packets) - delivered
        counters.idle_packets += idle
        # Encapsulation packets can be shorter than a Space Packet header (down to the
        # 1-octet idle packet), so the last few octets may still hold whole ones.
        while 0 <= pos < end and buf[pos] >> 5 == 0b111:
            stop = self._other_packet(vc, buf, pos, end)
            if stop == pos:
                break
            pos = stop
        if 0 <= pos < end:
            pending = bytearray(buf[pos:end])
            vc.pending = pending
            vc.need = 0
            self._continue(vc, pending, False)

    def _continue(self, vc: _Vc, pending: bytearray, ends_here: bool) -> None:
        """Check a partial packet after octets were added: deliver it when complete,
        drop it when it cannot be (or, with ``ends_here``, must be but is not)."""
        need = vc.need
        if not need:
            try:
                found = _packet_length(pending, self.max_packet_length)
            except _BadHeader:
                self._drop(vc, DiscardReason.BAD_PACKET_HEADER)
                vc.in_sync = False
                return
            if found is None:
                if ends_here:
                    self._drop(vc, DiscardReason.POINTER_MISMATCH)
                return
            vc.need = need = found
        have = len(pending)
        if have < need and not ends_here:
            return
        if have != need:
            self._drop(vc, DiscardReason.POINTER_MISMATCH)
            return
        vc.pending = None
        vc.need = 0
        self._deliver(vc, bytes(pending))

    def _deliver(self, vc: _Vc, raw: bytes) -> None:
        b0 = raw[0]
        if b0 < 0x20:
            if b0 & 7 == 7 and raw[1] == 0xFF:
                vc.counters.idle_packets += 1
                return
            self._packets.append(SpacePacket._from_raw(raw))
            vc.counters.packets += 1
            return
        try:
            packet = EncapsulationPacket.decode(raw)
        except DecodeError:
            self._discard(vc, DiscardReason.BAD_PACKET_HEADER, len(raw))
            return
        if packet.protocol_id == ProtocolId.IDLE:
            vc.counters.idle_packets += 1
        else:
            self._packets.append(packet)
            vc.counters.packets += 1

    def _other_packet(self, vc: _Vc, buf: bytes, pos: int, end: int) -> int:
        """A packet that is not a Space Packet at ``pos``: deliver an Encapsulation
        packet that ends in this zone and return where the next starts; -1 to stop
        (the rest is pending or dropped); ``end`` when a partial should be kept."""
        b0 = buf[pos]
        if b0 >> 5 != 0b111:
            self._discard(vc, DiscardReason.BAD_PACKET_HEADER, end - pos)
            vc.in_sync = False
            return -1
        if pos + header_length(b0) > end:
            return pos  # a partial header: the caller keeps it for the next frame
        try:
            total = packet_length(buf[pos : pos + 8])
        except DecodeError:
            total = None
        if total is None or total > self.max_packet_length:
            self._discard(vc, DiscardReason.BAD_PACKET_HEADER, end - pos)
            vc.in_sync = False
            return -1
        stop = pos + total
        if stop > end:
            return pos
        self._deliver(vc, buf[pos:stop])
        return stop

    # -- bookkeeping -----------------------------------------------------------------

    def _vc(self, vcid: int, idle: bool) -> _Vc | None:
        vc = self._vcs[vcid]
        if vc is None:
            if self._auto:
                vc = self._vcs[vcid] = _Vc(vcid)
            elif idle:
                self.counters.idle_frames += 1
            else:
                self._unknown_vcid(vcid)
        return vc

    def _count(self, vc: _Vc, count: int, modulus: int) -> None:
        expected = vc.expected
        vc.expected = (count + 1) % modulus
        if expected < 0 or count == expected:
            return
        missing = (count - expected) % modulus
        vc.counters.gaps += 1
        vc.counters.frames_missing += missing
        self._events.append(FrameGap(vc.vcid, expected, count, missing))
        self._drop(vc, DiscardReason.LOST_FRAME)
        vc.in_sync = False

    def _mc_check(self, mc: int) -> None:
        if self._mc_expected >= 0 and mc != self._mc_expected:
            self.counters.mc_gaps += 1
        self._mc_expected = (mc + 1) & 0xFF

    def _idle_frame(self, vc: _Vc | None) -> None:
        self.counters.idle_frames += 1
        if vc is not None:
            vc.counters.idle_frames += 1

    def _bad_pointer(self, vc: _Vc, fhp: int) -> None:
        self._reject(RejectReason.MALFORMED, f"first header pointer {fhp} beyond the data field")
        self._drop(vc, DiscardReason.POINTER_MISMATCH)
        vc.in_sync = False

    def _drop(self, vc: _Vc, reason: DiscardReason) -> None:
        pending = vc.pending
        if pending is not None:
            vc.pending = None
            vc.need = 0
            vc.counters.partials_discarded += 1
            self._discard(vc, reason, len(pending))

    def _discard(self, vc: _Vc, reason: DiscardReason, octets: int) -> None:
        vc.counters.octets_discarded += octets
        self._events.append(PacketDiscarded(vc.vcid, reason, octets))

    def _reject(self, reason: RejectReason, detail: str) -> None:
        self.counters.rejected += 1
        self._events.append(FrameRejected(reason, detail))

    def _crc_failure(self) -> None:
        self.counters.crc_failures += 1
        self._events.append(FrameRejected(RejectReason.FECF, "FECF mismatch"))

    def _unknown_scid(self, scid: int) -> None:
        self.counters.unknown_scid += 1
        self._events.append(UnknownSpacecraft(scid))

    def _unknown_vcid(self, vcid: int) -> None:
        self.counters.unknown_vcid += 1
        self._events.append(UnknownVirtualChannel(self.scid, vcid))


def _packet_length(prefix: bytearray, limit: int) -> int | None:
    """Total length of the packet ``prefix`` begins, None if the header is incomplete."""
    b0 = prefix[0]
    if b0 < 0x20:
        if len(prefix) < 6:
            return None
        total = (prefix[4] << 8 | prefix[5]) + 7
    elif b0 >> 5 == 0b111:
        try:
            found = packet_length(prefix[:8])
        except DecodeError:
            raise _BadHeader from None
        if found is None:
            return None
        total = found
    else:
        raise _BadHeader
    if total > limit:
        raise _BadHeader
    return total
