"""The link emulator: real frames through the time-varying channel of one pass.

In process (sans-I/O, :class:`PassEmulator`): a :class:`~links.scenario.Scenario` gives
the satellite, the station and the link. The emulator

1. finds the pass (:func:`~links.passes.find_passes`) and samples the link along it
   every ``link.step_s`` (:func:`link_timeline`): look angles, range and light time,
   Doppler and the residual a pre-compensating station leaves, carrier lock from a
   :class:`~links.doppler.CarrierTracker`; for RF the budget
   (:func:`~links.budget.link_budget`) -> Eb/N0 -> the bit error rate the CADUs see
   (the modcod's tables, :mod:`links.modcod`); for optical the received-power series
   (:meth:`~links.optical.OpticalLink.series`) -> photons per bit -> erasures below
   the detector's sensitivity and bit errors above it;
2. builds real CADUs from real Space Packets (:class:`~comms.vc.VcPacketSender` ->
   :class:`~comms.coding.CaduEncoder`), sent back to back at ``link.data_rate_bps``
   from AOS to LOS, and moves them in numpy batches through
   :meth:`~links.impairments.Channel.process`, whose model is the pass: bit errors at
   the sampled BER, erasure outside lock (and in optical fades), the light time, plus
   the scenario's extra impairments;
3. decodes at the receiver (:class:`~comms.coding.CaduDecoder` on the delivered byte
   stream -> :class:`~comms.vc.MasterChannelReceiver`), checks every packet's content,
   and reports (:class:`EmulationReport`): frames sent, lost (outside lock, or in the
   channel), delivered, corrupted (Reed-Solomon corrected or uncorrectable), packets
   delivered intact, throughput, lock acquisition, and per-interval statistics.

Time here is scenario seconds since the search start; nothing waits, so a pass runs as
fast as numpy and the decoders go (virtual time in its simplest form). The same seed
gives the same report.

Several passes (:class:`MultiPassEmulator`): every whole pass of every satellite over
every station in the scenario's span (:func:`scenario_passes`), run one after another
in AOS order on the same scenario time, each as its own :class:`PassEmulator` with
randomness streams of its own; :class:`MultiPassReport` holds each pass's report and
the totals. With correlated clouds (optical) one cloud field covers every station for
the whole span (:func:`scenario_cloud_field`), so passes see a consistent sky.

Over sockets (:class:`EmulatedLink`): a UDP or TCP forwarder on an asyncio loop that
puts every datagram (or stream chunk) through a :class:`~links.impairments.Channel`
(the machine face: ``send``/``deliveries``/``next_deadline``, one ``call_at`` timer
re-armed at the next deadline), one channel each way. On
:class:`~links.clock.VirtualTimeEventLoop` the delays cost no wall time.
:meth:`PassEmulator.channel` gives a channel whose model is the pass (the downlink) and
:meth:`PassEmulator.uplink_channel` one for the uplink (``link.uplink``: its budget at
the uplink frequency, the spacecraft receiver's lock), so a forwarder can carry CADUs
down and CLTUs up through a real pass.

Bit errors are independent per bit at the sampled BER. Left out: the burstiness of a
Viterbi decoder's output errors (real RS(255,223)+conv links see bursts, which
interleaving spreads; independent errors are kinder to Reed-Solomon), bit slips, uplink
frames in process (the uplink is a channel for the socket forwarder; TC and COP-1 run
in :mod:`comms`), and one transmitter serving two stations at once (overlapping passes
run as separate links).
"""

from __future__ import annotations

import asyncio
import math
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import numpy.typing as npt

from comms.coding import CaduDecoder, CaduEncoder, CaduFrame, CaduParams, UncorrectableCodeblock
from comms.errors import UsageError
from comms.frames import TmParams
from comms.spp import SpacePacket
from comms.vc import FrameGap, MasterChannelReceiver, VcPacketSender
from links.ber import ber_bpsk
from links.budget import RfLink, link_budget
from links.doppler import CarrierLock, CarrierTracker, ground_doppler
from links.fading import CloudBlockage, CloudField, CloudProcess, CorrelatedClouds
from links.geometry import SPEED_OF_LIGHT_M_S, look_angles
from links.impairments import Channel, ChannelModel, GilbertElliott
from links.modcod import CONV_7_12, RS_CONV_I5, UNCODED, ModCod, Modulation, modcod_by_name
from links.optical import OpticalLink, OpticalSeries, photons_per_bit, slew_rate_rad_s
from links.orbit import Satellite
from links.passes import Pass, find_passes
from links.propagation import NoAtmosphere
from links.scenario import Scenario
from links.sso import sso_satellite
from links.stations import GroundStation
from links.times import Epoch, FloatArray

__all__ = [
    "EmulatedLink",
    "EmulationReport",
    "IntervalStats",
    "LinkTimeline",
    "MultiPassEmulator",
    "MultiPassReport",
    "PassEmulator",
    "build_satellite",
    "build_satellites",
    "build_station",
    "link_timeline",
    "scenario_cloud_field",
    "scenario_passes",
]

IntArray = npt.NDArray[np.int64]
BoolArray = npt.NDArray[np.bool_]

# Frames per Channel.process batch: large enough that numpy's per-call overhead is
# small (~3 % at 4096), small enough that a batch of 1279-octet CADUs stays in L2/L3.
DEFAULT_BATCH_FRAMES = 4096
# Idle filler octet of the test packets: a fixed, recognizable pattern after the
# 8-octet packet index, so every delivered packet can be checked octet for octet.
_FILL = 0xA5


