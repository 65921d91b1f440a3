"""Contact windows: against skyfield's find_events, short passes, masks, clipping."""

from __future__ import annotations

import datetime as dt

import numpy as np
import pytest

from comms.errors import UsageError
from links import (
    ACCELERATED,
    Epoch,
    GroundStation,
    Satellite,
    find_contacts,
    find_passes,
    look_angles,
    sso_constellation,
)

UTC = dt.UTC
# Named tolerances (the acceptance figures).
EVENT_TOLERANCE_S = 2.0
RANGE_RATE_TOLERANCE_M_S = 1.0


def test_sgp4_extension_is_in_use() -> None:
    # The vectorized path is only fast with the C++ extension (REFERENCES.md, Peers).
    assert ACCELERATED


def _skyfield_passes(l1: str, l2: str, st: GroundStation, start: dt.datetime, end: dt.datetime):
    from skyfield.api import EarthSatellite, load, wgs84

    ts = load.timescale(builtin=True)  # no network: builtin UT1/leap-second tables
    sat = EarthSatellite(l1, l2, "x", ts)
    topo = wgs84.latlon(st.lat_deg, st.lon_deg, st.alt_m)
    t, events = sat.find_events(
        topo, ts.from_datetime(start), ts.from_datetime(end), altitude_degrees=st.min_elevation_deg
    )
    times = [x.utc_datetime() for x in t]
    passes, current = [], {}
    for when, kind in zip(times, events, strict=True):
        if kind == 0:
            current = {"aos": when}
        elif kind == 1 and "aos" in current:
            current["tca"] = when
        elif kind == 2 and "tca" in current:
            current["los"] = when
            passes.append(current)
            current = {}
    return passes


@pytest.mark.interop
@pytest.mark.parametrize(
    ("sat_fixture", "station_fixture", "start"),
    [
        ("iss", "beijing", dt.datetime(2014, 1, 21, tzinfo=UTC)),
        ("sentinel2a", "svalbard", dt.datetime(2024, 7, 5, 6, tzinfo=UTC)),
        ("sentinel2a", "beijing", dt.datetime(2024, 7, 5, 6, tzinfo=UTC)),
    ],
)
def test_passes_match_skyfield(
    sat_fixture: str, station_fixture: str, start: dt.datetime, request: pytest.FixtureRequest
) -> None:
    from tests.links.conftest import ISS_L1, ISS_L2, S2A_L1, S2A_L2

    sat: Satellite = request.getfixturevalue(sat_fixture)
    st: GroundStation = request.getfixturevalue(station_fixture)
    l1, l2 = (ISS_L1, ISS_L2) if sat_fixture == "iss" else (S2A_L1, S2A_L2)
    end = start + dt.timedelta(days=1)
    ours = [p for p in find_passes(sat, st, start, end) if not (p.aos_clipped or p.los_clipped)]
    theirs = _skyfield_passes(l1, l2, st, start, end)
    assert len(theirs) >= 3
    # Pair by AOS; skyfield drops passes cut by the span edges, we flag them instead.
    assert len(ours) == len(theirs)
    for p, q in zip(ours, theirs, strict=True):
        for ours_t, theirs_t in ((p.aos, q["aos"]), (p.tca, q["tca"]), (p.los, q["los"])):
            assert abs((ours_t - theirs_t).total_seconds()) < EVENT_TOLERANCE_S


