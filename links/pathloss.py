"""Free-space path loss (Friis): FSPL = 20 log10(4 pi d f / c), in dB.

Left out on purpose (they belong to the RF budget, a later module): atmospheric gases,
rain and cloud (ITU-R P.618/P.676), scintillation, polarization and pointing losses.
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

from comms.errors import UsageError
from links.geometry import SPEED_OF_LIGHT_M_S
from links.times import FloatArray

__all__ = ["fspl_db", "wavelength_to_frequency_hz"]


def fspl_db(range_m: npt.ArrayLike, freq_hz: npt.ArrayLike) -> FloatArray:
    """Free-space path loss (dB) over ``range_m`` at ``freq_hz``; arrays broadcast.

    >>> round(float(fspl_db(2262e3, 8.2e9)), 1)
    177.8
    """
    d = np.asarray(range_m, dtype=np.float64)
    f = np.asarray(freq_hz, dtype=np.float64)
    if np.any(d <= 0.0) or np.any(f <= 0.0):
        raise UsageError("fspl_db needs range_m > 0 and freq_hz > 0 (metres and hertz).")
    return np.asarray(20.0 * np.log10(4.0 * np.pi * d * f / SPEED_OF_LIGHT_M_S))


def wavelength_to_frequency_hz(wavelength_m: npt.ArrayLike) -> FloatArray:
    """Optical links are quoted by wavelength: 1550 nm -> 193.4 THz."""
    return np.asarray(SPEED_OF_LIGHT_M_S / np.asarray(wavelength_m, dtype=np.float64))
