"""Fuzz harness for the virtual channel receiver (:class:`comms.vc.MasterChannelReceiver`).

The rules, on any input:

- ``receive_bytes`` never raises: every frame, of any length and content, is taken or
  becomes an event (``FrameRejected``, ``UnknownSpacecraft``, ``UnknownVirtualChannel``);
- ``receive_many`` over the same whole frames gives the same packets, events and
  counters as ``receive_bytes`` frame by frame, also from a 2-D array and through its
  derandomizer; handed a buffer that is not whole frames it raises ``UsageError`` (its
  one documented error) and takes nothing;
- the events account for the input: every frame handed in is counted, each refusal is
  one event and one count, gaps and discarded octets match the VC counters, every
  packet delivered is a well-formed packet, and no more octets come out as packets or
  discards than went in.

The first input octet picks the managed parameters (small frames, so random inputs fill
several; some without FECF, so random frames get past the CRC); the rest is the frame
stream. The receiver's spacecraft id is the one the first frame names, so random frames
reach the virtual channel layer. Run with atheris (the ``fuzz`` extra)::

    python -m tools.fuzz.fuzz_vc -max_total_time=60

Without atheris installed, ``python -m tools.fuzz.fuzz_vc FILE...`` replays inputs.
"""

from __future__ import annotations

import sys
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from comms.coding import randomize_tm_many
from comms.encap import EncapsulationPacket
from comms.errors import UsageError
from comms.frames import AosParams, TmParams, UslpParams
from comms.spp import SpacePacket
from comms.vc import (
    FrameGap,
    FrameRejected,
    MasterChannelReceiver,
    PacketDiscarded,
    RejectReason,
    UnknownSpacecraft,
    UnknownVirtualChannel,
    VcEvent,
)


@dataclass(frozen=True)
class Target:
    """A receiver configuration: managed parameters, VCIDs, the packet length bound."""

    params: TmParams | AosParams | UslpParams
    vcids: tuple[int, ...] | None = None
    max_packet_length: int = 65542

    def receiver(self, data: bytes) -> MasterChannelReceiver:
        return MasterChannelReceiver(
            self.params,
            _scid_of(self.params, data),
            vcids=self.vcids,
            max_packet_length=self.max_packet_length,
        )


TARGETS: list[Target] = [
    Target(TmParams(24, has_fecf=False)),
    Target(TmParams(32, has_ocf=None)),
    Target(TmParams(30, has_ocf=None, has_fecf=False, secondary_header_length=2), (0, 1)),
    Target(TmParams(40, has_fecf=False), max_packet_length=16),
    Target(AosParams(24, has_fecf=False)),
    Target(AosParams(36, has_fhec=True, insert_zone_length=2, has_ocf=True)),
    Target(AosParams(28, has_fecf=False), (1, 2)),
    Target(UslpParams(frame_length=32, fecf_length=0)),
    Target(UslpParams(frame_length=40, insert_zone_length=1, vcf_count_length=1)),
    Target(UslpParams(frame_length=36, fecf_length=0, has_ocf=False), (3,), 20),
]


def _scid_of(params: TmParams | AosParams | UslpParams, data: bytes) -> int:
    """The spacecraft id field of the frame at the start of ``data`` (0 if too short)."""
    if isinstance(params, TmParams):
        return (int.from_bytes(data[:2], "big") >> 4) & 0x3FF if len(data) >= 2 else 0
    if isinstance(params, AosParams):
        return (int.from_bytes(data[:2], "big") >> 6) & 0xFF if len(data) >= 2 else 0
    return (int.from_bytes(data[:4], "big") >> 12) & 0xFFFF if len(data) >= 4 else 0


Snapshot = tuple[list[SpacePacket | EncapsulationPacket], list[VcEvent], object, object]


def _snapshot(receiver: MasterChannelReceiver) -> Snapshot:
    vcs = {v: receiver.vc_counters(v) for v in receiver.vcids}
    return receiver.packets(), receiver.events(), receiver.counters, vcs


