"""Tropospheric propagation on Earth-space paths: ITU-R statistics and fast time series.

Long-term statistics come from the ``itur`` package (ITU-Rpy), imported lazily (it pulls
astropy and scipy; ``import links`` stays fast) with these recommendation versions pinned
on first use, so results do not drift with itur's defaults:

====================  =======================================================
ITU-R P.618-13        rain attenuation, scintillation, combination (section 2.5)
ITU-R P.676-12        gaseous attenuation (Annex 2, approximate slant path)
ITU-R P.840-8         cloud attenuation
ITU-R P.836-6         water vapour density and content maps
ITU-R P.837-7         rainfall rate and rain probability P0
ITU-R P.838-3         specific rain attenuation
ITU-R P.839-4         rain height
ITU-R P.453-13        wet refractivity (scintillation)
ITU-R P.835-6         standard pressure; P.1510-1 temperature; P.1511-2 altitude
====================  =======================================================

Pinning is process-wide: itur keeps the selected versions in module globals.

Time series (numpy only, seeded :class:`numpy.random.Generator`, no global state):

- Rain: the ITU-R P.1853-1 (Annex 1, section 2) synthesis. A log-normal fit
  ln A = m + sigma Q^-1(p) to the P.618 exceedance curve for p <= P_rain (the P.837
  probability of rain; by default fitted on ln(A + A_offset), see
  :func:`fit_rain_lognormal`), a first-order Gauss-Markov process X (beta = 2e-4 /s, i.e. a
  5000 s correlation time), A = max(exp(m + sigma X) - A_offset, 0) with
  A_offset = exp(m + sigma Q^-1(P_rain)), so that it rains P_rain of the time. Deviation:
  X starts in its stationary N(0, 1) law instead of discarding 200 000 warm-up samples
  (the same distribution, without the cost).
- Scintillation: zero-mean Gaussian log-amplitude (dB) with the P.618-13 standard
  deviation (eqs. 43-48) and power spectrum S(f) ~ (1 + (f/f_c)^2)^(-4/3): flat below the
  corner f_c and falling as f^(-8/3) above it (Kolmogorov turbulence, Tatarskii; the
  shape P.1853-1 section 3 prescribes, with f_c = 0.1 Hz for a geostationary path).
  Synthesised by shaping white noise in the frequency domain (circular, like P.1853).
  For a LEO pass the ray sweeps through the turbulent layer much faster than the wind
  carries it, so f_c ~ v_perp / sqrt(lambda L) rises (v_perp ~ h_L x the pointing
  rate); pass the corner you want, 0.1 Hz is only the default.

Fast path: :class:`AtmosphereTable`, :class:`RainFadeModel` and
:class:`ScintillationModel` call itur at a few elevations once (per pass or per
station) and interpolate (log attenuation against log sin(elevation), where the
cosecant law is a straight line) instead of calling itur per sample.

Left out: P.1853 total-attenuation synthesis (cloud/vapour/rain correlation), rain
noise-temperature increase, ionospheric effects (negligible at X band and above),
depolarization, and site diversity.
"""

from __future__ import annotations

import contextlib
import functools
import math
import statistics
import warnings
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any, Protocol

import numpy as np
import numpy.typing as npt

from comms.errors import UsageError
from links.times import FloatArray

__all__ = [
    "ITUR_VERSIONS",
    "AtmosphereModel",
    "AtmosphereTable",
    "AtmosphericAttenuation",
    "NoAtmosphere",
    "RainFadeModel",
    "ScintillationModel",
    "fit_rain_lognormal",
    "gauss_markov",
    "itur_module",
    "scintillation_series",
    "slant_path_attenuation",
]

ITUR_VERSIONS: dict[str, int] = {
    "itu618": 13,
    "itu676": 12,
    "itu840": 8,
    "itu836": 6,
    "itu837": 7,
    "itu838": 3,
    "itu839": 4,
    "itu453": 13,
    "itu835": 6,
    "itu1510": 1,
    "itu1511": 2,
}

