"""FOP-1 behaviour: scenarios on their own and FOP + FARM over a lossy link.

The loopback runs in virtual time (``now`` jumps to the next due event: CLCW report,
frame arrival, FOP deadline), with a seeded ``random.Random`` for the channel.
"""

from __future__ import annotations

import random

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from comms.cop1 import (
    Accept,
    Alert,
    AlertReason,
    Farm,
    FarmState,
    Fop,
    FopState,
    InitiateMode,
    NegativeConfirm,
    PositiveConfirm,
    Reject,
    Suspend,
)
from comms.errors import DecodeError, UsageError
from comms.frames import Clcw, TcFrame
from tests.comms.cop1.helpers import LossyLink, run_transfer


def _pair(**fop_options: object) -> tuple[Fop, Farm]:
    options: dict[str, object] = {"sliding_window_k": 4, "t1_initial": 2.0}
    options.update(fop_options)
    return Fop(0x2A, 1, **options), Farm(1, sliding_window_width=8)  # type: ignore[arg-type]


def _deliver(fop: Fop, farm: Farm, now: float) -> list[bytes]:
    for frame in fop.frames_to_send():
        farm.receive_frame(frame)
    fop.receive_clcw(farm.clcw(), now)
    return [f.data_field for f in farm.frames_accepted()]


def test_frames_carry_sequence_numbers_and_flags() -> None:
    fop = Fop(0x2A, 1, map_id=3, has_fecf=False)
    fop.initiate_ad(0.0)
    fop.transmit_ad(b"ad", 0.0)
    fop.transmit_bd(b"bd", 0.0)
    ad, bd = fop.frames_to_send()
    assert (ad.frame_sequence_number, ad.bypass_flag, ad.map_id, ad.has_fecf) == (
        0,
        False,
        3,
        False,
    )
    assert (bd.bypass_flag, bd.control_command_flag, bd.data_field) == (True, False, b"bd")
    assert fop.v_s == 1


def test_window_full_holds_the_fdu_on_the_wait_queue() -> None:
    fop, _ = _pair()
    fop.initiate_ad(0.0)
    ids = [fop.transmit_ad(bytes([i]), 0.0) for i in range(4)]
    held = fop.transmit_ad(b"fifth", 0.0)
    assert len(fop.frames_to_send()) == 4 and not fop.wait_queue_empty
    refused = fop.transmit_ad(b"sixth", 0.0)
    events = fop.events()
    assert [e.request_id for e in events if isinstance(e, Accept)] == [1, *ids]
    assert Reject(refused, "transfer AD") in events
    assert not any(isinstance(e, Accept) and e.request_id == held for e in events)
    # The FARM acknowledges all four: the window slides and the held FDU goes.
    fop.receive_clcw(Clcw(vcid=1, report_value=4), 0.5)
    events = fop.events()
    assert [e.frame_sequence_number for e in events if isinstance(e, PositiveConfirm)] == [
        0,
        1,
        2,
        3,
    ]
    assert Accept(held, "transfer AD") in events
    assert [f.frame_sequence_number for f in fop.frames_to_send()] == [4]
    assert fop.nn_r == 4 and fop.v_s == 5


def test_retransmit_flag_resends_from_the_first_unacknowledged() -> None:
    fop, farm = _pair()
    fop.initiate_ad(0.0)
    for i in range(3):
        fop.transmit_ad(bytes([i]), 0.0)
    frames = fop.frames_to_send()
    farm.receive_frame(frames[0])
    farm.receive_frame(frames[2])  # frame 1 was lost: the FARM asks for retransmission
    assert farm.clcw().retransmit
    fop.receive_clcw(farm.clcw(), 0.1)
    assert fop.last_event == "E8" and fop.state is FopState.RETRANSMIT_WITHOUT_WAIT
    assert [f.frame_sequence_number for f in fop.frames_to_send()] == [1, 2]
    assert fop.transmission_count == 2


def test_timer_retransmits_then_alerts_at_the_limit() -> None:
    fop = Fop(1, 0, t1_initial=2.0, transmission_limit=3)
    fop.initiate_ad(10.0)
    fop.transmit_ad(b"lost", 10.0)
    sends = [fop.frames_to_send()]
    assert fop.next_deadline() == 12.0
    fop.on_timer(11.9)  # early: nothing happens
    assert fop.frames_to_send() == []
    for _ in range(2):
        deadline = fop.next_deadline()
        assert deadline is not None
        fop.on_timer(deadline)
        sends.append(fop.frames_to_send())
    assert [len(s) for s in sends] == [1, 1, 1] and fop.transmission_count == 3
    fop.on_timer(16.0)
    events = fop.events()
    assert Alert(AlertReason.T1, "E17", FopState.ACTIVE) in events
    assert any(isinstance(e, NegativeConfirm) and e.frame_sequence_number == 0 for e in events)
    assert fop.state is FopState.INITIAL and fop.next_deadline() is None


