"""The CADU chain of 131.0-B-5: frames -> RS -> randomizer -> ASM, and back from a stream.

Vectors and oracles:
- an all-zero frame gives an all-zero Reed-Solomon codeblock (the code is linear), so its
  CADU is the ASM followed by the bare randomizer sequence, whose first 16 octets
  ``FF 48 0E C0 9A 0D 70 BC 8E 2C 93 AD A7 B7 46 CE`` and the ASM ``1A CF FC 1D`` are
  those of 131.0-B-5 as listed in shared/REFERENCES.md; this pins the order (randomize
  after RS, ASM not randomized, sequence restarted per CADU);
- reedsolo (an independent RS codec) with ``fcr=112`` (E=16) or ``fcr=120`` (E=8),
  ``prim=0x187``, ``generator=0xAD`` is the oracle for the conventional-basis codeblocks
  (shared/REFERENCES.md), interleaved by hand as 131.0-B-5 4.3 says (symbol k goes to
  codeword k mod I);
- the dariol83/ccsds Java library's ``dumpFile_tm_1.hex`` (1279-octet CADUs said to be
  RS(255,223) I=5, not randomized) was tried and does NOT check against either basis here:
  its check symbols come out as if each codeword were 223 contiguous octets (one all-zero
  stretch of the frame gives 32 contiguous zero check octets), which is not the
  interleaving of 131.0-B-5 4.3, so it is not used as a vector.
"""

from __future__ import annotations

import random
import re
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from comms.coding import (
    ASM,
    CaduDecoder,
    CaduEncoder,
    CaduFrame,
    CaduParams,
    GarbageSkipped,
    LockAcquired,
    ReedSolomon,
    SyncState,
    UncorrectableCodeblock,
    randomize_tm,
)
from comms.coding.reed_solomon import INTERLEAVE_DEPTHS
from comms.errors import DecodeError, UsageError

PN_PREFIX = bytes.fromhex("FF 48 0E C0 9A 0D 70 BC 8E 2C 93 AD A7 B7 46 CE")
DOC = Path(__file__).resolve().parents[3] / "docs" / "coding.md"

# Small codeblocks keep byte-by-byte and bit-shift tests quick: RS(255,239) I=2 shortened
# to 40-octet frames (72-octet CADUs).
SMALL = CaduParams.shortened(40, rs_e=8, interleave=2)


@st.composite
def cadu_params(draw: st.DrawFn) -> CaduParams:
    randomize = draw(st.booleans())
    rs_e = draw(st.sampled_from([None, 8, 16]))
    if rs_e is None:
        return CaduParams(draw(st.integers(1, 300)), randomize=randomize, rs_e=None)
    interleave = draw(st.sampled_from(INTERLEAVE_DEPTHS))
    k = 255 - 2 * rs_e
    fill_per_codeword = draw(st.one_of(st.just(0), st.integers(0, k - 1)))
    return CaduParams(
        interleave * (k - fill_per_codeword),
        randomize=randomize,
        rs_e=rs_e,
        interleave=interleave,
        virtual_fill=interleave * fill_per_codeword,
    )


def _frames(params: CaduParams, count: int, seed: int) -> list[bytes]:
    rng = random.Random(seed)
    return [rng.randbytes(params.frame_length) for _ in range(count)]


def _frames_of(events: Sequence[object]) -> list[bytes]:
    return [e.data for e in events if isinstance(e, CaduFrame)]


