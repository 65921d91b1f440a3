"""Commands in: the JSON command message, its signed bytes, and the checks that decide
whether it may reach the uplink (docs/gateway-commands.md).

Sans-I/O apart from the small state file of :class:`FreshnessStore`:

- :func:`parse_command` turns a message payload into a :class:`Command` or raises
  :class:`CommandRefused` (reason ``malformed``);
- :func:`signed_bytes` is the exact octet string a sender signs (HMAC-SHA256 with a
  shared key, or Ed25519 with the sender's private key);
- :class:`CommandAuthority` checks a command for the configured spacecraft, a known
  sender, a valid signature, a timestamp within the freshness window and a sequence
  number above the sender's last accepted one, and records that number (durably,
  before the command goes anywhere) so a replay is refused even after a restart;
- :func:`response` is the JSON of one progress report.

Refusal reasons (:class:`RefusalReason`) are machine-readable; ``detail`` says more in
a sentence. A check never raises anything but :class:`CommandRefused`.
"""

from __future__ import annotations

import base64
import binascii
import contextlib
import enum
import hashlib
import hmac
import json
import math
import os
import re
import tempfile
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Final

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

from comms.errors import DecodeError, UsageError
from gateway.config import SenderKey
from gateway.uplink import ProgressState

__all__ = [
    "COMMAND_VERSION",
    "SIGNED_PREFIX",
    "Command",
    "CommandAuthority",
    "CommandRefused",
    "FreshnessStore",
    "RefusalReason",
    "parse_command",
    "response",
    "signed_bytes",
]

COMMAND_VERSION: Final = 1
#: First line of the signed bytes: names the format, so a signature over anything else
#: (another protocol's message with the same key) never verifies here.
SIGNED_PREFIX: Final = "dawnlink-command-v1"
_ID: Final = re.compile(r"^[A-Za-z0-9_.:\-]{1,64}$")
_NAME: Final = re.compile(r"^[A-Za-z0-9_.\-]{1,64}$")
_FIELDS: Final = frozenset(
    ("v", "id", "sender", "spacecraft", "apid", "seq", "ts_ms", "payload", "sig")
)
_MAX_INT: Final = 2**63 - 1
#: A command message larger than this is refused before JSON parsing (a 64 KiB packet
#: in base64 plus the other fields fits well within it).
MAX_MESSAGE_OCTETS: Final = 128 * 1024


class RefusalReason(enum.Enum):
    MALFORMED = "malformed"  # not JSON, a field missing, of the wrong type or range
    WRONG_SPACECRAFT = "wrong-spacecraft"  # names another spacecraft than this gateway's
    UNKNOWN_SENDER = "unknown-sender"  # no [[uplink.senders]] entry of that name
    BAD_SIGNATURE = "bad-signature"  # the signature does not verify with the sender's key
    STALE = "stale"  # the timestamp is outside the freshness window
    REPLAY = "replay"  # the sequence number is not above the sender's last accepted one


class CommandRefused(DecodeError):
    """A command that must not be radiated; ``refusal`` says why, ``detail`` in words.

    ``command_id`` and ``sender`` are what the message said (None when it could not
    be read that far), so the refusal can still be correlated.
    """

    def __init__(
        self,
        refusal: RefusalReason,
        detail: str,
        *,
        command_id: str | None = None,
        sender: str | None = None,
        offset: int = 0,
    ) -> None:
        super().__init__(f"command refused ({refusal.value}): {detail}", offset=offset)
        self.refusal = refusal
        self.detail = detail
        self.command_id = command_id
        self.sender = sender


