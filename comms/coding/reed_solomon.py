"""Reed-Solomon coding of 131.0-B-5 section 4: RS(255,223) E=16 and RS(255,239) E=8.

The codes, as the standard defines them:

- symbols are octets of GF(2^8) with F(x) = x^8 + x^7 + x^2 + x + 1 (:mod:`._gf256`);
- the generator polynomial has 2E consecutive roots alpha^(11 j): j = 112..143 for E=16,
  j = 120..135 for E=8 (first consecutive root 128 - E, root step alpha^11);
- a codeword is k = 255 - 2E data symbols then 2E check symbols, the first symbol sent
  being the coefficient of x^254 (systematic: the check symbols are the remainder of
  x^(2E) d(x) divided by g(x));
- symbols on the wire are in Berlekamp's dual basis (``dual_basis=True``, the standard);
  ``dual_basis=False`` gives the conventional representation that most general-purpose
  RS libraries (reedsolo) use, for interop and tests;
- interleave depth I in {1, 2, 3, 4, 5, 8}: symbol k of the codeblock belongs to
  codeword k mod I, and the 2E*I check symbols trail the data;
- virtual fill: Q leading zero data symbols (Q a multiple of I, Q < k*I) are neither
  sent nor entered into the encoder, giving a (255I-Q, kI-Q) shortened codeblock.

How it runs fast. The check symbols are a GF(2)-linear function of the data, so each
data position t has a 256-row table of its contribution to the remainder, and a
codeblock's parity is the XOR of one table row per data symbol: one numpy gather and one
XOR-reduction over all I codewords at once (over all codeblocks of a batch in
:meth:`ReedSolomon.decode_many`). Dual-basis conversion is linear too and is folded into
the tables, so neither path converts symbols. Decoding reuses the encoder: the remainder
of the received word modulo g(x) is the recomputed parity XOR the received parity; it is
zero exactly when all 2E syndromes are (a non-zero polynomial of degree < 2E cannot
vanish at 2E distinct roots), which makes the common error-free check as cheap as an
encode. Only codewords with a non-zero remainder take the correcting path: syndromes
evaluated from the 2E-symbol remainder, Berlekamp-Massey, a vectorized Chien search and
Forney's formula.

A codeword is declared uncorrectable (reported, never raised: a bad codeword is link
data) when the error locator has degree above E, when it does not have exactly as many
distinct roots at sent positions as its degree (roots in the virtual fill count as
failures), or when Forney gives a zero error value. With more than E errors a decoder can
still land on a different codeword within distance E and report success ("miscorrection");
for random error patterns the probability is bounded by about 1/E! (McEliece and Swanson,
1986: roughly 2.5e-5 for E=8 and 5e-14 for E=16, less when shortened), and no decoder can
detect it: that is why 131.0-B-5 suggests the FECF for extra validation with E=8.

Left out: erasure decoding (the link gives no erasure flags) and codeblock
synchronization (:mod:`comms.coding.sync`).
"""

from __future__ import annotations

import functools
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from comms.buffers import BytesLike
from comms.coding._gf256 import (
    EXP,
    EXP_NP,
    FROM_DUAL_NP,
    LOG,
    MUL_NP,
    TO_DUAL,
    TO_DUAL_NP,
)
from comms.errors import DecodeError, UsageError

__all__ = ["INTERLEAVE_DEPTHS", "ReedSolomon", "RsBatchResult", "RsResult"]

INTERLEAVE_DEPTHS = (1, 2, 3, 4, 5, 8)
"""The interleave depths 131.0-B-5 allows."""

_N = 255
_ROOT_STEP_LOG = 11  # roots are alpha^(11 j): the code is narrow-sense in gamma = alpha^11
# Codeblocks per gather in decode_many/encode_many. The gather materializes 32 octets per
# data symbol (about 2.3 MB for 64 codeblocks at E=16, I=5); 32..96 measured best on a
# 2-core EPYC, 256 and more measured slower as the rows fall out of the cache.
_BATCH_CHUNK = 64


