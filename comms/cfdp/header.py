"""The fixed PDU header (CCSDS 727.0-B-5 5.1, table 5-1) and its configuration.

::

    octet 0   version 001 | PDU type | direction | transmission mode | CRC flag | large file
    octet 1-2 PDU data field length (octets, the CRC included when present)
    octet 3   segmentation control | entity id length - 1 (3) | segment metadata flag
              | transaction sequence number length - 1 (3)
    then      source entity id | transaction sequence number | destination entity id

Entity ids and sequence numbers are 1..8 octets each, fixed per deployment by
configuration (5.1.4, 5.1.5), not derived from the value: :class:`PduConfig` holds those
lengths and the CRC and large file flags. :class:`PduHeader` is the part of the header a
transaction keeps constant; the PDU type, the segment metadata flag and the data field
length follow from the PDU it heads and are written by the PDU's ``encode``.

The CRC (4.1.3) is CRC-16-CCITT over the whole PDU, in the last two octets of the data
field; a mismatch raises :class:`CrcError`.
"""

from __future__ import annotations

from typing import Final

from comms.cfdp._value import CfdpValue, check_enum, check_flag, check_uint, init, setter
from comms.cfdp.codes import Direction, TransmissionMode
from comms.errors import DecodeError, UsageError

__all__ = [
    "CFDP_VERSION",
    "CrcError",
    "PduConfig",
    "PduHeader",
    "TransactionId",
    "minimal_length",
]

CFDP_VERSION: Final = 1
"""Version field value for 727.0-B-4 and -B-5 PDUs (binary 001)."""


class CrcError(DecodeError):
    """The PDU CRC (727.0-B-5 4.1.3) did not match.

    ``expected`` is the CRC computed over the received PDU less its last two octets,
    ``got`` the CRC received. A subclass of DecodeError so receivers can count CRC
    failures apart from malformed PDUs while ``except DecodeError`` still catches both.
    """


