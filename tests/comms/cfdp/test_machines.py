"""CFDP transactions end to end through the sans-I/O loopback, on virtual time.

Class 1 and 2 transfers of empty, small and multi-segment files; the peers' known bugs
(duplicate EOF not re-acknowledged, late Metadata resetting progress, NAKs larger than
the peer's PDU size, no NAK after a resume); cancel, suspend/resume, abandon, fault
handler overrides, keep-alive and prompt, link outages, filestore requests.
"""

from __future__ import annotations

import pytest

from comms.cfdp import (
    Abandoned,
    AckPdu,
    ConditionCode,
    DeliveryCode,
    DirectiveCode,
    Entity,
    EofPdu,
    EofReceived,
    EofSent,
    FaultHandlerCode,
    FaultHandlerOverride,
    FaultIndication,
    FileDataPdu,
    FileSegmentReceived,
    FileStatus,
    FilestoreAction,
    FilestoreRequest,
    FinishedPdu,
    KeepAlivePdu,
    MemoryFilestore,
    MetadataPdu,
    MetadataReceived,
    NakMode,
    NakPdu,
    PduConfig,
    PduHeader,
    PduRejected,
    PutRequest,
    RemoteResumeRequest,
    RemoteSuspendRequest,
    ReportIndication,
    ResponseRequired,
    Resumed,
    Suspended,
    TransactionFinished,
    TransactionId,
    TransactionIndication,
    TransmissionMode,
    decode_pdu,
    modular_checksum,
)
from comms.errors import UsageError

from .loopback import A, B, Loopback, make_entity

ACK = TransmissionMode.ACKNOWLEDGED
UNACK = TransmissionMode.UNACKNOWLEDGED


def finished(events: list[object]) -> list[TransactionFinished]:
    return [e for e in events if isinstance(e, TransactionFinished)]


def transfer(lb: Loopback, data: bytes, **put: object) -> TransactionId:
    lb.fs_a.files[b"src.bin"] = bytearray(data)
    tid = lb.a.put(PutRequest(B, "src.bin", "dst.bin", **put), lb.now)  # type: ignore[arg-type]
    lb.run(until=lb.now + 1000)
    return tid


