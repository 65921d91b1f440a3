"""The optical space-ground channel: geometric, pointing and atmospheric losses,
turbulence (Hufnagel-Valley, Rytov variance, gamma-gamma), detector sensitivity, and the
received-power and frame-erasure processes a link emulator consumes.

CCSDS 141.0-B-1 (optical physical layer) fixes the waveforms (O3K high photon efficiency
PPM, OOK); the channel physics here follows Andrews & Phillips, *Laser Beam Propagation
through Random Media*, 2nd ed. (2005), ch. 12 (satellite links), and Al-Habash, Andrews &
Phillips, Opt. Eng. 40(8) 2001 (gamma-gamma). Every function takes arrays (times,
ranges, elevations) and broadcasts; units are in the names.

- Geometric loss: a Gaussian beam of full 1/e^2 divergence theta in the far field has
  radius w = theta R / 2 at range R; an aperture of diameter D centred on it collects
  1 - exp(-D^2 / (2 w^2)) of the power. For D << w this is the Friis product
  G_t G_r (lambda / 4 pi R)^2 with G_t = 32 / theta^2 and G_r = (pi D / lambda)^2.
- Pointing: a radial error theta_e costs exp(-2 theta_e^2 / theta_w^2), theta_w = theta/2.
  Rayleigh jitter (per-axis sigma) costs 1 / (1 + 4 sigma^2 / theta_w^2) on average.
- Atmosphere: Beer-Lambert, T(el) = T_zenith ^ airmass(el), Kasten-Young (1989) air mass.
  Default T_zenith = 0.9 at 1550 nm (about 0.46 dB): the order of clear-sky MODTRAN
  values for a sea-level site with 23 km visibility; 1550 nm sits in a water-vapour
  window. Pass the site's value.
- Turbulence: Hufnagel-Valley C_n^2(h) with HV 5/7 defaults (A = 1.7e-14 m^-2/3 at the
  ground, rms wind 21 m/s: r0 ~ 5 cm and isoplanatic angle ~ 7 urad at 0.5 um). The
  Rytov variance of a **downlink is a plane wave** (the wave from orbit is plane by the
  time it reaches the turbulence near the ground):
  sigma_R^2 = 2.25 k^(7/6) sec^(11/6)(zeta) int C_n^2(h) (h - h0)^(5/6) dh;
  an **uplink is a spherical wave** (point source at the ground):
  the same integral weighted by (1 - (h - h0)/(H - h0))^(5/6). Alpha and beta follow
  Andrews & Phillips (plane: eqs. with 1.11 and 0.69; spherical: with 0.56 and 0.69 on
  beta_0^2 = 0.4 sigma_R^2), zero inner scale.
- Aperture averaging (weak fluctuations, downlink): A = [1 + 1.1 (D^2 / (lambda h_s
  sec zeta))^(7/6)]^-1 with the turbulence scale height h_s from the profile moments
  (Andrews & Phillips ch. 12); it multiplies the scintillation index.
- Fades last about a Fresnel scale over the transverse speed of the ray through the
  turbulent layer: tau = sqrt(lambda L) / v with L = h_t sec zeta and
  v = hypot(slew rate x L, wind). A LEO pass slews at up to ~1 deg/s, so tau ~ 1 ms.
- Detection: photons per bit n = P / (h nu R_b). Preamplified DPSK: BER = exp(-eta n) / 2
  (quantum limit 20 photons/bit at 1e-9); preamplified OOK: BER ~ exp(-eta n / 2) / 2
  (~39 photons/bit at 1e-9, the Humblet-Azizoglu limit); photon-counting M-PPM without
  background: a symbol is lost when no photon arrives, SER = (1 - 1/M) exp(-eta n log2 M),
  BER = SER M / (2 (M - 1)). eta is the implementation efficiency (default 0.5, 3 dB from
  the limit, the order demonstrated terminals reach).

- Clouds: a cloud on the line of sight blocks the link (power 0). One station alone
  uses :class:`~links.fading.CloudProcess`; a network of stations, whose skies are
  alike when they are close, uses :class:`~links.fading.CorrelatedClouds` (a Gaussian
  copula with latent correlation exp(-distance / L); :func:`correlated_clouds`).

Left out: beam wander and its effect on uplink scintillation, inner/outer scale
corrections, background light (daytime sky), adaptive optics, the atmospheric coherence
penalty of coherent receivers, coded BER (a frame's fate is a threshold or an uncoded-BER
draw), and refraction.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

import numpy as np
import numpy.typing as npt

from comms.errors import UsageError
from links.fading import (
    CloudBlockage,
    CorrelatedClouds,
    gamma_gamma_series,
    lognormal_series,
    pointing_jitter_series,
    pointing_loss,
    scintillation_index_gamma_gamma,
)
from links.geometry import SPEED_OF_LIGHT_M_S
from links.times import FloatArray

__all__ = [
    "PLANCK_J_S",
    "Direction",
    "Modulation",
    "OpticalDetector",
    "OpticalLink",
    "OpticalSeries",
    "air_mass",
    "aperture_averaging_factor",
    "atmospheric_transmittance",
    "correlated_clouds",
    "fade_correlation_time_s",
    "frame_erasures",
    "frame_power_w",
    "gamma_gamma_parameters",
    "geometric_loss",
    "geometric_loss_db",
    "hufnagel_valley_cn2",
    "mean_pointing_loss",
    "photons_per_bit",
    "rytov_variance",
    "scintillation_index",
    "slew_rate_rad_s",
    "turbulence_heights_m",
]

PLANCK_J_S = 6.626_070_15e-34
HV57_GROUND_CN2 = 1.7e-14  # m^-2/3, the "A" of HV 5/7
HV57_WIND_M_S = 21.0  # rms upper-atmosphere wind of HV 5/7
TOP_OF_TURBULENCE_M = 30_000.0  # C_n^2 is negligible above (HV falls as e^-h/1500)
_PROFILE_POINTS = 6001


class Direction(StrEnum):
    DOWNLINK = "downlink"
    UPLINK = "uplink"


def _arr(x: npt.ArrayLike) -> FloatArray:
    return np.asarray(x, dtype=np.float64)


def _out(value: npt.ArrayLike, *like: npt.ArrayLike) -> FloatArray:
    v = np.asarray(value, dtype=np.float64)
    return v if any(np.ndim(x) for x in like) else np.asarray(v[()])


def _check_elevation(elevation_deg: FloatArray) -> None:
    if np.any(elevation_deg <= 0.0) or np.any(elevation_deg > 90.0):
        raise UsageError("elevation_deg must be in (0, 90] degrees above the horizon.")


# --- geometry and pointing -----------------------------------------------------------


def geometric_loss(
    range_m: npt.ArrayLike, divergence_rad: npt.ArrayLike, aperture_diameter_m: npt.ArrayLike
) -> FloatArray:
    """Fraction of a Gaussian beam's power an aperture collects (far field, on axis)."""
    r, th, d = _arr(range_m), _arr(divergence_rad), _arr(aperture_diameter_m)
    if np.any(r <= 0.0) or np.any(th <= 0.0) or np.any(d <= 0.0):
        raise UsageError(
            "geometric_loss needs range_m > 0, divergence_rad > 0 (full 1/e^2 angle) "
            "and aperture_diameter_m > 0."
        )
    w = 0.5 * th * r
    return _out(-np.expm1(-(d * d) / (2.0 * w * w)), range_m, divergence_rad, aperture_diameter_m)


