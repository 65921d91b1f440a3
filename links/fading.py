"""Correlated random processes for channel fades: Gauss-Markov paths, irradiance fades,
pointing jitter and cloud blockage. numpy only, seeded :class:`numpy.random.Generator`.

- :func:`gauss_markov` -- a stationary unit-variance Gaussian process with exponential
  autocorrelation exp(-|tau| / T) (Ornstein-Uhlenbeck sampled exactly at arbitrary,
  non-decreasing times; T may vary along the path, e.g. with elevation during a pass).
- :func:`lognormal_series` -- weak-turbulence irradiance, ln I ~ N(-s^2/2, s^2) with
  s^2 = ln(1 + SI): mean 1, scintillation index SI exactly (Andrews & Phillips, *Laser
  Beam Propagation through Random Media*, 2nd ed., ch. 11).
- :func:`gamma_gamma_series` -- moderate-to-strong turbulence, I = X Y with X ~ Gamma(alpha,
  1/alpha) and Y ~ Gamma(beta, 1/beta) (Al-Habash, Andrews & Phillips 2001): mean 1,
  SI = 1/alpha + 1/beta + 1/(alpha beta). Independent samples (``correlation_time_s`` 0)
  are the product of two gamma variates, no special functions. Correlated samples map a
  Gauss-Markov path through the gamma quantile (a Gaussian copula: X = F^-1(Phi(g))), with
  F tabulated by integrating the density (math.lgamma only). The copula keeps the
  marginal exact and the correlation time close to the target (the rank correlation is
  the Gaussian one; the linear correlation at lag T is a few per cent below e^-1 for
  shapes near 1).
- :func:`pointing_jitter_series` -- two independent Gauss-Markov axes, so the radial error
  is Rayleigh; :func:`pointing_loss` is the Gaussian-beam intensity factor.
- :class:`CloudProcess` -- per-station cloud blockage as a two-state continuous-time Markov
  process (exponential clear and cloudy durations) set by the cloud-free probability and
  the mean cloud duration.
- :class:`CorrelatedClouds` -- cloud blockage at several stations at once, correlated
  between them by distance: a Gaussian copula. Each station has a latent unit Gaussian
  process g_i(t); the sky is cloudy where g_i > u, u = Phi^-1(p) with p the cloud-free
  probability, so the marginal is exact. The covariance is separable,
  Cov(g_i(t), g_j(t + tau)) = exp(-d_ij / L) m(tau), with d_ij the great-circle distance,
  L the correlation length and m the Matern-3/2 correlation (1 + |tau|/l) e^(-|tau|/l).
  Matern 3/2 rather than Ornstein-Uhlenbeck because it is once differentiable: a
  thresholded OU path crosses a level infinitely often near each crossing (clouds that
  flicker at every sample step), while Rice's formula gives a Matern-3/2 path
  nu = e^(-u^2/2) / (2 pi l) upcrossings per second, hence mean cloudy spells of
  (1 - p) / nu: l is chosen so that this is the mean cloud duration asked for.
  :func:`indicator_correlation` is the correlation of two stations' cloudy indicators
  that a latent correlation gives (the bivariate normal orthant probability).

Left out: the temporal spectrum of scintillation beyond its correlation time (the
exponential autocorrelation is a first-order stand-in for the Kolmogorov spectrum), separate
correlation times for the large- and small-scale eddies of the gamma-gamma model (both use
one), cloud cover moving with the wind (the spatial field here is frozen in shape, not
advected), per-station cloud statistics in one correlated field, and beam wander.
"""

from __future__ import annotations

import functools
import math
from dataclasses import dataclass, field
from statistics import NormalDist
from typing import Protocol

import numpy as np
import numpy.typing as npt

from comms.errors import UsageError
from links.times import FloatArray

__all__ = [
    "CloudBlockage",
    "CloudField",
    "CloudProcess",
    "CorrelatedClouds",
    "StationClouds",
    "gamma_gamma_series",
    "gamma_quantile_table",
    "gauss_markov",
    "indicator_correlation",
    "lognormal_series",
    "pointing_jitter_series",
    "pointing_loss",
    "scintillation_index_gamma_gamma",
]

