"""FOP-1, the sending end of COP-1 (CCSDS 232.1-B-2 section 5), as a sans-I/O machine.

One :class:`Fop` drives one TC virtual channel. Inputs are data and time: requests to
transfer FDUs (:meth:`Fop.transmit_ad`, :meth:`Fop.transmit_bd`), CLCWs
(:meth:`Fop.receive_clcw`), directives (``initiate_ad``, ``terminate_ad``,
``resume_ad``, ``set_v_s``, ``set_fop_sliding_window``, ``set_t1_initial``,
``set_transmission_limit``, ``set_timeout_type``) and the timer (:meth:`Fop.on_timer`,
due at :meth:`Fop.next_deadline`). Outputs are drained: :meth:`Fop.frames_to_send`
(TC frames with the sequence number and flags set) and :meth:`Fop.events` (the
responses and notifications of :mod:`comms.cop1.events`).

Every input is turned into one of the book's events (E1..E46, E101..E104) and looked
up in :data:`comms.cop1.tables.FOP_TABLE`; events raised while an action runs (the lower
layer's accept) are queued and handled after it, run to completion.

The lower layer is the ``frames_to_send`` queue: it takes every frame at once (the
AD/BC/BD_Accept responses, E41/E43/E45, follow each transmit), and aborting a
transmission (5.2.7 a) drops the frames still waiting in it. Call
:meth:`Fop.lower_layer_rejected` when a transport refuses a frame (E42/E44/E46).

Left out: more than one FOP per virtual channel (a MAP multiplexer sits above), SDLS,
and the 'Wait_Queue' of more than one FDU that some ground systems add (the book's
holds one: flow control is the higher layer waiting for each Accept).
"""

from __future__ import annotations

import enum
import math
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from typing import Final

from comms.buffers import BytesLike
from comms.cop1.events import (
    Accept,
    Alert,
    AlertReason,
    FopState,
    NegativeConfirm,
    PositiveConfirm,
    ProtocolError,
    Reject,
    Suspend,
)
from comms.cop1.tables import FOP_TABLE, classify_clcw, classify_timer
from comms.errors import UsageError
from comms.frames.clcw import COP_1, Clcw
from comms.frames.tc import TcFrame

__all__ = ["Fop", "InitiateMode"]

FopEvent = Accept | Reject | PositiveConfirm | NegativeConfirm | Alert | Suspend | ProtocolError

# Defaults, each a starting point an operator tunes per mission:
#: K: 10 frames ahead of the last acknowledged; must not exceed the FARM's PW
#: (232.1-B-2 5.1.9), and the FARM default W = 20 gives PW = 10.
DEFAULT_SLIDING_WINDOW: Final = 10
#: T1_Initial: 5 s covers a LEO round trip plus a CLCW reporting period of a few TM
#: frames with margin; Yamcs ships 3 s, deep-space missions use minutes.
DEFAULT_T1_INITIAL: Final = 5.0
#: Transmission_Limit: 3 transmissions of the oldest frame before an alert.
DEFAULT_TRANSMISSION_LIMIT: Final = 3


class InitiateMode(enum.Enum):
    """The four forms of the Initiate AD Service directive (232.1-B-2 5.1.3)."""

    WITHOUT_CLCW_CHECK = "without CLCW check"
    WITH_CLCW_CHECK = "with CLCW check"
    WITH_UNLOCK = "with Unlock"
    WITH_SET_V_R = "with Set V(R)"


@dataclass
class _Request:
    request_id: int
    request: str
    data: bytes | None = None
    map_id: int | None = None
    qualifier: float | int | None = None


@dataclass
class _Sent:
    """A frame on the Sent_Queue with its To_Be_Retransmitted flag (5.1.7)."""

    frame: TcFrame
    request: _Request | None
    to_be_retransmitted: bool = False


