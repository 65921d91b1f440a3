"""Space Packets out of a byte stream cut anywhere (CCSDS 133.0-B-2 4.1, with the
packet extraction of 132.0-B-3 4.3.2.7 / 732.0-B-4 4.3.2 in mind).

:class:`PacketExtractor` is sans-I/O: ``feed(chunk)`` returns the packets completed by
that chunk and keeps a partial packet for the next call, so any split of the same
octets gives the same packets. It is what sits behind a virtual channel's packet
reassembly (the chunks are frame data fields) or a socket carrying bare packets.

Space Packets carry no sync marker: the only way to find the next packet is the length
field of the current one. That shapes three choices:

- ``gap()``: the caller (who knows, e.g. from a lost frame) says octets were lost.
  The partial packet is dropped and counted, never glued to the octets that follow,
  and the next octet fed is taken as the start of a packet (after a frame loss, feed
  from the next frame's first header pointer).
- A header with a version other than 0, or one announcing a packet longer than
  ``max_packet_length``, means the stream is not where we thought it was. Guessing a
  resync point would hand out packets made of garbage, so the extractor *loses sync*:
  it never raises, reports the octets it throws away as :class:`OctetsDiscarded`
  events (drained with ``events()``) and counters, and discards everything until the
  caller calls ``gap()`` at a known packet boundary.
- Idle packets (APID 0x7FF, 4.1.3.3.4.4) are fill: skipped and counted by default.

Left out: searching the stream for plausible headers after a sync loss (spacepackets'
``parse_space_packets`` does this against a list of known packet ids); the data link
layer's first header pointer is the reliable boundary.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass
from typing import Final

from comms.buffers import BytesLike
from comms.errors import UsageError
from comms.spp.packet import MAX_DATA_LENGTH, PRIMARY_HEADER_LENGTH, SpacePacket

__all__ = ["DiscardReason", "OctetsDiscarded", "PacketExtractor"]

MAX_PACKET_LENGTH: Final = PRIMARY_HEADER_LENGTH + MAX_DATA_LENGTH
_new = object.__new__


class DiscardReason(enum.Enum):
    """Why octets of the stream were thrown away."""

    GAP = "gap"
    """``gap()`` dropped a partial packet."""
    BAD_VERSION = "bad version"
    """A header had a packet version number other than 0: sync lost here."""
    TOO_LONG = "too long"
    """A header announced more than ``max_packet_length`` octets: sync lost here."""
    OUT_OF_SYNC = "out of sync"
    """Octets fed after sync was lost and before ``gap()``."""


@dataclass(frozen=True, slots=True)
class OctetsDiscarded:
    """Octets the extractor threw away rather than deliver as (part of) a packet."""

    reason: DiscardReason
    data: bytes


class PacketExtractor:
    """Sans-I/O Space Packet stream parser.

    ``feed(chunk)`` returns the :class:`~comms.spp.SpacePacket` values completed so far
    (every header field is available on them at the cost of an octet read).
    ``events()`` drains :class:`OctetsDiscarded` reports. Counters are plain
    attributes: ``packets``, ``idle_packets``, ``packet_octets`` (octets of delivered
    and idle packets), ``partials_dropped``, ``sync_losses``, ``discarded_octets``.

    ``skip_idle`` (default True): idle packets are fill and carry nothing for the user.
    ``max_packet_length`` (default 65542, the protocol maximum): a lower bound lets a
    receiver that knows its mission's largest packet spot a corrupt length field at
    once instead of swallowing up to 64 KiB of good packets as one bad one.
    """

    def __init__(self, *, skip_idle: bool = True, max_packet_length: int = MAX_PACKET_LENGTH):
        if not isinstance(max_packet_length, int) or not (
            PRIMARY_HEADER_LENGTH + 1 <= max_packet_length <= MAX_PACKET_LENGTH
        ):
            raise UsageError(
                f"max_packet_length must be an integer from 7 to {MAX_PACKET_LENGTH} "
                f"(header plus 1 to {MAX_DATA_LENGTH} data octets), not {max_packet_length!r}."
            )
        self.skip_idle = bool(skip_idle)
        self.max_packet_length = max_packet_length
        self.packets = 0
        self.idle_packets = 0
        self.packet_octets = 0
        self.partials_dropped = 0
        self.sync_losses = 0
        self.discarded_octets = 0
        self._in_sync = True
        self._pending = bytearray()
        # Octets _pending must reach before parsing is worth trying again: keeps
        # byte-by-byte feeding linear instead of re-parsing the partial each time.
        self._need = PRIMARY_HEADER_LENGTH
        self._events: list[OctetsDiscarded] = []

    @property
    def in_sync(self) -> bool:
        """False after a bad header until ``gap()``."""
        return self._in_sync

    @property
    def pending(self) -> int:
        """Octets held in a partial packet."""
        return len(self._pending)

    def events(self) -> list[OctetsDiscarded]:
        """Drain the discard reports gathered since the last call."""
        events, self._events = self._events, []
        return events

    def gap(self) -> None:
        """Octets were lost: drop the partial packet; the next octet fed starts a packet.

        Also the way back into sync after a bad header.
        """
        if self._pending:
            self.partials_dropped += 1
            self._discard(DiscardReason.GAP, bytes(self._pending))
            self._pending.clear()
        self._need = PRIMARY_HEADER_LENGTH
        self._in_sync = True

    def feed(self, chunk: BytesLike) -> list[SpacePacket]:
        """Take the next octets of the stream; return the packets they complete."""
        buf = chunk if chunk.__class__ is bytes else bytes(chunk)
        if not self._in_sync:
            if buf:
                self._discard(DiscardReason.OUT_OF_SYNC, buf)
            return []
        out: list[SpacePacket] = []
        n = len(buf)
        i = 0
        idle = 0
        octets = 0
        skip_idle = self.skip_idle
        max_data_length = self.max_packet_length - 7
        pending = self._pending
        if pending:
            # Finish the packet begun in an earlier chunk, copying only its own octets.
            view = memoryview(buf)
            if len(pending) < PRIMARY_HEADER_LENGTH:
                take = PRIMARY_HEADER_LENGTH - len(pending)
                if n < take:
                    pending += buf
                    return out
                pending += view[:take]
                i = take
                b0 = pending[0]
                data_length = pending[4] << 8 | pending[5]
                if b0 >= 0x20 or data_length > max_data_length:
                    self._lose_sync(bytes(pending) + buf[i:], b0 >= 0x20)
                    return out
                self._need = data_length + 7
            take = self._need - len(pending)
            if n - i < take:
                pending += view[i:]
                return out
            pending += view[i : i + take]
            i += take
            raw = bytes(pending)
            pending.clear()
            self._need = PRIMARY_HEADER_LENGTH
            octets = len(raw)
            if raw[0] & 0x07 == 0x07 and raw[1] == 0xFF and skip_idle:
                idle = 1
            else:
                out.append(SpacePacket._from_raw(raw))
        start = i
        append = out.append
        new = _new
        packet_class = SpacePacket
        limit = n - PRIMARY_HEADER_LENGTH
        # The hot loop: four octet reads, one slice, one allocation per packet. The
        # first octet is tested once for both rare cases: a version other than 0
        # (0xE0 bits) and APID high bits 0b111 (a possible idle packet). Without a
        # bound below the protocol's, the length test is dropped from the loop (the
        # field cannot exceed it): measured 6 % of the loop's time.
        if max_data_length >= MAX_DATA_LENGTH - 1:
            while i <= limit:
                b0 = buf[i]
                end = i + 7 + (buf[i + 4] << 8 | buf[i + 5])
                if b0 & 0xE7 >= 0x07:
                    if b0 >= 0x20:
                        self._lose_sync(buf[i:], True)
                        n = i  # nothing more to parse or keep
                        break
                    if buf[i + 1] == 0xFF and skip_idle:
                        if end > n:
                            break
                        idle += 1
                        i = end
                        continue
                if end > n:
                    break
                packet = new(packet_class)
                packet._raw = buf[i:end]
                append(packet)
                i = end
        else:
            while i <= limit:
                b0 = buf[i]
                data_length = buf[i + 4] << 8 | buf[i + 5]
                end = i + 7 + data_length
                if b0 & 0xE7 >= 0x07 or data_length > max_data_length:
                    if b0 >= 0x20 or data_length > max_data_length:
                        self._lose_sync(buf[i:], b0 >= 0x20)
                        n = i
                        break
                    if buf[i + 1] == 0xFF and skip_idle:
                        if end > n:
                            break
                        idle += 1
                        i = end
                        continue
                if end > n:
                    break
                packet = new(packet_class)
                packet._raw = buf[i:end]
                append(packet)
                i = end
        if i < n:
            # A partial packet (header checked if complete): keep it for the next chunk.
            pending += memoryview(buf)[i:]
            if n - i >= PRIMARY_HEADER_LENGTH:
                self._need = (buf[i + 4] << 8 | buf[i + 5]) + 7
        self.packets += len(out)
        self.idle_packets += idle
        self.packet_octets += octets + i - start
        return out

    def _lose_sync(self, garbage: bytes, bad_version: bool) -> None:
        self.sync_losses += 1
        self._in_sync = False
        self._pending.clear()
        self._need = PRIMARY_HEADER_LENGTH
        self._discard(DiscardReason.BAD_VERSION if bad_version else DiscardReason.TOO_LONG, garbage)

    def _discard(self, reason: DiscardReason, data: bytes) -> None:
        self.discarded_octets += len(data)
        self._events.append(OctetsDiscarded(reason, data))
