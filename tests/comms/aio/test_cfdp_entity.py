"""CfdpEntity: two entities over real UDP loopback, and over a lossy in-process link on
the virtual-time loop (a transfer of minutes of protocol time that never sleeps)."""

from __future__ import annotations

import asyncio
import random

import pytest

from comms.aio.cfdp import (
    CfdpEntity,
    SpacePacketPduTransport,
    TransactionHandle,
    UdpPduTransport,
    open_udp_entity,
)
from comms.cfdp import (
    ConditionCode,
    EofReceived,
    LocalEntityConfig,
    MemoryFilestore,
    MetadataReceived,
    Mib,
    RemoteEntityConfig,
    TransactionFinished,
    TransactionIndication,
    TransmissionMode,
)
from comms.cfdp.events import CfdpEvent
from comms.errors import UsageError
from comms.spp import SpacePacket

A, B = 1, 2


def mib(local: int, peer: int, **remote: object) -> Mib:
    settings: dict[str, object] = {
        "ack_timer_interval": 5.0,
        "nak_timer_interval": 5.0,
        "inactivity_timer_interval": 120.0,
        "check_timer_interval": 5.0,
        "ack_limit": 20,
        "nak_limit": 20,
    }
    settings.update(remote)
    return Mib(LocalEntityConfig(local), {peer: RemoteEntityConfig(peer, **settings)})  # type: ignore[arg-type]


def payload(size: int, seed: int = 1) -> bytes:
    return random.Random(seed).randbytes(size)


async def collect_until_finished(entity: CfdpEntity, out: list[CfdpEvent]) -> None:
    async for event in entity.events():
        out.append(event)
        if isinstance(event, TransactionFinished):
            return


@pytest.mark.asyncio(loop_factories=["real"])
@pytest.mark.parametrize("mode", [TransmissionMode.UNACKNOWLEDGED, TransmissionMode.ACKNOWLEDGED])
async def test_udp_loopback_transfer(mode: TransmissionMode) -> None:
    data = payload(200_000)
    source_fs = MemoryFilestore({b"src.bin": data})
    dest_fs = MemoryFilestore()
    # Port 0 for both, then tell each where the other is. asyncio reads one datagram
    # per loop turn, so bursts are spaced for the receiver to keep up (class 1 has no
    # retransmission to hide an overflowed socket buffer).
    sender_mib = Mib(LocalEntityConfig(A, send_burst=16), mib(A, B).remotes)
    sender = await open_udp_entity(
        sender_mib, source_fs, ("127.0.0.1", 0), {}, burst_interval_s=0.005
    )
    receiver = await open_udp_entity(mib(B, A), dest_fs, ("127.0.0.1", 0), {})
    assert isinstance(sender.transport, UdpPduTransport)
    assert isinstance(receiver.transport, UdpPduTransport)
    sender.transport.peers[B] = receiver.transport.local_address
    receiver.transport.peers[A] = sender.transport.local_address
    received: list[CfdpEvent] = []
    async with sender, receiver:
        watcher = asyncio.create_task(collect_until_finished(receiver, received))
        handle = sender.put(B, "src.bin", "dst.bin", transmission_mode=mode)
        end = await asyncio.wait_for(handle, 30)
        await asyncio.wait_for(watcher, 30)
    assert isinstance(end, TransactionFinished) and end.is_source
    assert handle.succeeded
    finished = received[-1]
    assert isinstance(finished, TransactionFinished)
    assert finished.condition_code is ConditionCode.NO_ERROR
    assert any(isinstance(e, MetadataReceived) for e in received)
    assert any(isinstance(e, EofReceived) for e in received)
    assert dest_fs.files[b"dst.bin"] == data
    assert sender.file_octets_sent >= len(data)
    if mode is TransmissionMode.UNACKNOWLEDGED:
        assert sender.file_octets_sent == len(data)


