"""The CFDP Management Information Base (CCSDS 727.0-B-5 section 8.2, tables 8-1 and 8-2).

:class:`LocalEntityConfig` holds what 8.2 lists for the local entity (its id, the
default fault handlers per condition code, the indications it issues) plus the choices
the book leaves to the implementation (how many PDUs one drain hands out, how many
finished transactions are remembered to answer late duplicates). :class:`RemoteEntityConfig`
holds the per-remote settings: maximum PDU size, default transmission mode and closure,
timer intervals and limits, checksum type, CRC, id and sequence number lengths, NAK mode,
keep-alive interval, whether incomplete files are retained. :class:`Mib` is both, with
a default remote for entities not listed.

Every default has its reason beside it. :func:`cf_profile` is the remote configuration
that interoperates with NASA cFS CF (modular checksum, no PDU CRC, no large files,
fixed id lengths, 512-octet PDUs, at most 58 segment requests per NAK; CF's default
configuration table gives 3 s ACK and NAK timers with limit 4 and a 30 s inactivity
timer).

Times are seconds on whatever clock the caller feeds as ``now``.
"""

from __future__ import annotations

import enum
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any, Final

from comms.cfdp.checksum import SUPPORTED_CHECKSUMS, ChecksumType
from comms.cfdp.codes import ConditionCode, FaultHandlerCode, TransmissionMode
from comms.cfdp.header import PduConfig, PduHeader
from comms.errors import UsageError

__all__ = [
    "DEFAULT_FAULT_HANDLERS",
    "LocalEntityConfig",
    "Mib",
    "NakMode",
    "RemoteEntityConfig",
    "cf_profile",
]


class NakMode(enum.Enum):
    """When the receiver of a class 2 transaction asks for missing data (727.0-B-5 4.6.4.3)."""

    DEFERRED = "deferred"  # at EOF (and on the NAK timer / a Prompt)
    IMMEDIATE = "immediate"  # as soon as a gap is seen, and again at EOF


DEFAULT_FAULT_HANDLERS: Final[Mapping[ConditionCode, FaultHandlerCode]] = MappingProxyType(
    {
        # 727.0-B-5 4.8.2 leaves the defaults to the MIB. Cancellation everywhere: a
        # fault then always ends the transaction visibly (Finished/EOF with the
        # condition), never leaves it waiting -- the choice cfdp-py and CF make too.
        code: FaultHandlerCode.ISSUE_NOTICE_OF_CANCELLATION
        for code in ConditionCode
        if code
        not in (
            ConditionCode.NO_ERROR,
            ConditionCode.SUSPEND_REQUEST_RECEIVED,
            ConditionCode.CANCEL_REQUEST_RECEIVED,
            ConditionCode.RESERVED_12,
            ConditionCode.RESERVED_13,
        )
    }
)
"""The handler for each fault condition unless the MIB or the put request overrides it."""


def _positive(owner: str, name: str, value: object, *, integer: bool = False) -> None:
    ok = (isinstance(value, int) if integer else isinstance(value, int | float)) and not isinstance(
        value, bool
    )
    if not ok or value <= 0:  # type: ignore[operator]
        kind = "a positive int" if integer else "a positive number of seconds"
        raise UsageError(f"{owner}.{name} must be {kind}, got {value!r}.")


def check_fault_handlers(
    owner: str, handlers: Mapping[ConditionCode, FaultHandlerCode] | Iterable[object]
) -> Mapping[ConditionCode, FaultHandlerCode]:
    """``handlers`` as a read-only condition -> handler mapping, each pair checked."""
    items: Iterable[Any] = handlers.items() if isinstance(handlers, Mapping) else handlers
    out: dict[ConditionCode, FaultHandlerCode] = {}
    for item in items:
        try:
            raw_condition, raw_handler = item
        except (TypeError, ValueError):
            raise UsageError(
                f"{owner}.fault_handlers holds (ConditionCode, FaultHandlerCode) pairs, "
                f"not {item!r}."
            ) from None
        try:
            condition = ConditionCode(raw_condition)
            handler = FaultHandlerCode(raw_handler)
        except ValueError:
            raise UsageError(
                f"{owner}.fault_handlers: {item!r} is not a (ConditionCode, FaultHandlerCode) "
                "pair (727.0-B-5 table 5-19)."
            ) from None
        if condition is ConditionCode.NO_ERROR:
            raise UsageError(f"{owner}.fault_handlers: NO_ERROR is not a fault; drop it.")
        out[condition] = handler
    return MappingProxyType(out)


