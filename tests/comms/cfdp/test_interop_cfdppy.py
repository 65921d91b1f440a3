"""CfdpEntity against cfdp-py (us-irs/cfdp-py, an independent implementation) over real
UDP on loopback: class 1 and 2, both directions, every checksum both compute, with and
without the PDU CRC, empty, small and multi-megabyte files, and class 2 through a
seeded relay that drops 5 % of the datagrams each way.

Loss-free runs are flow controlled (:data:`WINDOW`): both ends share one event loop,
whose timers keep wall-clock pace while each socket is read one datagram per loop turn,
so on a loaded machine a sender outruns its receiver and the kernel drops datagrams
(``RcvbufErrors``) -- which class 1 cannot recover (the check limit ends it).

cfdp-py is synchronous with wall-clock timers: a small asyncio task here calls its
``state_machine()`` and sends what it produced, and its timers are set short. Every wait
is bounded (``asyncio.wait_for``); nothing asserts on time.
"""

from __future__ import annotations

import asyncio
import random
from collections import deque
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest

pytest.importorskip("cfdppy")

from cfdppy.handler.dest import DestHandler
from cfdppy.handler.source import SourceHandler
from cfdppy.mib import (
    CheckTimerProvider,
    DefaultFaultHandlerBase,
    IndicationConfig,
    RemoteEntityConfigTable,
)
from cfdppy.mib import LocalEntityConfig as PeerLocal
from cfdppy.mib import RemoteEntityConfig as PeerRemote
from cfdppy.request import PutRequest as PeerPut
from cfdppy.user import CfdpUserBase
from spacepackets.cfdp import ChecksumType as PeerChecksum
from spacepackets.cfdp import ConditionCode as PeerCondition
from spacepackets.cfdp import Direction as PeerDirection
from spacepackets.cfdp import TransmissionMode as PeerMode
from spacepackets.cfdp.pdu import FileDataPdu as PeerFileData
from spacepackets.cfdp.pdu import PduFactory
from spacepackets.countdown import Countdown
from spacepackets.seqcount import SeqCountProvider
from spacepackets.util import ByteFieldU16

from comms.aio import UdpEndpoint
from comms.aio.cfdp import CfdpEntity, PduTransport, open_udp_entity
from comms.cfdp import (
    ChecksumType,
    ConditionCode,
    DiskFilestore,
    FileSegmentReceived,
    LocalEntityConfig,
    Mib,
    RemoteEntityConfig,
    TransactionFinished,
    TransmissionMode,
)

pytestmark = pytest.mark.interop

DAWN, PEER = 1, 2
WAIT_S = 30.0  # bound on any one transfer; they take well under a second unless lossy
CHECKSUMS = [ChecksumType.MODULAR, ChecksumType.CRC32, ChecksumType.CRC32C, ChecksumType.NULL]
# Loss-free runs: datagrams (<= 1 KiB) sent and not yet read, a fraction of the smallest
# usual socket buffer (Linux rmem_default 208 KiB holds ~90 such datagrams).
WINDOW = 32
MODE_IDS = {TransmissionMode.UNACKNOWLEDGED: "class1", TransmissionMode.ACKNOWLEDGED: "class2"}


class _Faults(DefaultFaultHandlerBase):  # type: ignore[misc]  # cfdp-py ships no stubs
    def notice_of_suspension_cb(self, *args: object) -> None:
        pass

    def notice_of_cancellation_cb(self, *args: object) -> None:
        pass

    def abandoned_cb(self, *args: object) -> None:
        pass

    def ignore_cb(self, *args: object) -> None:
        pass


