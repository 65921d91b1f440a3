"""The virtual channel packet service, send side (132.0-B-3 4.3.2 / 732.0-B-4 4.3.2,
and 732.1-B-2 TFDZ construction rule 000 "packets spanning frames").

:class:`VcPacketSender` packs Space Packets (133.0-B-2) and Encapsulation Packets
(133.1-B-3) back to back into the packet zones of fixed-length frames:

- the first header pointer of each frame is the offset of the first packet that starts
  in it; a frame in which no packet starts (the middle of a long packet) carries
  0x7FF (USLP 0xFFFF);
- packets span frames freely, however many frames they need;
- each frame gets the next VC frame count (TM 8 bits, AOS 24 bits, USLP the managed
  count length), wrapping;
- ``flush()`` closes a partly filled frame with idle fill: one idle Space Packet (APID
  0x7FF) or, with ``encapsulation_idle=True``, one Encapsulation idle packet. An idle
  Space Packet is at least 7 octets, so when fewer than 7 remain it spills into the next
  frame (132.0-B-3 lets idle packets span frames like any other); the 1-octet
  Encapsulation idle packet fills any remainder exactly;
- ``frame_due()`` always returns one frame: the flushed partial frame, or an idle frame
  when nothing is pending (TM: first header pointer 0x7FE "only idle data" on this VC;
  AOS: VCID 63; USLP: VCID 63 with UPID 0x1F).

The sender does not number packets (that is :class:`comms.spp.SequenceCounter`'s job)
and reads no clock: whoever owns the release timer calls ``frame_due()``.

Left out: the packet order and segment length identifier semantics of the TM
synchronization flag (always "packets, no order"), VC access (VCA) and B_PDU services.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Iterable
from typing import Final

from comms.buffers import BytesLike
from comms.encap import EncapsulationPacket, packet_length
from comms.errors import DecodeError, UsageError
from comms.frames.clcw import Clcw
from comms.frames.params import AosParams, TmParams, UslpParams
from comms.spp.packet import SpacePacket
from comms.vc._format import FrameBuilder, make_builder

__all__ = ["VcPacketSender"]

Packet = BytesLike | SpacePacket | EncapsulationPacket
_Unit = tuple[int, int, bytes]  # (vc_frame_count, first header pointer, packet zone)

_IDLE_HEADER: Final = b"\x07\xff\xc0\x00"  # TM packet, APID 0x7FF, unsegmented, count 0
_MIN_SPACE_PACKET: Final = 7


def idle_space_packet(length: int) -> bytes:
    """An idle Space Packet (APID 0x7FF) of ``length`` >= 7 octets, zero data."""
    return _IDLE_HEADER + (length - 7).to_bytes(2, "big") + bytes(length - 6)


def as_packet_bytes(packet: Packet) -> bytes:
    """The wire octets of ``packet``, checked to be exactly one whole packet."""
    if isinstance(packet, SpacePacket | EncapsulationPacket):
        return packet.encode()
    raw = packet if packet.__class__ is bytes else bytes(packet)
    n = len(raw)
    # The usual case first: a Space Packet whose length field matches the buffer.
    if n >= _MIN_SPACE_PACKET and raw[0] < 0x20 and (raw[4] << 8 | raw[5]) + 7 == n:
        return raw
    if n and raw[0] >> 5 == 0b111:
        try:
            if packet_length(raw) == n:
                return raw
        except DecodeError:
            pass
    raise UsageError(
        f"add_packet wants one whole Space Packet (version 0) or Encapsulation Packet "
        f"(version 7) whose length field matches its {n} octets; got "
        f"{bytes(raw[:8]).hex(' ')}{'...' if n > 8 else ''}."
    )


class VcPacketSender:
    """Packs packets into the frames of one virtual channel.

    ``params`` are the channel's managed parameters (:class:`~comms.frames.TmParams`,
    :class:`~comms.frames.AosParams` with an M_PDU on this VC, or
    :class:`~comms.frames.UslpParams` with a fixed ``frame_length``). Options:

    - ``encapsulation_idle`` (default False): fill with Encapsulation idle packets
      instead of idle Space Packets; use it on channels that carry Encapsulation
      Packets, whose receivers may not expect Space Packets.
    - ``secondary_header`` (TM), ``insert_zone`` (AOS, USLP): the fixed contents of
      those fields when the params have them (default zeros).
    - ``map_id``, ``vcf_count_length`` (USLP): MAP of the frames (default 0) and octets
      of the VC frame count (default the managed value, else 1).
    - ``vc_frame_count``: the count of the first frame (default 0).

    A TM ``params.has_ocf`` of None is read as False: a sender must decide.
    """

    def __init__(
        self,
        params: TmParams | AosParams | UslpParams,
        scid: int,
        vcid: int,
        *,
        encapsulation_idle: bool = False,
        secondary_header: bytes | None = None,
        insert_zone: bytes | None = None,
        map_id: int = 0,
        vcf_count_length: int | None = None,
        vc_frame_count: int = 0,
    ) -> None:
        self.params = params
        self.scid = scid
        self.vcid = vcid
        self._builder: FrameBuilder = make_builder(
            params,
            scid,
            vcid,
            secondary_header=secondary_header,
            insert_zone=insert_zone,
            map_id=map_id,
            vcf_count_length=vcf_count_length,
        )
        builder = self._builder
        if isinstance(params, TmParams):
            self._idle_builder = builder
        else:
            self._idle_builder = make_builder(
                params,
                scid,
                vcid,
                idle=True,
                insert_zone=insert_zone,
                vcf_count_length=vcf_count_length,
            )
        if builder.data_length < 1:
            raise UsageError("The frame leaves no room for a packet zone; lengthen frame_length.")
        modulus = builder.vc_count_modulus
        if isinstance(vc_frame_count, bool) or not isinstance(vc_frame_count, int):
            raise UsageError(f"vc_frame_count must be an int, got {vc_frame_count!r}.")
        if not 0 <= vc_frame_count < modulus:
            raise UsageError(f"vc_frame_count must be in 0..{modulus - 1}, got {vc_frame_count}.")
        self.encapsulation_idle = bool(encapsulation_idle)
        self._size = builder.data_length
        self._no_start = builder.no_packet_start
        self._modulus = modulus
        #: The VC frame count the next frame will carry.
        self.vc_frame_count = vc_frame_count
        #: The master channel frame count of the next frame (TM, standalone use only).
        self.mc_frame_count = 0
        self._idle_count = 0
        self._parts: list[bytes] = []
        self._fill = 0
        self._fhp = -1  # offset of the first packet start in the open frame, -1 for none
        self._units: deque[_Unit] = deque()
        self._ocf = Clcw(vcid=0, report_value=0).encode() if builder.has_ocf else b""
        #: Counters: packets accepted, frames completed, idle fill octets.
        self.packets = 0
        self.frames = 0
        self.idle_octets = 0

    # -- primitives ------------------------------------------------------------------

    @property
    def data_length(self) -> int:
        """Octets of packet zone per frame."""
        return self._size

    @property
    def pending(self) -> int:
        """Octets waiting in the open (partly filled) frame."""
        return self._fill

    def set_clcw(self, clcw: Clcw | BytesLike) -> None:
        """The CLCW (or any 4-octet OCF value) the next frames carry in their OCF."""
        if not self._builder.has_ocf:
            raise UsageError("This channel's frames have no OCF; set has_ocf=True in the params.")
        ocf = clcw.encode() if isinstance(clcw, Clcw) else bytes(clcw)
        if len(ocf) != 4:
            raise UsageError(f"An OCF is 4 octets, got {len(ocf)}.")
        self._ocf = ocf

    def add_packet(self, packet: Packet) -> list[bytes]:
        """Queue ``packet``; return the encoded frames it completed (often none)."""
        self._pack(as_packet_bytes(packet))
        return self._encode_units()

    def add_packets(self, packets: Iterable[Packet]) -> list[bytes]:
        """``add_packet`` for many packets at once (one call, same frames)."""
        pack = self._pack
        for packet in packets:
            pack(as_packet_bytes(packet))
        return self._encode_units()

    def flush(self) -> list[bytes]:
        """Close the open frame with idle fill; [] when nothing is pending."""
        self._flush()
        return self._encode_units()

    def frame_due(self) -> bytes:
        """One frame now: the open frame flushed, or an idle frame if none is open."""
        if self._fill:
            self._flush()
            frames = self._encode_units()
            # A flush completes exactly one frame (the idle fill never needs two).
            return frames[0]
        return self._idle_frame(self.mc_frame_count_next())

    # -- internals shared with the multiplexer ---------------------------------------

    def mc_frame_count_next(self) -> int:
        count = self.mc_frame_count
        self.mc_frame_count = (count + 1) & 0xFF
        return count

    def _idle_frame(self, mc_count: int, ocf: bytes | None = None) -> bytes:
        if self._idle_builder is self._builder:
            count = self.vc_frame_count
            self.vc_frame_count = (count + 1) % self._modulus
        else:
            count = self._idle_count
            self._idle_count = (count + 1) % self._idle_builder.vc_count_modulus
        self.frames += 1
        return self._idle_builder.idle_frame(count, mc_count, self._ocf if ocf is None else ocf)

    def _encode_units(self) -> list[bytes]:
        units = self._units
        if not units:
            return []
        encode = self._builder.encode
        ocf = self._ocf
        out = []
        mc = self.mc_frame_count
        for count, fhp, data in units:
            out.append(encode(count, mc, fhp, data, ocf))
            mc = (mc + 1) & 0xFF
        self.mc_frame_count = mc
        units.clear()
        return out

    def _pack(self, raw: bytes) -> None:
        self.packets += 1
        n = len(raw)
        fill = self._fill
        if self._fhp < 0:
            self._fhp = fill
        room = self._size - fill
        if n < room:
            self._parts.append(raw)
            self._fill = fill + n
            return
        parts = self._parts
        parts.append(raw if n == room else raw[:room])
        self._complete(b"".join(parts) if len(parts) > 1 else parts[0], self._fhp)
        pos = room
        size = self._size
        # The middle of a packet longer than a frame: whole frames with no packet start.
        while n - pos >= size:
            self._complete(raw[pos : pos + size], self._no_start)
            pos += size
        self._fhp = -1
        if pos < n:
            self._parts = [raw[pos:]]
            self._fill = n - pos
        else:
            self._parts = []
            self._fill = 0

    def _complete(self, data: bytes, fhp: int) -> None:
        count = self.vc_frame_count
        self._units.append((count, fhp, data))
        self.vc_frame_count = (count + 1) % self._modulus
        self.frames += 1

    def _flush(self) -> None:
        if not self._fill:
            return
        room = self._size - self._fill
        if self.encapsulation_idle:
            idle = EncapsulationPacket.idle(room).encode()
        else:
            idle = idle_space_packet(max(room, _MIN_SPACE_PACKET))
        self.idle_octets += len(idle)
        self.packets -= 1  # _pack counts it; fill is not a packet
        self._pack(idle)