def test_timeout_type_1_suspends_and_resume_picks_up() -> None:
    fop = Fop(1, 0, t1_initial=1.0, transmission_limit=1, timeout_type=1)
    fop.initiate_ad(0.0)
    fop.transmit_ad(b"x", 0.0)
    fop.frames_to_send()
    fop.on_timer(1.0)
    assert Suspend(1) in fop.events() and fop.state is FopState.INITIAL
    assert len(fop.sent_queue) == 1  # kept for the resume
    fop.resume_ad(5.0)
    assert fop.state is FopState.ACTIVE and fop.next_deadline() == 6.0
    fop.receive_clcw(Clcw(vcid=0, report_value=1), 5.5)
    assert PositiveConfirm(2, "transfer AD", 0) in fop.events()


def test_lockout_is_alerted_and_recovered_with_unlock() -> None:
    fop, farm = _pair()
    farm.receive_frame(TcFrame(0x2A, 1, 200, b"stray"))  # far outside the window
    assert farm.state is FarmState.LOCKOUT
    fop.initiate_ad(0.0)
    fop.transmit_ad(b"a", 0.0)
    assert _deliver(fop, farm, 0.1) == []
    assert Alert(AlertReason.LOCKOUT, "E14", FopState.ACTIVE) in fop.events()
    # The operator's recovery: frame 0 never got in, so V(S) goes back to the FARM's
    # V(R) (allowed in S6 only), then Unlock.
    fop.set_v_s(farm.v_r)
    request = fop.initiate_ad(1.0, InitiateMode.WITH_UNLOCK)
    assert fop.state is FopState.INITIALISING_WITH_BC
    (unlock,) = fop.frames_to_send()
    assert unlock.control_command_flag and unlock.data_field == b"\x00"
    farm.receive_frame(unlock)
    assert farm.state is FarmState.OPEN
    fop.receive_clcw(farm.clcw(), 1.1)
    assert fop.state is FopState.ACTIVE
    assert PositiveConfirm(request, "initiate AD with Unlock") in fop.events()
    fop.transmit_ad(b"after", 1.2)
    assert _deliver(fop, farm, 1.3) == [b"after"]


def test_initiate_with_set_v_r_resynchronises_both_ends() -> None:
    fop, farm = _pair()
    farm.receive_frame(TcFrame(0x2A, 1, 0, b"old"))  # FARM V(R) = 1, FOP knows nothing
    farm.frames_accepted()
    fop.initiate_ad(0.0, InitiateMode.WITH_SET_V_R, v_r=42)
    (set_v_r,) = fop.frames_to_send()
    assert set_v_r.data_field == bytes((0x82, 0x00, 42))
    fop.receive_clcw(farm.clcw(), 0.05)  # the FARM has not seen it yet: E13, ignored
    assert fop.state is FopState.INITIALISING_WITH_BC
    farm.receive_frame(set_v_r)
    fop.receive_clcw(farm.clcw(), 0.1)
    assert fop.state is FopState.ACTIVE and fop.v_s == fop.nn_r == 42
    fop.transmit_ad(b"next", 0.2)
    assert _deliver(fop, farm, 0.3) == [b"next"]


def test_bc_frame_is_retransmitted_on_the_timer() -> None:
    fop = Fop(1, 0, t1_initial=1.0, transmission_limit=2)
    fop.initiate_ad(0.0, InitiateMode.WITH_UNLOCK)
    assert len(fop.frames_to_send()) == 1
    fop.on_timer(1.0)
    (again,) = fop.frames_to_send()
    assert again.control_command_flag
    fop.on_timer(2.0)
    events = fop.events()
    assert any(isinstance(e, NegativeConfirm) and "Unlock" in e.request for e in events)
    assert Alert(AlertReason.T1, "E17", FopState.INITIALISING_WITH_BC) in events


def test_initiate_with_clcw_check_waits_for_a_matching_clcw() -> None:
    fop = Fop(1, 0)
    request = fop.initiate_ad(0.0, InitiateMode.WITH_CLCW_CHECK)
    assert fop.state is FopState.INITIALISING_WITHOUT_BC and fop.next_deadline() == 5.0
    fop.receive_clcw(Clcw(vcid=0, report_value=0), 0.5)
    assert fop.state is FopState.ACTIVE and fop.next_deadline() is None
    assert PositiveConfirm(request, "initiate AD with CLCW check") in fop.events()