# The cumulative-sum form of the AR(1) recursion scales terms by e^(U_j - U_start); a
# chunk stops before that factor passes e^600 (float64 overflows past e^709).
_CHUNK_DECAY = 600.0
# A step decaying by more than e^-40 (< 4e-18) carries nothing over in float64.
_MAX_STEP_DECAY = 40.0


def _times(t_s: npt.ArrayLike) -> FloatArray:
    t = np.atleast_1d(np.asarray(t_s, dtype=np.float64))
    if t.ndim != 1 or t.size == 0:
        raise UsageError("Pass the sample times as a non-empty 1-D array of seconds.")
    if t.size > 1 and np.any(np.diff(t) < 0.0):
        raise UsageError("Sample times must be non-decreasing seconds; sort them first.")
    return t


def gauss_markov(
    t_s: npt.ArrayLike,
    correlation_time_s: npt.ArrayLike,
    rng: np.random.Generator,
) -> FloatArray:
    """Unit-variance Gaussian path with autocorrelation exp(-|tau| / correlation_time_s).

    Exact Ornstein-Uhlenbeck transitions between the given times:
    x_k = rho_k x_(k-1) + sqrt(1 - rho_k^2) n_k with rho_k = exp(-(t_k - t_(k-1)) / T_k),
    x_0 ~ N(0, 1). ``correlation_time_s`` is a scalar or one value per sample (0 gives
    white noise). No per-sample Python loop: with U_k = sum of the decays,
    x_k = e^-U_k (x_0 + sum_j e^U_j w_j), a cumulative sum, taken in chunks short enough
    that e^U cannot overflow.
    """
    t = _times(t_s)
    tau = np.broadcast_to(np.asarray(correlation_time_s, dtype=np.float64), t.shape)
    if np.any(tau < 0.0) or not np.all(np.isfinite(tau)):
        raise UsageError("correlation_time_s must be >= 0 seconds (0 means white noise).")
    n = t.size
    z = rng.standard_normal(n)
    if n == 1:
        return z
    with np.errstate(divide="ignore", invalid="ignore"):
        decay = np.where(tau[1:] > 0.0, np.diff(t) / tau[1:], np.inf)
    decay = np.minimum(decay, _MAX_STEP_DECAY)
    rho = np.exp(-decay)
    w = np.empty(n)
    w[0] = z[0]
    w[1:] = np.sqrt(-np.expm1(-2.0 * decay)) * z[1:]
    if np.all(decay >= _MAX_STEP_DECAY):
        return w  # every step forgets the past: white noise
    u = np.concatenate(([0.0], np.cumsum(decay)))
    out = np.empty(n)
    start, carry = 0, 0.0  # carry: x at start-1 (nothing before sample 0)
    while start < n:
        stop = int(np.searchsorted(u, u[start] + _CHUNK_DECAY, side="right"))
        stop = max(stop, start + 1)
        rel = u[start:stop] - u[start]
        scale = np.exp(rel)
        first = rho[start - 1] * carry if start > 0 else 0.0
        acc = np.cumsum(w[start:stop] * scale)
        out[start:stop] = (acc + first) / scale
        carry = float(out[stop - 1])
        start = stop
    return out


def scintillation_index_gamma_gamma(alpha: npt.ArrayLike, beta: npt.ArrayLike) -> FloatArray:
    """SI = 1/alpha + 1/beta + 1/(alpha beta) of a unit-mean gamma-gamma irradiance."""
    a = np.asarray(alpha, dtype=np.float64)
    b = np.asarray(beta, dtype=np.float64)
    return np.asarray(1.0 / a + 1.0 / b + 1.0 / (a * b))


