"""FARM-1 against a transcription of 232.1-B-2 table 6-1, and its CLCW.

Grid cells: next state (O Open, W Wait, L Lockout), then the flags the cell changes
(+R/-R Retransmit, +W/-W Wait, +L/-L Lockout, B FARM-B counter incremented, V V(R)
changed, A frame accepted). Cross-read against the FARM of Libre Space Foundation's
OSDLP (read, not copied).
"""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from comms.cop1 import FARM_TABLE, Farm, FarmState
from comms.frames import TcFrame

GRID = """
E1   O,A,V,-R     W            L
E2   W,+R,+W      W            L
E3   O,+R         W            L
E4   O            W            L
E5   L,+L         L,+L         L
E6   O,A,B        W,A,B        L,A,B
E7   O,B,-R       O,B,-R,-W    O,B,-R,-W,-L
E8   O,B,-R,V     O,B,-R,-W,V  L,B
E9   O            W            L
E10  O            O,-W         L,-W
"""

STATES = {"O": FarmState.OPEN, "W": FarmState.WAIT, "L": FarmState.LOCKOUT}
EXPECTED = {
    (state, line.split()[0]): cell
    for line in GRID.strip().splitlines()
    for state, cell in zip(FarmState, line.split()[1:], strict=True)
}


def drive(state: FarmState, event: str) -> tuple[Farm, Farm]:
    """A FARM in ``state`` (V(R) = 10, flags as that state implies), before and after."""
    farm = Farm(3, sliding_window_width=10, buffer_capacity=2, v_r=10)
    farm.state = state
    farm.retransmit = state is not FarmState.OPEN
    farm.wait = state is FarmState.WAIT
    farm.lockout = state is FarmState.LOCKOUT
    if event == "E2":
        farm._buffer.extend([TcFrame(1, 3, 0, b"held")] * 2)  # no room
    before = Farm(3)
    before.__dict__.update({k: v for k, v in farm.__dict__.items() if not k.startswith("_")})
    frames = {
        "E1": TcFrame(1, 3, 10, b"in sequence"),
        "E2": TcFrame(1, 3, 10, b"no room"),
        "E3": TcFrame(1, 3, 14, b"ahead, inside PW - 1 = 4"),
        "E4": TcFrame(1, 3, 5, b"behind, inside NW = 5"),
        "E5": TcFrame(1, 3, 15, b"ahead by PW: outside"),
        "E6": TcFrame(1, 3, 0, b"bypass", bypass_flag=True),
        "E7": TcFrame.unlock(1, 3),
        "E8": TcFrame.set_v_r(1, 3, 200),
        "E9": TcFrame(1, 4, 10, b"another virtual channel"),
    }
    if event == "E10":
        farm.buffer_released()
    else:
        farm.receive_frame(frames[event])
    return before, farm


@pytest.mark.parametrize("state", list(FarmState), ids=lambda s: s.name)
@pytest.mark.parametrize("event", [f"E{i}" for i in range(1, 11)])
def test_every_pair_matches_the_book(state: FarmState, event: str) -> None:
    before, farm = drive(state, event)
    assert farm.last_event == event
    assert (state, event) in FARM_TABLE
    code, *changes = EXPECTED[(state, event)].split(",")
    assert farm.state is STATES[code]
    flags = {"R": "retransmit", "W": "wait", "L": "lockout"}
    for letter, name in flags.items():
        if f"+{letter}" in changes:
            assert getattr(farm, name) is True
        elif f"-{letter}" in changes:
            assert getattr(farm, name) is False
        else:
            assert getattr(farm, name) == getattr(before, name), name
    assert (farm.farm_b_counter != before.farm_b_counter) == ("B" in changes)
    assert (farm.v_r != before.v_r) == ("V" in changes)
    assert bool(farm.frames_accepted()) == ("A" in changes)
    assert farm.protocol_errors() == []


def test_set_v_r_takes_the_commanded_value() -> None:
    farm = Farm(0, v_r=3)
    farm.receive_frame(TcFrame.set_v_r(1, 0, 77))
    assert farm.v_r == 77 and farm.clcw().report_value == 77


def test_clcw_reports_the_farm() -> None:
    farm = Farm(5, sliding_window_width=4, v_r=9)
    farm.receive_frame(TcFrame(1, 5, 20, b"far ahead"))  # lockout
    farm.receive_frame(TcFrame(1, 5, 0, b"bd", bypass_flag=True))
    clcw = farm.clcw(no_bit_lock=True)
    assert (clcw.vcid, clcw.report_value, clcw.lockout, clcw.farm_b_counter) == (5, 9, True, 1)
    assert clcw.no_bit_lock and not clcw.wait and not clcw.retransmit


def test_farm_b_counter_wraps_at_four() -> None:
    farm = Farm(0)
    for _ in range(5):
        farm.receive_frame(TcFrame(1, 0, 0, b"bd", bypass_flag=True))
    assert farm.farm_b_counter == 1
    assert len(farm.frames_accepted()) == 5


def test_buffer_full_enters_wait_until_released() -> None:
    farm = Farm(0, buffer_capacity=1)
    assert farm.receive_frame(TcFrame(1, 0, 0, b"a"))
    assert not farm.receive_frame(TcFrame(1, 0, 1, b"b"))  # no room: E2
    assert farm.state is FarmState.WAIT and farm.clcw().wait and farm.clcw().retransmit
    assert [f.data_field for f in farm.frames_accepted()] == [b"a"]
    assert not farm.receive_frame(TcFrame(1, 0, 1, b"b"))  # still Wait: refused
    farm.buffer_released()
    assert farm.state is FarmState.OPEN and not farm.clcw().wait
    assert farm.receive_frame(TcFrame(1, 0, 1, b"b"))
    assert not farm.clcw().retransmit


def test_bad_control_command_and_type_ac_frames_are_invalid() -> None:
    farm = Farm(0)
    farm.receive_frame(TcFrame(1, 0, 0, b"\x99\x01", bypass_flag=True, control_command_flag=True))
    assert farm.last_event == "E9"
    farm.receive_frame(TcFrame(1, 0, 0, b"\x00", control_command_flag=True))
    assert farm.last_event == "E9" and farm.v_r == 0 and farm.frames_accepted() == []


@pytest.mark.parametrize("width", [0, 3, 256, True, "8"])
def test_bad_window_width_is_refused(width: object) -> None:
    with pytest.raises(ValueError, match="sliding_window_width"):
        Farm(0, sliding_window_width=width)  # type: ignore[arg-type]


@given(st.integers(0, 255), st.integers(0, 255), st.sampled_from([2, 4, 10, 64, 254]))
def test_window_classification(v_r: int, n_s: int, width: int) -> None:
    farm = Farm(0, sliding_window_width=width, v_r=v_r)
    farm.receive_frame(TcFrame(1, 0, n_s, b"x"))
    pw = nw = width // 2
    ahead = [(v_r + i) & 0xFF for i in range(1, pw)]
    behind = [(v_r - i) & 0xFF for i in range(1, nw + 1)]
    expected = "E1" if n_s == v_r else "E3" if n_s in ahead else "E4" if n_s in behind else "E5"
    assert farm.last_event == expected