@dataclass(frozen=True, slots=True)
class RsResult:
    """One decoded codeblock.

    ``data`` is the codeblock's data part (the frame) with every correctable codeword
    corrected; a codeword listed in ``uncorrectable_codewords`` is left as received.
    ``corrected_per_codeword[i]`` is the number of symbols (data or check) corrected in
    codeword i, 0 for an uncorrectable one.
    """

    data: bytes
    corrected_per_codeword: tuple[int, ...]
    uncorrectable_codewords: tuple[int, ...] = ()

    @property
    def corrected(self) -> int:
        """Total symbols corrected in the codeblock."""
        return sum(self.corrected_per_codeword)

    @property
    def uncorrectable(self) -> bool:
        """True when at least one codeword could not be corrected."""
        return bool(self.uncorrectable_codewords)


@dataclass(frozen=True, slots=True, eq=False)
class RsBatchResult:
    """Many decoded codeblocks, one row each (see :meth:`ReedSolomon.decode_many`).

    ``data`` is (N, data_length) uint8; ``corrected`` (N, I) int16 symbols corrected per
    codeword; ``uncorrectable`` (N, I) bool. Rows with an uncorrectable codeword keep
    that codeword's symbols as received.
    """

    data: npt.NDArray[np.uint8]
    corrected: npt.NDArray[np.int16]
    uncorrectable: npt.NDArray[np.bool_]

    @property
    def block_uncorrectable(self) -> npt.NDArray[np.bool_]:
        """(N,) True for codeblocks with at least one uncorrectable codeword."""
        return np.asarray(self.uncorrectable.any(axis=1), dtype=np.bool_)


@dataclass(frozen=True, slots=True)
class _CodeTables:
    """Everything precomputed for one (E, basis) pair; shared by all ReedSolomon objects."""

    first_root: int
    parity_rows: npt.NDArray[np.uint64]  # (k*256, 2E/8): row t*256+v = contribution of v at t
    syndrome_powers: npt.NDArray[np.uint8]  # (2E, 2E): alpha^(11 (fcr+j) (2E-1-m))
    chien_logs: npt.NDArray[np.intp]  # (E+1, 255): (-11 p k) mod 255


def _generator_remainders(e: int, first_root: int) -> npt.NDArray[np.uint8]:
    """(k, 2E) conventional remainders of x^(2E+k-1-t) mod g(x), highest power first."""
    two_e = 2 * e
    g = [1]  # coefficients, highest power first
    for j in range(first_root, first_root + two_e):
        root = EXP[(_ROOT_STEP_LOG * j) % _N]
        product = [*g, 0]
        for i, coefficient in enumerate(g):
            if coefficient:
                product[i + 1] ^= EXP[LOG[coefficient] + LOG[root]]
        g = product
    g_low = np.array(g[1:], dtype=np.uint8)  # x^(2E) == g_low(x) mod g(x) in GF(2^8)
    k = _N - two_e
    remainders = np.zeros((k, two_e), dtype=np.uint8)
    current = g_low.copy()
    for power_index in range(k):  # power 2E + power_index
        remainders[k - 1 - power_index] = current
        top = current[0]
        current = np.concatenate((current[1:], np.zeros(1, dtype=np.uint8)))
        current ^= MUL_NP[top, g_low]
    return remainders