def geometric_loss_db(
    range_m: npt.ArrayLike, divergence_rad: npt.ArrayLike, aperture_diameter_m: npt.ArrayLike
) -> FloatArray:
    """:func:`geometric_loss` as a positive loss in dB.

    >>> round(float(geometric_loss_db(2262e3, 20e-6, 0.4)), 1)
    38.1
    """
    return _out(
        -10.0 * np.log10(geometric_loss(range_m, divergence_rad, aperture_diameter_m)),
        range_m,
        divergence_rad,
        aperture_diameter_m,
    )


def mean_pointing_loss(
    jitter_sigma_rad: npt.ArrayLike, divergence_rad: npt.ArrayLike
) -> FloatArray:
    """E[exp(-2 theta_e^2 / theta_w^2)] for Rayleigh theta_e of per-axis sigma:
    1 / (1 + 4 sigma^2 / theta_w^2), theta_w = divergence / 2 (linear, <= 1)."""
    s, th = _arr(jitter_sigma_rad), _arr(divergence_rad)
    if np.any(s < 0.0) or np.any(th <= 0.0):
        raise UsageError("mean_pointing_loss needs jitter_sigma_rad >= 0 and divergence_rad > 0.")
    half = 0.5 * th
    return _out(1.0 / (1.0 + 4.0 * (s / half) ** 2), jitter_sigma_rad, divergence_rad)


