"""The CADU fuzz harness's rules, over Hypothesis inputs in each of its stream modes:
raw bytes, markers written in front of garbage codeblocks, and genuine CADUs shifted
and hit with bit errors."""

from __future__ import annotations

import random

from hypothesis import given, settings
from hypothesis import strategies as st

from comms.coding import CaduFrame, UncorrectableCodeblock
from tools.fuzz.fuzz_cadu import CHANNELS, MODES, OPTIONS, check, run, stream_of

SELECTORS = len(CHANNELS) * len(OPTIONS) * MODES


@settings(max_examples=150, deadline=None)
@given(st.integers(0, SELECTORS - 1), st.integers(0, 255), st.binary(max_size=400))
def test_any_stream_any_split(selector: int, chunk: int, rest: bytes) -> None:
    check(bytes([selector, chunk]) + rest)


def _genuine(channel: int, options: int, chunk: int, rest: bytes) -> bytes:
    selector = channel + len(CHANNELS) * (options + len(OPTIONS) * 2)
    return bytes([selector, chunk]) + rest


def test_genuine_cadus_decode_and_damage_is_reported() -> None:
    # Mode 2 with no damage: every frame comes back; with heavy damage on an RS channel,
    # an uncorrectable codeblock is reported (the harness reaches both paths).
    rng = random.Random(7)
    params = CHANNELS[0]
    frames = rng.randbytes(4 * params.frame_length)
    clean = _genuine(0, 1, 0, frames)  # options (0, 0, 0, False): lock on the first ASM
    check(clean)
    p, options, stream, chunk = stream_of(clean)
    events, _ = run(p, options, stream, chunk)
    got = [e.data for e in events if isinstance(e, CaduFrame)]
    assert got == [frames[i : i + 40] for i in range(0, 160, 40)]
    damage = bytes(b for i in range(40) for b in (i * 3 % 256, 0xFF))
    hit = _genuine(0, 1, 0, frames + damage)
    check(hit)
    p, options, stream, chunk = stream_of(hit)
    events, _ = run(p, options, stream, chunk)
    assert any(isinstance(e, UncorrectableCodeblock) for e in events)


@settings(max_examples=150, deadline=None)
@given(
    st.integers(0, len(CHANNELS) - 1),
    st.integers(0, len(OPTIONS) - 1),
    st.integers(0, 255),
    st.binary(min_size=40, max_size=200),
    st.binary(max_size=24),
)
def test_genuine_cadus_shifted_and_damaged(
    channel: int, options: int, chunk: int, frames: bytes, damage: bytes
) -> None:
    params = CHANNELS[channel]
    whole = frames[: len(frames) // params.frame_length * params.frame_length]
    check(_genuine(channel, options, chunk, whole + damage))
