"""The asyncio glue between MQTT commands, the uplink and the outbox.

:class:`CommandService` subscribes to ``<prefix>/<spacecraft>/commands/+``, checks each
message with :class:`gateway.commands.CommandAuthority`, submits an authorized one to
:class:`gateway.uplink.Uplink` and reports its progress on
``<prefix>/<spacecraft>/responses/<sender>``. Responses go through the durable outbox,
so a broker outage delays them but loses none. When an MQTT 5 command carries a
Response Topic (and Correlation Data), each response is also published there live,
with the Correlation Data echoed: best effort, since the requester is waiting on its
session now; the outbox copy on the default topic is the durable one. A Response Topic
inside the gateway's own topic prefix is honoured only under ``.../responses/``, so a
command cannot make the gateway publish over its products or status.

A command is acknowledged to the broker (PUBACK) when received, before it is checked:
after a gateway crash in between, the sender sees no response and sends again with a
new sequence number. The gateway's MQTT session is clean, so commands published while
it is away are not delivered later (a stale command must not radiate).

Stopping: every command not yet final gets a ``failed`` response that says how far it
got (:meth:`gateway.uplink.TcUplink.abandon`), stored in the outbox as :meth:`run`
ends, which the daemon awaits before its outbox flush; so the operator hears of it
now, or on the next start if the broker is away. A command that arrives after that
(the MQTT link stays up for the flush) is not checked, so its sequence number stays
unused, and gets ``failed`` "gateway stopping: not taken". Nothing is re-queued on the
next start: the sender decides whether a stale command should still go up.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import hashlib
import logging
import sqlite3
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import aiomqtt
from paho.mqtt.packettypes import PacketTypes
from paho.mqtt.properties import Properties

from comms.errors import CommsError, UsageError
from gateway.commands import (
    CommandAuthority,
    CommandRefused,
    FreshnessStore,
    parse_command,
    response,
)
from gateway.config import GatewayConfig
from gateway.messages import OutboxMessage, Topics, message_id
from gateway.metrics import Registry
from gateway.mqtt import MqttLink
from gateway.outbox import Outbox, OutboxFull
from gateway.uplink import Progress, ProgressState, Uplink

__all__ = ["CommandService", "default_state_path"]

#: Pause before storing responses again when the outbox is full (as the pipeline).
RETRY_S = 1.0


def default_state_path(config: GatewayConfig) -> Path:
    """``[uplink] state_path``, or ``<outbox>-commands.json`` next to the outbox."""
    if config.uplink.state_path is not None:
        return config.uplink.state_path
    outbox = config.outbox.path
    return outbox.with_name(outbox.stem + "-commands.json")


@dataclass
class _Pending:
    """A command on its way: who to tell, where."""

    command_id: str
    sender: str
    seq: int
    reply_topic: str | None
    correlation_data: bytes | None


class CommandService:
    def __init__(
        self,
        config: GatewayConfig,
        topics: Topics,
        outbox: Outbox,
        uplink: Uplink,
        mqtt: MqttLink,
        *,
        clock: Callable[[], float] = time.time,
        logger: logging.Logger | None = None,
        registry: Registry | None = None,
    ) -> None:
        self.topics = topics
        self.outbox = outbox
        self.uplink = uplink
        self.mqtt = mqtt
        self.clock = clock
        self.log = logger or logging.getLogger("gateway.commands")
        self.authority = CommandAuthority(
            config.uplink.senders,
            config.spacecraft.name,
            FreshnessStore(default_state_path(config)),
            window_s=config.uplink.freshness_window_s,
            max_payload=uplink.max_packet_data,
        )
        self._final_on_radiated = config.uplink.cop1 is None
        self._pending: dict[str, _Pending] = {}
        self._store: list[OutboxMessage] = []
        self._store_ready = asyncio.Event()
        self._live: asyncio.Queue[tuple[str, bytes, bytes | None]] = asyncio.Queue()
        self._stopped = False
        self.refused = 0
        self.accepted = 0
        uplink.on_progress = self._on_progress
        mqtt.subscribe(topics.commands("+"), self.handle)
        if registry is not None:
            self._register(registry)

    def _register(self, registry: Registry) -> None:
        registry.counter(
            "dawnlink_commands_accepted_total",
            "Commands authorized and queued for the uplink.",
            lambda: self.accepted,
        )
        registry.counter(
            "dawnlink_commands_refused_total",
            "Commands refused (malformed, unauthorized, stale or replayed).",
            lambda: self.refused,
        )
        registry.counter(
            "dawnlink_uplink_cltus_total",
            "CLTUs written to uplink stations (retransmissions included).",
            lambda: self.uplink.cltus_sent,
        )
        registry.gauge(
            "dawnlink_uplink_stations_connected",
            "Uplink station connections up.",
            lambda: self.uplink.stations_connected,
        )

    # -- commands in -----------------------------------------------------------------

    async def handle(self, message: aiomqtt.Message) -> None:
        """One message from ``.../commands/<sender>``."""
        topic = str(message.topic)
        name = topic.rsplit("/", 1)[-1]
        payload = message.payload
        if isinstance(payload, bytes | bytearray):
            raw = bytes(payload)
        else:
            raw = b"" if payload is None else str(payload).encode()
        reply_topic, correlation = self._reply_to(message)
        now = self.clock()
        if self._stopped:
            self._not_taken(name, topic, raw, now, (reply_topic, correlation))
            return
        try:
            command = self.authority.check(raw, now, topic_sender=name)
        except CommandRefused as refused:
            self.refused += 1
            self.log.warning("command on %s refused: %s", topic, refused)
            key = refused.command_id or hashlib.sha256(raw).hexdigest()
            self._respond(
                name,
                refused.command_id,
                refused.sender,
                ProgressState.REFUSED,
                now,
                reason=refused.refusal.value,
                detail=refused.detail,
                unique=("refused", topic, key, hashlib.sha256(raw).hexdigest()),
                reply=(reply_topic, correlation),
            )
            return
        except OSError as exc:
            # The sequence number could not be recorded: accepting would open a replay.
            self.log.error("command state file not written: %s", exc)
            self._respond(
                name,
                None,
                None,
                ProgressState.FAILED,
                now,
                reason=f"the gateway cannot record sequence numbers ({exc.strerror})",
                unique=("failed", topic, hashlib.sha256(raw).hexdigest()),
                reply=(reply_topic, correlation),
            )
            return
        self.accepted += 1
        tag = f"{command.sender}/{command.seq}"
        pending = _Pending(command.id, command.sender, command.seq, reply_topic, correlation)
        self._pending[tag] = pending
        self._respond_pending(pending, ProgressState.ACCEPTED, now)
        try:
            self.uplink.submit(command.apid, command.payload, tag=tag)
        except UsageError as exc:
            self._pending.pop(tag, None)
            self._respond_pending(pending, ProgressState.FAILED, now, reason=str(exc))

    def _not_taken(
        self,
        name: str,
        topic: str,
        raw: bytes,
        now: float,
        reply: tuple[str | None, bytes | None],
    ) -> None:
        # Not checked, so its sequence number is not used up: the sender may send the
        # same message again once the gateway is back (while it is still fresh).
        command_id = sender = None
        try:
            parsed = parse_command(raw)
            command_id, sender = parsed.id, parsed.sender
        except CommandRefused as refused:
            command_id, sender = refused.command_id, refused.sender
        self.log.warning("command on %s not taken: the gateway is stopping", topic)
        self._respond(
            name,
            command_id,
            sender,
            ProgressState.FAILED,
            now,
            reason="gateway stopping: not taken (its seq is not used; send it again later)",
            unique=("not-taken", topic, hashlib.sha256(raw).hexdigest()),
            reply=reply,
        )
        self._store_now()

    def _reply_to(self, message: aiomqtt.Message) -> tuple[str | None, bytes | None]:
        props = message.properties
        topic = getattr(props, "ResponseTopic", None) if props is not None else None
        data = getattr(props, "CorrelationData", None) if props is not None else None
        if not isinstance(topic, str) or not topic or any(c in topic for c in "+#\x00"):
            return None, None
        own = self.topics.prefix + "/"
        if topic.startswith(own) and not topic.startswith(f"{self.topics.root}/responses/"):
            self.log.warning("ignoring response topic %r inside the gateway's topics", topic)
            return None, None
        return topic, bytes(data) if isinstance(data, bytes | bytearray) else None

    # -- progress out ----------------------------------------------------------------

    def _on_progress(self, progress: Progress) -> None:
        pending = self._pending.get(progress.tag)
        if pending is None:
            return
        final = progress.state.final or (
            self._final_on_radiated and progress.state is ProgressState.RADIATED
        )
        if final:
            del self._pending[progress.tag]
        self._respond_pending(
            pending, progress.state, progress.time, reason=progress.reason, station=progress.station
        )

    def _respond_pending(
        self,
        pending: _Pending,
        state: ProgressState,
        now: float,
        *,
        reason: str | None = None,
        station: str | None = None,
    ) -> None:
        self._respond(
            pending.sender,
            pending.command_id,
            pending.sender,
            state,
            now,
            reason=reason,
            station=station,
            unique=(pending.sender, pending.seq, pending.command_id, state.value),
            reply=(pending.reply_topic, pending.correlation_data),
        )

    def _respond(
        self,
        name: str,
        command_id: str | None,
        sender: str | None,
        state: ProgressState,
        now: float,
        *,
        unique: tuple[object, ...],
        reply: tuple[str | None, bytes | None],
        reason: str | None = None,
        detail: str | None = None,
        station: str | None = None,
    ) -> None:
        reply_topic, correlation = reply
        extra = (
            {"correlation_data": base64.b64encode(correlation).decode("ascii")}
            if correlation is not None
            else None
        )
        body = response(
            command_id=command_id,
            sender=sender,
            state=state,
            time=now,
            reason=reason,
            detail=detail,
            station=station,
            extra=extra,
        )
        mid = message_id("command-response", self.topics.root, *unique)
        try:
            topic = self.topics.responses(name)
        except UsageError:
            # A topic level we cannot publish under: only a Response Topic can be told.
            self.log.warning("no response topic for command topic level %r", name)
        else:
            self._store.append(OutboxMessage(topic, body, mid, qos=1))
            self._store_ready.set()
        if reply_topic is not None:
            self._live.put_nowait((reply_topic, body, correlation))

    # -- running ---------------------------------------------------------------------

    async def run(self) -> None:
        """Store responses in the outbox and publish live replies, until cancelled;
        responses not yet stored are stored on the way out."""
        try:
            async with asyncio.TaskGroup() as tasks:
                tasks.create_task(self._writer(), name="command-responses")
                tasks.create_task(self._replier(), name="command-replies")
        finally:
            self._stop_commands()

    def _stop_commands(self) -> None:
        """Fail what is still on its way and store every response not yet stored."""
        self._stopped = True
        try:
            self.uplink.abandon()  # a `failed` with its reason for each, via _on_progress
        finally:
            for pending in list(self._pending.values()):
                # Left only if the uplink never reported it: still, no silent drop.
                self._respond_pending(
                    pending, ProgressState.FAILED, self.clock(), reason="gateway stopping"
                )
            self._pending.clear()
            self._store_now()

    def _store_now(self) -> None:
        # Synchronously: called while stopping, with no writer task left to wait for.
        batch, self._store = self._store, []
        if batch:
            try:
                self.outbox.put_many(batch)
            except (CommsError, sqlite3.Error) as exc:
                self.log.error("%d command responses not stored at stop: %s", len(batch), exc)

    async def _writer(self) -> None:
        while True:
            await self._store_ready.wait()
            self._store_ready.clear()
            while self._store:
                batch, self._store = self._store, []
                try:
                    await asyncio.to_thread(self.outbox.put_many, batch)
                except OutboxFull as exc:
                    self._store[:0] = batch
                    self.log.warning("outbox full (%s); retrying in %.1f s", exc, RETRY_S)
                    await asyncio.sleep(RETRY_S)

    async def _replier(self) -> None:
        while True:
            topic, body, correlation = await self._live.get()
            session = self.mqtt.session
            if session is None:
                continue  # best effort: the durable copy is on the default topic
            properties = None
            if session.protocol == 5 and correlation is not None:
                properties = Properties(PacketTypes.PUBLISH)  # type: ignore[no-untyped-call]
                properties.CorrelationData = correlation
            with contextlib.suppress(aiomqtt.MqttError):
                await session.client.publish(topic, body, qos=1, properties=properties)
