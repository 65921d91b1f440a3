"""CLTU encoding and BCH(63,56) decoding (CCSDS 231.0-B-4).

Vectors from independent implementations:

- dariol83/ccsds (Java), ``TcEncoderTest.EXPECTED_CLTU``: a TC frame of spacecraft 123,
  VC 1, sequence 0 carrying octets 1..10, randomized then CLTU-encoded;
- a public Zephyr flight-software TC receive test (``short_data_cltu_hex``, an "akira"
  CCSDS profile): a 25-octet TC frame in a non-randomized CLTU with two fill octets.
"""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from comms.coding import CltuEnd, CltuStream, cltu_decode, cltu_encode
from comms.coding.cltu import TAIL_SEQUENCE, bch_parity
from comms.errors import DecodeError, UsageError

DARIOL83_FRAME = bytes.fromhex("007b040e00") + bytes(range(1, 11))
DARIOL83_CLTU = bytes.fromhex(
    "EB90FF429A5468E804BEF6688C29A63957C20255555555555556C5C5C5C5C5C5C579"
)
ZEPHYR_CLTU = bytes.fromhex(
    "eb90007b00191fc0186410c006000b100e16020000010319008800bbe915465555d2c5c5c5c5c5c5c579"
)
ZEPHYR_FRAME = bytes.fromhex("007b00191fc01810c006000b100e0200000103190000bbe91546")


