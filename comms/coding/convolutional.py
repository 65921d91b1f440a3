"""The (7, 1/2) convolutional code and its Viterbi decoder: CCSDS 131.0-B-5 section 3.

The encoder is the basic rate-1/2 code with constraint length 7: generators
G1 = 1111001 (171 octal) and G2 = 1011011 (133 octal), the leftmost coefficient
applying to the newest input bit; each input bit gives the G1 symbol, then the G2
symbol inverted (131.0-B-5 section 3). The encoder starts in the all-zero state.

The decoder is a 64-state Viterbi decoder over log-likelihood ratios (positive means
the transmitted symbol was more likely 0; hard symbols are +-1). It is vectorized with
numpy across states *and* across stretches of the stream: the stream is cut into
segments decoded side by side, each starting ``_WARMUP`` steps early from an unknown
state and tracing back from ``_DEPTH`` steps late. With both margins at 96 steps
(about 14 constraint lengths, well past the 5K usually quoted for convergence) the
output matches a single-pass decoder except with vanishing probability, and a single
Python loop then advances hundreds of segments per numpy call.

Left out: the punctured rates 2/3 .. 7/8 of 131.0-B-5 section 3, node and symbol-pair
synchronization (the caller hands symbols in pairs, G1 first), and the ambiguity
resolution a receiver needs when its demodulator can swap or invert symbols.
"""

from __future__ import annotations

from typing import Final, overload

import numpy as np
import numpy.typing as npt

from comms.buffers import BytesLike
from comms.errors import UsageError

__all__ = ["G1", "G2", "conv_encode", "viterbi_decode"]

G1: Final = 0o171
G2: Final = 0o133

# Delays (0 = newest bit) with a 1 coefficient, read off the generators MSB first.
_G1_DELAYS: Final = tuple(d for d in range(7) if (G1 >> (6 - d)) & 1)
_G2_DELAYS: Final = tuple(d for d in range(7) if (G2 >> (6 - d)) & 1)

_WARMUP: Final = 96
_DEPTH: Final = 96


def _encode_bits(bits: npt.NDArray[np.uint8]) -> npt.NDArray[np.uint8]:
    padded = np.concatenate([np.zeros(6, dtype=np.uint8), bits])
    n = len(bits)
    c1 = np.zeros(n, dtype=np.uint8)
    c2 = np.ones(n, dtype=np.uint8)  # G2 is sent inverted
    for d in _G1_DELAYS:
        c1 ^= padded[6 - d : 6 - d + n]
    for d in _G2_DELAYS:
        c2 ^= padded[6 - d : 6 - d + n]
    return np.stack([c1, c2], axis=1).reshape(-1)


@overload
def conv_encode(data: npt.NDArray[np.uint8]) -> npt.NDArray[np.uint8]: ...
@overload
def conv_encode(data: BytesLike) -> bytes: ...
def conv_encode(data: BytesLike | npt.NDArray[np.uint8]) -> bytes | npt.NDArray[np.uint8]:
    """Convolutionally encode, starting from the all-zero state.

    Octets in (bits MSB first) give octets out, twice as many; a numpy array of 0/1
    bits gives an array of 0/1 symbols, twice as long. To end in the zero state (a
    terminated block), append 6 zero bits to the input.
    """
    if isinstance(data, np.ndarray):
        bits = np.asarray(data, dtype=np.uint8)
        if bits.ndim != 1 or (bits.size and int(bits.max()) > 1):
            raise UsageError("Pass a one-dimensional array of 0/1 bits, or octets.")
        return _encode_bits(bits)
    bits = np.unpackbits(np.frombuffer(bytes(data), dtype=np.uint8))
    return np.packbits(_encode_bits(bits)).tobytes()


def _branch_signs() -> tuple[npt.NDArray[np.float32], npt.NDArray[np.float32]]:
    """+1/-1 for the G1 and G2 symbols (0 -> +1) on the branch into state j with a 0 bit.

    The state is the 6 newest input bits, newest as bit 5. Into state j (0 <= j < 32,
    newest bit 0) come states 2j mod 64 and 2j + 1 mod 64: the 7-bit register
    ``(j << 1) | x`` with x the bit falling out. Both generators tap the newest and the
    oldest bit, so flipping either flips both symbols: the four branches of the
    butterfly (j, j + 32) x (x = 0, 1) carry metric +B, -B, -B, +B for one B per j.
    """
    sign1 = np.empty(32, dtype=np.float32)
    sign2 = np.empty(32, dtype=np.float32)
    for j in range(32):
        register = j << 1  # newest bit 0 at bit 6, oldest (x = 0) at bit 0
        c1 = c2 = 0
        for d in range(7):
            bit = (register >> (6 - d)) & 1
            if d in _G1_DELAYS:
                c1 ^= bit
            if d in _G2_DELAYS:
                c2 ^= bit
        c2 ^= 1
        sign1[j] = 1.0 - 2.0 * c1
        sign2[j] = 1.0 - 2.0 * c2
    return sign1, sign2


_SIGN1, _SIGN2 = _branch_signs()