# --- atmosphere ----------------------------------------------------------------------


def air_mass(elevation_deg: npt.ArrayLike) -> FloatArray:
    """Relative air mass, Kasten & Young (1989): 1 at zenith, ~38 at the horizon
    (1/sin(el) diverges there; the formula is within 0.3 % of it above 30 deg)."""
    el = _arr(elevation_deg)
    _check_elevation(el)
    am = 1.0 / (np.sin(np.radians(el)) + 0.50572 * (el + 6.07995) ** -1.6364)
    return _out(am, elevation_deg)


def atmospheric_transmittance(
    elevation_deg: npt.ArrayLike, zenith_transmittance: float = 0.9
) -> FloatArray:
    """Beer-Lambert clear-sky transmittance T_zenith ^ airmass (linear)."""
    if not 0.0 < zenith_transmittance <= 1.0:
        raise UsageError("zenith_transmittance is a fraction in (0, 1] (0.9 ~ 0.46 dB).")
    return _out(zenith_transmittance ** air_mass(elevation_deg), elevation_deg)


# --- turbulence ----------------------------------------------------------------------


def hufnagel_valley_cn2(
    height_m: npt.ArrayLike,
    *,
    ground_cn2: float = HV57_GROUND_CN2,
    wind_m_s: float = HV57_WIND_M_S,
) -> FloatArray:
    """Hufnagel-Valley C_n^2 (m^-2/3) at ``height_m`` above the station:
    0.00594 (v/27)^2 (1e-5 h)^10 e^(-h/1000) + 2.7e-16 e^(-h/1500) + A e^(-h/100)."""
    h = _arr(height_m)
    if np.any(h < 0.0):
        raise UsageError("height_m is metres above the station, >= 0.")
    if ground_cn2 < 0.0 or wind_m_s < 0.0:
        raise UsageError("ground_cn2 (m^-2/3) and wind_m_s must be >= 0.")
    cn2 = (
        0.00594 * (wind_m_s / 27.0) ** 2 * (1e-5 * h) ** 10 * np.exp(-h / 1000.0)
        + 2.7e-16 * np.exp(-h / 1500.0)
        + ground_cn2 * np.exp(-h / 100.0)
    )
    return _out(cn2, height_m)


def _profile(ground_cn2: float, wind_m_s: float) -> tuple[FloatArray, FloatArray]:
    # Square-spaced heights put half the points below 7.5 km, where the 100 m ground
    # layer needs them; the trapezoid error is < 1e-4 of the integrals.
    h = TOP_OF_TURBULENCE_M * np.linspace(0.0, 1.0, _PROFILE_POINTS) ** 2
    return h, hufnagel_valley_cn2(h, ground_cn2=ground_cn2, wind_m_s=wind_m_s)


def _trapz(y: FloatArray, x: FloatArray) -> float:
    return float(np.sum(0.5 * (y[1:] + y[:-1]) * np.diff(x)))


def _wavenumber(wavelength_m: float) -> float:
    if not wavelength_m > 0.0:
        raise UsageError("wavelength_m must be > 0 (1550e-9 for 1550 nm).")
    return 2.0 * math.pi / wavelength_m