# Memoized: the tables are read-only and depend on (E, basis) only, so every ReedSolomon
# object with the same code shares one copy (about 1.8 MB for E=16) instead of rebuilding it.
@functools.cache
def _code_tables(e: int, dual_basis: bool) -> _CodeTables:
    two_e = 2 * e
    first_root = 128 - e
    remainders = _generator_remainders(e, first_root)
    values = np.arange(256, dtype=np.intp)
    if dual_basis:
        # Folding the basis change into the table: dual(x) is GF(2)-linear, so the XOR of
        # dual-converted rows is the dual form of the conventional parity.
        table = TO_DUAL_NP[MUL_NP[FROM_DUAL_NP[values][None, :, None], remainders[:, None, :]]]
    else:
        table = MUL_NP[values[None, :, None], remainders[:, None, :]]
    parity_rows = np.ascontiguousarray(table.reshape(-1, two_e)).view(np.uint64)
    j = np.arange(two_e)[:, None]
    m = np.arange(two_e)[None, :]
    syndrome_powers = EXP_NP[(_ROOT_STEP_LOG * (first_root + j) * (two_e - 1 - m)) % _N]
    chien_logs = (-_ROOT_STEP_LOG * np.arange(e + 1)[:, None] * np.arange(_N)[None, :]) % _N
    for array in (parity_rows, syndrome_powers, chien_logs):
        array.flags.writeable = False
    return _CodeTables(first_root, parity_rows, syndrome_powers, chien_logs.astype(np.intp))


def _berlekamp_massey(syndromes: list[int]) -> list[int]:
    """Shortest error locator Lambda(x) (lowest power first) generating ``syndromes``."""
    log, exp = LOG, EXP
    locator = [1]
    previous = [1]
    length = 0
    shift = 1
    previous_discrepancy_log = 0
    for r, discrepancy in enumerate(syndromes):
        for i in range(1, length + 1):
            a = locator[i] if i < len(locator) else 0
            b = syndromes[r - i]
            if a and b:
                discrepancy ^= exp[log[a] + log[b]]
        if discrepancy == 0:
            shift += 1
            continue
        scale_log = (log[discrepancy] - previous_discrepancy_log) % 255
        updated = locator + [0] * (len(previous) + shift - len(locator))
        for i, coefficient in enumerate(previous):
            if coefficient:
                updated[i + shift] ^= exp[log[coefficient] + scale_log]
        if 2 * length <= r:
            previous = locator
            previous_discrepancy_log = log[discrepancy]
            length = r + 1 - length
            shift = 1
        else:
            shift += 1
        locator = updated
    del locator[length + 1 :]  # terms above L are zero when BM succeeds; trim the list
    locator += [0] * (length + 1 - len(locator))
    return locator


_LOG_NP = np.array(LOG, dtype=np.intp)
_ROOT_STEP_INVERSE = pow(_ROOT_STEP_LOG, -1, 255)  # 116: 11 * 116 = 1 (mod 255)


def _single_errors(
    syndromes: npt.NDArray[np.uint8], first_root: int, sent_length: int
) -> list[list[tuple[int, int]] | None]:
    """The corrections of rows whose syndromes say "exactly one error", all at once;
    None for the other rows (they take Berlekamp-Massey).

    One error of value v at position x^p gives S_j = v gamma^(p (fcr + j)), gamma =
    alpha^11: every S_j is non-zero and S_(j+1) / S_j = gamma^p for all j. Such a
    sequence has linear complexity 1, so Berlekamp-Massey would find Lambda = 1 + gamma^p
    x, Chien its one root (when p is a sent position), and Forney v = S_0 gamma^(-p fcr)
    -- the same answer, here in a few array operations for a whole batch. At low bit
    error rates nearly every damaged codeword has one error (measured ~25x faster per
    codeword than the general path; tools/bench/bench_cfdp_bulk.py).
    """
    count, two_e = syndromes.shape
    out: list[list[tuple[int, int]] | None] = [None] * count
    if not count:
        return out
    nonzero = (syndromes != 0).all(axis=1)
    logs = _LOG_NP[syndromes]
    ratio = (logs[:, 1] - logs[:, 0]) % 255
    expected = (logs[:, :1] + ratio[:, None] * np.arange(two_e)[None, :]) % 255
    geometric = (logs == expected).all(axis=1)
    position = (ratio * _ROOT_STEP_INVERSE) % 255
    ok = nonzero & geometric & (position < sent_length)
    rows = np.flatnonzero(ok)
    if not rows.size:
        return out
    p = position[rows]
    value_logs = (logs[rows, 0] - _ROOT_STEP_LOG * p * first_root) % 255
    for row, index, value_log in zip(
        rows.tolist(), (sent_length - 1 - p).tolist(), value_logs.tolist(), strict=True
    ):
        out[row] = [(index, EXP[value_log])]
    return out


