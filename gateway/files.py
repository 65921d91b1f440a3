"""Files from the spacecraft: the gateway's CFDP entity (CCSDS 727.0-B-5).

:class:`GatewayCfdp` wraps the sans-I/O :class:`comms.cfdp.Entity` as the ground end of
file transfers from the spacecraft. It is the pipeline's CFDP input
(:meth:`GatewayCfdp.receive_pdu`, one PDU -- a packet's data field -- with its
earth-receive time and stations); received files are written into the configured
directory (through :class:`comms.cfdp.DiskFilestore`: a ``.cfdp-<source>-<seq>.part``
file while open, renamed to the Metadata's destination name once complete and its
checksum verified); the ACK, NAK, Keep Alive and Finished PDUs it answers with go to
``send_up`` (one PDU each, for the uplink); and each transaction that ends becomes one
message on ``<prefix>/<spacecraft>/files`` (the notice format is in
docs/gateway-files.md).

The notice's SHA-256 reads the whole delivered file, which for a large file takes
seconds: it is not computed when the transaction ends. The entity emits a
:class:`FileNotice` holding the file open (a later file of the same name renamed over
it changes nothing), and :meth:`FileNotice.finish` hashes and builds the
:class:`~gateway.messages.OutboxMessage`. :meth:`GatewayCfdp.messages` (and
:meth:`gateway.pipeline.Pipeline.messages`) finish them in the calling thread;
:class:`gateway.pipeline.PipelineRunner` takes them unfinished
(:meth:`~GatewayCfdp.notices`) and finishes them with :func:`finish_all` in the worker
thread that stores the batch, so the event loop never reads the file.

Time is an argument: the earth-receive time of each PDU is the entity's ``now`` (the
station links stamp frames with the gateway clock), and :meth:`~GatewayCfdp.next_deadline`
/ :meth:`~GatewayCfdp.on_timer` drive the CFDP timers (NAK, inactivity, check, positive
ACK, keep alive); :class:`gateway.pipeline.Pipeline` folds them into its own timer.

Restart (``[cfdp] resume``): :meth:`~GatewayCfdp.save` at stop writes every open
receiving transaction -- its first PDU (for the header), Metadata and EOF as received,
the file-data ranges held, stations and times -- to ``.cfdp-state.json`` in the
directory and sets its partial file aside as ``.cfdp-<source>-<seq>.resume``;
:meth:`~GatewayCfdp.resume` at start feeds the same Metadata, the held ranges (read
back from that file) and the EOF to a fresh entity, which then NAKs only what is still
missing. The entity's own API is used throughout (no private state is touched): the
cost is one copy of the partial file at start. Class 2 transactions waiting for the
ACK of their Finished are kept too, so a repeated EOF after the restart is answered
with ACK(EOF) and the same Finished rather than opening a new transaction. 727.0-B-5
defines no persistence format; this one is the gateway's own (version field ``v``).

Kill -9 (``[cfdp] checkpoint_s``): :meth:`~GatewayCfdp.checkpoint` writes the same state
without stopping anything -- every ``checkpoint_s`` while a reception is open (folded
into :meth:`~GatewayCfdp.next_deadline`), and at once after an EOF in, a Finished out or
a transaction's end. Its partial files stay at their ``.part`` names, which the state
records; :meth:`~GatewayCfdp.resume` moves them to the ``.resume`` names first. The
ranges claimed are in the file: DiskFilestore writes with ``pwrite`` before the entity
counts a range, buffering nothing in the process (no fsync: power loss is out of scope).

Left out: sending files up (the gateway is a receiving entity; Put.request is not
exposed), proxy operations and directory listings, and resuming class 1 transactions
beyond what fits the check timer (they are saved and resumed the same way, but the
spacecraft does not retransmit for them).
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Final

from comms.cfdp import (
    Abandoned,
    AckPdu,
    ChecksumType,
    ConditionCode,
    DeliveryCode,
    DirectiveCode,
    DiskFilestore,
    Entity,
    EofPdu,
    FaultIndication,
    FileDataPdu,
    FileHandle,
    FilestoreError,
    FinishedPdu,
    LocalEntityConfig,
    MetadataPdu,
    Mib,
    NakMode,
    Pdu,
    PduRejected,
    PromptPdu,
    RemoteEntityConfig,
    TransactionFinished,
    TransactionId,
    TransactionStatus,
    TransmissionMode,
    decode_pdu,
)
from comms.cfdp.destination import DestinationTransaction
from comms.cfdp.transaction import TransactionState
from comms.errors import CommsError, UsageError
from gateway.config import CfdpConfig, CfdpRemoteConfig
from gateway.messages import OutboxMessage, Topics, envelope, message_id
from gateway.metrics import Registry

__all__ = [
    "STATE_FILE",
    "CfdpReport",
    "FileNotice",
    "GatewayCfdp",
    "file_message_id",
    "finish_all",
    "mib_for",
]

STATE_FILE: Final = ".cfdp-state.json"
"""Where :meth:`GatewayCfdp.save` keeps open transactions across a restart (in the
files directory, next to the partial files)."""

_STATE_VERSION: Final = 1
# Octets of file data per replayed File Data PDU at resume: within any PDU length the
# decoded-PDU path accepts (no encode), and small enough to bound memory.
_REPLAY_CHUNK: Final = 32 * 1024
_HASH_CHUNK: Final = 1 << 20
# Saved Finished PDUs kept across restarts while their ACK has not come (the newest):
# as many as the entity remembers finished transactions (LocalEntityConfig default).
_FINISHING_MEMORY: Final = 4096
_TO_RECEIVER: Final = (FileDataPdu, MetadataPdu, EofPdu, PromptPdu)

CfdpReport = PduRejected | FaultIndication | TransactionFinished | Abandoned
"""The entity indications the gateway passes on as pipeline events."""


def file_message_id(source_entity_id: int, sequence_number: int) -> str:
    """The stable id of a file notice: the CFDP transaction id (727.0-B-5 1.3.3.3 makes
    (source entity, sequence number) unique), whichever station or restart saw it."""
    return message_id("cfdp", source_entity_id, sequence_number)


class FileNotice:
    """A file notice whose ``size`` and ``sha256`` are still to be read from the
    delivered file (held open here; None when no file was retained).

    :meth:`finish` reads it -- in any thread, once: the message is kept -- and returns
    the complete :class:`~gateway.messages.OutboxMessage`, identical to one built at the
    transaction's end.
    """

    __slots__ = ("_data", "_envelope", "_handle", "_message", "message_id", "qos", "topic")

    def __init__(
        self,
        topic: str,
        message_id: str,
        qos: int,
        data: dict[str, Any],
        envelope: dict[str, Any],
        handle: FileHandle | None,
    ) -> None:
        self.topic = topic
        self.message_id = message_id
        self.qos = qos
        self._data = data
        self._envelope = envelope
        self._handle = handle
        self._message: OutboxMessage | None = None

    def finish(self) -> OutboxMessage:
        """Hash the file (if any), close it, and build the message (kept for later calls)."""
        if self._message is not None:
            return self._message
        handle, self._handle = self._handle, None
        data = self._data
        if handle is not None:
            try:
                data["size"], data["sha256"] = _file_sha256(handle)
            except FilestoreError as exc:
                # The file is delivered and announced; only its digest is missing.
                logging.getLogger("gateway.files").error(
                    "cfdp: %r not hashed: %s", data["name"], exc
                )
            finally:
                handle.close()
        self._message = OutboxMessage(
            self.topic,
            envelope(message_id=self.message_id, product="file", data=data, **self._envelope),
            self.message_id,
            qos=self.qos,
        )
        return self._message

    def __del__(self) -> None:
        # Never finished (dropped at a stop): the descriptor must not leak.
        handle = getattr(self, "_handle", None)
        if handle is not None:
            handle.close()


def finish_all(messages: Iterable[OutboxMessage | FileNotice]) -> list[OutboxMessage]:
    """``messages`` in order, each :class:`FileNotice` finished (its file read here: call
    it off the event loop)."""
    return [m.finish() if isinstance(m, FileNotice) else m for m in messages]


def _file_sha256(handle: FileHandle) -> tuple[int, str]:
    """The size and SHA-256 of an open file, read in chunks."""
    digest = hashlib.sha256()
    offset = 0
    while chunk := handle.read_at(offset, _HASH_CHUNK):
        digest.update(chunk)
        offset += len(chunk)
    return offset, digest.hexdigest()


def mib_for(config: CfdpConfig) -> Mib:
    """The entity's MIB from ``[cfdp]``: the ground entity and one remote per
    ``[[cfdp.remotes]]`` (PDUs from others are refused: no default remote)."""
    local = LocalEntityConfig(
        config.entity_id,
        # One event object per File Data PDU buys the gateway nothing: progress is in
        # the transactions themselves.
        file_segment_recv_indication=False,
    )
    return Mib(local, {r.entity_id: _remote(r) for r in config.remotes})


def _remote(r: CfdpRemoteConfig) -> RemoteEntityConfig:
    return RemoteEntityConfig(
        r.entity_id,
        max_pdu_length=r.max_pdu_length,
        ack_timer_interval=r.ack_timer_s,
        ack_limit=r.ack_limit,
        nak_timer_interval=r.nak_timer_s,
        nak_limit=r.nak_limit,
        inactivity_timer_interval=r.inactivity_timer_s,
        check_timer_interval=r.check_timer_s,
        check_limit=r.check_limit,
        crc=r.crc,
        entity_id_length=r.entity_id_length,
        sequence_number_length=r.sequence_number_length,
        nak_mode=NakMode(r.nak_mode),
        max_nak_segment_requests=r.max_nak_segment_requests,
        keep_alive_interval=r.keep_alive_s,
        retain_incomplete_files=r.retain_incomplete_files,
    )


@dataclass(slots=True)
class _Seen:
    """What the gateway keeps of one incoming transaction for its notice and a restart."""

    first: bytes  # the first PDU's octets: its header rebuilds File Data at resume
    metadata: bytes | None = None
    eof: bytes | None = None
    stations: list[str] = field(default_factory=list)
    first_ert: float = 0.0
    last_ert: float = 0.0
    # The condition of a Finished(cancel) sent: the cause, which a later fault (the ACK
    # limit, when nobody hears it) would otherwise overwrite in the notice.
    cancelled: ConditionCode | None = None

    def saw(self, ert: float, stations: Iterable[str]) -> None:
        self.last_ert = ert
        for station in stations:
            if station not in self.stations:
                self.stations.append(station)


@dataclass(slots=True)
class _Finishing:
    """A class 2 transaction saved while its Finished waited for the ACK: the gateway
    answers its repeated EOFs itself after a restart (4.6.4.2.2, 4.6.5.2)."""

    finished: bytes


@dataclass(slots=True)
class CfdpCounters:
    pdus: int = 0
    rejected: int = 0
    pdus_up: int = 0
    up_failures: int = 0
    files: int = 0
    resumed: int = 0


class GatewayCfdp:
    """The gateway's receiving CFDP entity (see the module docstring).

    ``config``: the ``[cfdp]`` section. ``send_up(pdu)``: radiate one PDU (wired to
    :meth:`gateway.uplink.Uplink.send_packet` with the configured uplink APID); a
    :class:`~comms.errors.CommsError` from it is counted and logged, the CFDP timers
    then repeat what matters. ``sink(message)``: where file notices go; None keeps them
    for :meth:`messages` / :meth:`notices` (a ``sink`` gets them finished, hashed in the
    calling thread). ``topics``: the gateway's topic names; ``qos``: the notices'.
    """

    def __init__(
        self,
        config: CfdpConfig,
        send_up: Callable[[bytes], None],
        sink: Callable[[OutboxMessage], None] | None = None,
        *,
        topics: Topics,
        qos: int = 1,
        logger: logging.Logger | None = None,
    ) -> None:
        if not isinstance(config, CfdpConfig):
            raise UsageError(f"GatewayCfdp needs a CfdpConfig, not {type(config).__name__}.")
        self.config = config
        self.send_up = send_up
        self.sink = sink
        self.topics = topics
        self.qos = qos
        self.log = logger or logging.getLogger("gateway.files")
        self.directory = Path(config.directory)
        self.directory.mkdir(parents=True, exist_ok=True)
        self.filestore = DiskFilestore(self.directory)
        self.entity = Entity(mib_for(config), self.filestore)
        self.entity_id = config.entity_id
        self.counters = CfdpCounters()
        self._seen: dict[tuple[int, int], _Seen] = {}
        self._finishing: dict[tuple[int, int], _Finishing] = {}
        self._messages: list[FileNotice] = []
        self._events: list[CfdpReport] = []
        self._now = 0.0
        # Checkpoints (only with resume: nobody reads the state otherwise). The periodic
        # one is due at _checkpoint_at while receptions are open; _checkpoint_due asks
        # for one at once (an EOF in, a Finished out, a transaction ended).
        self._checkpoint_s = config.checkpoint_s if config.resume else 0.0
        self._checkpoint_at: float | None = None
        self._checkpoint_due = False
        self._state_written: str | None = None  # what the state file holds (ours)

    # -- outputs ---------------------------------------------------------------------

    def messages(self) -> list[OutboxMessage]:
        """Drain the file notices, finished here (only when built without a ``sink``)."""
        return finish_all(self.notices())

    def notices(self) -> list[FileNotice]:
        """Drain the file notices unfinished, oldest first: :func:`finish_all` them off
        the event loop (it reads each delivered file)."""
        out, self._messages = self._messages, []
        return out

    def events(self) -> list[CfdpReport]:
        """Drain rejected PDUs, ignored faults and ended transactions, oldest first."""
        out, self._events = self._events, []
        return out

    def next_deadline(self) -> float | None:
        """When :meth:`on_timer` is next due (a CFDP timer or a checkpoint), or None."""
        deadline = self.entity.next_deadline()
        at = self._checkpoint_at
        if at is not None and (deadline is None or at < deadline):
            return at
        return deadline

    @property
    def open_transactions(self) -> list[TransactionId]:
        return self.entity.transactions

    def register_metrics(self, registry: Registry) -> None:
        """Expose the counters (``dawnlink_cfdp_*``) on the gateway's /metrics."""
        c = self.counters
        for name, help, read in (
            ("pdus_received", "CFDP PDUs handed to the entity.", lambda: c.pdus),
            ("pdus_rejected", "CFDP PDUs refused (undecodable, foreign).", lambda: c.rejected),
            ("pdus_sent", "CFDP PDUs handed to the uplink.", lambda: c.pdus_up),
            ("send_failures", "CFDP PDUs the uplink refused.", lambda: c.up_failures),
            ("files", "File notices (transactions ended).", lambda: c.files),
            ("resumed", "Transactions resumed at start.", lambda: c.resumed),
        ):
            registry.counter(f"dawnlink_cfdp_{name}_total", help, read)
        registry.gauge(
            "dawnlink_cfdp_open_transactions",
            "CFDP transactions in progress.",
            lambda: len(self.entity.transactions),
        )

    # -- inputs ----------------------------------------------------------------------

    def receive_pdu(self, pdu: bytes, ert: float, stations: Iterable[str] = ()) -> None:
        """One CFDP PDU (a packet's data field) received at ``ert`` (Unix seconds UTC)
        by ``stations``. Raises :class:`~comms.errors.DecodeError` for octets that are
        not a PDU (the pipeline reports it); everything else the entity judges."""
        now = self._tick(ert)
        self.counters.pdus += 1
        try:
            decoded = decode_pdu(pdu)
        except CommsError:
            self.counters.rejected += 1
            raise
        header = decoded.header
        key = (header.source_entity_id, header.transaction_sequence_number)
        # The entity routes by PDU type (4.5): these are the receiving side's.
        toward_us = header.destination_entity_id == self.entity_id and (
            isinstance(decoded, _TO_RECEIVER)
            or (
                isinstance(decoded, AckPdu)
                and decoded.acknowledged_directive is DirectiveCode.FINISHED
            )
        )
        if toward_us and key in self._finishing:
            self._answer_finishing(key, decoded)
            return
        if not toward_us:
            self.entity.receive_pdu(decoded, now)
            self._pump()
            return
        seen = self._seen.get(key)
        if seen is None:
            # Kept from before the entity sees the PDU: a transaction may open and end
            # on the same PDU (a fault), and its notice needs this.
            seen = self._seen[key] = _Seen(bytes(pdu), first_ert=ert)
            if self._checkpoint_s and self._checkpoint_at is None:
                self._checkpoint_at = now + self._checkpoint_s
        seen.saw(ert, stations)
        if isinstance(decoded, MetadataPdu) and seen.metadata is None:
            seen.metadata = bytes(pdu)
            # Before the entity sees it: a late Metadata may complete (and rename) the
            # file at once. Only for peers in the MIB: others create nothing here.
            if self.entity.mib.remote(header.source_entity_id) is not None:
                self._make_parents(decoded.destination_file_name)
        elif isinstance(decoded, EofPdu) and seen.eof is None:
            seen.eof = bytes(pdu)
            self._checkpoint_due = True
        self.entity.receive_pdu(decoded, now)
        open_ = self._is_open(key)
        self._pump()
        if not open_ and self._seen.get(key) is seen:
            # Refused (unknown peer, another entity's) or a late duplicate of a
            # finished transaction, which the entity answered: nothing to announce.
            del self._seen[key]
        if self._checkpoint_due:
            self._auto_checkpoint(now)

    def on_timer(self, now: float) -> None:
        """Let the CFDP timers act (NAK and Finished repeats, inactivity, check) and
        write a checkpoint when one is due."""
        now = self._tick(now)
        self.entity.on_timer(now)
        self._pump()
        at = self._checkpoint_at
        if self._checkpoint_due or (at is not None and now >= at):
            self._auto_checkpoint(now)

    # -- restart ----------------------------------------------------------------------

    @property
    def state_path(self) -> Path:
        return self.directory / STATE_FILE

    def save(self, now: float) -> int:
        """At stop: write the open receiving transactions to :data:`STATE_FILE`, set
        their partial files aside, and close them; returns how many were saved.

        Transactions already waiting for the ACK of their Finished (the file is
        delivered) get their notice now and are kept to answer repeated EOFs.
        """
        now = self._tick(now)
        entries: list[dict[str, Any]] = []
        for tid in self.entity.transactions:
            t = self.entity.transaction(tid)
            if not isinstance(t, DestinationTransaction):
                continue
            key = (tid.source_entity_id, tid.transaction_sequence_number)
            seen = self._seen.get(key)
            if t.state is TransactionState.FINISHING and t.finished_raw is not None:
                self._finishing[key] = _Finishing(t.finished_raw)
                if seen is not None:
                    finished = decode_pdu(t.finished_raw)
                    assert isinstance(finished, FinishedPdu)
                    self._notice(
                        key,
                        seen,
                        finished.condition_code,
                        t.delivery_code,
                        t.file_status.name.lower(),
                        t.file_name,
                    )
            elif t.state is TransactionState.RECEIVING and seen is not None:
                ranges = t.received.ranges()
                if ranges:
                    try:
                        self.filestore.rename_file(t.part_name, _resume_name(key), overwrite=True)
                    except FilestoreError as exc:
                        self.log.warning("cfdp: partial file of %s not kept: %s", key, exc)
                        ranges = []
                entries.append(_receiving_entry(key, seen, ranges, _resume_name(key)))
            # Abandon (4.11.3) sends nothing: it only closes the part file, which is
            # already renamed (its deletion fails harmlessly).
            self.entity.abandon(tid, now)
        self.entity.events()  # the abandonments are ours, not news
        self.entity.pdus_to_send()
        self._seen.clear()
        self._checkpoint_at = None
        self._checkpoint_due = False
        self._state_written = None  # the partial files moved: always write
        self._write_state(entries, self._finishing_entries())
        return len(entries)

    def checkpoint(self, now: float) -> int:
        """Write what :meth:`save` would, without stopping anything: a kill -9 after it
        loses only what arrived since (NAKed again after :meth:`resume`). Returns the
        number of receiving transactions written.

        The ranges claimed are those the entity holds, and each was written to the
        partial file before the entity counted it: :class:`~comms.cfdp.DiskFilestore`
        writes with ``os.pwrite`` and buffers nothing in the process, so the octets are
        in the OS page cache, which outlives the process (not a power loss: no fsync).
        The partial file stays where it is; the state names it (``part``).
        """
        now = self._tick(now)
        self._checkpoint_due = False
        entries: list[dict[str, Any]] = []
        finishing = self._finishing_entries()
        open_ = False
        for tid in self.entity.transactions:
            t = self.entity.transaction(tid)
            if not isinstance(t, DestinationTransaction):
                continue
            key = (tid.source_entity_id, tid.transaction_sequence_number)
            seen = self._seen.get(key)
            if seen is None:
                continue
            open_ = True
            if t.state is TransactionState.FINISHING and t.finished_raw is not None:
                # Delivered, its notice not yet out (it goes at the ACK): after a kill,
                # resume sends the notice and answers repeated EOFs with this Finished.
                finished = decode_pdu(t.finished_raw)
                assert isinstance(finished, FinishedPdu)
                entry = _seen_fields(key, seen)
                entry["finished"] = t.finished_raw.hex()
                entry["notice"] = {
                    "condition": int(finished.condition_code),
                    "delivery": int(t.delivery_code),
                    "file_status": t.file_status.name.lower(),
                    "file_name": t.file_name.hex(),
                }
                finishing.append(entry)
            elif t.state is TransactionState.RECEIVING:
                part = os.fsdecode(t.part_name)
                entries.append(_receiving_entry(key, seen, t.received.ranges(), part))
        self._write_state(entries, finishing)
        self._checkpoint_at = now + self._checkpoint_s if open_ and self._checkpoint_s else None
        return len(entries)

    def resume(self, now: float) -> int:
        """At start: pick up what :meth:`save` or the last :meth:`checkpoint` wrote
        (nothing if there is no state); returns the number of transactions resumed.
        NAKs for what is missing go out through ``send_up`` as the entity decides (at
        once for a transaction whose EOF had arrived). An unreadable state file is
        logged, set aside as ``.cfdp-state.bad`` and its transactions are lost."""
        path = self.state_path
        if not path.exists():
            return 0
        now = self._tick(now)
        try:
            state = json.loads(path.read_text())
            if not isinstance(state, dict) or state.get("v") != _STATE_VERSION:
                raise ValueError(f"not a state of version {_STATE_VERSION}")
            receiving = list(state["receiving"])
            finishing = list(state["finishing"])
        except (OSError, ValueError, KeyError, TypeError) as exc:
            self.log.error(
                "cfdp: %s unreadable (%s); its open transactions are lost and start over",
                path,
                exc,
            )
            path.replace(path.with_suffix(".bad"))
            return 0
        for item in finishing:
            try:
                self._resume_finishing(item)
            except (CommsError, ValueError, KeyError, TypeError) as exc:
                self.log.error("cfdp: finished transaction %s not kept: %s", _key_of(item), exc)
        resumed = 0
        replayed: list[bytes] = []
        for entry in receiving:
            try:
                replayed.extend(self._resume_one(entry, now))
                resumed += 1
            except (CommsError, ValueError, KeyError, TypeError) as exc:
                self.log.error("cfdp: transaction %s not resumed: %s", _key_of(entry), exc)
        # The new state before the old copies go: a kill in between loses nothing.
        if self._checkpoint_s:
            self.checkpoint(now)
        else:
            path.unlink()
        for name in replayed:
            try:
                self.filestore.delete_file(name)
            except FilestoreError as exc:
                self.log.warning("cfdp: %s", exc)
        self.counters.resumed += resumed
        return resumed

    def _resume_finishing(self, item: dict[str, Any]) -> None:
        key = (int(item["source_entity"]), int(item["sequence_number"]))
        self._finishing[key] = _Finishing(bytes.fromhex(item["finished"]))
        notice = item.get("notice")
        if notice is not None:  # from a checkpoint: the notice never went out
            self._notice(
                key,
                _seen_from(item),
                ConditionCode(int(notice["condition"])),
                DeliveryCode(int(notice["delivery"])),
                str(notice["file_status"]),
                bytes.fromhex(notice["file_name"]),
            )

    def _resume_one(self, entry: dict[str, Any], now: float) -> list[bytes]:
        """Replay one saved reception; returns the partial file to delete once the new
        state is written (none when nothing was held)."""
        key = (int(entry["source_entity"]), int(entry["sequence_number"]))
        first = decode_pdu(bytes.fromhex(entry["first"]))
        seen = _seen_from(entry)
        pdus: list[Pdu] = []
        if seen.metadata is not None:
            pdus.append(decode_pdu(seen.metadata))
        header = first.header  # File Data rebuilt with the sender's own header layout
        resume_name = _resume_name(key)
        ranges = [(int(a), int(b)) for a, b in entry["ranges"]]
        # A checkpoint names the partial file where the killed entity left it; the new
        # entity truncates that name when it opens the transaction, so move it aside.
        part = os.fsencode(entry.get("part") or os.fsdecode(resume_name))
        if ranges and part != resume_name:
            try:
                self.filestore.rename_file(part, resume_name, overwrite=True)
            except FilestoreError as exc:
                self.log.warning("cfdp: partial file of %s lost (%s): all of it is NAKed", key, exc)
                ranges = []
        if ranges:
            handle = self.filestore.open_read(resume_name)
            try:
                for start, end in ranges:
                    for offset in range(start, end, _REPLAY_CHUNK):
                        data = handle.read_at(offset, min(_REPLAY_CHUNK, end - offset))
                        if data:  # short only if the file is: that part is NAKed again
                            pdus.append(FileDataPdu(header, offset, data))
            finally:
                handle.close()
        if seen.eof is not None:
            pdus.append(decode_pdu(seen.eof))
        if not pdus:
            pdus.append(first)
        for pdu in pdus:
            self.entity.receive_pdu(pdu, now)
        if self._is_open(key):
            self._seen[key] = seen
            if self._checkpoint_s and self._checkpoint_at is None:
                self._checkpoint_at = now + self._checkpoint_s
        self._pump()
        return [resume_name] if ranges else []

    def _finishing_entries(self) -> list[dict[str, Any]]:
        return [
            {"source_entity": k[0], "sequence_number": k[1], "finished": f.finished.hex()}
            for k, f in list(self._finishing.items())[-_FINISHING_MEMORY:]
        ]

    def _write_state(
        self, receiving: list[dict[str, Any]], finishing: list[dict[str, Any]]
    ) -> None:
        """Replace the state file at once (a kill mid-write leaves the old one whole);
        remove it when there is nothing to keep."""
        if receiving or finishing:
            state = {"v": _STATE_VERSION, "receiving": receiving, "finishing": finishing}
            text = json.dumps(state)
            if text == self._state_written:
                return  # an idle reception: the file already says this
            tmp = self.state_path.with_suffix(".tmp")
            tmp.write_text(text)
            os.replace(tmp, self.state_path)
            self._state_written = text
        else:
            self._state_written = None
            if self.state_path.exists():
                self.state_path.unlink()

    def _auto_checkpoint(self, now: float) -> None:
        self._checkpoint_due = False
        if not self._checkpoint_s:
            return
        try:
            self.checkpoint(now)
        except OSError as exc:  # a full disk must not stop the reception itself
            self.log.error("cfdp: checkpoint not written: %s", exc)
            self._checkpoint_at = now + self._checkpoint_s

    # -- internals -------------------------------------------------------------------

    def _tick(self, now: float) -> float:
        # Never backwards: two stations' clocks may differ by a few milliseconds.
        if now > self._now:
            self._now = now
        return self._now

    def _is_open(self, key: tuple[int, int]) -> bool:
        try:
            self.entity.transaction(TransactionId(key[0], key[1]))
        except UsageError:
            return False
        return True

    def _make_parents(self, name: bytes) -> None:
        # A destination name with directories ("images/a.png") lands under them; the
        # filestore refuses names leading out of the directory.
        try:
            parent = os.path.dirname(self.filestore.path(name))
        except FilestoreError:
            return  # the entity refuses the name when it delivers
        os.makedirs(parent, exist_ok=True)

    def _answer_finishing(self, key: tuple[int, int], pdu: Pdu) -> None:
        finishing = self._finishing[key]
        if isinstance(pdu, EofPdu):
            finished = decode_pdu(finishing.finished)
            ack = AckPdu(
                finished.header, DirectiveCode.EOF, pdu.condition_code, TransactionStatus.TERMINATED
            )
            self._send(ack.encode())
            self._send(finishing.finished)
        elif isinstance(pdu, AckPdu):
            del self._finishing[key]
            self._checkpoint_due = True  # dropped from the state at the next checkpoint

    def _send(self, raw: bytes) -> None:
        try:
            self.send_up(raw)
        except CommsError as exc:
            self.counters.up_failures += 1
            self.log.warning("cfdp: PDU not sent up: %s", exc)
        else:
            self.counters.pdus_up += 1

    def _pump(self) -> None:
        for _peer, raw in self.entity.pdus_to_send():
            if self._seen:
                self._note_finished(raw)
            self._send(raw)
        for event in self.entity.events():
            if isinstance(event, TransactionFinished) and not event.is_source:
                self._finished(event)
                self._events.append(event)
            elif isinstance(event, Abandoned):
                self._abandoned(event)
                self._events.append(event)
            elif isinstance(event, PduRejected | FaultIndication):
                if isinstance(event, PduRejected):
                    self.counters.rejected += 1
                self._events.append(event)

    def _note_finished(self, raw: bytes) -> None:
        pdu = decode_pdu(raw)
        if not isinstance(pdu, FinishedPdu):
            return
        self._checkpoint_due = True  # delivered or cancelled: the state must say so
        if pdu.condition_code is not ConditionCode.NO_ERROR:
            header = pdu.header
            seen = self._seen.get((header.source_entity_id, header.transaction_sequence_number))
            if seen is not None and seen.cancelled is None:
                seen.cancelled = pdu.condition_code

    def _finished(self, event: TransactionFinished) -> None:
        tid = event.transaction_id
        key = (tid.source_entity_id, tid.transaction_sequence_number)
        seen = self._seen.pop(key, None)
        if seen is None:
            return  # noticed already (saved at stop while finishing)
        self._notice(
            key,
            seen,
            seen.cancelled or event.condition_code,
            event.delivery_code,
            event.file_status.name.lower(),
            event.file_name,
        )

    def _abandoned(self, event: Abandoned) -> None:
        tid = event.transaction_id
        key = (tid.source_entity_id, tid.transaction_sequence_number)
        seen = self._seen.pop(key, None)
        if seen is not None:
            self._notice(key, seen, event.condition_code, DeliveryCode.DATA_INCOMPLETE, "abandoned")

    def _notice(
        self,
        key: tuple[int, int],
        seen: _Seen,
        condition: ConditionCode,
        delivery: DeliveryCode,
        file_status: str,
        file_name: bytes = b"",
    ) -> None:
        metadata = decode_pdu(seen.metadata) if seen.metadata else None
        eof = decode_pdu(seen.eof) if seen.eof else None
        assert metadata is None or isinstance(metadata, MetadataPdu)
        assert eof is None or isinstance(eof, EofPdu)
        if not file_name and metadata is not None:
            file_name = metadata.destination_file_name
        # Only a retained file is looked at: after a cancel, a file of the same name on
        # disk is an older one, not this transaction's. It is opened now (cheap) and
        # read when the notice is finished (see FileNotice).
        path, handle = self._on_disk(file_name) if file_status == "retained" else (None, None)
        checksum = None
        if metadata is not None and eof is not None:
            kind = metadata.checksum_type
            try:
                kind_name: str | int = ChecksumType(kind).name.lower()
            except ValueError:
                kind_name = int(kind)  # a type this stack does not know: its number
            checksum = {"type": kind_name, "value": eof.file_checksum}
        first = decode_pdu(seen.first).header
        data = {
            "name": file_name.decode("utf-8", "replace"),
            "path": path,
            # The octets read when the notice is finished replace this for a file on disk.
            "size": eof.file_size if eof else None,
            "source_file_name": metadata.source_file_name.decode("utf-8", "replace")
            if metadata
            else None,
            "checksum": checksum,
            "sha256": None,  # set by FileNotice.finish
            "transaction": {"source_entity": key[0], "sequence_number": key[1]},
            "source_entity": key[0],
            "destination_entity": self.entity_id,
            "class": 2 if first.transmission_mode is TransmissionMode.ACKNOWLEDGED else 1,
            "delivery": "complete" if delivery is DeliveryCode.DATA_COMPLETE else "incomplete",
            "condition": condition.name.lower(),
            "file_status": file_status,
        }
        mid = file_message_id(*key)
        notice = FileNotice(
            self.topics.files,
            mid,
            self.qos,
            data,
            {
                "earth_receive_time": seen.last_ert,
                "stations": list(seen.stations),
                "extra": {"first_ert": seen.first_ert},
            },
            handle,
        )
        self.counters.files += 1
        self._checkpoint_due = True  # an ended transaction leaves the state
        self.log.info(
            "cfdp: file %r from entity %d seq %d: %s (%s)",
            data["name"],
            key[0],
            key[1],
            data["delivery"],
            data["condition"],
        )
        if self.sink is not None:
            self.sink(notice.finish())
        else:
            self._messages.append(notice)

    def _on_disk(self, name: bytes) -> tuple[str | None, FileHandle | None]:
        """The delivered file's path and an open handle (None when it is not there)."""
        if not name:
            return None, None
        try:
            path = self.filestore.path(name)
            handle = self.filestore.open_read(name)
        except FilestoreError:
            return None, None
        return path, handle


