"""Pseudo-randomizers of 131.0-B-5 (TM) and 231.0-B-4 (TC), the all-ones-seeded LFSRs.

Both XOR the data with the output of an 8-stage LFSR seeded all-ones and restarted at the
start of each buffer handed in (for TM: each codeblock or frame after its ASM; for TC:
each CLTU's codeblocks):

- TM: h(x) = x^8 + x^7 + x^5 + x^3 + 1, period 255 bits, so 255 octets repeat;
- TC: h(x) = x^8 + x^6 + x^4 + x^3 + x^2 + x + 1, also maximal length.

The sequence a_n obeys a_{n+8} = XOR of a_{n+e} over the lower terms x^e of h(x); the bit
LFSR runs once at import to fill a 255-octet period, and the hot path is one XOR of the
buffer with a precomputed, pre-tiled copy of that period. Randomizing is its own inverse,
so the same calls derandomize.

Left out: where the randomizer applies (which octets follow the ASM, CLTU framing) is the
caller's business; :mod:`comms.coding.cltu` and the channel pipeline decide that.
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

from comms.buffers import BytesLike
from comms.errors import UsageError

__all__ = [
    "TC_SEQUENCE",
    "TM_SEQUENCE",
    "randomize_tc",
    "randomize_tc_many",
    "randomize_tm",
    "randomize_tm_many",
]

_PERIOD = 255
# Frames up to 64 KiB (the largest AOS/USLP frame) XOR against one slice of these copies;
# longer buffers tile on demand. 2 x 64 KiB of tables is cheap next to a per-call tile.
_TILED_LENGTH = 65536 + _PERIOD


def _lfsr_period(lower_terms: tuple[int, ...]) -> bytes:
    """255 octets of the all-ones-seeded sequence for h(x) = x^8 + sum(x^e for e in terms)."""
    state = [1] * 8
    bits: list[int] = []
    for _ in range(8 * _PERIOD):
        bits.append(state[0])
        feedback = 0
        for e in lower_terms:
            feedback ^= state[e]
        state = [*state[1:], feedback]
    return bytes(int("".join(map(str, bits[i : i + 8])), 2) for i in range(0, len(bits), 8))


TM_SEQUENCE = _lfsr_period((7, 5, 3, 0))
"""One period (255 octets) of the TM randomizer sequence (131.0-B-5)."""

TC_SEQUENCE = _lfsr_period((6, 4, 3, 2, 1, 0))
"""One period (255 octets) of the TC randomizer sequence (231.0-B-4)."""


def _tile(period: bytes) -> npt.NDArray[np.uint8]:
    tiled = np.resize(np.frombuffer(period, dtype=np.uint8), _TILED_LENGTH)
    tiled.flags.writeable = False
    return tiled


_TM_TILED = _tile(TM_SEQUENCE)
_TC_TILED = _tile(TC_SEQUENCE)


def _xor_long(octets: npt.NDArray[np.uint8], tiled: npt.NDArray[np.uint8]) -> bytes:
    return (octets ^ np.resize(tiled[:_PERIOD], octets.size)).tobytes()


def _xor_many(frames: npt.ArrayLike, tiled: npt.NDArray[np.uint8]) -> npt.NDArray[np.uint8]:
    array = np.asarray(frames)
    if array.dtype != np.uint8 or array.ndim != 2:
        raise UsageError(
            f"Pass a 2-D uint8 array of frames (one per row); got dtype {array.dtype} "
            f"with {array.ndim} dimension(s)."
        )
    n = array.shape[1]
    sequence = tiled[:n] if n <= _TILED_LENGTH else np.resize(tiled[:_PERIOD], n)
    return array ^ sequence  # broadcast: the sequence restarts on every row


def randomize_tm(data: BytesLike) -> bytes:
    """XOR ``data`` with the TM randomizer sequence restarted at its first octet.

    Self-inverse: ``randomize_tm(randomize_tm(x)) == x``.
    """
    octets = np.frombuffer(data, dtype=np.uint8)
    n = len(octets)
    if n > _TILED_LENGTH:
        return _xor_long(octets, _TM_TILED)
    return (octets ^ _TM_TILED[:n]).tobytes()  # inline: this is the per-frame hot path


def randomize_tc(data: BytesLike) -> bytes:
    """XOR ``data`` with the TC (CLTU) randomizer sequence restarted at its first octet."""
    octets = np.frombuffer(data, dtype=np.uint8)
    n = len(octets)
    if n > _TILED_LENGTH:
        return _xor_long(octets, _TC_TILED)
    return (octets ^ _TC_TILED[:n]).tobytes()


def randomize_tm_many(frames: npt.ArrayLike) -> npt.NDArray[np.uint8]:
    """Randomize every row of a 2-D uint8 array (one frame or codeblock per row)."""
    return _xor_many(frames, _TM_TILED)


def randomize_tc_many(frames: npt.ArrayLike) -> npt.NDArray[np.uint8]:
    """Randomize every row of a 2-D uint8 array with the TC sequence."""
    return _xor_many(frames, _TC_TILED)