def _correct_codeword(
    syndromes: list[int], tables: _CodeTables, e: int, sent_length: int
) -> list[tuple[int, int]] | None:
    """Error (index in the sent codeword, conventional error value) pairs, or None.

    ``sent_length`` is n' = 255 - q, the codeword length without its virtual fill.
    """
    locator = _berlekamp_massey(syndromes)
    degree = len(locator) - 1
    while degree and locator[degree] == 0:
        degree -= 1
    if degree == 0 or degree > e or degree != len(locator) - 1:
        return None
    # Chien search over the sent positions only: x^p for p in 0..n'-1 is sent index n'-1-p.
    powers = np.flatnonzero(locator)
    logs = np.array([LOG[locator[int(k)]] for k in powers], dtype=np.intp)
    terms = EXP_NP[tables.chien_logs[powers, :sent_length] + logs[:, None]]
    roots = np.flatnonzero(np.bitwise_xor.reduce(terms, axis=0) == 0)
    if len(roots) != degree:
        return None
    # Forney with first root fcr: e_k = X_k^(1-fcr) Omega(X_k^-1) / Lambda'(X_k^-1),
    # Omega = S Lambda mod x^(2E) (only its first L terms are non-zero when BM succeeded).
    log, exp = LOG, EXP
    omega = []
    for i in range(degree):
        value = 0
        for k in range(min(i, degree) + 1):
            a, b = locator[k], syndromes[i - k]
            if a and b:
                value ^= exp[log[a] + log[b]]
        omega.append(value)
    corrections = []
    first_root = tables.first_root
    for p in roots.tolist():
        x_inverse_log = (-_ROOT_STEP_LOG * p) % 255
        omega_value = 0
        for i, coefficient in enumerate(omega):
            if coefficient:
                omega_value ^= exp[(log[coefficient] + x_inverse_log * i) % 255]
        derivative = 0
        for k in range(1, degree + 1, 2):  # characteristic 2: only odd powers survive
            if locator[k]:
                derivative ^= exp[(log[locator[k]] + x_inverse_log * (k - 1)) % 255]
        if omega_value == 0 or derivative == 0:
            return None
        value_log = (
            _ROOT_STEP_LOG * p * (1 - first_root) + log[omega_value] - log[derivative]
        ) % 255
        corrections.append((sent_length - 1 - p, exp[value_log]))
    return corrections


