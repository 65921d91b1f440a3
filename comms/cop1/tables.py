"""The FOP-1 and FARM-1 state tables (232.1-B-2 table 5-1 and table 6-1) as data.

Each table maps ``(state, event id) -> Transition(actions, next_state)``. Event ids are
the book's labels: FOP-1 E1..E46 plus the E101..E104 that issue 2 (FOP-1 Revision B)
added; FARM-1 E1..E10. Actions are ``(name, argument)`` pairs run in order by the
machine; their names follow the action clauses of 5.2 and 6.3. A pair that is not in a
table is a protocol error: the machine reports it and stays where it is.

The tables were transcribed from the book's structure and cross-read against two
independent implementations (Yamcs ``Cop1TcPacketHandler`` and the dariol83/ccsds
``FopEngine`` states). Where those readings leave a choice, the comment on the row says
what was chosen and why. Conditions that pick the event for an input (CLCW flags and
N(R), Transmission_Count against Transmission_Limit, Timeout_Type, Suspend_State, ...)
live in :func:`classify_clcw`, :func:`classify_timer` and the FARM's frame classifier,
so the tables themselves stay pure data.
"""

from __future__ import annotations

from collections.abc import Mapping
from types import MappingProxyType
from typing import Final, NamedTuple

from comms.cop1.events import AlertReason, FarmState, FopState
from comms.frames.clcw import Clcw

__all__ = [
    "CLCW_EVENTS",
    "FARM_EVENTS",
    "FARM_TABLE",
    "FOP_EVENTS",
    "FOP_TABLE",
    "TIMER_EVENTS",
    "Transition",
    "classify_clcw",
    "classify_timer",
]

Action = tuple[str, object]


class Transition(NamedTuple):
    """The actions run (in order) and the state entered."""

    actions: tuple[Action, ...]
    next_state: FopState | FarmState


S1, S2, S3, S4, S5, S6 = (
    FopState.ACTIVE,
    FopState.RETRANSMIT_WITHOUT_WAIT,
    FopState.RETRANSMIT_WITH_WAIT,
    FopState.INITIALISING_WITHOUT_BC,
    FopState.INITIALISING_WITH_BC,
    FopState.INITIAL,
)
ALL_FOP = (S1, S2, S3, S4, S5, S6)