@dataclass(frozen=True, slots=True)
class Command:
    """One command message, as parsed (the signature not yet checked)."""

    id: str
    sender: str
    spacecraft: str
    apid: int
    payload: bytes
    seq: int
    ts_ms: int
    sig: bytes

    def signed_bytes(self) -> bytes:
        return signed_bytes(
            spacecraft=self.spacecraft,
            sender=self.sender,
            command_id=self.id,
            apid=self.apid,
            seq=self.seq,
            ts_ms=self.ts_ms,
            payload=self.payload,
        )

    def to_json(self) -> bytes:
        """The message a sender publishes (compact UTF-8 JSON)."""
        body = {
            "v": COMMAND_VERSION,
            "id": self.id,
            "sender": self.sender,
            "spacecraft": self.spacecraft,
            "apid": self.apid,
            "seq": self.seq,
            "ts_ms": self.ts_ms,
            "payload": base64.b64encode(self.payload).decode("ascii"),
            "sig": self.sig.hex(),
        }
        return json.dumps(body, separators=(",", ":")).encode()


def signed_bytes(
    *,
    spacecraft: str,
    sender: str,
    command_id: str,
    apid: int,
    seq: int,
    ts_ms: int,
    payload: bytes,
) -> bytes:
    """The octets a command's signature covers: eight ASCII lines joined by ``\\n``.

    ``dawnlink-command-v1``, spacecraft, sender, id, apid, seq, ts_ms (decimal, no sign
    or leading zeros), and the SHA-256 of the payload in lowercase hex. No field may
    hold a newline (the names and id are restricted), so the lines are unambiguous.
    """
    for name, value, pattern in (
        ("spacecraft", spacecraft, _NAME),
        ("sender", sender, _NAME),
        ("id", command_id, _ID),
    ):
        if not isinstance(value, str) or not pattern.match(value):
            raise UsageError(f"A command's {name} {value!r} must match {pattern.pattern}.")
    for name, number, high in (
        ("apid", apid, 0x7FE),
        ("seq", seq, _MAX_INT),
        ("ts_ms", ts_ms, _MAX_INT),
    ):
        if isinstance(number, bool) or not isinstance(number, int) or not 0 <= number <= high:
            raise UsageError(f"A command's {name} must be an int in 0..{high}, got {number!r}.")
    lines = (
        SIGNED_PREFIX,
        spacecraft,
        sender,
        command_id,
        str(apid),
        str(seq),
        str(ts_ms),
        hashlib.sha256(payload).hexdigest(),
    )
    return "\n".join(lines).encode("ascii")


def parse_command(payload: bytes) -> Command:
    """Read one command message; anything but a well-formed one raises
    :class:`CommandRefused` with reason ``malformed``."""

    def refuse(detail: str, offset: int = 0) -> CommandRefused:
        return CommandRefused(
            RefusalReason.MALFORMED, detail, command_id=known_id, sender=known_sender, offset=offset
        )

    known_id: str | None = None
    known_sender: str | None = None
    if len(payload) > MAX_MESSAGE_OCTETS:
        raise refuse(f"the message is {len(payload)} octets, over {MAX_MESSAGE_OCTETS}")
    try:
        body = json.loads(payload.decode("utf-8"))
    except UnicodeDecodeError as exc:
        raise refuse("the message is not UTF-8", exc.start) from None
    except json.JSONDecodeError as exc:
        raise refuse(f"the message is not JSON ({exc.msg})", exc.pos) from None
    if not isinstance(body, dict):
        raise refuse("the message is not a JSON object")
    # Correlate what can be correlated before any other check.
    if isinstance(body.get("id"), str) and _ID.match(body["id"]):
        known_id = body["id"]
    if isinstance(body.get("sender"), str) and _NAME.match(body["sender"]):
        known_sender = body["sender"]
    unknown = set(body) - _FIELDS
    if unknown:
        # Unsigned extra fields could be mistaken for part of the command: refuse them.
        raise refuse(f"unknown fields {sorted(unknown)}")
    missing = _FIELDS - set(body)
    if missing:
        raise refuse(f"missing fields {sorted(missing)}")
    if body["v"] != COMMAND_VERSION or isinstance(body["v"], bool):
        raise refuse(f"v must be {COMMAND_VERSION}, got {body['v']!r}")
    for name, pattern in (("id", _ID), ("sender", _NAME), ("spacecraft", _NAME)):
        value = body[name]
        if not isinstance(value, str) or not pattern.match(value):
            raise refuse(f"{name} must be a string matching {pattern.pattern}")
    for name, high in (("apid", 0x7FE), ("seq", _MAX_INT), ("ts_ms", _MAX_INT)):
        value = body[name]
        if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value <= high:
            raise refuse(f"{name} must be an integer 0..{high}, got {value!r}")
    if not isinstance(body["payload"], str):
        raise refuse("payload must be a base64 string")
    try:
        data = base64.b64decode(body["payload"], validate=True)
    except (binascii.Error, ValueError):
        raise refuse("payload is not valid base64") from None
    if not data:
        raise refuse("payload is empty: a TC packet carries at least one octet")
    sig = body["sig"]
    if not isinstance(sig, str) or not re.fullmatch(r"[0-9a-fA-F]{2,256}", sig) or len(sig) % 2:
        raise refuse("sig must be the signature in hex")
    return Command(
        id=body["id"],
        sender=body["sender"],
        spacecraft=body["spacecraft"],
        apid=body["apid"],
        payload=data,
        seq=body["seq"],
        ts_ms=body["ts_ms"],
        sig=bytes.fromhex(sig),
    )