class LossyLink:
    """An in-process link on the loop's clock: fixed delay, seeded loss."""

    def __init__(self, rng: random.Random, delay_s: float, loss: float) -> None:
        self.rng = rng
        self.delay_s = delay_s
        self.loss = loss
        self.ends: dict[int, CfdpEntity] = {}
        self.sent = 0
        self.lost = 0

    def transport(self) -> LossyLink.End:
        return LossyLink.End(self)

    class End:
        def __init__(self, link: LossyLink) -> None:
            self.link = link

        def send_pdu(self, destination_entity_id: int, pdu: bytes) -> None:
            link = self.link
            link.sent += 1
            if link.rng.random() < link.loss:
                link.lost += 1
                return
            peer = link.ends[destination_entity_id]
            asyncio.get_running_loop().call_later(link.delay_s, peer.receive_pdu, pdu)


@pytest.mark.asyncio(loop_factories=["virtual"])
async def test_virtual_time_lossy_class2() -> None:
    loop = asyncio.get_running_loop()
    start = loop.time()
    data = payload(1_500_000, seed=7)
    link = LossyLink(random.Random(42), delay_s=2.0, loss=0.2)
    dest_fs = MemoryFilestore()
    # A slow link: 4 PDUs a second (about 4 kB/s), so the pass lasts minutes.
    sender_mib = mib(A, B)
    sender_mib = Mib(LocalEntityConfig(A, send_burst=4), sender_mib.remotes)
    sender = CfdpEntity(
        sender_mib, MemoryFilestore({b"f": data}), link.transport(), burst_interval_s=1.0
    )
    receiver = CfdpEntity(mib(B, A), dest_fs, link.transport())
    link.ends = {A: sender, B: receiver}
    async with sender, receiver:
        handle = sender.put(B, "f", "g", transmission_mode=TransmissionMode.ACKNOWLEDGED)
        end = await handle
    assert isinstance(end, TransactionFinished)
    assert end.condition_code is ConditionCode.NO_ERROR
    assert dest_fs.files[b"g"] == data
    assert link.lost > 0
    # Minutes of protocol time: 2 s each way, 5 s NAK/ACK timers, 20 % loss, paced bursts.
    assert loop.time() - start > 360.0
    assert sender.file_octets_sent > len(data)  # retransmissions happened


@pytest.mark.asyncio(loop_factories=["virtual"])
async def test_space_packet_transport_round_trip() -> None:
    data = payload(5000, seed=3)
    dest_fs = MemoryFilestore()
    sender = CfdpEntity(mib(A, B), MemoryFilestore({b"f": data}))
    receiver = CfdpEntity(mib(B, A), dest_fs)
    packets_down: list[bytes] = []
    down = SpacePacketPduTransport(0x42, packets_down.append, receive=receiver.receive_pdu)
    up = SpacePacketPduTransport(0x43, lambda raw: None, receive=sender.receive_pdu)

    def deliver_down(raw: bytes) -> None:
        packets_down.append(raw)
        down.receive_packet(raw)

    def deliver_up(raw: bytes) -> None:
        up.receive_packet(SpacePacket.decode(raw))

    down.send_packet = deliver_down
    up.send_packet = deliver_up
    sender.transport = down
    receiver.transport = up
    async with sender, receiver:
        end = await sender.put(B, "f", "g", transmission_mode=TransmissionMode.ACKNOWLEDGED)
    assert isinstance(end, TransactionFinished) and end.condition_code is ConditionCode.NO_ERROR
    assert dest_fs.files[b"g"] == data
    counts = [SpacePacket.decode(raw).sequence_count for raw in packets_down]
    assert counts == list(range(len(counts)))
    assert all(SpacePacket.decode(raw).apid == 0x42 for raw in packets_down)
    down.receive_packet(SpacePacket(apid=0x7, data=b"x"))
    assert down.foreign == 1


@pytest.mark.asyncio(loop_factories=["virtual"])
async def test_events_and_handle_on_close() -> None:
    entity = CfdpEntity(mib(A, B), MemoryFilestore({b"f": b"abc"}))  # no transport
    async with entity:
        handle = entity.put(B, "f", "g", transmission_mode=TransmissionMode.ACKNOWLEDGED)
        assert isinstance(handle, TransactionHandle) and not handle.done()
        first = await anext(aiter(entity.events()))
        assert first == TransactionIndication(handle.transaction_id)
    with pytest.raises(UsageError, match="closed before"):
        await handle
    assert entity.pdus_unsent > 0
    assert handle.result is None and not handle.succeeded


