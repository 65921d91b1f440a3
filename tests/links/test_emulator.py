"""The link emulator: a short pass in process, the socket forwarders, and the CLI.

Passes come from the 750 km dawn-dusk orbit over the Beijing-area station of the
shipped examples, emulated at a low data rate (100-200 kbit/s) to keep each run
well under a second.
"""

from __future__ import annotations

import argparse
import asyncio
import dataclasses
import json
from pathlib import Path

import numpy as np
import pytest

from links.clock import run_virtual
from links.emulator import EmulatedLink, PassEmulator, link_timeline
from links.impairments import Channel, ChannelModel
from links.run_cli import add_run_parser
from links.scenario import Scenario, parse_scenario

ROOT = Path(__file__).resolve().parents[2]

BASE = """
name = "test pass"
start = "2025-03-20T00:00:00"
hours = 24.0
seed = 5

[satellite]
sso_altitude_km = 750.0

[[stations]]
name = "Beijing"
lat_deg = 40.0
lon_deg = 116.3
alt_m = 50.0
min_elevation_deg = 10.0

[link]
data_rate_bps = 200e3
pass_index = 1

[link.rf]
link_rate_bps = 150e6
"""


def scenario(**changes: object) -> Scenario:
    s = parse_scenario(BASE)
    return dataclasses.replace(s, **changes)  # type: ignore[arg-type]


@pytest.fixture(scope="module")
def base() -> Scenario:
    return scenario()


@pytest.fixture(scope="module")
def base_run(base: Scenario) -> tuple[PassEmulator, object]:
    emu = PassEmulator(base)
    return emu, emu.run()


def test_perfect_channel_loses_nothing(base: Scenario) -> None:
    # A loop that locks at the first sample and a budget with 10 dB to spare: a
    # perfect channel from AOS to LOS, so every packet completed arrives intact.
    s = dataclasses.replace(base, tracker=dataclasses.replace(base.tracker, acquisition_time_s=0))
    report = PassEmulator(s).run()
    assert report.frames_sent > 10_000
    assert report.lock_acquisition_s == 0.0
    assert report.frames_lost == 0 and report.frames_corrupted == 0
    assert report.frames_delivered == report.frames_decoded == report.frames_sent
    assert report.packets_delivered == report.packets_sent
    assert report.packets_damaged == 0 and report.frame_gaps == 0
    assert int(report.intervals.sent.sum()) == report.frames_sent
    assert int(report.intervals.packets_delivered.sum()) == report.packets_delivered


def test_losses_only_outside_lock(base_run: tuple[PassEmulator, object]) -> None:
    emu, report = base_run
    assert isinstance(emu, PassEmulator)
    tl = emu.timeline
    acq = base_run[1].lock_acquisition_s  # type: ignore[attr-defined]
    assert acq == pytest.approx(2.0)  # the tracker's acquisition_time_s
    r = report
    assert r.frames_lost == r.frames_lost_unlocked > 0  # type: ignore[attr-defined]
    send = emu.send_times()
    unlocked = int(np.count_nonzero(~tl.locked_at(send)))
    assert r.frames_lost == unlocked  # type: ignore[attr-defined]
    # the first seconds of the pass, at the frame rate
    assert r.frames_lost == pytest.approx(acq / emu.frame_duration_s, abs=2)  # type: ignore[attr-defined]
    assert r.packets_damaged == 0  # type: ignore[attr-defined]


def test_same_seed_same_report(base: Scenario) -> None:
    s = dataclasses.replace(
        base,
        channel=dataclasses.replace(base.channel, burst_loss_rate=0.01, burst_length=4.0),
        link=dataclasses.replace(base.link, data_rate_bps=100e3),
    )
    a = PassEmulator(s).run().to_dict()
    b = PassEmulator(s).run().to_dict()
    assert a == b
    c = PassEmulator(dataclasses.replace(s, seed=6)).run().to_dict()
    assert c["frames_lost_channel"] != a["frames_lost_channel"]
    # Gilbert losses at 1 % of ~7000 frames: about 70, in bursts of ~4
    lost = a["frames_lost_channel"]
    assert 20 <= lost <= 200
    assert a["frame_gaps"] >= 1


