"""Transfer frame codecs: TM decode (with FECF check) and encode at 1115 octets, USLP and
TM decode against spacepackets' decoders, AOS and TC decode for scale.

Each call handles a batch of ``BATCH`` distinct frames, so ``items`` is frames and the
Mbps column is the frame rate times the frame size. spacepackets checks the TM/USLP
CRC with fastcrc (Rust), we with ``binascii.crc_hqx`` (C); both decoders copy the data
field.
"""

from __future__ import annotations

import os

from spacepackets.ccsds.tm_frame import TmTransferFrame
from spacepackets.uslp.frame import FixedFrameProperties, FrameType, TransferFrame

from comms.frames import (
    AosFrame,
    AosParams,
    TcFrame,
    TcParams,
    TfdzConstructionRule,
    TmFrame,
    TmParams,
    UslpFrame,
    UslpParams,
)
from tools.bench import Case

BATCH = 64
TM_LENGTH = 1115  # a common TM frame length: RS(255,223) interleave 5, less the 160 parity


def _tm_frames() -> tuple[list[TmFrame], list[bytes]]:
    frames = [
        TmFrame(
            scid=0x2A,
            vcid=i % 7,
            mc_frame_count=i,
            vc_frame_count=i,
            first_header_pointer=i * 13,
            data_field=os.urandom(TM_LENGTH - 6 - 4 - 2),
            ocf=b"\x01\x00\x00\x00",
        )
        for i in range(BATCH)
    ]
    return frames, [f.encode() for f in frames]


def cases() -> list[Case]:
    tm_frames, tm_raw = _tm_frames()
    tm_params = TmParams(TM_LENGTH, has_ocf=True)
    tm_views = [memoryview(bytearray(r)) for r in tm_raw]
    nbytes = BATCH * TM_LENGTH

    uslp_params = UslpParams(frame_length=TM_LENGTH)
    uslp_raw = [
        UslpFrame(
            0x1234,
            i % 8,
            0,
            TfdzConstructionRule.PACKETS_SPANNING_FRAMES,
            0,
            os.urandom(TM_LENGTH - 7 - 3 - 2),
            pointer=0,
        ).encode()
        for i in range(BATCH)
    ]
    uslp_props = FixedFrameProperties(TM_LENGTH, has_insert_zone=False, has_fecf=True)

    aos_params = AosParams(TM_LENGTH, has_fhec=True, has_ocf=True)
    aos_raw = [
        AosFrame(
            0x2A, i % 8, i, os.urandom(TM_LENGTH - 8 - 2 - 4 - 2), 0, has_fhec=True, ocf=bytes(4)
        ).encode()
        for i in range(BATCH)
    ]
    tc_params = TcParams(has_segment_header=True)
    tc_raw = [TcFrame(0x2A, 1, i, os.urandom(1016), map_id=1).encode() for i in range(BATCH)]

    def tm_decode() -> None:
        for raw in tm_raw:
            TmFrame.decode(raw, tm_params)

    def tm_decode_view() -> None:
        for raw in tm_views:
            TmFrame.decode(raw, tm_params)

    def tm_decode_unchecked() -> None:
        for raw in tm_raw:
            TmFrame.decode(raw, tm_params, verify_fecf=False)

    def tm_decode_spacepackets() -> None:
        for raw in tm_raw:
            TmTransferFrame.unpack(raw, TM_LENGTH, True)

    def tm_encode() -> None:
        for frame in tm_frames:
            frame.encode()

    def uslp_decode() -> None:
        for raw in uslp_raw:
            UslpFrame.decode(raw, uslp_params)

    def uslp_decode_spacepackets() -> None:
        for raw in uslp_raw:
            TransferFrame.unpack(raw, FrameType.FIXED, uslp_props)

    def aos_decode() -> None:
        for raw in aos_raw:
            AosFrame.decode(raw, aos_params)

    def tc_decode() -> None:
        for raw in tc_raw:
            TcFrame.decode(raw, tc_params)

    tm = f"TM decode+FECF {TM_LENGTH} B"
    uslp = f"USLP decode+FECF {TM_LENGTH} B"
    return [
        Case(tm, "spacepackets", tm_decode_spacepackets, BATCH, nbytes),
        Case(tm, "dawnlink", tm_decode, BATCH, nbytes, peer="spacepackets"),
        Case(
            tm,
            "dawnlink memoryview in",
            tm_decode_view,
            BATCH,
            nbytes,
            peer="spacepackets",
            note="input copied to bytes once",
        ),
        Case(
            f"TM decode, no FECF check {TM_LENGTH} B",
            "dawnlink",
            tm_decode_unchecked,
            BATCH,
            nbytes,
        ),
        Case(f"TM encode+FECF {TM_LENGTH} B", "dawnlink", tm_encode, BATCH, nbytes),
        Case(uslp, "spacepackets", uslp_decode_spacepackets, BATCH, nbytes),
        Case(uslp, "dawnlink", uslp_decode, BATCH, nbytes, peer="spacepackets"),
        Case(f"AOS decode+FHEC+FECF {TM_LENGTH} B", "dawnlink", aos_decode, BATCH, nbytes),
        Case("TC decode+FECF 1024 B", "dawnlink", tc_decode, BATCH, BATCH * 1024),
    ]
