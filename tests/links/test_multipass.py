"""Multi-satellite, multi-pass runs: [[satellites]] scenarios, MultiPassEmulator, the CLI.

Two 750 km dawn-dusk satellites half an orbit apart over a Beijing-area station and
Svalbard for 6 hours at 20 kbit/s: ~12 whole passes, ~15k CADUs, about a second.
"""

from __future__ import annotations

import argparse
import dataclasses
import json

import pytest

from comms.errors import UsageError
from links.emulator import MultiPassEmulator, PassEmulator, scenario_passes
from links.run_cli import add_run_parser
from links.scenario import Scenario, parse_scenario, scenario_to_toml

FLEET = """
name = "fleet"
start = "2025-03-20T06:00:00"
hours = 6.0
seed = 3

[[satellites]]
name = "DAWN-1"
sso_altitude_km = 750.0

[[satellites]]
name = "DAWN-2"
sso_altitude_km = 750.0
arg_latitude_deg = 180.0

[[stations]]
name = "Beijing"
lat_deg = 40.0
lon_deg = 116.3
alt_m = 50.0

[[stations]]
name = "Svalbard"
lat_deg = 78.23
lon_deg = 15.39
alt_m = 500.0
min_elevation_deg = 5.0

[link]
data_rate_bps = 20e3
all_passes = true

[channel]
burst_loss_rate = 0.01
burst_length = 3.0
"""


@pytest.fixture(scope="module")
def fleet() -> Scenario:
    return parse_scenario(FLEET)


@pytest.fixture(scope="module")
def fleet_run(fleet: Scenario) -> tuple[MultiPassEmulator, object]:
    emu = MultiPassEmulator(fleet)
    return emu, emu.run()


def test_fleet_parses_and_round_trips(fleet: Scenario) -> None:
    assert [s.name for s in fleet.fleet] == ["DAWN-1", "DAWN-2"]
    assert fleet.satellite == fleet.satellites[0]
    assert fleet.link.all_passes
    text = scenario_to_toml(fleet)
    assert "[[satellites]]" in text and "[satellite]\n" not in text
    assert parse_scenario(text) == fleet


def test_fleet_errors_name_the_key() -> None:
    both = FLEET.replace('[[satellites]]\nname = "DAWN-1"', '[satellite]\nname = "X"', 1)
    with pytest.raises(UsageError, match="not both"):
        parse_scenario(both)
    dup = FLEET.replace('name = "DAWN-2"', 'name = "DAWN-1"')
    with pytest.raises(UsageError, match=r"satellites\.name must be unique"):
        parse_scenario(dup)
    bad = FLEET.replace("sso_altitude_km = 750.0\narg", "sso_altitude_km = -1.0\narg")
    with pytest.raises(UsageError, match=r"^satellites\[1\]\.sso_altitude_km"):
        parse_scenario(bad)
    unknown = FLEET.replace('name = "DAWN-2"', 'name = "DAWN-2"\naltitude = 3')
    with pytest.raises(UsageError, match=r"^satellites\[1\]\.altitude is not a scenario key"):
        parse_scenario(unknown)


def test_every_pass_in_aos_order(fleet_run: tuple[MultiPassEmulator, object]) -> None:
    emu, report = fleet_run
    assert isinstance(emu, MultiPassEmulator)
    contacts = emu.contacts
    assert contacts == scenario_passes(emu.scenario)
    assert len(contacts) >= 6
    assert {c.satellite for c in contacts} == {"DAWN-1", "DAWN-2"}
    assert {c.station for c in contacts} == {"Beijing", "Svalbard"}
    aos = [c.aos_s for c in contacts]
    assert aos == sorted(aos)
    r = report
    assert len(r.passes) == len(contacts)  # type: ignore[attr-defined]
    for c, p in zip(contacts, r.passes, strict=True):  # type: ignore[attr-defined]
        assert (p.satellite, p.station) == (c.satellite, c.station)
        assert p.duration_s == pytest.approx(c.duration_s)
        assert p.frames_sent == p.frames_delivered + p.frames_lost
        assert p.packets_damaged == 0
    assert list(r.aos_s) == aos  # type: ignore[attr-defined]
    assert emu.frames_per_pass() == [p.frames_sent for p in r.passes]  # type: ignore[attr-defined]


