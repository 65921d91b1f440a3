"""Every FOP-1 (state, event) pair against a transcription of 232.1-B-2 table 5-1.

The grid below is written out independently of ``comms.cop1.tables`` (one row per
event, one cell per state S1..S6): the next state, ``!REASON`` when the cell alerts,
``~`` when it suspends, ``-`` when the book has no entry (the pair must then produce a
ProtocolError and leave the state alone). Each pair is driven through the public
inputs: a CLCW built to meet the event's conditions, a timer expiry, a request, a
directive; only E15 (no classifier path) and the lower layer's accepts E41/E43/E45
(immediate in this design) are injected.

Cross-read against Yamcs Cop1TcPacketHandler and dariol83/ccsds FopEngine (read, not
copied); where they differ the comments in ``comms/cop1/tables.py`` say which was taken.
"""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from comms.cop1 import (
    FOP_TABLE,
    Alert,
    AlertReason,
    Fop,
    FopState,
    InitiateMode,
    ProtocolError,
    Reject,
    Suspend,
)
from comms.cop1.tables import classify_clcw, classify_timer
from comms.frames import Clcw, TcFrame

GRID = """
E1    1        6!SYNCH   6!SYNCH   1         1         6
E2    1        1         1         -         -         6
E3    6!CLCW   6!CLCW    6!CLCW    6!CLCW    6!CLCW    6
E4    6!SYNCH  6!SYNCH   6!SYNCH   6!SYNCH   5         6
E5    1        6!SYNCH   6!SYNCH   -         -         6
E6    1        1         1         -         -         6
E7    6!CLCW   6!CLCW    6!CLCW    -         -         6
E101  6!LIMIT  6!LIMIT   6!LIMIT   -         -         6
E102  6!LIMIT  6!LIMIT   6!LIMIT   -         -         6
E8    2        2         2         -         -         6
E9    3        3         3         -         -         6
E10   2        2         2         -         -         6
E11   3        3         3         -         -         6
E12   2        2         2         -         -         6
E103  3        3         3         -         -         6
E13   6!NN_R   6!NN_R    6!NN_R    6!NN_R    5         6
E14   6!LOCKOUT 6!LOCKOUT 6!LOCKOUT 6!LOCKOUT 5       6
E15   6!CLCW   6!CLCW    6!CLCW    6!CLCW    6!CLCW    6
E16   1        2         3         6!T1      5         6
E104  1        2         3         6~        5         6
E17   6!T1     6!T1      6!T1      6!T1      6!T1      6
E18   6~       6~        6~        6~        6!T1      6
E19   1        2         3         4         5         6
E20   1        2         3         4         5         6
E21   1        2         3         4         5         6
E22   1        2         3         4         5         6
E23   1        2         3         4         5         1
E24   1        2         3         4         5         4
E25   1        2         3         4         5         5
E26   1        2         3         4         5         6
E27   1        2         3         4         5         5
E28   1        2         3         4         5         6
E29   6!TERM   6!TERM    6!TERM    6!TERM    6!TERM    6
E30   1        2         3         4         5         6
E31   -        -         -         -         -         1
E32   -        -         -         -         -         2
E33   -        -         -         -         -         3
E34   -        -         -         -         -         4
E35   1        2         3         4         5         6
E36   1        2         3         4         5         6
E37   1        2         3         4         5         6
E38   1        2         3         4         5         6
E39   1        2         3         4         5         6
E40   1        2         3         4         5         6
E41   1        2         3         4         5         6
E42   6!LLIF   6!LLIF    6!LLIF    6!LLIF    6!LLIF    6!LLIF
E43   1        2         3         4         5         6
E44   6!LLIF   6!LLIF    6!LLIF    6!LLIF    6!LLIF    6!LLIF
E45   1        2         3         4         5         6
E46   6!LLIF   6!LLIF    6!LLIF    6!LLIF    6!LLIF    6!LLIF
"""


def _parse() -> dict[tuple[FopState, str], str]:
    cells: dict[tuple[FopState, str], str] = {}
    for line in GRID.strip().splitlines():
        event, *row = line.split()
        assert len(row) == 6, line
        for state, cell in zip(FopState, row, strict=True):
            cells[(state, event)] = cell
    return cells


