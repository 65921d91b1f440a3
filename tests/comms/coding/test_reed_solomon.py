"""Reed-Solomon RS(255,223) and RS(255,239) of 131.0-B-5, with interleaving and fill.

Vectors and oracles:
- the conventional-basis parity of the 223 octets 00 01 .. DE and the conventional-to-dual
  table prefix are those listed in shared/REFERENCES.md; the parity is reproducible with
  reedsolo ``RSCodec(32, fcr=112, prim=0x187, generator=0xAD)`` (checked here too);
- reedsolo (an independent pure-Python RS codec) is the differential oracle for the
  conventional basis, with fcr=112 (E=16) or fcr=120 (E=8), prim 0x187, generator
  alpha^11 = 0xAD;
- the dual basis is checked through its definition: the dual-basis codeblock is the
  conventional codeblock of the converted data, converted symbol by symbol.
"""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from comms.coding import ReedSolomon, RsResult
from comms.coding._gf256 import BERLEKAMP_T, EXP, FROM_DUAL, TO_DUAL, gf_mul
from comms.coding.reed_solomon import INTERLEAVE_DEPTHS
from comms.errors import DecodeError, UsageError
from tools.fuzz.fuzz_rs import test_one_input as fuzz_one_input

PARITY_00_TO_DE = bytes.fromhex("2FBD4FB4748494B9ACD554627212EEB3EBED41191DE1D36320EA49290B25ABCF")
DUAL_TABLE_PREFIX = bytes.fromhex("00 7B AF D4 99 E2 36 4D FA 81 55 2E 63 18 CC B7")

CONFIGS = [(e, i) for e in (16, 8) for i in INTERLEAVE_DEPTHS]


def _random_data(rs: ReedSolomon, seed: int) -> bytes:
    return np.random.default_rng(seed).integers(0, 256, rs.data_length, dtype=np.uint8).tobytes()


def _corrupt(codeblock: bytes, interleave: int, errors: list[list[tuple[int, int]]]) -> bytes:
    """Apply (symbol index within codeword, non-zero XOR mask) errors to each codeword."""
    out = bytearray(codeblock)
    for codeword, pattern in enumerate(errors):
        for index, mask in pattern:
            out[index * interleave + codeword] ^= mask
    return bytes(out)


def _error_patterns(
    draw: st.DrawFn, interleave: int, sent_length: int, counts: st.SearchStrategy[int]
) -> list[list[tuple[int, int]]]:
    patterns = []
    for _ in range(interleave):
        count = draw(counts)
        positions = draw(
            st.lists(st.integers(0, sent_length - 1), min_size=count, max_size=count, unique=True)
        )
        masks = draw(st.lists(st.integers(1, 255), min_size=count, max_size=count))
        patterns.append(list(zip(positions, masks, strict=True)))
    return patterns


error_patterns = st.composite(_error_patterns)


def _assert_consistent(rs: ReedSolomon, received: bytes, result: RsResult) -> None:
    """What a decoder can vouch for: a claimed codeword is within E of what was received.

    Re-encoding the returned data gives the codeword the decoder claims; each codeword it
    calls corrected must differ from the received one in exactly the reported number of
    symbols (at most E), and each uncorrectable one must be returned untouched.
    """
    claimed = rs.encode(result.data)
    interleave = rs.interleave
    assert len(result.corrected_per_codeword) == interleave
    for codeword in range(interleave):
        ours = claimed[codeword::interleave]
        theirs = received[codeword::interleave]
        if codeword in result.uncorrectable_codewords:
            assert result.corrected_per_codeword[codeword] == 0
            data_symbols = rs.data_length // interleave
            assert ours[:data_symbols] == theirs[:data_symbols]
        else:
            distance = sum(a != b for a, b in zip(ours, theirs, strict=True))
            assert distance == result.corrected_per_codeword[codeword] <= rs.e


# -- field and basis --------------------------------------------------------------------


def test_dual_basis_table_prefix() -> None:
    assert TO_DUAL[:16] == DUAL_TABLE_PREFIX


def test_dual_basis_tables_are_inverse_permutations() -> None:
    assert sorted(TO_DUAL) == list(range(256))
    assert all(FROM_DUAL[TO_DUAL[v]] == v for v in range(256))