def test_bd_frames_bypass_sequence_control() -> None:
    fop, farm = _pair()
    request = fop.transmit_bd(b"expedited", 0.0)  # allowed even before initiate_ad
    assert fop.events() == [
        Accept(request, "transfer BD"),
        PositiveConfirm(request, "transfer BD"),
    ]
    (frame,) = fop.frames_to_send()
    assert farm.receive_frame(frame) and farm.farm_b_counter == 1 and farm.v_r == 0


def test_terminate_purges_and_alerts() -> None:
    fop = Fop(1, 0)
    fop.initiate_ad(0.0)
    fop.transmit_ad(b"a", 0.0)
    request = fop.terminate_ad(0.1)
    events = fop.events()
    assert Alert(AlertReason.TERM, "E29", FopState.ACTIVE) in events
    assert PositiveConfirm(request, "terminate AD") in events
    assert any(isinstance(e, NegativeConfirm) and e.request == "transfer AD" for e in events)


def test_clcw_for_another_channel_or_cop_is_ignored() -> None:
    fop = Fop(1, 0)
    fop.initiate_ad(0.0)
    fop.receive_clcw(Clcw(vcid=5, report_value=9, lockout=True), 0.1)
    fop.receive_clcw(Clcw(vcid=0, report_value=9, lockout=True, cop_in_effect=0), 0.1)
    assert fop.state is FopState.ACTIVE
    with pytest.raises(DecodeError):
        fop.receive_clcw(b"\x80\x00\x00\x00", 0.2)


def test_bad_directive_values_are_rejected_not_raised() -> None:
    fop = Fop(1, 0)
    for call in (
        lambda: fop.set_fop_sliding_window(0),
        lambda: fop.set_transmission_limit(0),
        lambda: fop.set_t1_initial(float("nan")),
        lambda: fop.set_timeout_type(2),
        lambda: fop.set_v_s(256),
        lambda: fop.initiate_ad(0.0, InitiateMode.WITH_SET_V_R),
    ):
        request = call()
        assert isinstance(fop.events()[-1], Reject) and fop.last_event == "E40", request


def test_api_misuse_raises_usage_error() -> None:
    fop = Fop(1, 0)
    with pytest.raises(UsageError):
        fop.transmit_ad("text", 0.0)  # type: ignore[arg-type]
    with pytest.raises(UsageError):
        fop.transmit_ad(bytes(1020), 0.0)  # more than a TC frame holds
    with pytest.raises(UsageError):
        Fop(1, 0, sliding_window_k=0)
    with pytest.raises(UsageError):
        fop.initiate_ad(0.0, "with Unlock")  # type: ignore[arg-type]


def test_sequence_numbers_wrap_modulo_256() -> None:
    fop, farm = _pair(sliding_window_k=4)
    farm.v_r = 254
    fop.set_v_s(254)  # Set V(S) is a directive for S6, before the AD service starts
    fop.initiate_ad(0.0)
    got: list[bytes] = []
    for i in range(6):
        fop.transmit_ad(bytes([i]), float(i))
        got += _deliver(fop, farm, float(i) + 0.5)
    assert got == [bytes([i]) for i in range(6)] and fop.v_s == 4 and fop.nn_r == 4


@settings(max_examples=100, deadline=None)
@given(
    seed=st.integers(0, 2**32 - 1),
    frame_loss=st.floats(0.0, 0.2),
    clcw_loss=st.floats(0.0, 0.2),
    reorder=st.floats(0.0, 0.2),
)
def test_lossy_link_delivers_each_frame_once_in_order_or_alerts(
    seed: int, frame_loss: float, clcw_loss: float, reorder: float
) -> None:
    link = LossyLink(random.Random(seed), frame_loss, clcw_loss, reorder)
    payloads = [i.to_bytes(2, "big") * (1 + i % 3) for i in range(120)]
    run = run_transfer(payloads, link)
    # Exactly once and in order: what arrived is a prefix of what was sent.
    assert run.delivered == payloads[: len(run.delivered)]
    if not run.alerts:
        assert run.delivered == payloads
        assert len(run.confirmed) == len(payloads)
    else:
        assert len(run.confirmed) <= len(run.delivered)


def test_lossy_link_with_a_tight_limit_ends_in_an_alert() -> None:
    link = LossyLink(random.Random(7), frame_loss=0.5)
    fop = Fop(0x2A, 1, sliding_window_k=8, t1_initial=1.0, transmission_limit=1)
    run = run_transfer([bytes([i]) for i in range(50)], link, fop=fop)
    assert run.alerts and run.alerts[0].reason in (AlertReason.T1, AlertReason.LIMIT)
    assert run.delivered == [bytes([i]) for i in range(len(run.delivered))]
