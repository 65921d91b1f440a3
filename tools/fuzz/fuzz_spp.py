"""Fuzz the Space Packet decoders: ``python -m tools.fuzz.fuzz_spp [libFuzzer options]``.

The one rule (STYLE.md 7): any input is accepted, or rejected with the documented
error. ``SpacePacket.decode`` returns a packet that re-encodes to the input or raises
DecodeError; ``PrimaryHeader.unpack_from`` likewise; ``PacketExtractor.feed``, fed
the input in fuzzer-chosen chunks, never raises and accounts for every octet (as a
packet, a pending partial or a discard), and a byte-by-byte feed agrees with it.

Needs atheris (``pip install -e '.[fuzz]'``), imported only when run. Example:
``python -m tools.fuzz.fuzz_spp -max_total_time=60 -max_len=512``.
"""

from __future__ import annotations

import sys

from comms.errors import DecodeError
from comms.spp import PacketExtractor, PrimaryHeader, SpacePacket


def test_one_input(data: bytes) -> None:
    """Check one fuzzer input; raises AssertionError (a finding) on a broken rule."""
    try:
        packet = SpacePacket.decode(data)
    except DecodeError:
        pass
    else:
        assert packet.encode() == data

    try:
        header = PrimaryHeader.unpack_from(data, 0)
    except DecodeError:
        pass
    else:
        assert header.pack() == data[:6]

    if not data:
        return
    # First octet picks the chunk size and whether idle packets are kept.
    step = (data[0] & 0x3F) + 1
    skip_idle = bool(data[0] & 0x40)
    stream = data[1:]
    chunked = PacketExtractor(skip_idle=skip_idle, max_packet_length=512 + 7)
    found = []
    for i in range(0, len(stream), step):
        found += chunked.feed(stream[i : i + step])
    assert chunked.packet_octets + chunked.pending + chunked.discarded_octets == len(stream)

    single = PacketExtractor(skip_idle=skip_idle, max_packet_length=512 + 7)
    found_single = []
    for i in range(len(stream)):
        found_single += single.feed(stream[i : i + 1])
    assert found == found_single
    assert b"".join(e.data for e in chunked.events()) == b"".join(e.data for e in single.events())
    chunked.gap()
    assert chunked.pending == 0 and chunked.in_sync


def main(argv: list[str] | None = None) -> None:
    import atheris  # an optional extra: only the harness needs it

    atheris.instrument_all()
    atheris.Setup(sys.argv if argv is None else argv, test_one_input)
    atheris.Fuzz()


if __name__ == "__main__":
    main()
