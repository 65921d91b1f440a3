"""The orbital compute node of ``dawnlink demo``: results in, TM transfer frames out,
CLTUs in.

Downlink (ARCHITECTURE.md "The two paths"):

- :class:`ResultGenerator`: a stream of small JSON results (one every
  ``1 / rate_hz`` seconds, seeded), each a Space Packet (133.0-B-2) of
  :data:`RESULTS_APID` on virtual channel :data:`RESULTS_VCID`;
- result files (:func:`make_result_files`, real files of seeded pseudo-random octets)
  sent by a CFDP source entity (727.0-B-5, the sans-I/O :class:`comms.cfdp.Entity` on a
  :class:`~comms.cfdp.DiskFilestore`), one PDU per Space Packet of
  :data:`CFDP_DOWN_APID`, on virtual channel :data:`FILES_VCID`;
- a :class:`~comms.vc.MasterChannelMux` (strict priority: results first) packs them
  into 1115-octet TM frames (132.0-B-3) with the FARM's CLCW in the OCF; the caller's
  link turns frames into CADUs (:class:`~comms.coding.CaduEncoder`: RS(255,223) I=5,
  randomizer, ASM, 131.0-B-5).

:meth:`Spacecraft.transmit` hands out at most the frames the downlink can carry in a
tick, pulling CFDP PDUs only while the files channel has room (flow control: the entity
never runs ahead of the radio), and an idle frame when nothing else is due.

Uplink: :meth:`Spacecraft.receive_cltu` decodes a CLTU (231.0-B-4, BCH error
correction), the TC frame in it (232.0-B-4) and hands it to FARM-1 (232.1-B-2); the
accepted frames' Space Packets of :data:`CFDP_UP_APID` go to the CFDP entity (class 2
ACK, NAK and Finished PDUs). The next frames carry the FARM's CLCW.

Loss accounting: every frame handed out is a :class:`DownlinkFrame` that names its
virtual channel and its index on that channel; :attr:`Spacecraft.results_in_frame`
says which results each results-channel frame carried (a part of), so the demo can
tell a result lost with a frame the link erased from one lost on the ground.

Time is an argument (``now``, Unix seconds UTC on the demo's virtual clock); nothing
here reads a clock or does I/O except the CFDP filestore and :func:`make_result_files`.
"""

from __future__ import annotations

import hashlib
import json
import random
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Final

from comms.cfdp import (
    DiskFilestore,
    Entity,
    LocalEntityConfig,
    Mib,
    PutRequest,
    RemoteEntityConfig,
    TransactionFinished,
    TransactionId,
    TransmissionMode,
)
from comms.cfdp.events import CfdpEvent
from comms.coding import cltu_decode
from comms.cop1 import Farm
from comms.errors import CommsError
from comms.frames import TcFrame, TcParams, TmParams
from comms.spp import PacketType, SpacePacket
from comms.vc import MasterChannelMux, MuxPolicy
from comms.vc.sender import VcPacketSender

__all__ = [
    "CFDP_DOWN_APID",
    "CFDP_UP_APID",
    "FILES_VCID",
    "FRAME_LENGTH",
    "GROUND_ENTITY_ID",
    "RESULTS_APID",
    "RESULTS_VCID",
    "SCID",
    "SPACECRAFT_ENTITY_ID",
    "TC_VCID",
    "DownlinkFrame",
    "OnboardCounters",
    "ResultFile",
    "ResultGenerator",
    "Spacecraft",
    "make_result_files",
]

#: The node's spacecraft id (10 bits in TM) and the demo's channel plan.
SCID: Final = 42
RESULTS_VCID: Final = 1
FILES_VCID: Final = 2
TC_VCID: Final = 0
RESULTS_APID: Final = 100
CFDP_DOWN_APID: Final = 0x120
CFDP_UP_APID: Final = 0x121
#: CFDP entity ids: the node and the ground (the gateway's entity).
SPACECRAFT_ENTITY_ID: Final = 2
GROUND_ENTITY_ID: Final = 1
#: The common 1115-octet TM frame: 5 RS(255,223) codewords at interleave 5 (131.0-B-5).
FRAME_LENGTH: Final = 1115
#: A CFDP PDU rides in one Space Packet (comms.aio.cfdp): 1024 octets plus the 6-octet
#: packet header is just under one frame's 1105-octet data field, so a PDU spans at
#: most two frames and a lost frame costs at most two PDUs.
MAX_PDU_LENGTH: Final = 1024


