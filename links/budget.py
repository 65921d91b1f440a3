"""The RF link budget: every term from transmitter power to margin, along a pass.

    EIRP        = P_tx + G_tx - L_tx                                   (dBW)
    L_path      = FSPL + A_atm + L_pol + L_point                       (dB)
    A_atm       = A_gas + sqrt((A_rain + A_cloud)^2 + A_scint^2)      (P.618-13 eq. 64)
    G/T         = G_rx - L_rx - 10 log10(T_sys)                        (dB/K)
    dT_sky      = T_m (1 - 10^(-(A_rain + A_cloud)/10))               (K, P.618-13 s. 7)
    G/T_eff     = G/T - 10 log10(1 + dT_sky / T_sys)                   (downlinks)
    C/N0        = EIRP - L_path + G/T_eff - 10 log10(k)                (dBHz)
    Eb/N0       = C/N0 - 10 log10(R_b);  Es/N0 = Eb/N0 + 10 log10(bits per symbol)
    margin      = Eb/N0 - required Eb/N0 (modcod, target FER/BER) - implementation loss

k = 1.380649e-23 J/K (SI 2019, exact): 10 log10 k = -228.60 dBW/K/Hz. Atmospheric terms
come from :mod:`links.propagation` (ITU-R through ``itur``, versions pinned there) at the
rain exceedance ``rain_p_percent`` (availability 100 - p); required Eb/N0 from
:mod:`links.modcod` (CCSDS 130.1-G-2 tables). Every term is an array over the given
elevations and ranges, so one call budgets a whole pass.

Sky noise (ITU-R P.618-13 section 7): an absorbing medium at mean radiating temperature
T_m both attenuates the signal and emits, raising the antenna noise temperature of a
ground receiver by dT_sky = T_m (1 - 10^(-A/10)), with A the absorptive attenuation of
rain and clouds (scintillation absorbs nothing; the gases are there in clear sky too, so
their emission is already inside the clear-sky G/T and counting it again would be
double). T_m = 275 K is P.618's value for
rain and clouds (``medium_temp_k``). The stated G/T is taken as the clear-sky figure of a
station looking at cold sky with system temperature T_sys (``system_noise_temp_k``, or
``clear_sky_noise_temp_k`` when the receiver is given as G/T); the degradation
10 log10(1 + dT_sky / T_sys) is its own budget term (``sky_noise_db``). An uplink
(``sky_noise=False``) skips it: the spacecraft antenna already sees the ~290 K Earth.

Left out: the attenuated cosmic background (2.7 K x 10^(-A/10), < 3 K), adjacent-channel
and intermodulation interference, ionospheric scintillation, Doppler and carrier-tracking
losses (fold them into ``implementation_loss_db``).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, fields
from typing import Any

import numpy as np
import numpy.typing as npt

from comms.errors import UsageError
from links.modcod import ModCod
from links.pathloss import fspl_db
from links.propagation import AtmosphereModel, AtmosphereTable
from links.times import FloatArray

__all__ = [
    "BOLTZMANN_DBW_PER_K_HZ",
    "EARTH_MEAN_RADIUS_M",
    "LinkBudget",
    "RfLink",
    "link_budget",
    "sky_noise_temp_k",
    "slant_range_from_elevation_m",
]

BOLTZMANN_DBW_PER_K_HZ = 10.0 * math.log10(1.380649e-23)
EARTH_MEAN_RADIUS_M = 6_371_000.0
# P.618-13 section 7: mean radiating temperature of the medium (rain, clouds).
MEDIUM_TEMP_K = 275.0
# Clear-sky system noise temperature assumed behind a bare G/T: an uncooled X-band LNA
# (~50-80 K) plus feed losses and ~10-20 K of clear-sky antenna temperature at low
# elevation gives 120-200 K for the X-band EO stations REFERENCES.md lists.
DEFAULT_CLEAR_SKY_NOISE_TEMP_K = 150.0


def sky_noise_temp_k(
    attenuation_db: npt.ArrayLike, medium_temp_k: float = MEDIUM_TEMP_K
) -> FloatArray:
    """Antenna noise temperature rise T_m (1 - 10^(-A/10)) of absorptive attenuation A dB
    (ITU-R P.618-13 section 7)."""
    a = np.asarray(attenuation_db, dtype=np.float64)
    return np.asarray(medium_temp_k * -np.expm1(-a * (math.log(10.0) / 10.0)))


def slant_range_from_elevation_m(
    elevation_deg: npt.ArrayLike, altitude_m: float, station_alt_m: float = 0.0
) -> FloatArray:
    """Range to a satellite at ``altitude_m`` seen at ``elevation_deg`` (spherical Earth,
    mean radius 6371 km: 750 km at 10 deg gives 2262 km, as in REFERENCES.md)."""
    el = np.radians(np.asarray(elevation_deg, dtype=np.float64))
    r_s = EARTH_MEAN_RADIUS_M + station_alt_m
    r_o = EARTH_MEAN_RADIUS_M + altitude_m
    if not r_o > r_s:
        raise UsageError("altitude_m must be above the station (metres above sea level).")
    return np.asarray(np.sqrt(r_o**2 - (r_s * np.cos(el)) ** 2) - r_s * np.sin(el))


@dataclass(frozen=True)
class RfLink:
    """One RF link: give either ``eirp_dbw`` or ``tx_power_dbw`` (+ gain, losses), and
    either ``g_over_t_db_k`` or ``rx_antenna_gain_dbi`` + ``system_noise_temp_k``.

    ``rain_p_percent`` is the percentage of an average year the rain (and scintillation)
    attenuation is exceeded: 0.1 budgets for 99.9 % availability. ``rx_antenna_diameter_m``
    sets the scintillation aperture averaging. With neither target given, the budget
    closes at FER 1e-4 (a common CCSDS design point, 130.1-G-2 section 8).

    ``sky_noise`` adds the sky-noise rise of the module docstring to a downlink's noise
    at ``medium_temp_k``; the reference system temperature is ``system_noise_temp_k``,
    else ``clear_sky_noise_temp_k`` (default 150 K, see DEFAULT_CLEAR_SKY_NOISE_TEMP_K).
    """

    freq_hz: float
    data_rate_bps: float
    modcod: ModCod
    eirp_dbw: float | None = None
    tx_power_dbw: float | None = None
    tx_antenna_gain_dbi: float = 0.0
    tx_losses_db: float = 0.0
    g_over_t_db_k: float | None = None
    rx_antenna_gain_dbi: float | None = None
    system_noise_temp_k: float | None = None
    rx_losses_db: float = 0.0
    polarization_loss_db: float = 0.0
    pointing_loss_db: float = 0.0
    implementation_loss_db: float = 0.0
    target_fer: float | None = None
    target_ber: float | None = None
    station_lat_deg: float = 0.0
    station_lon_deg: float = 0.0
    station_alt_m: float = 0.0
    rx_antenna_diameter_m: float = 3.7
    rain_p_percent: float = 0.1
    polarization_tilt_deg: float = 45.0
    sky_noise: bool = True
    medium_temp_k: float = MEDIUM_TEMP_K
    clear_sky_noise_temp_k: float | None = None

    def __post_init__(self) -> None:
        if not self.freq_hz > 0 or not self.data_rate_bps > 0:
            raise UsageError("RfLink needs freq_hz > 0 and data_rate_bps > 0 (Hz, bit/s).")
        if (self.eirp_dbw is None) == (self.tx_power_dbw is None):
            raise UsageError(
                "Give the transmitter as eirp_dbw= or as tx_power_dbw= (with "
                "tx_antenna_gain_dbi= and tx_losses_db=), not both or neither."
            )
        rx_parts = (self.rx_antenna_gain_dbi is None, self.system_noise_temp_k is None)
        if self.g_over_t_db_k is None and any(rx_parts):
            raise UsageError(
                "Give the receiver as g_over_t_db_k= or as rx_antenna_gain_dbi= plus "
                "system_noise_temp_k=."
            )
        if self.g_over_t_db_k is not None and not all(rx_parts):
            raise UsageError(
                "g_over_t_db_k= already includes the antenna gain and noise temperature; "
                "drop rx_antenna_gain_dbi=/system_noise_temp_k=."
            )
        if self.system_noise_temp_k is not None and not self.system_noise_temp_k > 0:
            raise UsageError(f"system_noise_temp_k must be > 0 K, got {self.system_noise_temp_k}.")
        for name in (
            "tx_losses_db",
            "rx_losses_db",
            "polarization_loss_db",
            "pointing_loss_db",
            "implementation_loss_db",
        ):
            if getattr(self, name) < 0:
                raise UsageError(f"{name} is a loss: give it as a positive dB figure.")
        if self.target_fer is not None and self.target_ber is not None:
            raise UsageError("Give target_fer= or target_ber=, not both.")
        if not 0.001 <= self.rain_p_percent <= 50.0:
            raise UsageError(
                f"rain_p_percent must be in [0.001, 50] (P.618-13), got {self.rain_p_percent}; "
                "99.9 % availability is 0.1."
            )
        if not self.rx_antenna_diameter_m > 0:
            raise UsageError("rx_antenna_diameter_m must be > 0 metres.")
        if not 0.0 <= self.medium_temp_k < 1000.0:
            raise UsageError(
                f"medium_temp_k must be in [0, 1000) K (P.618 uses 275), got {self.medium_temp_k}."
            )
        if self.clear_sky_noise_temp_k is not None:
            if not self.clear_sky_noise_temp_k > 0:
                raise UsageError(
                    f"clear_sky_noise_temp_k must be > 0 K, got {self.clear_sky_noise_temp_k}."
                )
            if self.system_noise_temp_k is not None:
                raise UsageError(
                    "clear_sky_noise_temp_k is for a receiver given as g_over_t_db_k; "
                    "system_noise_temp_k already is the clear-sky temperature."
                )

    @property
    def reference_noise_temp_k(self) -> float:
        """The clear-sky system temperature the sky-noise rise adds to."""
        if self.system_noise_temp_k is not None:
            return self.system_noise_temp_k
        if self.clear_sky_noise_temp_k is not None:
            return self.clear_sky_noise_temp_k
        return DEFAULT_CLEAR_SKY_NOISE_TEMP_K

    @property
    def eirp(self) -> float:
        if self.eirp_dbw is not None:
            return self.eirp_dbw
        assert self.tx_power_dbw is not None
        return self.tx_power_dbw + self.tx_antenna_gain_dbi - self.tx_losses_db

    @property
    def g_over_t(self) -> float:
        if self.g_over_t_db_k is not None:
            return self.g_over_t_db_k
        assert self.rx_antenna_gain_dbi is not None and self.system_noise_temp_k is not None
        return (
            self.rx_antenna_gain_dbi
            - self.rx_losses_db
            - 10.0 * math.log10(self.system_noise_temp_k)
        )

    @property
    def target(self) -> tuple[str, float]:
        if self.target_ber is not None:
            return "BER", self.target_ber
        return "FER", 1e-4 if self.target_fer is None else self.target_fer

    def required_ebn0_db(self) -> float:
        kind, value = self.target
        if kind == "BER":
            return self.modcod.required_ebn0_db(target_ber=value)
        return self.modcod.required_ebn0_db(target_fer=value)

    def itur_atmosphere(self) -> AtmosphereTable:
        """The fast-path ITU-R table for this link's station, frequency and availability."""
        return AtmosphereTable.from_itur(
            self.station_lat_deg,
            self.station_lon_deg,
            self.station_alt_m,
            self.freq_hz,
            self.rain_p_percent,
            self.rx_antenna_diameter_m,
            polarization_tilt_deg=self.polarization_tilt_deg,
        )


