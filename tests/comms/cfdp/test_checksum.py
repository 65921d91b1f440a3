"""Checksums: the REFERENCES.md check values, and segment-wise equals whole-file."""

from __future__ import annotations

import itertools
import random

import pytest
from hypothesis import given
from hypothesis import strategies as st

from comms.cfdp import Checksum, ChecksumType, compute_checksum, modular_checksum
from comms.errors import UsageError
from tests.comms.cfdp.strategies import checksum_types

CHECK = b"123456789"


def reference_modular(data: bytes, offset: int = 0) -> int:
    """The straightforward definition (4.2.2.3): words aligned on file offset, summed."""
    padded = bytes(offset % 4) + data
    padded += bytes(-len(padded) % 4)
    return sum(int.from_bytes(padded[i : i + 4], "big") for i in range(0, len(padded), 4)) % 2**32


def test_check_values() -> None:
    # shared/REFERENCES.md (modular recomputed by hand: 0x31323334 + 0x35363738 +
    # 0x39000000); CRC catalogue values for CRC-32/ISO-HDLC and CRC-32/ISCSI.
    assert compute_checksum(ChecksumType.MODULAR, CHECK) == 0x9F686A6C
    assert compute_checksum(ChecksumType.CRC32, CHECK) == 0xCBF43926
    assert compute_checksum(ChecksumType.CRC32C, CHECK) == 0xE3069283
    assert compute_checksum(ChecksumType.NULL, CHECK) == 0
    assert compute_checksum(0, b"") == 0


def test_proximity1_is_unsupported() -> None:
    with pytest.raises(UsageError, match="not supported"):
        compute_checksum(ChecksumType.CRC32_PROXIMITY1, CHECK)
    with pytest.raises(UsageError, match="not supported"):
        Checksum(9)


@given(st.binary(max_size=600), st.integers(0, 2**40))
def test_modular_matches_the_definition(data: bytes, offset: int) -> None:
    assert modular_checksum(data, offset) == reference_modular(data, offset)
    assert modular_checksum(memoryview(data), offset) == reference_modular(data, offset)


@given(
    checksum_types, st.binary(max_size=3000), st.randoms(use_true_random=False), st.integers(1, 8)
)
def test_segments_in_random_order_equal_the_whole(
    kind: ChecksumType, data: bytes, rng: random.Random, pieces: int
) -> None:
    cuts = (
        sorted(rng.sample(range(1, len(data)), min(pieces, len(data) - 1))) if len(data) > 1 else []
    )
    bounds = [0, *cuts, len(data)]
    segments = [(a, data[a:b]) for a, b in itertools.pairwise(bounds)]
    rng.shuffle(segments)
    checksum = Checksum(kind)
    for offset, segment in segments:
        checksum.update(offset, segment)
    assert checksum.pending_octets == 0
    assert checksum.value == compute_checksum(kind, data)


def test_crc_waits_for_the_gap_and_skips_repeats() -> None:
    checksum = Checksum(ChecksumType.CRC32)
    checksum.update(5, CHECK[5:])
    assert checksum.pending_octets == 4
    with pytest.raises(UsageError, match="gap"):
        _ = checksum.value
    checksum.update(0, CHECK[:6])  # overlaps the buffered segment by one octet
    checksum.update(2, CHECK[2:4])  # a retransmission of octets already in
    assert checksum.value == 0xCBF43926


def test_large_buffer_chunks() -> None:
    data = bytes(range(256)) * 70000  # > the per-call word chunk
    assert modular_checksum(data, 3) == reference_modular(data, 3)