#: The FOP-1 events and the condition each stands for (232.1-B-2 table 5-1).
FOP_EVENTS: Final[Mapping[str, str]] = MappingProxyType(
    {
        "E1": "CLCW: Lockout 0, N(R) = V(S), Retransmit 0, Wait 0, N(R) = NN(R)",
        "E2": "CLCW: Lockout 0, N(R) = V(S), Retransmit 0, Wait 0, N(R) != NN(R)",
        "E3": "CLCW: Lockout 0, N(R) = V(S), Retransmit 0, Wait 1",
        "E4": "CLCW: Lockout 0, N(R) = V(S), Retransmit 1",
        "E5": "CLCW: Lockout 0, NN(R) <= N(R) < V(S), Retransmit 0, Wait 0, N(R) = NN(R)",
        "E6": "CLCW: Lockout 0, NN(R) <= N(R) < V(S), Retransmit 0, Wait 0, N(R) != NN(R)",
        "E7": "CLCW: Lockout 0, NN(R) <= N(R) < V(S), Retransmit 0, Wait 1",
        "E101": "CLCW: Lockout 0, NN(R) <= N(R) < V(S), Retransmit 1, "
        "Transmission_Limit 1, N(R) != NN(R)",
        "E102": "CLCW: Lockout 0, NN(R) <= N(R) < V(S), Retransmit 1, "
        "Transmission_Limit 1, N(R) = NN(R)",
        "E8": "CLCW: Lockout 0, NN(R) <= N(R) < V(S), Retransmit 1, "
        "Transmission_Limit > 1, N(R) != NN(R), Wait 0",
        "E9": "CLCW: Lockout 0, NN(R) <= N(R) < V(S), Retransmit 1, "
        "Transmission_Limit > 1, N(R) != NN(R), Wait 1",
        "E10": "CLCW: ... Retransmit 1, N(R) = NN(R), Transmission_Count < "
        "Transmission_Limit, Wait 0",
        "E11": "CLCW: ... Retransmit 1, N(R) = NN(R), Transmission_Count < "
        "Transmission_Limit, Wait 1",
        "E12": "CLCW: ... Retransmit 1, N(R) = NN(R), Transmission_Count >= "
        "Transmission_Limit, Wait 0",
        "E103": "CLCW: ... Retransmit 1, N(R) = NN(R), Transmission_Count >= "
        "Transmission_Limit, Wait 1",
        "E13": "CLCW: Lockout 0, N(R) outside NN(R)..V(S) (invalid N(R))",
        "E14": "CLCW: Lockout 1",
        "E15": "CLCW: inconsistent report (kept for the table; no classifier path here)",
        "E16": "Timer expired, Transmission_Count < Transmission_Limit, Timeout_Type 0",
        "E104": "Timer expired, Transmission_Count < Transmission_Limit, Timeout_Type 1",
        "E17": "Timer expired, Transmission_Count >= Transmission_Limit, Timeout_Type 0",
        "E18": "Timer expired, Transmission_Count >= Transmission_Limit, Timeout_Type 1",
        "E19": "Request to transfer an AD FDU, Wait_Queue empty",
        "E20": "Request to transfer an AD FDU, Wait_Queue full",
        "E21": "Request to transfer a BD FDU, BD_Out_Flag Ready",
        "E22": "Request to transfer a BD FDU, BD_Out_Flag Not_Ready",
        "E23": "Directive: Initiate AD service without CLCW check",
        "E24": "Directive: Initiate AD service with CLCW check",
        "E25": "Directive: Initiate AD service with Unlock, BC_Out_Flag Ready",
        "E26": "Directive: Initiate AD service with Unlock, BC_Out_Flag Not_Ready",
        "E27": "Directive: Initiate AD service with Set V(R), BC_Out_Flag Ready",
        "E28": "Directive: Initiate AD service with Set V(R), BC_Out_Flag Not_Ready",
        "E29": "Directive: Terminate AD service",
        "E30": "Directive: Resume AD service, Suspend_State 0",
        "E31": "Directive: Resume AD service, Suspend_State 1",
        "E32": "Directive: Resume AD service, Suspend_State 2",
        "E33": "Directive: Resume AD service, Suspend_State 3",
        "E34": "Directive: Resume AD service, Suspend_State 4",
        "E35": "Directive: Set V(S) to V*(S)",
        "E36": "Directive: Set FOP_Sliding_Window_Width",
        "E37": "Directive: Set T1_Initial",
        "E38": "Directive: Set Transmission_Limit",
        "E39": "Directive: Set Timeout_Type",
        "E40": "Directive: invalid (unknown directive or qualifier out of range)",
        "E41": "Lower layer: AD_Accept",
        "E42": "Lower layer: AD_Reject",
        "E43": "Lower layer: BC_Accept",
        "E44": "Lower layer: BC_Reject",
        "E45": "Lower layer: BD_Accept",
        "E46": "Lower layer: BD_Reject",
    }
)

#: The FOP events a CLCW can stand for, and those of a timer expiry.
CLCW_EVENTS: Final = (
    *("E1", "E2", "E3", "E4", "E5", "E6", "E7", "E101", "E102", "E8", "E9"),
    *("E10", "E11", "E12", "E103", "E13", "E14", "E15"),
)
TIMER_EVENTS: Final = ("E16", "E104", "E17", "E18")


def _alert(reason: AlertReason) -> Action:
    return ("alert", reason)


def _act(*names: str) -> tuple[Action, ...]:
    return tuple((name, None) for name in names)