@dataclass(frozen=True)
class LinkBudget:
    """Every term of the budget (dB-domain), arrays shaped like the elevations."""

    link: RfLink
    elevation_deg: FloatArray
    range_m: FloatArray
    eirp_dbw: FloatArray
    fspl_db: FloatArray
    gases_db: FloatArray
    clouds_db: FloatArray
    rain_db: FloatArray
    scintillation_db: FloatArray
    atmospheric_db: FloatArray
    polarization_loss_db: FloatArray
    pointing_loss_db: FloatArray
    total_path_loss_db: FloatArray
    clear_sky_g_over_t_db_k: FloatArray
    sky_noise_temp_k: FloatArray
    sky_noise_db: FloatArray
    g_over_t_db_k: FloatArray
    cn0_dbhz: FloatArray
    ebn0_db: FloatArray
    esn0_db: FloatArray
    required_ebn0_db: FloatArray
    implementation_loss_db: FloatArray
    margin_db: FloatArray

    @property
    def size(self) -> int:
        return int(self.margin_db.size)

    def at(self, index: int) -> LinkBudget:
        """The budget at one sample of the pass."""
        values: dict[str, Any] = {}
        for f in fields(self):
            v = getattr(self, f.name)
            values[f.name] = v if f.name == "link" else np.asarray(np.ravel(v)[index])
        return LinkBudget(**values)

    def worst(self) -> LinkBudget:
        """The sample with the smallest margin."""
        return self.at(int(np.nanargmin(np.ravel(self.margin_db))))

    def best(self) -> LinkBudget:
        """The sample with the largest margin."""
        return self.at(int(np.nanargmax(np.ravel(self.margin_db))))

    def rows(self) -> list[tuple[str, float, str]]:
        """(term, value, unit) for a single-sample budget, in textbook order."""
        if self.size != 1:
            raise UsageError(
                f"This budget holds {self.size} samples; pick one with .at(i), .worst() "
                "or .best() before rendering it."
            )
        link = self.link

        def v(a: FloatArray) -> float:
            return float(np.ravel(a)[0])

        kind, target = link.target
        out: list[tuple[str, float, str]] = [
            ("Frequency", link.freq_hz / 1e9, "GHz"),
            ("Data rate", link.data_rate_bps / 1e6, "Mbit/s"),
            ("Elevation", v(self.elevation_deg), "deg"),
            ("Slant range", v(self.range_m) / 1e3, "km"),
        ]
        if link.tx_power_dbw is not None:
            out += [
                ("Tx power", link.tx_power_dbw, "dBW"),
                ("Tx antenna gain", link.tx_antenna_gain_dbi, "dBi"),
                ("Tx losses", -link.tx_losses_db, "dB"),
            ]
        out += [
            ("EIRP", v(self.eirp_dbw), "dBW"),
            ("Free-space path loss", -v(self.fspl_db), "dB"),
            ("Atmospheric gases (P.676)", -v(self.gases_db), "dB"),
            ("Clouds (P.840)", -v(self.clouds_db), "dB"),
            (f"Rain (P.618, {link.rain_p_percent:g} %)", -v(self.rain_db), "dB"),
            ("Scintillation (P.618)", -v(self.scintillation_db), "dB"),
            ("Atmospheric total (P.618 eq. 64)", -v(self.atmospheric_db), "dB"),
            ("Polarization loss", -v(self.polarization_loss_db), "dB"),
            ("Pointing loss", -v(self.pointing_loss_db), "dB"),
            ("Total path loss", -v(self.total_path_loss_db), "dB"),
        ]
        if link.g_over_t_db_k is None:
            assert link.rx_antenna_gain_dbi is not None and link.system_noise_temp_k
            out += [
                ("Rx antenna gain", link.rx_antenna_gain_dbi, "dBi"),
                ("Rx losses", -link.rx_losses_db, "dB"),
                ("System noise temperature", 10.0 * math.log10(link.system_noise_temp_k), "dBK"),
            ]
        out += [
            ("Rx G/T (clear sky)", v(self.clear_sky_g_over_t_db_k), "dB/K"),
            (
                f"Sky noise (P.618 s.7, +{v(self.sky_noise_temp_k):.1f} K on "
                f"{link.reference_noise_temp_k:g} K)",
                -v(self.sky_noise_db),
                "dB",
            ),
            ("Rx G/T", v(self.g_over_t_db_k), "dB/K"),
            ("Boltzmann constant", BOLTZMANN_DBW_PER_K_HZ, "dBW/K/Hz"),
            ("C/N0", v(self.cn0_dbhz), "dBHz"),
            ("Eb/N0", v(self.ebn0_db), "dB"),
            ("Es/N0", v(self.esn0_db), "dB"),
            (
                f"Required Eb/N0 ({link.modcod.name}, {kind} {target:g})",
                v(self.required_ebn0_db),
                "dB",
            ),
            ("Implementation loss", -v(self.implementation_loss_db), "dB"),
            ("Margin", v(self.margin_db), "dB"),
        ]
        return out

    def table(self) -> str:
        """A textbook/STK-style three-column table (losses shown negative)."""
        rows = self.rows()
        width = max(len(r[0]) for r in rows)
        lines = [f"{'term':<{width}}  {'value':>10}  unit", "-" * (width + 20)]
        lines += [f"{t:<{width}}  {val:>10.2f}  {u}" for t, val, u in rows]
        return "\n".join(lines)

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready: link parameters and every term (floats, or lists for a pass)."""

        def plain(a: FloatArray) -> Any:
            arr = np.asarray(a, dtype=np.float64)
            return float(arr) if arr.ndim == 0 else [float(x) for x in arr.ravel()]

        link = self.link
        kind, target = link.target
        out: dict[str, Any] = {
            "freq_hz": link.freq_hz,
            "data_rate_bps": link.data_rate_bps,
            "modcod": link.modcod.name,
            "target": {"kind": kind, "value": target},
            "rain_p_percent": link.rain_p_percent,
        }
        for f in fields(self):
            if f.name != "link":
                out[f.name] = plain(getattr(self, f.name))
        return out


def link_budget(
    link: RfLink,
    elevation_deg: npt.ArrayLike,
    range_m: npt.ArrayLike,
    *,
    atmosphere: AtmosphereModel | None = None,
) -> LinkBudget:
    """The budget of ``link`` at each (elevation, range); arrays broadcast.

    ``atmosphere`` defaults to :meth:`RfLink.itur_atmosphere` (needs ``itur``); pass
    :class:`links.propagation.NoAtmosphere` for free space only, or a prebuilt
    :class:`links.propagation.AtmosphereTable` to reuse one across passes.
    """
    el, rng = np.broadcast_arrays(
        np.asarray(elevation_deg, dtype=np.float64), np.asarray(range_m, dtype=np.float64)
    )
    el, rng = np.array(el), np.array(rng)
    if np.any(el <= 0) or np.any(el > 90):
        raise UsageError("elevation_deg must lie in (0, 90] degrees.")
    model = atmosphere if atmosphere is not None else link.itur_atmosphere()
    atm = model.attenuation(el)
    ones = np.ones(el.shape)
    eirp = link.eirp * ones
    fspl = fspl_db(rng, link.freq_hz)
    a_total = atm.total_db
    pol = link.polarization_loss_db * ones
    point = link.pointing_loss_db * ones
    path = fspl + a_total + pol + point
    clear_gt = link.g_over_t * ones
    if link.sky_noise:
        absorbed = atm.clouds_db + atm.rain_db  # above clear sky: gases are in G/T
        d_sky = sky_noise_temp_k(absorbed * ones, link.medium_temp_k)
    else:
        d_sky = np.zeros(el.shape)
    sky_db = 10.0 * np.log10(1.0 + d_sky / link.reference_noise_temp_k)
    gt = clear_gt - sky_db
    cn0 = eirp - path + gt - BOLTZMANN_DBW_PER_K_HZ
    ebn0 = cn0 - 10.0 * math.log10(link.data_rate_bps)
    esn0 = ebn0 + 10.0 * math.log10(link.modcod.spectral_efficiency)
    required = link.required_ebn0_db() * ones
    impl = link.implementation_loss_db * ones
    return LinkBudget(
        link=link,
        elevation_deg=el,
        range_m=rng,
        eirp_dbw=eirp,
        fspl_db=np.asarray(fspl),
        gases_db=np.asarray(atm.gases_db * ones),
        clouds_db=np.asarray(atm.clouds_db * ones),
        rain_db=np.asarray(atm.rain_db * ones),
        scintillation_db=np.asarray(atm.scintillation_db * ones),
        atmospheric_db=np.asarray(a_total * ones),
        polarization_loss_db=pol,
        pointing_loss_db=point,
        total_path_loss_db=np.asarray(path),
        clear_sky_g_over_t_db_k=clear_gt,
        sky_noise_temp_k=np.asarray(d_sky),
        sky_noise_db=np.asarray(sky_db),
        g_over_t_db_k=np.asarray(gt),
        cn0_dbhz=np.asarray(cn0),
        ebn0_db=np.asarray(ebn0),
        esn0_db=np.asarray(esn0),
        required_ebn0_db=required,
        implementation_loss_db=impl,
        margin_db=np.asarray(ebn0 - required - impl),
    )
