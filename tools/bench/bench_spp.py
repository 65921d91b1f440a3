"""Space Packets (133.0-B-2): decode, encode and stream extraction against spacepackets.

Groups:

- ``decode <n> B``: one packet of ``n`` data octets from bytes to an object with every
  header field available. The peer is spacepackets' object path: ``SpacePacketHeader
  .unpack`` plus a ``SpacePacket`` holding the data field (spacepackets 0.32 has no
  ``SpacePacket.unpack``); its header-only unpack is listed too.
- ``encode <n> B``: a packet built once, encoded in the loop; ``construct+encode``
  builds it in the loop as well.
- ``extract 1 MB``: a contiguous stream of 256-octet-data packets fed in 64 KiB chunks,
  each chunk's packets handled and dropped (a stream consumer). The peer is
  ``parse_space_packets`` (bytes out, no header fields), driven the way its docstring
  says: parse, keep the unscanned tail, prepend it to the next chunk. The ``+fields``
  rows read apid and sequence count of every packet (spacepackets: one header unpack).
- ``extract 1 MB, keep all``: the same, holding every packet until the end.
"""

from __future__ import annotations

import os

from spacepackets.ccsds.spacepacket import PacketId, SpacePacketHeader, parse_space_packets
from spacepackets.ccsds.spacepacket import PacketType as SpPacketType
from spacepackets.ccsds.spacepacket import SpacePacket as SpSpacePacket

from comms.spp import PacketExtractor, PacketType, SequenceFlags, SpacePacket
from tools.bench import Case

_APID = 0x123
_CHUNK = 64 * 1024


def _sp_decode(raw: bytes) -> SpSpacePacket:
    header = SpacePacketHeader.unpack(raw)
    return SpSpacePacket(header, None, raw[6 : header.packet_len])


_BATCH = 256


def _decode_cases(size: int) -> list[Case]:
    # Each call decodes a batch of distinct packets in one loop, the same loop for both
    # sides: a stream decoder's shape, and it keeps one Python call per packet (about
    # 60 ns, a quarter of our decode) out of the per-packet figure.
    group = f"decode {size} B"
    raws = [
        SpacePacket(apid=_APID, data=os.urandom(size), sequence_count=i).encode()
        for i in range(_BATCH)
    ]
    nbytes = sum(len(raw) for raw in raws)

    def theirs() -> object:
        for raw in raws:
            last = _sp_decode(raw)
        return last

    def theirs_header() -> object:
        unpack = SpacePacketHeader.unpack
        for raw in raws:
            last = unpack(raw)
        return last

    def ours() -> object:
        decode = SpacePacket.decode
        for raw in raws:
            last = decode(raw)
        return last

    def ours_fields() -> object:
        decode = SpacePacket.decode
        for raw in raws:
            packet = decode(raw)
            last = packet.apid, packet.sequence_count, packet.data
        return last

    return [
        Case(group, "spacepackets", theirs, _BATCH, nbytes),
        Case(group, "spacepackets header only", theirs_header, _BATCH, nbytes, "spacepackets"),
        Case(group, "dawnlink", ours, _BATCH, nbytes, "spacepackets"),
        Case(
            group,
            "dawnlink+fields",
            ours_fields,
            _BATCH,
            nbytes,
            "spacepackets",
            note="decode, then read apid, sequence_count and data",
        ),
    ]


