"""GF(2^8) arithmetic for the CCSDS Reed-Solomon codes (131.0-B-5 section 4).

The field is GF(2)[x] / F(x) with F(x) = x^8 + x^7 + x^2 + x + 1 (0x187); ``alpha`` is a
root of F and the element ``2`` in the conventional (polynomial) representation, where
bit k of an octet is the coefficient of alpha^k.

On the wire 131.0-B-5 sends symbols in Berlekamp's dual basis {l_0 .. l_7}: the dual of the
polynomial basis {1, beta, .., beta^7} with beta = alpha^117 under the trace,
Tr(l_i beta^j) = 1 if i == j else 0. The dual coordinates of an element z are therefore
z_j = Tr(z beta^j), and z_0 is sent first (the octet's most significant bit). The map is
linear over GF(2), so it is the 8x8 bit matrix T of the standard's Annex F: row k of
:data:`BERLEKAMP_T` is the dual form of alpha^k, and a conventional octet converts by
XOR-ing the rows its set bits select. The 256-entry tables are built that way here, not
pasted, and the tests check them against the published table prefix.

Tables only; no state. Python lists serve the scalar decoder loops (list indexing is
faster than numpy scalar indexing), numpy arrays serve the batch paths.
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

__all__ = [
    "BERLEKAMP_T",
    "EXP",
    "EXP_NP",
    "FIELD_POLY",
    "FROM_DUAL",
    "FROM_DUAL_NP",
    "LOG",
    "MUL_NP",
    "TO_DUAL",
    "TO_DUAL_NP",
    "gf_inv",
    "gf_mul",
    "gf_pow_alpha",
]

FIELD_POLY = 0x187
"""F(x) = x^8 + x^7 + x^2 + x + 1, the field generator polynomial (131.0-B-5 section 4)."""

_DUAL_BETA_LOG = 117
"""beta = alpha^117 defines Berlekamp's dual basis (131.0-B-5 Annex F)."""


def _build_exp_log() -> tuple[list[int], list[int]]:
    exp = [0] * 510
    log = [0] * 256
    x = 1
    for i in range(255):
        exp[i] = x
        log[x] = i
        x <<= 1
        if x & 0x100:
            x ^= FIELD_POLY
    # Doubled so that exp[log a + log b] needs no modulo in the scalar loops.
    for i in range(255, 510):
        exp[i] = exp[i - 255]
    return exp, log


EXP, LOG = _build_exp_log()
"""alpha^i for i in 0..509 (period 255, doubled); LOG[a] for a != 0 (LOG[0] is unused)."""


def gf_mul(a: int, b: int) -> int:
    """Product of two field elements in the conventional representation."""
    if a == 0 or b == 0:
        return 0
    return EXP[LOG[a] + LOG[b]]


def gf_inv(a: int) -> int:
    """Multiplicative inverse of a non-zero field element."""
    return EXP[255 - LOG[a]]


def gf_pow_alpha(i: int) -> int:
    """alpha^i for any integer i (negative exponents included)."""
    return EXP[i % 255]


def _trace(z: int) -> int:
    # Tr(z) = z + z^2 + z^4 + ... + z^128, which lies in GF(2).
    total = 0
    for _ in range(8):
        total ^= z
        z = gf_mul(z, z)
    return total


def _build_dual_tables() -> tuple[tuple[int, ...], bytes, bytes]:
    beta_powers = [gf_pow_alpha(_DUAL_BETA_LOG * j) for j in range(8)]

    def dual_of(z: int) -> int:
        octet = 0
        for j, beta_j in enumerate(beta_powers):
            octet |= _trace(gf_mul(z, beta_j)) << (7 - j)  # z_0 is the most significant bit
        return octet

    rows = tuple(dual_of(1 << k) for k in range(8))
    to_dual = bytearray(256)
    from_dual = bytearray(256)
    for conventional in range(256):
        dual = 0
        for k in range(8):
            if conventional >> k & 1:
                dual ^= rows[k]
        to_dual[conventional] = dual
        from_dual[dual] = conventional
    return rows, bytes(to_dual), bytes(from_dual)


BERLEKAMP_T, TO_DUAL, FROM_DUAL = _build_dual_tables()
"""T matrix rows (row k = dual form of alpha^k) and the conversion tables both ways."""

EXP_NP: npt.NDArray[np.uint8] = np.array(EXP, dtype=np.uint8)
TO_DUAL_NP: npt.NDArray[np.uint8] = np.frombuffer(TO_DUAL, dtype=np.uint8)
FROM_DUAL_NP: npt.NDArray[np.uint8] = np.frombuffer(FROM_DUAL, dtype=np.uint8)


def _build_mul_table() -> npt.NDArray[np.uint8]:
    log = np.array(LOG, dtype=np.intp)
    table: npt.NDArray[np.uint8] = EXP_NP[log[:, None] + log[None, :]]
    table[0, :] = 0
    table[:, 0] = 0
    return table


MUL_NP: npt.NDArray[np.uint8] = _build_mul_table()
"""MUL_NP[a, b] = a * b: the full 64 KiB product table for vectorized products."""