EXPECTED = _parse()
EVENTS = sorted({e for _, e in EXPECTED}, key=lambda e: int(e[1:]))

# Events whose conditions need frames outstanding (NN(R) < V(S)).
_NEEDS_OUTSTANDING = {"E2", "E5", "E6", "E7", "E8", "E9", "E10", "E11", "E12"}
_NEEDS_OUTSTANDING |= {"E101", "E102", "E103", "E16", "E104", "E17", "E18"}


def _clcw(n_r: int, *, lockout: bool = False, wait: bool = False, retx: bool = False) -> Clcw:
    return Clcw(vcid=0, report_value=n_r, lockout=lockout, wait=wait, retransmit=retx)


def drive(state: FopState, event: str) -> Fop:
    """A FOP in ``state`` whose variables meet ``event``'s conditions, then the event."""
    limit = 1 if event in ("E101", "E102") else 3
    fop = Fop(1, 0, sliding_window_k=3, transmission_limit=limit, t1_initial=2.0)
    fop.set_timeout_type(1 if event in ("E104", "E18") else 0)
    fop.initiate_ad(0.0)
    if event in _NEEDS_OUTSTANDING or event == "E20":
        for i in range(3):
            fop.transmit_ad(bytes([i]), 0.0)  # V(S) = 3, NN(R) = 0, window now full
    if event == "E20":
        fop.transmit_ad(b"queued", 0.0)  # waits: the window is full
    if event in ("E12", "E103", "E17", "E18"):
        fop.transmission_count = fop.transmission_limit
    fop.frames_to_send()
    fop.events()
    fop.state = state
    if event in ("E31", "E32", "E33", "E34"):
        fop.suspend_state = int(event[1:]) - 30
    if event in ("E26", "E28"):
        fop.bc_out_ready = False
    if event == "E22":
        fop.bd_out_ready = False
    _fire(fop, event)
    return fop


def _fire(fop: Fop, event: str) -> None:
    v_s, nn_r = fop.v_s, fop.nn_r
    mid = (nn_r + 1) & 0xFF
    clcws = {
        "E1": _clcw(v_s),
        "E2": _clcw(v_s),
        "E3": _clcw(v_s, wait=True),
        "E4": _clcw(v_s, retx=True),
        "E5": _clcw(nn_r),
        "E6": _clcw(mid),
        "E7": _clcw(mid, wait=True),
        "E101": _clcw(mid, retx=True),
        "E102": _clcw(nn_r, retx=True),
        "E8": _clcw(mid, retx=True),
        "E9": _clcw(mid, retx=True, wait=True),
        "E10": _clcw(nn_r, retx=True),
        "E11": _clcw(nn_r, retx=True, wait=True),
        "E12": _clcw(nn_r, retx=True),
        "E103": _clcw(nn_r, retx=True, wait=True),
        "E13": _clcw((v_s + 1) & 0xFF),
        "E14": _clcw(v_s, lockout=True),
    }
    if event in clcws:
        fop.receive_clcw(clcws[event], 0.5)
    elif event in ("E16", "E104", "E17", "E18"):
        deadline = fop.next_deadline()
        assert deadline is not None
        fop.on_timer(deadline)
    elif event in ("E19", "E20"):
        fop.transmit_ad(b"fdu", 0.5)
    elif event in ("E21", "E22"):
        fop.transmit_bd(b"bd", 0.5)
    elif event == "E23":
        fop.initiate_ad(0.5)
    elif event == "E24":
        fop.initiate_ad(0.5, InitiateMode.WITH_CLCW_CHECK)
    elif event in ("E25", "E26"):
        fop.initiate_ad(0.5, InitiateMode.WITH_UNLOCK)
    elif event in ("E27", "E28"):
        fop.initiate_ad(0.5, InitiateMode.WITH_SET_V_R, v_r=7)
    elif event == "E29":
        fop.terminate_ad(0.5)
    elif event in ("E30", "E31", "E32", "E33", "E34"):
        fop.resume_ad(0.5)
    elif event == "E35":
        fop.set_v_s(9)
    elif event == "E36":
        fop.set_fop_sliding_window(5)
    elif event == "E37":
        fop.set_t1_initial(3.0)
    elif event == "E38":
        fop.set_transmission_limit(4)
    elif event == "E39":
        fop.set_timeout_type(1)
    elif event == "E40":
        fop.set_fop_sliding_window(0)
    elif event == "E42":
        fop.lower_layer_rejected(TcFrame(1, 0, 0, b"x"), 0.5)
    elif event == "E44":
        fop.lower_layer_rejected(TcFrame.unlock(1, 0), 0.5)
    elif event == "E46":
        fop.lower_layer_rejected(TcFrame(1, 0, 0, b"x", bypass_flag=True), 0.5)
    else:  # E15, E41, E43, E45: no public input produces them (see the module doc).
        fop._input(event, None, 0.5)


