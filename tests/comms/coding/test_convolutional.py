"""The (7, 1/2) convolutional code and the Viterbi decoder (CCSDS 131.0-B-5 section 3).

The encoder vectors follow from the generators of 131.0-B-5 section 3 (G1 = 171, G2 = 133
octal, G2 inverted, G1 first); Phil Karn's libfec ``fec.h`` states the same ordering
("the CCSDS/NASA-GSFC convention is to use" the 171 polynomial, then 133 inverted). A
bit-by-bit shift-register encoder written here from the Blue Book figure cross-checks
the vectorized one.
"""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from comms.coding import conv_encode, viterbi_decode
from comms.errors import UsageError


def _reference_encode(data: bytes) -> bytes:
    register = 0  # newest input bit at bit 6
    symbols: list[int] = []
    for octet in data:
        for i in range(7, -1, -1):
            register = (register >> 1) | (((octet >> i) & 1) << 6)
            symbols.append((register & 0o171).bit_count() & 1)
            symbols.append(((register & 0o133).bit_count() & 1) ^ 1)
    return np.packbits(np.array(symbols, dtype=np.uint8)).tobytes()


def test_impulse_response_is_the_generators() -> None:
    # Input 1000 0000: pairs (G1 tap, inverted G2 tap) for delays 0..6, then the
    # zero-input pair (0, 1): 10 11 10 10 01 00 10 01.
    assert conv_encode(b"\x80") == b"\xba\x49"


def test_all_zero_input_gives_alternating_symbols() -> None:
    # G2 inverted: a zero input from the zero state sends 0 1 0 1 ...
    assert conv_encode(bytes(4)) == b"\x55" * 8


@given(st.binary(max_size=64))
def test_matches_shift_register_reference(data: bytes) -> None:
    assert conv_encode(data) == _reference_encode(data)
    bits = np.unpackbits(np.frombuffer(data, dtype=np.uint8))
    symbols = conv_encode(bits)
    assert np.packbits(symbols).tobytes() == _reference_encode(data)


@given(st.binary(max_size=300))
def test_round_trip_error_free(data: bytes) -> None:
    assert viterbi_decode(conv_encode(data)) == data


def test_round_trip_long_stream_many_segments() -> None:
    # Long enough for more than one batch of segments.
    data = np.random.default_rng(5).integers(0, 256, 41000, dtype=np.uint8).tobytes()
    assert viterbi_decode(conv_encode(data)) == data


def test_corrects_random_bit_errors_at_a_low_rate() -> None:
    rng = np.random.default_rng(11)
    data = rng.integers(0, 256, 4000, dtype=np.uint8).tobytes()
    symbols = np.unpackbits(np.frombuffer(conv_encode(data), dtype=np.uint8))
    errors = rng.random(len(symbols)) < 0.004
    assert errors.sum() > 200
    noisy = np.packbits(symbols ^ errors).tobytes()
    assert viterbi_decode(noisy) == data


def test_corrects_spaced_errors_from_the_first_symbol() -> None:
    # One error per 48 symbols, the first in the first symbol (the known zero start
    # state helps there). The last few bits of an unterminated stream have no such help.
    data = bytes(range(200))
    symbols = bytearray(conv_encode(data))
    for i in range(0, len(symbols) - 8, 6):
        symbols[i] ^= 0x80 >> (i % 8)
    assert viterbi_decode(bytes(symbols)) == data


def test_terminated_block_corrects_errors_at_the_end() -> None:
    bits = np.concatenate(
        [np.unpackbits(np.frombuffer(b"terminated", np.uint8)), np.zeros(6, np.uint8)]
    )
    symbols = conv_encode(bits)
    symbols[-1] ^= 1
    symbols[-5] ^= 1
    decoded = viterbi_decode(1 - 2 * symbols.astype(np.int8))
    assert np.array_equal(decoded[:-6], bits[:-6])


def test_soft_decision_float_and_int8() -> None:
    rng = np.random.default_rng(2)
    bits = rng.integers(0, 2, 20000, dtype=np.uint8)
    symbols = conv_encode(bits)
    # BPSK (0 -> +1) over AWGN at Eb/N0 = 4 dB, rate 1/2: Es/N0 = 1 dB.
    sigma = np.sqrt(1 / (2 * 10 ** (1 / 10)))
    received = (1.0 - 2.0 * symbols) + rng.normal(0, sigma, len(symbols))
    hard_errors = int(((received < 0) != (symbols == 1)).sum())
    assert hard_errors > 1000  # the channel really is noisy
    assert np.array_equal(viterbi_decode(received), bits)
    llr8 = np.clip(np.round(received * 32), -127, 127).astype(np.int8)
    assert np.array_equal(viterbi_decode(llr8), bits)


def test_soft_beats_hard_decision() -> None:
    rng = np.random.default_rng(4)
    bits = rng.integers(0, 2, 20000, dtype=np.uint8)
    symbols = conv_encode(bits)
    sigma = np.sqrt(1 / (2 * 10 ** (-1 / 10)))  # Eb/N0 = 2 dB
    received = (1.0 - 2.0 * symbols) + rng.normal(0, sigma, len(symbols))
    soft = int((viterbi_decode(received) != bits).sum())
    hard_llr = np.where(received < 0, -1, 1).astype(np.int8)
    hard = int((viterbi_decode(hard_llr) != bits).sum())
    assert soft < hard


def test_empty_input() -> None:
    assert conv_encode(b"") == b""
    assert viterbi_decode(b"") == b""
    assert len(viterbi_decode(np.zeros(0, dtype=np.float32))) == 0


@pytest.mark.parametrize(
    "bad",
    [
        np.zeros(4, dtype=np.uint8),  # hard bits must be mapped to +-1 first
        np.zeros(3, dtype=np.float32),
        np.zeros((2, 2), dtype=np.int8),
    ],
)
def test_bad_soft_input(bad: np.ndarray) -> None:
    with pytest.raises(UsageError):
        viterbi_decode(bad)


def test_bad_bits_to_encode() -> None:
    with pytest.raises(UsageError):
        conv_encode(np.array([0, 2], dtype=np.uint8))
