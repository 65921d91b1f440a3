"""The space link and the ground station of ``dawnlink demo``.

:class:`PassLink` carries the node's TM frames to the gateway: each frame becomes a CADU
(:class:`~comms.coding.CaduEncoder`: RS(255,223) interleave 5, randomizer, ASM;
131.0-B-5), goes through the pass's channel (:meth:`links.emulator.PassEmulator.channel`:
erasure before carrier lock and after LOS, the Viterbi output's bit errors from the
X-band budget along the pass, the light time from the range, plus the scenario's burst
fades), and what arrives is written, at its arrival time, to the station's CADU stream:
a real loopback TCP server that the gateway's station link dials (``kind =
"tcp-cadu"``, ``mode = "connect"``).

Uplink: the gateway dials the station's uplink port and writes CLTUs (231.0-B-4);
:class:`PassLink` cuts the stream into CLTUs (start sequence ``EB 90`` ... tail
sequence), delays each by the light time and hands it to the spacecraft. The uplink
channel is clean (a TC link has tens of dB more margin than the 1.5 Gbit/s downlink).

Loss accounting: for each frame the channel erased, or that arrived with more errors
than Reed-Solomon corrects (checked here with the same decoder the gateway runs), the
link records the frame's (virtual channel, index) so the demo can say which results
went down with it. Time: the channel runs on scenario seconds (since the scenario's
start); the loop's clock is Unix seconds, and ``epoch_unix`` converts.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

import numpy as np

from comms.coding import CaduDecoder, CaduEncoder, CaduFrame, CaduParams
from comms.coding.cltu import CltuStream
from gateway.demo.spacecraft import FRAME_LENGTH, DownlinkFrame
from links.impairments import Channel

__all__ = ["CADU_PARAMS", "LinkCounters", "PassLink"]

#: The CADU coding both ends agree on: RS(255,223) E=16 interleave 5, randomized.
CADU_PARAMS = CaduParams.shortened(FRAME_LENGTH, rs_e=16, interleave=5, randomize=True)


@dataclass(slots=True)
class LinkCounters:
    """What the downlink did to the frames (CADUs) and what the uplink carried."""

    frames_sent: int = 0
    frames_erased_unlocked: int = 0
    frames_erased_fade: int = 0
    frames_delivered: int = 0
    frames_corrupted: int = 0
    frames_rs_corrected: int = 0
    frames_uncorrectable: int = 0
    bit_errors: int = 0
    octets_to_gateway: int = 0
    cltus_up: int = 0
    uplink_octets: int = 0
    #: (vcid, index) of every frame the link lost (erased or beyond RS).
    lost: list[tuple[int, int]] = field(default_factory=list)

    def snapshot(self) -> dict[str, int]:
        return {name: getattr(self, name) for name in self.__slots__ if name != "lost"}


class PassLink:
    """One pass between the node and one ground station (see the module docstring).

    ``channel``: the pass's channel on scenario seconds; ``locked(t)``: the ground
    carrier lock at scenario seconds ``t`` (to tell erasures before lock from fades);
    ``light_time_s(t)``: the one-way light time for the uplink.
    """

    def __init__(
        self,
        channel: Channel,
        *,
        epoch_unix: float,
        locked: Callable[[np.ndarray], np.ndarray],
        light_time_s: Callable[[float], float],
        uplink_sink: Callable[[bytes, float], None] | None = None,
    ) -> None:
        self.channel = channel
        self.epoch_unix = epoch_unix
        self.locked = locked
        self.light_time_s = light_time_s
        self.uplink_sink = uplink_sink
        self.encoder = CaduEncoder(CADU_PARAMS)
        self.check = CaduDecoder(CADU_PARAMS)
        self.counters = LinkCounters()
        self.frame_duration_s = 0.0
        self._writers: list[asyncio.StreamWriter] = []
        self._servers: list[asyncio.Server] = []
        self._tasks: set[asyncio.Task[None]] = set()
        self._link_free = -np.inf
        self.connected = asyncio.Event()
        self.uplink_connected = asyncio.Event()
        #: Deliveries scheduled but not yet written.
        self.in_flight = 0

    # -- sockets ---------------------------------------------------------------------

    async def start(self, host: str = "127.0.0.1") -> tuple[int, int]:
        """Open the station's downlink (CADU stream) and uplink (CLTU) ports; returns
        them. The gateway dials both."""
        down = await asyncio.start_server(self._downlink_client, host, 0)
        up = await asyncio.start_server(self._uplink_client, host, 0)
        self._servers = [down, up]
        return down.sockets[0].getsockname()[1], up.sockets[0].getsockname()[1]

    async def _downlink_client(
        self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter
    ) -> None:
        self._writers.append(writer)
        self.connected.set()
        try:
            # The gateway sends nothing on this connection; EOF means it went away.
            await reader.read()
        finally:
            self._writers.remove(writer)
            writer.close()

    async def _uplink_client(
        self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter
    ) -> None:
        self.uplink_connected.set()
        # The ground station cuts CLTUs out of the stream as they arrive (each goes up
        # whole); the node decodes them again on board.
        stream = CltuStream()
        loop = asyncio.get_running_loop()
        try:
            while chunk := await reader.read(65536):
                self.counters.uplink_octets += len(chunk)
                for cltu, _ in stream.feed(chunk):
                    self.counters.cltus_up += 1
                    now = loop.time()
                    delay = self.light_time_s(now - self.epoch_unix)
                    loop.call_at(now + delay, self._uplink_arrives, cltu)
        except (OSError, asyncio.IncompleteReadError):
            pass
        finally:
            writer.close()

    def _uplink_arrives(self, cltu: bytes) -> None:
        if self.uplink_sink is not None:
            self.uplink_sink(cltu, asyncio.get_running_loop().time())

    async def aclose(self) -> None:
        for server in self._servers:
            server.close()
        for writer in list(self._writers):
            writer.close()
        for server in self._servers:
            with contextlib.suppress(Exception):
                await server.wait_closed()

    # -- downlink --------------------------------------------------------------------

    def radiate(self, frames: Sequence[DownlinkFrame], now: float, rate_bps: float) -> None:
        """Send ``frames`` back to back at ``rate_bps`` from ``now`` (Unix seconds)."""
        if not frames:
            return
        counters = self.counters
        rows = self.encoder.encode_many([f.data for f in frames])
        duration = 8.0 * rows.shape[1] / rate_bps
        self.frame_duration_s = duration
        start = max(now, self._link_free)
        send_unix = start + duration * np.arange(len(frames), dtype=np.float64)
        self._link_free = float(send_unix[-1] + duration)
        t_scn = send_unix - self.epoch_unix
        batch = self.channel.process(rows, t_scn)
        counters.frames_sent += len(frames)
        if batch.lost_index.size:
            unlocked = ~np.asarray(self.locked(t_scn[batch.lost_index]), dtype=bool)
            n_unlocked = int(np.count_nonzero(unlocked))
            counters.frames_erased_unlocked += n_unlocked
            counters.frames_erased_fade += int(batch.lost_index.size) - n_unlocked
            for i in batch.lost_index.tolist():
                self._lost(frames[i])
        delivered = batch.frames
        assert isinstance(delivered, np.ndarray)
        counters.frames_delivered += len(batch)
        counters.bit_errors += int(batch.bit_errors.sum())
        for k in np.flatnonzero(batch.bit_errors).tolist():
            counters.frames_corrupted += 1
            # The gateway's decoder will say the same; decoding here names the frame.
            result = self.check.decode(delivered[k].tobytes())
            if isinstance(result, CaduFrame):
                counters.frames_rs_corrected += 1
            else:
                counters.frames_uncorrectable += 1
                self._lost(frames[int(batch.source_index[k])])
        if len(batch):
            # One write per radiated batch, at its last arrival: the station forwards
            # in chunks, as a real one does (per-CADU timers would cost one virtual
            # clock jump each for nothing the gateway could see).
            at = self.epoch_unix + float(batch.delivery_times_s[-1])
            self.in_flight += 1
            asyncio.get_running_loop().call_at(at, self._deliver, delivered.tobytes())

    def _lost(self, frame: DownlinkFrame) -> None:
        self.counters.lost.append((frame.vcid, frame.index))

    def _deliver(self, data: bytes) -> None:
        self.in_flight -= 1
        self.counters.octets_to_gateway += len(data)
        for writer in self._writers:
            writer.write(data)