IGNORE: tuple[Action, ...] = ()
REJECT = _act("reject")
_SYNCH = (_alert(AlertReason.SYNCH),)
_CLCW = (_alert(AlertReason.CLCW),)
_NN_R = (_alert(AlertReason.NN_R),)
_LOCKOUT = (_alert(AlertReason.LOCKOUT),)
_T1 = (_alert(AlertReason.T1),)
_LIMIT = (_alert(AlertReason.LIMIT),)
_LLIF = (_alert(AlertReason.LLIF),)
_TERMINATE = (("accept", None), _alert(AlertReason.TERM), ("confirm", None))


def _suspend(state: FopState) -> tuple[Action, ...]:
    return (("set_suspend_state", int(state)), ("suspend", None))


def _setting(name: str) -> tuple[Action, ...]:
    return (("accept", None), (name, None), ("confirm", None))


def _fop_table() -> dict[tuple[FopState, str], Transition]:
    t: dict[tuple[FopState, str], Transition] = {}
    # fmt: off

    def row(event: str, cells: Mapping[FopState, tuple[tuple[Action, ...], FopState]]) -> None:
        for state, (actions, next_state) in cells.items():
            t[(state, event)] = Transition(actions, next_state)

    ack = "remove_acknowledged_frames"
    # --- CLCW arrivals (E1..E15, E101..E103). In S6 every CLCW is ignored.
    row(
        "E1",
        {
            S1: (IGNORE, S1),
            S2: (_SYNCH, S6),
            S3: (_SYNCH, S6),
            S4: (_act("confirm_initiate", "cancel_timer"), S1),
            S5: (_act("confirm_initiate", "release_bc_frame", "cancel_timer"), S1),
        },
    )
    row(
        "E2",
        {
            S1: (_act(ack, "cancel_timer", "look_for_fdu"), S1),
            S2: (_act(ack, "cancel_timer", "look_for_fdu"), S1),
            S3: (_act(ack, "cancel_timer", "look_for_fdu"), S1),
        },
    )
    row("E3", {S1: (_CLCW, S6), S2: (_CLCW, S6), S3: (_CLCW, S6), S4: (_CLCW, S6), S5: (_CLCW, S6)})
    # E4 in S5: the FARM may still report an old Retransmit flag until the BC frame
    # (Unlock / Set V(R)) has been processed, so it is ignored there.
    row(
        "E4",
        {S1: (_SYNCH, S6), S2: (_SYNCH, S6), S3: (_SYNCH, S6), S4: (_SYNCH, S6), S5: (IGNORE, S5)},
    )
    row("E5", {S1: (IGNORE, S1), S2: (_SYNCH, S6), S3: (_SYNCH, S6)})
    row(
        "E6",
        {
            S1: (_act(ack, "look_for_fdu"), S1),
            S2: (_act(ack, "look_for_fdu"), S1),
            S3: (_act(ack, "look_for_fdu"), S1),
        },
    )
    row("E7", {S1: (_CLCW, S6), S2: (_CLCW, S6), S3: (_CLCW, S6)})
    row("E101", {s: (((ack, None), *_LIMIT), S6) for s in (S1, S2, S3)})
    row("E102", {s: (_LIMIT, S6) for s in (S1, S2, S3)})
    retransmit = _act(ack, "initiate_ad_retransmission", "look_for_fdu")
    row("E8", {S1: (retransmit, S2), S2: (retransmit, S2), S3: (retransmit, S2)})
    row("E9", {S1: (_act(ack), S3), S2: (_act(ack), S3), S3: (_act(ack), S3)})
    # E10 in S2: the retransmission that this CLCW asks for is already under way.
    row(
        "E10",
        {
            S1: (_act("initiate_ad_retransmission", "look_for_fdu"), S2),
            S2: (IGNORE, S2),
            S3: (_act("initiate_ad_retransmission", "look_for_fdu"), S2),
        },
    )
    row("E11", {S1: (IGNORE, S3), S2: (IGNORE, S3), S3: (IGNORE, S3)})
    row("E12", {S1: (IGNORE, S2), S2: (IGNORE, S2), S3: (IGNORE, S2)})
    row("E103", {S1: (IGNORE, S3), S2: (IGNORE, S3), S3: (IGNORE, S3)})
    # E13/E14 in S5: until the FARM has processed the Unlock or Set V(R) frame its
    # CLCW still shows the old N(R) or the Lockout flag, so they are ignored there.
    row(
        "E13",
        {S1: (_NN_R, S6), S2: (_NN_R, S6), S3: (_NN_R, S6), S4: (_NN_R, S6), S5: (IGNORE, S5)},
    )
    row(
        "E14",
        {
            S1: (_LOCKOUT, S6),
            S2: (_LOCKOUT, S6),
            S3: (_LOCKOUT, S6),
            S4: (_LOCKOUT, S6),
            S5: (IGNORE, S5),
        },
    )
    row("E15", {s: (_CLCW, S6) for s in (S1, S2, S3, S4, S5)})
    for event in CLCW_EVENTS:
        t[(S6, event)] = Transition(IGNORE, S6)
    # Acknowledging events cannot arise in S4/S5: the Sent_Queue is empty there and
    # NN(R) = V(S), so a CLCW either matches (E1..E4) or is invalid (E13). They stay
    # out of the table and would be reported as protocol errors.

    # --- Timer expiry (E16, E104, E17, E18).
    timer_retx = _act("initiate_ad_retransmission", "look_for_fdu")
    bc_retx = _act("initiate_bc_retransmission", "look_for_directive")
    row(
        "E16",
        {
            S1: (timer_retx, S1),
            S2: (timer_retx, S2),
            S3: (IGNORE, S3),
            S4: (_T1, S6),
            S5: (bc_retx, S5),
            S6: (IGNORE, S6),
        },
    )
    row(
        "E104",
        {
            S1: (timer_retx, S1),
            S2: (timer_retx, S2),
            S3: (IGNORE, S3),
            S4: (_suspend(S4), S6),
            S5: (bc_retx, S5),
            S6: (IGNORE, S6),
        },
    )
    row(
        "E17",
        {
            S1: (_T1, S6),
            S2: (_T1, S6),
            S3: (_T1, S6),
            S4: (_T1, S6),
            S5: (_T1, S6),
            S6: (IGNORE, S6),
        },
    )
    # E18 in S5: a BC frame that exhausted its transmissions cannot be suspended (there
    # is no AD service yet to resume), so it alerts like E17.
    row(
        "E18",
        {
            S1: (_suspend(S1), S6),
            S2: (_suspend(S2), S6),
            S3: (_suspend(S3), S6),
            S4: (_suspend(S4), S6),
            S5: (_T1, S6),
            S6: (IGNORE, S6),
        },
    )

    # --- Requests from the Higher Procedures (E19..E22).
    row(
        "E19",
        {
            S1: (_act("add_to_wait_queue", "look_for_fdu"), S1),
            S2: (_act("add_to_wait_queue", "look_for_fdu"), S2),
            S3: (_act("add_to_wait_queue"), S3),
            S4: (REJECT, S4),
            S5: (REJECT, S5),
            S6: (REJECT, S6),
        },
    )
    transmit_bd = _act("accept", "transmit_bd_frame")
    for s in ALL_FOP:
        t[(s, "E20")] = Transition(REJECT, s)
        t[(s, "E21")] = Transition(transmit_bd, s)
        t[(s, "E22")] = Transition(REJECT, s)

    # --- Directives (E23..E40).
    for s in (S1, S2, S3, S4, S5):
        for event in ("E23", "E24", "E25", "E26", "E27", "E28", "E30", "E35", "E40"):
            t[(s, event)] = Transition(REJECT, s)
        t[(s, "E29")] = Transition(_TERMINATE, S6)
    row("E23", {S6: (_act("accept", "initialize", "confirm"), S1)})
    row("E24", {S6: (_act("accept", "initialize", "hold_initiate", "restart_timer"), S4)})
    row("E25", {S6: (_act("accept", "initialize", "hold_initiate", "transmit_bc_unlock"), S5)})
    row("E26", {S6: (REJECT, S6)})
    row(
        "E27",
        {
            S6: (
                _act(
                    "accept",
                    "initialize",
                    "hold_initiate",
                    "prepare_set_v_r",
                    "transmit_bc_set_v_r",
                ),
                S5,
            )
        },
    )
    row("E28", {S6: (REJECT, S6)})
    row("E29", {S6: (_act("accept", "confirm"), S6)})
    row("E30", {S6: (REJECT, S6)})
    resume = _act("accept", "resume", "confirm")
    row("E31", {S6: (resume, S1)})
    row("E32", {S6: (resume, S2)})
    row("E33", {S6: (resume, S3)})
    row("E34", {S6: (resume, S4)})
    # Set V(S) while suspended is refused inside the action: resuming afterwards would
    # retransmit frames under sequence numbers the FARM no longer expects.
    row("E35", {S6: (_act("set_v_s"), S6)})
    for s in ALL_FOP:
        t[(s, "E36")] = Transition(_setting("set_fop_sliding_window"), s)
        t[(s, "E37")] = Transition(_setting("set_t1_initial"), s)
        t[(s, "E38")] = Transition(_setting("set_transmission_limit"), s)
        t[(s, "E39")] = Transition(_setting("set_timeout_type"), s)
    row("E40", {S6: (REJECT, S6)})
    # fmt: on

    # --- Responses of the lower layer (E41..E46).
    for s in ALL_FOP:
        t[(s, "E41")] = Transition(
            _act("ad_out_ready", "look_for_fdu") if s in (S1, S2) else _act("ad_out_ready"), s
        )
        t[(s, "E43")] = Transition(
            _act("bc_out_ready", "look_for_directive") if s is S5 else _act("bc_out_ready"), s
        )
        t[(s, "E45")] = Transition(_act("bd_out_ready", "confirm_bd"), s)
        for event in ("E42", "E44", "E46"):
            t[(s, event)] = Transition(_LLIF, S6)
    return t


