"""CFDP user operations (727.0-B-5 section 6) over three entities in virtual time.

A is the orbital node, B the relay, C the ground: every pair joined by its own lossy
channels from the loopback harness, and each entity's events handled by its
:class:`UserOperations`.
"""

from __future__ import annotations

import random

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from comms.cfdp import (
    ConditionCode,
    DeliveryCode,
    DirectoryListingRequest,
    Entity,
    FileStatus,
    LocalEntityConfig,
    MemoryFilestore,
    MessageToUser,
    Mib,
    OriginatingTransactionId,
    ProxyClosureRequest,
    ProxyMessageToUser,
    ProxyPutCancel,
    ProxyPutRequest,
    ProxyTransmissionMode,
    PutRequest,
    RemoteResumeRequest,
    RemoteStatusReportRequest,
    RemoteSuspendRequest,
    TransactionFinished,
    TransactionStatus,
    TransmissionMode,
)
from comms.cfdp.events import MetadataReceived
from comms.cfdp.header import TransactionId
from comms.cfdp.user_operations import (
    DirectoryListingReceived,
    ProxyPutResponseReceived,
    RemoteResumeResponseReceived,
    RemoteStatusReportReceived,
    RemoteSuspendResponseReceived,
    UserOperations,
)
from comms.errors import UsageError

from .loopback import Channel, remote

A, B, C = 1, 2, 3


class Network:
    """Three entities, a channel each way between every pair, virtual time."""

    def __init__(self, seed: int = 0, tick: float = 0.01, **channel: object) -> None:
        rng = random.Random(seed)
        self.fs = {n: MemoryFilestore() for n in (A, B, C)}
        self.entities = {
            n: Entity(
                Mib(LocalEntityConfig(n), {p: remote(p) for p in (A, B, C) if p != n}),
                self.fs[n],
            )
            for n in (A, B, C)
        }
        self.ops = {n: UserOperations(e, self.fs[n]) for n, e in self.entities.items()}
        self.channels = {
            (s, d): Channel(random.Random(rng.random()), **channel)  # type: ignore[arg-type]
            for s in (A, B, C)
            for d in (A, B, C)
            if s != d
        }
        self.events: dict[int, list[object]] = {n: [] for n in (A, B, C)}
        self.now = 0.0
        self.tick = tick
        self.steps = 0

    def _drain(self) -> None:
        for n, entity in self.entities.items():
            self.events[n].extend(self.ops[n].poll(self.now))
            for peer, raw in entity.pdus_to_send():
                self.channels[(n, peer)].push(raw, self.now)

    def _deadline(self, entity: Entity) -> float | None:
        deadline = entity.next_deadline()
        if deadline is not None and deadline <= self.now and self.steps:
            return self.now + self.tick
        return deadline

    def step(self) -> bool:
        self._drain()
        times = [self._deadline(e) for e in self.entities.values()]
        times += [c.next_time() for c in self.channels.values()]
        due = [t for t in times if t is not None]
        if not due:
            return False
        self.now = max(self.now, min(due))
        self.steps += 1
        for (_, d), channel in self.channels.items():
            for raw in channel.pop_due(self.now):
                self.entities[d].receive_pdu(raw, self.now)
        for entity in self.entities.values():
            deadline = entity.next_deadline()
            if deadline is not None and deadline <= self.now:
                entity.on_timer(self.now)
        self._drain()
        return True

    def run(self, until: float = 1e5, max_steps: int = 500_000) -> None:
        while self.now < until and self.step():
            assert self.steps < max_steps, "the network did not settle"

    def of(self, n: int, cls: type) -> list:  # type: ignore[type-arg]
        return [e for e in self.events[n] if isinstance(e, cls)]


def _proxy_request(*options: object) -> PutRequest:
    return PutRequest(
        B,
        messages_to_user=[
            ProxyPutRequest(C, b"relay/result.bin", b"ground/result.bin"),
            *options,  # type: ignore[list-item]
        ],
    )


