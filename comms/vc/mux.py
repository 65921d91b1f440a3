"""Master channel multiplexing, send side (132.0-B-3 4.3.5 / 732.0-B-4 4.3.6 and
4.3.7 for the idle frames; 732.1-B-2 4.3.8).

:class:`MasterChannelMux` holds the virtual channels of one spacecraft on one physical
channel: each VC packs its packets into frames (:class:`~comms.vc.VcPacketSender`), the
completed frames wait in a queue per VC, and the mux decides which VC's frame goes out
next. 132.0-B-3 leaves the algorithm to the mission; three are offered
(:class:`MuxPolicy`):

- ``STRICT_PRIORITY``: the VC with the lowest ``priority`` number that has a frame
  (ties by VCID). Simple and right for housekeeping over bulk data, but a busy high
  priority VC starves the rest.
- ``ROUND_ROBIN``: one frame from each VC with frames in turn.
- ``WEIGHTED``: smooth weighted round-robin (the nginx upstream algorithm): over any
  window, VC ``v`` gets ``weight[v] / sum(weights)`` of the frames, interleaved rather
  than in bursts.

At the frame level the mux adds what belongs to the master channel: the TM master
channel frame count (8 bits, every frame including idle ones) and the OCF, which
carries the CLCW last given to ``set_clcw`` when the params say frames have an OCF.
``next_frame()`` is for a physical channel that must never be silent: it returns a
queued frame, else flushes the partly filled frame of the first VC (in policy order)
that has one, else an idle frame (TM: first header pointer 0x7FE on ``idle_vcid``,
default 7; AOS and USLP: VCID 63).

Left out: the TM master channel / AOS virtual channel frame services (inserting frames
built elsewhere) and release timers (the caller calls ``next_frame`` on its own clock).
"""

from __future__ import annotations

import enum
from dataclasses import dataclass

from comms.buffers import BytesLike
from comms.errors import UsageError
from comms.frames.aos import AOS_IDLE_VCID
from comms.frames.clcw import Clcw
from comms.frames.params import AosParams, TmParams, UslpParams
from comms.vc._format import make_builder
from comms.vc.sender import Packet, VcPacketSender, as_packet_bytes

__all__ = ["MasterChannelMux", "MuxPolicy"]


class MuxPolicy(enum.Enum):
    """How the next frame's virtual channel is chosen."""

    STRICT_PRIORITY = "strict priority"
    ROUND_ROBIN = "round robin"
    WEIGHTED = "weighted"


@dataclass(slots=True)
class _Slot:
    sender: VcPacketSender
    priority: int
    weight: int
    current: int = 0  # smooth weighted round-robin state