class FreshnessStore:
    """Each sender's last accepted sequence number, in a small JSON file.

    Written whole (temp file, fsync, atomic rename) before a command is accepted, so a
    crash never forgets a number that was used. A missing file is an empty store; an
    unreadable one stops the gateway (:class:`UsageError`) rather than accept replays.
    """

    def __init__(self, path: Path) -> None:
        self.path = Path(path)
        self._last: dict[str, int] = {}
        try:
            text = self.path.read_text(encoding="utf-8")
        except FileNotFoundError:
            return
        except OSError as exc:
            raise UsageError(f"Cannot read the command state file {self.path}: {exc}") from None
        try:
            data = json.loads(text)
            senders = data["senders"]
            if not isinstance(senders, dict) or not all(
                isinstance(k, str) and isinstance(v, int) and not isinstance(v, bool)
                for k, v in senders.items()
            ):
                raise TypeError
        except (ValueError, KeyError, TypeError):
            raise UsageError(
                f"The command state file {self.path} is damaged. Without it replays cannot "
                "be refused: restore it from a backup, or have every sender move to a "
                "sequence number above any it used and remove the file."
            ) from None
        self._last = dict(senders)

    def last(self, sender: str) -> int | None:
        return self._last.get(sender)

    def commit(self, sender: str, seq: int) -> None:
        """Record ``seq`` as ``sender``'s last accepted number, on disk first: when the
        write fails (OSError) nothing changes, in memory or on disk, and the command
        is not accepted, so its number stays usable."""
        self.path.parent.mkdir(parents=True, exist_ok=True)
        text = json.dumps({"senders": {**self._last, sender: seq}}, sort_keys=True, indent=1)
        fd, tmp = tempfile.mkstemp(dir=self.path.parent, prefix=self.path.name, suffix=".tmp")
        try:
            with os.fdopen(fd, "w", encoding="utf-8") as f:
                f.write(text)
                f.flush()
                os.fsync(f.fileno())
            os.replace(tmp, self.path)
        except BaseException:
            with contextlib.suppress(OSError):
                os.unlink(tmp)
            raise
        self._last[sender] = seq