#: FOP-1 state table (232.1-B-2 table 5-1): (state, event) -> actions, next state.
FOP_TABLE: Final[Mapping[tuple[FopState, str], Transition]] = MappingProxyType(_fop_table())


def _between(low: int, value: int, high: int) -> bool:
    """``low <= value <= high`` modulo 256 (5.2.1 note: sequence arithmetic is mod 256)."""
    return (value - low) & 0xFF <= (high - low) & 0xFF


def classify_clcw(
    clcw: Clcw, *, v_s: int, nn_r: int, transmission_count: int, transmission_limit: int
) -> str:
    """The FOP-1 event a valid CLCW stands for (232.1-B-2 table 5-1, CLCW rows).

    The checks of 5.3.2 that come before the table (COP in effect, VCID) are the
    caller's; this sees only Lockout, N(R), Retransmit and Wait.
    """
    if clcw.lockout:
        return "E14"
    n_r = clcw.report_value
    if n_r == v_s:
        if clcw.retransmit:
            return "E4"
        if clcw.wait:
            return "E3"
        return "E1" if n_r == nn_r else "E2"
    if not _between(nn_r, n_r, v_s):
        return "E13"
    if not clcw.retransmit:
        if clcw.wait:
            return "E7"
        return "E5" if n_r == nn_r else "E6"
    if transmission_limit == 1:
        return "E101" if n_r != nn_r else "E102"
    if n_r != nn_r:
        return "E9" if clcw.wait else "E8"
    if transmission_count < transmission_limit:
        return "E11" if clcw.wait else "E10"
    return "E103" if clcw.wait else "E12"


