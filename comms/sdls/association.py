"""Security associations of Space Data Link Security (CCSDS 355.0-B-2 section 3.4).

A security association (SA) is what both ends agree on before a protected frame can be
understood: which channel it covers, which service it gives, the lengths of the
security header and trailer fields, and which key it uses. :class:`SecurityAssociation`
holds these managed parameters as a frozen value; the changing part of an SA (its state,
its counters, its anti-replay window) lives in :class:`comms.sdls.engine.SecurityEngine`
and is persisted through a :class:`comms.sdls.state.StateStore`.

SA states and the management procedures that move between them come from the SDLS
Extended Procedures (355.1-B-1): an SA is *unkeyed* until a key is
assigned (Rekey), *keyed* when it has a key but carries no traffic, and *operational*
after Start; Stop takes it back to keyed and Expire back to unkeyed. The table
:data:`SA_TRANSITIONS` is the whole machine: a pair not in it is a UsageError.

Algorithm: AES-256-GCM, the baseline of CCSDS 352.0-B-2 that 355.0-B-2 points to, for
all three services (GMAC for authentication only, the GCM counter mode for encryption
only, GCM for authenticated encryption). Left out: other algorithms (CMAC, HMAC, CBC),
IVs other than the 96-bit GCM IV, partially transmitted IVs, and padding (GCM needs
none, so the pad length field, when configured, is always zero).
"""

from __future__ import annotations

import enum
from dataclasses import dataclass
from typing import Final

from comms.errors import UsageError

__all__ = [
    "GCM_IV_LENGTH",
    "SA_TRANSITIONS",
    "Gvcid",
    "SaProcedure",
    "SaState",
    "SecurityAssociation",
    "ServiceType",
]

#: The 96-bit GCM IV of the baseline (352.0-B-2): any other length takes a GHASH to
#: derive the counter block, and encryption-only SAs build that block themselves.
GCM_IV_LENGTH: Final = 12


class ServiceType(enum.Enum):
    """The one cryptographic function an SA performs (355.0-B-2 2.3.1.3, 4.2.2.4)."""

    #: A MAC over headers and data; the data field travels in clear.
    AUTHENTICATION = "authentication"
    #: The data field encrypted, no MAC: no integrity and no anti-replay protection.
    ENCRYPTION = "encryption"
    #: The data field encrypted and a MAC over headers and ciphertext.
    AUTHENTICATED_ENCRYPTION = "authenticated encryption"

    @property
    def authenticates(self) -> bool:
        return self is not ServiceType.ENCRYPTION

    @property
    def encrypts(self) -> bool:
        return self is not ServiceType.AUTHENTICATION


class SaState(enum.Enum):
    """SA states of the SDLS extended procedures (355.1-B-1)."""

    UNKEYED = "unkeyed"
    KEYED = "keyed"
    OPERATIONAL = "operational"


class SaProcedure(enum.Enum):
    """SA management procedures that change an SA's state (355.1-B-1)."""

    REKEY = "rekey"
    EXPIRE = "expire"
    START = "start"
    STOP = "stop"


#: ``(state, procedure) -> next state``; any other pair is refused.
SA_TRANSITIONS: Final[dict[tuple[SaState, SaProcedure], SaState]] = {
    (SaState.UNKEYED, SaProcedure.REKEY): SaState.KEYED,
    (SaState.KEYED, SaProcedure.EXPIRE): SaState.UNKEYED,
    (SaState.KEYED, SaProcedure.START): SaState.OPERATIONAL,
    (SaState.OPERATIONAL, SaProcedure.STOP): SaState.KEYED,
}

# Transfer frame version numbers as carried in the GVCID (355.0-B-2 3.4.2.2.1).
TFVN_TM_TC: Final = 0
TFVN_AOS: Final = 1
TFVN_USLP: Final = 12


def _check_int(name: str, value: object, low: int, high: int) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
        raise UsageError(f"{name} must be an int in {low}..{high}, got {value!r}.")
    return value


@dataclass(frozen=True)
class Gvcid:
    """The channel an SA applies to: transfer frame version, SCID, VCID (and MAP).

    ``tfvn`` is 0 for TM and TC, 1 for AOS, 12 for USLP. ``map_id`` narrows a TC or
    USLP SA to one MAP channel (355.0-B-2 3.4.2.2.1 allows an SA per MAP on TC);
    None covers the whole virtual channel.
    """

    tfvn: int
    scid: int
    vcid: int
    map_id: int | None = None

    def __post_init__(self) -> None:
        if self.tfvn not in (TFVN_TM_TC, TFVN_AOS, TFVN_USLP) or isinstance(self.tfvn, bool):
            raise UsageError(
                f"Gvcid.tfvn must be 0 (TM, TC), 1 (AOS) or 12 (USLP), got {self.tfvn!r}."
            )
        _check_int("Gvcid.scid", self.scid, 0, 0xFFFF)
        _check_int("Gvcid.vcid", self.vcid, 0, 63)
        if self.map_id is not None:
            if self.tfvn == TFVN_AOS:
                raise UsageError("AOS has no MAP channels; pass Gvcid(..., map_id=None).")
            _check_int("Gvcid.map_id", self.map_id, 0, 63)

    def covers(self, tfvn: int, scid: int, vcid: int, map_id: int | None) -> bool:
        """Whether a frame with these routing fields belongs to this channel."""
        return (
            tfvn == self.tfvn
            and scid == self.scid
            and vcid == self.vcid
            and (self.map_id is None or map_id == self.map_id)
        )


