"""Reed-Solomon (131.0-B-5) and the TM randomizer against their peers.

- RS(255,223) I=5 (1275-octet codeblocks): encode and error-free decode, one codeblock per
  call and in batches of 256 (``encode_many``/``decode_many``); peer reedsolo (pure
  Python, conventional basis) on the same five codewords.
- Correcting decode of one RS(255,223) codeword with 8 symbol errors, conventional basis
  on both sides so the work is identical; peer reedsolo's ``RSCodec.decode``.
- TM randomizer on 1115-octet frames; peer: a straightforward numpy XOR of the frame with
  a precomputed sequence of the frame's length, and the bytes-int XOR variant.
"""

from __future__ import annotations

import numpy as np
import reedsolo

from comms.coding import ReedSolomon, randomize_tm, randomize_tm_many
from comms.coding.randomizer import TM_SEQUENCE
from tools.bench import Case

_BATCH = 256


def _rs_cases() -> list[Case]:
    rng = np.random.default_rng(2024)
    rs = ReedSolomon(16, 5)
    data = rng.integers(0, 256, rs.data_length, dtype=np.uint8).tobytes()
    codeblock = rs.encode(data)
    batch_data = rng.integers(0, 256, (_BATCH, rs.data_length), dtype=np.uint8)
    batch_blocks = rs.encode_many(batch_data)
    length = rs.codeblock_length
    codec = reedsolo.RSCodec(32, fcr=112, prim=0x187, generator=0xAD, c_exp=8)
    conventional = ReedSolomon(16, 5, dual_basis=False)
    conv_block = conventional.encode(data)
    conv_words = [conv_block[i::5] for i in range(5)]
    data_words = [data[i::5] for i in range(5)]

    def reedsolo_encode() -> None:
        for word in data_words:
            codec.encode(word)

    def reedsolo_decode() -> None:
        for word in conv_words:
            codec.decode(word)

    enc = "RS(255,223) I=5 encode"
    dec = "RS(255,223) I=5 decode, error-free"
    return [
        Case(enc, "reedsolo x5 codewords", reedsolo_encode, nbytes=length),
        Case(
            enc,
            "dawnlink encode",
            lambda: rs.encode(data),
            nbytes=length,
            peer="reedsolo x5 codewords",
        ),
        Case(
            enc,
            f"dawnlink encode_many({_BATCH})",
            lambda: rs.encode_many(batch_data),
            items=_BATCH,
            nbytes=_BATCH * length,
            peer="reedsolo x5 codewords",
        ),
        Case(dec, "reedsolo x5 codewords", reedsolo_decode, nbytes=length),
        Case(
            dec,
            "dawnlink decode",
            lambda: rs.decode(codeblock),
            nbytes=length,
            peer="reedsolo x5 codewords",
        ),
        Case(
            dec,
            f"dawnlink decode_many({_BATCH})",
            lambda: rs.decode_many(batch_blocks),
            items=_BATCH,
            nbytes=_BATCH * length,
            peer="reedsolo x5 codewords",
        ),
    ]


def _correcting_cases() -> list[Case]:
    rng = np.random.default_rng(8)
    rs = ReedSolomon(16, 1, dual_basis=False)
    codec = reedsolo.RSCodec(32, fcr=112, prim=0x187, generator=0xAD, c_exp=8)
    data = rng.integers(0, 256, 223, dtype=np.uint8).tobytes()
    word = bytearray(rs.encode(data))
    for position in rng.choice(255, size=8, replace=False):
        word[int(position)] ^= int(rng.integers(1, 256))
    received = bytes(word)
    if rs.decode(received).data != data or bytes(codec.decode(received)[0]) != data:
        raise AssertionError("benchmark setup: a decoder failed to correct 8 errors")
    group = "RS(255,223) correct 8 errors / codeword"
    return [
        Case(group, "reedsolo", lambda: codec.decode(received), nbytes=255),
        Case(group, "dawnlink", lambda: rs.decode(received), nbytes=255, peer="reedsolo"),
    ]


def _randomizer_cases() -> list[Case]:
    rng = np.random.default_rng(1115)
    frame = rng.integers(0, 256, 1115, dtype=np.uint8).tobytes()
    frames = rng.integers(0, 256, (_BATCH, 1115), dtype=np.uint8)
    sequence = np.resize(np.frombuffer(TM_SEQUENCE, dtype=np.uint8), 1115)
    sequence_int = int.from_bytes(sequence.tobytes(), "big")
    group = "TM randomizer 1115 B"
    return [
        Case(
            group,
            "numpy XOR, precomputed",
            lambda: (np.frombuffer(frame, dtype=np.uint8) ^ sequence).tobytes(),
            nbytes=1115,
        ),
        Case(
            group,
            "bytes-int XOR",
            lambda: (int.from_bytes(frame, "big") ^ sequence_int).to_bytes(1115, "big"),
            nbytes=1115,
            peer="numpy XOR, precomputed",
        ),
        Case(
            group,
            "dawnlink randomize_tm",
            lambda: randomize_tm(frame),
            nbytes=1115,
            peer="numpy XOR, precomputed",
        ),
        Case(
            group,
            f"dawnlink randomize_tm_many({_BATCH})",
            lambda: randomize_tm_many(frames),
            items=_BATCH,
            nbytes=_BATCH * 1115,
            peer="numpy XOR, precomputed",
        ),
    ]


def cases() -> list[Case]:
    return _rs_cases() + _correcting_cases() + _randomizer_cases()