@pytest.mark.interop
def test_range_rate_matches_skyfield(iss: Satellite, beijing: GroundStation) -> None:
    from skyfield.api import EarthSatellite, load, wgs84

    from tests.links.conftest import ISS_L1, ISS_L2

    start = dt.datetime(2014, 1, 21, 0, 30, tzinfo=UTC)
    times = [start + dt.timedelta(seconds=s) for s in range(0, 600, 37)]
    look = look_angles(iss, beijing, times)
    ts = load.timescale(builtin=True)
    sat = EarthSatellite(ISS_L1, ISS_L2, "ISS", ts)
    topo = wgs84.latlon(beijing.lat_deg, beijing.lon_deg, beijing.alt_m)
    rel = (sat - topo).at(ts.from_datetimes(times))
    _, _, dist, _, _, rate = rel.frame_latlon_and_rates(topo)
    alt, _, _ = rel.altaz()
    assert (
        np.max(np.abs(look.range_rate_m_s[0, 0] - rate.km_per_s * 1e3)) < RANGE_RATE_TOLERANCE_M_S
    )
    assert np.max(np.abs(look.range_m[0, 0] - dist.m)) < 50.0
    assert np.max(np.abs(look.elevation_deg[0, 0] - alt.degrees)) < 0.01


def test_pass_fields_are_consistent(iss: Satellite, beijing: GroundStation) -> None:
    passes = find_passes(iss, beijing, "2014-01-21T00:00", "2014-01-22T00:00")
    assert passes
    for p in passes:
        assert p.aos < p.tca < p.los
        assert (
            p.duration == p.los - p.aos
            or abs(p.duration_s - (p.los - p.aos).total_seconds()) < 1e-5
        )
        assert p.max_elevation == p.max_elevation_deg >= beijing.min_elevation_deg
        assert p.aos.tzinfo is not None
        assert 0.0 <= p.aos_azimuth_deg < 360.0
        # The longest range is at the mask, the shortest at TCA.
        assert p.tca_range_m < min(p.aos_range_m, p.los_range_m)
    look = look_angles(iss, beijing, [p.aos_s for p in passes], epoch=passes[0].epoch)
    np.testing.assert_allclose(look.elevation_deg[0, 0], beijing.min_elevation_deg, atol=1e-3)


def test_min_elevation_override(iss: Satellite, beijing: GroundStation) -> None:
    low = find_passes(iss, beijing, "2014-01-21T00:00", "2014-01-22T00:00", min_elevation_deg=0.0)
    high = find_passes(iss, beijing, "2014-01-21T00:00", "2014-01-22T00:00")
    assert len(low) >= len(high)
    assert sum(p.duration_s for p in low) > sum(p.duration_s for p in high)


def test_short_passes_found_with_a_coarse_grid(iss: Satellite) -> None:
    # A mask a little below a pass's peak leaves a window of a few seconds: a 60 s
    # grid steps right over it, and only the local-maximum search can find it.
    st = GroundStation(40.0, 116.3, 50.0, name="Beijing")
    fine = find_passes(iss, st, "2014-01-21T00:00", "2014-01-22T00:00", step_s=1.0)
    peak = min(p.max_elevation_deg for p in fine)
    masked = GroundStation(40.0, 116.3, 50.0, min_elevation_deg=peak - 0.01)
    reference = find_passes(iss, masked, "2014-01-21T00:00", "2014-01-22T00:00", step_s=0.5)
    short = [p for p in reference if p.duration_s < 30.0]
    assert short, "the test needs a pass shorter than the coarse grid"
    coarse = find_passes(iss, masked, "2014-01-21T00:00", "2014-01-22T00:00", step_s=60.0)
    assert len(coarse) == len(reference)
    for a, b in zip(coarse, reference, strict=True):
        assert abs(a.aos_s - b.aos_s) < 0.05 and abs(a.los_s - b.los_s) < 0.05


def test_grid_step_does_not_change_the_answer(iss: Satellite, beijing: GroundStation) -> None:
    a = find_passes(iss, beijing, "2014-01-21T00:00", "2014-01-22T00:00", step_s=30.0)
    b = find_passes(iss, beijing, "2014-01-21T00:00", "2014-01-22T00:00", step_s=1.0)
    assert len(a) == len(b)
    for p, q in zip(a, b, strict=True):
        assert abs(p.aos_s - q.aos_s) < 0.05 and abs(p.tca_s - q.tca_s) < 0.05