def rytov_variance(
    elevation_deg: npt.ArrayLike,
    *,
    wavelength_m: float = 1550e-9,
    direction: Direction | str = Direction.DOWNLINK,
    satellite_altitude_m: float = 750e3,
    ground_cn2: float = HV57_GROUND_CN2,
    wind_m_s: float = HV57_WIND_M_S,
) -> FloatArray:
    """Rytov variance sigma_R^2 of a space-ground path at ``elevation_deg``.

    Downlink: plane wave. Uplink: spherical wave (point source; beam wander left out).
    Heights are above the station (the profile starts at the station).
    """
    el = _arr(elevation_deg)
    _check_elevation(el)
    d = Direction(direction)
    k = _wavenumber(wavelength_m)
    h, cn2 = _profile(ground_cn2, wind_m_s)
    weight = h ** (5.0 / 6.0)
    if d is Direction.UPLINK:
        if satellite_altitude_m <= TOP_OF_TURBULENCE_M:
            raise UsageError("satellite_altitude_m must be above the turbulence (> 30 km).")
        weight = weight * (1.0 - h / satellite_altitude_m) ** (5.0 / 6.0)
    integral = _trapz(cn2 * weight, h)
    sec = 1.0 / np.sin(np.radians(el))
    return _out(2.25 * k ** (7.0 / 6.0) * sec ** (11.0 / 6.0) * integral, elevation_deg)


def gamma_gamma_parameters(
    rytov: npt.ArrayLike, direction: Direction | str = Direction.DOWNLINK
) -> tuple[FloatArray, FloatArray]:
    """(alpha, beta) of the gamma-gamma irradiance for Rytov variance ``rytov``
    (plane wave for a downlink, spherical wave for an uplink; zero inner scale)."""
    s2 = _arr(rytov)
    if np.any(s2 <= 0.0):
        raise UsageError("The Rytov variance must be > 0.")
    if Direction(direction) is Direction.DOWNLINK:
        s = s2 ** (6.0 / 5.0)  # sigma_R^(12/5)
        a = 0.49 * s2 / (1.0 + 1.11 * s) ** (7.0 / 6.0)
        b = 0.51 * s2 / (1.0 + 0.69 * s) ** (5.0 / 6.0)
    else:
        b0 = 0.4 * s2  # beta_0^2
        s = b0 ** (6.0 / 5.0)
        a = 0.49 * b0 / (1.0 + 0.56 * s) ** (7.0 / 6.0)
        b = 0.51 * b0 / (1.0 + 0.69 * s) ** (5.0 / 6.0)
    return _out(1.0 / np.expm1(a), rytov), _out(1.0 / np.expm1(b), rytov)


def scintillation_index(
    rytov: npt.ArrayLike, direction: Direction | str = Direction.DOWNLINK
) -> FloatArray:
    """Point-receiver scintillation index, weak to strong: 1/alpha + 1/beta + 1/(alpha beta)
    (= exp(ln-variance sum) - 1; ~sigma_R^2 in weak plane-wave turbulence)."""
    a, b = gamma_gamma_parameters(rytov, direction)
    return _out(scintillation_index_gamma_gamma(a, b), rytov)


def turbulence_heights_m(
    *, ground_cn2: float = HV57_GROUND_CN2, wind_m_s: float = HV57_WIND_M_S
) -> tuple[float, float]:
    """(scale height h_s for aperture averaging, Rytov-weighted mean layer height h_t).

    h_s = [int C_n^2 h^2 dh / int C_n^2 h^(5/6) dh]^(6/7) (Andrews & Phillips ch. 12);
    h_t = int C_n^2 h^(11/6) dh / int C_n^2 h^(5/6) dh, where the fades are made.
    """
    h, cn2 = _profile(ground_cn2, wind_m_s)
    m56 = _trapz(cn2 * h ** (5.0 / 6.0), h)
    if m56 <= 0.0:
        raise UsageError("The turbulence profile is empty (ground_cn2 = wind_m_s = 0).")
    h_s = (_trapz(cn2 * h * h, h) / m56) ** (6.0 / 7.0)
    h_t = _trapz(cn2 * h ** (11.0 / 6.0), h) / m56
    return h_s, h_t


def aperture_averaging_factor(
    aperture_diameter_m: npt.ArrayLike,
    elevation_deg: npt.ArrayLike,
    *,
    wavelength_m: float = 1550e-9,
    ground_cn2: float = HV57_GROUND_CN2,
    wind_m_s: float = HV57_WIND_M_S,
) -> FloatArray:
    """Downlink aperture averaging A = [1 + 1.1 (D^2 / (lambda h_s sec zeta))^(7/6)]^-1:
    the scintillation index of an aperture D is A times the point value (weak turbulence).
    """
    d, el = _arr(aperture_diameter_m), _arr(elevation_deg)
    _check_elevation(el)
    if np.any(d <= 0.0):
        raise UsageError("aperture_diameter_m must be > 0.")
    h_s, _ = turbulence_heights_m(ground_cn2=ground_cn2, wind_m_s=wind_m_s)
    sec = 1.0 / np.sin(np.radians(el))
    x = d * d / (wavelength_m * h_s * sec)
    return _out(1.0 / (1.0 + 1.1 * x ** (7.0 / 6.0)), aperture_diameter_m, elevation_deg)