@dataclass(frozen=True)
class ResultFile:
    """A result file on board: its CFDP name, where it is, its size and SHA-256."""

    name: str
    path: Path
    size: int
    sha256: str


def make_result_files(
    directory: Path, count: int, size: int, rng: random.Random
) -> list[ResultFile]:
    """``count`` files of ``size`` octets of seeded pseudo-random data in ``directory``
    (incompressible, like a model checkpoint shard), with their checksums."""
    directory.mkdir(parents=True, exist_ok=True)
    files = []
    for i in range(count):
        name = f"result-{i + 1:03d}.bin"
        data = rng.randbytes(size)
        path = directory / name
        path.write_bytes(data)
        files.append(ResultFile(name, path, size, hashlib.sha256(data).hexdigest()))
    return files


class ResultGenerator:
    """Small JSON results at ``rate_hz`` from ``start`` (seeded): what a batch of
    inference jobs on the node reports. Result ``seq`` is made at ``start + seq / rate_hz``."""

    def __init__(self, rate_hz: float, rng: random.Random, start: float) -> None:
        if not rate_hz > 0:
            raise ValueError(f"rate_hz must be > 0, got {rate_hz!r}")
        self.rate_hz = rate_hz
        self.rng = rng
        self.start = start
        self.next_seq = 0
        #: Generation time of every result made so far, by seq.
        self.made: dict[int, float] = {}

    def due(self, now: float) -> list[dict[str, Any]]:
        """The results made up to ``now`` and not handed out before."""
        out = []
        rng = self.rng
        while self.start + self.next_seq / self.rate_hz <= now:
            seq = self.next_seq
            t = self.start + seq / self.rate_hz
            self.made[seq] = t
            out.append(
                {
                    "seq": seq,
                    "t": round(t, 6),
                    "job": f"job-{seq // 64:04d}",
                    "node": f"dawn-1/gpu{rng.randrange(8)}",
                    "model": "cloudmask-v3",
                    "tile": [rng.randrange(4096), rng.randrange(4096)],
                    "cloud_fraction": round(rng.random(), 4),
                    "confidence": round(0.5 + 0.5 * rng.random(), 4),
                }
            )
            self.next_seq += 1
        return out


@dataclass(frozen=True, slots=True)
class DownlinkFrame:
    """One TM frame handed to the radio: its octets, virtual channel and index on it."""

    data: bytes
    vcid: int
    index: int


@dataclass(slots=True)
class OnboardCounters:
    results: int = 0
    frames: int = 0
    idle_frames: int = 0
    cfdp_pdus_down: int = 0
    #: File octets in File Data PDUs sent: beyond the files' sizes, retransmissions.
    file_data_octets: int = 0
    cltus: int = 0
    cltus_rejected: int = 0
    tc_frames_accepted: int = 0
    tc_control_frames: int = 0
    tc_frames_rejected: int = 0
    cfdp_pdus_up: int = 0
    cfdp_rejected: int = 0


@dataclass(slots=True)
class _Channel:
    """Per-VC bookkeeping: frames packed so far and frames handed out so far."""

    sender: VcPacketSender
    emitted: int = 0