def test_thin_margin_corrupts_and_reed_solomon_corrects(base: Scenario) -> None:
    # 1.6 Gbit/s budget: ~0.6 dB of Eb/N0 left at 10 deg, where the inner code's
    # output carries bit errors that RS(255,223) I=5 corrects.
    rf = dataclasses.replace(base.link.rf, link_rate_bps=1.6e9)
    s = dataclasses.replace(base, link=dataclasses.replace(base.link, rf=rf, data_rate_bps=100e3))
    r = PassEmulator(s).run()
    assert r.frames_corrupted > 0 and r.frames_rs_corrected > 0
    assert r.packets_damaged == 0
    assert r.frames_corrupted >= r.frames_rs_corrected + r.frames_uncorrectable
    assert r.frames_decoded == r.frames_delivered - r.frames_uncorrectable


def test_optical_fades_erase_frames(base: Scenario) -> None:
    # A weak terminal (20 mW) and half-cloudy sky: the power falls below the detector's
    # sensitivity in cloud and fades.
    text = BASE.replace(
        "[link.rf]",
        "[link.optical]\ntx_power_w = 0.02\n"
        "cloud_free_probability = 0.5\nmean_cloud_duration_s = 60.0\n\n[link.rf]",
    )
    s = parse_scenario(text.replace("[link]\n", '[link]\ntype = "optical"\n'))
    s = dataclasses.replace(
        s,
        tracker=dataclasses.replace(
            s.tracker, precompensation=False, pull_in_range_hz=1e10, max_rate_hz_s=1e9
        ),
    )
    emu = PassEmulator(s)
    r = emu.run()
    assert emu.timeline.optical is not None
    assert r.frames_lost_channel > 0
    assert r.packets_damaged == 0
    assert r.frames_delivered + r.frames_lost == r.frames_sent


def test_timeline_matches_the_pass(base: Scenario) -> None:
    tl = link_timeline(base)
    assert tl.t_s[0] == tl.contact.aos_s and tl.t_s[-1] == tl.contact.los_s
    assert np.all(tl.elevation_deg > 9.9)
    # REFERENCES.md: 750 km SSO, X band Doppler within +-185 kHz; range 750..3183 km
    assert np.max(np.abs(tl.doppler_hz)) < 190e3
    assert np.min(tl.range_m) > 750e3 and np.max(tl.range_m) < 2300e3
    assert np.all(np.isfinite(tl.margin_db))


# --- sockets ---------------------------------------------------------------------------


class _Collector(asyncio.DatagramProtocol):
    def __init__(self) -> None:
        self.received: list[bytes] = []
        self.event = asyncio.Event()
        self.want = 0

    def datagram_received(self, data: bytes, addr: object) -> None:
        self.received.append(data)
        if len(self.received) >= self.want:
            self.event.set()


async def _udp_round(model: ChannelModel, n: int) -> tuple[list[bytes], Channel, float]:
    loop = asyncio.get_running_loop()
    sink, sink_proto = await loop.create_datagram_endpoint(_Collector, local_addr=("127.0.0.1", 0))
    channel = Channel(model, np.random.default_rng(11))
    link = EmulatedLink(channel)
    addr = await link.start_udp(sink.get_extra_info("sockname")[:2])
    client, _ = await loop.create_datagram_endpoint(asyncio.DatagramProtocol, remote_addr=addr)
    t0 = loop.time()
    for k in range(n):
        client.sendto(k.to_bytes(4, "big"))
        await asyncio.sleep(0)  # let the forwarder read as we go
    # wait until the forwarder has read all n and everything due has arrived
    async with asyncio.timeout(10.0):
        while channel.stats.sent < n:
            await asyncio.sleep(0.001)
        sink_proto.want = channel.stats.delivered
        if len(sink_proto.received) < sink_proto.want:
            await sink_proto.event.wait()
    elapsed = loop.time() - t0
    client.close()
    await link.aclose()
    sink.close()
    return sink_proto.received, channel, elapsed


def test_udp_forwarder_applies_the_loss() -> None:
    model = ChannelModel(erasure_probability=0.3)
    received, channel, _ = asyncio.run(_udp_round(model, 400))
    assert channel.stats.sent == 400
    assert len(received) == channel.stats.delivered == 400 - channel.stats.lost
    assert 60 <= channel.stats.lost <= 180  # binomial(400, 0.3): mean 120, sd 9
    assert [int.from_bytes(d, "big") for d in received] == sorted(
        int.from_bytes(d, "big") for d in received
    )