def _relay_files(net: Network, data: bytes) -> None:
    net.fs[B].create_directory(b"relay")
    net.fs[B].files[b"relay/result.bin"] = bytearray(data)
    net.fs[C].create_directory(b"ground")


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_proxy_put_relays_file_over_lossy_links(seed: int) -> None:
    data = random.Random(seed).randbytes(5000)
    net = Network(seed, loss=0.1, duplicate=0.05, reorder=0.05)
    _relay_files(net, data)
    origin = net.entities[A].put(
        _proxy_request(
            ProxyTransmissionMode(TransmissionMode.ACKNOWLEDGED),
            ProxyClosureRequest(True),
            ProxyMessageToUser(b"pass 42"),
        ),
        0.0,
    )
    net.run()
    assert bytes(net.fs[C].files[b"ground/result.bin"]) == data
    (response,) = net.of(A, ProxyPutResponseReceived)
    assert response.originating_transaction_id == origin
    assert response.condition_code is ConditionCode.NO_ERROR
    assert response.delivery_code is DeliveryCode.DATA_COMPLETE
    assert response.file_status is FileStatus.RETAINED
    # C's Metadata carries A's transaction id and the proxied message to user (6.2.4.2).
    metas = [m for m in net.of(C, MetadataReceived) if m.source_entity_id == B]
    (meta,) = metas
    reserved = [m.reserved_message() for m in meta.messages_to_user]
    assert OriginatingTransactionId(origin) in reserved
    assert MessageToUser(b"pass 42") in meta.messages_to_user
    assert not net.ops[B].proxy_puts


def test_proxy_put_of_missing_file_is_answered_with_a_filestore_rejection() -> None:
    net = Network()
    origin = net.entities[A].put(_proxy_request(), 0.0)
    net.run()
    (response,) = net.of(A, ProxyPutResponseReceived)
    assert response.originating_transaction_id == origin
    assert response.condition_code is ConditionCode.FILESTORE_REJECTION
    assert response.delivery_code is DeliveryCode.DATA_INCOMPLETE


def test_proxy_put_to_unknown_entity_is_refused() -> None:
    net = Network()
    net.entities[A].put(PutRequest(B, messages_to_user=[ProxyPutRequest(99, b"x", b"y")]), 0.0)
    net.run()
    (response,) = net.of(A, ProxyPutResponseReceived)
    assert response.delivery_code is DeliveryCode.DATA_INCOMPLETE


def test_proxy_put_cancel_cancels_the_relay_put() -> None:
    net = Network()
    _relay_files(net, bytes(200_000))
    origin = net.entities[A].put(_proxy_request(), 0.0)
    while not net.ops[B].proxy_puts:
        assert net.step()
    # Hold the relay's put by taking B's link to C down (timers frozen, 4.x link
    # awareness), so the cancel surely arrives while it is active.
    net.entities[B].link_down(net.now, C)
    net.entities[A].put(
        PutRequest(B, messages_to_user=[ProxyPutCancel(), OriginatingTransactionId(origin)]),
        net.now,
    )
    net.run(until=net.now + 2.0)
    net.entities[B].link_up(net.now, C)
    net.run()
    (response,) = net.of(A, ProxyPutResponseReceived)
    assert response.originating_transaction_id == origin
    assert response.condition_code is ConditionCode.CANCEL_REQUEST_RECEIVED
    assert response.delivery_code is DeliveryCode.DATA_INCOMPLETE


def _long_put(net: Network) -> TransactionId:
    """A put from B to C held active (B's link to C is down) while A's requests arrive."""
    net.fs[B].files[b"big"] = bytearray(bytes(300_000))
    net.entities[B].link_down(0.0, C)
    return net.entities[B].put(PutRequest(C, b"big", b"big"), 0.0)


def test_remote_suspend_and_resume_are_answered() -> None:
    net = Network()
    target = _long_put(net)
    net.run(until=0.5)
    net.entities[A].put(PutRequest(B, messages_to_user=[RemoteSuspendRequest(target)]), net.now)
    net.run(until=1.0)
    (suspended,) = net.of(A, RemoteSuspendResponseReceived)
    assert suspended.transaction_id == target
    assert suspended.transaction_status is TransactionStatus.ACTIVE
    assert suspended.suspended
    assert suspended.originating_transaction_id is not None
    assert net.entities[B].transaction(target).suspended
    net.entities[A].put(PutRequest(B, messages_to_user=[RemoteResumeRequest(target)]), net.now)
    net.run(until=1.5)
    (resumed,) = net.of(A, RemoteResumeResponseReceived)
    assert resumed.transaction_status is TransactionStatus.ACTIVE
    assert not resumed.suspended
    net.entities[B].link_up(net.now, C)
    net.run()
    assert net.fs[C].files[b"big"] == bytes(300_000)


