""":func:`comms.cli.frames_input.split_frames`: the frames it cuts out of a stream do not
depend on how the stream was read in pieces, for fixed-length and TC frames."""

from __future__ import annotations

import itertools

import pytest
from hypothesis import given
from hypothesis import strategies as st

from comms.cli.common import EXIT_BAD_DATA, EXIT_OK
from comms.cli.frames_input import Raw, split_frames
from comms.frames import TcFrame


def _pieces(stream: bytes, cuts: list[int]) -> list[tuple[int | None, bytes]]:
    edges = sorted({0, len(stream), *(c % (len(stream) + 1) for c in cuts)})
    return [(None, stream[a:b]) for a, b in itertools.pairwise(edges)]


def _tc_frame(length: int) -> bytes:
    """Octets the splitter takes for a TC frame: only the frame length field (232.0-B-4
    4.1.2.7, the length minus one in the low 10 bits of octets 2-3) matters to it."""
    field = length - 1
    return bytes([0x20, 0x2A, field >> 8, field & 0xFF]) + bytes(range(length - 4))


def _split_tc(pieces: list[tuple[int | None, bytes]]) -> tuple[int, list[Raw]]:
    seen: list[Raw] = []
    status = split_frames(
        pieces,
        seen.append,
        length_octets=4,
        frame_length=TcFrame.frame_length,
        expected=lambda _: "a whole frame",
    )
    return status, seen


def _split_fixed(pieces: list[tuple[int | None, bytes]], length: int) -> tuple[int, list[Raw]]:
    seen: list[Raw] = []
    status = split_frames(
        pieces,
        seen.append,
        length_octets=0,
        frame_length=lambda _: length,
        expected=lambda _: f"{length} octets",
    )
    return status, seen


@given(
    lengths=st.lists(st.integers(min_value=5, max_value=60), max_size=8),
    tail=st.integers(min_value=0, max_value=6),
    cuts=st.lists(st.integers(min_value=0, max_value=1000), max_size=10),
)
def test_tc_frames_whatever_the_pieces(lengths: list[int], tail: int, cuts: list[int]) -> None:
    frames = [_tc_frame(n) for n in lengths]
    stream = b"".join(frames) + b"\xff" * tail  # a frame length field of 1024: partial
    status, seen = _split_tc(_pieces(stream, cuts))
    assert [r.data for r in seen] == frames
    starts = [8 * sum(lengths[:i]) for i in range(len(lengths))]
    assert [r.bit_offset for r in seen] == starts
    assert status == (EXIT_BAD_DATA if tail else EXIT_OK)


@given(
    count=st.integers(min_value=0, max_value=6),
    tail=st.integers(min_value=0, max_value=9),
    cuts=st.lists(st.integers(min_value=0, max_value=200), max_size=10),
)
def test_fixed_length_frames_whatever_the_pieces(count: int, tail: int, cuts: list[int]) -> None:
    stream = bytes(range(10 * count + tail))
    status, seen = _split_fixed(_pieces(stream, cuts), 10)
    assert [r.data for r in seen] == [stream[i : i + 10] for i in range(0, 10 * count, 10)]
    assert [r.bit_offset for r in seen] == [80 * i for i in range(count)]
    assert status == (EXIT_BAD_DATA if tail else EXIT_OK)


def test_a_datagram_is_one_frame_whatever_its_length(capsys: pytest.CaptureFixture[str]) -> None:
    status, seen = _split_fixed([(1, b"short"), (2, bytes(10)), (None, bytes(3))], 10)
    assert [(r.datagram, r.data, r.bit_offset) for r in seen] == [
        (1, b"short", 0),
        (2, bytes(10), 0),
    ]
    assert status == EXIT_BAD_DATA  # the 3 octets of the stream are a partial frame
    assert "trailing partial frame" in capsys.readouterr().err