class _User(CfdpUserBase):  # type: ignore[misc]
    def __init__(self) -> None:
        super().__init__()
        self.finished: list[Any] = []

    def transaction_finished_indication(self, params: Any) -> None:
        self.finished.append(params.finished_params)

    def transaction_indication(self, *args: object) -> None:
        pass

    def eof_sent_indication(self, *args: object) -> None:
        pass

    def metadata_recv_indication(self, *args: object) -> None:
        pass

    def file_segment_recv_indication(self, *args: object) -> None:
        pass

    def report_indication(self, *args: object) -> None:
        pass

    def suspended_indication(self, *args: object) -> None:
        pass

    def resumed_indication(self, *args: object) -> None:
        pass

    def fault_indication(self, *args: object) -> None:
        pass

    def abandoned_indication(self, *args: object) -> None:
        pass

    def eof_recv_indication(self, *args: object) -> None:
        pass


class _CheckTimers(CheckTimerProvider):  # type: ignore[misc]
    def provide_check_timer(self, *args: object) -> Countdown:
        return Countdown(timedelta(seconds=0.3))


class CfdpPyPeer:
    """cfdp-py's source and destination handlers behind one UDP socket, driven by an
    asyncio task (``state_machine()`` every couple of milliseconds)."""

    def __init__(self, checksum: ChecksumType, crc: bool, mode: PeerMode) -> None:
        remote = PeerRemote(
            entity_id=ByteFieldU16(DAWN),
            max_file_segment_len=None,
            max_packet_len=1024,
            closure_requested=False,
            crc_on_transmission=crc,
            default_transmission_mode=mode,
            crc_type=PeerChecksum(int(checksum)),
            positive_ack_timer_interval_seconds=0.2,
            positive_ack_timer_expiration_limit=20,
            nak_timer_interval_seconds=0.2,
            nak_timer_expiration_limit=20,
        )
        self.user = _User()
        self.source = SourceHandler(
            PeerLocal(ByteFieldU16(PEER), IndicationConfig(), _Faults()),
            self.user,
            RemoteEntityConfigTable([remote]),
            _CheckTimers(),
            SeqCountProvider(16),
        )
        self.dest = DestHandler(
            PeerLocal(ByteFieldU16(PEER), IndicationConfig(), _Faults()),
            self.user,
            RemoteEntityConfigTable([remote]),
            _CheckTimers(),
        )
        self.remote_addr: tuple[str, int] | None = None
        self.errors = 0
        self.udp: UdpEndpoint | None = None
        # Flow control (loss-free runs): file octets sent vs dawnlink's reported progress,
        # and the window towards this peer's socket (WindowedTransport.read).
        self.flow_control = False
        self.file_octets_sent = 0
        self.dawn_progress = 0
        self.on_read: Any = None

    async def open(self) -> tuple[str, int]:
        self.udp = await UdpEndpoint.open(("127.0.0.1", 0), on_datagram=self._on_datagram)
        addr: tuple[str, int] = self.udp.local_address
        return addr

    def _on_datagram(self, data: bytes, addr: Any, *, now: float) -> None:
        if self.on_read is not None:
            self.on_read()
        try:
            pdu = PduFactory.from_raw(data)
            if pdu.direction == PeerDirection.TOWARDS_RECEIVER:
                self.dest.state_machine(pdu)
            else:
                self.source.state_machine(pdu)
        except Exception:  # cfdp-py raises on PDUs it does not expect (late duplicates)
            self.errors += 1
        self._flush()

    def _flush(self) -> None:
        assert self.udp is not None and self.remote_addr is not None
        for handler in (self.source, self.dest):
            while handler.packets_ready:
                pdu = handler.get_next_packet().pdu
                if isinstance(pdu, PeerFileData):
                    self.file_octets_sent += len(pdu.file_data)
                self.udp.send(pdu.pack(), self.remote_addr)

    async def run(self) -> None:
        while True:
            for _ in range(16):  # cfdp-py's source makes one File Data PDU per call
                try:
                    if (
                        not self.flow_control
                        or self.file_octets_sent - self.dawn_progress < WINDOW * 1024
                    ):
                        self.source.state_machine()
                    self.dest.state_machine()
                except Exception:
                    self.errors += 1
                self._flush()
            await asyncio.sleep(0.002)

    async def wait_finished(self, count: int) -> list[Any]:
        while len(self.user.finished) < count:
            await asyncio.sleep(0.005)
        return self.user.finished