def lognormal_series(
    t_s: npt.ArrayLike,
    scintillation_index: npt.ArrayLike,
    correlation_time_s: npt.ArrayLike,
    rng: np.random.Generator,
) -> FloatArray:
    """Unit-mean log-normal irradiance with the given scintillation index (per sample or
    scalar) whose autocorrelation falls to 1/e after ``correlation_time_s``.

    With ln I = s g - s^2/2 and g a Gauss-Markov path of correlation rho(tau), the
    autocorrelation of I is (exp(s^2 rho) - 1) / (exp(s^2) - 1); the path's own
    correlation time is stretched so that this is e^-1 at the target lag.
    """
    si = np.asarray(scintillation_index, dtype=np.float64)
    if np.any(si < 0.0) or not np.all(np.isfinite(si)):
        raise UsageError("scintillation_index must be finite and >= 0.")
    s2_in = np.log1p(si)
    # The Gaussian path needs a longer correlation time than I: solve
    # (exp(s^2 rho) - 1) / (exp(s^2) - 1) = e^-1 for rho, then T_g = T / -ln(rho).
    with np.errstate(divide="ignore", invalid="ignore"):
        rho = np.where(s2_in > 1e-12, np.log1p(_E_INV * np.expm1(s2_in)) / s2_in, _E_INV)
    tau = np.asarray(correlation_time_s, dtype=np.float64) / -np.log(rho)
    g = gauss_markov(t_s, tau, rng)
    s2 = np.broadcast_to(s2_in, g.shape)
    return np.asarray(np.exp(np.sqrt(s2) * g - 0.5 * s2))


# --- gamma quantiles by table --------------------------------------------------------

_TABLE_SIZE = 8192


@functools.cache
def _normal_cdf_table() -> tuple[FloatArray, FloatArray]:
    z = np.linspace(-8.5, 8.5, 8193)
    phi = np.array([0.5 * math.erfc(-v / math.sqrt(2.0)) for v in z])
    return z, phi


@functools.lru_cache(maxsize=256)
def gamma_quantile_table(shape: float) -> tuple[FloatArray, FloatArray]:
    """(cdf, x) of Gamma(shape, scale 1/shape) (mean 1) on a grid, for np.interp.

    The density is integrated in ln x (dF = f(x) x d ln x stays finite for shape < 1)
    with the trapezoid rule from x_lo, where F(x_lo) ~ (shape x_lo)^shape / Gamma(shape+1)
    is added in closed form; the last value is normalised to 1.
    """
    k = float(shape)
    if not k > 0.0 or not math.isfinite(k):
        raise UsageError("A gamma shape must be finite and > 0.")
    sd = 1.0 / math.sqrt(k)
    lo = max(1e-12, 1.0 - 14.0 * sd)
    hi = 1.0 + 16.0 * sd + 40.0 / k
    lnx = np.linspace(math.log(lo), math.log(hi), _TABLE_SIZE)
    x = np.exp(lnx)
    log_density_x = k * math.log(k) + k * lnx - k * x - math.lgamma(k)
    g = np.exp(log_density_x)
    cdf = np.empty_like(x)
    cdf[0] = math.exp(k * math.log(k * lo) - math.lgamma(k + 1.0))
    cdf[1:] = cdf[0] + np.cumsum(0.5 * (g[1:] + g[:-1]) * np.diff(lnx))
    cdf /= cdf[-1]
    return cdf, x


_WILSON_HILFERTY_SHAPE = 50.0
"""Above this shape the Wilson-Hilferty cube transform replaces the quantile table: the
table's closed-form lower tail (valid for k * x_lo << 1) breaks down for large shapes
(weak turbulence near zenith), while W-H's quantile error is far below 1e-3 there."""


def _gamma_from_gaussian(g: FloatArray, shape: float) -> FloatArray:
    if shape > _WILSON_HILFERTY_SHAPE:
        # Gamma(k, 1/k) ~ (1 - 1/(9k) + g / (3 sqrt(k)))^3 (Wilson and Hilferty, 1931).
        c = 1.0 / (9.0 * shape)
        return np.asarray(np.maximum(1.0 - c + np.asarray(g) * math.sqrt(c), 0.0) ** 3)
    z, phi = _normal_cdf_table()
    u = np.interp(g, z, phi)
    cdf, x = gamma_quantile_table(shape)
    return np.asarray(np.interp(u, cdf, x))


_E_INV = math.exp(-1.0)


_RHO_GRID = np.linspace(_E_INV, 1.0, 33)


@functools.cache
def _hermite_nodes() -> tuple[FloatArray, FloatArray]:
    z, w = np.polynomial.hermite_e.hermegauss(24)
    return z, w / w.sum()