def test_horizon_profile_shortens_passes(iss: Satellite) -> None:
    open_sky = GroundStation(40.0, 116.3, 50.0, min_elevation_deg=10.0)
    # A ridge to the north and west at 25 deg, open south/east at the 10 deg floor.
    ridge = GroundStation(
        40.0,
        116.3,
        50.0,
        min_elevation_deg=10.0,
        horizon=[(0.0, 25.0), (90.0, 0.0), (180.0, 0.0), (270.0, 25.0)],
    )
    span = ("2014-01-21T00:00", "2014-01-22T00:00")
    a = find_passes(iss, open_sky, *span)
    b = find_passes(iss, ridge, *span)
    assert sum(p.duration_s for p in b) < sum(p.duration_s for p in a)
    for p in b:
        look = look_angles(iss, ridge, [p.aos_s, p.los_s], epoch=p.epoch)
        mask = ridge.mask_deg(look.azimuth_deg[0, 0])
        np.testing.assert_allclose(look.elevation_deg[0, 0], mask, atol=1e-2)


def test_pass_in_progress_at_the_span_edges_is_clipped(
    iss: Satellite, beijing: GroundStation
) -> None:
    whole = find_passes(iss, beijing, "2014-01-21T00:00", "2014-01-21T01:00")[0]
    mid = whole.tca
    first = find_passes(iss, beijing, whole.aos - dt.timedelta(minutes=5), mid)
    second = find_passes(iss, beijing, mid, mid + dt.timedelta(minutes=30))
    assert first[-1].los_clipped and not first[-1].aos_clipped
    assert second[0].aos_clipped and second[0].aos == mid
    assert abs((first[-1].aos - whole.aos).total_seconds()) < 0.05


def test_constellation_contacts_are_consistent_with_single_pairs() -> None:
    sats = sso_constellation(750.0, 2, 2, 18.0, 1, epoch="2025-03-20T00:00")
    stations = [
        GroundStation(78.23, 15.39, 500.0, name="Svalbard", min_elevation_deg=5.0),
        GroundStation(40.0, 116.3, 50.0, name="Beijing", min_elevation_deg=10.0),
    ]
    span = ("2025-03-20T00:00", "2025-03-20T12:00")
    plan = find_contacts(sats, stations, *span, step_s=20.0)
    for i, sat in enumerate(sats):
        for j, st in enumerate(stations):
            single = find_passes(sat, st, *span, step_s=20.0)
            mine = [p for p in plan if p.satellite_index == i and p.station_index == j]
            assert [round(p.aos_s, 2) for p in mine] == [round(p.aos_s, 2) for p in single]
    # REFERENCES: a polar station sees roughly 12 passes a day, mid-latitude ~4 at 10 deg.
    svalbard = [p for p in plan if p.station == "Svalbard" and p.satellite_index == 0]
    assert 4 <= len(svalbard) <= 8  # half a day


def test_float_times_need_an_epoch(iss: Satellite, beijing: GroundStation) -> None:
    with pytest.raises(UsageError, match="epoch"):
        look_angles(iss, beijing, [0.0, 1.0])
    look = look_angles(iss, beijing, [0.0, 1.0], epoch=Epoch.of("2014-01-21T00:00"))
    assert look.elevation_deg.shape == (1, 1, 2)


@pytest.mark.parametrize(
    "kwargs",
    [{"step_s": 0.0}, {"tolerance_s": -1.0}, {"min_elevation_deg": 95.0}],
)
def test_bad_arguments_are_usage_errors(
    iss: Satellite, beijing: GroundStation, kwargs: dict[str, float]
) -> None:
    with pytest.raises(UsageError):
        find_contacts([iss], [beijing], "2014-01-21T00:00", "2014-01-21T01:00", **kwargs)  # type: ignore[arg-type]


def test_end_before_start_is_a_usage_error(iss: Satellite, beijing: GroundStation) -> None:
    with pytest.raises(UsageError, match="after"):
        find_passes(iss, beijing, "2014-01-21T01:00", "2014-01-21T00:00")


