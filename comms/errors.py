"""The one error tree of :mod:`comms`, split by whose fault it is.

::

    CommsError                      root: catch this to catch everything comms raises
    ├── DecodeError(ValueError)     the peer or the link sent bytes we cannot accept;
    │                               carries ``offset``, ``expected`` and ``got``
    └── UsageError(ValueError)      the caller misused the API: a field out of range,
                                    a call the current state does not allow

A decoder fed any bytes either returns a value or raises :class:`DecodeError`; it never
lets ``IndexError`` or ``struct.error`` escape. Both leaves subclass ``ValueError`` so
code written against plain Python conventions still catches them.
"""

from __future__ import annotations

__all__ = ["CommsError", "DecodeError", "UsageError"]


class CommsError(Exception):
    """Root of every error raised by :mod:`comms`."""


class DecodeError(CommsError, ValueError):
    """Bad input from the peer or the link.

    ``offset`` is the octet offset into the buffer handed to the decoder where the
    problem was found, ``expected`` says what should have been there and ``got`` what
    was there instead (both optional, both machine-readable).
    """

    def __init__(
        self,
        reason: str,
        *,
        offset: int,
        expected: object = None,
        got: object = None,
    ) -> None:
        self.reason = reason
        self.offset = offset
        self.expected = expected
        self.got = got
        text = f"{reason} at offset {offset}"
        if expected is not None:
            text += f": expected {expected}"
            if got is not None:
                text += f", got {got}"
        elif got is not None:
            text += f": got {got}"
        super().__init__(text)


class UsageError(CommsError, ValueError):
    """The caller misused the API (a bad argument or a call the state forbids)."""
