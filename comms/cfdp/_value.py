"""The CFDP values' base and field checks, on top of :mod:`comms.values`.

PDUs are decoded at file-transfer rate (a 4 KiB File Data PDU every ~30 us at 1 Gbps),
so they are ``__slots__`` values filled by the decoders through the slot descriptors
(see :mod:`comms.values` for the measurement). Adds the CFDP-only checks: octet strings
that may be given as text, and the error for a field running past its container.
"""

from __future__ import annotations

from comms.errors import DecodeError, UsageError
from comms.values import (
    SlotValue,
    check_enum,
    check_flag,
    check_uint,
    init_fields,
    slot_setter,
)

__all__ = ["CfdpValue", "check_enum", "check_flag", "check_octets", "check_uint", "init", "setter"]


class CfdpValue(SlotValue):
    """Base of the CFDP values (see :class:`comms.values.SlotValue`)."""

    __slots__ = ()


# The generic pieces under the names the CFDP modules use.
setter = slot_setter
init = init_fields


def check_octets(owner: str, name: str, value: object, max_length: int | None = None) -> bytes:
    """``value`` as bytes (str is UTF-8 encoded) no longer than ``max_length``."""
    if isinstance(value, str):
        value = value.encode("utf-8")
    if isinstance(value, bytearray | memoryview):
        value = bytes(value)
    if not isinstance(value, bytes):
        raise UsageError(f"{owner}.{name} must be bytes or str, not {type(value).__name__}.")
    if max_length is not None and len(value) > max_length:
        raise UsageError(
            f"{owner}.{name} is {len(value)} octets; its length field holds at most {max_length}."
        )
    return value


def short(what: str, offset: int, needed: int, have: int) -> DecodeError:
    """The DecodeError for a field that runs past the end of its container."""
    return DecodeError(
        f"{what} runs past the end of its field",
        offset=offset,
        expected=f"{needed} octets",
        got=have,
    )