def check(data: bytes) -> None:
    """One fuzz input: see the module docstring for the rules."""
    if not data:
        return
    target = TARGETS[data[0] % len(TARGETS)]
    stream = data[1:]
    length = target.params.frame_length
    assert length is not None
    whole = len(stream) - len(stream) % length
    frames = [stream[i : i + length] for i in range(0, whole, length)]

    one_by_one = target.receiver(stream)
    for frame in frames:
        one_by_one.receive_bytes(frame)
    packets, events, counters, vcs = _snapshot(one_by_one)
    _account(one_by_one, frames, packets, events)

    batch = target.receiver(stream)
    batch.receive_many(stream[:whole])
    assert _snapshot(batch) == (packets, events, counters, vcs), "receive_many differs"
    if frames:
        rows = np.frombuffer(stream[:whole], dtype=np.uint8).reshape(-1, length)
        array = target.receiver(stream)
        array.receive_many(randomize_tm_many(rows), derandomize=True)
        assert _snapshot(array) == (packets, events, counters, vcs), "derandomize differs"

    if whole != len(stream):
        # A piece that is not a whole frame: one LENGTH rejection from receive_bytes ...
        before = one_by_one.counters.rejected
        one_by_one.receive_bytes(stream[whole:])
        (refusal,) = one_by_one.events()
        assert isinstance(refusal, FrameRejected) and refusal.reason is RejectReason.LENGTH
        assert one_by_one.counters.rejected == before + 1
        # ... and receive_many refuses the whole buffer without taking any of it.
        refused = target.receiver(stream)
        try:
            refused.receive_many(stream)
        except UsageError:
            pass
        else:
            raise AssertionError("receive_many took a buffer that is not whole frames")
        assert refused.counters.frames == 0 and not refused.events()


def _account(
    receiver: MasterChannelReceiver,
    frames: list[bytes],
    packets: list[SpacePacket | EncapsulationPacket],
    events: list[VcEvent],
) -> None:
    """The events and counters account for every frame and octet handed in."""
    counters = receiver.counters
    assert counters.frames == len(frames)
    rejections = [e for e in events if isinstance(e, FrameRejected)]
    crc = [e for e in rejections if e.reason is RejectReason.FECF]
    assert len(crc) == counters.crc_failures
    assert len(rejections) - len(crc) == counters.rejected
    assert sum(isinstance(e, UnknownSpacecraft) for e in events) == counters.unknown_scid
    assert sum(isinstance(e, UnknownVirtualChannel) for e in events) == counters.unknown_vcid
    vc_frames = 0
    delivered = 0
    for vcid in receiver.vcids:
        vc = receiver.vc_counters(vcid)
        gaps = [e for e in events if isinstance(e, FrameGap) and e.vcid == vcid]
        assert len(gaps) == vc.gaps and sum(g.missing for g in gaps) == vc.frames_missing
        discards = [e for e in events if isinstance(e, PacketDiscarded) and e.vcid == vcid]
        assert sum(d.octets for d in discards) == vc.octets_discarded
        assert vc.partials_discarded <= len(discards)
        assert vc.idle_frames <= vc.frames
        vc_frames += vc.frames
        delivered += vc.packets
    # Every frame lands somewhere: refused, of another spacecraft or VC, idle, or taken
    # by a VC (a VC's frame with a bad first header pointer is taken and then refused).
    landed = (
        counters.crc_failures
        + counters.rejected
        + counters.unknown_scid
        + counters.unknown_vcid
        + counters.idle_frames
        + vc_frames
    )
    assert landed >= len(frames), "a frame went unaccounted"
    assert len(packets) == delivered
    out = 0
    for packet in packets:
        raw = packet.encode()
        again = type(packet).decode(raw)
        assert again == packet, "a delivered packet does not re-decode to itself"
        assert raw[0] >> 5 in (0, 7)
        out += len(raw)
    discarded = sum(receiver.vc_counters(v).octets_discarded for v in receiver.vcids)
    assert out + discarded <= sum(map(len, frames)), "more octets out than in"


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv if argv is None else argv
    try:
        import atheris  # type: ignore[import-not-found,unused-ignore]
    except ImportError:
        for name in argv[1:]:
            check(Path(name).read_bytes())
        return 0
    # The receiver is imported already; instrument it so coverage guides the fuzzer.
    atheris.instrument_all()
    atheris.Setup(argv, check)
    atheris.Fuzz()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
