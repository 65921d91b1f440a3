"""dawnlink links: the link simulator (orbits, contacts, Doppler, channels, emulator).

Geometry layer (this package's first part): :class:`Satellite` (SGP4),
:class:`GroundStation`, :func:`find_passes` / :func:`find_contacts` (contact windows),
sun-synchronous builders, look angles, Doppler (shift, rate, residual after
pre-compensation, carrier lock), free-space loss and uncoded BER. Times are UTC,
passed in explicitly (:class:`Epoch`); nothing here reads the wall clock.
"""

from links.ber import ber_8psk, ber_bpsk, ber_qpsk, q_function
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
from links.geometry import (
    SPEED_OF_LIGHT_M_S,
    LookAngles,
    light_time_s,
    line_of_sight,
    look_angles,
    slant_range_m,
)
from links.orbit import ACCELERATED, Satellite, propagate_teme
from links.passes import Pass, coarse_step_s, find_contacts, find_passes
from links.pathloss import fspl_db, wavelength_to_frequency_hz
from links.sso import sso_constellation, sso_inclination_deg, sso_satellite
from links.stations import GroundStation
from links.sun import illumination, sun_position_teme, sun_ra_dec_deg
from links.times import Epoch

__all__ = [
    "ACCELERATED",
    "SPEED_OF_LIGHT_M_S",
    "CarrierLock",
    "CarrierTracker",
    "Doppler",
    "DopplerProfile",
    "Epoch",
    "GroundStation",
    "LookAngles",
    "Pass",
    "ResidualDoppler",
    "Satellite",
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
    "look_angles",
    "pass_doppler",
    "passes_to_csv",
    "passes_to_ion",
    "passes_to_json",
    "passes_to_rows",
    "propagate_teme",
    "q_function",
    "residual_doppler",
    "slant_range_m",
    "sso_constellation",
    "sso_inclination_deg",
    "sso_satellite",
    "sun_position_teme",
    "sun_ra_dec_deg",
    "wavelength_to_frequency_hz",
]