def fade_correlation_time_s(
    elevation_deg: npt.ArrayLike,
    slew_rate_rad_s: npt.ArrayLike,
    *,
    wavelength_m: float = 1550e-9,
    ground_cn2: float = HV57_GROUND_CN2,
    wind_m_s: float = HV57_WIND_M_S,
) -> FloatArray:
    """Scintillation correlation time sqrt(lambda L) / v: L = h_t sec zeta the path length
    below the mean turbulent height, v = hypot(slew x L, wind) the ray's transverse speed
    there. A 750 km pass near zenith (~0.6 deg/s) gives about a millisecond."""
    el, w = _arr(elevation_deg), _arr(slew_rate_rad_s)
    _check_elevation(el)
    if np.any(w < 0.0):
        raise UsageError("slew_rate_rad_s must be >= 0.")
    _, h_t = turbulence_heights_m(ground_cn2=ground_cn2, wind_m_s=wind_m_s)
    length = h_t / np.sin(np.radians(el))
    speed = np.hypot(w * length, wind_m_s)
    if np.any(speed <= 0.0):
        raise UsageError("A frozen ray (no slew and no wind) has no finite fade time.")
    return _out(np.sqrt(wavelength_m * length) / speed, elevation_deg, slew_rate_rad_s)


def slew_rate_rad_s(
    azimuth_deg: npt.ArrayLike, elevation_deg: npt.ArrayLike, t_s: npt.ArrayLike
) -> FloatArray:
    """Angular rate (rad/s) of the line of sight from sampled look angles (central
    differences of the unit vector; one-sided at the ends)."""
    az, el, t = np.radians(_arr(azimuth_deg)), np.radians(_arr(elevation_deg)), _arr(t_s)
    if az.shape != el.shape or el.shape != t.shape or t.ndim != 1 or t.size < 2:
        raise UsageError("Pass azimuth_deg, elevation_deg and t_s as equal 1-D arrays (>= 2).")
    u = np.stack([np.cos(el) * np.sin(az), np.cos(el) * np.cos(az), np.sin(el)], axis=-1)
    du = np.gradient(u, t, axis=0)
    return np.asarray(np.linalg.norm(du, axis=-1))


# --- detection -----------------------------------------------------------------------


def photons_per_bit(
    power_w: npt.ArrayLike, data_rate_bps: float, wavelength_m: float = 1550e-9
) -> FloatArray:
    """n = P / (h nu R_b): received photons per bit."""
    if not data_rate_bps > 0.0:
        raise UsageError("data_rate_bps must be > 0.")
    photon_j = PLANCK_J_S * SPEED_OF_LIGHT_M_S / wavelength_m
    return _out(_arr(power_w) / (photon_j * data_rate_bps), power_w)


class Modulation(StrEnum):
    OOK = "ook"
    DPSK = "dpsk"
    PPM = "ppm"