@dataclass(frozen=True, slots=True)
class LocalEntityConfig:
    """The local entity's MIB entries (727.0-B-5 table 8-1) and the engine's own limits."""

    entity_id: int
    #: Handler per fault condition (8.2, 4.8); the put request may override per
    #: transaction (fault handler override TLVs, 5.4.4).
    fault_handlers: Mapping[ConditionCode, FaultHandlerCode] = field(
        default_factory=lambda: DEFAULT_FAULT_HANDLERS
    )
    #: Issue EofSent when EOF is first sent (table 8-1 "EOF-Sent.indication required").
    eof_sent_indication: bool = True
    #: Issue EofReceived (table 8-1 "EOF-Recv.indication required").
    eof_recv_indication: bool = True
    #: Issue FileSegmentReceived per File Data PDU (table 8-1 "File-Segment-Recv
    #: indication required"). On by default as the book suggests; a high-rate ground
    #: station may turn it off to save one small object per PDU.
    file_segment_recv_indication: bool = True
    #: Issue TransactionFinished at the source (table 8-1 "Transaction-Finished ...").
    transaction_finished_indication: bool = True
    #: Most PDUs one pdus_to_send() call returns: bounds the memory one drain holds
    #: (64 x 64 KiB at most) while a long file streams; the entity says it has more by
    #: returning a deadline that is already due.
    send_burst: int = 64
    #: Finished transactions remembered to answer a late duplicate EOF / Finished
    #: (re-ACK it) instead of opening a new transaction for it -- the cfdp-py stall.
    completed_memory: int = 4096
    #: First transaction sequence number this entity allocates.
    first_sequence_number: int = 1

    def __post_init__(self) -> None:
        owner = "LocalEntityConfig"
        if isinstance(self.entity_id, bool) or not isinstance(self.entity_id, int):
            raise UsageError(f"{owner}.entity_id must be an int, not {self.entity_id!r}.")
        if not 0 <= self.entity_id < 1 << 64:
            raise UsageError(f"{owner}.entity_id must fit 8 octets, got {self.entity_id}.")
        object.__setattr__(self, "fault_handlers", check_fault_handlers(owner, self.fault_handlers))
        _positive(owner, "send_burst", self.send_burst, integer=True)
        _positive(owner, "completed_memory", self.completed_memory, integer=True)
        if (
            isinstance(self.first_sequence_number, bool)
            or not isinstance(self.first_sequence_number, int)
            or self.first_sequence_number < 0
        ):
            raise UsageError(f"{owner}.first_sequence_number must be an int >= 0.")

    def fault_handler(self, condition: ConditionCode) -> FaultHandlerCode:
        """The handler the MIB names for ``condition`` (cancellation when not listed)."""
        return self.fault_handlers.get(condition, FaultHandlerCode.ISSUE_NOTICE_OF_CANCELLATION)


