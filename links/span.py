"""A scenario's span made concrete: its satellites, stations, whole passes and sky.

:class:`~links.scenario.Scenario` holds configuration; these build the objects the
emulator runs on: :class:`~links.orbit.Satellite` (an SSO built at ``start``, or a TLE)
and :class:`~links.stations.GroundStation` by name, every whole pass of every satellite
over every station from ``start`` for ``hours`` (:func:`scenario_passes`; passes clipped
by either end of the span are left out), and, for an optical link with correlated
clouds, one cloud field over every station for the whole span
(:func:`scenario_cloud_field`).
"""

from __future__ import annotations

import numpy as np

from comms.errors import UsageError
from links.fading import CloudField, CorrelatedClouds
from links.orbit import Satellite
from links.passes import Pass, find_contacts
from links.scenario import Scenario
from links.sso import sso_satellite
from links.stations import GroundStation
from links.times import Epoch

__all__ = [
    "build_satellite",
    "build_satellites",
    "build_station",
    "scenario_cloud_field",
    "scenario_end",
    "scenario_passes",
]


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


def scenario_end(scenario: Scenario) -> np.datetime64:
    """The end of the scenario's span (``start`` + ``hours``), UTC."""
    start = Epoch.of(scenario.start).utc
    return start + np.timedelta64(round(scenario.hours * 3600e6), "us")


def scenario_passes(scenario: Scenario) -> list[Pass]:
    """All whole passes of every satellite over every station of the scenario, sorted
    by AOS (then satellite, then station, in file order)."""
    sats = build_satellites(scenario)
    stations = [build_station(scenario, s.name) for s in scenario.stations]
    passes = find_contacts(sats, stations, Epoch.of(scenario.start).utc, scenario_end(scenario))
    return [p for p in passes if not (p.aos_clipped or p.los_clipped)]


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
