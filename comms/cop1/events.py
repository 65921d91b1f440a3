"""What the COP-1 machines report: states, alert codes and the FOP's indications.

The FOP-1 answers the Higher Procedures (232.1-B-2 section 4.2, 5.2.11-5.2.16) with
responses to each request or directive and with asynchronous notifications. Here each
is a small frozen dataclass drained from :meth:`comms.cop1.Fop.events`:

- :class:`Accept` / :class:`Reject`: the response to a request to transfer an FDU or to
  a directive (``request_id`` is the id the call returned);
- :class:`PositiveConfirm` / :class:`NegativeConfirm`: how the request ended (an AD
  frame acknowledged by the FARM, or purged; a directive completed, or not);
- :class:`Alert`: the AD service was stopped, with the reason code of table 4-4;
- :class:`Suspend`: the AD service was suspended (Timeout_Type 1), ``suspend_state``
  says where ``resume_ad`` will take it back to;
- :class:`ProtocolError`: a (state, event) pair the state table does not list. The
  machine stays where it was; nothing is raised.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass

from comms.errors import UsageError

__all__ = [
    "Accept",
    "Alert",
    "AlertReason",
    "FarmState",
    "FopState",
    "NegativeConfirm",
    "PositiveConfirm",
    "ProtocolError",
    "Reject",
    "Suspend",
]


class FopState(enum.IntEnum):
    """The six FOP-1 states (232.1-B-2 5.1.2); the values are the book's S-numbers.

    Suspend_State holds one of the values 1..4 (the state the AD service was suspended
    in) or 0 (not suspended), so the numbering matters.
    """

    ACTIVE = 1
    RETRANSMIT_WITHOUT_WAIT = 2
    RETRANSMIT_WITH_WAIT = 3
    INITIALISING_WITHOUT_BC = 4
    INITIALISING_WITH_BC = 5
    INITIAL = 6


class FarmState(enum.IntEnum):
    """The three FARM-1 states (232.1-B-2 6.2)."""

    OPEN = 1
    WAIT = 2
    LOCKOUT = 3


class AlertReason(enum.Enum):
    """Reason codes of the 'Alert' notification (232.1-B-2 table 4-4)."""

    LIMIT = "LIMIT"  # a CLCW asked for a retransmission while Transmission_Limit is 1
    T1 = "T1"  # the timer expired with Transmission_Count at Transmission_Limit
    LOCKOUT = "LOCKOUT"  # the CLCW reported the FARM in Lockout
    SYNCH = "SYNCH"  # a CLCW contradicted what the FOP knows was sent
    NN_R = "NN_R"  # a CLCW with an N(R) outside NN(R)..V(S)
    CLCW = "CLCW"  # an inconsistent CLCW ('Wait' set without 'Retransmit')
    LLIF = "LLIF"  # the lower layer refused a frame
    TERM = "TERM"  # the AD service was terminated by directive


def _check_id(cls: str, request_id: int) -> None:
    if isinstance(request_id, bool) or not isinstance(request_id, int) or request_id < 0:
        raise UsageError(f"{cls}.request_id must be a non-negative int, got {request_id!r}.")


@dataclass(frozen=True, slots=True)
class Accept:
    """The request or directive ``request_id`` was accepted (232.1-B-2 5.2.11)."""

    request_id: int
    request: str

    def __post_init__(self) -> None:
        _check_id("Accept", self.request_id)


@dataclass(frozen=True, slots=True)
class Reject:
    """The request or directive ``request_id`` was rejected (232.1-B-2 5.2.12)."""

    request_id: int
    request: str

    def __post_init__(self) -> None:
        _check_id("Reject", self.request_id)


@dataclass(frozen=True, slots=True)
class PositiveConfirm:
    """The request ``request_id`` completed (232.1-B-2 5.2.13).

    For an AD transfer this means the FARM acknowledged the frame, whose sequence
    number is ``frame_sequence_number``; for a BD transfer that the lower layer took the
    frame; for a directive that it took effect.
    """

    request_id: int
    request: str
    frame_sequence_number: int | None = None

    def __post_init__(self) -> None:
        _check_id("PositiveConfirm", self.request_id)


@dataclass(frozen=True, slots=True)
class NegativeConfirm:
    """The request ``request_id`` was abandoned: purged from the Sent_Queue (5.2.2), or
    an Initiate AD directive that an alert cut short (5.2.15 d)."""

    request_id: int
    request: str
    frame_sequence_number: int | None = None

    def __post_init__(self) -> None:
        _check_id("NegativeConfirm", self.request_id)


@dataclass(frozen=True, slots=True)
class Alert:
    """The AD service stopped (232.1-B-2 5.2.15); ``event`` is the FOP event that caused
    it and ``state`` the FOP state it happened in (the note to table 4-4 allows both)."""

    reason: AlertReason
    event: str
    state: FopState

    def __post_init__(self) -> None:
        if not isinstance(self.reason, AlertReason):
            raise UsageError(f"Alert.reason must be an AlertReason, got {self.reason!r}.")


@dataclass(frozen=True, slots=True)
class Suspend:
    """The AD service was suspended (232.1-B-2 5.2.16); ``resume_ad`` returns to
    ``suspend_state`` (1..4, a :class:`FopState` value)."""

    suspend_state: int

    def __post_init__(self) -> None:
        if self.suspend_state not in (1, 2, 3, 4):
            raise UsageError(f"Suspend.suspend_state must be 1..4, got {self.suspend_state!r}.")


@dataclass(frozen=True, slots=True)
class ProtocolError:
    """Event ``event`` arrived in ``state``, a pair the state table does not list."""

    state: FopState | FarmState
    event: str