def test_t_matrix_rows_build_the_table() -> None:
    # Row k of the T matrix is the dual form of alpha^k; the table is their XOR span.
    assert tuple(TO_DUAL[1 << k] for k in range(8)) == BERLEKAMP_T
    for value in (0x5A, 0xFF, 0x81):
        expected = 0
        for k in range(8):
            if value >> k & 1:
                expected ^= BERLEKAMP_T[k]
        assert TO_DUAL[value] == expected


def test_field_is_generated_by_0x187_and_alpha11_is_0xad() -> None:
    assert EXP[8] == 0x87  # alpha^8 = alpha^7 + alpha^2 + alpha + 1
    assert EXP[11] == 0xAD
    assert len(set(EXP[:255])) == 255
    assert gf_mul(0x87, 1) == 0x87


# -- encoding ---------------------------------------------------------------------------


def test_references_parity_vector_conventional_basis() -> None:
    rs = ReedSolomon(16, dual_basis=False)
    codeblock = rs.encode(bytes(range(223)))
    assert codeblock[:223] == bytes(range(223))
    assert codeblock[223:] == PARITY_00_TO_DE


@pytest.mark.parametrize(("e", "interleave"), CONFIGS)
def test_dual_basis_is_the_converted_conventional_code(e: int, interleave: int) -> None:
    dual = ReedSolomon(e, interleave)
    conventional = ReedSolomon(e, interleave, dual_basis=False)
    data = _random_data(dual, seed=e * 10 + interleave)
    from_dual = bytes(FROM_DUAL[v] for v in data)
    expected = bytes(TO_DUAL[v] for v in conventional.encode(from_dual))
    assert dual.encode(data) == expected


@pytest.mark.parametrize(("e", "interleave"), CONFIGS)
def test_interleaving_puts_symbol_k_in_codeword_k_mod_i(e: int, interleave: int) -> None:
    rs = ReedSolomon(e, interleave, dual_basis=False)
    single = ReedSolomon(e, 1, dual_basis=False)
    data = _random_data(rs, seed=interleave)
    codeblock = rs.encode(data)
    for codeword in range(interleave):
        assert codeblock[codeword::interleave] == single.encode(data[codeword::interleave])


@pytest.mark.parametrize("interleave", [1, 5])
def test_virtual_fill_is_the_full_code_with_leading_zeros_dropped(interleave: int) -> None:
    fill = 20 * interleave
    short = ReedSolomon(16, interleave, virtual_fill=fill)
    full = ReedSolomon(16, interleave)
    data = _random_data(short, seed=fill)
    assert len(data) == 223 * interleave - fill
    assert short.encode(data) == full.encode(bytes(fill) + data)[fill:]


def test_encode_many_matches_encode() -> None:
    rs = ReedSolomon(16, 5, virtual_fill=10)
    rows = np.random.default_rng(1).integers(0, 256, (70, rs.data_length), dtype=np.uint8)
    out = rs.encode_many(rows)
    assert out.shape == (70, rs.codeblock_length)
    for row, block in zip(rows, out, strict=True):
        assert block.tobytes() == rs.encode(row.tobytes())


# -- decoding ---------------------------------------------------------------------------


