"""Whole CFDP transfers, dawnlink's sans-I/O entities against cfdp-py's handlers.

Each call moves one file from a source entity to a destination entity with every PDU
encoded to octets and decoded again on the other side, File Data and directives alike,
and checks nothing was lost on the way. Class 1 (unacknowledged, no closure) and class 2
(acknowledged: EOF ACK, Finished, Finished ACK) at 1 KiB and 4 KiB file segments, the
modular checksum, no PDU CRC, 2-octet entity ids.

- dawnlink runs on a virtual clock (timers jump to ``next_deadline()``), with the
  in-memory filestore and, for a like-for-like row, the on-disk one in a temporary
  directory; "1% loss" drops a seeded 1 % of PDUs in both directions, so the NAK,
  retransmission and positive-ACK procedures run.
- cfdp-py 0.7 (the peer) drives one ``SourceHandler`` and one ``DestHandler`` in a loop
  with its ``NativeFilestore`` on files in a temporary directory (it has no in-memory
  filestore; its wall-clock timers never expire in a loss-free run).

MB/s counts file octets delivered per second of CPU time on this machine.
"""

from __future__ import annotations

import os
import random
import tempfile
from datetime import timedelta
from functools import partial
from pathlib import Path

from cfdppy import CfdpState
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
from spacepackets.cfdp import TransmissionMode as PeerMode
from spacepackets.cfdp.pdu import PduFactory
from spacepackets.countdown import Countdown
from spacepackets.seqcount import SeqCountProvider
from spacepackets.util import ByteFieldU16

from comms.cfdp import (
    DiskFilestore,
    Entity,
    LocalEntityConfig,
    MemoryFilestore,
    Mib,
    PutRequest,
    RemoteEntityConfig,
    TransactionFinished,
    TransmissionMode,
)
from comms.cfdp.filestore import Filestore
from tools.bench import Case

FILE_SIZE = 1 << 20
_HEADER_AND_OFFSET = 4 + 2 * 2 + 4 + 4  # fixed header with 2-octet ids and 4-octet sequence


# -- dawnlink ---------------------------------------------------------------------------


def _entity(local: int, peer: int, segment: int, fs: Filestore) -> Entity:
    remote = RemoteEntityConfig(
        peer,
        max_pdu_length=segment + _HEADER_AND_OFFSET,
        entity_id_length=2,
        sequence_number_length=4,
    )
    return Entity(Mib(LocalEntityConfig(local), {peer: remote}), fs)


def dawnlink_transfer(
    fs_a: Filestore,
    fs_b: Filestore,
    segment: int,
    mode: TransmissionMode,
    loss: float = 0.0,
    seed: int = 1,
) -> int:
    """One transfer of ``src.bin`` to ``dst.bin``; returns the PDUs moved."""
    a = _entity(1, 2, segment, fs_a)
    b = _entity(2, 1, segment, fs_b)
    rng = random.Random(seed)
    a.put(PutRequest(2, "src.bin", "dst.bin", transmission_mode=mode), 0.0)
    now = 0.0
    moved = 0
    done = False
    while not done:
        out = a.pdus_to_send()
        for _, raw in out:
            if not loss or rng.random() >= loss:
                b.receive_pdu(raw, now)
        back = b.pdus_to_send()
        for _, raw in back:
            if not loss or rng.random() >= loss:
                a.receive_pdu(raw, now)
        moved += len(out) + len(back)
        if not out and not back:
            deadlines = [d for d in (a.next_deadline(), b.next_deadline()) if d is not None]
            if not deadlines:
                done = True
            else:
                now = max(now, min(deadlines))
                a.on_timer(now)
                b.on_timer(now)
    ends = [e for e in a.events() if isinstance(e, TransactionFinished)]
    assert ends and ends[0].condition_code == 0, "the benchmark transfer failed"
    b.events()
    return moved


# -- cfdp-py ----------------------------------------------------------------------------


class _Faults(DefaultFaultHandlerBase):  # type: ignore[misc]  # cfdp-py ships no type stubs
    def notice_of_suspension_cb(self, *args: object) -> None:
        pass

    def notice_of_cancellation_cb(self, *args: object) -> None:
        pass

    def abandoned_cb(self, *args: object) -> None:
        pass

    def ignore_cb(self, *args: object) -> None:
        pass


class _User(CfdpUserBase):  # type: ignore[misc]  # cfdp-py ships no type stubs
    def transaction_indication(self, *args: object) -> None:
        pass

    def eof_sent_indication(self, *args: object) -> None:
        pass

    def transaction_finished_indication(self, *args: object) -> None:
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


class _CheckTimers(CheckTimerProvider):  # type: ignore[misc]  # cfdp-py ships no type stubs
    def provide_check_timer(self, *args: object) -> Countdown:
        return Countdown(timedelta(seconds=5))