def _shift(stream: bytes, bits: int, seed: int = 0) -> bytes:
    """``bits`` random bits in front of the stream, zero bits after it to fill an octet."""
    rng = random.Random(seed)
    value = (rng.getrandbits(bits) << (8 * len(stream))) | int.from_bytes(stream, "big")
    pad = -(bits + 8 * len(stream)) % 8
    return (value << pad).to_bytes((bits + 8 * len(stream) + pad) // 8, "big")


# -- parameters ---------------------------------------------------------------------------


def test_params_lengths() -> None:
    p = CaduParams(1115, interleave=5)
    assert (p.codeblock_length, p.cadu_length) == (1275, 1279)
    q = CaduParams(1115, rs_e=None)
    assert (q.codeblock_length, q.cadu_length) == (1115, 1119)
    short = CaduParams.shortened(1000, rs_e=16, interleave=5)
    assert short.virtual_fill == 115 and short.cadu_length == 4 + 1000 + 160
    assert CaduParams.shortened(239, rs_e=8).virtual_fill == 0


def test_frame_length_must_fit_the_code() -> None:
    with pytest.raises(UsageError, match=r"pass virtual_fill=5"):
        CaduParams(1110, interleave=5)
    with pytest.raises(UsageError, match=r"divisible by 5"):
        CaduParams(1111, interleave=5)
    with pytest.raises(UsageError, match=r"at most 1115"):
        CaduParams(1200, interleave=5)


@pytest.mark.parametrize(
    "kwargs",
    [
        {"frame_length": 0, "rs_e": None},
        {"frame_length": 223, "rs_e": 12},
        {"frame_length": 223, "interleave": 6},
        {"frame_length": 100, "rs_e": None, "interleave": 2},
        {"frame_length": 100, "rs_e": None, "virtual_fill": 3},
        {"frame_length": 223, "asm": b"\x1a\xcf"},
        {"frame_length": 223, "randomize": 1},
        {"frame_length": 220, "virtual_fill": 3, "interleave": 1, "rs_e": 16, "dual_basis": 0},
        {"frame_length": 70000, "rs_e": None},
    ],
)
def test_bad_params_are_refused(kwargs: dict[str, object]) -> None:
    with pytest.raises(UsageError):
        CaduParams(**kwargs)  # type: ignore[arg-type]


def test_encoder_and_decoder_want_params() -> None:
    with pytest.raises(UsageError):
        CaduEncoder(1115)  # type: ignore[arg-type]
    with pytest.raises(UsageError):
        CaduDecoder("x")  # type: ignore[arg-type]


# -- vectors and oracles ---------------------------------------------------------------------


@pytest.mark.parametrize("e, interleave", [(16, 5), (8, 1), (16, 8)])
def test_zero_frame_is_asm_plus_randomizer_sequence(e: int, interleave: int) -> None:
    params = CaduParams.shortened(interleave * (255 - 2 * e), rs_e=e, interleave=interleave)
    cadu = CaduEncoder(params).encode(bytes(params.frame_length))
    assert cadu[:4] == bytes.fromhex("1ACFFC1D")
    assert cadu[4:20] == PN_PREFIX
    # The sequence has period 255 and restarts at the first octet after the ASM.
    if params.codeblock_length >= 255 + 16:
        assert cadu[4 + 255 : 4 + 255 + 16] == PN_PREFIX
    assert randomize_tm(cadu[4:]) == bytes(params.codeblock_length)


@pytest.mark.interop
@pytest.mark.parametrize("e, interleave", [(16, 5), (16, 1), (8, 3)])
def test_conventional_basis_matches_reedsolo(e: int, interleave: int) -> None:
    reedsolo = pytest.importorskip("reedsolo")
    codec = reedsolo.RSCodec(2 * e, fcr=128 - e, prim=0x187, generator=0xAD, c_exp=8)
    params = CaduParams(interleave * (255 - 2 * e), rs_e=e, interleave=interleave, dual_basis=False)
    frame = _frames(params, 1, seed=e + interleave)[0]
    checks = [bytes(codec.encode(frame[i::interleave]))[-2 * e :] for i in range(interleave)]
    interleaved = bytes(checks[m % interleave][m // interleave] for m in range(2 * e * interleave))
    expected = ASM + randomize_tm(frame + interleaved)
    assert CaduEncoder(params).encode(frame) == expected


def test_randomizer_applies_to_the_codeblock_after_rs() -> None:
    params = CaduParams(1115, interleave=5)
    frame = _frames(params, 1, seed=3)[0]
    cadu = CaduEncoder(params).encode(frame)
    assert cadu[:4] == ASM
    assert randomize_tm(cadu[4:]) == ReedSolomon(16, 5).encode(frame)
    plain = CaduEncoder(CaduParams(1115, interleave=5, randomize=False)).encode(frame)
    assert plain == ASM + ReedSolomon(16, 5).encode(frame)


# -- round trips ----------------------------------------------------------------------------


@settings(max_examples=40)
@given(cadu_params(), st.integers(1, 4), st.integers(0, 2**32))
def test_round_trip(params: CaduParams, count: int, seed: int) -> None:
    frames = _frames(params, count, seed)
    encoder = CaduEncoder(params)
    cadus = [encoder.encode(f) for f in frames]
    assert all(len(c) == params.cadu_length for c in cadus)
    batch = encoder.encode_many(frames)
    assert batch.shape == (count, params.cadu_length)
    assert batch.tobytes() == b"".join(cadus)
    decoder = CaduDecoder(params)
    for frame, cadu in zip(frames, cadus, strict=True):
        result = decoder.decode(cadu)
        assert isinstance(result, CaduFrame)
        assert result.data == frame and result.corrected == 0
    # check_count=0: lock on the first marker, so even a lone CADU comes out (by default
    # the synchronizer waits for the next marker to confirm it).
    stream = CaduDecoder(params, check_count=0)
    events = stream.feed(b"".join(cadus)) + stream.close()
    assert _frames_of(events) == frames
    assert stream.counters.frames == count and stream.counters.cadus == count


def test_encode_many_input_forms() -> None:
    encoder = CaduEncoder(SMALL)
    frames = _frames(SMALL, 3, seed=1)
    expected = b"".join(encoder.encode(f) for f in frames)
    array = np.frombuffer(b"".join(frames), dtype=np.uint8).reshape(3, -1)
    assert encoder.encode_many(array).tobytes() == expected
    assert encoder.encode_many(b"".join(frames)).tobytes() == expected
    assert encoder.encode_many(bytearray(b"".join(frames))).tobytes() == expected
    assert encoder.encode_many(iter(frames)).tobytes() == expected
    assert encoder.encode_many([]).shape == (0, SMALL.cadu_length)
    with pytest.raises(UsageError, match="back to back"):
        encoder.encode_many(b"".join(frames) + b"x")
    with pytest.raises(UsageError, match="Frame 1 is 39"):
        encoder.encode_many([frames[0], frames[1][:-1]])
    with pytest.raises(UsageError, match="uint8 array"):
        encoder.encode_many(array.astype(np.int16))
    with pytest.raises(UsageError, match="40-octet frames"):
        encoder.encode(b"short")


# -- streams -----------------------------------------------------------------------------


def test_bit_shifted_byte_by_byte_stream_decodes_the_same() -> None:
    frames = _frames(SMALL, 12, seed=7)
    stream = CaduEncoder(SMALL).encode_many(frames).tobytes()
    whole = CaduDecoder(SMALL)
    reference = whole.feed(stream) + whole.close()
    assert _frames_of(reference) == frames
    for bits in (1, 3, 7, 13):
        shifted = _shift(stream, bits, seed=bits)
        one_shot = CaduDecoder(SMALL)
        expected = one_shot.feed(shifted) + one_shot.close()
        assert _frames_of(expected) == frames
        by_byte = CaduDecoder(SMALL)
        events: list[object] = []
        for i in range(len(shifted)):
            events += by_byte.feed(shifted[i : i + 1])
        events += by_byte.close()
        assert events == expected
        assert by_byte.counters == one_shot.counters
        lock = next(e for e in events if isinstance(e, LockAcquired))
        assert lock.bit_offset == bits
        assert isinstance(events[0], GarbageSkipped) and events[0].bits == bits


@settings(max_examples=25)
@given(st.lists(st.integers(1, 200), max_size=20), st.integers(0, 7))
def test_any_split_gives_the_same_events(cuts: list[int], bits: int) -> None:
    frames = _frames(SMALL, 6, seed=11)
    stream = _shift(CaduEncoder(SMALL).encode_many(frames).tobytes(), bits)
    whole = CaduDecoder(SMALL)
    expected = whole.feed(stream) + whole.close()
    split = CaduDecoder(SMALL)
    events: list[object] = []
    position = 0
    for cut in cuts:
        events += split.feed(stream[position : position + cut])
        position += cut
    events += split.feed(stream[position:]) + split.close()
    assert events == expected


def test_inverted_stream_decodes() -> None:
    frames = _frames(SMALL, 5, seed=5)
    stream = CaduEncoder(SMALL).encode_many(frames).tobytes()
    decoder = CaduDecoder(SMALL)
    events = decoder.feed(bytes(255 - b for b in stream)) + decoder.close()
    assert _frames_of(events) == frames
    assert all(e.inverted for e in events if isinstance(e, CaduFrame))
    assert decoder.state is SyncState.SEARCH  # close() ends the lock


# -- errors on the link ----------------------------------------------------------------------


def _inject(cadu: bytearray, params: CaduParams, rng: random.Random, per_codeword: int) -> None:
    """``per_codeword`` symbol errors in each codeword of the CADU's codeblock."""
    interleave = params.interleave
    sent = params.codeblock_length // interleave
    for codeword in range(interleave):
        for index in rng.sample(range(sent), per_codeword):
            cadu[4 + index * interleave + codeword] ^= rng.randrange(1, 256)


@pytest.mark.parametrize("e, interleave", [(16, 5), (8, 1), (16, 1), (8, 8)])
@pytest.mark.parametrize("randomize", [True, False])
def test_up_to_e_errors_per_codeword_are_corrected(
    e: int, interleave: int, randomize: bool
) -> None:
    params = CaduParams(
        interleave * (255 - 2 * e), rs_e=e, interleave=interleave, randomize=randomize
    )
    rng = random.Random(e * 10 + interleave)
    frames = _frames(params, 4, seed=e)
    encoder = CaduEncoder(params)
    damaged = []
    for number, frame in enumerate(frames):
        cadu = bytearray(encoder.encode(frame))
        _inject(cadu, params, rng, per_codeword=e if number % 2 == 0 else number)
        damaged.append(bytes(cadu))
    decoder = CaduDecoder(params)
    events = decoder.feed(b"".join(damaged)) + decoder.close()  # the batch path
    got = [ev for ev in events if isinstance(ev, CaduFrame)]
    assert [ev.data for ev in got] == frames
    expected_counts = [(e if n % 2 == 0 else n,) * interleave for n in range(4)]
    assert [ev.corrected_per_codeword for ev in got] == expected_counts
    counters = decoder.counters
    assert counters.rs_corrected_symbols == sum(sum(c) for c in expected_counts)
    assert counters.rs_corrected_cadus == 4 and counters.uncorrectable == 0
    single = CaduDecoder(params).decode(damaged[0])  # the one-CADU path
    assert isinstance(single, CaduFrame) and single.data == frames[0]
    assert single.corrected == e * interleave


def test_uncorrectable_codeblock_is_reported_not_passed_up() -> None:
    params = CaduParams(1115, interleave=5)
    frames = _frames(params, 3, seed=9)
    cadus = [bytearray(c) for c in CaduEncoder(params).encode_many(frames)]
    rng = random.Random(1)
    # Replace codeword 2's symbols in the middle CADU with noise: far beyond E = 16.
    for index in range(0, 255, 2):
        cadus[1][4 + index * 5 + 2] ^= rng.randrange(1, 256)
    decoder = CaduDecoder(params)
    events = decoder.feed(b"".join(cadus)) + decoder.close()
    bad = [e for e in events if isinstance(e, UncorrectableCodeblock)]
    assert _frames_of(events) == [frames[0], frames[2]]
    assert len(bad) == 1 and bad[0].uncorrectable_codewords == (2,)
    assert bad[0].bit_offset == 8 * params.cadu_length
    assert len(bad[0].data) == params.frame_length
    # The codewords that were fine are still right in the forensic copy.
    assert bad[0].data[0::5] == frames[1][0::5]
    assert decoder.counters.uncorrectable == 1 and decoder.counters.frames == 2
    single = CaduDecoder(params).decode(bytes(cadus[1]))
    assert isinstance(single, UncorrectableCodeblock)


def test_decode_rejects_bad_cadus() -> None:
    decoder = CaduDecoder(SMALL)
    cadu = CaduEncoder(SMALL).encode(bytes(40))
    with pytest.raises(DecodeError, match="CADU length") as exc:
        decoder.decode(cadu[:-1])
    assert exc.value.offset == len(cadu) - 1
    with pytest.raises(DecodeError, match="sync marker") as exc:
        decoder.decode(b"\x00\x00" + cadu[2:])
    assert exc.value.offset == 0
    # Up to max_asm_errors wrong marker bits are accepted, as in the stream.
    assert isinstance(decoder.decode(b"\x1b\xcf\xfc\x1c" + cadu[4:]), CaduFrame)


@given(st.binary(max_size=2 * SMALL.cadu_length))
def test_any_bytes_give_a_value_or_decode_error(data: bytes) -> None:
    decoder = CaduDecoder(SMALL)
    try:
        result = decoder.decode(data)
    except DecodeError:
        result = None
    assert result is None or len(result.data) == 40
    stream = CaduDecoder(SMALL)
    events = stream.feed(data) + stream.close()
    assert all(not isinstance(e, CaduFrame) or len(e.data) == 40 for e in events)


def test_uncorrectable_event_needs_a_codeword() -> None:
    with pytest.raises(UsageError):
        UncorrectableCodeblock(b"", 0, (), ())


def test_uncoded_channel_passes_frames_through() -> None:
    params = CaduParams(100, rs_e=None)
    frames = _frames(params, 3, seed=2)
    decoder = CaduDecoder(params)
    events = decoder.feed(CaduEncoder(params).encode_many(frames).tobytes()) + decoder.close()
    assert _frames_of(events) == frames
    assert all(e.corrected_per_codeword == () for e in events if isinstance(e, CaduFrame))


# -- the user page ------------------------------------------------------------------------


def test_docs_examples_run() -> None:
    blocks = re.findall(r"```python\n(.*?)```", DOC.read_text(), flags=re.DOTALL)
    assert len(blocks) >= 3
    namespace: dict[str, object] = {}
    for block in blocks:
        exec(compile(block, str(DOC), "exec"), namespace)