@functools.lru_cache(maxsize=1024)
def _copula_covariance(shape: float) -> FloatArray:
    """Cov(X1, X2) of X = F^-1(Phi(g)) for (g1, g2) standard bivariate normal with
    correlation rho, at each rho of ``_RHO_GRID`` (the last is rho = 1: the variance), by
    24 x 24-node Gauss-Hermite quadrature over the same tables the sampler uses, so the
    calibration matches what it draws."""
    z, w = _hermite_nodes()
    r = _RHO_GRID[:, None, None]
    g2 = r * z[None, :, None] + np.sqrt(np.maximum(1.0 - r * r, 0.0)) * z[None, None, :]
    x1 = _gamma_from_gaussian(z, shape)
    x2 = _gamma_from_gaussian(g2.reshape(-1), shape).reshape(g2.shape)
    mean = float(np.sum(w * x1))
    second = np.einsum("i,j,i,rij->r", w, w, x1, x2)
    return np.asarray(second - mean * mean)


@functools.lru_cache(maxsize=4096)
def _gamma_gamma_stretch(alpha: float, beta: float) -> float:
    """T_path / T_I: the factor that makes corr(I(t), I(t + T_I)) = e^-1. With Cov_a(rho)
    the factors' copula covariances, corr_I(rho) = ((1 + Cov_a)(1 + Cov_b) - 1) / SI rises
    monotonically in the paths' correlation rho; solve corr_I = e^-1 on the grid."""
    ca, cb = _copula_covariance(alpha), _copula_covariance(beta)
    scintillation_index = (1.0 + ca[-1]) * (1.0 + cb[-1]) - 1.0
    if scintillation_index < 1e-9:
        # Vanishing turbulence (very large shapes, e.g. near zenith): both factors are
        # nearly Gaussian and corr_I equals the paths' correlation, so no stretch.
        return 1.0
    corr = ((1.0 + ca) * (1.0 + cb) - 1.0) / scintillation_index
    if corr[0] >= _E_INV:
        return 1.0
    rho = float(np.interp(_E_INV, corr, _RHO_GRID))
    return -1.0 / math.log(min(rho, 1.0 - 1e-12))


def _quantize_shape(shape: FloatArray) -> FloatArray:
    # Shapes on a 1 %-step log grid: tables and calibrations are cached per value, and a
    # pass's slowly varying shapes then reuse a few hundred of them.
    return np.asarray(np.exp(np.round(np.log(shape) / _SHAPE_STEP) * _SHAPE_STEP))


_SHAPE_STEP = 0.01
_STRETCH_STEP = 0.05


def gamma_gamma_series(
    t_s: npt.ArrayLike,
    alpha: npt.ArrayLike,
    beta: npt.ArrayLike,
    correlation_time_s: npt.ArrayLike,
    rng: np.random.Generator,
) -> FloatArray:
    """Unit-mean gamma-gamma irradiance at ``t_s``.

    ``correlation_time_s`` 0 (scalar) draws independent samples as the product of two
    gamma variates. Otherwise each factor is a Gauss-Markov path mapped through its gamma
    quantile (see the module docstring), with the paths' correlation time stretched so
    that the autocorrelation of I itself is 1/e at ``correlation_time_s``.
    ``alpha``, ``beta`` and ``correlation_time_s`` may vary per sample (a pass): the
    paths stay continuous, and shapes are rounded to a 1 % log grid (which moves SI by
    < 1 %) so that their quantile tables are shared.
    """
    t = _times(t_s)
    a = np.broadcast_to(np.asarray(alpha, dtype=np.float64), t.shape)
    b = np.broadcast_to(np.asarray(beta, dtype=np.float64), t.shape)
    if not (np.all(a > 0.0) and np.all(b > 0.0) and np.all(np.isfinite(a + b))):
        raise UsageError("gamma_gamma_series needs finite alpha > 0 and beta > 0.")
    tau = np.asarray(correlation_time_s, dtype=np.float64)
    if tau.ndim == 0 and float(tau) == 0.0:
        return np.asarray(rng.gamma(a, 1.0 / a) * rng.gamma(b, 1.0 / b))
    if a.ndim and np.all(a == a[0]) and np.all(b == b[0]):
        pairs, inverse = np.array([[a[0], b[0]]]), np.zeros(t.size, dtype=np.intp)
    else:
        pairs, inverse = np.unique(
            np.stack([_quantize_shape(a), _quantize_shape(b)], axis=1),
            axis=0,
            return_inverse=True,
        )
        inverse = inverse.reshape(-1)
    # The stretch varies slowly with the shapes (1.0 to ~1.5): a 5 % grid is plenty.
    coarse = np.exp(np.round(np.log(pairs) / _STRETCH_STEP) * _STRETCH_STEP)
    stretch = np.array([_gamma_gamma_stretch(float(x), float(y)) for x, y in coarse])
    path_tau = np.broadcast_to(tau, t.shape) * stretch[inverse]
    gx = gauss_markov(t, path_tau, rng)
    gy = gauss_markov(t, path_tau, rng)
    out = np.empty(t.size)
    if pairs.shape[0] == 1:
        return np.asarray(
            _gamma_from_gaussian(gx, float(pairs[0, 0]))
            * _gamma_from_gaussian(gy, float(pairs[0, 1]))
        )
    order = np.argsort(inverse, kind="stable")
    cuts = np.flatnonzero(np.diff(inverse[order])) + 1
    for group in np.split(order, cuts):
        x, y = pairs[inverse[group[0]]]
        out[group] = _gamma_from_gaussian(gx[group], float(x)) * _gamma_from_gaussian(
            gy[group], float(y)
        )
    return out


