"""Transfer frame codecs of the CCSDS space data link protocols, and the CLCW.

- :class:`TmFrame` (132.0-B-3), :class:`AosFrame` (732.0-B-4), :class:`TcFrame`
  (232.0-B-4) and :class:`UslpFrame` (732.1-B-2): immutable values with ``encode()``
  and ``decode(buf, params, *, verify_fecf=True)``, where ``params`` are the managed
  parameters of the channel (:class:`TmParams`, :class:`AosParams`, :class:`TcParams`,
  :class:`UslpParams`).
- :class:`Clcw` (232.0-B-4 4.2.1): the COP-1 report carried in the OCF.
- Bad input raises :class:`~comms.errors.DecodeError`; a FECF mismatch raises its
  subclass :class:`FecfError` so receivers can count CRC failures separately.

Left out here: SDLS security fields, and the virtual channel services that fill frames
(packet extraction, multiplexing, idle fill), which live in their own modules.
"""

from comms.frames._value import FecfError
from comms.frames.aos import AOS_IDLE_VCID, BDP_ALL_VALID, BDP_IDLE, AosFrame
from comms.frames.clcw import COP_1, Clcw
from comms.frames.fhec import fhec_correct, fhec_encode
from comms.frames.params import AosDataUnit, AosParams, TcParams, TmParams, UslpParams
from comms.frames.tc import (
    SEQUENCE_FLAGS_UNSEGMENTED,
    SetVR,
    TcFrame,
    Unlock,
    decode_control_command,
)
from comms.frames.tm import FHP_IDLE, FHP_NO_PACKET_START, TmFrame
from comms.frames.uslp import (
    UPID_IDLE,
    UPID_SPACE_PACKETS,
    TfdzConstructionRule,
    UslpFrame,
    crc32_uslp,
)

__all__ = [
    "AOS_IDLE_VCID",
    "BDP_ALL_VALID",
    "BDP_IDLE",
    "COP_1",
    "FHP_IDLE",
    "FHP_NO_PACKET_START",
    "SEQUENCE_FLAGS_UNSEGMENTED",
    "UPID_IDLE",
    "UPID_SPACE_PACKETS",
    "AosDataUnit",
    "AosFrame",
    "AosParams",
    "Clcw",
    "FecfError",
    "SetVR",
    "TcFrame",
    "TcParams",
    "TfdzConstructionRule",
    "TmFrame",
    "TmParams",
    "Unlock",
    "UslpFrame",
    "UslpParams",
    "crc32_uslp",
    "decode_control_command",
    "fhec_correct",
    "fhec_encode",
]