def test_remote_suspend_of_unknown_transaction_says_unrecognized() -> None:
    net = Network()
    ghost = TransactionId(B, 77)
    net.entities[A].put(PutRequest(B, messages_to_user=[RemoteSuspendRequest(ghost)]), 0.0)
    net.run()
    (response,) = net.of(A, RemoteSuspendResponseReceived)
    assert response.transaction_status is TransactionStatus.UNRECOGNIZED
    assert not response.suspended


def test_remote_status_report() -> None:
    net = Network()
    target = _long_put(net)
    net.run(until=0.5)
    request = RemoteStatusReportRequest(target, b"report.txt")
    origin = net.entities[A].put(PutRequest(B, messages_to_user=[request]), net.now)
    net.run(until=1.0)
    (report,) = net.of(A, RemoteStatusReportReceived)
    assert report.originating_transaction_id == origin
    assert report.transaction_id == target
    assert report.transaction_status is TransactionStatus.ACTIVE
    assert report.successful
    net.entities[B].link_up(net.now, C)
    net.run()
    net.entities[A].put(PutRequest(B, messages_to_user=[request]), net.now)
    net.run()
    assert net.of(A, RemoteStatusReportReceived)[1].transaction_status is (
        TransactionStatus.UNRECOGNIZED
    )


def test_directory_listing_arrives_as_a_file() -> None:
    net = Network(3, loss=0.1)
    fs = net.fs[B]
    fs.create_directory(b"products")
    fs.create_directory(b"products/old")
    fs.files[b"products/a.bin"] = bytearray(b"1")
    fs.files[b"products/b.bin"] = bytearray(b"22")
    request = DirectoryListingRequest(b"products", b"listing.txt")
    origin = net.entities[A].put(PutRequest(B, messages_to_user=[request]), 0.0)
    net.run()
    (listing,) = net.of(A, DirectoryListingReceived)
    assert listing.originating_transaction_id == origin
    assert listing.successful
    assert listing.directory_name == b"products"
    assert listing.file_status is FileStatus.RETAINED
    assert bytes(net.fs[A].files[b"listing.txt"]) == b"a.bin\nb.bin\nold/\n"
    assert not any(name.startswith(b".dirlist-") for name in fs.files), "staging left behind"
    finished = [e for e in net.of(A, TransactionFinished) if not e.is_source]
    assert finished


def test_directory_listing_of_missing_directory_is_unsuccessful() -> None:
    net = Network()
    request = DirectoryListingRequest(b"nowhere", b"listing.txt")
    net.entities[A].put(PutRequest(B, messages_to_user=[request]), 0.0)
    net.run()
    (listing,) = net.of(A, DirectoryListingReceived)
    assert not listing.successful
    assert b"listing.txt" not in net.fs[A].files


def test_malformed_reserved_message_is_ignored() -> None:
    net = Network()
    net.entities[A].put(PutRequest(B, messages_to_user=[MessageToUser(b"cfdp\x00")]), 0.0)
    net.run()
    assert not net.of(A, ProxyPutResponseReceived)
    assert not net.ops[B].proxy_puts


def test_user_operations_needs_an_entity() -> None:
    with pytest.raises(UsageError):
        UserOperations(object(), MemoryFilestore())  # type: ignore[arg-type]


@settings(max_examples=200, deadline=None)
@given(st.lists(st.binary(max_size=40), max_size=4))
def test_any_reserved_message_octets_never_raise(payloads: list[bytes]) -> None:
    # Whatever a peer puts after "cfdp", the user either acts, answers or ignores it.
    fs = MemoryFilestore()
    entity = Entity(Mib(LocalEntityConfig(B), {A: remote(A), C: remote(C)}), fs)
    ops = UserOperations(entity, fs)
    tid = TransactionId(A, 1)
    event = MetadataReceived(
        tid, A, 0, b"", b"", tuple(MessageToUser(b"cfdp" + p) for p in payloads)
    )
    out = ops.handle([event], 0.0)
    assert out[0] is event
    entity.pdus_to_send()
