"""The CADU chain of 131.0-B-5: RS(255,223) I=5, TM randomizer, ASM (1279-octet CADUs).

- encode: 1115-octet frames -> CADUs, one per call (``encode``) and 256 per call
  (``encode_many``); peer: the same chain built from reedsolo (pure Python, five
  codewords, conventional basis) and a numpy randomizer XOR;
- decode: an aligned, error-free CADU stream -> frames through ``CaduDecoder.feed`` (frame
  sync, derandomize, ``decode_many``) 256 CADUs per call, and ``decode`` of one CADU;
  peer: reedsolo decoding the five codewords of one CADU;
- send chain: 1000-octet Space Packets -> TM frames (``comms.vc.VcPacketSender``) ->
  CADUs, measured on the packet octets carried (the issue's target: >= 500 Mbps, i.e.
  62.5 MB/s).

MB/s here are 10^6 octets per second of CADUs (of packets for the send chain); multiply
by 8 for Mbps.
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt
import reedsolo

from comms.coding import CaduDecoder, CaduEncoder, CaduParams
from comms.coding.randomizer import TM_SEQUENCE
from tools.bench import Case

_BATCH = 256


def _peer_encoder() -> tuple[reedsolo.RSCodec, npt.NDArray[np.uint8]]:
    codec = reedsolo.RSCodec(32, fcr=112, prim=0x187, generator=0xAD, c_exp=8)
    sequence = np.resize(np.frombuffer(TM_SEQUENCE, dtype=np.uint8), 1275)
    return codec, sequence


def cases() -> list[Case]:
    params = CaduParams(1115, interleave=5)
    encoder = CaduEncoder(params)
    rng = np.random.default_rng(131)
    frames = rng.integers(0, 256, (_BATCH, params.frame_length), dtype=np.uint8)
    frame = frames[0].tobytes()
    cadu = encoder.encode(frame)
    stream = encoder.encode_many(frames).tobytes()
    length = params.cadu_length
    codec, sequence = _peer_encoder()
    words = [frame[i::5] for i in range(5)]
    plain = np.frombuffer(cadu[4:], dtype=np.uint8) ^ sequence
    # The peer decodes conventional-basis codewords: the decoding effort is the same.
    conventional_words = [bytes(codec.encode(word)) for word in words]

    def peer_encode() -> bytes:
        checks = [bytes(codec.encode(word))[-32:] for word in words]
        interleaved = bytes(checks[m % 5][m // 5] for m in range(160))
        block = np.frombuffer(frame + interleaved, dtype=np.uint8) ^ sequence
        return b"\x1a\xcf\xfc\x1d" + bytes(block.tobytes())

    def peer_decode() -> None:
        _ = plain ^ sequence
        for word in conventional_words:
            codec.decode(word)

    def decode_stream() -> object:
        decoder = CaduDecoder(params)
        return decoder.feed(stream)

    decoder = CaduDecoder(params)
    enc = "CADU encode RS(255,223) I=5 + rand + ASM"
    dec = "CADU decode aligned, error-free"
    out = [
        Case(enc, "reedsolo + numpy XOR", peer_encode, nbytes=length),
        Case(
            enc,
            "dawnlink encode",
            lambda: encoder.encode(frame),
            nbytes=length,
            peer="reedsolo + numpy XOR",
        ),
        Case(
            enc,
            f"dawnlink encode_many({_BATCH})",
            lambda: encoder.encode_many(frames).tobytes(),
            items=_BATCH,
            nbytes=_BATCH * length,
            peer="reedsolo + numpy XOR",
        ),
        Case(dec, "reedsolo x5 codewords", peer_decode, nbytes=length),
        Case(
            dec,
            "dawnlink decode",
            lambda: decoder.decode(cadu),
            nbytes=length,
            peer="reedsolo x5 codewords",
        ),
        Case(
            dec,
            f"dawnlink feed({_BATCH} CADUs)",
            decode_stream,
            items=_BATCH,
            nbytes=_BATCH * length,
            peer="reedsolo x5 codewords",
        ),
    ]
    out += _send_chain_cases(encoder)
    return out


def _send_chain_cases(encoder: CaduEncoder) -> list[Case]:
    try:
        from comms.vc import VcPacketSender
    except ImportError:  # the virtual channel layer is not there yet
        return []
    from comms.frames import TmParams
    from comms.spp import PacketType, SequenceFlags, SpacePacket

    count = 1000
    packets = [
        SpacePacket(
            version=0,
            packet_type=PacketType.TM,
            sec_header_flag=False,
            apid=100,
            sequence_flags=SequenceFlags.UNSEGMENTED,
            sequence_count=i,
            data=bytes(994),
        ).encode()
        for i in range(count)
    ]
    nbytes = sum(len(p) for p in packets)
    tm = TmParams(1115)

    def chain() -> bytes:
        sender = VcPacketSender(tm, 0x2A, 1)
        frames = sender.add_packets(packets)
        frames += sender.flush()
        return encoder.encode_many(frames).tobytes()

    group = "send chain packets -> TM -> CADU"
    return [Case(group, "dawnlink (1000 x 1000 B packets)", chain, items=count, nbytes=nbytes)]
