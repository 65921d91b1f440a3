"""Space Data Link Security (CCSDS 355.0-B-2) for TM, AOS, TC and USLP frames.

- :class:`SecurityAssociation` (with :class:`Gvcid`, :class:`ServiceType`): the managed
  parameters of an SA; :class:`SaState` and :data:`SA_TRANSITIONS` its states
  (355.1-B-1: unkeyed, keyed, operational).
- :class:`SecurityEngine`: ``apply(frame, spi)`` (ApplySecurity) and ``process(frame)``
  (ProcessSecurity) for one channel, with SA management (``start``, ``stop``,
  ``rekey``, ``expire``), rejection ``events()`` and ``rejections`` counts.
- :class:`SecurityHeader`: the security header value; :func:`peek_spi`.
- :class:`Key`, :class:`KeyStore`, :class:`MemoryKeyStore`, :class:`EnvKeyStore`: key
  material that never prints itself, and where the engine finds it.
- :class:`SaRecord`, :class:`StateStore`, :class:`MemoryStateStore`,
  :class:`FileStateStore`: SA state persisted in reserved blocks, so a restart never
  reuses an IV or reopens the replay window.
- :class:`ReplayWindow` and :func:`merge_by_sequence`: the anti-replay window and the
  multi-station merge that must come before it.
- :class:`SecurityError` (a DecodeError), :class:`FrameRejected`, :class:`RejectReason`.
- :func:`plain_params`: the frame parameters of the unprotected frames.

Algorithm: AES-256-GCM only (the 352.0-B-2 baseline). Left out: other algorithms, the
SDLS extended procedures' PDUs (OTAR, key/SA management commands over the link, the
monitoring and control protocol), and the TC/USLP SDLS "Security Header in the frame
but SA unknown" bypass options.
"""

from comms.sdls.association import (
    GCM_IV_LENGTH,
    SA_TRANSITIONS,
    Gvcid,
    SaProcedure,
    SaState,
    SecurityAssociation,
    ServiceType,
)
from comms.sdls.engine import DEFAULT_RESERVE, SecurityEngine
from comms.sdls.events import FrameRejected, RejectReason, SecurityError
from comms.sdls.header import SecurityHeader, peek_spi
from comms.sdls.keys import KEY_LENGTH, EnvKeyStore, Key, KeyStore, MemoryKeyStore
from comms.sdls.layout import plain_params
from comms.sdls.replay import ReplayWindow, merge_by_sequence
from comms.sdls.state import FileStateStore, MemoryStateStore, SaRecord, StateStore

__all__ = [
    "DEFAULT_RESERVE",
    "GCM_IV_LENGTH",
    "KEY_LENGTH",
    "SA_TRANSITIONS",
    "EnvKeyStore",
    "FileStateStore",
    "FrameRejected",
    "Gvcid",
    "Key",
    "KeyStore",
    "MemoryKeyStore",
    "MemoryStateStore",
    "RejectReason",
    "ReplayWindow",
    "SaProcedure",
    "SaRecord",
    "SaState",
    "SecurityAssociation",
    "SecurityEngine",
    "SecurityError",
    "SecurityHeader",
    "ServiceType",
    "StateStore",
    "merge_by_sequence",
    "peek_spi",
    "plain_params",
]
