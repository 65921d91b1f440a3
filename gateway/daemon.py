"""The gateway daemon: one task group owning the HTTP endpoint, the MQTT link with its
outbox publisher, and (later) the ingest pipeline.

The pipeline plugs in as a :data:`Pipeline` coroutine function: it is started in the
gateway's task group with the gateway itself, and hands products to
:meth:`Gateway.put_product` (or whole batches of :class:`OutboxMessage` to
``gateway.outbox`` via ``asyncio.to_thread``). Stopping (SIGTERM) ends the pipeline
first, then lets the publisher flush the outbox for up to ``shutdown_grace_s`` while the
broker is reachable, then says ``offline`` and disconnects; whatever is still in the
outbox is published on the next start.

With ``[[uplink.stations]]`` configured the gateway also runs the command uplink:
``gateway.uplink`` (:class:`gateway.uplink.Uplink`, which the pipeline feeds with CLCWs)
and ``gateway.commands`` (:class:`gateway.command_service.CommandService`: commands in
from MQTT, progress out through the outbox). They stop before the outbox flush, so the
last responses are published with everything else.
"""

from __future__ import annotations

import asyncio
import logging
import random
import time
from collections.abc import Callable, Coroutine, Mapping, Sequence
from typing import Any

from gateway.command_service import CommandService
from gateway.config import GatewayConfig
from gateway.http import HttpServer
from gateway.messages import OutboxMessage, Topics, envelope
from gateway.metrics import Registry
from gateway.mqtt import MqttLink
from gateway.outbox import Outbox, OutboxPublisher
from gateway.uplink import Uplink

__all__ = ["Gateway", "Pipeline"]

Pipeline = Callable[["Gateway"], Coroutine[Any, Any, None]]


class Gateway:
    def __init__(
        self,
        config: GatewayConfig,
        *,
        pipeline: Pipeline | None = None,
        rng: random.Random | None = None,
        clock: Callable[[], float] = time.time,
        shutdown_grace_s: float = 10.0,
        logger: logging.Logger | None = None,
    ) -> None:
        self.config = config
        self.log = logger or logging.getLogger("gateway")
        self.registry = Registry()
        self.topics = Topics(config.mqtt.topic_prefix, config.spacecraft.name)
        ob = config.outbox
        self.outbox = Outbox(
            ob.path,
            max_rows=ob.max_rows,
            max_bytes=ob.max_bytes,
            overflow=ob.overflow,
            synchronous=ob.synchronous,
            clock=clock,
        )
        self.outbox.register_metrics(self.registry)
        self.mqtt = MqttLink(
            config.mqtt,
            self.topics,
            rng=rng or random.Random(),
            registry=self.registry,
            inflight_window=ob.inflight_window,
        )
        self.publisher = OutboxPublisher(self.outbox, window=ob.inflight_window)
        self.mqtt.add_session_job(self._drain)
        self.http: HttpServer | None = None
        if config.metrics.enabled:
            max_age = config.metrics.max_outbox_age_s
            self.http = HttpServer(
                self.registry,
                [self.mqtt.health, lambda: self.outbox.health(max_age)],
                host=config.metrics.host,
                port=config.metrics.port,
            )
        # The command uplink (docs/gateway-commands.md): on when [[uplink.stations]] exist.
        self.uplink: Uplink | None = None
        self.commands: CommandService | None = None
        if config.uplink.stations:
            self.uplink = Uplink(
                config.uplink,
                config.spacecraft.scid,
                rng=random.Random((rng or random.Random()).random()),
                clock=clock,
                logger=self.log.getChild("uplink"),
            )
            self.commands = CommandService(
                config,
                self.topics,
                self.outbox,
                self.uplink,
                self.mqtt,
                clock=clock,
                logger=self.log.getChild("commands"),
                registry=self.registry,
            )
        self.pipeline = pipeline
        self.shutdown_grace_s = shutdown_grace_s
        self._stop = asyncio.Event()
        self.started = asyncio.Event()

    async def _drain(self, session: Any) -> None:
        # The products go out on a second, pipelined connection of the session's
        # lifetime (gateway.mqtt_pipe: aiomqtt's per-message cost caps publishing near
        # a naive await-each loop); the aiomqtt session keeps status, will and commands.
        await self.publisher.drain_pipelined(self.config.mqtt)

    async def put_product(
        self,
        product: str,
        data: bytes | Mapping[str, Any] | Sequence[Any] | str | int | float | None,
        *,
        message_id: str,
        earth_receive_time: float,
        stations: Sequence[str],
        spacecraft_time: float | None = None,
        apid: int | None = None,
    ) -> int:
        """Store one product for publishing on ``.../products/<product>``; returns its rowid.

        In ``payload_format = "json"`` the payload is the envelope (docs/gateway.md); in
        ``"raw"`` it is ``data`` itself (bytes only) and the id rides in the MQTT 5
        user property alone.
        """
        if self.config.mqtt.payload_format == "raw":
            if not isinstance(data, bytes):
                raise TypeError("payload_format 'raw' publishes bytes only")
            payload = data
        else:
            payload = envelope(
                message_id=message_id,
                product=product,
                data=data,
                earth_receive_time=earth_receive_time,
                stations=stations,
                spacecraft_time=spacecraft_time,
                apid=apid,
            )
        message = OutboxMessage(
            self.topics.product(product), payload, message_id, qos=self.config.mqtt.qos
        )
        return await asyncio.to_thread(self.outbox.put, message)

    def stop(self) -> None:
        """Ask :meth:`run` to flush and return (safe from a signal handler)."""
        self._stop.set()

    async def run(self) -> None:
        try:
            async with asyncio.TaskGroup() as tasks:
                if self.http is not None:
                    await self.http.start()
                    http_task = tasks.create_task(self.http.serve(), name="http")
                mqtt_task = tasks.create_task(self.mqtt.run(), name="mqtt")
                uplink_tasks = []
                if self.uplink is not None and self.commands is not None:
                    uplink_tasks.append(tasks.create_task(self.uplink.run(), name="uplink"))
                    uplink_tasks.append(tasks.create_task(self.commands.run(), name="commands"))
                pipeline_task: asyncio.Task[None] | None = None
                if self.pipeline is not None:
                    pipeline_task = tasks.create_task(self.pipeline(self), name="pipeline")
                self.started.set()
                self.log.info("gateway running for %s", self.topics.root)
                await self._stop.wait()
                self.log.info("stopping")
                if pipeline_task is not None:
                    # Wait for its cleanup (the last products stored, CFDP state saved)
                    # so the flush below publishes them too.
                    pipeline_task.cancel()
                    await asyncio.wait([pipeline_task])
                for task in uplink_tasks:
                    # Commands stop first; their responses are stored as the task ends.
                    task.cancel()
                if uplink_tasks:
                    await asyncio.wait(uplink_tasks)
                self.log.info("stopping: flushing %d queued messages", len(self.outbox))
                await self._flush()
                self.mqtt.stop()
                await mqtt_task
                if self.http is not None:
                    http_task.cancel()
        finally:
            self.outbox.close()
        self.log.info("gateway stopped; %d messages left for the next start", len(self.outbox))

    async def _flush(self) -> None:
        # A bounded wait for the publisher to empty the outbox: polled, since acks land
        # in batches from a worker thread. Skipped when the broker is away.
        try:
            async with asyncio.timeout(self.shutdown_grace_s):
                while len(self.outbox) and self.mqtt.connected:
                    await asyncio.sleep(0.05)
        except TimeoutError:
            pass