@dataclass(frozen=True)
class OpticalDetector:
    """A receiver's BER against photons per bit, and its sensitivity at a target BER.

    ``efficiency`` eta scales the photons that count (0.5 = 3 dB from the quantum
    limit by default: optics, detector efficiency, implementation). ``target_ber`` sets
    :attr:`sensitivity_photons_per_bit`, the frame-erasure threshold (1e-4: the
    uncoded BER a rate-1/2 code or RS(255,223) with interleaving cleans up).
    """

    modulation: Modulation = Modulation.DPSK
    ppm_order: int = 16
    efficiency: float = 0.5
    target_ber: float = 1e-4

    def __post_init__(self) -> None:
        object.__setattr__(self, "modulation", Modulation(self.modulation))
        if not 0.0 < self.efficiency <= 1.0:
            raise UsageError("efficiency is a fraction in (0, 1].")
        if self.ppm_order < 2 or self.ppm_order & (self.ppm_order - 1):
            raise UsageError("ppm_order must be a power of two >= 2 (4..256 in CCSDS 142.0).")
        if not 0.0 < self.target_ber < 0.5:
            raise UsageError("target_ber must be in (0, 0.5).")

    def ber(self, photons_per_bit: npt.ArrayLike) -> FloatArray:
        n = self.efficiency * np.maximum(_arr(photons_per_bit), 0.0)
        if self.modulation is Modulation.DPSK:
            b = 0.5 * np.exp(-n)
        elif self.modulation is Modulation.OOK:
            b = 0.5 * np.exp(-0.5 * n)
        else:
            m = self.ppm_order
            ser = (1.0 - 1.0 / m) * np.exp(-n * math.log2(m))
            b = ser * m / (2.0 * (m - 1))
        return _out(b, photons_per_bit)

    def photons_per_bit_for(self, ber: float) -> float:
        """Photons per bit needed for ``ber`` (the closed forms of :meth:`ber` inverted)."""
        if not 0.0 < ber < 0.5:
            raise UsageError("ber must be in (0, 0.5).")
        if self.modulation is Modulation.DPSK:
            n = math.log(0.5 / ber)
        elif self.modulation is Modulation.OOK:
            n = 2.0 * math.log(0.5 / ber)
        else:
            m = self.ppm_order
            ser = ber * 2.0 * (m - 1) / m
            n = math.log((1.0 - 1.0 / m) / ser) / math.log2(m)
        return n / self.efficiency

    @property
    def sensitivity_photons_per_bit(self) -> float:
        return self.photons_per_bit_for(self.target_ber)


# --- frames --------------------------------------------------------------------------


def frame_power_w(
    frame_start_s: npt.ArrayLike,
    frame_duration_s: float,
    sample_t_s: npt.ArrayLike,
    power_w: npt.ArrayLike,
) -> FloatArray:
    """The lowest power each frame sees: the power interpolated at the frame's start and
    end, and every sample inside it (fades shorter than a frame still hit it)."""
    f0, t, p = np.atleast_1d(_arr(frame_start_s)), _arr(sample_t_s), _arr(power_w)
    if t.shape != p.shape or t.ndim != 1 or t.size == 0:
        raise UsageError("sample_t_s and power_w must be equal 1-D arrays.")
    if not frame_duration_s > 0.0:
        raise UsageError("frame_duration_s must be > 0.")
    f1 = f0 + frame_duration_s
    low = np.minimum(np.interp(f0, t, p), np.interp(f1, t, p))
    i0 = np.searchsorted(t, f0, side="left")
    i1 = np.searchsorted(t, f1, side="right")
    width = i1 - i0
    inside = width > 0
    if not np.any(inside):
        return low
    # Range-minimum by a sparse table: level j holds min(p[i : i + 2^j]); a window of
    # width w is the min of two overlapping 2^floor(log2 w) blocks. Levels stop at the
    # widest window, so memory is n x log2(samples per frame).
    a, w = i0[inside], width[inside]
    level = np.floor(np.log2(w)).astype(np.intp)
    tables = [p]
    while (1 << len(tables)) <= int(w.max()):
        prev, half = tables[-1], 1 << (len(tables) - 1)
        tables.append(np.minimum(prev[:-half], prev[half:]))
    seg = np.empty(a.size)
    for j in np.unique(level):
        sel = level == j
        tab = tables[j]
        seg[sel] = np.minimum(tab[a[sel]], tab[a[sel] + w[sel] - (1 << j)])
    low[inside] = np.minimum(low[inside], seg)
    return low


def frame_erasures(
    frame_power: npt.ArrayLike,
    detector: OpticalDetector,
    data_rate_bps: float,
    *,
    frame_bits: int = 8920,
    wavelength_m: float = 1550e-9,
    rng: np.random.Generator | None = None,
) -> npt.NDArray[np.bool_]:
    """Erased frames: below the detector's sensitivity (``rng`` None: a hard threshold),
    or lost with probability 1 - (1 - BER)^frame_bits at the frame's photons per bit
    (``rng`` given: an uncoded frame fails on any bit error)."""
    n = photons_per_bit(np.atleast_1d(_arr(frame_power)), data_rate_bps, wavelength_m)
    if rng is None:
        return np.asarray(n < detector.sensitivity_photons_per_bit)
    if frame_bits < 1:
        raise UsageError("frame_bits must be >= 1.")
    p_loss = -np.expm1(frame_bits * np.log1p(-detector.ber(n)))
    return np.asarray(rng.random(n.size) < p_loss)