# P.1853-1 Annex 1 step A2: the exceedance probabilities (%) the log-normal is fitted on.
_P1853_PI = (0.01, 0.02, 0.03, 0.05, 0.1, 0.2, 0.3, 0.5, 1.0, 2.0, 3.0, 5.0, 10.0)
_P1853_BETA_PER_S = 2e-4
# Default interpolation nodes (deg): dense at low elevation where the cosecant bends.
DEFAULT_NODES_DEG = (5.0, 7.0, 10.0, 14.0, 20.0, 30.0, 45.0, 65.0, 90.0)
_NORMAL = statistics.NormalDist()


@contextlib.contextmanager
def _quiet() -> Iterator[None]:
    # itur divides by zero on purpose (it calls np.seterr globally at import) and warns
    # on validity ranges we check ourselves; keep both out of the caller's state.
    with np.errstate(all="ignore"), warnings.catch_warnings():
        warnings.simplefilter("ignore")
        yield


@functools.cache
def itur_module() -> Any:
    """The ``itur`` package with :data:`ITUR_VERSIONS` pinned (imported on first use)."""
    try:
        with _quiet():
            import itur
            import itur.models as models
    except ImportError:
        raise UsageError(
            "ITU-R propagation needs the 'itur' package (pip install itur); or pass "
            "atmosphere=NoAtmosphere() for free-space only."
        ) from None
    for name, version in ITUR_VERSIONS.items():
        with _quiet():
            getattr(models, name).change_version(version)
    return itur


def _value(q: Any) -> FloatArray:
    return np.asarray(getattr(q, "value", q), dtype=np.float64)


def _q_inv(p: npt.ArrayLike) -> FloatArray:
    """Inverse Gaussian tail: Q(x) = p (statistics.NormalDist, no scipy)."""
    return np.asarray([_NORMAL.inv_cdf(1.0 - float(v)) for v in np.ravel(p)]).reshape(np.shape(p))


def _check_site(lat_deg: float, lon_deg: float, freq_hz: float) -> None:
    if not -90.0 <= lat_deg <= 90.0:
        raise UsageError(f"lat_deg must be in [-90, 90], got {lat_deg}.")
    if not -180.0 <= lon_deg <= 360.0:
        raise UsageError(f"lon_deg must be in [-180, 360], got {lon_deg}.")
    if not 1e9 <= freq_hz <= 100e9:
        raise UsageError(
            f"ITU-R slant-path models cover 1-100 GHz; got freq_hz={freq_hz:g} "
            "(use a free-space or optical model outside that band)."
        )


def _check_elevation(elevation_deg: FloatArray) -> None:
    if (
        np.any(~np.isfinite(elevation_deg))
        or np.any(elevation_deg <= 0.0)
        or np.any(elevation_deg > 90.0)
    ):
        raise UsageError(
            "Elevations must lie in (0, 90] degrees; P.618 is intended for 5 deg and up."
        )


@dataclass(frozen=True)
class AtmosphericAttenuation:
    """Slant-path attenuation terms (dB), shaped like the elevations they were asked at.

    ``total_db`` combines them as P.618-13 eq. (64): A_G + sqrt((A_R + A_C)^2 + A_S^2).
    """

    gases_db: FloatArray
    clouds_db: FloatArray
    rain_db: FloatArray
    scintillation_db: FloatArray

    @property
    def total_db(self) -> FloatArray:
        return np.asarray(
            self.gases_db + np.sqrt((self.rain_db + self.clouds_db) ** 2 + self.scintillation_db**2)
        )


class AtmosphereModel(Protocol):
    """Anything that gives the attenuation terms at given elevations."""

    def attenuation(self, elevation_deg: npt.ArrayLike) -> AtmosphericAttenuation: ...


@dataclass(frozen=True)
class NoAtmosphere:
    """Free space only: every atmospheric term is 0 dB (tests, optical/ISL links)."""

    def attenuation(self, elevation_deg: npt.ArrayLike) -> AtmosphericAttenuation:
        z = np.zeros(np.shape(elevation_deg))
        return AtmosphericAttenuation(z, z.copy(), z.copy(), z.copy())