def classify_timer(*, transmission_count: int, transmission_limit: int, timeout_type: int) -> str:
    """The FOP-1 event for a timer expiry (232.1-B-2 table 5-1, timer rows)."""
    if transmission_count < transmission_limit:
        return "E104" if timeout_type else "E16"
    return "E18" if timeout_type else "E17"


# --- FARM-1 ----------------------------------------------------------------------------

OPEN, WAIT, LOCKOUT = FarmState.OPEN, FarmState.WAIT, FarmState.LOCKOUT

#: The FARM-1 events (232.1-B-2 table 6-1).
FARM_EVENTS: Final[Mapping[str, str]] = MappingProxyType(
    {
        "E1": "AD frame, N(S) = V(R), buffer has room",
        "E2": "AD frame, N(S) = V(R), no room in the buffer",
        "E3": "AD frame, N(S) > V(R), inside the positive window (N(S) <= V(R) + PW - 1)",
        "E4": "AD frame, N(S) < V(R), inside the negative window (N(S) >= V(R) - NW)",
        "E5": "AD frame, N(S) outside both windows",
        "E6": "BD frame",
        "E7": "BC frame: Unlock",
        "E8": "BC frame: Set V(R)",
        "E9": "Invalid frame",
        "E10": "Buffer release signal",
    }
)