def _resume_name(key: tuple[int, int]) -> bytes:
    return b".cfdp-%d-%d.resume" % key


def _key_of(entry: object) -> str:
    if isinstance(entry, dict):
        return f"({entry.get('source_entity')!r}, {entry.get('sequence_number')!r})"
    return "(unreadable)"


def _seen_fields(key: tuple[int, int], seen: _Seen) -> dict[str, Any]:
    return {
        "source_entity": key[0],
        "sequence_number": key[1],
        "first": seen.first.hex(),
        "metadata": seen.metadata.hex() if seen.metadata else None,
        "eof": seen.eof.hex() if seen.eof else None,
        "stations": seen.stations,
        "first_ert": seen.first_ert,
        "last_ert": seen.last_ert,
    }


def _seen_from(entry: dict[str, Any]) -> _Seen:
    return _Seen(
        bytes.fromhex(entry["first"]),
        metadata=bytes.fromhex(entry["metadata"]) if entry.get("metadata") else None,
        eof=bytes.fromhex(entry["eof"]) if entry.get("eof") else None,
        stations=[str(s) for s in entry["stations"]],
        first_ert=float(entry["first_ert"]),
        last_ert=float(entry["last_ert"]),
    )


def _receiving_entry(
    key: tuple[int, int], seen: _Seen, ranges: list[tuple[int, int]], part: bytes | str
) -> dict[str, Any]:
    entry = _seen_fields(key, seen)
    entry["ranges"] = ranges
    # Where the partial file is, relative to the directory: the .resume name after a
    # save, the in-progress .part name in a checkpoint.
    entry["part"] = os.fsdecode(part)
    return entry