def _peer_remote(entity_id: int, segment: int, mode: PeerMode) -> PeerRemote:
    return PeerRemote(
        entity_id=ByteFieldU16(entity_id),
        max_file_segment_len=segment,
        max_packet_len=segment + 64,
        closure_requested=False,
        crc_on_transmission=False,
        default_transmission_mode=mode,
        crc_type=PeerChecksum.MODULAR,
    )


def cfdppy_transfer(src: Path, dst: Path, segment: int, acknowledged: bool) -> int:
    """The same transfer with cfdp-py's handlers; returns the PDUs moved."""
    mode = PeerMode.ACKNOWLEDGED if acknowledged else PeerMode.UNACKNOWLEDGED
    source = SourceHandler(
        PeerLocal(ByteFieldU16(1), IndicationConfig(), _Faults()),
        _User(),
        RemoteEntityConfigTable([_peer_remote(2, segment, mode)]),
        _CheckTimers(),
        SeqCountProvider(16),
    )
    dest = DestHandler(
        PeerLocal(ByteFieldU16(2), IndicationConfig(), _Faults()),
        _User(),
        RemoteEntityConfigTable([_peer_remote(1, segment, mode)]),
        _CheckTimers(),
    )
    source.put_request(
        PeerPut(
            destination_id=ByteFieldU16(2),
            source_file=src,
            dest_file=dst,
            trans_mode=mode,
            closure_requested=False,
        )
    )
    moved = 0
    while True:
        source.state_machine()
        progressed = False
        while source.packets_ready:
            holder = source.get_next_packet()
            assert holder is not None
            dest.state_machine(PduFactory.from_raw(holder.pack()))
            moved += 1
            progressed = True
            while dest.packets_ready:
                back = dest.get_next_packet()
                assert back is not None
                source.state_machine(PduFactory.from_raw(back.pack()))
                moved += 1
        if source.states.state == CfdpState.IDLE and dest.states.state == CfdpState.IDLE:
            return moved
        if not progressed:
            dest.state_machine()
            while dest.packets_ready:
                back = dest.get_next_packet()
                assert back is not None
                source.state_machine(PduFactory.from_raw(back.pack()))
                moved += 1


# -- cases ------------------------------------------------------------------------------


def cases() -> list[Case]:
    data = os.urandom(FILE_SIZE)
    tmp = Path(tempfile.mkdtemp(prefix="bench-cfdp-"))
    (tmp / "a").mkdir()
    (tmp / "b").mkdir()
    (tmp / "a" / "src.bin").write_bytes(data)
    disk_a, disk_b = DiskFilestore(tmp / "a"), DiskFilestore(tmp / "b")
    mem_a = MemoryFilestore({b"src.bin": data})

    def memory(segment: int, mode: TransmissionMode, loss: float = 0.0) -> int:
        mem_b = MemoryFilestore()
        moved = dawnlink_transfer(mem_a, mem_b, segment, mode, loss)
        assert mem_b.files[b"dst.bin"] == data
        return moved

    def disk(segment: int, mode: TransmissionMode) -> int:
        return dawnlink_transfer(disk_a, disk_b, segment, mode)

    def peer(segment: int, acknowledged: bool) -> int:
        return cfdppy_transfer(tmp / "a" / "src.bin", tmp / "b" / "peer.bin", segment, acknowledged)

    result = []
    for klass, mode in (
        (1, TransmissionMode.UNACKNOWLEDGED),
        (2, TransmissionMode.ACKNOWLEDGED),
    ):
        for segment in (1024, 4096):
            group = f"class {klass} transfer, {segment // 1024} KiB segments, 1 MiB file"
            pdus = FILE_SIZE // segment + 3
            acked = klass == 2
            result += [
                Case(
                    group,
                    "cfdp-py",
                    partial(peer, segment, acked),
                    items=pdus,
                    nbytes=FILE_SIZE,
                    note="NativeFilestore in a temp dir",
                ),
                Case(
                    group,
                    "dawnlink",
                    partial(memory, segment, mode),
                    items=pdus,
                    nbytes=FILE_SIZE,
                    peer="cfdp-py",
                    note="MemoryFilestore",
                ),
                Case(
                    group,
                    "dawnlink disk",
                    partial(disk, segment, mode),
                    items=pdus,
                    nbytes=FILE_SIZE,
                    peer="cfdp-py",
                    note="DiskFilestore in a temp dir",
                ),
            ]
    group = "class 2 transfer, 4 KiB segments, 1 MiB file, loss"
    result += [
        Case(
            group,
            "dawnlink no loss",
            lambda: memory(4096, TransmissionMode.ACKNOWLEDGED),
            items=FILE_SIZE // 4096 + 3,
            nbytes=FILE_SIZE,
        ),
        Case(
            group,
            "dawnlink 1% loss",
            lambda: memory(4096, TransmissionMode.ACKNOWLEDGED, 0.01),
            items=FILE_SIZE // 4096 + 3,
            nbytes=FILE_SIZE,
            peer="dawnlink no loss",
        ),
    ]
    return result