def test_totals_sum_the_passes(fleet_run: tuple[MultiPassEmulator, object]) -> None:
    emu, report = fleet_run
    r = report
    for name in ("frames_sent", "frames_lost", "frames_lost_channel", "packets_delivered"):
        assert r.totals[name] == sum(getattr(p, name) for p in r.passes)  # type: ignore[attr-defined]
    # 1 % Gilbert losses over ~10k frames, independent streams per pass
    assert 0 < r.totals["frames_lost_channel"] < 0.05 * r.totals["frames_sent"]  # type: ignore[attr-defined]
    assert r.contact_s == pytest.approx(sum(c.duration_s for c in emu.contacts))  # type: ignore[attr-defined]
    losses = [p.frames_lost_channel for p in r.passes]  # type: ignore[attr-defined]
    assert len(set(losses)) > 1  # each pass draws its own stream
    text = r.summary()  # type: ignore[attr-defined]
    assert text.count("DAWN-") == len(r.passes)  # type: ignore[attr-defined]
    assert "total       contact" in text


def test_pass_k_is_a_pass_emulator_on_stream_k_plus_1(
    fleet: Scenario, fleet_run: tuple[MultiPassEmulator, object]
) -> None:
    emu, report = fleet_run
    assert isinstance(emu, MultiPassEmulator)
    k = 3
    alone = PassEmulator(fleet, contact=emu.contacts[k], stream=k + 1).run()
    assert alone.to_dict() == report.passes[k].to_dict()  # type: ignore[attr-defined]
    again = MultiPassEmulator(fleet).run()
    assert again.to_dict() == report.to_dict()  # type: ignore[attr-defined]


def test_progress_covers_all_passes(fleet: Scenario) -> None:
    emu = MultiPassEmulator(dataclasses.replace(fleet, hours=3.0))
    seen: list[float] = []
    starts: list[int] = []
    emu.run(seen.append, on_pass=lambda k, c: starts.append(k))
    assert starts == list(range(len(emu.contacts)))
    assert seen == sorted(seen) and seen[-1] == pytest.approx(1.0)


def test_no_pass_in_the_span_is_a_usage_error(fleet: Scenario) -> None:
    with pytest.raises(UsageError, match="No whole pass"):
        MultiPassEmulator(dataclasses.replace(fleet, hours=0.05))


def _cli(argv: list[str]) -> int:
    parser = argparse.ArgumentParser()
    add_run_parser(parser.add_subparsers())
    args = parser.parse_args(argv)
    code: int = args.func(args)
    return code


def test_cli_all_passes(tmp_path: object, capsys: pytest.CaptureFixture[str]) -> None:
    from pathlib import Path

    path = Path(str(tmp_path)) / "fleet.toml"
    path.write_text(FLEET.replace("hours = 6.0", "hours = 3.0").replace("all_passes = true", ""))
    assert _cli(["run", str(path), "--all-passes"]) == 0
    out = capsys.readouterr()
    assert "pass(es), seed 3" in out.out and "total       contact" in out.out
    assert "(pass 1/" in out.err and "emulating: 100 %" in out.err
    assert _cli(["run", str(path), "--all-passes", "--json", "--quiet"]) == 0
    out = capsys.readouterr()
    doc = json.loads(out.out)
    assert doc["totals"]["frames_sent"] == sum(p["frames_sent"] for p in doc["passes"])
    assert out.err == ""


def test_cli_all_passes_plot(tmp_path: object, capsys: pytest.CaptureFixture[str]) -> None:
    pytest.importorskip("matplotlib")
    from pathlib import Path

    path = Path(str(tmp_path)) / "fleet.toml"
    path.write_text(FLEET.replace("hours = 6.0", "hours = 2.0"))
    png = Path(str(tmp_path)) / "schedule.png"
    assert _cli(["run", str(path), "--quiet", "--plot", str(png)]) == 0
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