@pytest.mark.parametrize("mode", [ACK, UNACK])
@pytest.mark.parametrize("size", [0, 1, 100, 5000])
def test_clean_transfer(mode: TransmissionMode, size: int) -> None:
    lb = Loopback()
    data = bytes(range(256)) * (size // 256) + bytes(size % 256)
    tid = transfer(lb, data, transmission_mode=mode, closure_requested=True)
    assert bytes(lb.fs_b.files[b"dst.bin"]) == data
    (src,) = finished(lb.events_a)
    (dst,) = finished(lb.events_b)
    assert src.transaction_id == dst.transaction_id == tid
    assert src.condition_code is dst.condition_code is ConditionCode.NO_ERROR
    assert src.delivery_code is DeliveryCode.DATA_COMPLETE
    assert src.file_status is FileStatus.RETAINED
    assert src.is_source and not dst.is_source
    assert isinstance(lb.events_a[0], TransactionIndication)
    assert any(isinstance(e, EofSent) for e in lb.events_a)
    assert any(isinstance(e, MetadataReceived) for e in lb.events_b)
    assert any(isinstance(e, EofReceived) for e in lb.events_b)
    assert lb.a.transactions == [] and lb.b.transactions == []
    assert lb.a.next_deadline() is None and lb.b.next_deadline() is None
    # No part file is left behind.
    assert set(lb.fs_b.files) == {b"dst.bin"}


def test_class1_without_closure_finishes_at_eof() -> None:
    lb = Loopback()
    transfer(lb, b"x" * 1000, transmission_mode=UNACK, closure_requested=False)
    (src,) = finished(lb.events_a)
    assert src.file_status is FileStatus.UNREPORTED
    assert bytes(lb.fs_b.files[b"dst.bin"]) == b"x" * 1000


def test_segments_fit_the_peer_pdu_size_and_progress_counts_once() -> None:
    lb = Loopback(duplicate=1.0)  # every PDU arrives twice
    data = bytes(range(256)) * 20
    transfer(lb, data)
    assert bytes(lb.fs_b.files[b"dst.bin"]) == data
    segments = [e for e in lb.events_b if isinstance(e, FileSegmentReceived)]
    assert segments[-1].progress == len(data)
    assert sum(s.length for s in segments) == len(data)  # duplicates are not reported


def test_message_only_transaction() -> None:
    lb = Loopback()
    lb.a.put(PutRequest(B, messages_to_user=[b"hello" and _msg(b"hello")]), 0.0)
    lb.run()
    (meta,) = [e for e in lb.events_b if isinstance(e, MetadataReceived)]
    assert meta.messages_to_user[0].message == b"hello"
    (dst,) = finished(lb.events_b)
    assert dst.condition_code is ConditionCode.NO_ERROR
    assert lb.fs_b.files == {}


def _msg(text: bytes) -> object:
    from comms.cfdp import MessageToUser

    return MessageToUser(text)


# -- the peers' bugs ------------------------------------------------------------------


def _header(mode: TransmissionMode = ACK, sequence: int = 7) -> PduHeader:
    return PduHeader(PduConfig(2, 4), A, sequence, B, mode)


def _receiver(**settings: object) -> Entity:
    return make_entity(B, A, MemoryFilestore(), **settings)


def _acks(entity: Entity) -> list[AckPdu]:
    out = []
    for _, raw in entity.pdus_to_send():
        pdu = decode_pdu(raw)
        if isinstance(pdu, AckPdu):
            out.append(pdu)
    return out


def test_duplicate_eof_is_acknowledged_again_even_after_the_end() -> None:
    b = _receiver()
    h = _header()
    data = b"abcdefgh"
    b.receive_pdu(MetadataPdu(h, len(data), "s", "d").encode(), 0.0)
    b.receive_pdu(FileDataPdu(h, 0, data).encode(), 0.0)
    eof = EofPdu(h, ConditionCode.NO_ERROR, modular_checksum(data), len(data)).encode()
    b.receive_pdu(eof, 0.1)
    out = [decode_pdu(raw) for _, raw in b.pdus_to_send()]
    assert [type(p) for p in out] == [AckPdu, FinishedPdu]
    b.receive_pdu(eof, 0.2)  # the source did not hear our ACK
    assert [p.acknowledged_directive for p in _acks(b)] == [DirectiveCode.EOF]
    b.receive_pdu(AckPdu(h, DirectiveCode.FINISHED).encode(), 0.3)
    assert b.transactions == []
    b.receive_pdu(eof, 5.0)  # long after: remembered, re-ACKed, no new transaction
    assert [p.acknowledged_directive for p in _acks(b)] == [DirectiveCode.EOF]
    assert b.transactions == []


def test_late_metadata_does_not_reset_progress() -> None:
    b = _receiver()
    h = _header()
    data = bytes(range(200))
    b.receive_pdu(FileDataPdu(h, 0, data[:100]).encode(), 0.0)
    b.receive_pdu(FileDataPdu(h, 100, data[100:]).encode(), 0.0)
    b.receive_pdu(MetadataPdu(h, len(data), "s", "d").encode(), 0.1)
    b.receive_pdu(MetadataPdu(h, len(data), "s", "d").encode(), 0.2)  # and a duplicate
    (tid,) = b.transactions
    assert b.transaction(tid).progress == len(data)
    b.receive_pdu(EofPdu(h, 0, modular_checksum(data), len(data)).encode(), 0.3)
    b.receive_pdu(AckPdu(h, DirectiveCode.FINISHED).encode(), 0.4)
    assert bytes(b._ctx.filestore.files[b"d"]) == data  # type: ignore[attr-defined]


def test_missing_metadata_is_naked_with_the_0_0_request() -> None:
    b = _receiver()
    h = _header()
    b.receive_pdu(FileDataPdu(h, 0, b"1234").encode(), 0.0)
    b.receive_pdu(EofPdu(h, 0, modular_checksum(b"1234"), 4).encode(), 0.1)
    naks = [p for _, raw in b.pdus_to_send() if isinstance(p := decode_pdu(raw), NakPdu)]
    assert naks and naks[0].segment_requests[0] == (0, 0)


def test_naks_are_split_to_the_peer_max_pdu_size() -> None:
    b = _receiver(max_pdu_length=64)
    h = _header()
    b.receive_pdu(MetadataPdu(h, 4000, "s", "d").encode(), 0.0)
    for offset in range(0, 4000, 20):  # every other 10-octet piece: 200 gaps
        b.receive_pdu(FileDataPdu(h, offset, bytes(10)).encode(), 0.0)
    b.receive_pdu(EofPdu(h, 0, 0, 4000).encode(), 0.1)
    raws = [raw for _, raw in b.pdus_to_send()]
    naks = [p for raw in raws if isinstance(p := decode_pdu(raw), NakPdu)]
    assert len(naks) > 1
    assert all(len(raw) <= 64 for raw in raws)
    requested = [r for nak in naks for r in nak.segment_requests]
    assert requested == [(o + 10, o + 20) for o in range(0, 4000, 20)]


def test_bounded_nak_segment_requests_per_round() -> None:
    b = _receiver(max_nak_segment_requests=5)
    h = _header()
    b.receive_pdu(MetadataPdu(h, 400, "s", "d").encode(), 0.0)
    for offset in range(0, 400, 20):
        b.receive_pdu(FileDataPdu(h, offset, bytes(10)).encode(), 0.0)
    b.receive_pdu(EofPdu(h, 0, 0, 400).encode(), 0.1)
    naks = [p for _, raw in b.pdus_to_send() if isinstance(p := decode_pdu(raw), NakPdu)]
    requested = [r for nak in naks for r in nak.segment_requests]
    assert len(requested) == 5
    assert naks[-1].end_of_scope == requested[-1][1]


def test_suspended_at_eof_naks_the_gaps_after_resume() -> None:
    b = _receiver()
    h = _header()
    b.receive_pdu(MetadataPdu(h, 300, "s", "d").encode(), 0.0)
    b.receive_pdu(FileDataPdu(h, 0, bytes(100)).encode(), 0.0)
    (tid,) = b.transactions
    b.suspend(tid, 0.05)
    b.receive_pdu(EofPdu(h, 0, 0, 300).encode(), 0.1)
    sent = [decode_pdu(raw) for _, raw in b.pdus_to_send()]
    assert [type(p) for p in sent] == [AckPdu]  # EOF acknowledged, no NAK while suspended
    assert b.next_deadline() is None  # timers frozen
    b.resume(tid, 100.0)
    naks = [p for _, raw in b.pdus_to_send() if isinstance(p := decode_pdu(raw), NakPdu)]
    assert naks and naks[0].segment_requests == ((100, 300),)
    events = b.events()
    assert any(isinstance(e, Suspended) for e in events)
    assert any(isinstance(e, Resumed) for e in events)


def test_immediate_nak_mode_naks_a_gap_at_once() -> None:
    b = _receiver(nak_mode=NakMode.IMMEDIATE)
    h = _header()
    b.receive_pdu(MetadataPdu(h, 300, "s", "d").encode(), 0.0)
    b.receive_pdu(FileDataPdu(h, 0, bytes(100)).encode(), 0.0)
    assert b.pdus_to_send() == []
    b.receive_pdu(FileDataPdu(h, 200, bytes(100)).encode(), 0.0)
    (nak,) = [decode_pdu(raw) for _, raw in b.pdus_to_send()]
    assert isinstance(nak, NakPdu) and nak.segment_requests == ((100, 200),)


def test_transfer_recovers_from_loss_with_deferred_and_immediate_naks() -> None:
    for mode in NakMode:
        a = make_entity(A, B, MemoryFilestore(), nak_mode=mode)
        b = make_entity(B, A, MemoryFilestore(), nak_mode=mode)
        lb = Loopback(3, a=a, b=b, loss=0.2)
        data = bytes(range(256)) * 40
        transfer(lb, data)
        assert bytes(lb.fs_b.files[b"dst.bin"]) == data
        (src,) = finished(lb.events_a)
        assert src.condition_code is ConditionCode.NO_ERROR


# -- cancel, abandon, faults ----------------------------------------------------------


def test_local_cancel_at_the_source_sends_eof_cancel() -> None:
    lb = Loopback()
    lb.fs_a.files[b"src.bin"] = bytearray(100_000)
    tid = lb.a.put(PutRequest(B, "src.bin", "dst.bin"), 0.0)
    lb.step()
    lb.a.cancel(tid, lb.now)
    lb.run()
    (src,) = finished(lb.events_a)
    (dst,) = finished(lb.events_b)
    assert src.condition_code is ConditionCode.CANCEL_REQUEST_RECEIVED
    assert dst.condition_code is ConditionCode.CANCEL_REQUEST_RECEIVED
    assert dst.file_status is FileStatus.DISCARDED_DELIBERATELY
    assert lb.fs_b.files == {}  # the partial file is not kept


def test_local_cancel_at_the_receiver_sends_finished_cancel_and_retains_if_asked() -> None:
    a = make_entity(A, B)
    b = make_entity(B, A, retain_incomplete_files=True)
    lb = Loopback(a=a, b=b)
    lb.fs_a.files[b"src.bin"] = bytearray(b"z" * 100_000)
    lb.a.put(PutRequest(B, "src.bin", "dst.bin"), 0.0)
    lb.run_until(lambda: lb.b.transactions)
    lb.step()
    (tid,) = lb.b.transactions
    lb.b.cancel(tid, lb.now)
    lb.run()
    (src,) = finished(lb.events_a)
    (dst,) = finished(lb.events_b)
    assert src.condition_code is dst.condition_code is ConditionCode.CANCEL_REQUEST_RECEIVED
    assert dst.file_status is FileStatus.RETAINED
    assert lb.fs_b.files[b"dst.bin"] == b"z" * len(lb.fs_b.files[b"dst.bin"])


def test_positive_ack_limit_fault_cancels_then_abandons() -> None:
    lb = Loopback(loss=0.0)
    lb.ba.loss = 1.0  # nothing comes back
    transfer(lb, b"q" * 500)
    (src,) = [e for e in lb.events_a if isinstance(e, Abandoned | TransactionFinished)]
    # The EOF ACK limit cancels; the EOF(cancel) is not acknowledged either: abandon.
    assert isinstance(src, Abandoned)
    assert src.condition_code is ConditionCode.POSITIVE_ACK_LIMIT_REACHED
    assert lb.a.transactions == []


def test_fault_handler_override_ignore_then_inactivity() -> None:
    lb = Loopback()
    lb.ba.loss = 1.0
    lb.fs_a.files[b"src.bin"] = bytearray(100)
    lb.a.put(
        PutRequest(
            B,
            "src.bin",
            "dst.bin",
            fault_handler_overrides=[
                FaultHandlerOverride(
                    ConditionCode.POSITIVE_ACK_LIMIT_REACHED, FaultHandlerCode.IGNORE_ERROR
                ),
                FaultHandlerOverride(
                    ConditionCode.INACTIVITY_DETECTED, FaultHandlerCode.ABANDON_TRANSACTION
                ),
            ],
        ),
        0.0,
    )
    lb.run(until=1000)
    kinds = [type(e) for e in lb.events_a]
    assert FaultIndication in kinds and Abandoned in kinds
    fault = next(e for e in lb.events_a if isinstance(e, FaultIndication))
    assert fault.condition_code is ConditionCode.POSITIVE_ACK_LIMIT_REACHED
    gone = next(e for e in lb.events_a if isinstance(e, Abandoned))
    assert gone.condition_code is ConditionCode.INACTIVITY_DETECTED


def test_fault_handler_suspension_from_the_mib() -> None:
    from comms.cfdp import LocalEntityConfig, Mib

    from .loopback import remote

    mib = Mib(
        LocalEntityConfig(
            A,
            fault_handlers={
                ConditionCode.POSITIVE_ACK_LIMIT_REACHED: (
                    FaultHandlerCode.ISSUE_NOTICE_OF_SUSPENSION
                )
            },
        ),
        {B: remote(B)},
    )
    lb = Loopback(a=Entity(mib, MemoryFilestore()))
    lb.ba.loss = 1.0
    tid = transfer(lb, b"1")
    assert any(isinstance(e, Suspended) for e in lb.events_a)
    assert lb.a.transactions == [tid]  # suspended, waiting for the user
    lb.a.abandon(tid, lb.now)
    assert lb.a.transactions == []


def test_checksum_failure_at_the_receiver() -> None:
    b = _receiver()
    h = _header()
    b.receive_pdu(MetadataPdu(h, 4, "s", "d").encode(), 0.0)
    b.receive_pdu(FileDataPdu(h, 0, b"abcd").encode(), 0.0)
    b.receive_pdu(EofPdu(h, 0, 12345, 4).encode(), 0.1)
    fin = [p for _, raw in b.pdus_to_send() if isinstance(p := decode_pdu(raw), FinishedPdu)]
    assert fin[0].condition_code is ConditionCode.FILE_CHECKSUM_FAILURE
    assert fin[0].file_status is FileStatus.DISCARDED_DELIBERATELY


def test_file_size_error() -> None:
    b = _receiver()
    h = _header()
    b.receive_pdu(MetadataPdu(h, 4, "s", "d").encode(), 0.0)
    b.receive_pdu(FileDataPdu(h, 0, b"abcdef").encode(), 0.0)
    b.receive_pdu(EofPdu(h, 0, 0, 4).encode(), 0.1)
    fin = [p for _, raw in b.pdus_to_send() if isinstance(p := decode_pdu(raw), FinishedPdu)]
    assert fin[0].condition_code is ConditionCode.FILE_SIZE_ERROR


def test_class1_check_limit_at_the_receiver() -> None:
    b = _receiver()
    h = _header(UNACK)
    b.receive_pdu(MetadataPdu(h, 100, "s", "d", closure_requested=True).encode(), 0.0)
    b.receive_pdu(FileDataPdu(h, 0, bytes(50)).encode(), 0.0)
    b.receive_pdu(EofPdu(h, 0, 0, 100).encode(), 0.1)
    now = 0.1
    while (deadline := b.next_deadline()) is not None and now < 100:
        b.pdus_to_send()
        now = deadline
        b.on_timer(now)
    (done,) = finished(b.events())
    assert done.condition_code is ConditionCode.CHECK_LIMIT_REACHED
    assert now == pytest.approx(0.1 + 2 * 1.0)  # check limit 2 x check timer 1 s


def test_class1_closure_check_limit_at_the_source() -> None:
    lb = Loopback()
    lb.ba.loss = 1.0
    transfer(lb, b"abc", transmission_mode=UNACK, closure_requested=True)
    (src,) = finished(lb.events_a)
    assert src.condition_code is ConditionCode.CHECK_LIMIT_REACHED


def test_inactivity_at_the_receiver() -> None:
    b = _receiver()
    b.receive_pdu(FileDataPdu(_header(), 0, b"ab").encode(), 0.0)
    assert b.next_deadline() == pytest.approx(30.0)
    b.on_timer(30.0)
    fin = [p for _, raw in b.pdus_to_send() if isinstance(p := decode_pdu(raw), FinishedPdu)]
    assert fin[0].condition_code is ConditionCode.INACTIVITY_DETECTED


def test_source_receives_finished_cancel() -> None:
    lb = Loopback()
    lb.fs_a.files[b"src.bin"] = bytearray(100_000)
    tid = lb.a.put(PutRequest(B, "src.bin", "dst.bin"), 0.0)
    lb.step()
    h = PduHeader(PduConfig(2, 4), A, tid.transaction_sequence_number, B)
    lb.a.receive_pdu(
        FinishedPdu(
            h, ConditionCode.CANCEL_REQUEST_RECEIVED, DeliveryCode.DATA_INCOMPLETE, 0
        ).encode(),
        lb.now,
    )
    (src,) = finished(lb.a.events())
    assert src.condition_code is ConditionCode.CANCEL_REQUEST_RECEIVED
    acks = _acks(lb.a)
    assert acks and acks[-1].acknowledged_directive is DirectiveCode.FINISHED


# -- suspend / resume / report / keep-alive / link ------------------------------------


def test_suspend_and_resume_at_the_source_mid_transfer() -> None:
    lb = Loopback()
    data = bytes(range(256)) * 100
    lb.fs_a.files[b"src.bin"] = bytearray(data)
    tid = lb.a.put(PutRequest(B, "src.bin", "dst.bin"), 0.0)
    lb.a.suspend(tid, 0.0)
    lb.run(until=500)
    assert lb.now < 500 and lb.a.transactions == [tid]  # idle: nothing runs
    lb.a.report(tid, lb.now)
    (report,) = [e for e in lb.a.events() if isinstance(e, ReportIndication)]
    assert report.suspended and report.is_source and report.progress == 0
    lb.a.resume(tid, 600.0)
    lb.now = 600.0
    lb.run()
    assert bytes(lb.fs_b.files[b"dst.bin"]) == data


def test_remote_suspend_and_resume_by_message() -> None:
    lb = Loopback()
    lb.fs_a.files[b"src.bin"] = bytearray(100_000)
    tid = lb.a.put(PutRequest(B, "src.bin", "dst.bin"), 0.0)
    # B asks A (via a message-only transaction) to suspend A's transaction.
    lb.b.put(PutRequest(A, messages_to_user=[RemoteSuspendRequest(tid)]), 0.0)
    lb.run_until(lambda: any(isinstance(e, Suspended) for e in lb.events_a), until=100)
    assert any(isinstance(e, Suspended) for e in lb.events_a)
    lb.b.put(PutRequest(A, messages_to_user=[RemoteResumeRequest(tid)]), lb.now)
    lb.run()
    assert any(isinstance(e, Resumed) for e in lb.events_a)
    assert bytes(lb.fs_b.files[b"dst.bin"]) == bytes(100_000)


def test_prompt_keep_alive_and_nak() -> None:
    lb = Loopback()
    lb.fs_a.files[b"src.bin"] = bytearray(100_000)
    tid = lb.a.put(PutRequest(B, "src.bin", "dst.bin"), 0.0)
    lb.step()  # the Metadata is out: the receiver will know the transaction
    lb.a.prompt(tid, ResponseRequired.KEEP_ALIVE, lb.now)
    lb.a.prompt(tid, ResponseRequired.NAK, lb.now)
    seen: list[object] = []
    original = lb.a.receive_pdu

    def spy(data: bytes, now: float) -> None:
        seen.append(decode_pdu(data))
        original(data, now)

    lb.a.receive_pdu = spy  # type: ignore[method-assign]
    lb.run()
    assert any(isinstance(p, KeepAlivePdu) for p in seen)
    assert any(isinstance(p, NakPdu) for p in seen)
    assert finished(lb.events_a)[0].condition_code is ConditionCode.NO_ERROR


def test_keep_alive_interval_at_the_receiver() -> None:
    b = _receiver(keep_alive_interval=0.5)
    h = _header()
    b.receive_pdu(MetadataPdu(h, 300, "s", "d").encode(), 0.0)
    b.receive_pdu(FileDataPdu(h, 0, bytes(100)).encode(), 0.0)
    assert b.next_deadline() == pytest.approx(0.5)
    b.on_timer(0.5)
    (alive,) = [decode_pdu(raw) for _, raw in b.pdus_to_send()]
    assert isinstance(alive, KeepAlivePdu) and alive.progress == 100


def test_keep_alive_discrepancy_limit_at_the_source() -> None:
    a = make_entity(A, B, MemoryFilestore({b"f": bytes(5000)}), keep_alive_discrepancy_limit=10)
    tid = a.put(PutRequest(B, "f", "g"), 0.0)
    while a.next_deadline() == 0.0:
        a.pdus_to_send()
        a.on_timer(0.0)
    h = PduHeader(PduConfig(2, 4), A, tid.transaction_sequence_number, B)
    a.receive_pdu(KeepAlivePdu(h, 4000).encode(), 0.1)
    eofs = [p for _, raw in a.pdus_to_send() if isinstance(p := decode_pdu(raw), EofPdu)]
    assert eofs[-1].condition_code is ConditionCode.KEEP_ALIVE_LIMIT_REACHED
    assert eofs[-1].fault_location is not None and eofs[-1].fault_location.entity_id == A


def test_link_down_freezes_timers_and_holds_pdus() -> None:
    lb = Loopback()
    lb.fs_a.files[b"src.bin"] = bytearray(1000)
    lb.a.put(PutRequest(B, "src.bin", "dst.bin"), 0.0)
    lb.a.link_down(0.0)
    lb.b.link_down(0.0)
    assert lb.a.pdus_to_send() == []
    assert lb.a.next_deadline() is None
    lb.a.on_timer(1e6)  # a day later: nothing expired, nothing counted
    lb.b.on_timer(1e6)
    lb.now = 1e6
    lb.a.link_up(1e6)
    lb.b.link_up(1e6)
    lb.run()
    (src,) = finished(lb.events_a)
    assert src.condition_code is ConditionCode.NO_ERROR
    assert bytes(lb.fs_b.files[b"dst.bin"]) == bytes(1000)


def test_link_down_mid_transfer_counts_no_retries() -> None:
    lb = Loopback()
    lb.fs_a.files[b"src.bin"] = bytearray(3000)
    lb.a.put(PutRequest(B, "src.bin", "dst.bin"), 0.0)
    lb.ba.outages = [(0.0, 3600.0)]  # nothing comes back for an hour
    lb.step()  # all File Data and EOF are on the way
    lb.a.link_down(lb.now, B)
    lb.b.link_down(lb.now, A)
    lb.run(until=3600)
    assert not finished(lb.events_a)  # no ACK-limit fault during the known outage
    assert lb.a.next_deadline() is None and lb.b.next_deadline() is None  # all frozen
    lb.now = 3600.0
    lb.a.link_up(lb.now, B)
    lb.b.link_up(lb.now, A)
    lb.run()
    assert finished(lb.events_a)[0].condition_code is ConditionCode.NO_ERROR


# -- filestore requests ---------------------------------------------------------------


def test_filestore_requests_run_after_delivery_with_responses() -> None:
    lb = Loopback()
    lb.fs_b.files[b"old.txt"] = bytearray(b"old")
    lb.fs_b.files[b"tail.txt"] = bytearray(b"+tail")
    requests = [
        FilestoreRequest(FilestoreAction.CREATE_DIRECTORY, "out"),
        FilestoreRequest(FilestoreAction.RENAME_FILE, "dst.bin", "out/new.bin"),
        FilestoreRequest(FilestoreAction.APPEND_FILE, "out/new.bin", "tail.txt"),
        FilestoreRequest(FilestoreAction.DELETE_FILE, "old.txt"),
        FilestoreRequest(FilestoreAction.CREATE_FILE, "empty"),
        FilestoreRequest(FilestoreAction.DENY_FILE, "never-there"),
        FilestoreRequest(FilestoreAction.DELETE_FILE, "old.txt"),  # gone now: status 1
        FilestoreRequest(FilestoreAction.CREATE_FILE, "not-run"),
    ]
    transfer(lb, b"data", filestore_requests=requests)
    (src,) = finished(lb.events_a)
    statuses = [r.status_code for r in src.filestore_responses]
    assert statuses == [0, 0, 0, 0, 0, 0, 1, 15]
    assert bytes(lb.fs_b.files[b"out/new.bin"]) == b"data+tail"
    assert b"old.txt" not in lb.fs_b.files and b"not-run" not in lb.fs_b.files
    (dst,) = finished(lb.events_b)
    assert dst.filestore_responses == src.filestore_responses


def test_destination_name_outside_the_root_is_a_filestore_rejection() -> None:
    lb = Loopback()
    lb.fs_a.files[b"src.bin"] = bytearray(b"x")
    lb.a.put(PutRequest(B, "src.bin", "../escape"), 0.0)
    lb.run()
    (dst,) = finished(lb.events_b)
    assert dst.condition_code is ConditionCode.FILESTORE_REJECTION
    assert dst.file_status is FileStatus.DISCARDED_FILESTORE_REJECTION
    (src,) = finished(lb.events_a)
    assert src.condition_code is ConditionCode.FILESTORE_REJECTION


# -- the entity's edges ---------------------------------------------------------------


def test_bad_pdus_become_events_not_exceptions() -> None:
    b = _receiver()
    b.receive_pdu(b"\x00\x01", 0.0)
    b.receive_pdu(b"", 0.0)
    other = PduHeader(PduConfig(2, 4), A, 1, 99)  # for another entity
    b.receive_pdu(FileDataPdu(other, 0, b"x").encode(), 0.0)
    stranger = PduHeader(PduConfig(2, 4), 77, 1, B)  # from an entity not in the MIB
    b.receive_pdu(FileDataPdu(stranger, 0, b"x").encode(), 0.0)
    events = b.events()
    assert len(events) == 4 and all(isinstance(e, PduRejected) for e in events)
    assert b.transactions == []


def test_put_to_an_unknown_entity_is_a_usage_error() -> None:
    a = make_entity(A, B)
    with pytest.raises(UsageError):
        a.put(PutRequest(99, "x", "y"), 0.0)
    with pytest.raises(UsageError):
        PutRequest(B, "only-source")


def test_sequence_numbers_are_allocated_and_concurrent_transactions_run() -> None:
    lb = Loopback(5, loss=0.1)
    files = {b"f%d" % i: bytes([i]) * (500 * i) for i in range(1, 6)}
    for name, data in files.items():
        lb.fs_a.files[name] = bytearray(data)
        lb.a.put(PutRequest(B, name, b"out-" + name), 0.0)
    lb.run()
    done = finished(lb.events_a)
    assert len({e.transaction_id for e in done}) == 5
    for name, data in files.items():
        assert bytes(lb.fs_b.files[b"out-" + name]) == data