def build_satellite(scenario: Scenario, name: str | None = None) -> Satellite:
    """A satellite of the scenario (SSO built at ``start``, or its TLE); default: the
    first (``scenario.satellite``)."""
    sat = scenario.satellite
    if name is not None:
        matches = [s for s in scenario.fleet if s.name == name]
        if not matches:
            raise UsageError(f"No satellite named {name!r} in this scenario.")
        sat = matches[0]
    if sat.tle is not None:
        return Satellite.from_tle(sat.tle[0], sat.tle[1], name=sat.name)
    assert sat.sso_altitude_km is not None
    return sso_satellite(
        sat.sso_altitude_km,
        sat.ltan_hours,
        scenario.start,
        arg_latitude_deg=sat.arg_latitude_deg,
        name=sat.name,
    )


def build_satellites(scenario: Scenario) -> list[Satellite]:
    """Every satellite of the scenario (``scenario.fleet``), in file order."""
    return [build_satellite(scenario, s.name) for s in scenario.fleet]


def build_station(scenario: Scenario, name: str | None = None) -> GroundStation:
    """A station of the scenario (default: the link's)."""
    cfg = scenario.station_config
    if name is not None:
        matches = [s for s in scenario.stations if s.name == name]
        if not matches:
            raise UsageError(f"No station named {name!r} in this scenario.")
        cfg = matches[0]
    return GroundStation(
        cfg.lat_deg,
        cfg.lon_deg,
        cfg.alt_m,
        name=cfg.name,
        min_elevation_deg=cfg.min_elevation_deg,
    )


def _end(scenario: Scenario) -> np.datetime64:
    start = Epoch.of(scenario.start).utc
    return start + np.timedelta64(round(scenario.hours * 3600e6), "us")


def scenario_passes(scenario: Scenario) -> list[Pass]:
    """All whole passes of every satellite over every station of the scenario, sorted
    by AOS (then satellite, then station, in file order)."""
    from links.passes import find_contacts

    sats = build_satellites(scenario)
    stations = [build_station(scenario, s.name) for s in scenario.stations]
    passes = find_contacts(sats, stations, Epoch.of(scenario.start).utc, _end(scenario))
    return [p for p in passes if not (p.aos_clipped or p.los_clipped)]