class Fop:
    """The FOP-1 of one TC virtual channel.

    ``scid``/``vcid`` go into every frame; ``map_id`` (None: no segment header) into the
    AD and BD frames, ``has_fecf`` into all. Every public input returns promptly and
    never raises for protocol reasons: a refused request becomes a :class:`Reject`, an
    unexpected (state, event) pair a :class:`ProtocolError` event. ``UsageError`` is
    raised only for calls that are wrong in any state (a data field of the wrong type
    or too long for a TC frame).
    """

    def __init__(
        self,
        scid: int,
        vcid: int,
        *,
        map_id: int | None = None,
        has_fecf: bool = True,
        sliding_window_k: int = DEFAULT_SLIDING_WINDOW,
        t1_initial: float = DEFAULT_T1_INITIAL,
        transmission_limit: int = DEFAULT_TRANSMISSION_LIMIT,
        timeout_type: int = 0,
    ) -> None:
        # Building one frame validates scid, vcid, map_id and has_fecf at once.
        TcFrame(scid, vcid, 0, b"\x00", map_id=map_id, has_fecf=has_fecf)
        for name, ok, value in (
            ("sliding_window_k", _valid_k(sliding_window_k), sliding_window_k),
            ("t1_initial", _valid_t1(t1_initial), t1_initial),
            ("transmission_limit", _valid_limit(transmission_limit), transmission_limit),
            ("timeout_type", _valid_tt(timeout_type), timeout_type),
        ):
            if not ok:
                raise UsageError(f"Fop {name} {value!r} is out of range; {_RANGES[name]}.")
        self.scid = scid
        self.vcid = vcid
        self.map_id = map_id
        self.has_fecf = has_fecf
        # FOP-1 variables (232.1-B-2 5.1).
        self.state = FopState.INITIAL
        self.v_s = 0
        self.nn_r = 0
        self.sliding_window_k = sliding_window_k
        self.t1_initial = float(t1_initial)
        self.transmission_limit = transmission_limit
        self.transmission_count = 1
        self.timeout_type = timeout_type
        self.suspend_state = 0
        self.sent_queue: deque[_Sent] = deque()
        self.wait_queue: deque[_Request] = deque()
        self.ad_out_ready = True
        self.bc_out_ready = True
        self.bd_out_ready = True
        #: The event id (E1..E46, E101..E104) the last input stood for, for tracing;
        #: the lower layer's accepts that follow it are not recorded here.
        self.last_event: str | None = None
        self._bc: _Sent | None = None
        self._bd_request: _Request | None = None
        self._clcw: Clcw | None = None
        self._event_id = ""
        self._request_now: _Request | None = None
        self._pending_initiate: _Request | None = None
        self._deadline: float | None = None
        self._now = 0.0
        self._next_id = 0
        self._outbox: list[TcFrame] = []
        self._events: list[FopEvent] = []
        self._queue: deque[tuple[str, _Request | None]] = deque()
        self._busy = False
        self._actions: dict[str, Callable[[object], None]] = {
            name[4:]: getattr(self, name) for name in dir(self) if name.startswith("_do_")
        }

    # ------------------------------------------------------------------ outputs

    def frames_to_send(self) -> list[TcFrame]:
        """The frames handed to the lower layer since the last call, oldest first."""
        out, self._outbox = self._outbox, []
        return out

    def events(self) -> list[FopEvent]:
        """The responses and notifications since the last call, oldest first."""
        out, self._events = self._events, []
        return out

    def next_deadline(self) -> float | None:
        """When :meth:`on_timer` is next due (the FOP timer), None when it is stopped."""
        return self._deadline

    @property
    def wait_queue_empty(self) -> bool:
        """True when a :meth:`transmit_ad` now would be queued rather than rejected."""
        return not self.wait_queue

    # ------------------------------------------------------------------ inputs

    def transmit_ad(self, data: BytesLike, now: float, *, map_id: int | None = None) -> int:
        """Request the transfer of one FDU on the sequence-controlled (AD) service.

        Returns the request id that the :class:`Accept` or :class:`Reject` (and later
        the confirm) carry. The FDU waits on the Wait_Queue until the sliding window
        lets it go; the Accept comes then (232.1-B-2 5.2.10 c).
        """
        request = self._request("transfer AD", data=self._check_data(data, map_id), map_id=map_id)
        self._input("E20" if self.wait_queue else "E19", request, now)
        return request.request_id

    def transmit_bd(self, data: BytesLike, now: float, *, map_id: int | None = None) -> int:
        """Request the transfer of one FDU on the expedited (BD) service: a bypass frame,
        no sequence control, no retransmission."""
        request = self._request("transfer BD", data=self._check_data(data, map_id), map_id=map_id)
        self._input("E21" if self.bd_out_ready else "E22", request, now)
        return request.request_id

    def receive_clcw(self, clcw: Clcw | BytesLike, now: float) -> None:
        """Process a CLCW (a :class:`Clcw` or its 4 octets from a frame's OCF).

        CLCWs of another COP or virtual channel are not for this FOP and are ignored,
        as 232.1-B-2 5.3.2 checks them before the state table. Bytes that are not a
        CLCW raise :class:`~comms.errors.DecodeError`.
        """
        if not isinstance(clcw, Clcw):
            clcw = Clcw.decode(clcw)
        if clcw.cop_in_effect != COP_1 or clcw.vcid != self.vcid:
            return
        event = classify_clcw(
            clcw,
            v_s=self.v_s,
            nn_r=self.nn_r,
            transmission_count=self.transmission_count,
            transmission_limit=self.transmission_limit,
        )
        self._clcw = clcw
        self._input(event, None, now)

    def on_timer(self, now: float) -> None:
        """Let the FOP act on its timer; does nothing before :meth:`next_deadline`."""
        self._now = now
        if self._deadline is None or now < self._deadline:
            return
        self._deadline = None
        event = classify_timer(
            transmission_count=self.transmission_count,
            transmission_limit=self.transmission_limit,
            timeout_type=self.timeout_type,
        )
        self._input(event, None, now)

    def lower_layer_rejected(self, frame: TcFrame, now: float) -> None:
        """Report that the transport refused ``frame`` (AD/BC/BD_Reject, E42/E44/E46)."""
        event = "E42"
        if frame.bypass_flag:
            event = "E44" if frame.control_command_flag else "E46"
        self._input(event, None, now)

    # ------------------------------------------------------------------ directives

    def initiate_ad(
        self,
        now: float,
        mode: InitiateMode = InitiateMode.WITHOUT_CLCW_CHECK,
        *,
        v_r: int | None = None,
    ) -> int:
        """Initiate the AD service (E23..E28); ``v_r`` is V*(R) for ``WITH_SET_V_R``."""
        if not isinstance(mode, InitiateMode):
            raise UsageError(f"initiate_ad mode must be an InitiateMode, got {mode!r}.")
        request = self._request(f"initiate AD {mode.value}", qualifier=v_r)
        if mode is InitiateMode.WITHOUT_CLCW_CHECK:
            event = "E23"
        elif mode is InitiateMode.WITH_CLCW_CHECK:
            event = "E24"
        elif mode is InitiateMode.WITH_UNLOCK:
            event = "E25" if self.bc_out_ready else "E26"
        elif not _valid_byte(v_r):
            event = "E40"
        else:
            event = "E27" if self.bc_out_ready else "E28"
        self._input(event, request, now)
        return request.request_id

    def terminate_ad(self, now: float) -> int:
        """Terminate the AD service (E29): purge the queues, alert TERM, go to S6."""
        request = self._request("terminate AD")
        self._input("E29", request, now)
        return request.request_id

    def resume_ad(self, now: float) -> int:
        """Resume a suspended AD service (E30..E34, by Suspend_State)."""
        request = self._request("resume AD")
        self._input(f"E{30 + self.suspend_state}", request, now)
        return request.request_id

    def set_v_s(self, v_s: int, now: float | None = None) -> int:
        """Set V(S) (and NN(R)) to ``v_s`` (E35); only allowed in S6, not suspended."""
        return self._directive("set V(S)", "E35", v_s, _valid_byte(v_s), now)

    def set_fop_sliding_window(self, k: int, now: float | None = None) -> int:
        """Set the FOP sliding window width K, 1..255 (E36)."""
        return self._directive("set FOP sliding window", "E36", k, _valid_k(k), now)

    def set_t1_initial(self, seconds: float, now: float | None = None) -> int:
        """Set T1_Initial, the timer's starting value in seconds (E37)."""
        return self._directive("set T1 initial", "E37", seconds, _valid_t1(seconds), now)

    def set_transmission_limit(self, limit: int, now: float | None = None) -> int:
        """Set Transmission_Limit, at least 1 (E38)."""
        return self._directive("set transmission limit", "E38", limit, _valid_limit(limit), now)

    def set_timeout_type(self, timeout_type: int, now: float | None = None) -> int:
        """Set Timeout_Type: 0 alerts when the limit is reached, 1 suspends (E39)."""
        ok = _valid_tt(timeout_type)
        return self._directive("set timeout type", "E39", timeout_type, ok, now)

    # ------------------------------------------------------------------ the engine

    def _directive(
        self, name: str, event: str, qualifier: float | int, ok: bool, now: float | None
    ) -> int:
        # A qualifier out of range is the book's 'invalid directive' (E40), answered
        # with a Reject rather than an exception: an operator typed it.
        request = self._request(name, qualifier=qualifier)
        self._input(event if ok else "E40", request, self._now if now is None else now)
        return request.request_id

    def _request(
        self,
        name: str,
        *,
        data: bytes | None = None,
        map_id: int | None = None,
        qualifier: float | int | None = None,
    ) -> _Request:
        self._next_id += 1
        return _Request(self._next_id, name, data, map_id, qualifier)

    def _check_data(self, data: object, map_id: int | None) -> bytes:
        if isinstance(data, str):
            raise UsageError("An FDU is bytes, not str; encode the text first.")
        if hasattr(data, "encode") and not isinstance(data, bytes | bytearray | memoryview):
            data = data.encode()
        if not isinstance(data, bytes | bytearray | memoryview):
            raise UsageError(
                f"An FDU is bytes-like or has encode() -> bytes, not {type(data).__name__}."
            )
        # Building the frame checks the size (1..1019 octets of data field) up front, so a
        # too-long FDU is the caller's error now rather than a failure inside an action.
        frame = TcFrame(
            self.scid, self.vcid, 0, data, map_id=self._map(map_id), has_fecf=self.has_fecf
        )
        return frame.data_field

    def _map(self, map_id: int | None) -> int | None:
        return self.map_id if map_id is None else map_id

    def _input(self, event: str, request: _Request | None, now: float) -> None:
        self._now = now
        self.last_event = event
        self._queue.append((event, request))
        if self._busy:
            return
        self._busy = True
        try:
            while self._queue:
                event, request = self._queue.popleft()
                self._handle(event, request)
        finally:
            self._busy = False

    def _handle(self, event: str, request: _Request | None) -> None:
        transition = FOP_TABLE.get((self.state, event))
        if transition is None:
            self._events.append(ProtocolError(self.state, event))
            return
        self._event_id = event
        self._request_now = request
        for name, argument in transition.actions:
            self._actions[name](argument)
        next_state = transition.next_state
        assert isinstance(next_state, FopState)
        if next_state is FopState.INITIAL and self.state is not FopState.INITIAL:
            # Nothing runs in S6: whichever way it was entered (alert, suspend,
            # terminate), the timer has no frame to guard any more.
            self._deadline = None
        self.state = next_state

    def _lower_layer(self, frame: TcFrame, accept_event: str) -> None:
        self._outbox.append(frame)
        self._queue.append((accept_event, None))

    # ------------------------------------------------------------------ actions (5.2)

    def _do_accept(self, _: object) -> None:
        request = self._request_now
        assert request is not None
        self._events.append(Accept(request.request_id, request.request))

    def _do_reject(self, _: object) -> None:
        request = self._request_now
        if request is not None:
            self._events.append(Reject(request.request_id, request.request))

    def _do_confirm(self, _: object) -> None:
        request = self._request_now
        assert request is not None
        self._events.append(PositiveConfirm(request.request_id, request.request))

    def _do_hold_initiate(self, _: object) -> None:
        # The Initiate AD directive completes later, on a CLCW (E1 in S4/S5).
        self._pending_initiate = self._request_now

    def _do_confirm_initiate(self, _: object) -> None:
        request, self._pending_initiate = self._pending_initiate, None
        if request is not None:
            self._events.append(PositiveConfirm(request.request_id, request.request))

    def _do_purge_sent_queue(self, _: object) -> None:
        # 5.2.2: a Negative Confirm for every frame still unacknowledged.
        for sent in self.sent_queue:
            if sent.request is not None:
                self._events.append(
                    NegativeConfirm(
                        sent.request.request_id,
                        sent.request.request,
                        sent.frame.frame_sequence_number,
                    )
                )
        self.sent_queue.clear()
        self._bc = None
        # With nothing outstanding the oldest unacknowledged frame is the next one.
        # The book leaves NN(R) alone here; Yamcs does the same as this, and it makes a
        # CLCW after re-initialisation either match V(S) (E1) or be invalid (E13).
        self.nn_r = self.v_s
        self._abort(bypass=None)

    def _do_purge_wait_queue(self, _: object) -> None:
        # 5.2.3: the queued FDU never got its Accept, so it gets a Reject.
        for request in self.wait_queue:
            self._events.append(Reject(request.request_id, request.request))
        self.wait_queue.clear()

    def _do_initialize(self, _: object) -> None:
        # 5.2.14
        self._do_purge_sent_queue(None)
        self._do_purge_wait_queue(None)
        self.transmission_count = 1
        self.suspend_state = 0

    def _do_alert(self, reason: object) -> None:
        # 5.2.15: cancel the timer, purge both queues, negatively confirm a pending
        # Initiate AD directive, then notify.
        assert isinstance(reason, AlertReason)
        before = self.state
        self._deadline = None
        self._do_purge_sent_queue(None)
        self._do_purge_wait_queue(None)
        pending, self._pending_initiate = self._pending_initiate, None
        if pending is not None:
            self._events.append(NegativeConfirm(pending.request_id, pending.request))
        self._events.append(Alert(reason, self._event_id, before))

    def _do_set_suspend_state(self, state: object) -> None:
        assert isinstance(state, int)
        self.suspend_state = state

    def _do_suspend(self, _: object) -> None:
        # 5.2.16
        self._events.append(Suspend(self.suspend_state))

    def _do_resume(self, _: object) -> None:
        # 5.2.17
        self._do_restart_timer(None)
        self.suspend_state = 0

    def _do_restart_timer(self, _: object) -> None:
        self._deadline = self._now + self.t1_initial

    def _do_cancel_timer(self, _: object) -> None:
        self._deadline = None

    def _do_add_to_wait_queue(self, _: object) -> None:
        assert self._request_now is not None
        self.wait_queue.append(self._request_now)

    def _do_look_for_fdu(self, _: object) -> None:
        # 5.2.10
        if not self.ad_out_ready:
            return
        for sent in self.sent_queue:
            if sent.to_be_retransmitted:
                sent.to_be_retransmitted = False
                self.ad_out_ready = False
                self._lower_layer(sent.frame, "E41")
                return
        if self.wait_queue and (self.v_s - self.nn_r) & 0xFF < self.sliding_window_k:
            request = self.wait_queue.popleft()
            self._events.append(Accept(request.request_id, request.request))
            self._transmit_ad(request)

    def _transmit_ad(self, request: _Request) -> None:
        # 5.2.4
        assert request.data is not None
        frame = TcFrame(
            self.scid,
            self.vcid,
            self.v_s,
            request.data,
            map_id=self._map(request.map_id),
            has_fecf=self.has_fecf,
        )
        self.v_s = (self.v_s + 1) & 0xFF
        if not self.sent_queue:
            self.transmission_count = 1
        self.sent_queue.append(_Sent(frame, request))
        self._do_restart_timer(None)
        self.ad_out_ready = False
        self._lower_layer(frame, "E41")

    def _transmit_bc(self, frame: TcFrame) -> None:
        # 5.2.5
        self._bc = _Sent(frame, None)
        self.transmission_count = 1
        self._do_restart_timer(None)
        self.bc_out_ready = False
        self._lower_layer(frame, "E43")

    def _do_transmit_bc_unlock(self, _: object) -> None:
        self._transmit_bc(TcFrame.unlock(self.scid, self.vcid, has_fecf=self.has_fecf))

    def _do_prepare_set_v_r(self, _: object) -> None:
        # V(S) and NN(R) take V*(R), so the frames after the BC frame match the FARM.
        request = self._request_now
        assert request is not None and isinstance(request.qualifier, int)
        self.v_s = self.nn_r = request.qualifier

    def _do_transmit_bc_set_v_r(self, _: object) -> None:
        self._transmit_bc(TcFrame.set_v_r(self.scid, self.vcid, self.v_s, has_fecf=self.has_fecf))

    def _do_transmit_bd_frame(self, _: object) -> None:
        # 5.2.6: no sequence control, the frame sequence number is not checked (zero).
        request = self._request_now
        assert request is not None and request.data is not None
        frame = TcFrame(
            self.scid,
            self.vcid,
            0,
            request.data,
            bypass_flag=True,
            map_id=self._map(request.map_id),
            has_fecf=self.has_fecf,
        )
        self._bd_request = request
        self.bd_out_ready = False
        self._lower_layer(frame, "E45")

    def _do_confirm_bd(self, _: object) -> None:
        request = self._bd_request
        if request is not None:
            self._bd_request = None
            self._events.append(PositiveConfirm(request.request_id, request.request))

    def _abort(self, *, bypass: bool | None) -> None:
        # 5.2.7 a: the lower layer drops what it has not sent yet. ``bypass`` None
        # drops AD and BC frames, False only AD, True only BC. BD frames are never
        # aborted: the expedited service runs outside the AD service.
        self._outbox = [
            f
            for f in self._outbox
            if (f.bypass_flag and not f.control_command_flag)
            or (bypass is not None and f.bypass_flag != bypass)
        ]

    def _do_initiate_ad_retransmission(self, _: object) -> None:
        # 5.2.7
        self._abort(bypass=False)
        self.ad_out_ready = True
        self.transmission_count += 1
        self._do_restart_timer(None)
        for sent in self.sent_queue:
            sent.to_be_retransmitted = True

    def _do_initiate_bc_retransmission(self, _: object) -> None:
        self._abort(bypass=True)
        self.bc_out_ready = True
        self.transmission_count += 1
        self._do_restart_timer(None)
        if self._bc is not None:
            self._bc.to_be_retransmitted = True

    def _do_remove_acknowledged_frames(self, _: object) -> None:
        # 5.2.8: every frame below N(R) is acknowledged.
        assert self._clcw is not None
        n_r = self._clcw.report_value
        while self.sent_queue and self.nn_r != n_r:
            sent = self.sent_queue.popleft()
            if sent.request is not None:
                self._events.append(
                    PositiveConfirm(
                        sent.request.request_id,
                        sent.request.request,
                        sent.frame.frame_sequence_number,
                    )
                )
            self.nn_r = (self.nn_r + 1) & 0xFF
        self.nn_r = n_r
        self.transmission_count = 1

    def _do_look_for_directive(self, _: object) -> None:
        # 5.2.9
        if self.bc_out_ready and self._bc is not None and self._bc.to_be_retransmitted:
            self._bc.to_be_retransmitted = False
            self.bc_out_ready = False
            self._lower_layer(self._bc.frame, "E43")

    def _do_release_bc_frame(self, _: object) -> None:
        self._bc = None

    def _do_ad_out_ready(self, _: object) -> None:
        self.ad_out_ready = True

    def _do_bc_out_ready(self, _: object) -> None:
        self.bc_out_ready = True

    def _do_bd_out_ready(self, _: object) -> None:
        self.bd_out_ready = True

    def _do_set_v_s(self, _: object) -> None:
        request = self._request_now
        assert request is not None and isinstance(request.qualifier, int)
        if self.suspend_state:
            self._events.append(Reject(request.request_id, request.request))
            return
        self._events.append(Accept(request.request_id, request.request))
        self.v_s = self.nn_r = request.qualifier
        self._events.append(PositiveConfirm(request.request_id, request.request))

    def _qualifier(self) -> float | int:
        request = self._request_now
        assert request is not None and request.qualifier is not None
        return request.qualifier

    def _do_set_fop_sliding_window(self, _: object) -> None:
        self.sliding_window_k = int(self._qualifier())

    def _do_set_t1_initial(self, _: object) -> None:
        self.t1_initial = float(self._qualifier())

    def _do_set_transmission_limit(self, _: object) -> None:
        self.transmission_limit = int(self._qualifier())

    def _do_set_timeout_type(self, _: object) -> None:
        self.timeout_type = int(self._qualifier())


def _is_int(value: object) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _valid_byte(value: object) -> bool:
    return _is_int(value) and 0 <= value <= 255  # type: ignore[operator]


def _valid_k(value: object) -> bool:
    # 232.1-B-2 5.1.9: 1 <= K <= PW and K < 256.
    return _is_int(value) and 1 <= value <= 255  # type: ignore[operator]


def _valid_t1(value: object) -> bool:
    return (
        isinstance(value, int | float)
        and not isinstance(value, bool)
        and math.isfinite(value)
        and value > 0
    )


def _valid_limit(value: object) -> bool:
    return _is_int(value) and value >= 1  # type: ignore[operator]


def _valid_tt(value: object) -> bool:
    return _is_int(value) and value in (0, 1)


_RANGES = {
    "sliding_window_k": "pass an int in 1..255, no larger than the FARM's PW",
    "t1_initial": "pass a finite number of seconds greater than 0",
    "transmission_limit": "pass an int of at least 1",
    "timeout_type": "pass 0 (alert at the limit) or 1 (suspend)",
}
