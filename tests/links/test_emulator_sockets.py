"""EmulatedLink over real loopback sockets, on the virtual clock, carrying a real pass.

The channels are :meth:`PassEmulator.channel` (downlink) and
:meth:`PassEmulator.uplink_channel` (uplink), so what is lost is decided by the pass:
before AOS and after LOS, while the receiver has no carrier lock (acquisition, and a
C/N0 floor that the low-elevation ends of the pass fall below), and in optical cloud
fades. Each test sends one numbered message per virtual second and compares what
arrived with the channel model's own erasure decision at the instant each message met
the channel: no wall-clock timing is asserted. A pass of ~10 minutes costs well under
a second of wall time on :func:`links.clock.run_virtual`.
"""

from __future__ import annotations

import asyncio
import dataclasses

import numpy as np
import pytest

from comms.errors import UsageError
from links.clock import run_virtual
from links.emulator import EmulatedLink, PassEmulator
from links.impairments import Channel, ChannelModel
from links.scenario import parse_scenario

BASE = """
name = "socket pass"
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
"""

# Messages go out half-way between the timeline's 1 s samples, where lock changes, so
# no message sits on a lock edge; PRE_S before AOS and after LOS are covered too.
PRE_S = 3.0
STEP_S = 1.0


def rf_emulator() -> PassEmulator:
    s = parse_scenario(BASE)
    probe = PassEmulator(s)
    cn0 = probe.timeline.cn0_dbhz
    # a C/N0 floor the first and last ~minute of the pass fall below: lock comes late
    # and goes early, on top of the 2 s acquisition
    floor = float(cn0[60]) + 0.01
    tracker = dataclasses.replace(s.tracker, min_cn0_dbhz=floor)
    return PassEmulator(dataclasses.replace(s, tracker=tracker))


def optical_emulator() -> PassEmulator:
    text = BASE.replace("[link]\n", '[link]\ntype = "optical"\n') + (
        "\n[link.optical]\ncloud_free_probability = 0.5\nmean_cloud_duration_s = 60.0\n"
        "\n[tracker]\nprecompensation = false\npull_in_range_hz = 1e10\n"
        "max_rate_hz_s = 1e9\n"
    )
    return PassEmulator(parse_scenario(text))


def send_offsets(emu: PassEmulator) -> tuple[float, np.ndarray]:
    """(link time offset, channel times of the messages) from PRE_S before AOS to
    PRE_S after LOS."""
    c = emu.timeline.contact
    offset = c.aos_s - PRE_S
    rel = 0.5 + STEP_S * np.arange(int((c.duration_s + 2 * PRE_S) / STEP_S))
    times = offset + rel
    # the one edge not on the 1 s grid: keep messages off LOS
    keep = np.abs(times - c.los_s) > 0.05
    return offset, times[keep]


def erased_at(channel: Channel, times: np.ndarray) -> np.ndarray:
    mask = channel.model.erasure_mask
    assert mask is not None
    return np.asarray(mask(times), dtype=bool)


class _Collector(asyncio.DatagramProtocol):
    def __init__(self) -> None:
        self.received: list[bytes] = []
        self.changed = asyncio.Event()

    def datagram_received(self, data: bytes, addr: object) -> None:
        self.received.append(data)
        self.changed.set()

    async def wait_for(self, n: int) -> None:
        while len(self.received) < n:
            self.changed.clear()
            await self.changed.wait()


async def _udp_both_ways(
    emu: PassEmulator,
) -> tuple[list[int], list[int], Channel, Channel, np.ndarray]:
    loop = asyncio.get_running_loop()
    offset, times = send_offsets(emu)
    down, up = emu.channel(), emu.uplink_channel()
    ground, ground_rx = await loop.create_datagram_endpoint(_Collector, local_addr=("127.0.0.1", 0))
    craft, craft_rx = await loop.create_datagram_endpoint(_Collector, local_addr=("127.0.0.1", 0))
    link = EmulatedLink(down, time_offset_s=offset, reverse_channel=up)
    start = loop.time()
    listen = await link.start_udp(
        ground.get_extra_info("sockname")[:2], peer=craft.get_extra_info("sockname")[:2]
    )
    uplink_to = link.udp_target_side_address
    for k, t in enumerate(times):
        await asyncio.sleep(max(0.0, start + (t - offset) - loop.time()))
        craft.sendto(b"D" + k.to_bytes(4, "big"), listen)  # a CADU going down
        ground.sendto(b"U" + k.to_bytes(4, "big"), uplink_to)  # a CLTU going up
    async with asyncio.timeout(60.0):  # virtual seconds: a hang guard, not a measurement
        while down.stats.sent < times.size or up.stats.sent < times.size:
            await asyncio.sleep(0.01)
        await ground_rx.wait_for(down.stats.delivered)
        await craft_rx.wait_for(up.stats.delivered)
    await link.aclose()
    ground.close()
    craft.close()
    got_down = [int.from_bytes(d[1:], "big") for d in ground_rx.received]
    got_up = [int.from_bytes(d[1:], "big") for d in craft_rx.received]
    assert all(d[:1] == b"D" for d in ground_rx.received)
    assert all(d[:1] == b"U" for d in craft_rx.received)
    return got_down, got_up, down, up, times