# --- the link along a pass -----------------------------------------------------------


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
    """Sample the scenario's link along its pass (see the module docstring, step 1).

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
            for p in find_passes(sat, sta, Epoch.of(scenario.start).utc, _end(scenario))
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


def scenario_cloud_field(scenario: Scenario) -> CloudField | None:
    """The clouds over every station for the whole span, correlated between stations
    (``link.optical.cloud_correlation_length_m`` > 0 on an optical link with
    0 < ``cloud_free_probability`` < 1; else None: each pass draws its own). Seeded
    from the scenario: every pass of a run, and a single-pass run, see the same sky."""
    oc = scenario.link.optical
    if (
        scenario.link.type != "optical"
        or oc.cloud_correlation_length_m == 0.0
        or not 0.0 < oc.cloud_free_probability < 1.0
    ):
        return None
    model = CorrelatedClouds(
        tuple((s.lat_deg, s.lon_deg) for s in scenario.stations),
        cloud_free_probability=oc.cloud_free_probability,
        mean_cloud_duration_s=oc.mean_cloud_duration_s,
        correlation_length_m=oc.cloud_correlation_length_m,
    )
    return model.sample_span(
        0.0, scenario.hours * 3600.0, np.random.default_rng([scenario.seed, 4])
    )


# --- the report ----------------------------------------------------------------------


@dataclass(frozen=True)
class IntervalStats:
    """Per-interval counts (arrays (K,)): interval k covers
    [``start_s[k]``, ``start_s[k]`` + width) of send times, seconds since AOS."""

    start_s: FloatArray
    sent: IntArray
    lost: IntArray
    delivered: IntArray
    corrupted: IntArray
    uncorrectable: IntArray
    packets_delivered: IntArray

    def to_dict(self) -> dict[str, list[float] | list[int]]:
        return {
            "start_s": [round(float(x), 3) for x in self.start_s],
            "sent": self.sent.tolist(),
            "lost": self.lost.tolist(),
            "delivered": self.delivered.tolist(),
            "corrupted": self.corrupted.tolist(),
            "uncorrectable": self.uncorrectable.tolist(),
            "packets_delivered": self.packets_delivered.tolist(),
        }


@dataclass(frozen=True)
class EmulationReport:
    """What one emulated pass delivered (see the module docstring).

    Frames are CADUs. ``frames_lost`` = ``frames_lost_unlocked`` (sent while the ground
    receiver had no carrier lock) + ``frames_lost_channel`` (erased by fades, bursts or
    erasures while locked). ``frames_corrupted`` arrived with bit errors: Reed-Solomon
    corrected ``frames_rs_corrected`` of them, ``frames_uncorrectable`` it could not;
    ``frames_fecf_failed`` failed the frame CRC after decoding. ``packets_damaged``
    arrived but differ from what was sent (RS miscorrection passing the FECF).
    ``throughput_bps`` is the packet octets delivered intact per second of pass.
    """

    scenario: str
    satellite: str
    station: str
    link_type: str
    seed: int
    aos_utc: str
    los_utc: str
    duration_s: float
    max_elevation_deg: float
    data_rate_bps: float
    link_rate_bps: float
    frames_sent: int
    frames_lost: int
    frames_lost_unlocked: int
    frames_lost_channel: int
    frames_delivered: int
    frames_corrupted: int
    frames_rs_corrected: int
    frames_uncorrectable: int
    frames_fecf_failed: int
    frames_decoded: int
    frame_gaps: int
    packets_sent: int
    packets_delivered: int
    packets_damaged: int
    throughput_bps: float
    lock_acquisition_s: float | None
    locked_s: float
    lock_losses: int
    bit_errors: int
    intervals: IntervalStats = field(repr=False)

    def to_dict(self, *, intervals: bool = True) -> dict[str, Any]:
        out: dict[str, Any] = {}
        for name in self.__dataclass_fields__:
            if name == "intervals":
                continue
            value = getattr(self, name)
            out[name] = round(value, 6) if isinstance(value, float) else value
        if intervals:
            out["intervals"] = self.intervals.to_dict()
        return out

    def summary(self) -> str:
        """A human-readable multi-line report."""

        def pct(n: int) -> str:
            return f"{100.0 * n / self.frames_sent:.2f} %" if self.frames_sent else "-"

        acq = (
            "never"
            if self.lock_acquisition_s is None
            else f"{self.lock_acquisition_s:.1f} s after AOS"
        )
        rate = "optical" if self.link_type == "optical" else "RF"
        return "\n".join(
            [
                f"{self.scenario}: {self.satellite} over {self.station} ({rate}, seed {self.seed})",
                f"  pass        AOS {self.aos_utc}  LOS {self.los_utc}  "
                f"{self.duration_s:.0f} s, max elevation {self.max_elevation_deg:.1f} deg",
                f"  rates       emulated {self.data_rate_bps / 1e6:g} Mbit/s, "
                f"link budget at {self.link_rate_bps / 1e6:g} Mbit/s",
                f"  lock        acquired {acq}, locked {self.locked_s:.1f} s, "
                f"{self.lock_losses} loss(es)",
                f"  frames      sent {self.frames_sent}, delivered {self.frames_delivered}, "
                f"lost {self.frames_lost} ({pct(self.frames_lost)}: "
                f"{self.frames_lost_unlocked} unlocked, {self.frames_lost_channel} channel)",
                f"  corrupted   {self.frames_corrupted} ({self.bit_errors} bit errors): "
                f"{self.frames_rs_corrected} RS-corrected, {self.frames_uncorrectable} "
                f"uncorrectable, {self.frames_fecf_failed} FECF failures",
                f"  decoded     {self.frames_decoded} frames, {self.frame_gaps} VC gap(s)",
                f"  packets     sent {self.packets_sent}, delivered intact "
                f"{self.packets_delivered}, damaged {self.packets_damaged}",
                f"  throughput  {self.throughput_bps / 1e6:.3f} Mbit/s of packets over the pass",
            ]
        )


# --- the emulator --------------------------------------------------------------------


class _Source:
    """Real CADUs from real Space Packets: packet k carries its index k in its first
    8 data octets and a fixed fill after, so the receiver can check every octet."""

    def __init__(self, scenario: Scenario) -> None:
        fr = scenario.frames
        self.tm = TmParams(fr.frame_length)
        self.sender = VcPacketSender(self.tm, fr.scid, fr.vcid)
        self.cadu = (
            CaduParams.shortened(
                fr.frame_length, rs_e=fr.rs_e, interleave=fr.interleave, randomize=fr.randomize
            )
            if fr.rs_e
            else CaduParams(fr.frame_length, randomize=fr.randomize, rs_e=None)
        )
        self.encoder = CaduEncoder(self.cadu)
        self.apid = fr.apid
        self.data_length = fr.packet_length - 6
        if self.data_length < 8:
            raise UsageError("frames.packet_length must be at least 14 (6 header + 8 index).")
        self.fill = bytes([_FILL]) * (self.data_length - 8)
        self.next_packet = 0
        self._frames: list[bytes] = []

    def cadus(self, n: int) -> npt.NDArray[np.uint8]:
        per = self.sender.data_length
        while len(self._frames) < n:
            need = (n - len(self._frames)) * per // (self.data_length + 6) + 2
            k0 = self.next_packet
            packets = [
                SpacePacket(
                    apid=self.apid,
                    data=k.to_bytes(8, "big") + self.fill,
                    sequence_count=k & 0x3FFF,
                )
                for k in range(k0, k0 + need)
            ]
            self.next_packet += need
            self._frames.extend(self.sender.add_packets(packets))
        out, self._frames = self._frames[:n], self._frames[n:]
        return self.encoder.encode_many(out)


class _Sink:
    """The ground receiver: CADU stream -> frames -> packets, with content checks."""

    def __init__(self, scenario: Scenario, source: _Source) -> None:
        fr = scenario.frames
        self.decoder = CaduDecoder(source.cadu)
        self.receiver = MasterChannelReceiver(source.tm, fr.scid, vcids=[fr.vcid])
        self.cadu_bits = 8 * source.cadu.cadu_length
        self.fill = source.fill
        self.apid = source.apid
        self.seen: set[int] = set()
        self.damaged = 0
        self.gaps = 0

    def feed(
        self, rows: npt.NDArray[np.uint8], *, final: bool = False
    ) -> tuple[IntArray, IntArray, list[int]]:
        """Decode delivered CADUs (``final``: and the end of the stream); returns the
        delivery indices (since the start) of the CADUs Reed-Solomon corrected and of
        those it could not, and the indices of packets first delivered intact."""
        events = self.decoder.feed(rows.tobytes()) if rows.size else []
        if final:
            events += self.decoder.close()
        good: list[bytes] = []
        fixed: list[int] = []
        failed: list[int] = []
        bits = self.cadu_bits
        for ev in events:
            if isinstance(ev, CaduFrame):
                good.append(ev.data)
                if ev.corrected:
                    fixed.append(ev.bit_offset // bits)
            elif isinstance(ev, UncorrectableCodeblock):
                failed.append(ev.bit_offset // bits)
        rx = self.receiver
        if good:
            rx.receive_many(b"".join(good))
        self.gaps += sum(isinstance(e, FrameGap) for e in rx.events())
        fresh: list[int] = []
        apid, fill, seen = self.apid, self.fill, self.seen
        for p in rx.packets():
            data = p.data
            if not isinstance(p, SpacePacket) or p.apid != apid or data[8:] != fill:
                self.damaged += 1
                continue
            k = int.from_bytes(data[:8], "big")
            if (k & 0x3FFF) != p.sequence_count:
                self.damaged += 1
            elif k not in seen:
                seen.add(k)
                fresh.append(k)
        return np.asarray(fixed, dtype=np.int64), np.asarray(failed, dtype=np.int64), fresh


class PassEmulator:
    """One scenario's pass, emulated in process (see the module docstring).

    ``timeline`` is the sampled link; :meth:`run` moves the frames and returns the
    report; :meth:`channel` builds a fresh :class:`Channel` on the pass for other
    drivers (the socket forwarder), :meth:`uplink_channel` one for the uplink. Seeds:
    the channel, the fades and nothing else draw randomness, each from its own stream
    of ``scenario.seed``.

    By default the pass is ``link.pass_index`` over ``link.station``; ``contact`` runs
    another (a :class:`~links.passes.Pass` of :func:`scenario_passes`), ``stream``
    gives its randomness streams of their own, and ``cloud_field`` shares one
    correlated sky between passes (:func:`scenario_cloud_field`).
    """

    def __init__(
        self,
        scenario: Scenario,
        *,
        batch_frames: int = DEFAULT_BATCH_FRAMES,
        contact: Pass | None = None,
        stream: int = 0,
        cloud_field: CloudField | None = None,
    ) -> None:
        if batch_frames < 1:
            raise UsageError(f"batch_frames must be >= 1, got {batch_frames}.")
        if stream < 0:
            raise UsageError(f"stream must be >= 0, got {stream}.")
        self.scenario = scenario
        self.batch_frames = batch_frames
        # stream 0 keeps the seeds of a single-pass run; pass k of a schedule uses k + 1
        self._seed: list[int] = [scenario.seed] if stream == 0 else [scenario.seed, 1000 + stream]
        if contact is None:
            self.satellite = build_satellite(scenario)
            self.station = build_station(scenario)
        else:
            self.satellite = build_satellite(scenario, contact.satellite)
            self.station = build_station(scenario, contact.station)
        if cloud_field is None:
            cloud_field = scenario_cloud_field(scenario)
        clouds = None
        if cloud_field is not None:
            names = [st.name for st in scenario.stations]
            clouds = cloud_field.station(names.index(self.station.name))
        self.timeline = link_timeline(
            scenario,
            satellite=self.satellite,
            station=self.station,
            contact=contact,
            rng=np.random.default_rng([*self._seed, 1]),
            clouds=clouds,
        )
        self._uplink: LinkTimeline | None = None
        self._source_probe = _Source(scenario)
        self.cadu_length = self._source_probe.cadu.cadu_length
        self.frame_duration_s = 8.0 * self.cadu_length / scenario.link.data_rate_bps

    @property
    def link_rate_bps(self) -> float:
        link = self.scenario.link
        return link.optical.link_rate_bps if link.type == "optical" else link.rf.link_rate_bps

    def channel_model(self) -> ChannelModel:
        """The pass as a :class:`ChannelModel` on scenario time (seconds since the
        search start): BER and light time interpolated from the timeline, frames
        erased outside [AOS, LOS], out of lock and (optical) in fades."""
        tl = self.timeline
        ch = self.scenario.channel
        t_s, lt = tl.t_s, tl.light_time_s
        aos, los = tl.contact.aos_s, tl.contact.los_s
        series = tl.optical
        if series is None:
            log_ber = np.log10(np.maximum(tl.ber, 1e-30))

            def ber(t: FloatArray) -> FloatArray:
                return np.asarray(10.0 ** np.interp(t, t_s, log_ber))

            def erased(t: FloatArray) -> BoolArray:
                return ~tl.locked_at(t) | (t < aos) | (t > los)

        else:
            detector = OpticalLink().detector
            oc = self.scenario.link.optical
            st, pw = series.t_s, series.power_w
            threshold = tl.optical_threshold_w

            def ber(t: FloatArray) -> FloatArray:
                n = photons_per_bit(np.interp(t, st, pw), oc.link_rate_bps, oc.wavelength_m)
                return np.asarray(np.minimum(detector.ber(n), 0.5))

            def erased(t: FloatArray) -> BoolArray:
                faded = np.interp(t, st, pw) < threshold
                return ~tl.locked_at(t) | (t < aos) | (t > los) | faded

        burst = (
            GilbertElliott.from_loss(ch.burst_loss_rate, ch.burst_length)
            if ch.burst_loss_rate > 0.0
            else None
        )
        return ChannelModel(
            ber=ber,
            burst=burst,
            erasure_probability=ch.erasure_probability,
            erasure_mask=erased,
            delay_s=ch.delay_s,
            light_time_s=lambda t: np.interp(t, t_s, lt),
            duplicate_probability=ch.duplicate_probability,
            reorder_probability=ch.reorder_probability,
            reorder_delay_s=ch.reorder_delay_s,
        )

    def channel(self, rng: np.random.Generator | None = None) -> Channel:
        """A fresh channel on :meth:`channel_model` (default: seeded from the scenario)."""
        gen = np.random.default_rng([*self._seed, 2]) if rng is None else rng
        return Channel(self.channel_model(), gen)

    @property
    def uplink_timeline(self) -> LinkTimeline:
        """The uplink sampled along the same pass (``link.uplink``; computed once)."""
        if self._uplink is None:
            self._uplink = link_timeline(
                self.scenario,
                satellite=self.satellite,
                station=self.station,
                contact=self.timeline.contact,
                uplink=True,
            )
        return self._uplink

    def uplink_channel_model(self) -> ChannelModel:
        """The uplink of the pass as a :class:`ChannelModel` on scenario time: the BER of
        uncoded BPSK at the uplink budget's Eb/N0, frames erased outside [AOS, LOS] and
        while the spacecraft receiver has no lock, the light time. The ``[channel]``
        extras describe the downlink and are not applied."""
        tl = self.uplink_timeline
        t_s, lt = tl.t_s, tl.light_time_s
        aos, los = tl.contact.aos_s, tl.contact.los_s
        log_ber = np.log10(np.maximum(tl.ber, 1e-30))

        def ber(t: FloatArray) -> FloatArray:
            return np.asarray(10.0 ** np.interp(t, t_s, log_ber))

        def erased(t: FloatArray) -> BoolArray:
            return ~tl.locked_at(t) | (t < aos) | (t > los)

        return ChannelModel(
            ber=ber, erasure_mask=erased, light_time_s=lambda t: np.interp(t, t_s, lt)
        )

    def uplink_channel(self, rng: np.random.Generator | None = None) -> Channel:
        """A fresh channel on :meth:`uplink_channel_model` (default: seeded from the
        scenario, a stream of its own), for :class:`EmulatedLink`'s reverse direction."""
        gen = np.random.default_rng([*self._seed, 3]) if rng is None else rng
        return Channel(self.uplink_channel_model(), gen)

    def send_times(self) -> FloatArray:
        """When each frame goes out: back to back at the data rate, AOS to LOS."""
        c = self.timeline.contact
        n = int((c.los_s - c.aos_s) / self.frame_duration_s)
        return c.aos_s + self.frame_duration_s * np.arange(n, dtype=np.float64)

    def run(self, progress: Callable[[float], None] | None = None) -> EmulationReport:
        """Emulate the pass; ``progress(fraction)`` is called after every batch."""
        scenario = self.scenario
        tl = self.timeline
        contact = tl.contact
        source = _Source(scenario)
        sink = _Sink(scenario, source)
        channel = self.channel()
        send = self.send_times()
        n = send.size
        width = scenario.link.interval_s
        bins = max(1, math.ceil(contact.duration_s / width))
        interval = np.minimum(((send - contact.aos_s) // width).astype(np.int64), bins - 1)
        lost = np.zeros(n, dtype=bool)
        delivered = np.zeros(bins, dtype=np.int64)
        corrupted = np.zeros(bins, dtype=np.int64)
        uncorrectable = np.zeros(bins, dtype=np.int64)
        pk_bins = np.zeros(bins, dtype=np.int64)
        n_corrupted = n_fixed = n_failed = n_delivered = bits = 0
        per_packet_frames = (scenario.frames.packet_length) / source.sender.data_length
        # source index of every delivery, in delivery (= stream) order
        delivered_src: list[IntArray] = []
        empty = np.empty((0, self.cadu_length), dtype=np.uint8)
        for first in range(0, max(n, 1), self.batch_frames):
            last = min(n, first + self.batch_frames)
            if last > first:
                rows = source.cadus(last - first)
                batch = channel.process(rows, send[first:last])
                lost[first + batch.lost_index] = True
                src = first + batch.source_index
                frames = batch.frames
                assert isinstance(frames, np.ndarray)
                hit = batch.bit_errors > 0
                delivered_src.append(src)
                n_delivered += src.size
                n_corrupted += int(np.count_nonzero(hit))
                bits += int(batch.bit_errors.sum())
                np.add.at(delivered, interval[src], 1)
                np.add.at(corrupted, interval[src[hit]], 1)
            else:
                frames = empty
            fixed, failed, fresh = sink.feed(frames, final=last >= n)
            n_fixed += fixed.size
            n_failed += failed.size
            if failed.size:
                all_src = np.concatenate(delivered_src)
                np.add.at(uncorrectable, interval[all_src[np.minimum(failed, all_src.size - 1)]], 1)
            if fresh:
                # a packet counts in the interval of the frame that completed it
                ends = np.minimum(
                    ((np.asarray(fresh) + 1) * per_packet_frames).astype(np.int64), n - 1
                )
                np.add.at(pk_bins, interval[ends], 1)
            if progress is not None:
                progress(last / n if n else 1.0)
        unlocked = lost & ~tl.locked_at(send)
        n_lost = int(np.count_nonzero(lost))
        n_unlocked = int(np.count_nonzero(unlocked))
        data_length = source.sender.data_length
        packets_sent = n * data_length // scenario.frames.packet_length
        packets_ok = len(sink.seen)
        counters = sink.receiver.counters
        first_lock = tl.lock.first_lock_s
        epoch = contact.epoch
        return EmulationReport(
            scenario=scenario.name,
            satellite=contact.satellite,
            station=contact.station,
            link_type=scenario.link.type,
            seed=scenario.seed,
            aos_utc=f"{contact.aos:%Y-%m-%dT%H:%M:%S}Z",
            los_utc=f"{epoch.datetime(contact.los_s):%Y-%m-%dT%H:%M:%S}Z",
            duration_s=contact.duration_s,
            max_elevation_deg=contact.max_elevation_deg,
            data_rate_bps=scenario.link.data_rate_bps,
            link_rate_bps=self.link_rate_bps,
            frames_sent=n,
            frames_lost=n_lost,
            frames_lost_unlocked=n_unlocked,
            frames_lost_channel=n_lost - n_unlocked,
            frames_delivered=n_delivered,
            frames_corrupted=n_corrupted,
            frames_rs_corrected=n_fixed,
            frames_uncorrectable=n_failed,
            frames_fecf_failed=counters.crc_failures,
            frames_decoded=sink.decoder.counters.frames,
            frame_gaps=sink.gaps,
            packets_sent=packets_sent,
            packets_delivered=packets_ok,
            packets_damaged=sink.damaged,
            throughput_bps=8.0 * packets_ok * scenario.frames.packet_length / contact.duration_s
            if contact.duration_s > 0
            else 0.0,
            lock_acquisition_s=None if first_lock is None else first_lock - contact.aos_s,
            locked_s=tl.lock.locked_time_s,
            lock_losses=tl.lock.losses,
            bit_errors=bits,
            intervals=IntervalStats(
                start_s=width * np.arange(bins, dtype=np.float64),
                sent=np.bincount(interval, minlength=bins).astype(np.int64),
                lost=np.bincount(interval[lost], minlength=bins).astype(np.int64),
                delivered=delivered,
                corrupted=corrupted,
                uncorrectable=uncorrectable,
                packets_delivered=pk_bins,
            ),
        )


# --- several passes ------------------------------------------------------------------

# Totals a multi-pass report sums over its passes (EmulationReport field names).
_TOTALS = (
    "frames_sent",
    "frames_lost",
    "frames_lost_unlocked",
    "frames_lost_channel",
    "frames_delivered",
    "frames_corrupted",
    "frames_rs_corrected",
    "frames_uncorrectable",
    "frames_fecf_failed",
    "frames_decoded",
    "frame_gaps",
    "packets_sent",
    "packets_delivered",
    "packets_damaged",
    "lock_losses",
    "bit_errors",
)


@dataclass(frozen=True)
class MultiPassReport:
    """Every pass of a span, in AOS order, and the totals.

    ``passes[k]`` is pass k's :class:`EmulationReport`; ``aos_s[k]`` its AOS in seconds
    since the scenario start. ``totals`` sums the frame, packet, lock-loss and bit-error
    counts over the passes; ``contact_s`` is the summed pass time and ``locked_s`` the
    summed lock time; ``throughput_bps`` is the intact packet bits per second of
    contact; ``overlapping`` counts passes that begin before an earlier pass of the
    same satellite ended (its transmitter would serve two stations at once: each pass
    runs as its own link here).
    """

    scenario: str
    seed: int
    passes: tuple[EmulationReport, ...]
    aos_s: tuple[float, ...]
    totals: dict[str, int]
    contact_s: float
    locked_s: float
    overlapping: int

    @property
    def throughput_bps(self) -> float:
        bits = sum(r.throughput_bps * r.duration_s for r in self.passes)
        return bits / self.contact_s if self.contact_s > 0 else 0.0

    def to_dict(self, *, intervals: bool = False) -> dict[str, Any]:
        return {
            "scenario": self.scenario,
            "seed": self.seed,
            "passes": [r.to_dict(intervals=intervals) for r in self.passes],
            "aos_s": [round(a, 3) for a in self.aos_s],
            "totals": dict(self.totals),
            "contact_s": round(self.contact_s, 6),
            "locked_s": round(self.locked_s, 6),
            "throughput_bps": round(self.throughput_bps, 6),
            "overlapping": self.overlapping,
        }

    def summary(self) -> str:
        """One line per pass, then the totals."""
        t = self.totals
        lines = [
            f"{self.scenario}: {len(self.passes)} pass(es), seed {self.seed}",
            "   #  satellite     station       AOS (UTC)             dur s  max el"
            "      sent  delivered     lost  corrupted  packets ok",
        ]
        for k, r in enumerate(self.passes):
            lines.append(
                f"{k:4d}  {r.satellite[:12]:<12}  {r.station[:12]:<12}  {r.aos_utc:<20}"
                f"  {r.duration_s:5.0f}  {r.max_elevation_deg:6.1f}  {r.frames_sent:8d}"
                f"  {r.frames_delivered:9d}  {r.frames_lost:7d}  {r.frames_corrupted:9d}"
                f"  {r.packets_delivered:10d}"
            )
        sent = t.get("frames_sent", 0)
        lost = t.get("frames_lost", 0)
        pct = f"{100.0 * lost / sent:.2f} %" if sent else "-"
        lines += [
            f"  total       contact {self.contact_s:.0f} s, locked {self.locked_s:.0f} s, "
            f"{self.overlapping} overlapping pass(es)",
            f"  frames      sent {sent}, delivered {t.get('frames_delivered', 0)}, lost {lost} "
            f"({pct}: {t.get('frames_lost_unlocked', 0)} unlocked, "
            f"{t.get('frames_lost_channel', 0)} channel)",
            f"  corrupted   {t.get('frames_corrupted', 0)}: {t.get('frames_rs_corrected', 0)} "
            f"RS-corrected, {t.get('frames_uncorrectable', 0)} uncorrectable",
            f"  packets     sent {t.get('packets_sent', 0)}, delivered intact "
            f"{t.get('packets_delivered', 0)}, damaged {t.get('packets_damaged', 0)}",
            f"  throughput  {self.throughput_bps / 1e6:.3f} Mbit/s of packets per second of "
            "contact",
        ]
        return "\n".join(lines)


class MultiPassEmulator:
    """Every whole pass of every satellite over every station of the scenario's span,
    emulated one after another in AOS order on scenario time (see the module docstring).

    ``contacts`` lists the passes (:func:`scenario_passes`). Pass k runs as a
    :class:`PassEmulator` with ``stream=k + 1``: its channel and fades draw from their
    own seeded streams, so the whole run is reproducible and passes are independent.
    Each pass's emulator is built when its turn comes and dropped after, so memory
    stays that of one pass (an optical pass holds its fade series).
    """

    def __init__(self, scenario: Scenario, *, batch_frames: int = DEFAULT_BATCH_FRAMES) -> None:
        if batch_frames < 1:
            raise UsageError(f"batch_frames must be >= 1, got {batch_frames}.")
        self.scenario = scenario
        self.batch_frames = batch_frames
        self.contacts = scenario_passes(scenario)
        if not self.contacts:
            raise UsageError(
                f"No whole pass of {', '.join(s.name for s in scenario.fleet)} over "
                f"{', '.join(s.name for s in scenario.stations)} in the {scenario.hours:g} h "
                f"from {scenario.start}; raise hours or lower the stations' "
                "min_elevation_deg."
            )
        cadu_length = _Source(scenario).cadu.cadu_length
        self.frame_duration_s = 8.0 * cadu_length / scenario.link.data_rate_bps
        self.cloud_field = scenario_cloud_field(scenario)

    def frames_per_pass(self) -> list[int]:
        """How many frames each pass sends (AOS to LOS, back to back)."""
        return [int(c.duration_s / self.frame_duration_s) for c in self.contacts]

    def emulator(self, index: int) -> PassEmulator:
        """The :class:`PassEmulator` of pass ``index`` (seeded as :meth:`run` seeds it)."""
        return PassEmulator(
            self.scenario,
            batch_frames=self.batch_frames,
            contact=self.contacts[index],
            stream=index + 1,
            cloud_field=self.cloud_field,
        )

    def run(
        self,
        progress: Callable[[float], None] | None = None,
        *,
        on_pass: Callable[[int, Pass], None] | None = None,
    ) -> MultiPassReport:
        """Emulate every pass in order. ``on_pass(k, contact)`` is called as pass k
        starts; ``progress(fraction)`` after every batch, over the frames of all passes."""
        counts = self.frames_per_pass()
        total = max(sum(counts), 1)
        done = 0
        reports: list[EmulationReport] = []
        for k, contact in enumerate(self.contacts):
            if on_pass is not None:
                on_pass(k, contact)
            emu = self.emulator(k)
            inner = None
            if progress is not None:
                n_k, base = counts[k], done

                def inner(f: float, n_k: int = n_k, base: int = base) -> None:
                    progress((base + f * n_k) / total)

            reports.append(emu.run(inner))
            done += counts[k]
        totals = {name: sum(int(getattr(r, name)) for r in reports) for name in _TOTALS}
        last_los: dict[str, float] = {}
        overlapping = 0
        for c in self.contacts:
            if c.aos_s < last_los.get(c.satellite, -math.inf):
                overlapping += 1
            last_los[c.satellite] = max(c.los_s, last_los.get(c.satellite, -math.inf))
        return MultiPassReport(
            scenario=self.scenario.name,
            seed=self.scenario.seed,
            passes=tuple(reports),
            aos_s=tuple(c.aos_s for c in self.contacts),
            totals=totals,
            contact_s=sum(c.duration_s for c in self.contacts),
            locked_s=sum(r.locked_s for r in reports),
            overlapping=overlapping,
        )


# --- over sockets --------------------------------------------------------------------


class _Forwarder:
    """One direction of an emulated link: payloads in, through the channel, out."""

    def __init__(
        self,
        channel: Channel,
        loop: asyncio.AbstractEventLoop,
        deliver: Callable[[bytes], None],
        time_offset_s: float,
    ) -> None:
        self.channel = channel
        self.loop = loop
        self.deliver = deliver
        self.t0 = loop.time() - time_offset_s
        self.timer: asyncio.TimerHandle | None = None
        self.timer_at = math.inf

    def now(self) -> float:
        return self.loop.time() - self.t0

    def send(self, payload: bytes) -> None:
        self.channel.send(payload, self.now())
        self.on_timer()

    def on_timer(self) -> None:
        self.timer, self.timer_at = None, math.inf
        for _, payload in self.channel.deliveries(self.now()):
            self.deliver(payload)
        deadline = self.channel.next_deadline()
        if deadline is not None:
            # one timer, re-armed at the channel's next deadline
            self.timer = self.loop.call_at(deadline + self.t0, self.on_timer)
            self.timer_at = deadline

    async def drain(self) -> None:
        """Wait (on the loop's clock) until nothing is in flight."""
        while self.timer is not None:
            await asyncio.sleep(max(0.0, self.timer_at - self.now()))

    def close(self) -> None:
        if self.timer is not None:
            self.timer.cancel()
            self.timer = None


class _UdpIn(asyncio.DatagramProtocol):
    def __init__(self, link: EmulatedLink) -> None:
        self.link = link

    def datagram_received(self, data: bytes, addr: tuple[str | Any, int]) -> None:
        self.link._from_client(data, addr)


class _UdpFromTarget(asyncio.DatagramProtocol):
    def __init__(self, link: EmulatedLink) -> None:
        self.link = link

    def datagram_received(self, data: bytes, addr: tuple[str | Any, int]) -> None:
        self.link._from_target(data)


class EmulatedLink:
    """UDP and TCP forwarders between local endpoints through a :class:`Channel` each way.

    ``channel`` impairs the forward direction (client -> target: the downlink, CADUs
    from the spacecraft side to the ground); ``reverse_channel``, when given, the
    reverse one (target -> client: the uplink, e.g. CLTUs from the ground, on
    :meth:`PassEmulator.uplink_channel`). Without it the reverse direction passes
    unimpaired. Both channels' time is ``loop.time()`` less the time the link (UDP) or
    the connection (TCP) started, plus ``time_offset_s`` (e.g. a little before a pass's
    AOS for :meth:`PassEmulator.channel`).

    UDP: datagrams to the listening address go to ``target`` from a second socket
    (:attr:`udp_target_side_address`); datagrams the target sends to that socket go
    back to the client, which is the address the last forward datagram came from, or
    ``peer`` given to :meth:`start_udp` (so the ground can send before the spacecraft
    side has). For TCP every chunk read is one "frame" of the channel: a lost chunk
    leaves a hole in the stream (as a ground station's TCP feed of a CADU stream shows
    lost frames), which a frame synchronizer downstream copes with.
    """

    def __init__(
        self,
        channel: Channel,
        *,
        time_offset_s: float = 0.0,
        reverse_channel: Channel | None = None,
    ) -> None:
        self.channel = channel
        self.reverse_channel = reverse_channel
        self.time_offset_s = time_offset_s
        self._udp: asyncio.DatagramTransport | None = None
        self._out: asyncio.DatagramTransport | None = None
        self._reply: dict[Any, asyncio.DatagramTransport] = {}
        self._target: tuple[str, int] | None = None
        self._client: Any = None
        self._forward: _Forwarder | None = None
        self._reverse: _Forwarder | None = None
        self._server: asyncio.Server | None = None
        self._tasks: set[asyncio.Task[None]] = set()
        self._forwarders: list[_Forwarder] = []
        self.reverse_undeliverable = 0

    @property
    def stats(self) -> Any:
        return self.channel.stats

    @property
    def reverse_stats(self) -> Any:
        """The reverse channel's statistics (None when the reverse is unimpaired)."""
        return None if self.reverse_channel is None else self.reverse_channel.stats

    @property
    def udp_target_side_address(self) -> tuple[str, int]:
        """The local address forward datagrams leave from: the target sends its own
        datagrams (the reverse direction) here."""
        if self._out is None:
            raise UsageError("Call start_udp() before asking for its addresses.")
        addr: tuple[str, int] = self._out.get_extra_info("sockname")[:2]
        return addr

    async def start_udp(
        self,
        target: tuple[str, int],
        listen: tuple[str, int] = ("127.0.0.1", 0),
        *,
        peer: tuple[str, int] | None = None,
    ) -> tuple[str, int]:
        """Listen for datagrams on ``listen`` and forward them to ``target``; datagrams
        from ``target`` go back to the client (``peer`` until one has written). Returns
        the bound listening address."""
        loop = asyncio.get_running_loop()
        self._target = target
        self._client = peer
        transport, _ = await loop.create_datagram_endpoint(lambda: _UdpIn(self), local_addr=listen)
        self._udp = transport
        out, _ = await loop.create_datagram_endpoint(
            lambda: _UdpFromTarget(self), remote_addr=target
        )
        self._out = out
        self._forward = _Forwarder(self.channel, loop, out.sendto, self.time_offset_s)
        self._forwarders.append(self._forward)
        if self.reverse_channel is not None:
            self._reverse = _Forwarder(
                self.reverse_channel, loop, self._to_client, self.time_offset_s
            )
            # both directions on one time base
            self._reverse.t0 = self._forward.t0
            self._forwarders.append(self._reverse)
        addr: tuple[str, int] = transport.get_extra_info("sockname")[:2]
        return addr

    def _from_client(self, data: bytes, addr: Any) -> None:
        assert self._forward is not None
        self._client = addr
        self._forward.send(data)

    def _from_target(self, data: bytes) -> None:
        if self._reverse is not None:
            self._reverse.send(data)
        else:
            self._to_client(data)

    def _to_client(self, data: bytes) -> None:
        if self._client is None or self._udp is None:
            # nobody to send to yet: a spacecraft side that has not spoken
            self.reverse_undeliverable += 1
            return
        self._udp.sendto(data, self._client)

    async def start_tcp(
        self, target: tuple[str, int], listen: tuple[str, int] = ("127.0.0.1", 0)
    ) -> tuple[str, int]:
        """Accept TCP connections on ``listen``; each is forwarded to a new connection
        to ``target``. Returns the bound address."""
        loop = asyncio.get_running_loop()

        async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
            up_reader, up_writer = await asyncio.open_connection(*target)
            fwd = _Forwarder(self.channel, loop, up_writer.write, self.time_offset_s)
            self._forwarders.append(fwd)
            rev: _Forwarder | None = None
            if self.reverse_channel is not None:
                rev = _Forwarder(self.reverse_channel, loop, writer.write, self.time_offset_s)
                rev.t0 = fwd.t0
                self._forwarders.append(rev)

            async def replies() -> None:
                while chunk := await up_reader.read(65536):
                    if rev is None:
                        writer.write(chunk)
                        await writer.drain()
                    else:
                        rev.send(chunk)
                if rev is not None:
                    await rev.drain()

            back = loop.create_task(replies())
            try:
                while chunk := await reader.read(65536):
                    fwd.send(chunk)
                # let the frames in flight arrive before closing the far end
                await fwd.drain()
                if up_writer.can_write_eof():
                    up_writer.write_eof()
                await back
            finally:
                back.cancel()
                fwd.close()
                if rev is not None:
                    rev.close()
                up_writer.close()
                writer.close()

        def spawn(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
            task = loop.create_task(handle(reader, writer))
            self._tasks.add(task)
            task.add_done_callback(self._tasks.discard)

        self._server = await asyncio.start_server(spawn, *listen)
        addr: tuple[str, int] = self._server.sockets[0].getsockname()[:2]
        return addr

    async def aclose(self) -> None:
        """Stop forwarding: close the sockets and drop what is still in flight."""
        for fwd in self._forwarders:
            fwd.close()
        if self._udp is not None:
            self._udp.close()
        if self._out is not None:
            self._out.close()
        if self._server is not None:
            self._server.close()
            await self._server.wait_closed()
        for task in list(self._tasks):
            task.cancel()
        if self._tasks:
            await asyncio.gather(*self._tasks, return_exceptions=True)