def _farm_table() -> dict[tuple[FarmState, str], Transition]:
    t: dict[tuple[FarmState, str], Transition] = {}
    discard = _act("discard")
    # fmt: off

    def row(event: str, cells: Mapping[FarmState, tuple[tuple[Action, ...], FarmState]]) -> None:
        for state, (actions, next_state) in cells.items():
            t[(state, event)] = Transition(actions, next_state)

    row(
        "E1",
        {
            OPEN: (_act("accept_ad", "clear_retransmit"), OPEN),
            # In Wait the FARM has told the FOP it has no buffer; a frame that finds
            # room before 'buffer release' is still refused, as E2 would.
            WAIT: (discard, WAIT),
            LOCKOUT: (discard, LOCKOUT),
        },
    )
    row(
        "E2",
        {
            OPEN: (_act("discard", "set_retransmit", "set_wait"), WAIT),
            WAIT: (discard, WAIT),
            LOCKOUT: (discard, LOCKOUT),
        },
    )
    row(
        "E3",
        {
            OPEN: (_act("discard", "set_retransmit"), OPEN),
            WAIT: (discard, WAIT),
            LOCKOUT: (discard, LOCKOUT),
        },
    )
    row("E4", {OPEN: (discard, OPEN), WAIT: (discard, WAIT), LOCKOUT: (discard, LOCKOUT)})
    row(
        "E5",
        {
            OPEN: (_act("discard", "set_lockout"), LOCKOUT),
            WAIT: (_act("discard", "set_lockout"), LOCKOUT),
            LOCKOUT: (discard, LOCKOUT),
        },
    )
    accept_bd = _act("accept_bd", "count_farm_b")
    row("E6", {OPEN: (accept_bd, OPEN), WAIT: (accept_bd, WAIT), LOCKOUT: (accept_bd, LOCKOUT)})
    row(
        "E7",
        {
            OPEN: (_act("count_farm_b", "clear_retransmit"), OPEN),
            WAIT: (_act("count_farm_b", "clear_retransmit", "clear_wait"), OPEN),
            LOCKOUT: (
                _act("count_farm_b", "clear_retransmit", "clear_wait", "clear_lockout"),
                OPEN,
            ),
        },
    )
    # Set V(R) in Lockout is counted but changes nothing: only Unlock leaves Lockout.
    row(
        "E8",
        {
            OPEN: (_act("count_farm_b", "clear_retransmit", "set_v_r"), OPEN),
            WAIT: (_act("count_farm_b", "clear_retransmit", "clear_wait", "set_v_r"), OPEN),
            LOCKOUT: (_act("count_farm_b"), LOCKOUT),
        },
    )
    row("E9", {OPEN: (discard, OPEN), WAIT: (discard, WAIT), LOCKOUT: (discard, LOCKOUT)})
    row(
        "E10",
        {
            OPEN: (IGNORE, OPEN),
            WAIT: (_act("clear_wait"), OPEN),
            LOCKOUT: (_act("clear_wait"), LOCKOUT),
        },
    )
    return t


#: FARM-1 state table (232.1-B-2 table 6-1): (state, event) -> actions, next state.
FARM_TABLE: Final[Mapping[tuple[FarmState, str], Transition]] = MappingProxyType(_farm_table())