def _flip(data: bytes, bit: int) -> bytes:
    out = bytearray(data)
    out[bit // 8] ^= 0x80 >> (bit % 8)
    return bytes(out)


def test_randomized_vector_from_dariol83_ccsds() -> None:
    assert cltu_encode(DARIOL83_FRAME, randomize=True) == DARIOL83_CLTU
    result = cltu_decode(DARIOL83_CLTU, derandomize=True)
    assert result.end is CltuEnd.TAIL
    # Fill goes out unrandomized, so only the frame's octets come back intact.
    assert result.data[: len(DARIOL83_FRAME)] == DARIOL83_FRAME


def test_plain_vector_from_zephyr_tc_test() -> None:
    assert cltu_encode(ZEPHYR_FRAME) == ZEPHYR_CLTU
    result = cltu_decode(ZEPHYR_CLTU)
    assert result.data == ZEPHYR_FRAME + b"\x55\x55"
    assert result.codeblocks == 4
    assert result.corrected_codeblocks == 0
    assert result.tail_found
    assert result.length == len(ZEPHYR_CLTU)


def test_parity_of_zero_block_is_all_ones() -> None:
    # Zero remainder, complemented (231.0-B-4 section 3), filler bit 0.
    assert bch_parity(bytes(7)) == 0xFE
    with pytest.raises(UsageError):
        bch_parity(bytes(6))


@given(st.binary(min_size=1, max_size=300), st.booleans())
def test_round_trip_with_fill(frame: bytes, randomize: bool) -> None:
    cltu = cltu_encode(frame, randomize=randomize)
    blocks = -(-len(frame) // 7)
    assert len(cltu) == 2 + 8 * blocks + 8
    result = cltu_decode(cltu, derandomize=randomize)
    assert result.end is CltuEnd.TAIL
    assert result.length == len(cltu)
    assert result.codeblocks == blocks
    assert result.data[: len(frame)] == frame
    if not randomize:
        assert result.data[len(frame) :] == b"\x55" * (7 * blocks - len(frame))
    for block in range(blocks):
        assert cltu[2 + 8 * block + 7] & 1 == 0  # filler bit


def test_every_single_bit_error_is_corrected() -> None:
    frame = bytes(range(40, 54))  # two codeblocks
    cltu = cltu_encode(frame)
    for bit in range(63):
        for block in range(2):
            damaged = _flip(cltu, 8 * (2 + 8 * block) + bit)
            result = cltu_decode(damaged)
            assert result.data == frame, (block, bit)
            assert result.corrected_codeblocks == 1
            assert result.end is CltuEnd.TAIL


def test_filler_bit_is_ignored() -> None:
    cltu = cltu_encode(b"abcdefg")
    result = cltu_decode(_flip(cltu, 8 * 2 + 63), correct=False)
    assert result.data == b"abcdefg"
    assert result.corrected_codeblocks == 0


def test_every_double_bit_error_is_detected_not_miscorrected() -> None:
    frame = b"\x12\x34\x56\x78\x9a\xbc\xde" + b"tail-me"
    cltu = cltu_encode(frame)
    for first in range(63):
        for second in range(first + 1, 63):
            damaged = _flip(_flip(cltu, 16 + first), 16 + second)
            result = cltu_decode(damaged)
            # The first codeblock is rejected: nothing delivered, nothing miscorrected.
            assert result.codeblocks == 0
            assert result.end is CltuEnd.UNCORRECTABLE
            assert result.length == 2 + 8


def test_decoding_stops_at_an_uncorrectable_codeblock() -> None:
    frame = bytes(range(21))  # three codeblocks
    damaged = _flip(_flip(cltu_encode(frame), 8 * 10 + 3), 8 * 10 + 9)  # second block
    result = cltu_decode(damaged)
    assert result.codeblocks == 1
    assert result.data == frame[:7]
    assert result.end is CltuEnd.UNCORRECTABLE
    assert not result.tail_found
    assert result.length == 2 + 16


def test_detect_only_mode_rejects_any_parity_error() -> None:
    frame = bytes(range(14))
    cltu = cltu_encode(frame)
    assert cltu_decode(cltu, correct=False).data == frame
    damaged = _flip(cltu, 8 * 10 + 5)  # second codeblock
    result = cltu_decode(damaged, correct=False)
    assert result.codeblocks == 1
    assert result.data == frame[:7]
    assert result.end is CltuEnd.UNCORRECTABLE
    assert result.corrected_codeblocks == 0


def test_tail_is_rejected_even_with_one_bit_error() -> None:
    # 231.0-B-4 section 5: the tail is built to fail decoding; one bit error must not make
    # it a correctable codeblock, or a CLTU would run on into whatever follows.
    cltu = cltu_encode(b"0123456")
    for bit in range(64):
        damaged = _flip(cltu, 8 * 10 + bit)
        result = cltu_decode(damaged)
        assert result.end is CltuEnd.TAIL
        assert result.data == b"0123456"


def test_trailing_octets_after_tail_are_not_consumed() -> None:
    cltu = cltu_encode(b"frame!")
    result = cltu_decode(cltu + b"\x55" * 20)
    assert result.length == len(cltu)
    assert result.tail_found


def test_missing_tail_reports_truncation() -> None:
    cltu = cltu_encode(bytes(14))
    result = cltu_decode(cltu[: -len(TAIL_SEQUENCE) - 3])
    assert result.end is CltuEnd.TRUNCATED
    assert result.codeblocks == 1
    assert cltu_decode(b"\xeb\x90").end is CltuEnd.TRUNCATED


@pytest.mark.parametrize("bad", [b"", b"\xeb", b"\xeb\x91", b"\x00\x00" + bytes(16)])
def test_bad_start_sequence(bad: bytes) -> None:
    with pytest.raises(DecodeError) as info:
        cltu_decode(bad)
    assert info.value.offset == 0
    assert info.value.expected == "eb 90"


def test_empty_frame_is_a_usage_error() -> None:
    with pytest.raises(UsageError):
        cltu_encode(b"")


def test_accepts_memoryview_and_bytearray() -> None:
    cltu = cltu_encode(memoryview(b"hello world"))
    assert cltu_decode(bytearray(cltu)).data[:11] == b"hello world"
    assert cltu_decode(memoryview(cltu)[0:]).tail_found


@given(st.binary(max_size=200), st.booleans())
def test_any_bytes_give_a_result_or_decode_error(data: bytes, correct: bool) -> None:
    for candidate in (data, b"\xeb\x90" + data):
        try:
            result = cltu_decode(candidate, correct=correct)
        except DecodeError as exc:
            assert exc.offset == 0
        else:
            assert result.length <= len(candidate)
            assert len(result.data) == 7 * result.codeblocks


@given(
    st.lists(st.binary(min_size=1, max_size=60), min_size=1, max_size=5),
    st.binary(max_size=12).filter(lambda g: b"\xeb" not in g),
    st.lists(st.integers(1, 50), min_size=1, max_size=40),
)
def test_stream_gives_the_same_cltus_however_it_is_cut(
    frames: list[bytes], garbage: bytes, cuts: list[int]
) -> None:
    # Byte-level splits of a station's uplink stream: garbage, then CLTUs back to back.
    cltus = [cltu_encode(f) for f in frames]
    stream = garbage + b"".join(cltus)
    whole = CltuStream()
    expected = whole.feed(stream)
    assert [octets for octets, _ in expected] == cltus
    assert [r.data[: len(f)] for (_, r), f in zip(expected, frames, strict=True)] == frames
    assert whole.skipped == len(garbage)
    pieces = CltuStream()
    got: list[tuple[bytes, object]] = []
    pos = 0
    for cut in cuts * (len(stream) // max(1, sum(cuts)) + 1):
        got.extend(pieces.feed(stream[pos : pos + cut]))
        pos += cut
        if pos >= len(stream):
            break
    got.extend(pieces.feed(stream[pos:]))
    assert got == expected and pieces.skipped == len(garbage)


def test_stream_ends_a_cltu_at_a_damaged_tail_or_codeblock() -> None:
    first, second = cltu_encode(b"0123456789"), cltu_encode(b"abc")
    # One bit error in the tail still ends the CLTU (231.0-B-4 section 5).
    damaged_tail = first[:-1] + bytes([first[-1] ^ 0x01])
    stream = CltuStream()
    out = stream.feed(damaged_tail + second)
    assert [r.end for _, r in out] == [CltuEnd.TAIL, CltuEnd.TAIL]
    assert [o for o, _ in out] == [damaged_tail, second]
    # A codeblock with two bit errors ends it early: what came before is delivered.
    broken = bytearray(first)
    broken[2 + 8] ^= 0x03  # the second codeblock
    out = CltuStream().feed(bytes(broken) + second)
    assert out[0][1].end is CltuEnd.UNCORRECTABLE and out[0][1].codeblocks == 1
    # The rest of the abandoned CLTU is skipped up to the next start sequence.
    assert out[-1][0] == second
