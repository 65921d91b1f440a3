"""The coded fields of CFDP PDUs (CCSDS 727.0-B-5 section 5), as enums.

Every enum here covers the whole width of its field where the book names every value
(condition codes: all 16, the two reserved ones included, so a decoder never has to
refuse a 4-bit value a peer may legitimately send). Where the book leaves values
reserved (directive codes, handler codes, filestore actions) the enum holds only the
named ones and decoders refuse the rest with a DecodeError.

Left out: the store-and-forward overlay codes (727.0-B-5 annex and 6.7).
"""

from __future__ import annotations

from enum import IntEnum
from typing import Final

__all__ = [
    "FILESTORE_STATUS_NAMES",
    "ConditionCode",
    "DeliveryCode",
    "Direction",
    "DirectiveCode",
    "FaultHandlerCode",
    "FileStatus",
    "FilestoreAction",
    "PduType",
    "RecordContinuationState",
    "ResponseRequired",
    "TlvType",
    "TransactionStatus",
    "TransmissionMode",
]


class PduType(IntEnum):
    """PDU type bit of the fixed header (5.1.2, table 5-1)."""

    FILE_DIRECTIVE = 0
    FILE_DATA = 1


class Direction(IntEnum):
    """Direction bit (table 5-1): used to forward PDUs at waypoints."""

    TOWARD_RECEIVER = 0
    TOWARD_SENDER = 1


class TransmissionMode(IntEnum):
    """Transmission mode bit (table 5-1): class 2 (acknowledged) or class 1."""

    ACKNOWLEDGED = 0
    UNACKNOWLEDGED = 1


class DirectiveCode(IntEnum):
    """File directive codes (5.2.1.2, table 5-4); 0-3, 0x0A, 0x0B, 0x0D-0xFF are reserved."""

    EOF = 0x04
    FINISHED = 0x05
    ACK = 0x06
    METADATA = 0x07
    NAK = 0x08
    PROMPT = 0x09
    KEEP_ALIVE = 0x0C


class ConditionCode(IntEnum):
    """Condition codes (5.2.1.3, table 5-5), all sixteen values of the 4-bit field."""

    NO_ERROR = 0
    POSITIVE_ACK_LIMIT_REACHED = 1
    KEEP_ALIVE_LIMIT_REACHED = 2
    INVALID_TRANSMISSION_MODE = 3
    FILESTORE_REJECTION = 4
    FILE_CHECKSUM_FAILURE = 5
    FILE_SIZE_ERROR = 6
    NAK_LIMIT_REACHED = 7
    INACTIVITY_DETECTED = 8
    INVALID_FILE_STRUCTURE = 9
    CHECK_LIMIT_REACHED = 10
    UNSUPPORTED_CHECKSUM_TYPE = 11
    RESERVED_12 = 12
    RESERVED_13 = 13
    SUSPEND_REQUEST_RECEIVED = 14
    CANCEL_REQUEST_RECEIVED = 15


class DeliveryCode(IntEnum):
    """Delivery code of the Finished PDU (5.2.3, table 5-7)."""

    DATA_COMPLETE = 0
    DATA_INCOMPLETE = 1


class FileStatus(IntEnum):
    """File status of the Finished PDU (5.2.3, table 5-7)."""

    DISCARDED_DELIBERATELY = 0
    DISCARDED_FILESTORE_REJECTION = 1
    RETAINED = 2
    UNREPORTED = 3


class TransactionStatus(IntEnum):
    """Transaction status of the ACK PDU (5.2.4, table 5-8)."""

    UNDEFINED = 0
    ACTIVE = 1
    TERMINATED = 2
    UNRECOGNIZED = 3


class ResponseRequired(IntEnum):
    """Response required bit of the Prompt PDU (5.2.7, table 5-12)."""

    NAK = 0
    KEEP_ALIVE = 1


class RecordContinuationState(IntEnum):
    """Record continuation state of a File Data PDU's segment metadata (5.3, table 5-14)."""

    NEITHER_START_NOR_END = 0
    START = 1
    END = 2
    START_AND_END = 3