def test_udp_pass_both_directions_follow_the_channels() -> None:
    emu = rf_emulator()
    assert np.all(emu.timeline.ber < 1e-12)  # losses here are erasures, not corruption
    got_down, got_up, down, up, times = run_virtual(_udp_both_ways(emu))
    lost_down = erased_at(down, times)
    lost_up = erased_at(up, times)
    # the pass really erases at both ends and delivers in the middle
    assert lost_down[:30].all() and lost_down[-30:].all() and not lost_down.all()
    assert lost_up[:4].all() and lost_up[-2:].all() and not lost_up.all()
    assert got_down == np.flatnonzero(~lost_down).tolist()
    assert got_up == np.flatnonzero(~lost_up).tolist()
    assert down.stats.lost == int(lost_down.sum()) and up.stats.lost == int(lost_up.sum())
    # the station's C/N0 floor costs the downlink the low ends of the pass; the
    # spacecraft receiver has no floor here, so the uplink loses only acquisition time
    assert lost_down.sum() > lost_up.sum() + 60


def test_uplink_channel_is_its_own_link() -> None:
    emu = rf_emulator()
    ul, dl = emu.uplink_timeline, emu.timeline
    assert ul.kind == "uplink" and ul.freq_hz == emu.scenario.link.uplink.freq_hz
    assert ul.contact == dl.contact
    # Doppler scales with the carrier: same range rate, different frequency
    ratio = ul.freq_hz / dl.freq_hz
    np.testing.assert_allclose(ul.doppler_hz, dl.doppler_hz * ratio, rtol=1e-9)
    np.testing.assert_allclose(ul.light_time_s, dl.light_time_s)
    assert not np.array_equal(ul.ebn0_db, dl.ebn0_db)


async def _tcp_down(emu: PassEmulator) -> tuple[bytes, Channel, np.ndarray]:
    loop = asyncio.get_running_loop()
    offset, times = send_offsets(emu)
    down = emu.channel()
    got = bytearray()
    done = asyncio.Event()

    async def ground(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        while chunk := await reader.read(65536):
            got.extend(chunk)
        writer.close()
        done.set()

    srv = await asyncio.start_server(ground, "127.0.0.1", 0)
    link = EmulatedLink(down, time_offset_s=offset)
    listen = await link.start_tcp(srv.sockets[0].getsockname()[:2])
    _reader, writer = await asyncio.open_connection(*listen)
    start = loop.time()  # the forwarder started with the connection, at this instant
    for k, t in enumerate(times):
        await asyncio.sleep(max(0.0, start + (t - offset) - loop.time()))
        writer.write(k.to_bytes(8, "big"))
        await writer.drain()
    writer.write_eof()
    async with asyncio.timeout(60.0):
        await done.wait()
    writer.close()
    await link.aclose()
    srv.close()
    await srv.wait_closed()
    return bytes(got), down, times


def test_tcp_pass_with_cloud_fades() -> None:
    emu = optical_emulator()
    series = emu.timeline.optical
    assert series is not None and series.cloud_blocked.any() and not series.cloud_blocked.all()
    got, down, times = run_virtual(_tcp_down(emu))
    indices = [int.from_bytes(got[i : i + 8], "big") for i in range(0, len(got), 8)]
    lost = erased_at(down, times)
    assert indices == np.flatnonzero(~lost).tolist()
    # clouds: long spells lost mid-pass, not only the ends
    c = emu.timeline.contact
    inside = (times > c.aos_s + 5) & (times < c.los_s - 5)
    assert lost[inside].sum() > 20 and (~lost[inside]).sum() > 20


def test_reverse_without_a_channel_passes_unimpaired() -> None:
    async def main() -> list[bytes]:
        loop = asyncio.get_running_loop()
        ground, _ = await loop.create_datagram_endpoint(
            asyncio.DatagramProtocol, local_addr=("127.0.0.1", 0)
        )
        craft, craft_rx = await loop.create_datagram_endpoint(
            _Collector, local_addr=("127.0.0.1", 0)
        )
        link = EmulatedLink(
            Channel(ChannelModel(erasure_probability=1.0), np.random.default_rng(0))
        )
        listen = await link.start_udp(ground.get_extra_info("sockname")[:2])
        assert link.reverse_stats is None
        # nobody has written from the spacecraft side yet: nowhere to send
        ground.sendto(b"early", link.udp_target_side_address)
        await asyncio.sleep(0.01)
        assert link.reverse_undeliverable == 1
        craft.sendto(b"hello", listen)  # lost downstream (erasure 1.0), but now known
        await asyncio.sleep(0.01)
        for k in range(5):
            ground.sendto(bytes([k]), link.udp_target_side_address)
        async with asyncio.timeout(10.0):
            await craft_rx.wait_for(5)
        await link.aclose()
        ground.close()
        craft.close()
        return craft_rx.received

    assert run_virtual(main()) == [bytes([k]) for k in range(5)]


def test_scenario_uplink_key_reaches_the_budget() -> None:
    s = parse_scenario(BASE + "\n[link.uplink]\neirp_dbw = 45.0\nfreq_hz = 7.19e9\n")
    base = PassEmulator(parse_scenario(BASE)).uplink_timeline
    weaker = PassEmulator(s).uplink_timeline
    assert weaker.freq_hz == 7.19e9
    # 10 dB less EIRP and a 7.19/2.05 longer wavelength ratio: 10 + 20 log10(3.507) dB
    drop = 10.0 + 20.0 * np.log10(7.19e9 / 2.05e9)
    np.testing.assert_allclose(base.ebn0_db - weaker.ebn0_db, drop, atol=1e-6)
    with pytest.raises(UsageError, match=r"^link\.uplink\.data_rate_bps must be"):
        parse_scenario(BASE + "\n[link.uplink]\ndata_rate_bps = 0.0\n")