def slant_path_attenuation(
    lat_deg: float,
    lon_deg: float,
    alt_m: float,
    freq_hz: float,
    elevation_deg: npt.ArrayLike,
    p_percent: float,
    antenna_diameter_m: float,
    *,
    antenna_efficiency: float = 0.65,
    polarization_tilt_deg: float = 45.0,
) -> AtmosphericAttenuation:
    """Attenuation exceeded ``p_percent`` of an average year (itur, one call per array).

    ``polarization_tilt_deg`` is 45 for circular polarization; ``antenna_diameter_m``
    and ``antenna_efficiency`` set the scintillation aperture averaging (P.618 eq. 45).
    Gases and clouds are taken at max(p, 1) % as P.618-13 section 2.5 prescribes.
    """
    _check_site(lat_deg, lon_deg, freq_hz)
    el = np.atleast_1d(np.asarray(elevation_deg, dtype=np.float64))
    _check_elevation(el)
    if not 0.001 <= p_percent <= 50.0:
        raise UsageError(f"p_percent must be in [0.001, 50] (P.618-13), got {p_percent}.")
    if not antenna_diameter_m > 0 or not 0 < antenna_efficiency <= 1:
        raise UsageError("antenna_diameter_m must be > 0 and antenna_efficiency in (0, 1].")
    itur = itur_module()
    with _quiet():
        ag, ac, ar, as_, _ = itur.atmospheric_attenuation_slant_path(
            lat_deg,
            lon_deg,
            freq_hz / 1e9,
            el,
            p_percent,
            antenna_diameter_m,
            hs=alt_m / 1e3,
            eta=antenna_efficiency,
            tau=polarization_tilt_deg,
            return_contributions=True,
        )
    shape = np.shape(elevation_deg)
    return AtmosphericAttenuation(
        *(np.broadcast_to(_value(a), el.shape).reshape(shape).copy() for a in (ag, ac, ar, as_))
    )


def _interp_loglog(
    nodes_deg: FloatArray, values: FloatArray, elevation_deg: npt.ArrayLike
) -> FloatArray:
    # Cosecant law: ln A is close to linear in ln sin(el) (slope -1 for a thin layer).
    el = np.asarray(elevation_deg, dtype=np.float64)
    x = np.log(np.sin(np.radians(nodes_deg)))
    y = np.log(np.maximum(values, 1e-30))
    xe = np.log(np.sin(np.radians(np.clip(el, nodes_deg[0], nodes_deg[-1]))))
    out = np.exp(np.interp(xe, x, y))
    return np.asarray(np.where(values.max() <= 1e-30, 0.0, out))


@dataclass(frozen=True)
class AtmosphereTable:
    """The fast path: attenuation terms tabulated at a few elevations, interpolated.

    Elevations outside the nodes are clamped to the end nodes (below 5 deg P.618 is
    outside its intended range anyway).
    """

    nodes_deg: tuple[float, ...]
    gases_db: tuple[float, ...]
    clouds_db: tuple[float, ...]
    rain_db: tuple[float, ...]
    scintillation_db: tuple[float, ...]

    @classmethod
    def from_itur(
        cls,
        lat_deg: float,
        lon_deg: float,
        alt_m: float,
        freq_hz: float,
        p_percent: float,
        antenna_diameter_m: float,
        *,
        antenna_efficiency: float = 0.65,
        polarization_tilt_deg: float = 45.0,
        nodes_deg: tuple[float, ...] = DEFAULT_NODES_DEG,
    ) -> AtmosphereTable:
        a = slant_path_attenuation(
            lat_deg,
            lon_deg,
            alt_m,
            freq_hz,
            np.asarray(nodes_deg),
            p_percent,
            antenna_diameter_m,
            antenna_efficiency=antenna_efficiency,
            polarization_tilt_deg=polarization_tilt_deg,
        )
        return cls(
            tuple(nodes_deg),
            *(
                tuple(float(v) for v in t)
                for t in (a.gases_db, a.clouds_db, a.rain_db, a.scintillation_db)
            ),
        )

    def attenuation(self, elevation_deg: npt.ArrayLike) -> AtmosphericAttenuation:
        nodes = np.asarray(self.nodes_deg)
        return AtmosphericAttenuation(
            *(
                _interp_loglog(nodes, np.asarray(t), elevation_deg)
                for t in (self.gases_db, self.clouds_db, self.rain_db, self.scintillation_db)
            )
        )


# --- time series -------------------------------------------------------------------

_BLOCK = 128


