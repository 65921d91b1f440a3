"""The link along one pass, sampled: geometry, Doppler, carrier lock, budget -> BER.

:func:`link_timeline` finds the scenario's pass (:func:`~links.passes.find_passes`) and
samples the link along it every ``link.step_s``: look angles, range and light time,
Doppler and the residual a pre-compensating station leaves, carrier lock from a
:class:`~links.doppler.CarrierTracker`; for RF the budget
(:func:`~links.budget.link_budget`) -> Eb/N0 -> the bit error rate the CADUs see (the
modcod's tables, :mod:`links.modcod`); for optical the received-power series
(:meth:`~links.optical.OpticalLink.series`) -> the detector's threshold, below which
frames are erased; for the uplink (``link.uplink``) the budget of uncoded BPSK at the
uplink frequency and the spacecraft receiver's lock. :class:`LinkTimeline` holds the
arrays; :class:`~links.pass_emulator.PassEmulator` turns them into a channel model.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from comms.errors import UsageError
from links.ber import ber_bpsk
from links.budget import RfLink, link_budget
from links.doppler import CarrierLock, CarrierTracker, ground_doppler
from links.fading import CloudBlockage, CloudProcess
from links.geometry import SPEED_OF_LIGHT_M_S, look_angles
from links.modcod import CONV_7_12, RS_CONV_I5, UNCODED, ModCod, Modulation, modcod_by_name
from links.optical import OpticalLink, OpticalSeries, slew_rate_rad_s
from links.orbit import Satellite
from links.passes import Pass, find_passes
from links.propagation import NoAtmosphere
from links.scenario import Scenario
from links.span import build_satellite, build_station, scenario_end
from links.stations import GroundStation
from links.times import Epoch, FloatArray

__all__ = ["LinkTimeline", "link_timeline"]

BoolArray = npt.NDArray[np.bool_]


@dataclass(frozen=True)
class LinkTimeline:
    """The link state sampled along one pass: arrays (T,) over ``t_s`` (seconds since
    ``contact.epoch``, AOS to LOS). ``kind`` is "rf" or "optical" (the downlink) or
    "uplink" (:attr:`PassEmulator.uplink_timeline`). RF fields are NaN for an optical
    link and the optical series is None for an RF one."""

    contact: Pass
    kind: str
    freq_hz: float
    t_s: FloatArray
    elevation_deg: FloatArray
    azimuth_deg: FloatArray
    range_m: FloatArray
    light_time_s: FloatArray
    doppler_hz: FloatArray
    doppler_rate_hz_s: FloatArray
    residual_hz: FloatArray
    lock: CarrierLock
    cn0_dbhz: FloatArray
    ebn0_db: FloatArray
    margin_db: FloatArray
    ber: FloatArray
    optical: OpticalSeries | None = None
    optical_threshold_w: float = math.nan

    def locked_at(self, t: FloatArray) -> BoolArray:
        """Carrier lock at times ``t`` (the state of the latest sample at or before)."""
        k = np.searchsorted(self.t_s, t, side="right") - 1
        inside = (k >= 0) & (t <= self.contact.los_s)
        out = np.zeros(t.shape, dtype=bool)
        out[inside] = self.lock.locked[k[inside]]
        return out


def _tracker(scenario: Scenario, *, uplink: bool = False) -> CarrierTracker:
    tr = scenario.tracker
    return CarrierTracker(
        pull_in_range_hz=tr.pull_in_range_hz,
        max_rate_hz_s=tr.max_rate_hz_s,
        acquisition_time_s=tr.acquisition_time_s,
        tracking_range_hz=tr.tracking_range_hz,
        # the spacecraft's receiver has its own threshold, not the station's
        min_cn0_dbhz=scenario.link.uplink.min_cn0_dbhz if uplink else tr.min_cn0_dbhz,
    )


def link_timeline(
    scenario: Scenario,
    *,
    satellite: Satellite | None = None,
    station: GroundStation | None = None,
    contact: Pass | None = None,
    rng: np.random.Generator | None = None,
    uplink: bool = False,
    clouds: CloudBlockage | None = None,
) -> LinkTimeline:
    """Sample the scenario's link along its pass (see the module docstring).

    ``rng`` drives the optical fades (default: seeded from the scenario). ``uplink``
    samples the uplink instead (``link.uplink``: always RF, uncoded BPSK at the uplink
    frequency; the spacecraft's receiver locks as ``[tracker]`` says, with
    ``link.uplink.min_cn0_dbhz`` as its C/N0 floor). ``clouds``
    replaces the optical link's own cloud process (e.g. this station of a
    :func:`scenario_cloud_field`)."""
    sat = build_satellite(scenario) if satellite is None else satellite
    sta = build_station(scenario) if station is None else station
    link = scenario.link
    if contact is None:
        passes = [
            p
            for p in find_passes(sat, sta, Epoch.of(scenario.start).utc, scenario_end(scenario))
            if not (p.aos_clipped or p.los_clipped)
        ]
        if link.pass_index >= len(passes):
            raise UsageError(
                f"link.pass_index is {link.pass_index} but {sta.label()} sees only "
                f"{len(passes)} whole pass(es) in the {scenario.hours:g} h from "
                f"{scenario.start}; lower it or raise hours."
            )
        contact = passes[link.pass_index]
    if rng is None:
        rng = np.random.default_rng([scenario.seed, 1])
    t = np.arange(contact.aos_s, contact.los_s, link.step_s)
    t = np.append(t, contact.los_s) if t.size == 0 or t[-1] < contact.los_s else t
    epoch = contact.epoch
    optical = link.type == "optical" and not uplink
    if uplink:
        freq = link.uplink.freq_hz
    elif optical:
        freq = SPEED_OF_LIGHT_M_S / link.optical.wavelength_m
    else:
        freq = link.rf.freq_hz
    look = look_angles(sat, sta, t, epoch=epoch)
    el = look.elevation_deg[0, 0]
    az = look.azimuth_deg[0, 0]
    rng_m = look.range_m[0, 0]
    dop = ground_doppler(sat, sta, t, freq_hz=freq, epoch=epoch)
    doppler = dop.doppler_hz[0, 0]
    rate = dop.doppler_rate_hz_s[0, 0]
    tr = scenario.tracker
    if tr.precompensation:
        late = ground_doppler(sat, sta, t - tr.prediction_error_s, freq_hz=freq, epoch=epoch)
        residual = doppler - late.doppler_hz[0, 0]
        residual_rate = rate - late.doppler_rate_hz_s[0, 0]
    else:
        residual, residual_rate = doppler, rate
    nan = np.full(t.shape, np.nan)
    cn0 = ebn0 = margin = ber = nan
    series = None
    threshold = math.nan
    if optical:
        if tr.min_cn0_dbhz is not None:
            raise UsageError("tracker.min_cn0_dbhz applies to RF links; remove it for optical.")
        series, threshold = _optical_series(scenario, t, az, el, rng_m, rng, clouds)
    elif uplink:
        cn0, ebn0, margin, ber = _uplink_budget(scenario, el, rng_m, sta)
    else:
        cn0, ebn0, margin, ber = _rf_budget(scenario, el, rng_m, sta)
    lock = _tracker(scenario, uplink=uplink).track(
        t, residual, residual_rate, cn0_dbhz=None if optical else cn0
    )
    return LinkTimeline(
        contact=contact,
        kind="uplink" if uplink else link.type,
        freq_hz=freq,
        t_s=t,
        elevation_deg=el,
        azimuth_deg=az,
        range_m=rng_m,
        light_time_s=rng_m / SPEED_OF_LIGHT_M_S,
        doppler_hz=doppler,
        doppler_rate_hz_s=rate,
        residual_hz=residual,
        lock=lock,
        cn0_dbhz=cn0,
        ebn0_db=ebn0,
        margin_db=margin,
        ber=ber,
        optical=series,
        optical_threshold_w=threshold,
    )


def _rf_budget(
    scenario: Scenario,
    el: FloatArray,
    range_m: FloatArray,
    station: GroundStation | None = None,
) -> tuple[FloatArray, FloatArray, FloatArray, FloatArray]:
    rf = scenario.link.rf
    modcod = modcod_by_name(rf.modcod)
    station = build_station(scenario) if station is None else station
    link = RfLink(
        freq_hz=rf.freq_hz,
        data_rate_bps=rf.link_rate_bps,
        modcod=modcod,
        eirp_dbw=rf.eirp_dbw,
        g_over_t_db_k=rf.g_over_t_db_k,
        polarization_loss_db=rf.polarization_loss_db,
        pointing_loss_db=rf.pointing_loss_db,
        implementation_loss_db=rf.implementation_loss_db,
        station_lat_deg=station.lat_deg,
        station_lon_deg=station.lon_deg,
        station_alt_m=station.alt_m,
        rain_p_percent=rf.rain_p_percent,
        sky_noise=rf.sky_noise,
        clear_sky_noise_temp_k=rf.clear_sky_noise_temp_k,
    )
    # find_passes bisects AOS to 10 ms, so the first sample can sit a hair under a 0
    # deg mask; the budget wants elevations in (0, 90].
    el_b = np.clip(el, 1e-3, 90.0)
    budget = link_budget(
        link, el_b, range_m, atmosphere=NoAtmosphere() if rf.atmosphere == "none" else None
    )
    effective = budget.ebn0_db - rf.implementation_loss_db - modcod.modulation_loss_db
    # The CADUs carry RS(255,223) themselves: on the RS+conv concatenation the bits
    # they see are the Viterbi decoder's output (the inner code's BER), and the real
    # RS decoder does the rest. Any other code's table is its decoded BER.
    code = CONV_7_12 if modcod.code is RS_CONV_I5 and scenario.frames.rs_e else modcod.code
    ber = np.clip(code.ber_at(effective), 0.0, 0.5)
    return budget.cn0_dbhz, budget.ebn0_db, budget.margin_db, np.asarray(ber)


# Telecommand goes up as uncoded BPSK (PCM/PSK/PM); the CLTU's BCH code is in the frames.
_UPLINK_MODCOD = ModCod(Modulation.BPSK, UNCODED)


def _uplink_budget(
    scenario: Scenario, el: FloatArray, range_m: FloatArray, station: GroundStation
) -> tuple[FloatArray, FloatArray, FloatArray, FloatArray]:
    ul = scenario.link.uplink
    link = RfLink(
        freq_hz=ul.freq_hz,
        data_rate_bps=ul.data_rate_bps,
        modcod=_UPLINK_MODCOD,
        eirp_dbw=ul.eirp_dbw,
        g_over_t_db_k=ul.g_over_t_db_k,
        polarization_loss_db=ul.polarization_loss_db,
        pointing_loss_db=ul.pointing_loss_db,
        implementation_loss_db=ul.implementation_loss_db,
        station_lat_deg=station.lat_deg,
        station_lon_deg=station.lon_deg,
        station_alt_m=station.alt_m,
        rain_p_percent=scenario.link.rf.rain_p_percent,
        # the spacecraft looks at the ~290 K Earth: rain adds no noise it does not see
        sky_noise=False,
    )
    el_b = np.clip(el, 1e-3, 90.0)
    atmosphere = NoAtmosphere() if scenario.link.rf.atmosphere == "none" else None
    budget = link_budget(link, el_b, range_m, atmosphere=atmosphere)
    ber = np.clip(ber_bpsk(budget.ebn0_db - ul.implementation_loss_db), 0.0, 0.5)
    return budget.cn0_dbhz, budget.ebn0_db, budget.margin_db, np.asarray(ber)


def _optical_series(
    scenario: Scenario,
    t: FloatArray,
    az: FloatArray,
    el: FloatArray,
    range_m: FloatArray,
    rng: np.random.Generator,
    clouds: CloudBlockage | None = None,
) -> tuple[OpticalSeries, float]:
    oc = scenario.link.optical
    link = OpticalLink(
        wavelength_m=oc.wavelength_m,
        tx_power_w=oc.tx_power_w,
        divergence_rad=oc.divergence_rad,
        aperture_diameter_m=oc.aperture_diameter_m,
        jitter_sigma_rad=oc.jitter_sigma_rad,
        jitter_correlation_s=oc.jitter_correlation_s,
        data_rate_bps=oc.link_rate_bps,
        scintillation_model=oc.scintillation_model,
    )
    fine = np.arange(t[0], t[-1], oc.sample_s)
    slew = slew_rate_rad_s(az, el, t) if t.size >= 2 else np.zeros(t.shape)
    if clouds is None and oc.cloud_free_probability < 1.0:
        clouds = CloudProcess(oc.cloud_free_probability, oc.mean_cloud_duration_s)
    series = link.series(
        fine,
        np.interp(fine, t, range_m),
        np.maximum(np.interp(fine, t, el), 1e-3),
        np.interp(fine, t, slew),
        rng,
        clouds=clouds,
    )
    photon_j = 6.626_070_15e-34 * SPEED_OF_LIGHT_M_S / oc.wavelength_m
    threshold = link.detector.sensitivity_photons_per_bit * photon_j * oc.link_rate_bps
    return series, threshold
