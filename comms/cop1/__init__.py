"""COP-1, the Communications Operation Procedure of CCSDS 232.1-B-2: FOP-1 and FARM-1.

- :class:`Fop`: the sending end (ground). Requests and directives in, TC frames and
  responses out; retransmission on the timer and on the CLCW 'Retransmit' flag, the
  sliding window, Wait and Lockout handling, and the expedited (BD) service.
- :class:`Farm`: the receiving end (spacecraft, or a test rig). TC frames in, accepted
  frames and the CLCW out.
- The state tables (:data:`FOP_TABLE`, :data:`FARM_TABLE`) are data, keyed by the
  book's event ids; the events a :class:`Fop` reports live in :mod:`comms.cop1.events`.

Both machines are sans-I/O: time is an argument (``now``, ``on_timer``,
``next_deadline``), nothing reads a clock. Left out: SDLS, MAP multiplexing above the
FOP, and the managed-parameter plumbing of a full TC virtual channel.
"""

from comms.cop1.events import (
    Accept,
    Alert,
    AlertReason,
    FarmState,
    FopState,
    NegativeConfirm,
    PositiveConfirm,
    ProtocolError,
    Reject,
    Suspend,
)
from comms.cop1.farm import Farm
from comms.cop1.fop import Fop, InitiateMode
from comms.cop1.tables import FARM_EVENTS, FARM_TABLE, FOP_EVENTS, FOP_TABLE, Transition

__all__ = [
    "FARM_EVENTS",
    "FARM_TABLE",
    "FOP_EVENTS",
    "FOP_TABLE",
    "Accept",
    "Alert",
    "AlertReason",
    "Farm",
    "FarmState",
    "Fop",
    "FopState",
    "InitiateMode",
    "NegativeConfirm",
    "PositiveConfirm",
    "ProtocolError",
    "Reject",
    "Suspend",
    "Transition",
]
