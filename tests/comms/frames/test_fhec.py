"""AOS Frame Header Error Control, RS(10,6) over GF(16) (732.0-B-4 4.1.2.6).

Vectors: Yamcs (yamcs/yamcs, AosFrameHeaderErrorCorrTest.java), an independent Java
implementation built on Phil Karn's RS codec with gfpoly 0x13, first root 6.
"""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from comms.frames import fhec_correct, fhec_encode

headers = st.integers(0, (1 << 24) - 1)


def test_yamcs_vectors() -> None:
    assert fhec_encode(0x123456) == 0x94DC
    assert fhec_encode(0x369CFA) == 0x457C


def test_yamcs_correction_vectors() -> None:
    assert fhec_correct(0x123456, 0x94DC) == (0x123456, 0)
    assert fhec_correct(0x123456, 0x9400) == (0x123456, 2)  # two check symbols wrong
    assert fhec_correct(0x121156, 0x94DC) == (0x123456, 2)  # two header symbols wrong
    assert fhec_correct(0x1234AA, 0x94DC) == (0x123456, 2)
    assert fhec_correct(0x123000, 0x94DC) is None  # three symbols wrong


def _word(header: int) -> int:
    return (header << 16) | fhec_encode(header)


def _split(word: int) -> tuple[int, int]:
    return word >> 16, word & 0xFFFF


@given(headers)
def test_every_single_symbol_error_is_corrected(header: int) -> None:
    word = _word(header)
    for position in range(10):
        for value in range(1, 16):
            received = word ^ (value << (4 * position))
            assert fhec_correct(*_split(received)) == (header, 1)


@given(headers, st.data())
def test_double_symbol_errors_are_corrected(header: int, data: st.DataObject) -> None:
    a, b = data.draw(st.lists(st.integers(0, 9), min_size=2, max_size=2, unique=True))
    va, vb = data.draw(st.integers(1, 15)), data.draw(st.integers(1, 15))
    received = _word(header) ^ (va << (4 * a)) ^ (vb << (4 * b))
    assert fhec_correct(*_split(received)) == (header, 2)


def test_codewords_are_linear_and_distance_five() -> None:
    # A spot check of the code's structure: the sum of codewords is a codeword and no
    # nonzero codeword of a sample has fewer than five nonzero symbols.
    for h in range(1, 1 << 12):
        header = h * 4099 & 0xFFFFFF
        word = _word(header)
        weight = sum(1 for i in range(10) if (word >> (4 * i)) & 0xF)
        assert weight >= 5
        assert fhec_encode(header ^ 0x5A5A5A) == fhec_encode(header) ^ fhec_encode(0x5A5A5A)
