"""Managed parameters of the four data link protocols, as frozen config objects.

The Blue Books call the settings that both ends agree on beforehand (and that a frame
does not carry) *managed parameters*: 132.0-B-3 section 5 (TM), 732.0-B-4 section 5
(AOS), 232.0-B-4 section 5 (TC) and 732.1-B-2 section 5 (USLP). A decoder needs them to
find the fields of a frame; they are built once per channel and reused for every frame,
so each class also precomputes the offsets its decoder uses.

Left out: parameters of the services above the frame (packet version numbers, MAP
multiplexing, COP timers), which belong to the virtual channel layer.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass, field

from comms.errors import UsageError

__all__ = [
    "AosDataUnit",
    "AosParams",
    "TcParams",
    "TmParams",
    "UslpParams",
]

# 132.0-B-3 4.1.1: TM frames are at most 2048 octets (also the largest the 131.0-B
# codes carry). AOS sets no limit of its own; 732.0-B-4 frames go through the same
# 131.0-B codes, so the same bound serves as a sanity check.
TM_MAX_FRAME_LENGTH = 2048
AOS_MAX_FRAME_LENGTH = 2048
# 232.0-B-4 4.1.2.7: the frame length field counts octets minus one in 10 bits.
TC_MAX_FRAME_LENGTH = 1024
# 732.1-B-2 4.1.2.7: 16-bit frame length field, octets minus one.
USLP_MAX_FRAME_LENGTH = 65536


def _check_flag(cls: str, name: str, value: object) -> None:
    if not isinstance(value, bool):
        raise UsageError(f"{cls}.{name} must be True or False, got {value!r}.")


def _check_length(cls: str, name: str, value: object, low: int, high: int) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
        raise UsageError(f"{cls}.{name} must be an int in {low}..{high}, got {value!r}.")
    return value


@dataclass(frozen=True)
class TmParams:
    """Managed parameters of a TM Master Channel (132.0-B-3 5.2, 5.3).

    - ``frame_length``: octets per frame, FECF included; fixed on a physical channel.
    - ``has_ocf``: whether frames carry the 4-octet OCF. The OCF flag in each header says
      it too and may differ between virtual channels, so ``None`` follows the flag; True
      or False rejects frames whose flag disagrees. Default False, as for most VCs.
    - ``has_fecf``: the 2-octet CRC-16 FECF; default True because a TM channel without
      Reed-Solomon needs it (132.0-B-3 4.1.6) and it is cheap to check.
    - ``secondary_header_length``: None for no secondary header, otherwise the value of
      its 6-bit length field (octets of the secondary header minus one, 0..63).
    """

    frame_length: int
    has_ocf: bool | None = False
    has_fecf: bool = True
    secondary_header_length: int | None = None
    # Derived: where the data field starts and (for a fixed OCF) ends.
    _data_start: int = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        if self.has_ocf is not None:
            _check_flag("TmParams", "has_ocf", self.has_ocf)
        _check_flag("TmParams", "has_fecf", self.has_fecf)
        start = 6
        if self.secondary_header_length is not None:
            _check_length(
                "TmParams", "secondary_header_length", self.secondary_header_length, 0, 63
            )
            start += 1 + self.secondary_header_length
        trailer = (4 if self.has_ocf else 0) + (2 if self.has_fecf else 0)
        _check_length(
            "TmParams", "frame_length", self.frame_length, start + trailer + 1, TM_MAX_FRAME_LENGTH
        )
        object.__setattr__(self, "_data_start", start)


class AosDataUnit(enum.Enum):
    """What an AOS virtual channel carries in the frame data field (732.0-B-4 4.1.4)."""

    #: Multiplexing PDU: 5 spare bits + 11-bit first header pointer + packet zone.
    M_PDU = "M_PDU"
    #: Bitstream PDU: 2 spare bits + 14-bit bitstream data pointer + bitstream data.
    B_PDU = "B_PDU"
    #: Virtual Channel Access SDU: the data field as delivered, no header.
    VCA_SDU = "VCA_SDU"


@dataclass(frozen=True)
class AosParams:
    """Managed parameters of an AOS physical/master channel (732.0-B-4 5.2-5.4).

    - ``frame_length``: octets per frame, everything included.
    - ``has_fhec``: the 2-octet Reed-Solomon (10,6) Frame Header Error Control.
    - ``insert_zone_length``: octets of the insert zone, 0 for none.
    - ``has_ocf``: the 4-octet OCF (no flag in the AOS header says so).
    - ``has_fecf``: the 2-octet CRC-16 FECF.
    - ``data_unit``: how the data field of every VC is structured, default M_PDU (packet
      service, the common case); ``vc_data_units`` overrides it per VCID as
      ``((vcid, AosDataUnit), ...)``. VCID 63 (idle data, 732.0-B-4 4.1.2.3) is always
      read as a raw data field.
    """

    frame_length: int
    has_fhec: bool = False
    insert_zone_length: int = 0
    has_ocf: bool = False
    has_fecf: bool = True
    data_unit: AosDataUnit = AosDataUnit.M_PDU
    vc_data_units: tuple[tuple[int, AosDataUnit], ...] = ()
    _data_units: tuple[AosDataUnit, ...] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        for name in ("has_fhec", "has_ocf", "has_fecf"):
            _check_flag("AosParams", name, getattr(self, name))
        _check_length("AosParams", "insert_zone_length", self.insert_zone_length, 0, 2000)
        fixed = 6 + 2 * self.has_fhec + self.insert_zone_length + 4 * self.has_ocf
        fixed += 2 * self.has_fecf
        _check_length(
            "AosParams", "frame_length", self.frame_length, fixed + 1, AOS_MAX_FRAME_LENGTH
        )
        if not isinstance(self.data_unit, AosDataUnit):
            raise UsageError(f"AosParams.data_unit must be an AosDataUnit, got {self.data_unit!r}.")
        units = [self.data_unit] * 64
        for pair in self.vc_data_units:
            if (
                not isinstance(pair, tuple)
                or len(pair) != 2
                or not isinstance(pair[1], AosDataUnit)
            ):
                raise UsageError(
                    f"AosParams.vc_data_units must be pairs (vcid, AosDataUnit), got {pair!r}."
                )
            _check_length("AosParams", "vc_data_units vcid", pair[0], 0, 62)
            units[pair[0]] = pair[1]
        units[63] = AosDataUnit.VCA_SDU
        object.__setattr__(self, "_data_units", tuple(units))

    def data_unit_of(self, vcid: int) -> AosDataUnit:
        """The data unit carried on virtual channel ``vcid``."""
        return self._data_units[vcid]


@dataclass(frozen=True)
class TcParams:
    """Managed parameters of a TC virtual channel (232.0-B-4 5.2-5.4).

    - ``has_fecf``: the 2-octet CRC-16 FECF; default True, as nearly every mission uses
      it (232.0-B-4 4.1.4 makes it a per-physical-channel choice).
    - ``has_segment_header``: the 1-octet segment header (MAP service), default False.
      Control command frames (control command flag set) never carry one here: the
      COP-1 directives are the whole data field (232.1-B-2 4.1.3.4 Unlock and Set V(R)).
    """

    has_fecf: bool = True
    has_segment_header: bool = False

    def __post_init__(self) -> None:
        _check_flag("TcParams", "has_fecf", self.has_fecf)
        _check_flag("TcParams", "has_segment_header", self.has_segment_header)


@dataclass(frozen=True)
class UslpParams:
    """Managed parameters of a USLP physical/virtual channel (732.1-B-2 5.1-5.4).

    - ``frame_length``: octets per frame for fixed-length frames; None for variable-length
      frames, whose length is read from the header.
    - ``has_ocf``: None (default) follows the OCF flag in each header; True or False
      rejects frames whose flag disagrees.
    - ``fecf_length``: 0 (none), 2 (CRC-16-CCITT, the default) or 4 (the 32-bit CRC of
      732.1-B-2 4.1.6, polynomial 0x00A00805 as in Proximity-1).
    - ``insert_zone_length``: octets of the insert zone, 0 for none.
    - ``vcf_count_length``: None (default) follows each header; 0..7 rejects others.
    - ``truncated_frame_length``: octets of a truncated frame (end-of-frame-primary-header
      flag set), None to reject truncated frames.
    """

    frame_length: int | None = None
    has_ocf: bool | None = None
    fecf_length: int = 2
    insert_zone_length: int = 0
    vcf_count_length: int | None = None
    truncated_frame_length: int | None = None

    def __post_init__(self) -> None:
        if self.frame_length is not None:
            _check_length("UslpParams", "frame_length", self.frame_length, 8, USLP_MAX_FRAME_LENGTH)
        if self.has_ocf is not None:
            _check_flag("UslpParams", "has_ocf", self.has_ocf)
        if self.fecf_length not in (0, 2, 4) or isinstance(self.fecf_length, bool):
            raise UsageError(
                f"UslpParams.fecf_length must be 0, 2 or 4 octets, got {self.fecf_length!r}."
            )
        _check_length("UslpParams", "insert_zone_length", self.insert_zone_length, 0, 65000)
        if self.vcf_count_length is not None:
            _check_length("UslpParams", "vcf_count_length", self.vcf_count_length, 0, 7)
        if self.truncated_frame_length is not None:
            low = 4 + self.insert_zone_length + 1 + self.fecf_length
            _check_length(
                "UslpParams",
                "truncated_frame_length",
                self.truncated_frame_length,
                low,
                USLP_MAX_FRAME_LENGTH,
            )
