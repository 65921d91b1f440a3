"""``dawnlink link``: passes, doppler and contact-plan through the real dispatcher."""

from __future__ import annotations

import csv
import io
import json
import re
from datetime import datetime, timedelta

import pytest

from comms.cli import main
from comms.errors import UsageError
from links.cli import STATION_PRESETS, parse_station, read_tles
from links.clock import utc_now
from tests.links.conftest import ISS_L1, ISS_L2, S2A_L1, S2A_L2

SSO = ["--sso", "750", "--ltan", "18", "--start", "2025-03-20T00:00", "--hours", "12"]


def run(argv: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, str, str]:
    code = main(["link", *argv])
    out, err = capsys.readouterr()
    return code, out, err


def test_passes_table(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(["passes", *SSO, "--station", "svalbard"], capsys)
    assert code == 0
    lines = out.splitlines()
    assert lines[0].split()[:3] == ["satellite", "station", "AOS"]
    # REFERENCES: a polar station sees ~12 passes a day above 10 deg: ~6 in 12 h.
    count = int(re.match(r"(\d+) passes", lines[-1]).group(1))  # type: ignore[union-attr]
    assert 4 <= count <= 8 and len(lines) == count + 2
    assert all("Svalbard" in ln for ln in lines[1:-1])


def test_passes_json_and_csv_agree(capsys: pytest.CaptureFixture[str]) -> None:
    args = ["passes", "--tle", ISS_L1, ISS_L2, "--station", "40.0,116.3,50,Home"]
    args += ["--start", "2014-01-21T00:00", "--min-elevation", "5"]
    code, out, _ = run([*args, "--json"], capsys)
    rows = json.loads(out)
    assert code == 0 and rows and all(r["station"] == "Home" for r in rows)
    assert all(r["max_elevation_deg"] >= 5.0 for r in rows)
    code, out, _ = run([*args, "--csv"], capsys)
    assert [r["aos"] for r in csv.DictReader(io.StringIO(out))] == [r["aos"] for r in rows]


def test_tle_file_with_names(tmp_path, capsys: pytest.CaptureFixture[str]) -> None:  # type: ignore[no-untyped-def]
    path = tmp_path / "fleet.tle"
    path.write_text(f"ISS (ZARYA)\n{ISS_L1}\n{ISS_L2}\n0 SENTINEL-2A\n{S2A_L1}\n{S2A_L2}\n")
    assert [s.name for s in read_tles(path.read_text())] == ["ISS (ZARYA)", "SENTINEL-2A"]
    code, out, _ = run(
        ["passes", "--tle-file", str(path), "--station", "svalbard", "--start", "2024-07-05"],
        capsys,
    )
    assert code == 0 and "SENTINEL-2A" in out


def test_doppler_summary_and_profile(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(["doppler", *SSO, "--station", "kiruna", "--summary"], capsys)
    assert code == 0
    shifts = [float(x) for x in re.findall(r"max shift ([+-][\d.]+) Hz", out)]
    assert shifts and all(abs(s) < 190e3 for s in shifts)  # X band: within +-185 kHz
    code, out, _ = run(["doppler", *SSO, "--station", "kiruna", "--step", "60"], capsys)
    assert code == 0 and "doppler Hz" in out and "rate Hz/s" in out


def test_doppler_json_scales_with_frequency(capsys: pytest.CaptureFixture[str]) -> None:
    base = ["doppler", *SSO, "--station", "beijing", "--json", "--step", "30"]
    _, out_x, _ = run([*base, "--freq-hz", "8.2e9"], capsys)
    _, out_ka, _ = run([*base, "--freq-hz", "26e9"], capsys)
    x, ka = json.loads(out_x), json.loads(out_ka)
    assert x and len(x) == len(ka)
    assert ka[0]["max_doppler_hz"] == pytest.approx(x[0]["max_doppler_hz"] * 26 / 8.2, rel=1e-5)
    samples = x[0]["samples"]
    assert samples["t_s"][0] == 0.0 and len(samples["doppler_hz"]) == len(samples["t_s"])


def test_contact_plan_ion(capsys: pytest.CaptureFixture[str]) -> None:
    argv = ["contact-plan", *SSO, "--planes", "2", "--per-plane", "2", "--station", "svalbard"]
    argv += ["--station", "beijing", "--ion", "--node", "Beijing=7", "--uplink-rate", "32000"]
    code, out, _ = run(argv, capsys)
    assert code == 0
    lines = out.splitlines()
    assert lines[0] == "@ 2025/03/20-00:00:00"
    contacts = [ln.split() for ln in lines if ln.startswith("a contact")]
    nodes = {int(c[4]) for c in contacts} | {int(c[5]) for c in contacts}
    assert 7 in nodes and 1 in nodes  # Beijing as asked, Svalbard numbered first
    assert {n for n in nodes if n > 100} <= {101, 102, 103, 104}
    assert any(c[4] == "7" and c[6] == "32000" for c in contacts)  # uplink from Beijing


def test_contact_plan_table(capsys: pytest.CaptureFixture[str]) -> None:
    argv = ["contact-plan", *SSO, "--planes", "2", "--per-plane", "3", "--station", "troll"]
    code, out, _ = run(argv, capsys)
    assert code == 0 and "DAWN-P2-S3" in out


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["passes", *SSO, "--station", "atlantis"], "preset"),
        (["passes", *SSO, "--station", "1,2"], "preset"),
        (["passes", *SSO, "--station", "a,b,c"], "numbers"),
        (["passes", *SSO, "--station", "95,0,0"], "lat_deg"),
        (["passes", "--sso", "750", "--station", "beijing", "--start", "soon"], "ISO 8601"),
        (["passes", *SSO, "--station", "beijing", "--hours", "-1"], "--hours"),
        (
            [
                "passes",
                "--tle-file",
                "/nonexistent.tle",
                "--station",
                "beijing",
                "--start",
                "2025-01-01",
            ],
            "Cannot read",
        ),
        (
            ["passes", "--tle", "x", "y", "--station", "beijing", "--start", "2025-01-01"],
            "two-line",
        ),
        (["doppler", *SSO, "--station", "beijing", "--freq-hz", "0"], "freq-hz"),
        (
            ["contact-plan", *SSO, "--station", "beijing", "--ion", "--node", "Beijing"],
            "NAME=NUMBER",
        ),
    ],
)
def test_usage_errors_exit_2(
    argv: list[str], message: str, capsys: pytest.CaptureFixture[str]
) -> None:
    code, _, err = run(argv, capsys)
    assert code == 2
    assert message in err