@pytest.mark.parametrize(("e", "interleave"), CONFIGS)
@settings(max_examples=20)
@given(data=st.data())
def test_up_to_e_errors_per_codeword_are_corrected(
    e: int, interleave: int, data: st.DataObject
) -> None:
    fill = data.draw(st.sampled_from([0, interleave, 100 * interleave]))
    rs = ReedSolomon(e, interleave, virtual_fill=fill, dual_basis=data.draw(st.booleans()))
    message = _random_data(rs, data.draw(st.integers(0, 2**32)))
    codeblock = rs.encode(message)
    patterns = data.draw(error_patterns(interleave, 255 - fill // interleave, st.integers(0, e)))
    result = rs.decode(_corrupt(codeblock, interleave, patterns))
    assert result.data == message
    assert result.corrected_per_codeword == tuple(len(p) for p in patterns)
    assert result.corrected == sum(len(p) for p in patterns)
    assert not result.uncorrectable


@pytest.mark.parametrize(("e", "interleave"), [(16, 1), (8, 1), (16, 5), (8, 3)])
@settings(max_examples=30)
@given(data=st.data())
def test_more_than_e_errors_are_flagged_or_legitimately_miscorrected(
    e: int, interleave: int, data: st.DataObject
) -> None:
    # Beyond E errors the decoder may (with probability about 1/E!) find another codeword
    # within distance E and cannot tell. What it must never do is claim a codeword that is
    # not within the reported distance of what it received; _assert_consistent checks that.
    rs = ReedSolomon(e, interleave, dual_basis=data.draw(st.booleans()))
    message = _random_data(rs, data.draw(st.integers(0, 2**32)))
    patterns = data.draw(error_patterns(interleave, 255, st.integers(e + 1, e + 6)))
    received = _corrupt(rs.encode(message), interleave, patterns)
    result = rs.decode(received)
    _assert_consistent(rs, received, result)
    for codeword in range(interleave):
        if codeword not in result.uncorrectable_codewords:
            # A claimed success beyond E is a different codeword: never our message's.
            assert result.data[codeword::interleave] != message[codeword::interleave]


@settings(max_examples=30)
@given(st.binary(min_size=16 + 32, max_size=16 + 32), st.booleans())
def test_garbage_on_a_heavily_shortened_code_is_never_claimed_inconsistently(
    block: bytes, dual: bool
) -> None:
    # 16 data symbols: most error locators point into the 207 virtual fill positions,
    # which must count as failures, not as corrections of octets that were never sent.
    rs = ReedSolomon(16, 1, virtual_fill=207, dual_basis=dual)
    _assert_consistent(rs, block, rs.decode(block))


def test_errors_only_in_check_symbols_leave_data_and_count_them() -> None:
    rs = ReedSolomon(16, 2)
    message = _random_data(rs, 7)
    codeblock = rs.encode(message)
    result = rs.decode(_corrupt(codeblock, 2, [[(223, 1), (254, 0x80)], []]))
    assert result.data == message
    assert result.corrected_per_codeword == (2, 0)


def test_uncorrectable_codeword_is_returned_as_received_and_others_corrected() -> None:
    rs = ReedSolomon(16, 2)
    message = _random_data(rs, 8)
    received = _corrupt(rs.encode(message), 2, [[(i, 0x5A) for i in range(0, 60, 2)], [(3, 1)]])
    result = rs.decode(received)
    assert result.uncorrectable
    assert result.uncorrectable_codewords == (0,)
    assert result.corrected_per_codeword == (0, 1)
    assert result.data[1::2] == message[1::2]
    assert result.data[0::2] == received[: rs.data_length][0::2]


def test_decode_accepts_bytearray_and_memoryview() -> None:
    rs = ReedSolomon(8, 4)
    message = _random_data(rs, 9)
    codeblock = rs.encode(message)
    assert rs.decode(bytearray(codeblock)).data == message
    assert rs.decode(memoryview(b"xx" + codeblock)[2:]).data == message
    assert rs.encode(memoryview(message)) == codeblock


def test_all_zero_codeblock_is_a_codeword() -> None:
    rs = ReedSolomon(16, 5)
    assert rs.decode(bytes(rs.codeblock_length)) == RsResult(bytes(rs.data_length), (0,) * 5)


def test_decode_many_matches_decode_across_chunks() -> None:
    rs = ReedSolomon(16, 5, virtual_fill=5)
    rng = np.random.default_rng(3)
    blocks = []
    for n in range(75):  # more than one internal chunk
        codeblock = bytearray(rs.encode(_random_data(rs, n)))
        for _ in range(n % 4 * 20):  # clean, correctable, and beyond E in one codeword
            codeblock[int(rng.integers(0, 200)) * 5] ^= int(rng.integers(1, 256))
        blocks.append(bytes(codeblock))
    batch = rs.decode_many(np.frombuffer(b"".join(blocks), dtype=np.uint8).reshape(75, -1))
    from_bytes = rs.decode_many(b"".join(blocks))
    assert np.array_equal(batch.data, from_bytes.data)
    assert batch.uncorrectable.any() and batch.corrected.any()
    for n, codeblock in enumerate(blocks):
        single = rs.decode(codeblock)
        assert batch.data[n].tobytes() == single.data
        assert tuple(batch.corrected[n]) == single.corrected_per_codeword
        assert tuple(np.flatnonzero(batch.uncorrectable[n])) == single.uncorrectable_codewords
        assert batch.block_uncorrectable[n] == single.uncorrectable


def test_wrong_length_is_a_decode_error() -> None:
    rs = ReedSolomon(16, 5)
    with pytest.raises(DecodeError) as info:
        rs.decode(bytes(1274))
    assert (info.value.expected, info.value.got, info.value.offset) == (1275, 1274, 1274)
    with pytest.raises(DecodeError):
        rs.decode(bytes(1276))
    with pytest.raises(DecodeError):
        rs.decode_many(bytes(1275 * 2 + 1))
    with pytest.raises(DecodeError):
        rs.decode_many(np.zeros((2, 1274), dtype=np.uint8))
    with pytest.raises(UsageError):
        rs.decode_many(np.zeros((2, 1275), dtype=np.int32))


def test_fuzz_harness_smoke() -> None:
    for seed in range(40):
        fuzz_one_input(np.random.default_rng(seed).bytes(seed * 37 % 1400))


@given(st.binary(max_size=2200))
def test_any_bytes_give_a_result_or_decode_error(data: bytes) -> None:
    fuzz_one_input(data)


# -- construction -----------------------------------------------------------------------


def test_lengths() -> None:
    rs = ReedSolomon(16, 5, virtual_fill=15)
    assert (rs.data_length, rs.check_length, rs.codeblock_length) == (1100, 160, 1260)
    assert ReedSolomon(8, 8).codeblock_length == 255 * 8


@pytest.mark.parametrize(
    "kwargs",
    [
        {"e": 10},
        {"e": 16.0},
        {"interleave": 6},
        {"interleave": 0},
        {"interleave": 2, "virtual_fill": 3},
        {"virtual_fill": -1},
        {"virtual_fill": 223},
        {"e": 8, "interleave": 2, "virtual_fill": 478},
    ],
)
def test_bad_settings_are_usage_errors(kwargs: dict[str, int]) -> None:
    with pytest.raises(UsageError):
        ReedSolomon(**kwargs)  # type: ignore[arg-type]


def test_encode_wrong_length_is_a_usage_error() -> None:
    with pytest.raises(UsageError, match="223 data octets"):
        ReedSolomon(16).encode(bytes(222))
    with pytest.raises(UsageError):
        ReedSolomon(16).encode_many(np.zeros((2, 222), dtype=np.uint8))


# -- interop with reedsolo --------------------------------------------------------------


@pytest.mark.interop
def test_reedsolo_reproduces_the_references_parity() -> None:
    reedsolo = pytest.importorskip("reedsolo")
    codec = reedsolo.RSCodec(32, fcr=112, prim=0x187, generator=0xAD, c_exp=8)
    assert bytes(codec.encode(bytes(range(223))))[223:] == PARITY_00_TO_DE


@pytest.mark.interop
@pytest.mark.parametrize("e", [16, 8])
@settings(max_examples=10)
@given(data=st.data())
def test_differential_against_reedsolo(e: int, data: st.DataObject) -> None:
    reedsolo = pytest.importorskip("reedsolo")
    codec = reedsolo.RSCodec(2 * e, fcr=128 - e, prim=0x187, generator=0xAD, c_exp=8)
    rs = ReedSolomon(e, dual_basis=False)
    message = data.draw(st.binary(min_size=rs.data_length, max_size=rs.data_length))
    ours = rs.encode(message)
    assert ours == bytes(codec.encode(message))
    (pattern,) = data.draw(error_patterns(1, 255, st.integers(0, e)))
    received = _corrupt(ours, 1, [pattern])
    # reedsolo decodes what we corrupted, and we decode the same word: same answer.
    decoded, _, errata = codec.decode(received)
    assert bytes(decoded) == message
    assert len(errata) == len(pattern)
    result = rs.decode(received)
    assert result.data == message
    assert result.corrected == len(pattern)
