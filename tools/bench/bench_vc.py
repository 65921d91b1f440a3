"""Virtual channel chains: receive (frames -> packets) and send (packets -> frames/CADUs).

Receive: BATCH distinct 1115-octet TM frames with FECF carrying 256-octet Space Packets
(packets span frames), through the CRC check, VC demux and packet extraction. The
issue's target is 112k frames/s (1 Gbps of frames) on one core, with and without
derandomization. The reference case in each group is the naive composition of the
existing codecs: ``TmFrame.decode`` per frame, then ``PacketExtractor.feed`` of the data
field (no first header pointer checks, no gap handling). spacepackets has no virtual
channel service, so there is no peer library figure; the rates are absolute.

TC receive: 2000-octet Space Packets segmented by :class:`comms.vc.MapSender` into
1024-octet TC frames (segment header, FECF), reassembled by
:class:`comms.vc.MapReassembler` from the frame octets; the reference is
``TcFrame.decode`` of the same frames alone, so the ratio is the cost of reassembly.

Send: 256-octet packets into 1115-octet TM frames (the issue's target is 500 Mbps of
packets into CADUs), then the frames through Reed-Solomon (255,223) interleave 5,
the randomizer and the ASM, once with the primitives and once with
:class:`comms.coding.cadu.CaduEncoder` when it is there.
"""

from __future__ import annotations

import os

import numpy as np

from comms.coding import ASM, ReedSolomon, randomize_tm_many
from comms.frames import TcFrame, TcParams, TmFrame, TmParams
from comms.spp import PacketExtractor, SpacePacket
from comms.vc import MapReassembler, MapSender, MasterChannelReceiver, VcPacketSender
from tools.bench import Case

BATCH = 256
TM_LENGTH = 1115
PACKET_LENGTH = 256
SCID = 0x2A


def _packets(count: int) -> list[bytes]:
    data = os.urandom(PACKET_LENGTH - 6)
    return [
        SpacePacket(apid=i % 64, data=data, sequence_count=i & 0x3FFF).encode()
        for i in range(count)
    ]


def _frames(params: TmParams) -> list[bytes]:
    sender = VcPacketSender(params, SCID, 1)
    frames: list[bytes] = []
    packets = _packets(BATCH * TM_LENGTH // PACKET_LENGTH + 8)
    for packet in packets:
        frames += sender.add_packet(packet)
    return frames[:BATCH]


def cases() -> list[Case]:
    params = TmParams(TM_LENGTH)
    frames = _frames(params)
    joined = b"".join(frames)
    randomized = randomize_tm_many(np.frombuffer(joined, dtype=np.uint8).reshape(-1, TM_LENGTH))
    randomized_bytes = randomized.tobytes()
    nbytes = BATCH * TM_LENGTH
    group = f"TM rx {TM_LENGTH} B, {PACKET_LENGTH} B packets"
    receiver = MasterChannelReceiver(params, SCID)

    def receive_bytes() -> None:
        rx = receiver.receive_bytes
        for frame in frames:
            rx(frame)
        receiver.packets()

    def receive_many() -> None:
        receiver.receive_many(joined)
        receiver.packets()

    def receive_many_derandomize() -> None:
        receiver.receive_many(randomized_bytes, derandomize=True)
        receiver.packets()

    def naive() -> None:
        extractor = PacketExtractor()
        out = []
        for frame in frames:
            out += extractor.feed(TmFrame.decode(frame, params).data_field)

    # Prime the receivers so the first batch is not a resync.
    receive_bytes()

    packets = _packets(BATCH * 4)
    packet_octets = sum(map(len, packets))
    sender = VcPacketSender(params, SCID, 1)
    rs = ReedSolomon(e=16, interleave=5)
    asm_row = np.frombuffer(ASM, dtype=np.uint8)
    send_group = f"TM tx {PACKET_LENGTH} B packets"

    def to_frames() -> None:
        sender.add_packets(packets)

    def to_cadus() -> None:
        produced = sender.add_packets(packets)
        rows = np.frombuffer(b"".join(produced), dtype=np.uint8).reshape(-1, TM_LENGTH)
        codeblocks = randomize_tm_many(rs.encode_many(rows))
        cadus = np.empty((codeblocks.shape[0], 4 + codeblocks.shape[1]), dtype=np.uint8)
        cadus[:, :4] = asm_row
        cadus[:, 4:] = codeblocks
        cadus.tobytes()

    tc_params = TcParams(has_segment_header=True)
    tc_sender = MapSender(tc_params, SCID, 1, map_id=2)
    tc_packets = [SpacePacket(apid=5, data=bytes(1994), sequence_count=i) for i in range(32)]
    tc_frames = [f.encode() for p in tc_packets for f in tc_sender.add_packet(p)]
    tc_nbytes = sum(map(len, tc_frames))
    tc_group = f"TC rx {len(tc_frames)} frames, 2000 B packets segmented"
    reassembler = MapReassembler(tc_params)

    def tc_decode_only() -> None:
        decode = TcFrame.decode
        for frame in tc_frames:
            decode(frame, tc_params)

    def tc_reassemble() -> None:
        rx = reassembler.receive_bytes
        for frame in tc_frames:
            rx(frame)
        reassembler.packets()

    result = [
        Case(tc_group, "TcFrame.decode", tc_decode_only, items=len(tc_frames), nbytes=tc_nbytes),
        Case(
            tc_group,
            "MapReassembler.receive_bytes",
            tc_reassemble,
            items=len(tc_frames),
            nbytes=tc_nbytes,
            peer="TcFrame.decode",
        ),
        Case(group, "TmFrame.decode + PacketExtractor", naive, items=BATCH, nbytes=nbytes),
        Case(
            group,
            "receive_bytes",
            receive_bytes,
            items=BATCH,
            nbytes=nbytes,
            peer="TmFrame.decode + PacketExtractor",
        ),
        Case(
            group,
            "receive_many",
            receive_many,
            items=BATCH,
            nbytes=nbytes,
            peer="TmFrame.decode + PacketExtractor",
        ),
        Case(
            group,
            "receive_many derandomize",
            receive_many_derandomize,
            items=BATCH,
            nbytes=nbytes,
            peer="TmFrame.decode + PacketExtractor",
        ),
        Case(send_group, "packets -> frames", to_frames, items=len(packets), nbytes=packet_octets),
        Case(
            send_group,
            "packets -> CADUs (RS I=5, randomize, ASM)",
            to_cadus,
            items=len(packets),
            nbytes=packet_octets,
        ),
    ]
    try:
        from comms.coding.cadu import CaduEncoder, CaduParams
    except ImportError:  # the CADU module is another helper's; measure without it
        return result
    encoder = CaduEncoder(CaduParams(TM_LENGTH, interleave=5))

    def to_cadus_encoder() -> None:
        encoder.encode_many(b"".join(sender.add_packets(packets))).tobytes()

    result.append(
        Case(
            send_group,
            "packets -> CADUs (CaduEncoder)",
            to_cadus_encoder,
            items=len(packets),
            nbytes=packet_octets,
        )
    )
    return result
