"""Uncoded bit error rates on the AWGN channel, as functions of Eb/N0 (dB).

- BPSK, and Gray-coded QPSK (two independent BPSK rails): Pb = Q(sqrt(2 Eb/N0))
  = erfc(sqrt(Eb/N0)) / 2, exact. 1e-5 needs 9.59 dB.
- Gray-coded 8-PSK: the nearest-neighbour approximation
  Pb ~= (2 / log2 M) Q(sqrt(2 log2(M) Eb/N0) sin(pi / M)), M = 8 (Proakis, Digital
  Communications, 4th ed., eq. 5.2-61 with Pb ~= Ps / log2 M); tight for Pb < 1e-2,
  pessimistic by < 10 % near 1e-1.

erfc is the standard library's (math.erfc, full double precision), mapped over arrays;
scipy is not a dependency. Left out: coded performance (see CCSDS 130.1-G, a later RF
budget module), phase noise and non-linear amplifier effects.
"""

from __future__ import annotations

import math

import numpy as np
import numpy.typing as npt

from links.times import FloatArray

__all__ = ["ber_8psk", "ber_bpsk", "ber_qpsk", "db_to_linear", "q_function"]

_erfc = np.vectorize(math.erfc, otypes=[np.float64])


def db_to_linear(db: npt.ArrayLike) -> FloatArray:
    return np.asarray(10.0 ** (np.asarray(db, dtype=np.float64) / 10.0))


def q_function(x: npt.ArrayLike) -> FloatArray:
    """Gaussian tail probability Q(x) = erfc(x / sqrt 2) / 2."""
    return np.asarray(0.5 * _erfc(np.asarray(x, dtype=np.float64) / math.sqrt(2.0)))


def _out(value: FloatArray, like: npt.ArrayLike) -> FloatArray:
    return value if np.ndim(like) else np.asarray(value[()])


def ber_bpsk(ebn0_db: npt.ArrayLike) -> FloatArray:
    """Bit error rate of coherent BPSK at ``ebn0_db``.

    >>> f"{float(ber_bpsk(9.59)):.2e}"
    '1.00e-05'
    """
    return _out(q_function(np.sqrt(2.0 * db_to_linear(ebn0_db))), ebn0_db)


def ber_qpsk(ebn0_db: npt.ArrayLike) -> FloatArray:
    """Bit error rate of coherent Gray-coded QPSK: the same as BPSK per bit."""
    return ber_bpsk(ebn0_db)


def ber_8psk(ebn0_db: npt.ArrayLike) -> FloatArray:
    """Bit error rate of coherent Gray-coded 8-PSK (nearest-neighbour approximation)."""
    k = 3.0
    x = np.sqrt(2.0 * k * db_to_linear(ebn0_db)) * math.sin(math.pi / 8.0)
    return _out((2.0 / k) * q_function(x), ebn0_db)