class ReedSolomon:
    """An RS(255, 255-2E) encoder/decoder for one (E, I, virtual fill, basis) setting.

    ``e``: 16 (RS(255,223), the usual choice) or 8 (RS(255,239)).
    ``interleave``: depth I, one of 1, 2, 3, 4, 5, 8 (131.0-B-5 section 4).
    ``virtual_fill``: Q, leading zero data symbols not sent, a multiple of I below k*I.
    ``dual_basis``: True for the standard's Berlekamp representation on the wire.

    Tables are built once per (E, basis) and shared, so objects are cheap to make.
    """

    __slots__ = (
        "_check_length",
        "_clean_counts",
        "_data_length",
        "_dual_basis",
        "_e",
        "_interleave",
        "_offsets",
        "_sent_length",
        "_tables",
        "_virtual_fill",
    )

    def __init__(
        self,
        e: int = 16,
        interleave: int = 1,
        virtual_fill: int = 0,
        dual_basis: bool = True,
    ) -> None:
        if not isinstance(e, int) or e not in (8, 16):
            raise UsageError(f"E must be 16 (RS(255,223)) or 8 (RS(255,239)), not {e!r}.")
        if not isinstance(interleave, int) or interleave not in INTERLEAVE_DEPTHS:
            raise UsageError(
                f"The interleave depth must be one of {INTERLEAVE_DEPTHS}, not {interleave!r}."
            )
        k = _N - 2 * e
        if (
            not isinstance(virtual_fill, int)
            or virtual_fill < 0
            or virtual_fill % interleave
            or virtual_fill >= k * interleave
        ):
            raise UsageError(
                f"The virtual fill must be a multiple of the interleave depth {interleave} "
                f"from 0 to {(k - 1) * interleave}, not {virtual_fill!r}."
            )
        self._e = e
        self._interleave = interleave
        self._virtual_fill = virtual_fill
        self._dual_basis = bool(dual_basis)
        self._tables = _code_tables(e, self._dual_basis)
        fill_per_codeword = virtual_fill // interleave
        self._sent_length = _N - fill_per_codeword
        self._data_length = k * interleave - virtual_fill
        self._check_length = 2 * e * interleave
        # Row offsets into the parity table for each sent data octet of a codeblock: octet
        # t'*I + i is symbol q + t' of codeword i. Flat, because adding a flat intp array
        # measured twice as fast as a broadcast (k', 1) one.
        positions = np.arange(fill_per_codeword, k, dtype=np.intp) * 256
        self._offsets = np.repeat(positions, interleave)
        self._offsets.flags.writeable = False
        self._clean_counts = (0,) * interleave

    def __repr__(self) -> str:
        return (
            f"ReedSolomon(e={self._e}, interleave={self._interleave}, "
            f"virtual_fill={self._virtual_fill}, dual_basis={self._dual_basis})"
        )

    @property
    def e(self) -> int:
        return self._e

    @property
    def interleave(self) -> int:
        return self._interleave

    @property
    def virtual_fill(self) -> int:
        return self._virtual_fill

    @property
    def dual_basis(self) -> bool:
        return self._dual_basis

    @property
    def data_length(self) -> int:
        """Octets of data per codeblock: I*(255-2E) - Q."""
        return self._data_length

    @property
    def check_length(self) -> int:
        """Octets of check symbols per codeblock: 2E*I."""
        return self._check_length

    @property
    def codeblock_length(self) -> int:
        """Octets of the transmitted codeblock: data_length + check_length."""
        return self._data_length + self._check_length

    # -- encoding ---------------------------------------------------------------------

    def _parity(self, data: npt.NDArray[np.uint8]) -> npt.NDArray[np.uint8]:
        """(I, 2E) check symbols of one codeblock's data, one row per codeword."""
        rows = np.take(self._tables.parity_rows, data + self._offsets, axis=0)
        # (k', I * 2E/8) words: one row per data symbol position, all codewords side by side.
        rows = rows.reshape(-1, rows.shape[1] * self._interleave)
        parity: npt.NDArray[np.uint8] = (
            np.bitwise_xor.reduce(rows, axis=0).view(np.uint8).reshape(self._interleave, -1)
        )
        return parity

    def encode(self, data: BytesLike) -> bytes:
        """The codeblock: ``data`` (data_length octets) followed by its check symbols."""
        octets = np.frombuffer(data, dtype=np.uint8)
        if octets.size != self._data_length:
            raise UsageError(
                f"{self!r} encodes exactly {self._data_length} data octets; "
                f"got {octets.size}. Pad or split the frame first."
            )
        # Transposed to (2E, I): check symbol m of codeword i goes to position m*I + i.
        return octets.tobytes() + self._parity(octets).T.tobytes()

    def encode_many(self, data: npt.ArrayLike) -> npt.NDArray[np.uint8]:
        """Encode every row of an (N, data_length) uint8 array into (N, codeblock_length)."""
        array = np.asarray(data)
        if array.dtype != np.uint8 or array.ndim != 2 or array.shape[1] != self._data_length:
            raise UsageError(
                f"{self!r}.encode_many takes an (N, {self._data_length}) uint8 array; "
                f"got {array.dtype} with shape {array.shape}."
            )
        count = array.shape[0]
        out = np.empty((count, self.codeblock_length), dtype=np.uint8)
        out[:, : self._data_length] = array
        for start in range(0, count, _BATCH_CHUNK):
            chunk = array[start : start + _BATCH_CHUNK]
            parity = self._parity_many(chunk)  # (n, I, 2E)
            out[start : start + len(chunk), self._data_length :] = parity.transpose(
                0, 2, 1
            ).reshape(len(chunk), -1)
        return out

    def _parity_many(self, data: npt.NDArray[np.uint8]) -> npt.NDArray[np.uint8]:
        """(n, I, 2E) check symbols for an (n, data_length) chunk."""
        count = data.shape[0]
        # (k', n, I): reducing over the leading axis XORs whole contiguous slabs, which
        # numpy does far faster than a reduction over an inner axis. Transposing the octets
        # before widening them to indices measured faster than transposing the indices.
        symbols = np.ascontiguousarray(data.reshape(count, -1, self._interleave).transpose(1, 0, 2))
        index = symbols + self._offsets[:: self._interleave, None, None]
        rows = np.take(self._tables.parity_rows, index, axis=0)
        parity: npt.NDArray[np.uint8] = (
            np.bitwise_xor.reduce(rows, axis=0).view(np.uint8).reshape(count, self._interleave, -1)
        )
        return parity

    # -- decoding ---------------------------------------------------------------------

    def decode(self, codeblock: BytesLike) -> RsResult:
        """Decode one codeblock (codeblock_length octets, after derandomization).

        Raises :class:`DecodeError` only for a wrong length; uncorrectable codewords are
        reported in the result.
        """
        octets = np.frombuffer(codeblock, dtype=np.uint8)
        if octets.size != self.codeblock_length:
            raise DecodeError(
                "Reed-Solomon codeblock length",
                offset=min(octets.size, self.codeblock_length),
                expected=self.codeblock_length,
                got=octets.size,
            )
        data_length = self._data_length
        parity = self._parity(octets[:data_length])
        # One C-level bytes comparison is the cheapest "all syndromes zero" test.
        if parity.T.tobytes() == octets[data_length:].tobytes():
            return RsResult(octets[:data_length].tobytes(), self._clean_counts)
        remainder = parity ^ octets[data_length:].reshape(-1, self._interleave).T
        bad = np.flatnonzero(remainder.any(axis=1))
        outcomes = self._correct(remainder[bad])
        data = bytearray(octets[:data_length].tobytes())
        counts = list(self._clean_counts)
        failed = []
        for codeword, corrections in zip(bad.tolist(), outcomes, strict=True):
            if corrections is None:
                failed.append(codeword)
                continue
            counts[codeword] = len(corrections)
            self._apply(data, codeword, corrections)
        return RsResult(bytes(data), tuple(counts), tuple(failed))

    def decode_many(self, codeblocks: npt.ArrayLike | BytesLike) -> RsBatchResult:
        """Decode a batch: an (N, codeblock_length) uint8 array, or N codeblocks back to back.

        The error-free check runs over whole chunks of codeblocks at once; this is the
        path that keeps up with multi-Gbps links. Raises :class:`DecodeError` only when
        the input is not whole codeblocks.
        """
        length = self.codeblock_length
        if isinstance(codeblocks, bytes | bytearray | memoryview):
            flat = np.frombuffer(codeblocks, dtype=np.uint8)
            if flat.size % length:
                raise DecodeError(
                    "Reed-Solomon codeblocks are not a whole number of codeblocks",
                    offset=flat.size - flat.size % length,
                    expected=f"a multiple of {length} octets",
                    got=flat.size,
                )
            array = flat.reshape(-1, length)
        else:
            array = np.asarray(codeblocks)
            if array.dtype != np.uint8:
                raise UsageError(
                    f"decode_many takes a uint8 array or bytes; got dtype {array.dtype}."
                )
            if array.ndim != 2 or array.shape[1] != length:
                raise DecodeError(
                    "Reed-Solomon codeblock length",
                    offset=0,
                    expected=f"shape (N, {length})",
                    got=array.shape,
                )
        count = array.shape[0]
        data_length = self._data_length
        data = np.array(array[:, :data_length], dtype=np.uint8, copy=True)
        corrected = np.zeros((count, self._interleave), dtype=np.int16)
        uncorrectable = np.zeros((count, self._interleave), dtype=np.bool_)
        bad_blocks: list[npt.NDArray[np.intp]] = []
        bad_codewords: list[npt.NDArray[np.intp]] = []
        remainders: list[npt.NDArray[np.uint8]] = []
        for start in range(0, count, _BATCH_CHUNK):
            chunk = array[start : start + _BATCH_CHUNK]
            n = chunk.shape[0]
            received = chunk[:, data_length:].reshape(n, -1, self._interleave).transpose(0, 2, 1)
            remainder = self._parity_many(chunk[:, :data_length]) ^ received
            flags = remainder.any(axis=2)
            if flags.any():
                blocks, codewords = np.nonzero(flags)
                bad_blocks.append(blocks + start)
                bad_codewords.append(codewords)
                remainders.append(remainder[blocks, codewords])
        if remainders:
            all_blocks = np.concatenate(bad_blocks).tolist()
            all_codewords = np.concatenate(bad_codewords).tolist()
            outcomes = self._correct(np.concatenate(remainders))
            for block, codeword, corrections in zip(
                all_blocks, all_codewords, outcomes, strict=True
            ):
                if corrections is None:
                    uncorrectable[block, codeword] = True
                    continue
                corrected[block, codeword] = len(corrections)
                row = data[block]
                for index, value in self._data_fixes(codeword, corrections):
                    row[index] ^= value
        return RsBatchResult(data, corrected, uncorrectable)

    def _correct(self, remainders: npt.NDArray[np.uint8]) -> list[list[tuple[int, int]] | None]:
        """Corrections for each (2E,) remainder row (in the wire basis), or None."""
        tables = self._tables
        conventional = FROM_DUAL_NP[remainders] if self._dual_basis else remainders
        # S_j = rem(alpha^(11 (fcr+j))) for all rows at once: (M, 2E, 2E) products.
        syndromes = np.bitwise_xor.reduce(
            MUL_NP[conventional[:, None, :], tables.syndrome_powers[None, :, :]], axis=2
        )
        rows = syndromes.tolist()
        single = _single_errors(syndromes, tables.first_root, self._sent_length)
        return [
            fix if fix is not None else _correct_codeword(row, tables, self._e, self._sent_length)
            for row, fix in zip(rows, single, strict=True)
        ]

    def _data_fixes(
        self, codeword: int, corrections: list[tuple[int, int]]
    ) -> list[tuple[int, int]]:
        """(octet offset in the data, XOR mask in the wire basis) for data-part errors."""
        data_symbols = self._sent_length - 2 * self._e
        fixes = []
        for index, value in corrections:
            if index < data_symbols:  # check-symbol errors do not touch the data
                # The basis map is linear: dual(c ^ e) = dual(c) ^ dual(e).
                mask = TO_DUAL[value] if self._dual_basis else value
                fixes.append((index * self._interleave + codeword, mask))
        return fixes

    def _apply(self, data: bytearray, codeword: int, corrections: list[tuple[int, int]]) -> None:
        for offset, mask in self._data_fixes(codeword, corrections):
            data[offset] ^= mask