# --- pointing ------------------------------------------------------------------------


def pointing_loss(error_rad: npt.ArrayLike, divergence_rad: npt.ArrayLike) -> FloatArray:
    """Intensity factor exp(-2 theta^2 / theta_w^2) of a Gaussian beam mispointed by
    ``error_rad``; theta_w = divergence / 2 is the 1/e^2 half-angle (``divergence_rad``
    is the full 1/e^2 angle)."""
    e = np.asarray(error_rad, dtype=np.float64)
    half = 0.5 * np.asarray(divergence_rad, dtype=np.float64)
    return np.asarray(np.exp(-2.0 * (e / half) ** 2))


def pointing_jitter_series(
    t_s: npt.ArrayLike,
    jitter_sigma_rad: float,
    correlation_time_s: float,
    rng: np.random.Generator,
    *,
    bias_rad: float = 0.0,
) -> FloatArray:
    """Radial pointing error (rad): hypot(bias + sigma x, sigma y) with x, y independent
    unit Gauss-Markov paths. With no bias it is Rayleigh with per-axis sigma."""
    if jitter_sigma_rad < 0.0 or bias_rad < 0.0:
        raise UsageError("jitter_sigma_rad and bias_rad are angles >= 0 (radians).")
    t = _times(t_s)
    x = gauss_markov(t, correlation_time_s, rng)
    y = gauss_markov(t, correlation_time_s, rng)
    return np.asarray(np.hypot(bias_rad + jitter_sigma_rad * x, jitter_sigma_rad * y))


# --- clouds --------------------------------------------------------------------------


class CloudBlockage(Protocol):
    """What :meth:`links.optical.OpticalLink.series` asks of a cloud model: where the
    line of sight is blocked at non-decreasing times ``t_s`` (:class:`CloudProcess`,
    or one station of a correlated :class:`CloudField`)."""

    def blocked(self, t_s: npt.ArrayLike, rng: np.random.Generator) -> npt.NDArray[np.bool_]: ...


