"""One pass emulated in process: real frames through the pass's channel, and the report.

:class:`PassEmulator` takes a :class:`~links.scenario.Scenario` (the satellite, the
station and the link) and

1. samples the link along the pass (:func:`~links.timeline.link_timeline`): carrier
   lock, and the bit error rate (RF) or received power (optical) the CADUs see;
2. builds real CADUs from real Space Packets (:class:`~comms.vc.VcPacketSender` ->
   :class:`~comms.coding.CaduEncoder`), sent back to back at ``link.data_rate_bps``
   from AOS to LOS, and moves them in numpy batches through
   :meth:`~links.impairments.Channel.process`, whose model is the pass
   (:meth:`PassEmulator.channel_model`): bit errors at the sampled BER, erasure outside
   lock (and in optical fades), the light time, plus the scenario's extra impairments;
3. decodes at the receiver (:class:`~comms.coding.CaduDecoder` on the delivered byte
   stream -> :class:`~comms.vc.MasterChannelReceiver`), checks every packet's content,
   and reports (:class:`EmulationReport`): frames sent, lost (outside lock, or in the
   channel), delivered, corrupted (Reed-Solomon corrected or uncorrectable), packets
   delivered intact, throughput, lock acquisition, and per-interval statistics.

Time here is scenario seconds since the search start; nothing waits, so a pass runs as
fast as numpy and the decoders go (virtual time in its simplest form). The same seed
gives the same report. :meth:`PassEmulator.channel` and
:meth:`PassEmulator.uplink_channel` give channels on the pass for other drivers (the
socket forwarder, :class:`~links.emulated_link.EmulatedLink`).

Bit errors are independent per bit at the sampled BER. Left out: the burstiness of a
Viterbi decoder's output errors (real RS(255,223)+conv links see bursts, which
interleaving spreads; independent errors are kinder to Reed-Solomon), bit slips, uplink
frames in process (the uplink is a channel for the socket forwarder; TC and COP-1 run
in :mod:`comms`).
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import numpy.typing as npt

from comms.coding import CaduDecoder, CaduEncoder, CaduFrame, CaduParams, UncorrectableCodeblock
from comms.errors import UsageError
from comms.frames import TmParams
from comms.spp import SpacePacket
from comms.vc import FrameGap, MasterChannelReceiver, VcPacketSender
from links.fading import CloudField
from links.impairments import Channel, ChannelModel, GilbertElliott
from links.optical import OpticalLink, photons_per_bit
from links.passes import Pass
from links.scenario import Scenario
from links.span import build_satellite, build_station, scenario_cloud_field
from links.timeline import LinkTimeline, link_timeline
from links.times import FloatArray

__all__ = ["DEFAULT_BATCH_FRAMES", "EmulationReport", "IntervalStats", "PassEmulator"]

IntArray = npt.NDArray[np.int64]
BoolArray = npt.NDArray[np.bool_]

# Frames per Channel.process batch: large enough that numpy's per-call overhead is
# small (~3 % at 4096), small enough that a batch of 1279-octet CADUs stays in L2/L3.
DEFAULT_BATCH_FRAMES = 4096
# Idle filler octet of the test packets: a fixed, recognizable pattern after the
# 8-octet packet index, so every delivered packet can be checked octet for octet.
_FILL = 0xA5


# --- the report ----------------------------------------------------------------------


@dataclass(frozen=True)
class IntervalStats:
    """Per-interval counts (arrays (K,)): interval k covers
    [``start_s[k]``, ``start_s[k]`` + width) of send times, seconds since AOS."""

    start_s: FloatArray
    sent: IntArray
    lost: IntArray
    delivered: IntArray
    corrupted: IntArray
    uncorrectable: IntArray
    packets_delivered: IntArray

    def to_dict(self) -> dict[str, list[float] | list[int]]:
        return {
            "start_s": [round(float(x), 3) for x in self.start_s],
            "sent": self.sent.tolist(),
            "lost": self.lost.tolist(),
            "delivered": self.delivered.tolist(),
            "corrupted": self.corrupted.tolist(),
            "uncorrectable": self.uncorrectable.tolist(),
            "packets_delivered": self.packets_delivered.tolist(),
        }


@dataclass(frozen=True)
class EmulationReport:
    """What one emulated pass delivered (see the module docstring).

    Frames are CADUs. ``frames_lost`` = ``frames_lost_unlocked`` (sent while the ground
    receiver had no carrier lock) + ``frames_lost_channel`` (erased by fades, bursts or
    erasures while locked). ``frames_corrupted`` arrived with bit errors: Reed-Solomon
    corrected ``frames_rs_corrected`` of them, ``frames_uncorrectable`` it could not;
    ``frames_fecf_failed`` failed the frame CRC after decoding. ``packets_damaged``
    arrived but differ from what was sent (RS miscorrection passing the FECF).
    ``throughput_bps`` is the packet octets delivered intact per second of pass.
    """

    scenario: str
    satellite: str
    station: str
    link_type: str
    seed: int
    aos_utc: str
    los_utc: str
    duration_s: float
    max_elevation_deg: float
    data_rate_bps: float
    link_rate_bps: float
    frames_sent: int
    frames_lost: int
    frames_lost_unlocked: int
    frames_lost_channel: int
    frames_delivered: int
    frames_corrupted: int
    frames_rs_corrected: int
    frames_uncorrectable: int
    frames_fecf_failed: int
    frames_decoded: int
    frame_gaps: int
    packets_sent: int
    packets_delivered: int
    packets_damaged: int
    throughput_bps: float
    lock_acquisition_s: float | None
    locked_s: float
    lock_losses: int
    bit_errors: int
    intervals: IntervalStats = field(repr=False)

    def to_dict(self, *, intervals: bool = True) -> dict[str, Any]:
        out: dict[str, Any] = {}
        for name in self.__dataclass_fields__:
            if name == "intervals":
                continue
            value = getattr(self, name)
            out[name] = round(value, 6) if isinstance(value, float) else value
        if intervals:
            out["intervals"] = self.intervals.to_dict()
        return out

    def summary(self) -> str:
        """A human-readable multi-line report."""

        def pct(n: int) -> str:
            return f"{100.0 * n / self.frames_sent:.2f} %" if self.frames_sent else "-"

        acq = (
            "never"
            if self.lock_acquisition_s is None
            else f"{self.lock_acquisition_s:.1f} s after AOS"
        )
        rate = "optical" if self.link_type == "optical" else "RF"
        return "\n".join(
            [
                f"{self.scenario}: {self.satellite} over {self.station} ({rate}, seed {self.seed})",
                f"  pass        AOS {self.aos_utc}  LOS {self.los_utc}  "
                f"{self.duration_s:.0f} s, max elevation {self.max_elevation_deg:.1f} deg",
                f"  rates       emulated {self.data_rate_bps / 1e6:g} Mbit/s, "
                f"link budget at {self.link_rate_bps / 1e6:g} Mbit/s",
                f"  lock        acquired {acq}, locked {self.locked_s:.1f} s, "
                f"{self.lock_losses} loss(es)",
                f"  frames      sent {self.frames_sent}, delivered {self.frames_delivered}, "
                f"lost {self.frames_lost} ({pct(self.frames_lost)}: "
                f"{self.frames_lost_unlocked} unlocked, {self.frames_lost_channel} channel)",
                f"  corrupted   {self.frames_corrupted} ({self.bit_errors} bit errors): "
                f"{self.frames_rs_corrected} RS-corrected, {self.frames_uncorrectable} "
                f"uncorrectable, {self.frames_fecf_failed} FECF failures",
                f"  decoded     {self.frames_decoded} frames, {self.frame_gaps} VC gap(s)",
                f"  packets     sent {self.packets_sent}, delivered intact "
                f"{self.packets_delivered}, damaged {self.packets_damaged}",
                f"  throughput  {self.throughput_bps / 1e6:.3f} Mbit/s of packets over the pass",
            ]
        )


# --- the emulator --------------------------------------------------------------------


class _Source:
    """Real CADUs from real Space Packets: packet k carries its index k in its first
    8 data octets and a fixed fill after, so the receiver can check every octet."""

    def __init__(self, scenario: Scenario) -> None:
        fr = scenario.frames
        self.tm = TmParams(fr.frame_length)
        self.sender = VcPacketSender(self.tm, fr.scid, fr.vcid)
        self.cadu = (
            CaduParams.shortened(
                fr.frame_length, rs_e=fr.rs_e, interleave=fr.interleave, randomize=fr.randomize
            )
            if fr.rs_e
            else CaduParams(fr.frame_length, randomize=fr.randomize, rs_e=None)
        )
        self.encoder = CaduEncoder(self.cadu)
        self.apid = fr.apid
        self.data_length = fr.packet_length - 6
        if self.data_length < 8:
            raise UsageError("frames.packet_length must be at least 14 (6 header + 8 index).")
        self.fill = bytes([_FILL]) * (self.data_length - 8)
        self.next_packet = 0
        self._frames: list[bytes] = []

    def cadus(self, n: int) -> npt.NDArray[np.uint8]:
        per = self.sender.data_length
        while len(self._frames) < n:
            need = (n - len(self._frames)) * per // (self.data_length + 6) + 2
            k0 = self.next_packet
            packets = [
                SpacePacket(
                    apid=self.apid,
                    data=k.to_bytes(8, "big") + self.fill,
                    sequence_count=k & 0x3FFF,
                )
                for k in range(k0, k0 + need)
            ]
            self.next_packet += need
            self._frames.extend(self.sender.add_packets(packets))
        out, self._frames = self._frames[:n], self._frames[n:]
        return self.encoder.encode_many(out)


class _Sink:
    """The ground receiver: CADU stream -> frames -> packets, with content checks."""

    def __init__(self, scenario: Scenario, source: _Source) -> None:
        fr = scenario.frames
        self.decoder = CaduDecoder(source.cadu)
        self.receiver = MasterChannelReceiver(source.tm, fr.scid, vcids=[fr.vcid])
        self.cadu_bits = 8 * source.cadu.cadu_length
        self.fill = source.fill
        self.apid = source.apid
        self.seen: set[int] = set()
        self.damaged = 0
        self.gaps = 0

    def feed(
        self, rows: npt.NDArray[np.uint8], *, final: bool = False
    ) -> tuple[IntArray, IntArray, list[int]]:
        """Decode delivered CADUs (``final``: and the end of the stream); returns the
        delivery indices (since the start) of the CADUs Reed-Solomon corrected and of
        those it could not, and the indices of packets first delivered intact."""
        events = self.decoder.feed(rows.tobytes()) if rows.size else []
        if final:
            events += self.decoder.close()
        good: list[bytes] = []
        fixed: list[int] = []
        failed: list[int] = []
        bits = self.cadu_bits
        for ev in events:
            if isinstance(ev, CaduFrame):
                good.append(ev.data)
                if ev.corrected:
                    fixed.append(ev.bit_offset // bits)
            elif isinstance(ev, UncorrectableCodeblock):
                failed.append(ev.bit_offset // bits)
        rx = self.receiver
        if good:
            rx.receive_many(b"".join(good))
        self.gaps += sum(isinstance(e, FrameGap) for e in rx.events())
        fresh: list[int] = []
        apid, fill, seen = self.apid, self.fill, self.seen
        for p in rx.packets():
            data = p.data
            if not isinstance(p, SpacePacket) or p.apid != apid or data[8:] != fill:
                self.damaged += 1
                continue
            k = int.from_bytes(data[:8], "big")
            if (k & 0x3FFF) != p.sequence_count:
                self.damaged += 1
            elif k not in seen:
                seen.add(k)
                fresh.append(k)
        return np.asarray(fixed, dtype=np.int64), np.asarray(failed, dtype=np.int64), fresh


class PassEmulator:
    """One scenario's pass, emulated in process (see the module docstring).

    ``timeline`` is the sampled link; :meth:`run` moves the frames and returns the
    report; :meth:`channel` builds a fresh :class:`Channel` on the pass for other
    drivers (the socket forwarder), :meth:`uplink_channel` one for the uplink. Seeds:
    the channel, the fades and nothing else draw randomness, each from its own stream
    of ``scenario.seed``.

    By default the pass is ``link.pass_index`` over ``link.station``; ``contact`` runs
    another (a :class:`~links.passes.Pass` of :func:`scenario_passes`), ``stream``
    gives its randomness streams of their own, and ``cloud_field`` shares one
    correlated sky between passes (:func:`scenario_cloud_field`).
    """

    def __init__(
        self,
        scenario: Scenario,
        *,
        batch_frames: int = DEFAULT_BATCH_FRAMES,
        contact: Pass | None = None,
        stream: int = 0,
        cloud_field: CloudField | None = None,
    ) -> None:
        if batch_frames < 1:
            raise UsageError(f"batch_frames must be >= 1, got {batch_frames}.")
        if stream < 0:
            raise UsageError(f"stream must be >= 0, got {stream}.")
        self.scenario = scenario
        self.batch_frames = batch_frames
        # stream 0 keeps the seeds of a single-pass run; pass k of a schedule uses k + 1
        self._seed: list[int] = [scenario.seed] if stream == 0 else [scenario.seed, 1000 + stream]
        if contact is None:
            self.satellite = build_satellite(scenario)
            self.station = build_station(scenario)
        else:
            self.satellite = build_satellite(scenario, contact.satellite)
            self.station = build_station(scenario, contact.station)
        if cloud_field is None:
            cloud_field = scenario_cloud_field(scenario)
        clouds = None
        if cloud_field is not None:
            names = [st.name for st in scenario.stations]
            clouds = cloud_field.station(names.index(self.station.name))
        self.timeline = link_timeline(
            scenario,
            satellite=self.satellite,
            station=self.station,
            contact=contact,
            rng=np.random.default_rng([*self._seed, 1]),
            clouds=clouds,
        )
        self._uplink: LinkTimeline | None = None
        self._source_probe = _Source(scenario)
        self.cadu_length = self._source_probe.cadu.cadu_length
        self.frame_duration_s = 8.0 * self.cadu_length / scenario.link.data_rate_bps

    @property
    def link_rate_bps(self) -> float:
        link = self.scenario.link
        return link.optical.link_rate_bps if link.type == "optical" else link.rf.link_rate_bps

    def channel_model(self) -> ChannelModel:
        """The pass as a :class:`ChannelModel` on scenario time (seconds since the
        search start): BER and light time interpolated from the timeline, frames
        erased outside [AOS, LOS], out of lock and (optical) in fades."""
        tl = self.timeline
        ch = self.scenario.channel
        t_s, lt = tl.t_s, tl.light_time_s
        aos, los = tl.contact.aos_s, tl.contact.los_s
        series = tl.optical
        if series is None:
            log_ber = np.log10(np.maximum(tl.ber, 1e-30))

            def ber(t: FloatArray) -> FloatArray:
                return np.asarray(10.0 ** np.interp(t, t_s, log_ber))

            def erased(t: FloatArray) -> BoolArray:
                return ~tl.locked_at(t) | (t < aos) | (t > los)

        else:
            detector = OpticalLink().detector
            oc = self.scenario.link.optical
            st, pw = series.t_s, series.power_w
            threshold = tl.optical_threshold_w

            def ber(t: FloatArray) -> FloatArray:
                n = photons_per_bit(np.interp(t, st, pw), oc.link_rate_bps, oc.wavelength_m)
                return np.asarray(np.minimum(detector.ber(n), 0.5))

            def erased(t: FloatArray) -> BoolArray:
                faded = np.interp(t, st, pw) < threshold
                return ~tl.locked_at(t) | (t < aos) | (t > los) | faded

        burst = (
            GilbertElliott.from_loss(ch.burst_loss_rate, ch.burst_length)
            if ch.burst_loss_rate > 0.0
            else None
        )
        return ChannelModel(
            ber=ber,
            burst=burst,
            erasure_probability=ch.erasure_probability,
            erasure_mask=erased,
            delay_s=ch.delay_s,
            light_time_s=lambda t: np.interp(t, t_s, lt),
            duplicate_probability=ch.duplicate_probability,
            reorder_probability=ch.reorder_probability,
            reorder_delay_s=ch.reorder_delay_s,
        )

    def channel(self, rng: np.random.Generator | None = None) -> Channel:
        """A fresh channel on :meth:`channel_model` (default: seeded from the scenario)."""
        gen = np.random.default_rng([*self._seed, 2]) if rng is None else rng
        return Channel(self.channel_model(), gen)

    @property
    def uplink_timeline(self) -> LinkTimeline:
        """The uplink sampled along the same pass (``link.uplink``; computed once)."""
        if self._uplink is None:
            self._uplink = link_timeline(
                self.scenario,
                satellite=self.satellite,
                station=self.station,
                contact=self.timeline.contact,
                uplink=True,
            )
        return self._uplink

    def uplink_channel_model(self) -> ChannelModel:
        """The uplink of the pass as a :class:`ChannelModel` on scenario time: the BER of
        uncoded BPSK at the uplink budget's Eb/N0, frames erased outside [AOS, LOS] and
        while the spacecraft receiver has no lock, the light time. The ``[channel]``
        extras describe the downlink and are not applied."""
        tl = self.uplink_timeline
        t_s, lt = tl.t_s, tl.light_time_s
        aos, los = tl.contact.aos_s, tl.contact.los_s
        log_ber = np.log10(np.maximum(tl.ber, 1e-30))

        def ber(t: FloatArray) -> FloatArray:
            return np.asarray(10.0 ** np.interp(t, t_s, log_ber))

        def erased(t: FloatArray) -> BoolArray:
            return ~tl.locked_at(t) | (t < aos) | (t > los)

        return ChannelModel(
            ber=ber, erasure_mask=erased, light_time_s=lambda t: np.interp(t, t_s, lt)
        )

    def uplink_channel(self, rng: np.random.Generator | None = None) -> Channel:
        """A fresh channel on :meth:`uplink_channel_model` (default: seeded from the
        scenario, a stream of its own), for :class:`EmulatedLink`'s reverse direction."""
        gen = np.random.default_rng([*self._seed, 3]) if rng is None else rng
        return Channel(self.uplink_channel_model(), gen)

    def send_times(self) -> FloatArray:
        """When each frame goes out: back to back at the data rate, AOS to LOS."""
        c = self.timeline.contact
        n = int((c.los_s - c.aos_s) / self.frame_duration_s)
        return c.aos_s + self.frame_duration_s * np.arange(n, dtype=np.float64)

    def run(self, progress: Callable[[float], None] | None = None) -> EmulationReport:
        """Emulate the pass; ``progress(fraction)`` is called after every batch."""
        scenario = self.scenario
        tl = self.timeline
        contact = tl.contact
        source = _Source(scenario)
        sink = _Sink(scenario, source)
        channel = self.channel()
        send = self.send_times()
        n = send.size
        width = scenario.link.interval_s
        bins = max(1, math.ceil(contact.duration_s / width))
        interval = np.minimum(((send - contact.aos_s) // width).astype(np.int64), bins - 1)
        lost = np.zeros(n, dtype=bool)
        delivered = np.zeros(bins, dtype=np.int64)
        corrupted = np.zeros(bins, dtype=np.int64)
        uncorrectable = np.zeros(bins, dtype=np.int64)
        pk_bins = np.zeros(bins, dtype=np.int64)
        n_corrupted = n_fixed = n_failed = n_delivered = bits = 0
        per_packet_frames = (scenario.frames.packet_length) / source.sender.data_length
        # source index of every delivery, in delivery (= stream) order
        delivered_src: list[IntArray] = []
        empty = np.empty((0, self.cadu_length), dtype=np.uint8)
        for first in range(0, max(n, 1), self.batch_frames):
            last = min(n, first + self.batch_frames)
            if last > first:
                rows = source.cadus(last - first)
                batch = channel.process(rows, send[first:last])
                lost[first + batch.lost_index] = True
                src = first + batch.source_index
                frames = batch.frames
                assert isinstance(frames, np.ndarray)
                hit = batch.bit_errors > 0
                delivered_src.append(src)
                n_delivered += src.size
                n_corrupted += int(np.count_nonzero(hit))
                bits += int(batch.bit_errors.sum())
                np.add.at(delivered, interval[src], 1)
                np.add.at(corrupted, interval[src[hit]], 1)
            else:
                frames = empty
            fixed, failed, fresh = sink.feed(frames, final=last >= n)
            n_fixed += fixed.size
            n_failed += failed.size
            if failed.size:
                all_src = np.concatenate(delivered_src)
                np.add.at(uncorrectable, interval[all_src[np.minimum(failed, all_src.size - 1)]], 1)
            if fresh:
                # a packet counts in the interval of the frame that completed it
                ends = np.minimum(
                    ((np.asarray(fresh) + 1) * per_packet_frames).astype(np.int64), n - 1
                )
                np.add.at(pk_bins, interval[ends], 1)
            if progress is not None:
                progress(last / n if n else 1.0)
        unlocked = lost & ~tl.locked_at(send)
        n_lost = int(np.count_nonzero(lost))
        n_unlocked = int(np.count_nonzero(unlocked))
        data_length = source.sender.data_length
        packets_sent = n * data_length // scenario.frames.packet_length
        packets_ok = len(sink.seen)
        counters = sink.receiver.counters
        first_lock = tl.lock.first_lock_s
        epoch = contact.epoch
        return EmulationReport(
            scenario=scenario.name,
            satellite=contact.satellite,
            station=contact.station,
            link_type=scenario.link.type,
            seed=scenario.seed,
            aos_utc=f"{contact.aos:%Y-%m-%dT%H:%M:%S}Z",
            los_utc=f"{epoch.datetime(contact.los_s):%Y-%m-%dT%H:%M:%S}Z",
            duration_s=contact.duration_s,
            max_elevation_deg=contact.max_elevation_deg,
            data_rate_bps=scenario.link.data_rate_bps,
            link_rate_bps=self.link_rate_bps,
            frames_sent=n,
            frames_lost=n_lost,
            frames_lost_unlocked=n_unlocked,
            frames_lost_channel=n_lost - n_unlocked,
            frames_delivered=n_delivered,
            frames_corrupted=n_corrupted,
            frames_rs_corrected=n_fixed,
            frames_uncorrectable=n_failed,
            frames_fecf_failed=counters.crc_failures,
            frames_decoded=sink.decoder.counters.frames,
            frame_gaps=sink.gaps,
            packets_sent=packets_sent,
            packets_delivered=packets_ok,
            packets_damaged=sink.damaged,
            throughput_bps=8.0 * packets_ok * scenario.frames.packet_length / contact.duration_s
            if contact.duration_s > 0
            else 0.0,
            lock_acquisition_s=None if first_lock is None else first_lock - contact.aos_s,
            locked_s=tl.lock.locked_time_s,
            lock_losses=tl.lock.losses,
            bit_errors=bits,
            intervals=IntervalStats(
                start_s=width * np.arange(bins, dtype=np.float64),
                sent=np.bincount(interval, minlength=bins).astype(np.int64),
                lost=np.bincount(interval[lost], minlength=bins).astype(np.int64),
                delivered=delivered,
                corrupted=corrupted,
                uncorrectable=uncorrectable,
                packets_delivered=pk_bins,
            ),
        )
