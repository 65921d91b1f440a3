"""The TC MAP packet service with segmentation (CCSDS 232.0-B-4 4.3.2 and 4.4, the
segment header of 4.1.3.2).

Send side, :class:`MapSender`: each packet goes into TC frames of one MAP channel. A
packet that fits the frame's data field goes whole (sequence flags 11, "unsegmented");
a longer one is split into a first segment (01), continuation segments (00) and a last
segment (10), each in its own frame with the segment header ``flags << 6 | map_id``.
On a virtual channel without segment headers every packet must fit one frame.

Receive side, :class:`MapReassembler`: frames in (decoded :class:`~comms.frames.TcFrame`
values or raw octets), packets out, per (VCID, MAP id). Reassembly is bounded
(``max_unit_length``) and aborts cleanly when a segment is missing: a first segment or
an unsegmented unit arriving while a unit is open, or a continuation/last segment with
no open unit, drops what cannot be completed and reports :class:`MapAborted`; the state
is then as if nothing had been open. A segmented unit is one packet, so a unit that
runs past its packet's length field (a lost last segment and first segment in a row,
which the flags cannot show) is aborted too instead of glued. An unsegmented unit is
split into its packets (packet blocking, 232.0-B-4 4.3.2.2.1).

Left out: COP-1 (the FOP assigns frame sequence numbers for Type-AD frames and
retransmits; the sender here numbers frames itself, which suits Type-BD), packet
blocking on the send side, and the MAP access (MAPA_SDU) service.
"""

from __future__ import annotations

from comms.buffers import BytesLike
from comms.encap import EncapsulationPacket, ProtocolId, packet_length
from comms.errors import DecodeError, UsageError
from comms.frames._value import FecfError
from comms.frames.params import TC_MAX_FRAME_LENGTH, TcParams
from comms.frames.tc import SEQUENCE_FLAGS_UNSEGMENTED, TcFrame
from comms.spp.packet import SpacePacket
from comms.vc.events import DiscardReason, FrameRejected, MapAborted, RejectReason, VcEvent
from comms.vc.sender import Packet, as_packet_bytes

__all__ = ["MapReassembler", "MapSender"]

FIRST = 0b01
CONTINUATION = 0b00
LAST = 0b10
UNSEGMENTED = SEQUENCE_FLAGS_UNSEGMENTED


