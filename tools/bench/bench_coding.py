"""CLTU/BCH, frame synchronization and Viterbi throughput.

No Python peer implements these (spacepackets and cfdp-py stop above channel coding),
so the figures are absolute (peer=None).
"""

from __future__ import annotations

import random
from collections.abc import Callable

import numpy as np

from comms.coding import (
    FrameSynchronizer,
    attach_asm,
    cltu_decode,
    cltu_encode,
    conv_encode,
    viterbi_decode,
)
from tools.bench import Case


def _rotated(data: bytes, bits: int) -> bytes:
    """``data`` rotated right by ``bits``: repeated, it is the repeated stream delayed."""
    nbits = 8 * len(data)
    value = int.from_bytes(data, "big")
    value = (value >> bits) | ((value & ((1 << bits) - 1)) << (nbits - bits))
    return value.to_bytes(len(data), "big")


def _locked_feeder(stream: bytes, chunk: int = 65536) -> Callable[[], int]:
    """Feed a periodic CADU stream to one synchronizer kept in lock across calls."""
    sync = FrameSynchronizer(1275)
    chunks = [stream[i : i + chunk] for i in range(0, len(stream), chunk)]

    def run() -> int:
        return sum(len(sync.feed(c)) for c in chunks)

    run()  # acquire lock outside the timing
    return run


def _search_run(stream: bytes, chunk: int = 65536) -> int:
    sync = FrameSynchronizer(1275)
    return sum(len(sync.feed(stream[i : i + chunk])) for i in range(0, len(stream), chunk))


def cases() -> list[Case]:
    rng = random.Random(1)
    frame = rng.randbytes(1024)  # the largest TC frame
    cltu = cltu_encode(frame)
    small = rng.randbytes(64)
    small_cltu = cltu_encode(small)

    cadus = b"".join(attach_asm(rng.randbytes(1275)) for _ in range(200))  # 255 800 octets
    shifted = _rotated(cadus, 3)
    noise = rng.randbytes(256 * 1024)

    data = np.random.default_rng(1).integers(0, 256, 1115, dtype=np.uint8).tobytes()
    symbols = conv_encode(data)  # one 1115-octet TM frame
    long_data = np.random.default_rng(2).integers(0, 256, 32768, dtype=np.uint8).tobytes()
    long_symbols = conv_encode(long_data)
    soft = (1.0 - 2.0 * np.unpackbits(np.frombuffer(long_symbols, np.uint8))).astype(np.float32)

    return [
        Case("cltu encode 1024 B", "dawnlink", lambda: cltu_encode(frame), nbytes=len(frame)),
        Case("cltu decode 1024 B", "dawnlink", lambda: cltu_decode(cltu), nbytes=len(frame)),
        Case("cltu encode 64 B", "dawnlink", lambda: cltu_encode(small), nbytes=len(small)),
        Case("cltu decode 64 B", "dawnlink", lambda: cltu_decode(small_cltu), nbytes=len(small)),
        Case(
            "sync lock 1279 B CADUs",
            "dawnlink",
            _locked_feeder(cadus),
            items=200,
            nbytes=len(cadus),
            note="octet-aligned, 64 KiB chunks",
        ),
        Case(
            "sync lock 1279 B CADUs bit-shifted",
            "dawnlink",
            _locked_feeder(shifted),
            items=200,
            nbytes=len(shifted),
            note="3-bit offset, frames realigned",
        ),
        Case(
            "sync search noise",
            "dawnlink",
            lambda: _search_run(noise),
            nbytes=len(noise),
            note="no marker: all bit offsets, both polarities, 2 errors",
        ),
        Case(
            "viterbi hard 1115 B",
            "dawnlink",
            lambda: viterbi_decode(symbols),
            nbytes=len(data),
            note="MB/s x 8 = decoded Mbps",
        ),
        Case(
            "viterbi hard 32 KiB",
            "dawnlink",
            lambda: viterbi_decode(long_symbols),
            nbytes=len(long_data),
            note="MB/s x 8 = decoded Mbps",
        ),
        Case(
            "viterbi soft 32 KiB",
            "dawnlink",
            lambda: viterbi_decode(soft),
            nbytes=len(long_data),
            note="float32 LLRs; MB/s x 8 = decoded Mbps",
        ),
    ]