def _brute_windows(
    sat: Satellite,
    st: GroundStation,
    epoch: Epoch,
    span_s: float,
    step_s: float,
    from_s: float = 0.0,
) -> list[tuple[float, float]]:
    """Visibility windows from elevation sampled every ``step_s``, crossings linearly
    interpolated: the slow, obvious reference for the screened search."""
    t = np.arange(from_s, span_s + step_s / 2, step_s)
    f = look_angles(sat, st, t, epoch=epoch).elevation_deg[0, 0] - st.min_elevation_deg
    up = f >= 0.0
    edges = np.nonzero(up[1:] != up[:-1])[0]
    cross = (t[edges] - f[edges] * step_s / (f[edges + 1] - f[edges])).tolist()
    if up[0]:
        cross.insert(0, from_s)
    if up[-1]:
        cross.append(float(t[-1]))
    return list(zip(cross[0::2], cross[1::2], strict=True))


def test_screened_plan_equals_a_brute_force_1s_grid() -> None:
    # The acceptance test: the prefiltered, interpolated search finds exactly the
    # windows a 1 s grid finds, to 0.1 s, on a sample of pairs of a 100-satellite
    # constellation (masks from 0 to 45 deg give plenty of grazing passes).
    sats = sso_constellation(750.0, 10, 10, 18.0, 1, epoch="2025-03-20T00:00")
    stations = [
        GroundStation(78.23, 15.39, 500.0, name="Svalbard", min_elevation_deg=0.0),
        GroundStation(40.0, 116.3, 50.0, name="Beijing", min_elevation_deg=10.0),
        GroundStation(-25.89, 27.69, 1400.0, name="HBK", min_elevation_deg=45.0),
    ]
    span = ("2025-03-20T00:00", "2025-03-21T00:00")
    plan = find_contacts(sats, stations, *span, tolerance_s=0.01)
    epoch = Epoch.of(span[0])
    checked = 0
    for i in (0, 13, 37, 58, 99):
        for j, st in enumerate(stations):
            ours = [
                (p.aos_s, p.los_s) for p in plan if (p.satellite_index, p.station_index) == (i, j)
            ]
            brute = _brute_windows(sats[i], st, epoch, 86400.0, 1.0)
            # A window shorter than the 1 s grid may be ours alone; everything else pairs.
            ours = [
                w for w in ours if w[1] - w[0] >= 1.0 or any(abs(w[0] - b[0]) < 1 for b in brute)
            ]
            assert len(ours) == len(brute), (i, j, ours, brute)
            for (a0, a1), (b0, b1) in zip(ours, brute, strict=True):
                assert abs(a0 - b0) < 0.1 and abs(a1 - b1) < 0.1
            checked += len(brute)
    assert checked > 60


def test_grazing_pass_found_by_the_screen(iss: Satellite) -> None:
    # A mask 0.001 deg under a low pass's 1.09 deg peak leaves a window of about 6 s:
    # the automatic 117 s grid must still report it (the screen cannot drop it, and the
    # slope test inside the candidate interval finds the peak).
    st = GroundStation(40.0, 116.3, 50.0, name="Beijing")
    peak = min(p.max_elevation_deg for p in find_passes(iss, st, "2014-01-21", "2014-01-22"))
    masked = GroundStation(40.0, 116.3, 50.0, min_elevation_deg=peak - 0.001)
    found = find_passes(iss, masked, "2014-01-21", "2014-01-22")
    short = [p for p in found if p.duration_s < 10.0]
    assert len(short) == 1 and short[0].max_elevation_deg == pytest.approx(peak, abs=1e-6)
    t0 = short[0].aos_s - 60.0
    reference = _brute_windows(iss, masked, short[0].epoch, t0 + 120.0, 0.1, from_s=t0)
    assert any(
        abs(a - short[0].aos_s) < 0.1 and abs(b - short[0].los_s) < 0.1 for a, b in reference
    )