@dataclass(frozen=True)
class CloudProcess:
    """Cloud blockage at one station: alternating clear and cloudy spells.

    Spells are exponential (a continuous-time two-state Markov chain): cloudy spells
    last ``mean_cloud_duration_s`` on average, clear spells
    T_clear = T_cloud p / (1 - p) so that the long-run cloud-free fraction is
    p = ``cloud_free_probability``. Defaults: p = 0.5 (REFERENCES: single-site
    cloud-free probability ~30-80 %) and 3 h cloudy spells (synoptic cloud systems pass
    over hours; pass the site's own statistics when you have them).
    """

    cloud_free_probability: float = 0.5
    mean_cloud_duration_s: float = 3.0 * 3600.0

    def __post_init__(self) -> None:
        if not 0.0 <= self.cloud_free_probability <= 1.0:
            raise UsageError("cloud_free_probability must be in [0, 1].")
        if not self.mean_cloud_duration_s > 0.0 or not math.isfinite(self.mean_cloud_duration_s):
            raise UsageError("mean_cloud_duration_s must be a finite duration > 0 seconds.")

    @property
    def mean_clear_duration_s(self) -> float:
        p = self.cloud_free_probability
        return math.inf if p == 1.0 else self.mean_cloud_duration_s * p / (1.0 - p)

    def spells(
        self, start_s: float, stop_s: float, rng: np.random.Generator
    ) -> tuple[FloatArray, npt.NDArray[np.bool_]]:
        """(spell start times, cloudy flags) covering [start_s, stop_s): the first spell
        starts at ``start_s`` in a state drawn from the stationary law (durations are
        memoryless, so its remaining length has the same law as a whole spell)."""
        p = self.cloud_free_probability
        if p in (0.0, 1.0):
            return np.array([start_s]), np.array([p == 0.0])
        cloudy0 = bool(rng.random() >= p)
        means = (self.mean_clear_duration_s, self.mean_cloud_duration_s)
        span = max(stop_s - start_s, 0.0)
        starts: list[FloatArray] = []
        now, state = start_s, cloudy0
        while now < stop_s or not starts:
            # a batch of alternating spells, sized to cover the rest of the span
            n = 2 * max(8, int(2.0 * (stop_s - now) / (means[0] + means[1])) + 8)
            mean = np.where(np.arange(n) % 2 == 0, means[int(state)], means[int(not state)])
            d = rng.exponential(mean)
            edges = now + np.concatenate(([0.0], np.cumsum(d)))
            starts.append(edges[:-1])
            now = float(edges[-1])
            # n is even: the batch ends in the state it began with
        t0 = np.concatenate(starts)
        cloudy = (np.arange(t0.size) % 2 == 0) == cloudy0
        keep = t0 < start_s + span if span > 0 else np.arange(t0.size) == 0
        keep[0] = True
        return t0[keep], cloudy[keep]

    def blocked(self, t_s: npt.ArrayLike, rng: np.random.Generator) -> npt.NDArray[np.bool_]:
        """True where a cloud blocks the line of sight, at non-decreasing times ``t_s``."""
        t = _times(t_s)
        starts, cloudy = self.spells(float(t[0]), float(t[-1]), rng)
        idx = np.searchsorted(starts, t, side="right") - 1
        return np.asarray(cloudy[idx])


# --- clouds correlated between stations ----------------------------------------------

_EARTH_RADIUS_M = 6_371_000.0
# Latent samples per Matern length scale l when a dense time array is asked for: the
# path is smooth at that scale (once differentiable), so linear interpolation between
# samples l/16 apart misplaces a cloud edge by a small fraction of a spell.
_SAMPLES_PER_SCALE = 16.0


def great_circle_m(lat1_deg: float, lon1_deg: float, lat2_deg: float, lon2_deg: float) -> float:
    """Distance on a sphere of radius 6371 km (haversine)."""
    p1, p2 = math.radians(lat1_deg), math.radians(lat2_deg)
    dp, dl = p2 - p1, math.radians(lon2_deg - lon1_deg)
    h = math.sin(dp / 2) ** 2 + math.cos(p1) * math.cos(p2) * math.sin(dl / 2) ** 2
    return 2.0 * _EARTH_RADIUS_M * math.asin(min(1.0, math.sqrt(h)))


def indicator_correlation(cloud_free_probability: float, latent_correlation: float) -> float:
    """Correlation of two stations' cloudy indicators when their latent Gaussians have
    correlation ``latent_correlation`` and both the cloud-free probability p:
    (P(g1 > u, g2 > u) - q^2) / (q (1 - q)), q = 1 - p, u = Phi^-1(p), the orthant
    probability integrated numerically (error < 1e-6)."""
    p, rho = cloud_free_probability, latent_correlation
    if not 0.0 < p < 1.0:
        raise UsageError("cloud_free_probability must be in (0, 1) for a correlation.")
    if not -1.0 <= rho <= 1.0:
        raise UsageError("latent_correlation must be in [-1, 1].")
    q = 1.0 - p
    if rho >= 1.0:
        return 1.0
    u = NormalDist().inv_cdf(p)
    x = np.linspace(u, u + 12.0, 20001)
    pdf = np.exp(-0.5 * x * x) / math.sqrt(2.0 * math.pi)
    z = (u - rho * x) / math.sqrt(1.0 - rho * rho)
    tail = np.array([0.5 * math.erfc(v / math.sqrt(2.0)) for v in z.tolist()])
    y = pdf * tail
    both = float(np.sum(0.5 * (y[1:] + y[:-1]) * np.diff(x)))
    return (both - q * q) / (q * (1.0 - q))