def minimal_length(value: int) -> int:
    """Fewest octets (at least 1) that hold the unsigned integer ``value``."""
    return max(1, (value.bit_length() + 7) // 8)


class PduConfig(CfdpValue):
    """The per-deployment layout choices of the fixed header.

    ``entity_id_length`` and ``sequence_number_length`` are octets (1..8) and are the
    same for every PDU of a deployment (727.0-B-5 5.1.4: every entity id is as long as
    the longest in use). ``crc`` appends the PDU CRC (4.1.3); ``large_file`` makes every
    file-size sensitive field 64 bits (5.1.10). Defaults: 1-octet ids and sequence
    numbers, no CRC, 32-bit sizes -- the cFS CF profile (REFERENCES.md).
    """

    __slots__ = ("entity_id_length", "sequence_number_length", "crc", "large_file")  # noqa: RUF023
    entity_id_length: int
    sequence_number_length: int
    crc: bool
    large_file: bool

    def __init__(
        self,
        entity_id_length: int = 1,
        sequence_number_length: int = 1,
        crc: bool = False,
        large_file: bool = False,
    ) -> None:
        for name, value in (
            ("entity_id_length", entity_id_length),
            ("sequence_number_length", sequence_number_length),
        ):
            if isinstance(value, bool) or not isinstance(value, int) or not 1 <= value <= 8:
                raise UsageError(
                    f"PduConfig.{name} must be 1 to 8 octets (727.0-B-5 table 5-1), got {value!r}."
                )
        init(
            self,
            entity_id_length=entity_id_length,
            sequence_number_length=sequence_number_length,
            crc=check_flag("PduConfig", "crc", crc),
            large_file=check_flag("PduConfig", "large_file", large_file),
        )

    @property
    def header_length(self) -> int:
        """Octets in the fixed header with these lengths."""
        return 4 + 2 * self.entity_id_length + self.sequence_number_length

    @property
    def fss_length(self) -> int:
        """Octets in a file-size sensitive field: 8 with large files, else 4 (5.1.10)."""
        return 8 if self.large_file else 4


class TransactionId(CfdpValue):
    """A transaction: the source entity id and the sequence number it gave it (1.3.3).

    The lengths say how many octets each takes on the wire (1..8); left out, they are
    the fewest that hold the value.
    """

    __slots__ = (  # noqa: RUF023
        "source_entity_id",
        "transaction_sequence_number",
        "entity_id_length",
        "sequence_number_length",
    )
    source_entity_id: int
    transaction_sequence_number: int
    entity_id_length: int
    sequence_number_length: int

    def __init__(
        self,
        source_entity_id: int,
        transaction_sequence_number: int,
        entity_id_length: int | None = None,
        sequence_number_length: int | None = None,
    ) -> None:
        source = check_uint("TransactionId", "source_entity_id", source_entity_id, 64)
        number = check_uint(
            "TransactionId", "transaction_sequence_number", transaction_sequence_number, 64
        )
        eid_len = minimal_length(source) if entity_id_length is None else entity_id_length
        seq_len = (
            minimal_length(number) if sequence_number_length is None else sequence_number_length
        )
        _check_fits("TransactionId", "source_entity_id", source, eid_len)
        _check_fits("TransactionId", "transaction_sequence_number", number, seq_len)
        init(
            self,
            source_entity_id=source,
            transaction_sequence_number=number,
            entity_id_length=eid_len,
            sequence_number_length=seq_len,
        )


def _check_fits(owner: str, name: str, value: int, length: object) -> None:
    if isinstance(length, bool) or not isinstance(length, int) or not 1 <= length <= 8:
        raise UsageError(f"{owner}: the length of {name} must be 1 to 8 octets, got {length!r}.")
    if value >> (8 * length):
        raise UsageError(
            f"{owner}.{name} = {value} does not fit in {length} octet(s); "
            "configure a longer length."
        )


class PduHeader(CfdpValue):
    """The fixed header fields a transaction keeps for all its PDUs.

    ``direction`` is sent as given: 727.0-B-5 uses it to forward PDUs at waypoints, and
    Metadata, File Data, EOF and Prompt go toward the receiver while Finished, NAK and
    Keep Alive go toward the sender (ACK follows the PDU it acknowledges). Use
    ``replace(direction=...)`` or :meth:`toward` to flip it.
    ``segmentation_control`` is True when record boundaries are preserved (table 5-1).
    """

    __slots__ = (  # noqa: RUF023
        "config",
        "source_entity_id",
        "transaction_sequence_number",
        "destination_entity_id",
        "transmission_mode",
        "direction",
        "segmentation_control",
        # Encoding caches: octet 0 and 3 without the per-PDU bits, and the id octets.
        "_octet0",
        "_octet3",
        "_ids",
    )
    config: PduConfig
    source_entity_id: int
    transaction_sequence_number: int
    destination_entity_id: int
    transmission_mode: TransmissionMode
    direction: Direction
    segmentation_control: bool
    _octet0: int
    _octet3: int
    _ids: bytes

    def __init__(
        self,
        config: PduConfig,
        source_entity_id: int,
        transaction_sequence_number: int,
        destination_entity_id: int,
        transmission_mode: TransmissionMode | int = TransmissionMode.ACKNOWLEDGED,
        direction: Direction | int = Direction.TOWARD_RECEIVER,
        segmentation_control: bool = False,
    ) -> None:
        if not isinstance(config, PduConfig):
            raise UsageError(f"PduHeader.config must be a PduConfig, not {type(config).__name__}.")
        eid, seq = config.entity_id_length, config.sequence_number_length
        for name, value, length in (
            ("source_entity_id", source_entity_id, eid),
            ("transaction_sequence_number", transaction_sequence_number, seq),
            ("destination_entity_id", destination_entity_id, eid),
        ):
            check_uint("PduHeader", name, value, 64)
            _check_fits("PduHeader", name, value, length)
        mode = check_enum("PduHeader", "transmission_mode", transmission_mode, TransmissionMode)
        way = check_enum("PduHeader", "direction", direction, Direction)
        segctl = check_flag("PduHeader", "segmentation_control", segmentation_control)
        ids = (
            source_entity_id.to_bytes(eid, "big")
            + transaction_sequence_number.to_bytes(seq, "big")
            + destination_entity_id.to_bytes(eid, "big")
        )
        init(
            self,
            config=config,
            source_entity_id=source_entity_id,
            transaction_sequence_number=transaction_sequence_number,
            destination_entity_id=destination_entity_id,
            transmission_mode=mode,
            direction=way,
            segmentation_control=segctl,
            _octet0=(CFDP_VERSION << 5)
            | (way << 3)
            | (mode << 2)
            | (config.crc << 1)
            | config.large_file,
            _octet3=(segctl << 7) | ((eid - 1) << 4) | (seq - 1),
            _ids=ids,
        )

    @property
    def transaction_id(self) -> TransactionId:
        """The transaction these PDUs belong to (source entity id and sequence number)."""
        return TransactionId(
            self.source_entity_id,
            self.transaction_sequence_number,
            self.config.entity_id_length,
            self.config.sequence_number_length,
        )

    @property
    def length(self) -> int:
        """Octets in the encoded fixed header."""
        return 4 + len(self._ids)

    def toward(self, direction: Direction) -> PduHeader:
        """This header with ``direction`` (self when it already has it)."""
        return self if self.direction == direction else self.replace(direction=direction)


_new = object.__new__
_CONFIGS: dict[int, PduConfig] = {}
_set = {name: setter(PduHeader, name) for name in PduHeader.__slots__}
_set_config = _set["config"]
_set_source = _set["source_entity_id"]
_set_number = _set["transaction_sequence_number"]
_set_destination = _set["destination_entity_id"]
_set_mode = _set["transmission_mode"]
_set_direction = _set["direction"]
_set_segctl = _set["segmentation_control"]
_set_octet0 = _set["_octet0"]
_set_octet3 = _set["_octet3"]
_set_ids = _set["_ids"]
_MODES: Final = tuple(TransmissionMode)
_DIRECTIONS: Final = tuple(Direction)
_from_bytes = int.from_bytes


def _config(octet0: int, octet3: int) -> PduConfig:
    # 8 x 8 length pairs x 2 x 2 flags: 256 possible configs, built once each.
    key = ((octet0 & 3) << 8) | (octet3 & 0x77)
    config = _CONFIGS.get(key)
    if config is None:
        config = PduConfig(
            ((octet3 >> 4) & 7) + 1, (octet3 & 7) + 1, bool(octet0 & 2), bool(octet0 & 1)
        )
        _CONFIGS[key] = config
    return config


def decode_header(raw: bytes, header_length: int) -> PduHeader:
    """The header at the start of ``raw`` (lengths and version already checked)."""
    octet0 = raw[0]
    octet3 = raw[3]
    eid = ((octet3 >> 4) & 7) + 1
    seq = (octet3 & 7) + 1
    header = _new(PduHeader)
    _set_config(header, _config(octet0, octet3))
    _set_source(header, _from_bytes(raw[4 : 4 + eid], "big"))
    _set_number(header, _from_bytes(raw[4 + eid : 4 + eid + seq], "big"))
    _set_destination(header, _from_bytes(raw[4 + eid + seq : header_length], "big"))
    _set_mode(header, _MODES[(octet0 >> 2) & 1])
    _set_direction(header, _DIRECTIONS[(octet0 >> 3) & 1])
    _set_segctl(header, octet3 >= 0x80)
    _set_octet0(header, octet0 & 0xEF)
    _set_octet3(header, octet3 & 0xF7)
    _set_ids(header, raw[4:header_length])
    return header
