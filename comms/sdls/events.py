"""What SDLS receive processing reports: rejection reasons, the event and the error.

Every frame :meth:`~comms.sdls.engine.SecurityEngine.process` refuses is

- raised as :class:`SecurityError` (a :class:`~comms.errors.DecodeError`, so code that
  treats any bad frame alike keeps working) carrying the :class:`RejectReason`,
- counted by reason in the engine's ``rejections``, and
- queued as a :class:`FrameRejected` event for ``events()``.

The reasons follow the verification outcomes of 355.0-B-2 ProcessSecurity (section
4.2: invalid SPI, SA not applicable, MAC verification failure, anti-replay sequence
number failure) plus malformed input. A frame damaged in transit (FECF mismatch) is not
a security event: it raises :class:`~comms.frames.FecfError` as the frame decoders do.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass

from comms.errors import DecodeError, UsageError

__all__ = ["FrameRejected", "RejectReason", "SecurityError"]


class RejectReason(enum.Enum):
    """Why a protected frame was not passed up."""

    #: Too short for its security header and trailer, or a bad field (e.g. pad length).
    MALFORMED = "malformed security header or frame"
    #: No SA with this SPI.
    UNKNOWN_SPI = "unknown SPI"
    #: The SA exists but is not operational, or does not cover this channel.
    INVALID_SA = "SA not operational or not valid on this channel"
    #: The MAC did not verify: forged, tampered, or the wrong key.
    BAD_MAC = "MAC verification failed"
    #: The sequence number was accepted before.
    REPLAY = "sequence number already seen"
    #: The sequence number is older than the window (or too far ahead of it).
    OUTSIDE_WINDOW = "sequence number outside the anti-replay window"


@dataclass(frozen=True)
class FrameRejected:
    """A protected frame was refused.

    ``spi`` and ``sequence_number`` are None when the frame was too damaged to read
    them; ``offset`` is where in the frame the problem was found.
    """

    reason: RejectReason
    spi: int | None
    sequence_number: int | None
    offset: int

    def __post_init__(self) -> None:
        if not isinstance(self.reason, RejectReason):
            raise UsageError(f"FrameRejected.reason must be a RejectReason, got {self.reason!r}.")
        if isinstance(self.offset, bool) or not isinstance(self.offset, int) or self.offset < 0:
            raise UsageError(
                f"FrameRejected.offset must be a non-negative int, got {self.offset!r}."
            )


class SecurityError(DecodeError):
    """A protected frame failed SDLS processing; ``rejection`` says why.

    ``event`` is the :class:`FrameRejected` the engine also queued.
    """

    def __init__(
        self, event: FrameRejected, *, expected: object = None, got: object = None
    ) -> None:
        self.event = event
        self.rejection = event.reason
        self.spi = event.spi
        text = event.reason.value
        if event.spi is not None:
            text += f" (SPI {event.spi}"
            if event.sequence_number is not None:
                text += f", sequence number {event.sequence_number}"
            text += ")"
        super().__init__(text, offset=event.offset, expected=expected, got=got)