class TlvType(IntEnum):
    """TLV type codes (5.4, table 5-15 onwards); 3 and 7-255 are reserved."""

    FILESTORE_REQUEST = 0x00
    FILESTORE_RESPONSE = 0x01
    MESSAGE_TO_USER = 0x02
    FAULT_HANDLER_OVERRIDE = 0x04
    FLOW_LABEL = 0x05
    ENTITY_ID = 0x06


class FaultHandlerCode(IntEnum):
    """Handler codes of the fault handler override TLV (5.4.4, table 5-19); 0, 5-15 reserved."""

    ISSUE_NOTICE_OF_CANCELLATION = 1
    ISSUE_NOTICE_OF_SUSPENSION = 2
    IGNORE_ERROR = 3
    ABANDON_TRANSACTION = 4


class FilestoreAction(IntEnum):
    """Filestore request action codes (5.4.1, table 5-16); 9-15 are reserved."""

    CREATE_FILE = 0
    DELETE_FILE = 1
    RENAME_FILE = 2
    APPEND_FILE = 3
    REPLACE_FILE = 4
    CREATE_DIRECTORY = 5
    REMOVE_DIRECTORY = 6
    DENY_FILE = 7
    DENY_DIRECTORY = 8

    @property
    def has_second_file_name(self) -> bool:
        """Whether requests and responses for this action carry a second file name."""
        return self in _TWO_NAMES


_TWO_NAMES: Final = frozenset(
    {FilestoreAction.RENAME_FILE, FilestoreAction.APPEND_FILE, FilestoreAction.REPLACE_FILE}
)

_SUCCESSFUL = "successful"
_NOT_PERFORMED = "not performed"

FILESTORE_STATUS_NAMES: Final[dict[FilestoreAction, dict[int, str]]] = {
    # Filestore response status codes per action (5.4.2, table 5-18). 0 is always
    # success and 15 always "not performed"; the others differ per action. spacepackets
    # 0.32 maps delete's "delete not allowed" to 15; the book (and Wireshark) give 2.
    FilestoreAction.CREATE_FILE: {0: _SUCCESSFUL, 1: "create not allowed", 15: _NOT_PERFORMED},
    FilestoreAction.DELETE_FILE: {
        0: _SUCCESSFUL,
        1: "file does not exist",
        2: "delete not allowed",
        15: _NOT_PERFORMED,
    },
    FilestoreAction.RENAME_FILE: {
        0: _SUCCESSFUL,
        1: "old file name does not exist",
        2: "new file name already exists",
        3: "rename not allowed",
        15: _NOT_PERFORMED,
    },
    FilestoreAction.APPEND_FILE: {
        0: _SUCCESSFUL,
        1: "file name 1 does not exist",
        2: "file name 2 does not exist",
        3: "append not allowed",
        15: _NOT_PERFORMED,
    },
    FilestoreAction.REPLACE_FILE: {
        0: _SUCCESSFUL,
        1: "file name 1 does not exist",
        2: "file name 2 does not exist",
        3: "replace not allowed",
        15: _NOT_PERFORMED,
    },
    FilestoreAction.CREATE_DIRECTORY: {
        0: _SUCCESSFUL,
        1: "directory cannot be created",
        15: _NOT_PERFORMED,
    },
    FilestoreAction.REMOVE_DIRECTORY: {
        0: _SUCCESSFUL,
        1: "directory does not exist",
        2: "delete not allowed",
        15: _NOT_PERFORMED,
    },
    FilestoreAction.DENY_FILE: {0: _SUCCESSFUL, 2: "delete not allowed", 15: _NOT_PERFORMED},
    FilestoreAction.DENY_DIRECTORY: {0: _SUCCESSFUL, 2: "delete not allowed", 15: _NOT_PERFORMED},
}
"""Status code -> meaning, per filestore action (table 5-18)."""