@pytest.mark.parametrize("state", list(FopState), ids=lambda s: f"S{int(s)}")
@pytest.mark.parametrize("event", EVENTS)
def test_every_pair_matches_the_book(state: FopState, event: str) -> None:
    fop = drive(state, event)
    assert fop.last_event == event  # the inputs really classified as this event
    cell = EXPECTED[(state, event)]
    events = fop.events()
    alerts = [e for e in events if isinstance(e, Alert)]
    suspends = [e for e in events if isinstance(e, Suspend)]
    if cell == "-":
        assert (state, event) not in FOP_TABLE
        assert ProtocolError(state, event) in events
        assert fop.state is state
        return
    assert (state, event) in FOP_TABLE
    assert not any(isinstance(e, ProtocolError) for e in events)
    next_state, _, reason = cell.partition("!")
    suspended = next_state.endswith("~")
    assert fop.state == FopState(int(next_state.rstrip("~")))
    if reason:
        assert [a.reason for a in alerts] == [AlertReason(reason)]
        assert alerts[0].event == event and alerts[0].state is state
        assert fop.next_deadline() is None and not fop.sent_queue and not fop.wait_queue
    else:
        assert not alerts
    if suspended:
        assert suspends == [Suspend(int(state))]
        assert fop.suspend_state == int(state)
    else:
        assert not suspends


def test_table_has_no_pairs_beyond_the_grid() -> None:
    listed = {pair for pair, cell in EXPECTED.items() if cell != "-"}
    assert set(FOP_TABLE) == listed


@pytest.mark.parametrize("event", ["E20", "E22", "E26", "E28", "E30", "E40"])
def test_refusals_reject_the_request(event: str) -> None:
    fop = drive(FopState.ACTIVE if event != "E26" else FopState.INITIAL, event)
    assert any(isinstance(e, Reject) for e in fop.events())


def _reference_clcw_event(
    n_r: int, v_s: int, nn_r: int, lockout: bool, wait: bool, retx: bool, count: int, limit: int
) -> str:
    """A second, literal reading of the CLCW rows, by enumerating the window."""
    outstanding = [(nn_r + i) & 0xFF for i in range((v_s - nn_r) & 0xFF)]
    if lockout:
        return "E14"
    if n_r == v_s:
        return "E4" if retx else "E3" if wait else "E1" if n_r == nn_r else "E2"
    if n_r not in outstanding:
        return "E13"
    if not retx:
        return "E7" if wait else "E5" if n_r == nn_r else "E6"
    if limit == 1:
        return "E102" if n_r == nn_r else "E101"
    if n_r != nn_r:
        return "E9" if wait else "E8"
    if count < limit:
        return "E11" if wait else "E10"
    return "E103" if wait else "E12"


byte = st.integers(0, 255)


@given(
    byte,
    byte,
    st.integers(0, 20),
    st.booleans(),
    st.booleans(),
    st.booleans(),
    st.integers(1, 5),
    st.integers(1, 5),
)
def test_clcw_classifier_against_a_literal_reading(
    n_r: int,
    nn_r: int,
    ahead: int,
    lockout: bool,
    wait: bool,
    retx: bool,
    count: int,
    limit: int,
) -> None:
    v_s = (nn_r + ahead) & 0xFF
    clcw = _clcw(n_r, lockout=lockout, wait=wait, retx=retx)
    got = classify_clcw(
        clcw, v_s=v_s, nn_r=nn_r, transmission_count=count, transmission_limit=limit
    )
    assert got == _reference_clcw_event(n_r, v_s, nn_r, lockout, wait, retx, count, limit)


