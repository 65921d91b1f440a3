"""Shared satellites and stations for the links tests.

TLE provenance:
- ISS (ZARYA), epoch 2014-01-20: the element set printed in skyfield's documentation
  ("Earth Satellites" page, Celestrak stations.txt excerpt); checksums verified.
- SENTINEL-2A (NORAD 40697), epoch 2024-07-05: as published by n2yo.com on 2024-07-05
  (quoted with that attribution in a public repository); checksums verified.
"""

from __future__ import annotations

import pytest

from links import GroundStation, Satellite

ISS_L1 = "1 25544U 98067A   14020.93268519  .00009878  00000-0  18200-3 0  5082"
ISS_L2 = "2 25544  51.6498 109.4756 0003572  55.9686 274.8005 15.49815350868473"
S2A_L1 = "1 40697U 15028A   24187.21454778  .00000211  00000-0  96982-4 0  9994"
S2A_L2 = "2 40697  98.5684 261.2278 0001234  95.4779 264.6545 14.30817758471926"


@pytest.fixture(scope="session")
def iss() -> Satellite:
    return Satellite.from_tle(ISS_L1, ISS_L2, name="ISS")


@pytest.fixture(scope="session")
def sentinel2a() -> Satellite:
    return Satellite.from_tle(S2A_L1, S2A_L2, name="SENTINEL-2A")


@pytest.fixture(scope="session")
def beijing() -> GroundStation:
    return GroundStation(40.0, 116.3, 50.0, name="Beijing", min_elevation_deg=10.0)


@pytest.fixture(scope="session")
def svalbard() -> GroundStation:
    return GroundStation(78.23, 15.39, 500.0, name="Svalbard", min_elevation_deg=5.0)
