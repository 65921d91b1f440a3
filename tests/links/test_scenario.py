"""Scenario files: TOML round trips, the shipped examples, and errors that name the key."""

from __future__ import annotations

import dataclasses
import re
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from comms.errors import UsageError
from links.scenario import (
    ChannelConfig,
    LinkConfig,
    SatelliteConfig,
    Scenario,
    StationConfig,
    load_scenario,
    parse_scenario,
    scenario_to_toml,
)

SCENARIOS = sorted((Path(__file__).resolve().parents[2] / "scenarios").glob("*.toml"))

MINIMAL = """
[satellite]
sso_altitude_km = 750.0

[[stations]]
name = "Beijing"
lat_deg = 40.0
lon_deg = 116.3
"""


def test_examples_ship_and_load() -> None:
    names = {p.name for p in SCENARIOS}
    assert {
        "beijing-x.toml",
        "svalbard-x.toml",
        "beijing-optical.toml",
        "svalbard-optical.toml",
    } <= names
    for path in SCENARIOS:
        scenario = load_scenario(path)
        assert parse_scenario(scenario_to_toml(scenario)) == scenario


def test_minimal_scenario_takes_the_defaults() -> None:
    s = parse_scenario(MINIMAL)
    assert s.satellite == SatelliteConfig()
    assert s.stations == (StationConfig("Beijing", 40.0, 116.3),)
    assert s.link == LinkConfig()
    assert s.station_config.name == "Beijing"


def test_tle_replaces_the_default_orbit() -> None:
    text = MINIMAL.replace(
        "sso_altitude_km = 750.0",
        'tle = ["1 25544U 98067A   14020.93268519  .00009878  00000-0  18200-3 0  5082",\n'
        '       "2 25544  51.6498 109.4756 0003572  55.9686 274.8005 15.49815350868473"]',
    )
    s = parse_scenario(text)
    assert s.satellite.sso_altitude_km is None and s.satellite.tle is not None
    assert parse_scenario(scenario_to_toml(s)) == s


@settings(max_examples=40, deadline=None)
@given(
    rate=st.floats(1e3, 1e9),
    seed=st.integers(0, 2**31),
    loss=st.floats(0.0, 0.5),
    burst=st.floats(1.0, 50.0),
    name=st.text(st.characters(codec="utf-8", exclude_categories=["Cs"]), max_size=20),
    lat=st.floats(-90.0, 90.0),
)
def test_round_trip(
    rate: float, seed: int, loss: float, burst: float, name: str, lat: float
) -> None:
    base = parse_scenario(MINIMAL)
    s = dataclasses.replace(
        base,
        name=name,
        seed=seed,
        stations=(dataclasses.replace(base.stations[0], lat_deg=lat),),
        link=dataclasses.replace(base.link, data_rate_bps=rate),
        channel=ChannelConfig(burst_loss_rate=loss, burst_length=burst),
    )
    assert parse_scenario(scenario_to_toml(s)) == s


@pytest.mark.parametrize(
    ("patch", "key"),
    [
        ("[link]\ndata_rate = 5\n", "link.data_rate"),  # unknown key
        ("[link]\ndata_rate_bps = -1.0\n", "link.data_rate_bps"),
        ('[link]\ndata_rate_bps = "fast"\n', "link.data_rate_bps"),
        ('[link]\ntype = "laser"\n', "link.type"),
        ('[link]\nstation = "Kiruna"\n', "link.station"),
        ("[link.rf]\nfreq_hz = 0\n", "link.rf.freq_hz"),
        ("[link.optical]\ncloud_free_probability = 1.5\n", "link.optical.cloud_free_probability"),
        ("[tracker]\nprecompensation = 1\n", "tracker.precompensation"),
        ("[frames]\nrs_e = 10\n", "frames.rs_e"),
        ("[frames]\nframe_length = 2000\n", "frames.frame_length"),
        ("[channel]\nburst_loss_rate = 1.0\n", "channel.burst_loss_rate"),
        ("hours = 0\n", "hours"),
        ('start = "yesterday"\n', "start"),
        ("colour = 3\n", "colour"),
    ],
)
def test_bad_fields_name_the_key(patch: str, key: str) -> None:
    # top-level keys must come before the first table
    text = patch + MINIMAL if not patch.startswith("[") else MINIMAL + patch
    with pytest.raises(UsageError, match=r"(^|\s)" + re.escape(key) + r"\b"):
        parse_scenario(text)


def test_station_errors_name_the_index() -> None:
    text = MINIMAL + '\n[[stations]]\nname = "Polar"\nlat_deg = 95.0\n'
    with pytest.raises(UsageError, match=r"stations\[1\]\.lat_deg"):
        parse_scenario(text)


def test_missing_sections_and_bad_toml() -> None:
    with pytest.raises(UsageError, match="satellite is required"):
        parse_scenario('[[stations]]\nname = "x"\n')
    with pytest.raises(UsageError, match="not valid TOML"):
        parse_scenario("[link\n")
    with pytest.raises(UsageError, match="Cannot read"):
        load_scenario("/nonexistent/scenario.toml")
    with pytest.raises(UsageError, match="exactly one"):
        Scenario(SatelliteConfig(sso_altitude_km=None), (StationConfig("a"),))
