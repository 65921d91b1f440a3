"""Fuzz the Encapsulation Packet decoder and extractor: accepted, or DecodeError.

Run ``python -m tools.fuzz.fuzz_encap [atheris/libFuzzer options]`` (needs the ``fuzz``
extra, atheris). :func:`test_one_input` is also driven by Hypothesis in the test suite.
"""

from __future__ import annotations

import contextlib
import sys

from comms.encap import EncapsulationPacket, EncapsulationPacketExtractor, packet_length
from comms.errors import DecodeError


def test_one_input(data: bytes) -> None:
    try:
        packet = EncapsulationPacket.decode(data)
    except DecodeError:
        pass
    else:
        assert packet.encode() == data, "decode then encode must give the octets back"
    with contextlib.suppress(DecodeError):
        packet_length(data)
    # The extractor never raises on link data and loses no octet: what it returns
    # (packets re-encoded, skipped runs, the flushed tail) is the input again.
    extractor = EncapsulationPacketExtractor(max_packet_length=4096)
    cut = data[0] % (len(data) + 1) if data else 0
    out = extractor.feed(data[:cut]) + extractor.feed(data[cut:]) + extractor.flush()
    rebuilt = b"".join(
        item.encode() if isinstance(item, EncapsulationPacket) else item.data for item in out
    )
    assert rebuilt == data, "the extractor lost or invented octets"


def main(argv: list[str] | None = None) -> None:
    import atheris  # lazily: only the fuzz extra installs it

    # The modules under test are already imported (above), so instrument what is loaded.
    atheris.instrument_all()
    atheris.Setup(sys.argv if argv is None else argv, test_one_input)
    atheris.Fuzz()


if __name__ == "__main__":
    main()