@dataclass(frozen=True, slots=True)
class RemoteEntityConfig:
    """What this entity knows about one remote entity (727.0-B-5 table 8-2)."""

    entity_id: int
    #: Largest PDU the remote accepts, header and CRC included (table 8-2 "maximum file
    #: segment length" follows from it). 1024 fits a CCSDS space packet on most links
    #: and is cfdp-py's default.
    max_pdu_length: int = 1024
    #: Class used when the put request does not say (table 8-2 "default transmission
    #: mode"). Acknowledged: the downlink this stack serves must deliver whole files.
    default_transmission_mode: TransmissionMode = TransmissionMode.ACKNOWLEDGED
    #: Class 1: ask for a Finished PDU unless the put request says otherwise.
    closure_requested: bool = False
    #: Positive ACK timer (4.6.5.1) and how many expirations end in a fault. 10 s and 4
    #: cover a LEO round trip with margin; CF uses 3 s / 4 on its short links.
    ack_timer_interval: float = 10.0
    ack_limit: int = 4
    #: NAK timer (4.6.4.3.4) and limit: how many consecutive NAK rounds may go
    #: without any new data before the NAK limit fault (progress resets the count).
    nak_timer_interval: float = 10.0
    nak_limit: int = 4
    #: Transaction inactivity timer (4.6.4.4): no PDU for this long is a fault. 60 s
    #: spans a few lost NAK/ACK rounds; CF uses 30 s.
    inactivity_timer_interval: float = 60.0
    #: Check timer (4.6.3.2.3, 4.6.3.3): class 1 receivers wait this long after an
    #: incomplete EOF, class 1 senders with closure wait this long for Finished.
    check_timer_interval: float = 10.0
    check_limit: int = 2
    #: File checksum type put in Metadata (4.2). Modular: every peer computes it (CF
    #: computes nothing else) and it accepts segments in any order.
    checksum_type: ChecksumType = ChecksumType.MODULAR
    #: PDU CRC (4.1.3). Off: CF does not send it; turn it on for links without a frame
    #: check below CFDP.
    crc: bool = False
    #: Octets of entity ids and sequence numbers (5.1.4, 5.1.5): fixed per deployment.
    entity_id_length: int = 2
    sequence_number_length: int = 4
    #: 64-bit file sizes and offsets (5.1.10) for files of 4 GiB and more; a put of
    #: such a file fails unless this is set. Off: CF does not support it.
    large_file: bool = False
    nak_mode: NakMode = NakMode.DEFERRED
    #: Bounded NAK gap table (CF keeps 58): most segment requests in one NAK round.
    #: None: all gaps, spread over as many NAK PDUs as the PDU size needs.
    max_nak_segment_requests: int | None = None
    #: Receiver Keep Alive period for class 2 (4.6.5.4); None: only when prompted.
    keep_alive_interval: float | None = None
    #: Sender: most octets the receiver's Keep Alive progress may lag what was sent
    #: before the keep-alive limit fault (4.6.5.4); None: never.
    keep_alive_discrepancy_limit: int | None = None
    #: Keep the octets of a file that did not complete (table 8-1 "incomplete file
    #: handling"). Off: a partial file is easy to mistake for a whole one.
    retain_incomplete_files: bool = False

    def __post_init__(self) -> None:
        owner = "RemoteEntityConfig"
        if isinstance(self.entity_id, bool) or not isinstance(self.entity_id, int):
            raise UsageError(f"{owner}.entity_id must be an int, not {self.entity_id!r}.")
        for name in ("ack_limit", "nak_limit", "check_limit", "max_pdu_length"):
            _positive(owner, name, getattr(self, name), integer=True)
        for name in (
            "ack_timer_interval",
            "nak_timer_interval",
            "inactivity_timer_interval",
            "check_timer_interval",
        ):
            _positive(owner, name, getattr(self, name))
        if self.keep_alive_interval is not None:
            _positive(owner, "keep_alive_interval", self.keep_alive_interval)
        if self.keep_alive_discrepancy_limit is not None:
            _positive(
                owner,
                "keep_alive_discrepancy_limit",
                self.keep_alive_discrepancy_limit,
                integer=True,
            )
        if self.max_nak_segment_requests is not None:
            _positive(
                owner, "max_nak_segment_requests", self.max_nak_segment_requests, integer=True
            )
        try:
            object.__setattr__(
                self, "default_transmission_mode", TransmissionMode(self.default_transmission_mode)
            )
            object.__setattr__(self, "checksum_type", ChecksumType(self.checksum_type))
        except ValueError as exc:
            raise UsageError(
                f"{owner}: {exc}; use the TransmissionMode/ChecksumType enums."
            ) from None
        if self.checksum_type not in SUPPORTED_CHECKSUMS:
            raise UsageError(
                f"{owner}.checksum_type {self.checksum_type.name} is not computed here; use "
                f"one of {sorted(t.name for t in SUPPORTED_CHECKSUMS)}."
            )
        if not isinstance(self.nak_mode, NakMode):
            raise UsageError(f"{owner}.nak_mode must be a NakMode, not {self.nak_mode!r}.")
        config = self.pdu_config  # validates the lengths and flags
        if self.entity_id >> (8 * config.entity_id_length):
            raise UsageError(
                f"{owner}.entity_id {self.entity_id} does not fit in entity_id_length "
                f"{config.entity_id_length} octet(s)."
            )
        if self.max_pdu_length > 4 + 0xFFFF + 2 * 8 + 8:
            raise UsageError(f"{owner}.max_pdu_length {self.max_pdu_length} exceeds any PDU.")

    @property
    def pdu_config(self) -> PduConfig:
        """The fixed-header layout for PDUs exchanged with this remote."""
        return PduConfig(
            self.entity_id_length, self.sequence_number_length, self.crc, self.large_file
        )

    def max_file_segment_length(self, header: PduHeader) -> int:
        """Most file octets one File Data PDU with ``header`` carries within max_pdu_length."""
        config = header.config
        room = self.max_pdu_length - header.length - config.fss_length - (2 if config.crc else 0)
        if room < 1:
            raise UsageError(
                f"max_pdu_length {self.max_pdu_length} leaves no room for file data after a "
                f"{header.length}-octet header; raise it."
            )
        return min(room, 0xFFFF - config.fss_length - (2 if config.crc else 0))