class WindowedTransport:
    """dawnlink's PDUs to the peer, at most WINDOW of them not yet read by the peer's
    socket; the rest wait here, in order (loss-free runs: a lost one is never read)."""

    def __init__(self, inner: PduTransport) -> None:
        self.inner = inner
        self.waiting: deque[tuple[int, bytes]] = deque()
        self.in_flight = 0

    def send_pdu(self, destination_entity_id: int, pdu: bytes) -> None:
        self.waiting.append((destination_entity_id, pdu))
        self._pump()

    def read(self) -> None:
        self.in_flight -= 1
        self._pump()

    def _pump(self) -> None:
        while self.waiting and self.in_flight < WINDOW:
            self.inner.send_pdu(*self.waiting.popleft())
            self.in_flight += 1


@dataclass
class Relay:
    """Forwards datagrams between two addresses, dropping ``loss`` of them (seeded)."""

    loss: float
    rng: random.Random
    a: tuple[str, int] | None = None
    b: tuple[str, int] | None = None
    dropped: int = 0
    udp: UdpEndpoint | None = field(default=None, repr=False)

    async def open(self) -> tuple[str, int]:
        self.udp = await UdpEndpoint.open(("127.0.0.1", 0), on_datagram=self._on_datagram)
        addr: tuple[str, int] = self.udp.local_address
        return addr

    def _on_datagram(self, data: bytes, addr: Any, *, now: float) -> None:
        assert self.udp is not None
        if self.rng.random() < self.loss:
            self.dropped += 1
            return
        self.udp.send(data, self.b if addr == self.a else self.a)


def dawn_mib(checksum: ChecksumType, crc: bool) -> Mib:
    remote = RemoteEntityConfig(
        PEER,
        checksum_type=checksum,
        crc=crc,
        ack_timer_interval=0.2,
        nak_timer_interval=0.2,
        check_timer_interval=0.3,
        inactivity_timer_interval=10.0,
        ack_limit=20,
        nak_limit=20,
    )
    # Bursts of 16 PDUs every 5 ms: asyncio reads one datagram per loop turn and cfdp-py
    # decodes ~10k PDUs/s (REFERENCES.md); a burst must fit the receiver's socket buffer
    # even when a loaded machine delays the loop (class 1 cannot recover a lost PDU).
    return Mib(LocalEntityConfig(DAWN, send_burst=16), {PEER: remote})