class Spacecraft:
    """The node (see the module docstring).

    ``files`` are sent to entity :data:`GROUND_ENTITY_ID` when :meth:`start` is called,
    ``acknowledged`` selects CFDP class 2 (needs the uplink) or class 1 (unacknowledged).
    ``cfdp_timers_s``: the ACK and NAK timer intervals (727.0-B-5 4.6.4.3.4, 4.6.5.1),
    a few round trips of the pass's light time plus the onboard queueing.
    """

    def __init__(
        self,
        files: Sequence[ResultFile],
        filestore_root: Path,
        *,
        results: ResultGenerator,
        acknowledged: bool,
        cfdp_timers_s: float = 5.0,
    ) -> None:
        self.files = list(files)
        self.results = results
        self.acknowledged = acknowledged
        self.counters = OnboardCounters()
        self.tm = TmParams(frame_length=FRAME_LENGTH, has_ocf=True, has_fecf=True)
        self.mux = MasterChannelMux(self.tm, SCID, policy=MuxPolicy.STRICT_PRIORITY)
        self._channels = {
            vcid: _Channel(self.mux.add_virtual_channel(vcid, priority=prio))
            for vcid, prio in ((RESULTS_VCID, 0), (FILES_VCID, 1))
        }
        #: Results VC frame index -> seqs of the results with octets in that frame.
        self.results_in_frame: dict[int, tuple[int, ...]] = {}
        remote = RemoteEntityConfig(
            GROUND_ENTITY_ID,
            max_pdu_length=MAX_PDU_LENGTH,
            default_transmission_mode=TransmissionMode.ACKNOWLEDGED
            if acknowledged
            else TransmissionMode.UNACKNOWLEDGED,
            ack_timer_interval=cfdp_timers_s,
            nak_timer_interval=cfdp_timers_s,
            # A pass is minutes long; a transaction idle that long has lost its link.
            inactivity_timer_interval=120.0,
            ack_limit=8,
            nak_limit=8,
        )
        mib = Mib(
            LocalEntityConfig(SPACECRAFT_ENTITY_ID, file_segment_recv_indication=False),
            {GROUND_ENTITY_ID: remote},
        )
        self.cfdp = Entity(mib, DiskFilestore(filestore_root))
        self.transactions: dict[TransactionId, ResultFile] = {}
        #: How each file's transaction ended at the source (class 2: Finished received).
        self.finished: dict[str, TransactionFinished] = {}
        self.farm = Farm(TC_VCID)
        self.tc_params = TcParams(has_fecf=True, has_segment_header=False)
        self.mux.set_clcw(self.farm.clcw())

    # -- downlink --------------------------------------------------------------------

    def start(self, now: float) -> None:
        """Put.request for every file (all in parallel; CFDP interleaves them)."""
        for f in self.files:
            tid = self.cfdp.put(
                PutRequest(
                    GROUND_ENTITY_ID,
                    f.name,
                    f.name,
                    transmission_mode=TransmissionMode.ACKNOWLEDGED
                    if self.acknowledged
                    else TransmissionMode.UNACKNOWLEDGED,
                    closure_requested=False,
                ),
                now,
            )
            self.transactions[tid] = f

    def transmit(self, now: float, max_frames: int, *, results: bool = True) -> list[DownlinkFrame]:
        """Up to ``max_frames`` frames for the radio now (at least one: idle if nothing
        else). ``results``: hand out the results made up to ``now`` (False holds them)."""
        self._cfdp_timers(now)
        if results:
            self._queue_results(now)
        # Pull PDUs only while less than a tick's worth of frames is queued: the entity
        # must not run ahead of the radio (its timers start when a PDU is handed out).
        while self.mux.queued < max_frames:
            pdus = self.cfdp.pdus_to_send()
            if not pdus:
                # A directive (ACK, EOF, a last segment) must not wait in a part-filled
                # frame for data that may never come: close the frame with idle fill.
                self.mux.flush(FILES_VCID)
                break
            for _, pdu in pdus:
                self.mux.add_packet(FILES_VCID, SpacePacket(apid=CFDP_DOWN_APID, data=pdu))
                self.counters.file_data_octets += _file_data_octets(pdu)
            self.counters.cfdp_pdus_down += len(pdus)
        self._drain_events()
        raw = self.mux.frames_to_send(max(1, max_frames))
        if not raw:
            raw = [self.mux.next_frame()]
        out = []
        for frame in raw:
            vcid = (frame[1] >> 1) & 0x7
            channel = self._channels.get(vcid)
            if channel is None:
                self.counters.idle_frames += 1
                out.append(DownlinkFrame(frame, vcid, -1))
                continue
            out.append(DownlinkFrame(frame, vcid, channel.emitted))
            channel.emitted += 1
        self.counters.frames += len(out)
        return out

    def files_done(self) -> bool:
        """Every file's transaction has ended at the source."""
        return len(self.finished) == len(self.files)

    def _queue_results(self, now: float) -> None:
        made = self.results.due(now)
        if not made:
            return
        channel = self._channels[RESULTS_VCID]
        sender = channel.sender
        for result in made:
            data = json.dumps(result, separators=(",", ":")).encode()
            first = sender.frames  # the open frame's index on the VC
            self.mux.add_packet(RESULTS_VCID, SpacePacket(apid=RESULTS_APID, data=data))
            last = sender.frames if sender.pending else sender.frames - 1
            for index in range(first, last + 1):
                self.results_in_frame[index] = (
                    *self.results_in_frame.get(index, ()),
                    result["seq"],
                )
        # Results go out this tick, not when a frame fills: close the open frame.
        self.mux.flush(RESULTS_VCID)
        self.counters.results += len(made)

    def _cfdp_timers(self, now: float) -> None:
        deadline = self.cfdp.next_deadline()
        if deadline is not None and deadline <= now:
            self.cfdp.on_timer(now)

    def _drain_events(self) -> None:
        for event in self.cfdp.events():
            self._event(event)

    def _event(self, event: CfdpEvent) -> None:
        if isinstance(event, TransactionFinished) and event.is_source:
            f = self.transactions.get(event.transaction_id)
            if f is not None:
                self.finished[f.name] = event

    # -- uplink ----------------------------------------------------------------------

    def receive_cltu(self, cltu: bytes, now: float) -> None:
        """One CLTU from the ground station's uplink; bad ones are counted, not raised."""
        self.counters.cltus += 1
        try:
            result = cltu_decode(cltu)
            data = result.data
            frame = TcFrame.decode(data[: TcFrame.frame_length(data)], self.tc_params)
        except CommsError:
            self.counters.cltus_rejected += 1
            return
        if frame.scid != SCID:
            self.counters.tc_frames_rejected += 1
        elif frame.control_command_flag:
            # Unlock / Set V(R) (Type-BC): the FARM acts on them, nothing to deliver.
            self.farm.receive_frame(frame)
            self.counters.tc_control_frames += 1
        elif not self.farm.receive_frame(frame):
            self.counters.tc_frames_rejected += 1
        for accepted in self.farm.frames_accepted():
            self.counters.tc_frames_accepted += 1
            self._tc_packets(accepted.data_field, now)
        self.farm.buffer_released()
        self.mux.set_clcw(self.farm.clcw())

    def _tc_packets(self, data: bytes, now: float) -> None:
        pos = 0
        # A TC frame's data field may block several packets (232.0-B-4 4.1.3.3.2).
        while pos + 7 <= len(data):
            end = pos + 7 + ((data[pos + 4] << 8) | data[pos + 5])
            try:
                packet = SpacePacket.decode(data[pos:end])
            except CommsError:
                self.counters.cfdp_rejected += 1
                return
            pos = end
            if packet.apid != CFDP_UP_APID or packet.packet_type is not PacketType.TC:
                continue
            self.counters.cfdp_pdus_up += 1
            try:
                self.cfdp.receive_pdu(packet.data, now)
            except CommsError:
                self.counters.cfdp_rejected += 1
        self._drain_events()


def _file_data_octets(pdu: bytes) -> int:
    """File octets in a File Data PDU (0 for a directive): 727.0-B-5 5.1 header, 5.3
    segment offset (4 octets, 8 with the large file flag), the CRC when flagged."""
    if not pdu[0] & 0x10:
        return 0
    ids = pdu[3]
    header = 4 + 2 * (((ids >> 4) & 7) + 1) + (ids & 7) + 1
    return len(pdu) - header - (8 if pdu[0] & 0x01 else 4) - (2 if pdu[0] & 0x02 else 0)