class MasterChannelMux:
    """Virtual channels of spacecraft ``scid`` multiplexed onto one master channel.

    ``idle_vcid`` (TM only, default 7, a common convention): the VC of the idle frames
    (AOS and USLP idle frames are on VCID 63). Options given to ``add_virtual_channel``
    beyond priority and weight go to its :class:`~comms.vc.VcPacketSender`.
    """

    def __init__(
        self,
        params: TmParams | AosParams | UslpParams,
        scid: int,
        *,
        policy: MuxPolicy = MuxPolicy.ROUND_ROBIN,
        idle_vcid: int = 7,
    ) -> None:
        if not isinstance(policy, MuxPolicy):
            raise UsageError(f"policy must be a MuxPolicy, got {policy!r}.")
        self.params = params
        self.scid = scid
        self.policy = policy
        self._slots: dict[int, _Slot] = {}
        self._order: list[_Slot] = []  # VCID order for ties and round-robin
        self._rr_next = 0
        self._tm = isinstance(params, TmParams)
        self.idle_vcid = idle_vcid if self._tm else AOS_IDLE_VCID
        self._idle_builder = make_builder(params, scid, idle_vcid if self._tm else 0, idle=True)
        self._idle_count = 0
        self._ocf = Clcw(vcid=0, report_value=0).encode() if self._idle_builder.has_ocf else b""
        #: The TM master channel frame count of the next frame.
        self.mc_frame_count = 0
        #: Frames emitted, idle frames among them.
        self.frames = 0
        self.idle_frames = 0

    def add_virtual_channel(
        self,
        vcid: int,
        *,
        priority: int = 0,
        weight: int = 1,
        encapsulation_idle: bool = False,
        secondary_header: bytes | None = None,
        insert_zone: bytes | None = None,
        map_id: int = 0,
        vcf_count_length: int | None = None,
        vc_frame_count: int = 0,
    ) -> VcPacketSender:
        """Add a VC; returns its sender (for counters; feed it through the mux)."""
        if vcid in self._slots:
            raise UsageError(f"Virtual channel {vcid} is already on this master channel.")
        if isinstance(weight, bool) or not isinstance(weight, int) or weight < 1:
            raise UsageError(f"weight must be a positive int, got {weight!r}.")
        if isinstance(priority, bool) or not isinstance(priority, int):
            raise UsageError(f"priority must be an int (lower goes first), got {priority!r}.")
        sender = VcPacketSender(
            self.params,
            self.scid,
            vcid,
            encapsulation_idle=encapsulation_idle,
            secondary_header=secondary_header,
            insert_zone=insert_zone,
            map_id=map_id,
            vcf_count_length=vcf_count_length,
            vc_frame_count=vc_frame_count,
        )
        slot = _Slot(sender, priority, weight)
        self._slots[vcid] = slot
        self._order = [self._slots[v] for v in sorted(self._slots)]
        if self.policy is MuxPolicy.STRICT_PRIORITY:
            self._order.sort(key=lambda s: s.priority)  # stable: VCID breaks ties
        return sender

    def sender(self, vcid: int) -> VcPacketSender:
        return self._slot(vcid).sender

    def _slot(self, vcid: int) -> _Slot:
        slot = self._slots.get(vcid)
        if slot is None:
            raise UsageError(
                f"Virtual channel {vcid} is not on this master channel; add_virtual_channel first."
            )
        return slot

    def set_clcw(self, clcw: Clcw | BytesLike) -> None:
        """The CLCW (4-octet OCF) carried by every frame from now on."""
        if not self._idle_builder.has_ocf:
            raise UsageError("This channel's frames have no OCF; set has_ocf=True in the params.")
        ocf = clcw.encode() if isinstance(clcw, Clcw) else bytes(clcw)
        if len(ocf) != 4:
            raise UsageError(f"An OCF is 4 octets, got {len(ocf)}.")
        self._ocf = ocf

    def add_packet(self, vcid: int, packet: Packet) -> None:
        """Queue ``packet`` on ``vcid``; completed frames wait for ``frames_to_send``."""
        self._slot(vcid).sender._pack(as_packet_bytes(packet))

    def flush(self, vcid: int | None = None) -> None:
        """Close the open frame of ``vcid`` (every VC if None) with idle fill."""
        slots = self._order if vcid is None else [self._slot(vcid)]
        for slot in slots:
            slot.sender._flush()

    @property
    def queued(self) -> int:
        """Completed frames waiting to go out."""
        return sum(len(s.sender._units) for s in self._order)

    def frames_to_send(self, max_frames: int | None = None) -> list[bytes]:
        """Drain up to ``max_frames`` (all if None) completed frames, in policy order."""
        out: list[bytes] = []
        while max_frames is None or len(out) < max_frames:
            slot = self._pick()
            if slot is None:
                break
            out.append(self._emit(slot))
        return out

    def next_frame(self) -> bytes:
        """Exactly one frame: queued, else a flushed partial frame, else an idle frame."""
        slot = self._pick()
        if slot is None:
            for candidate in self._order:
                if candidate.sender._fill:
                    candidate.sender._flush()
                    slot = self._pick()
                    break
        if slot is not None:
            return self._emit(slot)
        self.idle_frames += 1
        self.frames += 1
        if self._tm and self.idle_vcid in self._slots:
            # TM idle frames on a data VC share that VC's frame count.
            return self._slots[self.idle_vcid].sender._idle_frame(self._next_mc(), self._ocf)
        count = self._idle_count
        self._idle_count = (count + 1) % self._idle_builder.vc_count_modulus
        return self._idle_builder.idle_frame(count, self._next_mc(), self._ocf)

    # -- internals -------------------------------------------------------------------

    def _next_mc(self) -> int:
        count = self.mc_frame_count
        self.mc_frame_count = (count + 1) & 0xFF
        return count

    def _emit(self, slot: _Slot) -> bytes:
        sender = slot.sender
        count, fhp, data = sender._units.popleft()
        self.frames += 1
        return sender._builder.encode(count, self._next_mc(), fhp, data, self._ocf)

    def _pick(self) -> _Slot | None:
        order = self._order
        policy = self.policy
        if policy is MuxPolicy.STRICT_PRIORITY:
            for slot in order:
                if slot.sender._units:
                    return slot
            return None
        if policy is MuxPolicy.ROUND_ROBIN:
            n = len(order)
            for i in range(n):
                slot = order[(self._rr_next + i) % n]
                if slot.sender._units:
                    self._rr_next = (self._rr_next + i + 1) % n
                    return slot
            return None
        ready = [slot for slot in order if slot.sender._units]
        if not ready:
            return None
        total = 0
        best = ready[0]
        for slot in ready:
            slot.current += slot.weight
            total += slot.weight
            if slot.current > best.current:
                best = slot
        best.current -= total
        return best
