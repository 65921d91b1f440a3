"""CCSDS Space Packets (133.0-B-2, Space Packet Protocol).

- :class:`SpacePacket`: the packet value, ``decode``/``encode``
  (:mod:`comms.spp.packet`);
- :class:`PrimaryHeader` and the ``peek_*`` functions: zero-copy header reads
  (:mod:`comms.spp.header`);
- :class:`PacketExtractor`: packets out of a byte stream cut anywhere
  (:mod:`comms.spp.extractor`);
- :class:`SequenceCounter` and :class:`SequenceChecker`: per-APID sequence counts on
  the send and receive sides (:mod:`comms.spp.sequence`);
- :func:`segment` and :class:`Reassembler`: units larger than one packet, with the
  sequence flags (:mod:`comms.spp.segmentation`).

See docs/packets.md for a walk through all of them.
"""

from comms.spp.extractor import (
    DiscardReason,
    OctetsDiscarded,
    PacketExtractor,
)
from comms.spp.header import PrimaryHeader, peek_apid, peek_packet_length, peek_sequence_count
from comms.spp.packet import (
    IDLE_APID,
    MAX_DATA_LENGTH,
    MAX_SEQUENCE_COUNT,
    PRIMARY_HEADER_LENGTH,
    PacketType,
    SequenceFlags,
    SpacePacket,
)
from comms.spp.segmentation import (
    AbortReason,
    Reassembler,
    SegmentMissing,
    UnitReassembled,
    segment,
)
from comms.spp.sequence import (
    SequenceChecker,
    SequenceCounter,
    SequenceDuplicate,
    SequenceGap,
)

__all__ = [
    "IDLE_APID",
    "MAX_DATA_LENGTH",
    "MAX_SEQUENCE_COUNT",
    "PRIMARY_HEADER_LENGTH",
    "AbortReason",
    "DiscardReason",
    "OctetsDiscarded",
    "PacketExtractor",
    "PacketType",
    "PrimaryHeader",
    "Reassembler",
    "SegmentMissing",
    "SequenceChecker",
    "SequenceCounter",
    "SequenceDuplicate",
    "SequenceFlags",
    "SequenceGap",
    "SpacePacket",
    "UnitReassembled",
    "peek_apid",
    "peek_packet_length",
    "peek_sequence_count",
    "segment",
]