@dataclass(frozen=True)
class SecurityAssociation:
    """The managed parameters of one SA (355.0-B-2 3.4, 4.1).

    - ``spi``: the Security Parameter Index, 16 bits, carried first in every security
      header (4.1.1.2).
    - ``gvcid``: the channel (and optionally MAP) the SA covers.
    - ``service``: authentication, encryption or authenticated encryption (4.2.2.4).
    - ``key_id``: the key the SA starts with (a Rekey may change it); looked up in the
      engine's key store, never stored here.
    - ``iv_length``: octets of the IV field; 12, the 96-bit GCM IV (4.1.1.3; 352.0-B-2).
    - ``sequence_number_length``: octets of the anti-replay sequence number field,
      0..8 (4.1.1.4); default 4. Must be 0 for encryption-only SAs (4.1.1.4.4). With 0
      on an authenticating SA the IV, which is a counter here, serves as the sequence
      number for the anti-replay check.
    - ``mac_length``: octets of the MAC in the trailer (4.1.2): 16, the full GCM tag,
      by default; GCM allows 12..16. Must be 0 for encryption-only SAs.
    - ``pad_length_length``: octets of the pad length field, 0..2 (4.1.1.5); default 0
      because GCM needs no padding.
    - ``replay_window``: how far behind the newest accepted sequence number a frame not
      yet seen is still accepted (out-of-order delivery); default 64, the classic
      IPsec size (RFC 4303 3.4.3), wide enough for a pass merged from a few stations.
    - ``replay_forward_limit``: None (default) accepts any jump forward; an int rejects
      a sequence number more than that far ahead as outside the window (the forward
      "ARSN window" as NASA CryptoLib applies it).
    - ``authentication_mask``: None authenticates every bit of the headers before the
      security header; otherwise exactly one octet per header octet, AND-ed with them
      before the MAC (the authentication bit mask SA parameter of 355.0-B-2 3.4) -- zero
      the MC frame count of a TM frame if it is set after security is applied.
    """

    spi: int
    gvcid: Gvcid
    service: ServiceType
    key_id: int
    iv_length: int = GCM_IV_LENGTH
    sequence_number_length: int = 4
    mac_length: int = 16
    pad_length_length: int = 0
    replay_window: int = 64
    replay_forward_limit: int | None = None
    authentication_mask: bytes | None = None

    def __post_init__(self) -> None:
        _check_int("SecurityAssociation.spi", self.spi, 0, 0xFFFF)
        if not isinstance(self.gvcid, Gvcid):
            raise UsageError(
                f"SecurityAssociation.gvcid must be a Gvcid, got {type(self.gvcid).__name__}."
            )
        if not isinstance(self.service, ServiceType):
            raise UsageError(
                f"SecurityAssociation.service must be a ServiceType, got {self.service!r}."
            )
        _check_int("SecurityAssociation.key_id", self.key_id, 0, 0xFFFF)
        if self.iv_length != GCM_IV_LENGTH:
            raise UsageError(
                f"SecurityAssociation.iv_length must be {GCM_IV_LENGTH} (the 96-bit AES-GCM "
                f"IV of the baseline), got {self.iv_length!r}."
            )
        _check_int("SecurityAssociation.sequence_number_length", self.sequence_number_length, 0, 8)
        _check_int("SecurityAssociation.pad_length_length", self.pad_length_length, 0, 2)
        _check_int("SecurityAssociation.replay_window", self.replay_window, 1, 1 << 16)
        if self.replay_forward_limit is not None:
            _check_int(
                "SecurityAssociation.replay_forward_limit", self.replay_forward_limit, 1, 1 << 62
            )
        if self.service.authenticates:
            if isinstance(self.mac_length, bool) or self.mac_length not in range(12, 17):
                raise UsageError(
                    f"SecurityAssociation.mac_length must be 12..16 octets of GCM tag for "
                    f"an authenticating SA, got {self.mac_length!r}."
                )
        else:
            if self.mac_length != 0:
                raise UsageError(
                    "An encryption-only SA has no MAC (355.0-B-2 4.1.2); pass mac_length=0."
                )
            if self.sequence_number_length != 0:
                raise UsageError(
                    "An encryption-only SA has no sequence number field (355.0-B-2 "
                    "4.1.1.4.4); pass sequence_number_length=0."
                )
        if self.authentication_mask is not None and not isinstance(self.authentication_mask, bytes):
            raise UsageError(
                "SecurityAssociation.authentication_mask must be bytes or None, got "
                f"{type(self.authentication_mask).__name__}."
            )

    @property
    def header_length(self) -> int:
        """Octets of the security header: SPI, IV, sequence number, pad length."""
        return 2 + self.iv_length + self.sequence_number_length + self.pad_length_length

    @property
    def overhead(self) -> int:
        """Octets the security header and trailer add to a frame."""
        return self.header_length + self.mac_length

    @property
    def counts_with_iv(self) -> bool:
        """Whether the IV serves as the anti-replay sequence number (no SN field)."""
        return self.sequence_number_length == 0
