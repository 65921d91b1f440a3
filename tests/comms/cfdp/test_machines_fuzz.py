"""Any PDU sequence, any user operation, any time step: the entity never raises for the
peer's input and never livelocks (every input x state pair, 727.0-B-5 4.6, via Hypothesis).

PDUs come from the PDU strategies with offsets and sizes kept small (a memory filestore
would otherwise be asked for gigabytes) and a few corrupted to arbitrary octets. Metadata
carries no fault handler overrides here: an "ignore" override may legitimately leave a
transaction waiting forever.
"""

from __future__ import annotations

import contextlib

from hypothesis import given, settings
from hypothesis import strategies as st

from comms.cfdp import (
    ChecksumType,
    Direction,
    DirectiveCode,
    EntityIdTlv,
    MemoryFilestore,
    MessageToUser,
    PduConfig,
    PduHeader,
    PutRequest,
    ResponseRequired,
    TransmissionMode,
)
from comms.cfdp.pdus import (
    AckPdu,
    EofPdu,
    FileDataPdu,
    FinishedPdu,
    KeepAlivePdu,
    MetadataPdu,
    NakPdu,
    PromptPdu,
)
from comms.errors import UsageError

from .loopback import A, B, make_entity
from .strategies import conditions, filestore_responses

SMALL = st.integers(0, 3000)


@st.composite
def small_headers(draw: st.DrawFn) -> PduHeader:
    return PduHeader(
        PduConfig(2, 4, crc=draw(st.booleans())),
        draw(st.sampled_from([A, B, 3])),
        draw(st.integers(0, 3)),
        draw(st.sampled_from([A, B])),
        draw(st.sampled_from(TransmissionMode)),
        draw(st.sampled_from(Direction)),
    )


@st.composite
def small_pdus(draw: st.DrawFn) -> bytes:
    h = draw(small_headers())
    kind = draw(st.integers(0, 7))
    condition = draw(conditions)
    if kind == 0:
        offset = draw(SMALL)
        pdu: object = FileDataPdu(h, offset, draw(st.binary(max_size=200)))
    elif kind == 1:
        pdu = MetadataPdu(
            h,
            draw(SMALL),
            draw(st.sampled_from([b"", b"s"])),
            draw(st.sampled_from([b"", b"d", b"../x"])),
            draw(st.sampled_from([0, 2, 3, 15, 7])),
            draw(st.booleans()),
            draw(st.lists(st.builds(MessageToUser, st.binary(max_size=8)), max_size=2)),
        )
    elif kind == 2:
        pdu = EofPdu(h, condition, draw(st.integers(0, 2**32 - 1)), draw(SMALL))
        if condition != 0:
            pdu = EofPdu(h, condition, 0, draw(SMALL), EntityIdTlv(1, 2))
    elif kind == 3:
        pdu = FinishedPdu(
            h,
            0,
            draw(st.integers(0, 1)),
            draw(st.integers(0, 3)),
            draw(st.lists(filestore_responses(), max_size=2)),
        )
    elif kind == 4:
        pdu = AckPdu(
            h, draw(st.sampled_from([DirectiveCode.EOF, DirectiveCode.FINISHED])), condition
        )
    elif kind == 5:
        a, b = sorted((draw(SMALL), draw(SMALL)))
        pdu = NakPdu(h, 0, 3000, [(a, b)] if draw(st.booleans()) else [(0, 0), (a, b)])
    elif kind == 6:
        pdu = PromptPdu(h, draw(st.sampled_from(ResponseRequired)))
    else:
        pdu = KeepAlivePdu(h, draw(SMALL))
    raw = pdu.encode()  # type: ignore[attr-defined]
    if draw(st.integers(0, 9)) == 0:  # now and then, arbitrary damage
        flip = draw(st.integers(0, len(raw) - 1))
        raw = raw[:flip] + bytes([raw[flip] ^ draw(st.integers(1, 255))]) + raw[flip + 1 :]
    return raw


operations = st.one_of(
    st.tuples(st.just("pdu"), small_pdus()),
    st.tuples(st.just("time"), st.floats(0, 40)),
    st.tuples(
        st.sampled_from(
            ["cancel", "suspend", "resume", "abandon", "report", "prompt", "down", "up"]
        ),
        st.integers(0, 5),
    ),
)


@settings(max_examples=200, deadline=None)
@given(
    st.lists(operations, max_size=40),
    st.sampled_from([ChecksumType.MODULAR, ChecksumType.CRC32, ChecksumType.NULL]),
)
def test_any_input_sequence_is_survived(ops: list[tuple[str, object]], kind: ChecksumType) -> None:
    b = make_entity(B, A, MemoryFilestore({b"f": bytes(range(256)) * 4}), checksum_type=kind)
    b.put(PutRequest(A, "f", "g"), 0.0)
    now = 0.0
    for op, arg in ops:
        if op == "pdu":
            b.receive_pdu(arg, now)  # type: ignore[arg-type]
        elif op == "time":
            now += arg  # type: ignore[operator]
            b.on_timer(now)
        elif op == "down":
            b.link_down(now)
        elif op == "up":
            b.link_up(now)
        else:
            tids = b.transactions
            if not tids:
                continue
            tid = tids[arg % len(tids)]  # type: ignore[operator]
            if op == "prompt":
                with contextlib.suppress(UsageError):  # receivers do not prompt
                    b.prompt(tid, ResponseRequired.NAK, now)
            else:
                getattr(b, op)(tid, now)
        b.pdus_to_send()
        b.events()
    b.link_up(now)
    # Left alone, the entity settles: every transaction ends or waits suspended.
    for _ in range(500):
        b.pdus_to_send()
        deadline = b.next_deadline()
        if deadline is None:
            break
        now = max(now, deadline)
        b.on_timer(now)
    else:
        raise AssertionError("the entity never settled")
    for tid in b.transactions:
        assert b.transaction(tid).suspended