class MapSender:
    """Packets into the TC frames of MAP ``map_id`` on virtual channel ``vcid``.

    ``max_frame_length`` (default 1024, the protocol maximum of 232.0-B-4 4.1.2.7; a
    mission's managed maximum is often smaller) bounds every frame. ``bypass`` marks
    the frames Type-B (default False: Type-A, sequence-controlled by COP-1).
    ``frame_sequence_number`` is the N(S) of the first frame; the sender counts on
    modulo 256 (a FOP would rewrite it).
    """

    def __init__(
        self,
        params: TcParams,
        scid: int,
        vcid: int,
        map_id: int = 0,
        *,
        max_frame_length: int = TC_MAX_FRAME_LENGTH,
        bypass: bool = False,
        frame_sequence_number: int = 0,
    ) -> None:
        if not isinstance(params, TcParams):
            raise UsageError(f"params must be TcParams, got {type(params).__name__}.")
        overhead = 5 + params.has_segment_header + 2 * params.has_fecf
        if (
            isinstance(max_frame_length, bool)
            or not isinstance(max_frame_length, int)
            or not overhead < max_frame_length <= TC_MAX_FRAME_LENGTH
        ):
            raise UsageError(
                f"max_frame_length must be an int in {overhead + 1}..{TC_MAX_FRAME_LENGTH}, "
                f"got {max_frame_length!r}."
            )
        # Build one frame now: TcFrame checks scid, vcid and map_id with full sentences.
        TcFrame(
            scid,
            vcid,
            frame_sequence_number,
            b"\x00",
            map_id=map_id if params.has_segment_header else None,
        )
        self.params = params
        self.scid = scid
        self.vcid = vcid
        self.map_id = map_id
        self.bypass = bool(bypass)
        self.frame_sequence_number = frame_sequence_number
        self.max_data_length = max_frame_length - overhead
        self.packets = 0
        self.frames = 0

    def add_packet(self, packet: Packet) -> list[TcFrame]:
        """The frames carrying ``packet``: one, or its segments in order."""
        raw = as_packet_bytes(packet)
        size = self.max_data_length
        if len(raw) <= size:
            pieces = [(UNSEGMENTED, raw)]
        elif not self.params.has_segment_header:
            raise UsageError(
                f"A {len(raw)}-octet packet does not fit the {size}-octet data field and this "
                "virtual channel has no segment header; set TcParams.has_segment_header."
            )
        else:
            pieces = [(CONTINUATION, raw[i : i + size]) for i in range(0, len(raw), size)]
            pieces[0] = (FIRST, pieces[0][1])
            pieces[-1] = (LAST, pieces[-1][1])
        self.packets += 1
        return [self._frame(flags, data) for flags, data in pieces]

    def _frame(self, flags: int, data: bytes) -> TcFrame:
        fsn = self.frame_sequence_number
        self.frame_sequence_number = (fsn + 1) & 0xFF
        self.frames += 1
        has_sh = self.params.has_segment_header
        return TcFrame(
            self.scid,
            self.vcid,
            fsn,
            data,
            bypass_flag=self.bypass,
            map_id=self.map_id if has_sh else None,
            sequence_flags=flags if has_sh else UNSEGMENTED,
            has_fecf=self.params.has_fecf,
        )