def test_start_defaults_to_now(capsys: pytest.CaptureFixture[str]) -> None:
    # Without --start the span begins at the current UTC time (links.clock.utc_now, the
    # one calendar read links allows): every pass lies within [before, after + 24 h].
    before = utc_now()
    code = main(["link", "passes", "--sso", "750", "--station", "beijing", "--json"])
    after = utc_now()
    assert code == 0
    passes = json.loads(capsys.readouterr().out)
    assert passes, "a 750 km SSO passes over Beijing several times a day"
    for p in passes:
        aos = datetime.fromisoformat(p["aos"].replace("Z", "+00:00"))
        assert before <= aos <= after + timedelta(hours=24)


@pytest.mark.parametrize("action", ["passes", "doppler", "contact-plan"])
def test_help_has_examples(action: str, capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exc:
        main(["link", action, "--help"])
    assert exc.value.code == 0
    out = capsys.readouterr().out
    assert out.startswith(f"usage: dawnlink link {action}")
    assert "examples:" in out and "svalbard" in out


def test_link_without_action_prints_help(capsys: pytest.CaptureFixture[str]) -> None:
    code, _, err = run([], capsys)
    assert code == 2 and "actions:" in err


def test_station_presets_and_bad_tle_text() -> None:
    for name in STATION_PRESETS:
        assert parse_station(name.upper()).name
    assert parse_station("10,20,30").label() == "10.000,20.000"
    with pytest.raises(UsageError, match="pair"):
        read_tles(ISS_L1 + "\n")
    with pytest.raises(UsageError, match="No two-line"):
        read_tles("just a name\n")


@pytest.mark.parametrize("command", ["passes", "doppler"])
def test_plot_writes_a_png(
    command: str, tmp_path: object, capsys: pytest.CaptureFixture[str]
) -> None:
    pytest.importorskip("matplotlib")
    from pathlib import Path

    png = Path(str(tmp_path)) / f"{command}.png"
    extra = ["--summary"] if command == "doppler" else []
    code, out, _ = run([command, *SSO, "--station", "svalbard", *extra, "--plot", str(png)], capsys)
    assert code == 0 and "Svalbard" in out
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
