"""TM and TC pseudo-randomizers.

Vectors: the first 16 octets of each sequence are the ones shared/REFERENCES.md lists for
131.0-B-5 (TM) and 231.0-B-4 (TC). The full 255-octet periods are checked against a
second, independent derivation: the recurrence of h(x) run on a plain list of bits.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from comms.coding import randomize_tc, randomize_tc_many, randomize_tm, randomize_tm_many
from comms.coding.randomizer import TC_SEQUENCE, TM_SEQUENCE
from comms.errors import UsageError

TM_FIRST_16 = bytes.fromhex("FF 48 0E C0 9A 0D 70 BC 8E 2C 93 AD A7 B7 46 CE")
TC_FIRST_16 = bytes.fromhex("FF 39 9E 5A 68 E9 06 F5 6C 89 2F A1 31 5E 08 C0")


def _recurrence_sequence(lower_terms: tuple[int, ...], octets: int) -> bytes:
    # a_{n+8} = XOR of a_{n+e} over the lower terms x^e of h(x), seeded with eight ones.
    bits = [1] * 8
    while len(bits) < 8 * octets:
        n = len(bits) - 8
        bit = 0
        for e in lower_terms:
            bit ^= bits[n + e]
        bits.append(bit)
    return bytes(
        sum(bit << (7 - i) for i, bit in enumerate(bits[j : j + 8]))
        for j in range(0, 8 * octets, 8)
    )


def test_first_octets_match_the_published_sequences() -> None:
    assert randomize_tm(bytes(16)) == TM_FIRST_16
    assert randomize_tc(bytes(16)) == TC_FIRST_16


def test_sequences_match_the_recurrence_of_h() -> None:
    assert _recurrence_sequence((7, 5, 3, 0), 255) == TM_SEQUENCE
    assert _recurrence_sequence((6, 4, 3, 2, 1, 0), 255) == TC_SEQUENCE


@pytest.mark.parametrize("randomize", [randomize_tm, randomize_tc])
def test_period_is_255_octets_and_no_shorter(randomize: Callable[[bytes], bytes]) -> None:
    sequence = randomize(bytes(3 * 255))
    assert sequence[:255] == sequence[255:510] == sequence[510:]
    for divisor in (1, 3, 5, 15, 17, 51, 85):
        assert sequence[:divisor] * (255 // divisor) != sequence[:255]


def test_sequence_restarts_for_every_buffer() -> None:
    assert randomize_tm(bytes(10)) + randomize_tm(bytes(10)) != randomize_tm(bytes(20))
    assert randomize_tm(bytes(20))[:10] == randomize_tm(bytes(10))


@given(st.binary(max_size=3000))
def test_self_inverse(data: bytes) -> None:
    assert randomize_tm(randomize_tm(data)) == data
    assert randomize_tc(randomize_tc(data)) == data


def test_accepts_bytearray_and_memoryview() -> None:
    data = bytes(range(200))
    assert randomize_tm(bytearray(data)) == randomize_tm(data)
    assert randomize_tc(memoryview(data)[10:]) == randomize_tc(data[10:])


def test_buffers_longer_than_the_precomputed_copy_keep_the_period() -> None:
    length = 70_000  # past the 64 KiB pre-tiled sequence
    out = randomize_tm(bytes(length))
    assert out == (TM_SEQUENCE * (length // 255 + 1))[:length]
    assert randomize_tc(bytes(length)) == (TC_SEQUENCE * (length // 255 + 1))[:length]


def test_batch_forms_randomize_every_row_from_its_start() -> None:
    frames = np.arange(3 * 1115, dtype=np.uint32).astype(np.uint8).reshape(3, 1115)
    out = randomize_tm_many(frames)
    for row, frame in zip(out, frames, strict=True):
        assert row.tobytes() == randomize_tm(frame.tobytes())
    assert np.array_equal(randomize_tc_many(randomize_tc_many(frames)), frames)


def test_batch_forms_reject_other_arrays() -> None:
    with pytest.raises(UsageError, match="2-D uint8"):
        randomize_tm_many(np.zeros(10, dtype=np.uint8))
    with pytest.raises(UsageError, match="2-D uint8"):
        randomize_tc_many(np.zeros((2, 10), dtype=np.int64))