@given(st.integers(1, 5), st.integers(1, 5), st.sampled_from([0, 1]))
def test_timer_classifier(count: int, limit: int, timeout_type: int) -> None:
    got = classify_timer(
        transmission_count=count, transmission_limit=limit, timeout_type=timeout_type
    )
    expected = {(True, 0): "E16", (True, 1): "E104", (False, 0): "E17", (False, 1): "E18"}
    assert got == expected[(count < limit, timeout_type)]


inputs = st.one_of(
    st.tuples(st.just("clcw"), byte, st.booleans(), st.booleans(), st.booleans()),
    st.tuples(st.just("timer")),
    st.tuples(st.just("ad"), st.binary(min_size=1, max_size=8)),
    st.tuples(st.just("bd"), st.binary(min_size=1, max_size=8)),
    st.tuples(st.just("initiate"), st.sampled_from(list(InitiateMode)), byte),
    st.tuples(st.just("terminate")),
    st.tuples(st.just("resume")),
    st.tuples(st.just("set_v_s"), st.integers(-2, 300)),
    st.tuples(st.just("k"), st.integers(-1, 300)),
    st.tuples(st.just("limit"), st.integers(-1, 4)),
    st.tuples(st.just("tt"), st.integers(-1, 2)),
)


@given(st.lists(inputs, max_size=40))
def test_any_input_sequence_keeps_the_machine_consistent(steps: list[tuple[object, ...]]) -> None:
    fop = Fop(1, 0, sliding_window_k=4)
    now = 0.0
    for step in steps:
        now += 0.5
        kind = step[0]
        if kind == "clcw":
            n_r, lockout, wait, retx = step[1:]
            fop.receive_clcw(_clcw(n_r, lockout=lockout, wait=wait, retx=retx), now)  # type: ignore[arg-type]
        elif kind == "timer":
            deadline = fop.next_deadline()
            fop.on_timer(deadline if deadline is not None else now)
        elif kind == "ad":
            fop.transmit_ad(step[1], now)  # type: ignore[arg-type]
        elif kind == "bd":
            fop.transmit_bd(step[1], now)  # type: ignore[arg-type]
        elif kind == "initiate":
            fop.initiate_ad(now, step[1], v_r=step[2])  # type: ignore[arg-type]
        elif kind == "terminate":
            fop.terminate_ad(now)
        elif kind == "resume":
            fop.resume_ad(now)
        elif kind == "set_v_s":
            fop.set_v_s(step[1])  # type: ignore[arg-type]
        elif kind == "k":
            fop.set_fop_sliding_window(step[1])  # type: ignore[arg-type]
        elif kind == "limit":
            fop.set_transmission_limit(step[1])  # type: ignore[arg-type]
        else:
            fop.set_timeout_type(step[1])  # type: ignore[arg-type]
        for frame in fop.frames_to_send():
            assert isinstance(frame, TcFrame)
        # Invariants of 5.1: the Sent_Queue holds V(S) - NN(R) frames, numbered from
        # NN(R); no more than K ahead; at most one FDU waits.
        outstanding = (fop.v_s - fop.nn_r) & 0xFF
        assert len(fop.sent_queue) == outstanding
        assert [s.frame.frame_sequence_number for s in fop.sent_queue] == [
            (fop.nn_r + i) & 0xFF for i in range(outstanding)
        ]
        assert len(fop.wait_queue) <= 1
        if fop.state is FopState.INITIAL:
            # No timer runs in S6. The Sent_Queue is purged on the way in (alert,
            # terminate) except by a suspend (T1 expiry with timeout type 1), which keeps it so
            # that resume can carry on: only an unsuspended S6 must be empty.
            assert fop.next_deadline() is None
            if fop.suspend_state == 0:
                assert not fop.sent_queue
        assert not any(isinstance(e, ProtocolError) for e in fop.events())
