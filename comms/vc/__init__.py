"""Virtual channel services, sans-I/O: packets into frames and back.

Implements the virtual channel packet service and master channel multiplexing of
CCSDS 132.0-B-3 (TM), 732.0-B-4 (AOS) and 732.1-B-2 (USLP, TFDZ construction rule 000,
"packets spanning frames"), and the MAP packet service with segmentation of 232.0-B-4
(TC). The frames themselves come from :mod:`comms.frames`, the packets from
:mod:`comms.spp` and :mod:`comms.encap`.

Send side (:mod:`comms.vc.sender`, :mod:`comms.vc.mux`):

- :class:`VcPacketSender` ``(params, scid, vcid)``: ``add_packet(packet) -> list[bytes]``
  returns the encoded frames the packet completed (first header pointers, packets
  spanning frames, the per-VC frame count: 8 bits TM, 24 bits AOS);
  ``flush() -> list[bytes]`` forces out a partially filled frame with idle fill (an
  idle packet, APID 0x7FF, or an Encapsulation idle packet); ``frame_due() -> bytes``
  gives one frame now, idle (TM first header pointer 0x7FE, AOS VCID 63) if nothing is
  pending; ``set_clcw(clcw)`` fills the OCF when the params have one.
- :class:`MasterChannelMux` ``(params, scid, policy=MuxPolicy.ROUND_ROBIN)``: several
  VCs on one master channel; ``add_virtual_channel(vcid, priority=, weight=)``,
  ``add_packet(vcid, packet)``, ``frames_to_send(max_frames=None) -> list[bytes]``,
  ``next_frame() -> bytes`` (always a frame: queued, else a flushed partial, else idle),
  the TM master channel frame count, and ``set_clcw``. :class:`MuxPolicy`: strict
  priority, round-robin, weighted round-robin.

Receive side (:mod:`comms.vc.receiver`):

- :class:`MasterChannelReceiver` ``(params, scid, vcids=None)``: ``receive_bytes(frame)``
  (the fast path: one exactly-framed buffer), ``receive_many(frames, derandomize=False)``
  (N frames back to back, or an (N, frame_length) uint8 array, derandomized in one
  numpy call), ``receive_frame(frame)`` (a decoded TmFrame/AosFrame/UslpFrame),
  ``receive_error(error)`` (a frame the caller failed to decode, e.g. FecfError).
  Drain ``packets()`` (SpacePacket and EncapsulationPacket values, in arrival order,
  idle packets skipped) and ``events()``. ``counters`` / ``vc_counters(vcid)`` hold
  running totals; ``last_ocf`` the latest OCF (a CLCW for COP-1).
- Lost frames (VC frame count gaps, wrap included) are :class:`FrameGap` events; the
  partial packet is dropped (:class:`PacketDiscarded`), never glued across the gap, and
  extraction resumes at the next first header pointer.

TC (:mod:`comms.vc.tc`):

- :class:`MapSender` ``(params, scid, vcid, map_id=0)``: ``add_packet(packet) ->
  list[TcFrame]``, splitting a packet larger than the frame into first, continuation
  and last segments (segment header sequence flags 01, 00, 10; 11 unsegmented).
- :class:`MapReassembler`: ``receive_frame(frame)`` and ``packets()``/``events()``;
  a missing segment aborts the unit cleanly (:class:`MapAborted`).

Left out: the VC access, VC frame and bitstream (B_PDU) services, SDLS, COP-1 (the
FOP sets TC frame sequence numbers; the FARM builds the CLCW), TC packet blocking on
the send side, and timers (a sender's ``frame_due`` is called by whoever owns the
clock, which keeps these machines free of time).
"""

from comms.vc.events import (
    DiscardReason,
    FrameGap,
    FrameRejected,
    MapAborted,
    MasterChannelCounters,
    PacketDiscarded,
    RejectReason,
    UnknownSpacecraft,
    UnknownVirtualChannel,
    VcCounters,
    VcEvent,
)
from comms.vc.mux import MasterChannelMux, MuxPolicy
from comms.vc.receiver import MasterChannelReceiver
from comms.vc.sender import VcPacketSender
from comms.vc.tc import MapReassembler, MapSender

__all__ = [
    "DiscardReason",
    "FrameGap",
    "FrameRejected",
    "MapAborted",
    "MapReassembler",
    "MapSender",
    "MasterChannelCounters",
    "MasterChannelMux",
    "MasterChannelReceiver",
    "MuxPolicy",
    "PacketDiscarded",
    "RejectReason",
    "UnknownSpacecraft",
    "UnknownVirtualChannel",
    "VcCounters",
    "VcEvent",
    "VcPacketSender",
]