def _scale_shapes(
    alpha: FloatArray, beta: FloatArray, target_si: FloatArray
) -> tuple[FloatArray, FloatArray]:
    """Scale 1/alpha and 1/beta by one factor c so that SI(c) = target: c solves
    c^2 / (alpha beta) + c (1/alpha + 1/beta) - SI = 0."""
    qa = 1.0 / (alpha * beta)
    qb = 1.0 / alpha + 1.0 / beta
    c = 2.0 * target_si / (qb + np.sqrt(qb * qb + 4.0 * qa * target_si))
    return np.asarray(alpha / c), np.asarray(beta / c)


# --- clouds over a station network --------------------------------------------------


def correlated_clouds(
    stations: Sequence[Any],
    *,
    cloud_free_probability: float = 0.5,
    mean_cloud_duration_s: float = 3.0 * 3600.0,
    correlation_length_m: float = 200e3,
) -> CorrelatedClouds:
    """A :class:`~links.fading.CorrelatedClouds` for ground stations (anything with
    ``lat_deg`` and ``lon_deg``, e.g. :class:`links.stations.GroundStation`) or
    (lat_deg, lon_deg) pairs, in the order given."""
    points = tuple(
        (float(s.lat_deg), float(s.lon_deg))
        if hasattr(s, "lat_deg")
        else (float(s[0]), float(s[1]))
        for s in stations
    )
    return CorrelatedClouds(
        points,
        cloud_free_probability=cloud_free_probability,
        mean_cloud_duration_s=mean_cloud_duration_s,
        correlation_length_m=correlation_length_m,
    )


# --- the link ------------------------------------------------------------------------


@dataclass(frozen=True)
class OpticalSeries:
    """A sampled received-power series and its factors (all linear, per sample)."""

    t_s: FloatArray
    power_w: FloatArray
    mean_power_w: FloatArray  # without jitter, scintillation and cloud
    pointing: FloatArray
    scintillation: FloatArray
    cloud_blocked: npt.NDArray[np.bool_]