@dataclass(frozen=True)
class CloudField:
    """One draw of :class:`CorrelatedClouds`: the latent paths (S, G) on the time grid
    ``t_s`` (G,), and the threshold above which a station's sky is cloudy."""

    t_s: FloatArray
    latent: FloatArray
    threshold: float

    def blocked(self, station: int, t_s: npt.ArrayLike) -> npt.NDArray[np.bool_]:
        """True where station ``station`` is under cloud at times ``t_s`` (within the
        grid's span; the latent path is interpolated linearly)."""
        t = np.asarray(t_s, dtype=np.float64)
        if self.t_s.size == 1:
            g = np.full(t.shape, self.latent[station, 0])
        else:
            g = np.interp(t, self.t_s, self.latent[station])
        return np.asarray(g > self.threshold)

    def station(self, index: int) -> StationClouds:
        """Station ``index``'s view, usable as ``clouds=`` of
        :meth:`links.optical.OpticalLink.series`."""
        if not 0 <= index < self.latent.shape[0]:
            raise UsageError(f"station index {index} is outside 0..{self.latent.shape[0] - 1}.")
        return StationClouds(self, index)


@dataclass(frozen=True)
class StationClouds:
    """One station of a :class:`CloudField`, with :class:`CloudProcess`'s
    ``blocked(t_s, rng)`` face (the field is already drawn: ``rng`` is not used)."""

    cloud_field: CloudField
    index: int

    def blocked(
        self, t_s: npt.ArrayLike, rng: np.random.Generator | None = None
    ) -> npt.NDArray[np.bool_]:
        return self.cloud_field.blocked(self.index, t_s)


