"""FARM-1, the receiving end of COP-1 (CCSDS 232.1-B-2 section 6), as a sans-I/O machine.

One :class:`Farm` guards one TC virtual channel on the spacecraft (or in a ground test
rig). :meth:`Farm.receive_frame` takes each TC frame that passed the frame checks and
classifies it into the book's events E1..E9; :meth:`Farm.buffer_released` is E10. The
transitions come from :data:`comms.cop1.tables.FARM_TABLE`. Accepted frames (AD in
sequence, and every BD frame) are drained with :meth:`Farm.frames_accepted`, and
:meth:`Farm.clcw` reports the FARM's state for the next TM frame's OCF.

The FARM's buffer (the 'room for the FDU' of E1/E2) holds up to ``buffer_capacity`` AD
frames until the embedder drains them. When an in-sequence frame finds it full the
FARM discards it and enters Wait; draining frees room, but the FARM leaves Wait only on
:meth:`Farm.buffer_released`, as the book's 'buffer release signal' (E10) is the higher
layer's to give. BD frames bypass the buffer (FARM-B has no flow control).

Left out: the FARM-B counter beyond its two CLCW bits (it is kept mod 4), the CLCW
'No RF Available' / 'No Bit Lock' flags (set by the physical layer, passed through
:meth:`Farm.clcw`), and SDLS.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Final

from comms.cop1.events import FarmState, ProtocolError
from comms.cop1.tables import FARM_TABLE
from comms.errors import DecodeError, UsageError
from comms.frames.clcw import Clcw
from comms.frames.tc import SetVR, TcFrame

__all__ = ["Farm"]

#: W: 20 frames (PW = NW = 10) keeps the default FOP window (K = 10) inside PW; the
#: book allows even values 2..254 (232.1-B-2 6.1.8.2).
DEFAULT_WINDOW_WIDTH: Final = 20
#: Room for 64 AD frames before the FARM asks the FOP to wait.
DEFAULT_BUFFER_CAPACITY: Final = 64


class Farm:
    """The FARM-1 of one TC virtual channel.

    ``sliding_window_width`` is W (even, 2..254); the positive and negative window
    widths PW and NW are W/2 each (232.1-B-2 6.1.8). ``receive_frame`` never raises
    for a frame's content: frames for another virtual channel, or control commands it
    cannot read, are the book's 'invalid frame' (E9) and are discarded.
    """

    def __init__(
        self,
        vcid: int,
        *,
        sliding_window_width: int = DEFAULT_WINDOW_WIDTH,
        buffer_capacity: int = DEFAULT_BUFFER_CAPACITY,
        v_r: int = 0,
    ) -> None:
        if isinstance(vcid, bool) or not isinstance(vcid, int) or not 0 <= vcid < 64:
            raise UsageError(f"Farm vcid must be an int in 0..63, got {vcid!r}.")
        w = sliding_window_width
        if isinstance(w, bool) or not isinstance(w, int) or w % 2 or not 2 <= w <= 254:
            raise UsageError(
                f"Farm sliding_window_width must be an even int in 2..254 "
                f"(232.1-B-2 6.1.8.2), got {w!r}."
            )
        if isinstance(buffer_capacity, bool) or not isinstance(buffer_capacity, int):
            raise UsageError("Farm buffer_capacity must be an int of at least 1.")
        if buffer_capacity < 1:
            raise UsageError(f"Farm buffer_capacity must be at least 1, got {buffer_capacity}.")
        if isinstance(v_r, bool) or not isinstance(v_r, int) or not 0 <= v_r <= 255:
            raise UsageError(f"Farm v_r must be an int in 0..255, got {v_r!r}.")
        self.vcid = vcid
        self.sliding_window_width = w
        self.positive_window_width = w // 2
        self.negative_window_width = w // 2
        self.buffer_capacity = buffer_capacity
        # FARM-1 variables (232.1-B-2 6.1).
        self.state = FarmState.OPEN
        self.v_r = v_r
        self.lockout = False
        self.wait = False
        self.retransmit = False
        self.farm_b_counter = 0
        #: The id of the last event handled (E1..E10), for tracing.
        self.last_event: str | None = None
        self._buffer: list[TcFrame] = []
        self._accepted: list[TcFrame] = []
        self._errors: list[ProtocolError] = []
        self._frame: TcFrame | None = None
        self._actions: dict[str, Callable[[], None]] = {
            name[4:]: getattr(self, name) for name in dir(self) if name.startswith("_do_")
        }

    # ------------------------------------------------------------------ inputs

    def receive_frame(self, frame: TcFrame) -> bool:
        """Process one TC frame; True when it was accepted for delivery."""
        if not isinstance(frame, TcFrame):
            raise UsageError(f"receive_frame takes a TcFrame, not {type(frame).__name__}.")
        before = len(self._accepted)
        self._frame = frame
        self._handle(self._classify(frame))
        self._frame = None
        return len(self._accepted) > before

    def buffer_released(self) -> None:
        """The higher layer has room again (E10): leave Wait."""
        self._handle("E10")

    # ------------------------------------------------------------------ outputs

    def frames_accepted(self) -> list[TcFrame]:
        """The frames accepted since the last call (AD in sequence, and BD), in order.

        Draining frees room in the FARM's buffer; call :meth:`buffer_released` to leave
        Wait once there is room.
        """
        out, self._accepted = self._accepted, []
        self._buffer.clear()
        return out

    def protocol_errors(self) -> list[ProtocolError]:
        """(state, event) pairs the table does not list, since the last call."""
        out, self._errors = self._errors, []
        return out

    def clcw(self, *, no_rf_available: bool = False, no_bit_lock: bool = False) -> Clcw:
        """The CLCW that reports this FARM now (232.1-B-2 6.1, 232.0-B-4 4.2.1)."""
        return Clcw(
            vcid=self.vcid,
            report_value=self.v_r,
            no_rf_available=no_rf_available,
            no_bit_lock=no_bit_lock,
            lockout=self.lockout,
            wait=self.wait,
            retransmit=self.retransmit,
            farm_b_counter=self.farm_b_counter,
        )

    # ------------------------------------------------------------------ the engine

    def _classify(self, frame: TcFrame) -> str:
        if frame.vcid != self.vcid:
            return "E9"
        if frame.bypass_flag:
            if not frame.control_command_flag:
                return "E6"
            try:
                command = frame.control_command()
            except DecodeError:
                return "E9"
            return "E8" if isinstance(command, SetVR) else "E7"
        if frame.control_command_flag:
            # 232.0-B-4 4.1.2.3: a control command is always a Type-B frame.
            return "E9"
        ahead = (frame.frame_sequence_number - self.v_r) & 0xFF
        if ahead == 0:
            return "E1" if len(self._buffer) < self.buffer_capacity else "E2"
        if ahead <= self.positive_window_width - 1:
            return "E3"
        if 256 - ahead <= self.negative_window_width:
            return "E4"
        return "E5"

    def _handle(self, event: str) -> None:
        self.last_event = event
        transition = FARM_TABLE.get((self.state, event))
        if transition is None:
            self._errors.append(ProtocolError(self.state, event))
            return
        for name, _ in transition.actions:
            self._actions[name]()
        assert isinstance(transition.next_state, FarmState)
        self.state = transition.next_state

    # ------------------------------------------------------------------ actions (6.3)

    def _do_accept_ad(self) -> None:
        assert self._frame is not None
        self._buffer.append(self._frame)
        self._accepted.append(self._frame)
        self.v_r = (self.v_r + 1) & 0xFF

    def _do_accept_bd(self) -> None:
        assert self._frame is not None
        self._accepted.append(self._frame)

    def _do_discard(self) -> None:
        pass

    def _do_count_farm_b(self) -> None:
        # Only the two low bits reach the CLCW (232.0-B-4 4.2.1.4.10).
        self.farm_b_counter = (self.farm_b_counter + 1) & 0x3

    def _do_set_retransmit(self) -> None:
        self.retransmit = True

    def _do_clear_retransmit(self) -> None:
        self.retransmit = False

    def _do_set_wait(self) -> None:
        self.wait = True

    def _do_clear_wait(self) -> None:
        self.wait = False

    def _do_set_lockout(self) -> None:
        self.lockout = True

    def _do_clear_lockout(self) -> None:
        self.lockout = False

    def _do_set_v_r(self) -> None:
        assert self._frame is not None
        command = self._frame.control_command()
        assert isinstance(command, SetVR)
        self.v_r = command.v_r