class CommandAuthority:
    """Decides whether a command message may go up (see the module doc).

    ``spacecraft`` is this gateway's spacecraft name; ``window_s`` the freshness window
    (|now - ts| at most this); ``max_payload`` the longest payload the uplink carries.
    """

    def __init__(
        self,
        senders: Iterable[SenderKey],
        spacecraft: str,
        store: FreshnessStore,
        *,
        window_s: float,
        max_payload: int = 65536,
    ) -> None:
        self.spacecraft = spacecraft
        self.store = store
        self.window_s = window_s
        self.max_payload = max_payload
        self._verifiers: dict[str, Any] = {}
        for sender in senders:
            raw = bytes.fromhex(sender.key.reveal())
            if sender.algorithm == "ed25519":
                self._verifiers[sender.name] = _ed25519(Ed25519PublicKey.from_public_bytes(raw))
            else:
                self._verifiers[sender.name] = _hmac(raw)

    def check(self, payload: bytes, now: float, *, topic_sender: str | None = None) -> Command:
        """The command in ``payload`` if it may go up (its sequence number is then
        recorded); raises :class:`CommandRefused` otherwise. ``topic_sender`` is the
        last level of the topic it came on, which must name the same sender."""
        command = parse_command(payload)

        def refuse(reason: RefusalReason, detail: str) -> CommandRefused:
            return CommandRefused(reason, detail, command_id=command.id, sender=command.sender)

        if len(command.payload) > self.max_payload:
            raise refuse(
                RefusalReason.MALFORMED,
                f"payload is {len(command.payload)} octets; this uplink carries at most "
                f"{self.max_payload}",
            )
        if command.spacecraft != self.spacecraft:
            raise refuse(
                RefusalReason.WRONG_SPACECRAFT,
                f"this gateway commands {self.spacecraft!r}, not {command.spacecraft!r}",
            )
        if topic_sender is not None and topic_sender != command.sender:
            raise refuse(
                RefusalReason.MALFORMED,
                f"sent on the topic of {topic_sender!r} but signed as {command.sender!r}",
            )
        verify = self._verifiers.get(command.sender)
        if verify is None:
            raise refuse(
                RefusalReason.UNKNOWN_SENDER, f"no sender {command.sender!r} is configured"
            )
        if not verify(command.sig, command.signed_bytes()):
            raise refuse(RefusalReason.BAD_SIGNATURE, "the signature does not verify")
        skew = now - command.ts_ms / 1000
        if not math.isfinite(skew) or abs(skew) > self.window_s:
            raise refuse(
                RefusalReason.STALE,
                f"ts_ms is {skew:+.3f} s from the gateway's clock; the window is "
                f"{self.window_s:g} s",
            )
        last = self.store.last(command.sender)
        if last is not None and command.seq <= last:
            raise refuse(
                RefusalReason.REPLAY,
                f"seq {command.seq} is not above {last}, the last accepted from this sender",
            )
        # Durably first: once accepted, this number must never be accepted again.
        self.store.commit(command.sender, command.seq)
        return command


def _hmac(key: bytes) -> Any:
    def verify(sig: bytes, data: bytes) -> bool:
        return hmac.compare_digest(hmac.new(key, data, hashlib.sha256).digest(), sig)

    return verify


def _ed25519(key: Ed25519PublicKey) -> Any:
    def verify(sig: bytes, data: bytes) -> bool:
        try:
            key.verify(sig, data)
        except InvalidSignature:
            return False
        return True

    return verify


def response(
    *,
    command_id: str | None,
    sender: str | None,
    state: ProgressState,
    time: float,
    reason: str | None = None,
    detail: str | None = None,
    station: str | None = None,
    extra: Mapping[str, Any] | None = None,
) -> bytes:
    """The JSON payload of one progress report (docs/gateway-commands.md)."""
    body: dict[str, Any] = {
        "v": COMMAND_VERSION,
        "id": command_id,
        "sender": sender,
        "state": state.value,
        "time": time,
    }
    if reason is not None:
        body["reason"] = reason
    if detail is not None:
        body["detail"] = detail
    if station is not None:
        body["station"] = station
    if extra:
        body.update(extra)
    return json.dumps(body, separators=(",", ":"), allow_nan=False).encode()
