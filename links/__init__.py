"""dawnlink links: the link simulator (orbits, contacts, Doppler, channels, emulator).

- geometry: :class:`Satellite` (SGP4), :class:`GroundStation`, :func:`find_passes` /
  :func:`find_contacts` (contact windows), sun-synchronous builders, look angles;
- Doppler: shift, rate, residual after pre-compensation, carrier lock;
- RF: free-space loss, BER, the link budget (:func:`link_budget`, ITU-R propagation
  through itur, imported only when used), CCSDS code tables and ACM;
- optical: :class:`OpticalLink` (beam, pointing, turbulence, clouds, detection);
- emulation: :class:`PassEmulator` runs a scenario (TOML) through a pass;
  :class:`EmulatedLink` forwards UDP/TCP through a channel;
- impairments: :class:`Channel` (bit errors, Gilbert-Elliott bursts, delay, rate,
  duplication, reordering), seeded and reproducible.

Times are UTC, passed in explicitly (:class:`Epoch`); nothing here reads the wall clock
except :mod:`links.clock`, the real-time adapter.
"""

from links.ber import ber_8psk, ber_bpsk, ber_qpsk, q_function
from links.budget import LinkBudget, RfLink, link_budget, slant_range_from_elevation_m
from links.clock import (
    Clock,
    RealClock,
    VirtualClock,
    VirtualTimeEventLoop,
    new_virtual_event_loop,
    run_virtual,
)
from links.contact_plan import passes_to_csv, passes_to_ion, passes_to_json, passes_to_rows
from links.doppler import (
    CarrierLock,
    CarrierTracker,
    Doppler,
    DopplerProfile,
    ResidualDoppler,
    doppler_rate_hz_s,
    doppler_shift_hz,
    ground_doppler,
    isl_doppler,
    pass_doppler,
    residual_doppler,
)
from links.emulator import EmulatedLink, EmulationReport, LinkTimeline, PassEmulator, link_timeline
from links.geometry import (
    SPEED_OF_LIGHT_M_S,
    LookAngles,
    light_time_s,
    line_of_sight,
    look_angles,
    slant_range_m,
)
from links.impairments import Batch, Channel, ChannelModel, DeliveryFlag, GilbertElliott
from links.modcod import STANDARD_MODCODS, CodePerformance, ModCod, Modulation, select_modcods
from links.optical import OpticalDetector, OpticalLink
from links.orbit import ACCELERATED, Satellite, propagate_teme
from links.passes import Pass, coarse_step_s, find_contacts, find_passes
from links.pathloss import fspl_db, wavelength_to_frequency_hz
from links.propagation import AtmosphereTable, NoAtmosphere, RainFadeModel, ScintillationModel
from links.scenario import Scenario, load_scenario, parse_scenario, scenario_to_toml
from links.sso import sso_constellation, sso_inclination_deg, sso_satellite
from links.stations import GroundStation
from links.sun import illumination, sun_position_teme, sun_ra_dec_deg
from links.times import Epoch

__all__ = [
    "ACCELERATED",
    "SPEED_OF_LIGHT_M_S",
    "STANDARD_MODCODS",
    "AtmosphereTable",
    "Batch",
    "CarrierLock",
    "CarrierTracker",
    "Channel",
    "ChannelModel",
    "Clock",
    "CodePerformance",
    "DeliveryFlag",
    "Doppler",
    "DopplerProfile",
    "EmulatedLink",
    "EmulationReport",
    "Epoch",
    "GilbertElliott",
    "GroundStation",
    "LinkBudget",
    "LinkTimeline",
    "LookAngles",
    "ModCod",
    "Modulation",
    "NoAtmosphere",
    "OpticalDetector",
    "OpticalLink",
    "Pass",
    "PassEmulator",
    "RainFadeModel",
    "RealClock",
    "ResidualDoppler",
    "RfLink",
    "Satellite",
    "Scenario",
    "ScintillationModel",
    "VirtualClock",
    "VirtualTimeEventLoop",
    "ber_8psk",
    "ber_bpsk",
    "ber_qpsk",
    "coarse_step_s",
    "doppler_rate_hz_s",
    "doppler_shift_hz",
    "find_contacts",
    "find_passes",
    "fspl_db",
    "ground_doppler",
    "illumination",
    "isl_doppler",
    "light_time_s",
    "line_of_sight",
    "link_budget",
    "link_timeline",
    "load_scenario",
    "look_angles",
    "new_virtual_event_loop",
    "parse_scenario",
    "pass_doppler",
    "passes_to_csv",
    "passes_to_ion",
    "passes_to_json",
    "passes_to_rows",
    "propagate_teme",
    "q_function",
    "residual_doppler",
    "run_virtual",
    "scenario_to_toml",
    "select_modcods",
    "slant_range_from_elevation_m",
    "slant_range_m",
    "sso_constellation",
    "sso_inclination_deg",
    "sso_satellite",
    "sun_position_teme",
    "sun_ra_dec_deg",
    "wavelength_to_frequency_hz",
]