@dataclass(frozen=True, slots=True)
class Mib:
    """The local entity's configuration and what it knows of each remote."""

    local: LocalEntityConfig
    remotes: Mapping[int, RemoteEntityConfig] = field(default_factory=dict)
    #: Settings for a remote not in ``remotes`` (its entity id substituted); None:
    #: PDUs from unknown entities are refused and puts to them raise UsageError.
    default_remote: RemoteEntityConfig | None = None

    def __post_init__(self) -> None:
        if not isinstance(self.local, LocalEntityConfig):
            raise UsageError("Mib.local must be a LocalEntityConfig.")
        remotes = dict(self.remotes)
        for key, remote in remotes.items():
            if not isinstance(remote, RemoteEntityConfig) or remote.entity_id != key:
                raise UsageError(
                    f"Mib.remotes[{key!r}] must be a RemoteEntityConfig with entity_id {key!r}."
                )
        object.__setattr__(self, "remotes", MappingProxyType(remotes))

    def remote(self, entity_id: int) -> RemoteEntityConfig | None:
        """The configuration for ``entity_id`` (None when unknown and no default)."""
        found = self.remotes.get(entity_id)
        if found is None and self.default_remote is not None:
            found = _with_id(self.default_remote, entity_id)
        return found


def _with_id(remote: RemoteEntityConfig, entity_id: int) -> RemoteEntityConfig | None:
    try:
        return RemoteEntityConfig(
            **{
                name: getattr(remote, name)
                for name in RemoteEntityConfig.__dataclass_fields__
                if name != "entity_id"
            },
            entity_id=entity_id,
        )
    except UsageError:
        return None  # the id does not fit the configured length: not a peer we serve


def cf_profile(entity_id: int, **overrides: object) -> RemoteEntityConfig:
    """A remote configuration that interoperates with NASA cFS CF (REFERENCES.md).

    From CF's platform configuration and default table (nasa/CF fsw/tables/
    cf_def_config.c, cf_platform_cfg.h): ack timer 3 s, NAK timer 3 s, inactivity 30 s,
    ACK and NAK limits 4, CF_MAX_PDU_SIZE 512, CF_NAK_MAX_SEGMENTS 58; modular checksum
    only, no PDU CRC, no large files. CF reads ids of any length up to its 4-octet
    types; 2-octet entity ids and 4-octet sequence numbers are what this profile sends.
    """
    settings: dict[str, object] = {
        "max_pdu_length": 512,
        "ack_timer_interval": 3.0,
        "ack_limit": 4,
        "nak_timer_interval": 3.0,
        "nak_limit": 4,
        "inactivity_timer_interval": 30.0,
        "checksum_type": ChecksumType.MODULAR,
        "crc": False,
        "entity_id_length": 2,
        "sequence_number_length": 4,
        "large_file": False,
        "max_nak_segment_requests": 58,
    }
    settings.update(overrides)
    return RemoteEntityConfig(entity_id, **settings)  # type: ignore[arg-type]