def test_udp_forwarder_on_the_virtual_clock() -> None:
    # A 5 s light time and 30 % loss: on the virtual loop the wait costs no wall time.
    model = ChannelModel(erasure_probability=0.3, delay_s=5.0)
    received, channel, elapsed = run_virtual(_udp_round(model, 200))
    assert len(received) == channel.stats.delivered == 200 - channel.stats.lost
    assert elapsed >= 5.0


def test_tcp_forwarder_delivers_the_stream() -> None:
    async def main() -> bytes:
        got = bytearray()
        done = asyncio.Event()

        async def server(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
            while chunk := await reader.read(65536):
                got.extend(chunk)
            writer.close()
            done.set()

        srv = await asyncio.start_server(server, "127.0.0.1", 0)
        target = srv.sockets[0].getsockname()[:2]
        link = EmulatedLink(Channel(ChannelModel(delay_s=0.01), np.random.default_rng(1)))
        addr = await link.start_tcp(target)
        _reader, writer = await asyncio.open_connection(*addr)
        payload = bytes(range(256)) * 64
        for k in range(0, len(payload), 1000):
            writer.write(payload[k : k + 1000])
            await writer.drain()
        writer.write_eof()
        async with asyncio.timeout(10.0):
            await done.wait()
        writer.close()
        await link.aclose()
        srv.close()
        await srv.wait_closed()
        assert bytes(got) == payload
        return bytes(got)

    asyncio.run(main())


# --- the command line ------------------------------------------------------------------


def _cli(argv: list[str]) -> int:
    parser = argparse.ArgumentParser()
    add_run_parser(parser.add_subparsers())
    args = parser.parse_args(argv)
    code: int = args.func(args)
    return code


@pytest.fixture(scope="module")
def small_example(tmp_path_factory: pytest.TempPathFactory) -> Path:
    # The shipped Beijing X-band example at 100 kbit/s (a CLI override) keeps this fast.
    return ROOT / "scenarios" / "beijing-x.toml"


def test_cli_prints_the_report(small_example: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert _cli(["run", str(small_example), "--data-rate-bps", "1e5"]) == 0
    out = capsys.readouterr()
    assert "frames      sent" in out.out and "lock        acquired 2.0 s" in out.out
    assert "emulating: 100 %" in out.err


def test_cli_json(small_example: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert _cli(["run", str(small_example), "--data-rate-bps", "1e5", "--json", "--quiet"]) == 0
    out = capsys.readouterr()
    report = json.loads(out.out)
    assert report["frames_sent"] == report["frames_delivered"] + report["frames_lost"]
    assert report["station"] == "Beijing" and out.err == ""
    assert len(report["intervals"]["sent"]) == len(report["intervals"]["start_s"])


def test_cli_plot(small_example: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    pytest.importorskip("matplotlib")
    png = tmp_path / "pass.png"
    argv = ["run", str(small_example), "--data-rate-bps", "5e4", "--quiet", "--plot", str(png)]
    assert _cli(argv) == 0
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_cli_usage_errors(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    bad = tmp_path / "bad.toml"
    bad.write_text(BASE.replace("data_rate_bps = 200e3", "data_rate_bps = -1.0"))
    assert _cli(["run", str(bad)]) == 2
    assert "link.data_rate_bps" in capsys.readouterr().err
    assert _cli(["run", str(ROOT / "scenarios" / "beijing-x.toml"), "--pass-index", "99"]) == 2
    assert "link.pass_index" in capsys.readouterr().err


def test_doc_examples_run(monkeypatch: pytest.MonkeyPatch) -> None:
    """docs/link-emulator.md: every Python block runs, in order, from the repository root."""
    import re

    monkeypatch.chdir(ROOT)
    text = (ROOT / "docs" / "link-emulator.md").read_text()
    blocks = re.findall(r"```python\n(.*?)```", text, flags=re.S)
    assert blocks
    namespace: dict[str, object] = {}
    for block in blocks:
        exec(compile(block, "docs/link-emulator.md", "exec"), namespace)