class MapReassembler:
    """TC frames in, packets out, one reassembly per (VCID, MAP id).

    ``max_unit_length`` (default 65542, the largest Space Packet): a segmented unit
    growing past it is aborted (:class:`MapAborted` with reason TOO_LONG) rather than
    buffered without bound. Control command frames (COP-1 directives) carry no packets
    and are ignored here. Counters: ``packets``, ``aborted``, ``frames``.
    """

    def __init__(self, params: TcParams, *, max_unit_length: int = 65542) -> None:
        if not isinstance(params, TcParams):
            raise UsageError(f"params must be TcParams, got {type(params).__name__}.")
        if isinstance(max_unit_length, bool) or not isinstance(max_unit_length, int):
            raise UsageError(f"max_unit_length must be an int, got {max_unit_length!r}.")
        if max_unit_length < 7:
            raise UsageError(f"max_unit_length must be at least 7, got {max_unit_length}.")
        self.params = params
        self.max_unit_length = max_unit_length
        self._open: dict[tuple[int, int], bytearray] = {}
        self._packets: list[SpacePacket | EncapsulationPacket] = []
        self._events: list[VcEvent] = []
        self.frames = 0
        self.packets_out = 0
        self.aborted = 0
        self.crc_failures = 0
        self.rejected = 0

    def packets(self) -> list[SpacePacket | EncapsulationPacket]:
        """Drain the packets reassembled so far."""
        packets, self._packets = self._packets, []
        return packets

    def events(self) -> list[VcEvent]:
        """Drain the events reported so far."""
        events, self._events = self._events, []
        return events

    @property
    def open_units(self) -> int:
        """MAPs with a segmented unit in progress."""
        return len(self._open)

    def receive_bytes(self, frame: BytesLike) -> None:
        """Decode one TC frame with the params and take it; bad frames become events."""
        try:
            decoded = TcFrame.decode(frame, self.params)
        except FecfError:
            self.crc_failures += 1
            self._events.append(FrameRejected(RejectReason.FECF, "TC frame FECF mismatch"))
            return
        except DecodeError as error:
            self.rejected += 1
            self._events.append(FrameRejected(RejectReason.MALFORMED, str(error)))
            return
        self.receive_frame(decoded)

    def receive_frame(self, frame: TcFrame) -> None:
        """Take one decoded TC frame."""
        self.frames += 1
        if frame.control_command_flag:
            return
        map_id = frame.map_id if frame.map_id is not None else 0
        key = (frame.vcid, map_id)
        flags = frame.sequence_flags if frame.map_id is not None else UNSEGMENTED
        data = frame.data_field
        unit = self._open.get(key)
        if flags in (UNSEGMENTED, FIRST):
            if unit is not None:
                self._abort(key, DiscardReason.MISSING_SEGMENT, len(unit))
            if flags == UNSEGMENTED:
                self._split(key, data)
            else:
                self._open[key] = bytearray(data)
                self._bound(key)
            return
        if unit is None:
            # A continuation or last segment with no first: its first was lost.
            self.aborted += 1
            self._events.append(
                MapAborted(key[0], key[1], DiscardReason.MISSING_SEGMENT, len(data))
            )
            return
        unit += data
        if not self._bound(key):
            return
        # A segmented unit is one packet: its length field says where it must end. A
        # unit running past it (or a last segment short of it) has lost a last and a
        # first segment in between, which the flags alone cannot show: never glue.
        need = _unit_length(unit)
        if need is not None and (len(unit) > need or (flags == LAST and len(unit) != need)):
            self._abort(key, DiscardReason.MISSING_SEGMENT, len(unit))
            return
        if flags == LAST:
            del self._open[key]
            self._split(key, bytes(unit))

    def abort(self, vcid: int | None = None) -> None:
        """Drop the open units (of ``vcid``, or all): e.g. after a COP-1 unlock."""
        for key in [k for k in self._open if vcid is None or k[0] == vcid]:
            self._abort(key, DiscardReason.MISSING_SEGMENT, len(self._open[key]))

    def _bound(self, key: tuple[int, int]) -> bool:
        unit = self._open[key]
        if len(unit) > self.max_unit_length:
            self._abort(key, DiscardReason.TOO_LONG, len(unit))
            return False
        return True

    def _abort(self, key: tuple[int, int], reason: DiscardReason, octets: int) -> None:
        self._open.pop(key, None)
        self.aborted += 1
        self._events.append(MapAborted(key[0], key[1], reason, octets))

    def _split(self, key: tuple[int, int], unit: bytes) -> None:
        """Whole packets out of a complete unit; anything else aborts the rest."""
        pos = 0
        n = len(unit)
        while pos < n:
            b0 = unit[pos]
            try:
                if b0 < 0x20:
                    if n - pos < 7:
                        raise DecodeError("short", offset=pos)
                    stop = pos + 7 + (unit[pos + 4] << 8 | unit[pos + 5])
                    if stop > n:
                        raise DecodeError("long", offset=pos)
                    space_packet = SpacePacket.decode(unit[pos:stop])
                    idle = space_packet.apid == 0x7FF
                    packet: SpacePacket | EncapsulationPacket = space_packet
                else:
                    total = packet_length(unit[pos : pos + 8])
                    if total is None or pos + total > n:
                        raise DecodeError("long", offset=pos)
                    stop = pos + total
                    packet = EncapsulationPacket.decode(unit[pos:stop])
                    idle = packet.protocol_id == ProtocolId.IDLE
            except DecodeError:
                self.aborted += 1
                self._events.append(MapAborted(key[0], key[1], DiscardReason.BAD_UNIT, n - pos))
                return
            if not idle:
                self._packets.append(packet)
                self.packets_out += 1
            pos = stop


def _unit_length(unit: bytearray) -> int | None:
    """The length the packet at the start of ``unit`` announces (None: not known yet)."""
    if unit[0] < 0x20:
        return (unit[4] << 8 | unit[5]) + 7 if len(unit) >= 6 else None
    try:
        return packet_length(unit[:8])
    except DecodeError:
        return None  # not a packet: _split reports the unit as bad
