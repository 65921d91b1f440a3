"""The vectorized one-error path of Reed-Solomon decoding against the general one.

``_single_errors`` answers rows whose syndromes are a geometric sequence without running
Berlekamp-Massey; differential check: for syndromes of one error at every position (full
and shortened codes), of two or more errors, and of random rows, its answer -- when it
gives one -- is exactly ``_correct_codeword``'s, and it answers every one-error row.
"""

from __future__ import annotations

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from comms.coding import ReedSolomon
from comms.coding.reed_solomon import _correct_codeword, _single_errors


def _syndromes(rs: ReedSolomon, remainders: np.ndarray) -> np.ndarray:
    from comms.coding._gf256 import FROM_DUAL_NP, MUL_NP

    tables = rs._tables
    conventional = FROM_DUAL_NP[remainders] if rs.dual_basis else remainders
    return np.bitwise_xor.reduce(
        MUL_NP[conventional[:, None, :], tables.syndrome_powers[None, :, :]], axis=2
    )


def _remainders(rs: ReedSolomon, blocks: list[bytes]) -> np.ndarray:
    rows = []
    for block in blocks:
        octets = np.frombuffer(block, dtype=np.uint8)
        parity = rs._parity(octets[: rs._data_length])
        rows.append(parity ^ octets[rs._data_length :].reshape(-1, rs.interleave).T)
    return np.concatenate(rows)


def _check(rs: ReedSolomon, syndromes: np.ndarray) -> int:
    fast = _single_errors(syndromes, rs._tables.first_root, rs._sent_length)
    answered = 0
    for row, fix in zip(syndromes.tolist(), fast, strict=True):
        slow = _correct_codeword(row, rs._tables, rs.e, rs._sent_length)
        if fix is not None:
            answered += 1
            assert fix == slow
        elif slow is not None:
            assert len(slow) != 1, "a one-error row must take the fast path"
    return answered


def test_one_error_at_every_position_full_and_shortened() -> None:
    for rs in (ReedSolomon(16, 1), ReedSolomon(8, 1), ReedSolomon(16, 1, virtual_fill=40)):
        rng = np.random.default_rng(rs.virtual_fill + rs.e)
        data = rng.integers(0, 256, rs.data_length, dtype=np.uint8).tobytes()
        clean = rs.encode(data)
        blocks = []
        for index in range(len(clean)):
            block = bytearray(clean)
            block[index] ^= int(rng.integers(1, 256))
            blocks.append(bytes(block))
        syndromes = _syndromes(rs, _remainders(rs, blocks))
        assert _check(rs, syndromes) == len(clean)  # every one-error row answered fast


@settings(max_examples=60, deadline=None)
@given(
    errors=st.integers(2, 20),
    seed=st.integers(0, 2**32 - 1),
    dual=st.booleans(),
)
def test_several_errors_never_take_the_fast_path_wrongly(
    errors: int, seed: int, dual: bool
) -> None:
    rs = ReedSolomon(16, 1, dual_basis=dual)
    rng = np.random.default_rng(seed)
    block = bytearray(rs.encode(rng.integers(0, 256, rs.data_length, dtype=np.uint8).tobytes()))
    for index in rng.choice(len(block), size=errors, replace=False).tolist():
        block[index] ^= int(rng.integers(1, 256))
    _check(rs, _syndromes(rs, _remainders(rs, [bytes(block)])))


def test_random_rows() -> None:
    rs = ReedSolomon(16, 1)
    rng = np.random.default_rng(7)
    syndromes = rng.integers(0, 256, (500, 32), dtype=np.uint8)
    _check(rs, syndromes)