@pytest.mark.asyncio(loop_factories=["virtual"])
async def test_usage_errors() -> None:
    with pytest.raises(UsageError, match="burst_interval_s"):
        CfdpEntity(mib(A, B), MemoryFilestore(), burst_interval_s=-1)
    entity = CfdpEntity(mib(A, B), MemoryFilestore({b"f": b"abc"}))
    async with entity:
        with pytest.raises(UsageError, match="not in the MIB"):
            entity.put(9, "f", "g")
        with pytest.raises(UsageError, match="not both"):
            from comms.cfdp import PutRequest

            entity.put(PutRequest(B, "f", "g"), "f")
    with pytest.raises(UsageError):
        SpacePacketPduTransport(0x800, lambda raw: None)


def test_docs_examples_run() -> None:
    """docs/cfdp-entity.md: every Python block runs, in order, in one namespace."""
    import contextlib
    import io
    import re
    from pathlib import Path

    doc = Path(__file__).resolve().parents[3] / "docs" / "cfdp-entity.md"
    blocks = re.findall(r"```python\n(.*?)```", doc.read_text(), flags=re.S)
    assert len(blocks) == 3
    namespace: dict[str, object] = {}
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        for block in blocks:
            exec(compile(block, str(doc), "exec", dont_inherit=True), namespace)
    assert out.getvalue().splitlines() == [
        "metadata: 100000 octets",
        "ground: NO_ERROR",
        "craft: NO_ERROR, file intact: True",
        "NO_ERROR True",
        "00 42 c0 00 00 0c",
    ]


class InstantLink:
    """Delivers each PDU at once and notes the loop time of every File Data PDU."""

    def __init__(self) -> None:
        self.peer: CfdpEntity | None = None
        self.file_data_at: list[float] = []

    def send_pdu(self, destination_entity_id: int, pdu: bytes) -> None:
        assert self.peer is not None
        if pdu[0] & 0x10:  # PDU type bit: File Data
            self.file_data_at.append(asyncio.get_running_loop().time())
        self.peer.receive_pdu(pdu)


@pytest.mark.asyncio(loop_factories=["virtual"])
@pytest.mark.parametrize("interval", [0.0, 0.25])
async def test_bursts_go_out_on_successive_turns_or_paced(interval: float) -> None:
    # 100 kB in 100 File Data PDUs, 8 a drain. Unpaced, the driver runs the due
    # entity turn after turn at one instant of virtual time; paced, burst k leaves at
    # exactly t0 + k * interval. Either way no burst exceeds send_burst.
    loop = asyncio.get_running_loop()
    data = payload(100_000, seed=11)
    dest_fs = MemoryFilestore()
    link = InstantLink()
    sender = CfdpEntity(
        Mib(LocalEntityConfig(A, send_burst=8), mib(A, B).remotes),
        MemoryFilestore({b"f": data}),
        link,
        burst_interval_s=interval,
    )
    receiver = CfdpEntity(mib(B, A), dest_fs)
    link.peer = receiver
    async with sender, receiver:
        t0 = loop.time()
        end = await sender.put(B, "f", "g", transmission_mode=TransmissionMode.UNACKNOWLEDGED)
    assert isinstance(end, TransactionFinished) and end.condition_code is ConditionCode.NO_ERROR
    assert dest_fs.files[b"g"] == data
    assert sender.file_octets_sent == len(data)  # no segment sent twice
    instants = sorted(set(link.file_data_at))
    per_instant = [link.file_data_at.count(t) for t in instants]
    assert len(link.file_data_at) == 100
    if interval == 0:
        assert instants == [t0]  # the whole file at one instant...
        # ...in one turn per burst (the first drain follows the put, not a timer).
        assert sender.driver.timers_fired == -(-len(link.file_data_at) // 8) - 1
    else:
        assert instants == [t0 + k * interval for k in range(len(instants))]
        assert all(n <= 8 for n in per_instant) and sum(per_instant[1:-1]) == 8 * (
            len(instants) - 2
        )