@dataclass(frozen=True)
class OpticalLink:
    """One optical space-ground link with documented, TBIRD-like defaults.

    Defaults: 1550 nm, 1 W transmitted, 20 urad full 1/e^2 divergence, 0.4 m receive
    aperture, 1 urad per-axis jitter with 10 ms correlation (a fine-steering loop's
    residual), 3 dB of optics loss each end, HV 5/7 turbulence, 10 Gbps DPSK.
    """

    wavelength_m: float = 1550e-9
    tx_power_w: float = 1.0
    divergence_rad: float = 20e-6
    aperture_diameter_m: float = 0.4
    tx_optics_loss_db: float = 3.0
    rx_optics_loss_db: float = 3.0
    jitter_sigma_rad: float = 1e-6
    jitter_correlation_s: float = 0.01
    pointing_bias_rad: float = 0.0
    zenith_transmittance: float = 0.9
    ground_cn2: float = HV57_GROUND_CN2
    wind_m_s: float = HV57_WIND_M_S
    direction: Direction = Direction.DOWNLINK
    satellite_altitude_m: float = 750e3
    data_rate_bps: float = 10e9
    detector: OpticalDetector = OpticalDetector()
    scintillation_model: str = "gamma-gamma"

    def __post_init__(self) -> None:
        object.__setattr__(self, "direction", Direction(self.direction))
        if self.scintillation_model not in ("gamma-gamma", "lognormal"):
            raise UsageError("scintillation_model is 'gamma-gamma' or 'lognormal'.")
        for name in (
            "wavelength_m",
            "tx_power_w",
            "divergence_rad",
            "aperture_diameter_m",
            "data_rate_bps",
        ):
            if not getattr(self, name) > 0.0:
                raise UsageError(f"OpticalLink.{name} must be > 0.")
        if self.jitter_sigma_rad < 0.0 or self.jitter_correlation_s < 0.0:
            raise UsageError("jitter_sigma_rad and jitter_correlation_s must be >= 0.")

    def mean_received_power_w(
        self, range_m: npt.ArrayLike, elevation_deg: npt.ArrayLike
    ) -> FloatArray:
        """Received power without fades: geometry, optics, atmosphere, mean pointing."""
        optics = 10.0 ** (-(self.tx_optics_loss_db + self.rx_optics_loss_db) / 10.0)
        return _out(
            self.tx_power_w
            * optics
            * geometric_loss(range_m, self.divergence_rad, self.aperture_diameter_m)
            * atmospheric_transmittance(elevation_deg, self.zenith_transmittance),
            range_m,
            elevation_deg,
        )

    def scintillation_index(self, elevation_deg: npt.ArrayLike) -> FloatArray:
        """Aperture-averaged scintillation index at ``elevation_deg``."""
        kw = {"ground_cn2": self.ground_cn2, "wind_m_s": self.wind_m_s}
        s2 = rytov_variance(
            elevation_deg,
            wavelength_m=self.wavelength_m,
            direction=self.direction,
            satellite_altitude_m=self.satellite_altitude_m,
            **kw,
        )
        si = scintillation_index(s2, self.direction)
        if self.direction is Direction.DOWNLINK:
            si = si * aperture_averaging_factor(
                self.aperture_diameter_m, elevation_deg, wavelength_m=self.wavelength_m, **kw
            )
        return _out(si, elevation_deg)

    def series(
        self,
        t_s: npt.ArrayLike,
        range_m: npt.ArrayLike,
        elevation_deg: npt.ArrayLike,
        slew_rate_rad_s: npt.ArrayLike,
        rng: np.random.Generator,
        *,
        clouds: CloudBlockage | None = None,
    ) -> OpticalSeries:
        """Received power at the sample times ``t_s`` (sample faster than the fades:
        ~0.1 ms); ``range_m``, ``elevation_deg`` and ``slew_rate_rad_s`` per sample (or
        scalars), e.g. interpolated from a pass's look angles. ``clouds`` blocks the
        line of sight: a :class:`~links.fading.CloudProcess` (this station alone), or
        ``field.station(i)`` of a :class:`~links.fading.CorrelatedClouds` draw shared by
        several stations (:func:`correlated_clouds` builds one for a station list)."""
        t = np.atleast_1d(_arr(t_s))
        el = np.broadcast_to(_arr(elevation_deg), t.shape)
        mean = np.broadcast_to(self.mean_received_power_w(range_m, el), t.shape)
        point_err = pointing_jitter_series(
            t,
            self.jitter_sigma_rad,
            self.jitter_correlation_s,
            rng,
            bias_rad=self.pointing_bias_rad,
        )
        pointing = pointing_loss(point_err, self.divergence_rad)
        tau = fade_correlation_time_s(
            el,
            np.broadcast_to(_arr(slew_rate_rad_s), t.shape),
            wavelength_m=self.wavelength_m,
            ground_cn2=self.ground_cn2,
            wind_m_s=self.wind_m_s,
        )
        si = self.scintillation_index(el)
        if self.scintillation_model == "lognormal":
            scint = lognormal_series(t, si, tau, rng)
        else:
            # Shapes from the aperture-averaged SI: alpha and beta of the point receiver,
            # both inverse shapes scaled by A so that 1/a + 1/b + 1/ab shrinks with it.
            s2 = rytov_variance(
                el,
                wavelength_m=self.wavelength_m,
                direction=self.direction,
                satellite_altitude_m=self.satellite_altitude_m,
                ground_cn2=self.ground_cn2,
                wind_m_s=self.wind_m_s,
            )
            alpha, beta = gamma_gamma_parameters(s2, self.direction)
            alpha, beta = _scale_shapes(alpha, beta, si)
            scint = gamma_gamma_series(t, alpha, beta, tau, rng)
        blocked = (
            clouds.blocked(t, rng) if clouds is not None else np.zeros(t.shape, dtype=np.bool_)
        )
        power = mean * pointing * scint * ~blocked
        return OpticalSeries(t, np.asarray(power), np.asarray(mean), pointing, scint, blocked)
