"""CCSDS Unsegmented Time Code, CUC (CCSDS 301.0-B-4 3.2).

T-field: ``coarse`` whole seconds (1..7 octets) then ``fine`` binary fractions of a
second (0..10 octets, resolution 2**-(8 * fine_octets) s), one big-endian count.

P-field (3.2.2), first octet: extension flag (1 bit), time code id (3 bits: '001' the
1958-01-01 TAI epoch, '010' an agency-defined epoch), coarse octets - 1 (2 bits), fine
octets (2 bits). With the extension flag a second octet follows: its own extension flag
(1 bit, must be 0: no third octet is defined), additional coarse octets (2 bits, 0..3),
additional fine octets (3 bits, 0..7), two bits reserved for mission definition.

Time scale: CUC counts TAI seconds from its epoch, without leap second jumps; conversion
to and from UTC ``datetime`` goes through a :class:`~comms.time.LeapSecondTable`.

Round-trip bounds: ``from_datetime`` rounds to the nearest fine unit, so
|to_datetime(from_datetime(t)) - t| <= 2**-(8 * fine_octets + 1) s + 0.5 us (the second term
is ``datetime``'s microsecond rounding); from 3 fine octets up the round trip is exact.

A P-field that splits the layout unusually between its octets (say 2 coarse octets in the
first octet and 1 more in the extension: 3 in all) decodes to the same value as the
canonical form; :meth:`CucTime.encode` always writes the canonical
split (first octet filled up to 4 coarse / 3 fine before the extension adds more).

Left out: the two mission-defined P-field bits (the decoder rejects them when set, since
their meaning is unknown here); negative times; the level 3/4 agency-defined time codes.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from fractions import Fraction
from typing import ClassVar

from comms.buffers import BytesLike
from comms.errors import DecodeError, UsageError
from comms.time.epochs import TAI_EPOCH, Epoch, div_round, utc_from_micro, utc_micro
from comms.time.leapseconds import DEFAULT_TABLE, LeapSecondTable

__all__ = ["CUC_AGENCY_EPOCH_ID", "CUC_TAI_EPOCH_ID", "CucTime"]

CUC_TAI_EPOCH_ID = 0b001
"""P-field time code id of CUC with the 1958-01-01 TAI epoch (level 1)."""
CUC_AGENCY_EPOCH_ID = 0b010
"""P-field time code id of CUC with an agency-defined epoch (level 2)."""


@dataclass(frozen=True, slots=True)
class CucTime:
    """A CUC time: ``coarse`` seconds plus ``fine`` / 256**fine_octets s after ``epoch``.

    ``with_pfield`` says whether :meth:`encode` writes the P-field (the time code is then
    self-describing) or only the T-field (the layout is agreed beforehand, as in many
    packet secondary headers). Defaults follow the common 4+2 layout of ECSS PUS.
    ``extended_pfield`` writes the two-octet P-field even when one octet would do (a
    decoded value keeps the form it was read in, so encoding gives the same octets back).
    """

    coarse: int
    fine: int = 0
    coarse_octets: int = 4
    fine_octets: int = 2
    epoch: Epoch = TAI_EPOCH
    with_pfield: bool = True
    extended_pfield: bool = False

    MAX_COARSE_OCTETS: ClassVar[int] = 7
    MAX_FINE_OCTETS: ClassVar[int] = 10

    def __post_init__(self) -> None:
        if not 1 <= self.coarse_octets <= 7:
            raise UsageError(f"coarse_octets must be 1..7 (3.2.2), not {self.coarse_octets}.")
        if not 0 <= self.fine_octets <= 10:
            raise UsageError(f"fine_octets must be 0..10 (3.2.2), not {self.fine_octets}.")
        if not 0 <= self.coarse < 1 << (8 * self.coarse_octets):
            raise UsageError(
                f"coarse {self.coarse} does not fit {self.coarse_octets} octets; "
                "use more coarse_octets or a later epoch."
            )
        if not 0 <= self.fine < 1 << (8 * self.fine_octets):
            raise UsageError(
                f"fine {self.fine} does not fit {self.fine_octets} octets "
                f"(it counts units of 2**-{8 * self.fine_octets} s)."
            )
        if self.extended_pfield and not (
            self.with_pfield and self.coarse_octets <= 4 and self.fine_octets <= 3
        ):
            # Only a choice when a P-field is written and one octet would do.
            object.__setattr__(self, "extended_pfield", False)
        if not isinstance(self.epoch, Epoch):
            raise UsageError(
                f"epoch must be an Epoch (e.g. TAI_EPOCH), not {type(self.epoch).__name__}."
            )

    # -- wire --------------------------------------------------------------------------

    @property
    def pfield(self) -> bytes:
        """The P-field for this layout and epoch: one octet, two when the layout needs it."""
        code = CUC_TAI_EPOCH_ID if self.epoch.is_ccsds else CUC_AGENCY_EPOCH_ID
        extra_coarse = max(self.coarse_octets - 4, 0)
        extra_fine = max(self.fine_octets - 3, 0)
        extended = bool(extra_coarse or extra_fine or self.extended_pfield)
        first = (
            (extended << 7)
            | (code << 4)
            | ((min(self.coarse_octets, 4) - 1) << 2)
            | min(self.fine_octets, 3)
        )
        if not extended:
            return bytes((first,))
        return bytes((first, (extra_coarse << 5) | (extra_fine << 2)))

    @property
    def encoded_length(self) -> int:
        return (len(self.pfield) if self.with_pfield else 0) + self.coarse_octets + self.fine_octets

    def encode(self) -> bytes:
        tfield = ((self.coarse << (8 * self.fine_octets)) | self.fine).to_bytes(
            self.coarse_octets + self.fine_octets, "big"
        )
        return self.pfield + tfield if self.with_pfield else tfield

    @classmethod
    def decode(
        cls,
        buf: BytesLike,
        *,
        coarse_octets: int | None = None,
        fine_octets: int | None = None,
        epoch: Epoch | None = None,
    ) -> CucTime:
        """Decode exactly one CUC time code.

        With ``coarse_octets`` None the buffer starts with a P-field that gives the layout.
        Otherwise there is no P-field: ``coarse_octets`` and ``fine_octets`` (None: 0) give
        the layout. ``epoch`` is the agency-defined epoch, used when the P-field says
        '010' (decoding one without it raises :class:`DecodeError`) or when there is no
        P-field (default: the 1958 TAI epoch).
        """
        value, end = cls.decode_from(
            buf, coarse_octets=coarse_octets, fine_octets=fine_octets, epoch=epoch
        )
        if end != len(buf):
            raise DecodeError(
                "octets after the end of the CUC time code",
                offset=end,
                expected=f"{end} octets",
                got=f"{len(buf)} octets",
            )
        return value

    @classmethod
    def decode_from(
        cls,
        buf: BytesLike,
        offset: int = 0,
        *,
        coarse_octets: int | None = None,
        fine_octets: int | None = None,
        epoch: Epoch | None = None,
    ) -> tuple[CucTime, int]:
        """Decode the time code at ``offset``; return it and the offset just past it."""
        pos = offset
        if coarse_octets is None:
            if fine_octets is not None:
                raise UsageError(
                    "fine_octets without coarse_octets: give both for a time code without "
                    "a P-field, or neither to read the layout from the P-field."
                )
            coarse_octets, fine_octets, epoch, pos = _read_pfield(buf, pos, epoch)
            with_pfield = True
            # Keep a two-octet P-field the layout did not need, so encoding gives it back.
            extended = pos - offset == 2 and coarse_octets <= 4 and fine_octets <= 3
        else:
            fine_octets = 0 if fine_octets is None else fine_octets
            if not (1 <= coarse_octets <= 7 and 0 <= fine_octets <= 10):
                raise UsageError(
                    f"a CUC layout is 1..7 coarse and 0..10 fine octets, not "
                    f"{coarse_octets} and {fine_octets}."
                )
            epoch = TAI_EPOCH if epoch is None else epoch
            with_pfield = extended = False
        end = pos + coarse_octets + fine_octets
        if end > len(buf):
            raise DecodeError(
                "truncated CUC T-field",
                offset=len(buf),
                expected=f"{end - offset} octets",
                got=f"{len(buf) - offset} octets",
            )
        count = int.from_bytes(buf[pos:end], "big")
        shift = 8 * fine_octets
        value = cls(
            count >> shift,
            count & ((1 << shift) - 1),
            coarse_octets,
            fine_octets,
            epoch,
            with_pfield,
            extended,
        )
        return value, end

    # -- arithmetic and conversions ---------------------------------------------------

    @property
    def resolution(self) -> Fraction:
        """One fine unit in seconds: 2**-(8 * fine_octets)."""
        return Fraction(1, 1 << (8 * self.fine_octets))

    @property
    def seconds(self) -> Fraction:
        """Seconds after the epoch, exactly."""
        return self.coarse + Fraction(self.fine, 1 << (8 * self.fine_octets))

    @property
    def tai_seconds(self) -> Fraction:
        """TAI seconds after 1958-01-01T00:00:00 TAI, exactly."""
        return self.epoch.tai_seconds + self.seconds

    @classmethod
    def from_seconds(
        cls,
        seconds: Fraction | int,
        *,
        coarse_octets: int = 4,
        fine_octets: int = 2,
        epoch: Epoch = TAI_EPOCH,
        with_pfield: bool = True,
    ) -> CucTime:
        """The CUC time nearest to ``seconds`` after ``epoch`` (ties to even)."""
        if not isinstance(seconds, int | Fraction):
            raise UsageError(
                f"seconds must be an int or a Fraction (exact), not {type(seconds).__name__}."
            )
        if seconds < 0:
            raise UsageError(f"{float(seconds)} s is before the epoch; CUC counts are unsigned.")
        units = round(Fraction(seconds) * (1 << (8 * fine_octets)))
        shift = 8 * fine_octets
        return cls(
            units >> shift,
            units & ((1 << shift) - 1),
            coarse_octets,
            fine_octets,
            epoch,
            with_pfield,
        )

    @classmethod
    def from_datetime(
        cls,
        dt: datetime,
        *,
        leap_second: bool = False,
        coarse_octets: int = 4,
        fine_octets: int = 2,
        epoch: Epoch = TAI_EPOCH,
        with_pfield: bool = True,
        table: LeapSecondTable = DEFAULT_TABLE,
    ) -> CucTime:
        """The CUC time of a UTC instant (aware datetime; ``leap_second`` marks 23:59:60)."""
        day, micro = utc_micro(dt, leap_second)
        tai_micro = table.utc_micro_to_tai_micro(day, micro)
        # Exact integer form of round((tai - epoch) * 2**shift): the epoch is a Fraction.
        e = epoch.tai_seconds
        shift = 8 * fine_octets
        num = (tai_micro * e.denominator - e.numerator * 1_000_000) << shift
        if num < 0:
            raise UsageError(f"{dt} is before the epoch ({epoch.name or epoch.tai_seconds}).")
        units = div_round(num, 1_000_000 * e.denominator)
        return cls(
            units >> shift,
            units & ((1 << shift) - 1),
            coarse_octets,
            fine_octets,
            epoch,
            with_pfield,
        )

    def to_utc(self, table: LeapSecondTable = DEFAULT_TABLE) -> tuple[datetime, bool]:
        """(UTC datetime, in leap second): 23:59:60.x comes back as (23:59:59.x, True)."""
        # Round to the microsecond on the TAI count: the table shifts by whole seconds,
        # so this is the same as rounding the UTC reading, without Fractions.
        e = self.epoch.tai_seconds
        shift = 8 * self.fine_octets
        num = (e.numerator << shift) + ((self.coarse << shift) | self.fine) * e.denominator
        tai_micro = div_round(num * 1_000_000, e.denominator << shift)
        day, micro = table.tai_micro_to_utc_micro(tai_micro)
        return utc_from_micro(day, micro, table.day_length(day))

    def to_datetime(self, table: LeapSecondTable = DEFAULT_TABLE) -> datetime:
        """The UTC datetime, microsecond resolution.

        A time inside a leap second reads 23:59:59.x (datetime has no second 60); use
        :meth:`to_utc` to tell the two apart.
        """
        return self.to_utc(table)[0]


def _read_pfield(buf: BytesLike, pos: int, epoch: Epoch | None) -> tuple[int, int, Epoch, int]:
    if pos >= len(buf):
        raise DecodeError("truncated CUC P-field", offset=pos, expected="a P-field octet")
    first = buf[pos]
    code = (first >> 4) & 0b111
    if code == CUC_TAI_EPOCH_ID:
        epoch = TAI_EPOCH
    elif code == CUC_AGENCY_EPOCH_ID:
        if epoch is None:
            raise DecodeError(
                "CUC with an agency-defined epoch but no epoch was given to the decoder",
                offset=pos,
                expected=f"time code id {CUC_TAI_EPOCH_ID:03b} or an epoch argument",
                got=f"{code:03b}",
            )
    else:
        raise DecodeError(
            "not a CUC P-field (time code id)",
            offset=pos,
            expected=f"{CUC_TAI_EPOCH_ID:03b} or {CUC_AGENCY_EPOCH_ID:03b}",
            got=f"{code:03b}",
        )
    coarse_octets = ((first >> 2) & 0b11) + 1
    fine_octets = first & 0b11
    pos += 1
    if first & 0x80:
        if pos >= len(buf):
            raise DecodeError(
                "truncated CUC P-field", offset=pos, expected="the P-field extension octet"
            )
        second = buf[pos]
        if second & 0x80:
            raise DecodeError("CUC P-field extended past two octets", offset=pos, expected=0, got=1)
        if second & 0b11:
            raise DecodeError(
                "mission-defined CUC P-field bits set (not supported)",
                offset=pos,
                expected=0,
                got=second & 0b11,
            )
        coarse_octets += (second >> 5) & 0b11
        fine_octets += (second >> 2) & 0b111
        pos += 1
    return coarse_octets, fine_octets, epoch, pos
