"""A thin layer over aiomqtt 2.x: one connection kept up, with a status topic.

:class:`MqttLink` connects (MQTT 5 or 3.1.1, optional TLS and username/password),
publishes ``online`` retained on ``<prefix>/<spacecraft>/status`` and leaves ``offline``
retained as its last will, resubscribes its subscriptions on every connect, and
reconnects with jittered backoff (aiomqtt has no reconnect of its own). Work that needs
the connection -- the outbox publisher -- runs as a *session job*: started on each
connect inside the session's task group, cancelled when the connection drops, started
again on the next connect.

Traps handled here (shared/REFERENCES.md): aiomqtt buffers nothing while offline, so
nothing is published except from the durable outbox; its incoming queue is unbounded
here because a bounded one discards messages it has already acknowledged; a publish
awaiting its PUBACK is not woken by a lost connection, so a reader task watches the
connection and its failure cancels the session's other tasks at once. A broker that
drops the connection before its CONNACK (Mosquitto refusing a missing client
certificate) fails the connect at once with paho's reason instead of after aiomqtt's
10 s timeout, and a failed TLS handshake closes its socket (:func:`_tls_context`).
tests/gateway/test_mqtt_security.py runs TLS and passwords against a real Mosquitto.

Incoming messages: :meth:`MqttLink.subscribe` registers a filter and an async handler;
the filter is subscribed on every connect, and the reader task awaits the handler of
each matching message in arrival order (a handler's exception is logged, never fatal).
The gateway's command handler (docs/gateway-commands.md) is the user.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import random
import ssl
from collections.abc import Awaitable, Callable, Coroutine
from dataclasses import dataclass
from typing import Any

import aiomqtt
from paho.mqtt import client as paho_client
from paho.mqtt.packettypes import PacketTypes
from paho.mqtt.properties import Properties

from gateway.backoff import Backoff
from gateway.config import MqttConfig, MqttTls
from gateway.messages import Topics
from gateway.metrics import Registry
from gateway.outbox import OutboxRow

__all__ = ["MessageHandler", "MqttLink", "MqttSession", "SessionJob"]

MessageHandler = Callable[[aiomqtt.Message], Awaitable[None]]
SessionJob = Callable[["MqttSession"], Coroutine[Any, Any, None]]

STATUS_ONLINE = b"online"
STATUS_OFFLINE = b"offline"
# MQTT 5 user property carrying the message id (MQTT 5.0 section 3.3.2.3.7).
MESSAGE_ID_PROPERTY = "message-id"


class _Stopped(Exception):
    """Raised inside a session to end it because stop() was called."""


@dataclass
class MqttSession:
    """One live connection: what session jobs publish through."""

    client: aiomqtt.Client
    protocol: int

    async def publish(
        self,
        topic: str,
        payload: bytes,
        *,
        qos: int = 1,
        retain: bool = False,
        message_id: str | None = None,
    ) -> None:
        """Publish and return once the broker acknowledged it (QoS 1: the PUBACK)."""
        properties = None
        if self.protocol == 5 and message_id is not None:
            properties = Properties(PacketTypes.PUBLISH)  # type: ignore[no-untyped-call]
            properties.UserProperty = [(MESSAGE_ID_PROPERTY, message_id)]
        # No timeout of ours: a dead connection is noticed by the reader task, which
        # cancels this wait; a slow but live broker is simply slow.
        await self.client.publish(
            topic, payload, qos=qos, retain=retain, properties=properties, timeout=float("inf")
        )

    async def publish_row(self, row: OutboxRow) -> None:
        await self.publish(
            row.topic, row.payload, qos=row.qos, retain=row.retain, message_id=row.message_id
        )


class MqttLink:
    """Keeps one MQTT connection up and runs session jobs on it (see the module doc)."""

    def __init__(
        self,
        config: MqttConfig,
        topics: Topics,
        *,
        rng: random.Random,
        registry: Registry | None = None,
        logger: logging.Logger | None = None,
        inflight_window: int = 64,
    ) -> None:
        self.config = config
        self.topics = topics
        self.log = logger or logging.getLogger("gateway.mqtt")
        self.backoff = Backoff(config.reconnect_initial_s, config.reconnect_max_s, rng)
        self.inflight_window = inflight_window
        self._subscriptions: dict[str, tuple[int, MessageHandler]] = {}
        self._jobs: list[SessionJob] = []
        self._stop = asyncio.Event()
        self._connected = asyncio.Event()
        self.session: MqttSession | None = None
        self.last_error: str | None = None
        self.connects = 0
        if registry is not None:
            registry.gauge(
                "dawnlink_mqtt_connected",
                "1 while connected to the broker.",
                lambda: 1.0 if self._connected.is_set() else 0.0,
            )
            registry.counter(
                "dawnlink_mqtt_connects_total", "Successful connects.", lambda: self.connects
            )

    # -- configuration -------------------------------------------------------------------

    def subscribe(self, topic_filter: str, handler: MessageHandler, qos: int = 1) -> None:
        """Subscribe now and after every reconnect; ``handler`` gets each message."""
        self._subscriptions[topic_filter] = (qos, handler)

    def add_session_job(self, job: SessionJob) -> None:
        """Run ``job(session)`` on every connection (cancelled when it drops)."""
        self._jobs.append(job)

    # -- state ---------------------------------------------------------------------------

    @property
    def connected(self) -> bool:
        return self._connected.is_set()

    async def wait_connected(self) -> None:
        await self._connected.wait()

    def health(self) -> str | None:
        if self._connected.is_set():
            return None
        reason = f": {self.last_error}" if self.last_error else ""
        return f"mqtt: not connected to {self.config.host}:{self.config.port}{reason}"

    def stop(self) -> None:
        """End :meth:`run`: publish ``offline``, disconnect cleanly, return."""
        self._stop.set()

    # -- running -------------------------------------------------------------------------

    def _client(self) -> aiomqtt.Client:
        c = self.config
        v5 = c.protocol == 5
        client = aiomqtt.Client(
            c.host,
            c.port,
            username=c.username,
            password=c.password.reveal() if c.password is not None else None,
            identifier=c.client_id,
            protocol=aiomqtt.ProtocolVersion.V5 if v5 else aiomqtt.ProtocolVersion.V311,
            # The outbox is our persistence: a clean session each time, and the broker
            # holds nothing for us while we are away (3.1.1 clean_session, 5 clean_start).
            clean_session=None if v5 else True,
            keepalive=c.keepalive_s,
            will=aiomqtt.Will(self.topics.status, STATUS_OFFLINE, qos=1, retain=True),
            tls_context=_tls_context(c.tls) if c.tls is not None else None,
            max_inflight_messages=self.inflight_window,
            logger=logging.getLogger("gateway.mqtt.client"),
        )
        # aiomqtt logs a warning past 10 pending calls; our window is meant to be wider.
        client.pending_calls_threshold = self.inflight_window + 16
        _fail_fast_before_connack(client)
        return client

    async def run(self) -> None:
        """Connect, run the session, reconnect with backoff; until :meth:`stop`."""
        while not self._stop.is_set():
            # The session runs as its own task, awaited through asyncio.wait, so that a
            # cancellation of run() is ours to propagate: on 3.11 a TaskGroup cancelled
            # from outside can surface a child's MqttError (aiomqtt's __aexit__ timing
            # out) in place of the CancelledError, and the loop would carry on.
            session = asyncio.create_task(self._session(), name="mqtt-session")
            try:
                await self._wait_session(session)
            except asyncio.CancelledError:
                session.cancel()
                with contextlib.suppress(BaseException):
                    await session
                raise
            finally:
                self._connected.clear()
                self.session = None
            if session.cancelled():  # stopped while connecting (_wait_session)
                break
            try:
                session.result()
            except* aiomqtt.MqttError as group:
                self.last_error = _describe(group)
                self.log.warning(
                    "mqtt connection to %s:%d lost or refused: %s",
                    self.config.host,
                    self.config.port,
                    self.last_error,
                )
            except* _Stopped:
                pass
            if self._stop.is_set():
                break
            delay = self.backoff.next_delay()
            try:
                async with asyncio.timeout(delay):
                    await self._stop.wait()
            except TimeoutError:
                pass

    async def _wait_session(self, session: asyncio.Task[None]) -> None:
        # A stop while still connecting (a broker that accepted TCP but never answers
        # CONNECT) must not wait out aiomqtt's connect timeout: there is no session to
        # close cleanly yet, so the attempt is abandoned. Once connected, the session
        # itself handles the stop (offline status, clean disconnect).
        stopping = asyncio.create_task(self._stop.wait(), name="mqtt-stop-wait")
        try:
            await asyncio.wait({session, stopping}, return_when=asyncio.FIRST_COMPLETED)
            if not session.done() and not self._connected.is_set():
                session.cancel()
            await asyncio.wait({session})
        finally:
            stopping.cancel()

    async def _session(self) -> None:
        async with self._client() as client:
            session = MqttSession(client, self.config.protocol)
            # Subscribed before saying online: "online" then means commands are heard.
            for topic_filter, (qos, _) in self._subscriptions.items():
                await client.subscribe(topic_filter, qos=qos)
            await client.publish(self.topics.status, STATUS_ONLINE, qos=1, retain=True)
            self.session = session
            self.connects += 1
            self.backoff.reset()
            self.last_error = None
            self._connected.set()
            self.log.info("mqtt connected to %s:%d", self.config.host, self.config.port)
            async with asyncio.TaskGroup() as tasks:
                tasks.create_task(self._read(client), name="mqtt-reader")
                tasks.create_task(self._until_stopped(session), name="mqtt-stopper")
                for job in self._jobs:
                    tasks.create_task(job(session), name=f"mqtt-job-{job!r:.40}")

    async def _until_stopped(self, session: MqttSession) -> None:
        await self._stop.wait()
        # A clean disconnect does not fire the will: say offline ourselves.
        await session.client.publish(self.topics.status, STATUS_OFFLINE, qos=1, retain=True)
        raise _Stopped

    async def _read(self, client: aiomqtt.Client) -> None:
        # Also our connection watchdog: the iterator raises MqttError when it drops.
        async for message in client.messages:
            for topic_filter, (_, handler) in self._subscriptions.items():
                if message.topic.matches(topic_filter):
                    try:
                        await handler(message)
                    except Exception:
                        # One bad message or handler bug must not take the link down.
                        self.log.exception("handler for %s failed", topic_filter)


class _ClosingSSLSocket(ssl.SSLSocket):
    """An SSLSocket that closes itself when its handshake fails.

    paho's connect leaves the socket of a failed handshake (an untrusted broker
    certificate) to the garbage collector: an open descriptor and a ResourceWarning per
    reconnect attempt until then."""

    def do_handshake(self, block: bool = False) -> None:
        try:
            super().do_handshake(block)
        except BaseException:
            self.close()
            raise


def _tls_context(tls: MqttTls) -> ssl.SSLContext:
    """``tls.ssl_context()`` whose sockets close themselves when the handshake fails."""
    context = tls.ssl_context()
    context.sslsocket_class = _ClosingSSLSocket
    return context


def _fail_fast_before_connack(client: aiomqtt.Client) -> None:
    """Fail ``client``'s connect at once when the broker closes before its CONNACK.

    aiomqtt 2.x ignores a disconnect before the CONNACK and waits out its timeout (10 s),
    then says only "Operation timed out". Mosquitto does exactly that to a TLS client
    without the certificate it requires: under TLS 1.3 the client's handshake completes
    and the refusal comes as an alert on the first read. So the connect fails here with
    the last error paho logged ("failed to receive on socket: [SSL:
    TLSV13_ALERT_CERTIFICATE_REQUIRED] ..."). Uses aiomqtt internals (``_client``,
    ``_connected``); without them it changes nothing.
    """
    paho = getattr(client, "_client", None)
    if paho is None or not isinstance(getattr(client, "_connected", None), asyncio.Future):
        return
    aiomqtt_on_disconnect = paho.on_disconnect
    errors: list[str] = []

    def on_log(_paho: Any, _userdata: Any, level: int, text: str) -> None:
        if level == paho_client.MQTT_LOG_ERR:
            errors[:] = [text]

    def on_disconnect(*args: Any) -> None:
        connected: asyncio.Future[None] = client._connected
        if connected.done():
            aiomqtt_on_disconnect(*args)
            return
        reason = errors[-1] if errors else f"reason {args[3]}"
        connected.set_exception(aiomqtt.MqttError(f"closed before CONNACK: {reason}"))
        connected.exception()  # retrieved: a connect that already gave up never awaits it

    paho.on_log = on_log
    paho.on_disconnect = on_disconnect


def _describe(group: BaseExceptionGroup[aiomqtt.MqttError]) -> str:
    """The first underlying error of a (possibly nested) group, for the log: the
    session's TaskGroup wraps it once more, and "unhandled errors in a TaskGroup" says
    nothing about the broker."""
    exc: BaseException = group
    while isinstance(exc, BaseExceptionGroup):
        exc = exc.exceptions[0]
    return f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__
