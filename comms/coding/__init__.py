"""Channel coding and synchronization: TM (131.0-B-5) and TC (231.0-B-4).

Each module names the clauses it implements and what it leaves out; this package
re-exports the public names.
"""

from comms.coding.cadu import (
    CaduCounters,
    CaduDecoder,
    CaduEncoder,
    CaduEvent,
    CaduFrame,
    CaduParams,
    UncorrectableCodeblock,
)
from comms.coding.cltu import CltuEnd, CltuResult, CltuStream, cltu_decode, cltu_encode
from comms.coding.convolutional import conv_encode, viterbi_decode
from comms.coding.randomizer import (
    randomize_tc,
    randomize_tc_many,
    randomize_tm,
    randomize_tm_many,
)
from comms.coding.reed_solomon import ReedSolomon, RsBatchResult, RsResult
from comms.coding.sync import (
    ASM,
    FrameSynchronizer,
    GarbageSkipped,
    LockAcquired,
    LockLost,
    SlipDetected,
    SyncedFrame,
    SyncState,
    attach_asm,
)

__all__ = [
    "ASM",
    "CaduCounters",
    "CaduDecoder",
    "CaduEncoder",
    "CaduEvent",
    "CaduFrame",
    "CaduParams",
    "CltuEnd",
    "CltuResult",
    "CltuStream",
    "FrameSynchronizer",
    "GarbageSkipped",
    "LockAcquired",
    "LockLost",
    "ReedSolomon",
    "RsBatchResult",
    "RsResult",
    "SlipDetected",
    "SyncState",
    "SyncedFrame",
    "UncorrectableCodeblock",
    "attach_asm",
    "cltu_decode",
    "cltu_encode",
    "conv_encode",
    "randomize_tc",
    "randomize_tc_many",
    "randomize_tm",
    "randomize_tm_many",
    "viterbi_decode",
]