_MAX_BATCH: Final = 256  # segments advanced per numpy call: bounds the decision memory


def _decode_llr(llr: npt.NDArray[np.float32]) -> npt.NDArray[np.uint8]:
    """Decoded bits for ``llr`` of shape (n, 2), G1 and G2 per step."""
    n = len(llr)
    if n == 0:
        return np.zeros(0, dtype=np.uint8)
    # Segment length: enough segments to fill the numpy calls, yet long enough that the
    # warm-up and traceback margins stay a modest overhead.
    seg = int(min(1024, max(256, -(-n // 128))))
    nseg = -(-n // seg)
    # The start state is known (zero): as warm-up before the first segment, feed the
    # symbols a zero input emits from the zero state, with overwhelming confidence.
    strong = 8.0 * max(float(np.abs(llr).max()), 1.0)
    head = np.tile(np.array([[strong, -strong]], dtype=np.float32), (_WARMUP, 1))
    tail = np.zeros((nseg * seg - n + _DEPTH, 2), dtype=np.float32)  # erasures
    stream = np.concatenate([head, llr, tail])
    out = np.empty((nseg, seg), dtype=np.uint8)
    for first in range(0, nseg, _MAX_BATCH):
        count = min(_MAX_BATCH, nseg - first)
        out[first : first + count] = _decode_segments(stream, first, count, seg)
    return out.reshape(-1)[:n]


def _decode_segments(
    stream: npt.NDArray[np.float32], first: int, count: int, seg: int
) -> npt.NDArray[np.uint8]:
    """Decode segments ``first .. first + count - 1`` side by side; (count, seg) bits."""
    span = _WARMUP + seg + _DEPTH
    starts = (first + np.arange(count)) * seg
    # (span, count, 2): step t of every segment is one contiguous row.
    windows = stream[np.arange(span)[:, None] + starts[None, :]]
    metric = np.zeros((count, 64), dtype=np.float32)
    new = np.empty_like(metric)
    decisions = np.empty((span, count, 64), dtype=np.bool_)
    for t in range(span):
        step = windows[t]
        b = step[:, 0:1] * _SIGN1 + step[:, 1:2] * _SIGN2  # (count, 32)
        even = metric[:, 0::2]
        odd = metric[:, 1::2]
        a0 = even + b
        a1 = odd - b
        b0 = even - b
        b1 = odd + b
        np.maximum(a0, a1, out=new[:, :32])
        np.maximum(b0, b1, out=new[:, 32:])
        np.greater(a1, a0, out=decisions[t, :, :32])
        np.greater(b1, b0, out=decisions[t, :, 32:])
        if t % 32 == 31:
            # Renormalize so float32 keeps its resolution over long segments.
            new -= new.max(axis=1, keepdims=True)
        metric, new = new, metric
    state = np.argmax(metric, axis=1)
    rows = np.arange(count)
    bits = np.empty((seg, count), dtype=np.uint8)
    for t in range(span - 1, _WARMUP - 1, -1):
        if t < _WARMUP + seg:
            bits[t - _WARMUP] = state >> 5
        x = decisions[t, rows, state]
        state = ((state << 1) & 63) | x
    return bits.T


@overload
def viterbi_decode(
    symbols: npt.NDArray[np.floating] | npt.NDArray[np.signedinteger],
) -> npt.NDArray[np.uint8]: ...
@overload
def viterbi_decode(symbols: BytesLike) -> bytes: ...
def viterbi_decode(
    symbols: BytesLike | npt.NDArray[np.floating] | npt.NDArray[np.signedinteger],
) -> bytes | npt.NDArray[np.uint8]:
    """Maximum-likelihood decode of a (7, 1/2) symbol stream.

    Octets in (hard symbols, MSB first, an even number of symbols per octet) give the
    decoded octets, half as many. A numpy array of soft symbols -- float or signed
    integer log-likelihood ratios, positive meaning 0, e.g. int8 from a demodulator --
    gives an array of 0/1 bits, one per symbol pair. For hard 0/1 symbols as an array,
    pass ``1 - 2 * symbols.astype(np.int8)``.
    """
    if isinstance(symbols, np.ndarray):
        if not (
            np.issubdtype(symbols.dtype, np.floating)
            or np.issubdtype(symbols.dtype, np.signedinteger)
        ):
            raise UsageError(
                "Soft symbols are signed log-likelihood ratios (positive means 0), as a "
                f"float or signed integer array; got dtype {symbols.dtype}. For hard 0/1 "
                "symbols pass 1 - 2 * symbols.astype(np.int8)."
            )
        if symbols.ndim != 1 or len(symbols) % 2:
            raise UsageError(
                "Pass a one-dimensional array with an even number of soft symbols "
                f"(G1, G2 pairs); got shape {symbols.shape}."
            )
        llr = np.asarray(symbols, dtype=np.float32).reshape(-1, 2)
        return _decode_llr(llr)
    bits = np.unpackbits(np.frombuffer(bytes(symbols), dtype=np.uint8))
    llr = (1.0 - 2.0 * bits.astype(np.float32)).reshape(-1, 2)
    return np.packbits(_decode_llr(llr)).tobytes()
