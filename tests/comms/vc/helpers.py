"""Shared builders for the virtual channel tests."""

from __future__ import annotations

from hypothesis import strategies as st

from comms.frames import AosParams, TmParams, UslpParams
from comms.spp import SpacePacket

SCID = 0x2A


def packet(index: int, length: int, apid: int | None = None) -> bytes:
    """A Space Packet of ``length`` >= 7 octets whose data says which one it is."""
    data = (index.to_bytes(4, "big") * (length // 4 + 1))[: length - 6]
    return SpacePacket(
        apid=index % 2000 if apid is None else apid, data=data, sequence_count=index & 0x3FFF
    ).encode()


# Lengths from the 7-octet minimum to several frames of the small test channels.
packet_lengths = st.integers(7, 40) | st.integers(7, 700)

params_strategy = st.sampled_from(
    [
        TmParams(80),
        TmParams(120, has_ocf=True),
        TmParams(100, secondary_header_length=3),
        AosParams(90),
        AosParams(110, has_fhec=True, insert_zone_length=2, has_ocf=True),
        UslpParams(frame_length=100),
        UslpParams(frame_length=120, fecf_length=4, has_ocf=True),
    ]
)