async def transfer(
    tmp_path: Path,
    *,
    outbound: bool,
    mode: TransmissionMode,
    checksum: ChecksumType,
    crc: bool,
    size: int,
    loss: float = 0.0,
) -> None:
    data = random.Random(size).randbytes(size)
    (tmp_path / "dawn").mkdir()
    (tmp_path / "peer").mkdir()
    peer_mode = PeerMode.ACKNOWLEDGED if mode is TransmissionMode.ACKNOWLEDGED else PeerMode(1)
    peer = CfdpPyPeer(checksum, crc, peer_mode)
    peer_addr = await peer.open()
    entity: CfdpEntity = await open_udp_entity(
        dawn_mib(checksum, crc),
        DiskFilestore(tmp_path / "dawn"),
        ("127.0.0.1", 0),
        {},
        burst_interval_s=0.005,
    )
    assert entity.transport is not None
    dawn_addr = entity.transport.local_address  # type: ignore[attr-defined]
    relay = Relay(loss, random.Random(5))
    if loss:
        relay_addr = await relay.open()
        relay.a, relay.b = dawn_addr, peer_addr
        entity.transport.peers[PEER] = relay_addr  # type: ignore[attr-defined]
        peer.remote_addr = relay_addr
    else:
        entity.transport.peers[PEER] = peer_addr  # type: ignore[attr-defined]
        peer.remote_addr = dawn_addr
        windowed = WindowedTransport(entity.transport)
        entity.transport, peer.on_read, peer.flow_control = windowed, windowed.read, True
    runner = asyncio.create_task(peer.run())
    try:
        async with entity:
            if outbound:
                (tmp_path / "dawn" / "src.bin").write_bytes(data)
                # cfdp-py's filestore takes names as paths: give it an absolute one.
                received = tmp_path / "peer" / "dst.bin"
                handle = entity.put(PEER, "src.bin", str(received), transmission_mode=mode)
                end = await asyncio.wait_for(handle, WAIT_S)
                assert isinstance(end, TransactionFinished)
                assert end.condition_code is ConditionCode.NO_ERROR
                finished = await asyncio.wait_for(peer.wait_finished(1), WAIT_S)
            else:
                (tmp_path / "peer" / "src.bin").write_bytes(data)
                peer.source.put_request(
                    PeerPut(
                        destination_id=ByteFieldU16(DAWN),
                        source_file=tmp_path / "peer" / "src.bin",
                        dest_file=Path("dst.bin"),  # relative: the dawnlink filestore root
                        trans_mode=peer_mode,
                        closure_requested=False,
                    )
                )
                events = entity.events()
                async with asyncio.timeout(WAIT_S):
                    async for event in events:
                        if isinstance(event, FileSegmentReceived):
                            peer.dawn_progress = event.progress
                        if isinstance(event, TransactionFinished) and not event.is_source:
                            assert event.condition_code is ConditionCode.NO_ERROR
                            break
                finished = await asyncio.wait_for(peer.wait_finished(1), WAIT_S)
                received = tmp_path / "dawn" / "dst.bin"
    finally:
        runner.cancel()
        for udp in (peer.udp, relay.udp):
            if udp is not None:
                udp.close()
    assert finished[0].condition_code == PeerCondition.NO_ERROR
    assert received.read_bytes() == data
    if loss:
        assert relay.dropped > 0


@pytest.mark.asyncio
@pytest.mark.parametrize("crc", [False, True], ids=["nocrc", "crc"])
@pytest.mark.parametrize("checksum", CHECKSUMS, ids=lambda c: c.name.lower())
@pytest.mark.parametrize("mode", list(TransmissionMode), ids=MODE_IDS.get)
@pytest.mark.parametrize("outbound", [True, False], ids=["to_cfdppy", "from_cfdppy"])
async def test_small_file(
    tmp_path: Path, outbound: bool, mode: TransmissionMode, checksum: ChecksumType, crc: bool
) -> None:
    await transfer(tmp_path, outbound=outbound, mode=mode, checksum=checksum, crc=crc, size=5000)


@pytest.mark.asyncio
@pytest.mark.parametrize("mode", list(TransmissionMode), ids=MODE_IDS.get)
@pytest.mark.parametrize("outbound", [True, False], ids=["to_cfdppy", "from_cfdppy"])
async def test_empty_file(tmp_path: Path, outbound: bool, mode: TransmissionMode) -> None:
    await transfer(
        tmp_path, outbound=outbound, mode=mode, checksum=ChecksumType.CRC32, crc=True, size=0
    )


@pytest.mark.asyncio
@pytest.mark.parametrize("mode", list(TransmissionMode), ids=MODE_IDS.get)
@pytest.mark.parametrize("outbound", [True, False], ids=["to_cfdppy", "from_cfdppy"])
async def test_multi_megabyte_file(tmp_path: Path, outbound: bool, mode: TransmissionMode) -> None:
    await transfer(
        tmp_path,
        outbound=outbound,
        mode=mode,
        checksum=ChecksumType.MODULAR,
        crc=False,
        size=2 * 1024 * 1024 + 123,
    )


@pytest.mark.asyncio
@pytest.mark.parametrize("outbound", [True, False], ids=["to_cfdppy", "from_cfdppy"])
async def test_class2_with_5_percent_loss(tmp_path: Path, outbound: bool) -> None:
    await transfer(
        tmp_path,
        outbound=outbound,
        mode=TransmissionMode.ACKNOWLEDGED,
        checksum=ChecksumType.CRC32,
        crc=True,
        size=200_000,
        loss=0.05,
    )