def _encode_cases(size: int) -> list[Case]:
    group = f"encode {size} B"
    data = os.urandom(size)
    theirs = SpSpacePacket(
        SpacePacketHeader(packet_type=SpPacketType.TM, apid=_APID, seq_count=77, data_len=size - 1),
        None,
        data,
    )
    ours = SpacePacket(apid=_APID, data=data, sequence_count=77)
    assert bytes(theirs.pack()) == ours.encode()

    def sp_construct_encode() -> bytes:
        header = SpacePacketHeader(
            packet_type=SpPacketType.TM, apid=_APID, seq_count=77, data_len=size - 1
        )
        return bytes(SpSpacePacket(header, None, data).pack())

    def construct_encode() -> bytes:
        return SpacePacket(
            apid=_APID,
            data=data,
            packet_type=PacketType.TM,
            sequence_flags=SequenceFlags.UNSEGMENTED,
            sequence_count=77,
        ).encode()

    return [
        Case(group, "spacepackets", theirs.pack, nbytes=size + 6),
        Case(group, "dawnlink", ours.encode, nbytes=size + 6, peer="spacepackets"),
        Case(group, "spacepackets construct+pack", sp_construct_encode, nbytes=size + 6),
        Case(
            group,
            "dawnlink construct+encode",
            construct_encode,
            nbytes=size + 6,
            peer="spacepackets construct+pack",
        ),
    ]


def _stream() -> tuple[bytes, int]:
    packets = [
        SpacePacket(apid=_APID, data=os.urandom(256), sequence_count=i % 16384).encode()
        for i in range(1_000_000 // 262)
    ]
    return b"".join(packets), len(packets)


def _extract_cases() -> list[Case]:
    stream, count = _stream()
    chunks = [stream[i : i + _CHUNK] for i in range(0, len(stream), _CHUNK)]
    packet_ids = [PacketId(SpPacketType.TM, False, _APID)]

    # A stream consumer handles each chunk's packets and lets them go; "keep all"
    # holds every packet of the megabyte until the end, which makes the garbage
    # collector walk ~3800 live objects per pass. spacepackets hands out bytes, which
    # the collector does not track, so keeping them costs it nothing extra.
    def spacepackets_split(keep: list[object] | None) -> int:
        found = 0
        tail = b""
        for chunk in chunks:
            buf = tail + chunk
            result = parse_space_packets(buf, packet_ids)
            found += len(result.tm_list)
            if keep is not None:
                keep += result.tm_list
            tail = buf[result.scanned_bytes :]
        return found

    def spacepackets_fields() -> int:
        found = 0
        tail = b""
        for chunk in chunks:
            buf = tail + chunk
            result = parse_space_packets(buf, packet_ids)
            for raw in result.tm_list:
                header = SpacePacketHeader.unpack(raw)
                found += header.apid != header.seq_count
            tail = buf[result.scanned_bytes :]
        return found

    def dawnlink(keep: list[object] | None) -> int:
        extractor = PacketExtractor()
        found = 0
        for chunk in chunks:
            packets = extractor.feed(chunk)
            found += len(packets)
            if keep is not None:
                keep += packets
        return found

    def dawnlink_fields() -> int:
        extractor = PacketExtractor()
        found = 0
        for chunk in chunks:
            for packet in extractor.feed(chunk):
                found += packet.apid != packet.sequence_count
        return found

    assert spacepackets_split(None) == count == dawnlink(None)
    group, kept = "extract 1 MB", "extract 1 MB, keep all"
    return [
        Case(group, "spacepackets", lambda: spacepackets_split(None), count, len(stream)),
        Case(
            group,
            "dawnlink",
            lambda: dawnlink(None),
            count,
            len(stream),
            peer="spacepackets",
            note="SpacePacket objects, header fields on demand",
        ),
        Case(group, "spacepackets+fields", spacepackets_fields, count, len(stream)),
        Case(group, "dawnlink+fields", dawnlink_fields, count, len(stream), "spacepackets+fields"),
        Case(kept, "spacepackets", lambda: spacepackets_split([]), count, len(stream)),
        Case(kept, "dawnlink", lambda: dawnlink([]), count, len(stream), peer="spacepackets"),
    ]


def cases() -> list[Case]:
    result: list[Case] = []
    for size in (16, 256, 4096):
        result += _decode_cases(size)
    for size in (16, 256, 4096):
        result += _encode_cases(size)
    result += _extract_cases()
    return result