def _ar1(w: FloatArray, rho: float, x0: float) -> FloatArray:
    """x[k] = rho x[k-1] + w[k], x[-1] = x0, without a per-sample Python loop.

    Blocks of 128 samples go through one matrix product with the lower-triangular
    Toeplitz matrix rho^(i-j); the block-end states form the same recursion with
    rho^128, solved recursively. Every term is a power rho^k <= 1: no overflow, unlike
    the cumulative-sum-of-rho^-k trick.
    """
    n = w.size
    b = min(_BLOCK, n)
    k = np.arange(b)
    with np.errstate(under="ignore"):
        powers = rho ** k.astype(np.float64)
        lower = np.tril(powers[np.clip(k[:, None] - k[None, :], 0, None)])
        carry = rho * powers  # rho^(1..b)
    if n <= b:
        return np.asarray(lower @ w + carry * x0)
    nb = -(-n // b)
    blocks = np.zeros(nb * b)
    blocks[:n] = w
    y = blocks.reshape(nb, b) @ lower.T
    ends = _ar1(np.ascontiguousarray(y[:, -1]), float(rho**b), x0)
    prev = np.concatenate(([x0], ends[:-1]))
    return np.asarray((y + carry[None, :] * prev[:, None]).ravel()[:n])


def gauss_markov(
    n_samples: int, step_s: float, beta_per_s: float, rng: np.random.Generator
) -> FloatArray:
    """Stationary unit-variance first-order Gauss-Markov samples (P.1853-1 steps D1-D3).

    X(k) = rho X(k-1) + sqrt(1 - rho^2) n(k), rho = exp(-beta Ts), X(0) ~ N(0, 1).
    """
    if n_samples < 1 or not step_s > 0 or not beta_per_s > 0:
        raise UsageError("gauss_markov needs n_samples >= 1, step_s > 0 and beta_per_s > 0.")
    rho = math.exp(-beta_per_s * step_s)
    x0 = float(rng.standard_normal())
    w = math.sqrt(1.0 - rho * rho) * rng.standard_normal(n_samples)
    return _ar1(w, rho, x0)


def fit_rain_lognormal(
    p_percent: npt.ArrayLike,
    a_db: npt.ArrayLike,
    p_rain_percent: float,
    *,
    offset_corrected: bool = True,
) -> tuple[float, float]:
    """(m, sigma) of ln A = m + sigma Q^-1(p/100), least squares over p <= P_rain.

    P.1853-1 Annex 1 steps A2-A4 when ``offset_corrected`` is False. The synthesis then
    subtracts A_offset (step D5), so its series falls short of the P.618 curve by about
    A_offset (0.2 dB at X band, Beijing: 0.11 dB instead of 0.31 dB at 1 %). With
    ``offset_corrected`` (the default, a deliberate deviation) the fit is made on
    ln(A_i + A_offset) and iterated to a fixed point, so that exp(m + sigma X) - A_offset
    reproduces the P.618 percentiles themselves; the rain probability stays P_rain.
    """
    p = np.asarray(p_percent, dtype=np.float64)
    a = np.asarray(a_db, dtype=np.float64)
    keep = (p <= p_rain_percent) & (a > 0)
    if keep.sum() < 2:
        raise UsageError(
            f"The log-normal fit needs >= 2 positive attenuations at p <= P_rain "
            f"({p_rain_percent:.3g} %); got {int(keep.sum())}."
        )
    q = _q_inv(p[keep] / 100.0)
    q_rain = _NORMAL.inv_cdf(1.0 - p_rain_percent / 100.0)
    offset = 0.0
    for _ in range(100 if offset_corrected else 1):
        sigma, m = np.polyfit(q, np.log(a[keep] + offset), 1)
        new = math.exp(m + sigma * q_rain)
        if abs(new - offset) <= 1e-12 * max(new, 1e-300):
            break
        offset = new if offset_corrected else 0.0
    return float(m), float(sigma)


@dataclass(frozen=True)
class RainFadeModel:
    """P.1853-1 rain fade synthesis parameters at a few elevations (the fast path).

    ``m`` and ``sigma`` (of ln A, A in dB) per node; ``p_rain_percent`` is the P.837
    probability of rain at the site. Between nodes m and sigma are interpolated in
    ln sin(elevation).
    """

    nodes_deg: tuple[float, ...]
    m: tuple[float, ...]
    sigma: tuple[float, ...]
    p_rain_percent: float

    def __post_init__(self) -> None:
        if not (len(self.nodes_deg) == len(self.m) == len(self.sigma) >= 1):
            raise UsageError("RainFadeModel needs one m and one sigma per elevation node.")
        if not 0.0 < self.p_rain_percent < 100.0:
            raise UsageError(f"p_rain_percent must be in (0, 100), got {self.p_rain_percent}.")
        if any(s <= 0 for s in self.sigma):
            raise UsageError("RainFadeModel sigma values must be > 0.")

    @classmethod
    def from_itur(
        cls,
        lat_deg: float,
        lon_deg: float,
        alt_m: float,
        freq_hz: float,
        *,
        polarization_tilt_deg: float = 45.0,
        nodes_deg: tuple[float, ...] = DEFAULT_NODES_DEG,
    ) -> RainFadeModel:
        """Fit P.618-13 rain exceedances (P.1853-1 steps A1-A4) at each node."""
        _check_site(lat_deg, lon_deg, freq_hz)
        el = np.asarray(nodes_deg, dtype=np.float64)
        _check_elevation(el)
        itur = itur_module()
        from itur.models import itu618, itu837

        with _quiet():
            p_rain = float(itu837.rainfall_probability(lat_deg, lon_deg).to_value("%"))
            pis = [p for p in _P1853_PI if p <= p_rain]
            table = np.array(
                [
                    _value(
                        itu618.rain_attenuation(
                            lat_deg,
                            lon_deg,
                            freq_hz / 1e9,
                            el,
                            hs=alt_m / 1e3,
                            p=p,
                            tau=polarization_tilt_deg,
                        )
                    )
                    for p in pis
                ]
            )
        del itur
        fits = [fit_rain_lognormal(pis, table[:, j], p_rain) for j in range(el.size)]
        return cls(
            tuple(float(v) for v in el),
            tuple(f[0] for f in fits),
            tuple(f[1] for f in fits),
            p_rain,
        )

    def parameters(self, elevation_deg: npt.ArrayLike) -> tuple[FloatArray, FloatArray]:
        """(m, sigma) at ``elevation_deg`` (interpolated in ln sin el, clamped)."""
        nodes = np.asarray(self.nodes_deg)
        el = np.clip(np.asarray(elevation_deg, dtype=np.float64), nodes[0], nodes[-1])
        if nodes.size == 1:
            return np.full(el.shape, self.m[0]), np.full(el.shape, self.sigma[0])
        x = np.log(np.sin(np.radians(nodes)))
        xe = np.log(np.sin(np.radians(el)))
        return (
            np.asarray(np.interp(xe, x, np.asarray(self.m))),
            np.asarray(np.interp(xe, x, np.asarray(self.sigma))),
        )

    def offset_db(self, elevation_deg: npt.ArrayLike) -> FloatArray:
        """A_offset = exp(m + sigma Q^-1(P_rain)) (P.1853-1 step C)."""
        m, s = self.parameters(elevation_deg)
        return np.asarray(np.exp(m + s * _NORMAL.inv_cdf(1.0 - self.p_rain_percent / 100.0)))

    def exceedance_db(self, p_percent: npt.ArrayLike, elevation_deg: float) -> FloatArray:
        """Attenuation the synthesized series exceeds ``p_percent`` of the time.

        0 for p >= P_rain; this is the synthesis' own law, which sits close to the
        P.618 curve it was fitted to (exactly on the fit less the offset).
        """
        p = np.asarray(p_percent, dtype=np.float64)
        m, s = self.parameters(elevation_deg)
        off = self.offset_db(elevation_deg)
        pc = np.clip(p, 1e-9, self.p_rain_percent)
        a = np.exp(m + s * _q_inv(pc / 100.0)) - off
        return np.asarray(np.where(p >= self.p_rain_percent, 0.0, np.maximum(a, 0.0)))

    def series(
        self,
        n_samples: int,
        step_s: float,
        rng: np.random.Generator,
        elevation_deg: npt.ArrayLike,
        *,
        beta_per_s: float = _P1853_BETA_PER_S,
    ) -> FloatArray:
        """Rain attenuation (dB) every ``step_s`` seconds (P.1853-1 steps D1-D5).

        ``elevation_deg`` is a scalar or one value per sample (a pass): one Gaussian
        process drives every elevation, so the fade keeps its time correlation while
        its marginal law follows the elevation.
        """
        x = gauss_markov(n_samples, step_s, beta_per_s, rng)
        el = np.asarray(elevation_deg, dtype=np.float64)
        if el.ndim:  # a pass: parameters per sample
            el = np.broadcast_to(el, (n_samples,))
        m, s = self.parameters(el)
        off = self.offset_db(el)
        # In place: a long series is memory-bound, not compute-bound.
        x *= s
        x += m
        np.exp(x, out=x)
        x -= off
        return np.asarray(np.maximum(x, 0.0, out=x))


def scintillation_series(
    n_samples: int,
    step_s: float,
    rng: np.random.Generator,
    sigma_db: npt.ArrayLike = 1.0,
    *,
    corner_hz: float = 0.1,
) -> FloatArray:
    """Gaussian scintillation (dB): std ``sigma_db`` (scalar or per sample), spectrum
    (1 + (f/f_c)^2)^(-4/3), i.e. flat to ``corner_hz`` then f^(-8/3).

    The unit-variance process is normalized exactly over the discrete spectrum, then
    scaled by ``sigma_db`` sample by sample (a pass's sigma follows its elevation).
    """
    if n_samples < 2 or not step_s > 0 or not corner_hz > 0:
        raise UsageError("scintillation_series needs n_samples >= 2, step_s > 0, corner_hz > 0.")
    f_full = np.fft.fftfreq(n_samples, step_s)
    power_full = (1.0 + (f_full / corner_hz) ** 2) ** (-4.0 / 3.0)
    norm = math.sqrt(float(np.mean(power_full)))
    f_half = np.fft.rfftfreq(n_samples, step_s)
    amp = (1.0 + (f_half / corner_hz) ** 2) ** (-2.0 / 3.0) / norm
    unit = np.fft.irfft(np.fft.rfft(rng.standard_normal(n_samples)) * amp, n=n_samples)
    sigma = np.asarray(sigma_db, dtype=np.float64)
    return np.asarray(unit * sigma)


@dataclass(frozen=True)
class ScintillationModel:
    """P.618-13 scintillation standard deviation at a few elevations (the fast path)."""

    nodes_deg: tuple[float, ...]
    sigma_db: tuple[float, ...]

    @classmethod
    def from_itur(
        cls,
        lat_deg: float,
        lon_deg: float,
        freq_hz: float,
        antenna_diameter_m: float,
        *,
        antenna_efficiency: float = 0.65,
        nodes_deg: tuple[float, ...] = DEFAULT_NODES_DEG,
    ) -> ScintillationModel:
        """sigma from P.618-13 eqs. 43-48 with the P.453 median wet refractivity map."""
        _check_site(lat_deg, lon_deg, freq_hz)
        el = np.asarray(nodes_deg, dtype=np.float64)
        _check_elevation(el)
        itur_module()
        from itur.models import itu618

        with _quiet():
            sigma = _value(
                itu618.scintillation_attenuation_sigma(
                    lat_deg,
                    lon_deg,
                    freq_hz / 1e9,
                    el,
                    1.0,
                    antenna_diameter_m,
                    eta=antenna_efficiency,
                )
            )
        return cls(tuple(float(v) for v in el), tuple(float(v) for v in np.ravel(sigma)))

    def sigma_at(self, elevation_deg: npt.ArrayLike) -> FloatArray:
        return _interp_loglog(np.asarray(self.nodes_deg), np.asarray(self.sigma_db), elevation_deg)

    def series(
        self,
        n_samples: int,
        step_s: float,
        rng: np.random.Generator,
        elevation_deg: npt.ArrayLike,
        *,
        corner_hz: float = 0.1,
    ) -> FloatArray:
        el = np.broadcast_to(np.asarray(elevation_deg, dtype=np.float64), (n_samples,))
        return scintillation_series(n_samples, step_s, rng, self.sigma_at(el), corner_hz=corner_hz)