@dataclass(frozen=True)
class CorrelatedClouds:
    """Cloud blockage at several stations, correlated in time and between stations (a
    Gaussian copula on a separable Matern-3/2 x exponential field; module docstring).

    ``stations`` are (lat_deg, lon_deg). Every station has cloud-free probability
    ``cloud_free_probability`` and mean cloudy spell ``mean_cloud_duration_s`` (a
    homogeneous climate: per-site statistics would need a non-separable field). The
    latent correlation between stations d metres apart is exp(-d / L),
    L = ``correlation_length_m``; 0 makes the stations independent. Default L = 200 km:
    the order of the e-folding distance of cloud-cover correlation that optical
    ground-station site-diversity studies report (a few hundred km); pass your
    region's value.
    """

    stations: tuple[tuple[float, float], ...]
    cloud_free_probability: float = 0.5
    mean_cloud_duration_s: float = 3.0 * 3600.0
    correlation_length_m: float = 200e3
    _chol: FloatArray = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        if not self.stations:
            raise UsageError("CorrelatedClouds needs at least one (lat_deg, lon_deg) station.")
        if not 0.0 < self.cloud_free_probability < 1.0:
            raise UsageError(
                "cloud_free_probability must be in (0, 1) for a correlated field; use "
                "CloudProcess for an always-clear or always-cloudy sky."
            )
        if not self.mean_cloud_duration_s > 0.0 or not math.isfinite(self.mean_cloud_duration_s):
            raise UsageError("mean_cloud_duration_s must be a finite duration > 0 seconds.")
        if not self.correlation_length_m >= 0.0:
            raise UsageError("correlation_length_m must be >= 0 metres (0: independent).")
        object.__setattr__(self, "stations", tuple((float(a), float(b)) for a, b in self.stations))
        object.__setattr__(self, "_chol", np.linalg.cholesky(self.latent_correlation()))

    def latent_correlation(self) -> FloatArray:
        """The (S, S) correlation exp(-d_ij / L) of the stations' latent paths."""
        n = len(self.stations)
        out = np.eye(n)
        if self.correlation_length_m == 0.0:
            return out
        for i in range(n):
            for j in range(i + 1, n):
                d = great_circle_m(*self.stations[i], *self.stations[j])
                out[i, j] = out[j, i] = math.exp(-d / self.correlation_length_m)
        # co-located stations make the matrix singular; a hair of nugget keeps Cholesky
        return out + np.eye(n) * 1e-12

    @property
    def threshold(self) -> float:
        """u = Phi^-1(p): the sky is cloudy where the latent path exceeds it."""
        return NormalDist().inv_cdf(self.cloud_free_probability)

    @property
    def length_scale_s(self) -> float:
        """The Matern-3/2 scale l that makes the mean cloudy spell the one asked for:
        l = T_cloud e^(-u^2/2) / (2 pi (1 - p)) (Rice)."""
        u = self.threshold
        q = 1.0 - self.cloud_free_probability
        return self.mean_cloud_duration_s * math.exp(-0.5 * u * u) / (2.0 * math.pi * q)

    def sample(self, t_s: npt.ArrayLike, rng: np.random.Generator) -> CloudField:
        """Draw the field over the span of ``t_s`` (non-decreasing seconds). Sparse
        times (no closer than l/16) are sampled exactly; dense ones on a grid l/16
        apart that :meth:`CloudField.blocked` interpolates."""
        t = _times(t_s)
        ell = self.length_scale_s
        step = ell / _SAMPLES_PER_SCALE
        span = float(t[-1] - t[0])
        if t.size > 1 and np.min(np.diff(t)) < step:
            n = math.ceil(span / step) + 1
            grid = t[0] + step * np.arange(n, dtype=np.float64)
        else:
            grid = t
        latent = self._chol @ _matern32_paths(grid, ell, len(self.stations), rng)
        return CloudField(grid, latent, self.threshold)

    def sample_span(self, start_s: float, stop_s: float, rng: np.random.Generator) -> CloudField:
        """Draw the field on a grid l/16 apart covering [start_s, stop_s], for any
        later query in that span (e.g. every pass of a scenario)."""
        if not stop_s >= start_s:
            raise UsageError("sample_span needs stop_s >= start_s (seconds).")
        step = self.length_scale_s / _SAMPLES_PER_SCALE
        n = math.ceil((stop_s - start_s) / step) + 1
        grid = start_s + step * np.arange(max(n, 2), dtype=np.float64)
        latent = self._chol @ _matern32_paths(grid, self.length_scale_s, len(self.stations), rng)
        return CloudField(grid, latent, self.threshold)

    def blocked(self, t_s: npt.ArrayLike, rng: np.random.Generator) -> npt.NDArray[np.bool_]:
        """(S, T): True where station s is under cloud at ``t_s`` (one fresh draw)."""
        t = _times(t_s)
        f = self.sample(t, rng)
        return np.stack([f.blocked(i, t) for i in range(len(self.stations))])


def _matern32_paths(t: FloatArray, ell: float, n: int, rng: np.random.Generator) -> FloatArray:
    """n independent unit-variance Matern-3/2 paths (correlation (1 + tau/l) e^(-tau/l))
    at times ``t``: the exact transition of its two-state (value, slope) SDE, with
    lam = 1/l: A(d) = e^(-lam d) [[1 + lam d, d], [-lam^2 d, 1 - lam d]],
    Q(d) = P - A P A^T, P = diag(1, lam^2) the stationary covariance."""
    lam = 1.0 / ell
    p_inf = np.diag([1.0, lam * lam])
    out = np.empty((n, t.size))
    state = np.stack([rng.standard_normal(n), lam * rng.standard_normal(n)])  # (2, n)
    out[:, 0] = state[0]
    if t.size == 1:
        return out
    dts = np.diff(t)
    z = rng.standard_normal((t.size - 1, 2, n))
    cache: dict[float, tuple[FloatArray, FloatArray]] = {}
    for k, d in enumerate(dts.tolist()):
        pair = cache.get(d)
        if pair is None:
            e = math.exp(-lam * d)
            a = e * np.array([[1.0 + lam * d, d], [-lam * lam * d, 1.0 - lam * d]])
            q = p_inf - a @ p_inf @ a.T
            # Q is PSD; clip the round-off that can make a tiny eigenvalue negative
            w, v = np.linalg.eigh(0.5 * (q + q.T))
            pair = (a, v * np.sqrt(np.maximum(w, 0.0)))
            if len(cache) < 4096:
                cache[d] = pair
        a, root = pair
        state = a @ state + root @ z[k]
        out[:, k + 1] = state[0]
    return out
