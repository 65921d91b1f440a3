"""The consumer end of ``dawnlink demo``: an MQTT subscriber that records what arrives.

It subscribes (QoS 1) to everything under ``<prefix>/<spacecraft>/`` and keeps, per
product message, the result's sequence number and its latency (the loop's clock when
the message arrived less the result's generation time on board; both on the demo's
clock), counts duplicates by message id (QoS 1 is at-least-once), and keeps the file
notices of ``.../files``. ``print_line`` receives one line per notice for the console.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import aiomqtt

from gateway.messages import Topics

__all__ = ["Subscriber"]


@dataclass
class Subscriber:
    host: str
    port: int
    topics: Topics
    mqtt5: bool = True
    print_line: Callable[[str], None] | None = None
    #: seq -> latency (s) of the first copy of each result.
    results: dict[int, float] = field(default_factory=dict)
    duplicates: int = 0
    messages: int = 0
    errors: list[dict[str, Any]] = field(default_factory=list)
    file_notices: list[dict[str, Any]] = field(default_factory=list)
    status: list[str] = field(default_factory=list)
    ready: asyncio.Event = field(default_factory=asyncio.Event)
    changed: asyncio.Event = field(default_factory=asyncio.Event)
    _ids: set[str] = field(default_factory=set)

    async def run(self) -> None:
        """Subscribe and record until cancelled."""
        protocol = aiomqtt.ProtocolVersion.V5 if self.mqtt5 else aiomqtt.ProtocolVersion.V311
        loop = asyncio.get_running_loop()
        async with aiomqtt.Client(
            self.host, self.port, protocol=protocol, identifier="dawnlink-demo-subscriber"
        ) as client:
            await client.subscribe(f"{self.topics.root}/#", qos=1)
            self.ready.set()
            async for message in client.messages:
                self._record(str(message.topic), bytes(message.payload), loop.time())

    def _record(self, topic: str, payload: bytes, now: float) -> None:
        self.messages += 1
        self.changed.set()
        if topic == self.topics.status:
            self.status.append(payload.decode(errors="replace"))
            return
        try:
            body = json.loads(payload)
        except ValueError:
            self.errors.append({"topic": topic, "payload": payload[:200].hex()})
            return
        if topic == self.topics.files:
            self.file_notices.append(body)
            if self.print_line is not None:
                self.print_line(_notice_line(body))
            return
        if topic == self.topics.errors:
            self.errors.append(body)
            return
        ident = body.get("id")
        if ident in self._ids:
            self.duplicates += 1
            return
        if ident is not None:
            self._ids.add(ident)
        data = body.get("data")
        if isinstance(data, dict) and isinstance(data.get("seq"), int):
            self.results.setdefault(data["seq"], now - float(data["t"]))

    async def wait_for(self, predicate: Callable[[], bool]) -> None:
        """Until ``predicate()`` holds (checked after every message)."""
        while not predicate():
            self.changed.clear()
            await self.changed.wait()


def _notice_line(body: dict[str, Any]) -> str:
    """One console line for a file notice (docs/gateway-files.md has the format)."""
    data = body.get("data")
    if not isinstance(data, dict):
        return f"  file notice: {body!r:.100}"
    sha = data.get("sha256") or ""
    return (
        f"  file {data.get('name', '?')}: {data.get('delivery', '?')} "
        f"({data.get('condition', '?')}), {data.get('size', '?')} octets, CFDP class "
        f"{data.get('class', '?')}" + (f", sha256 {sha[:16]}..." if sha else "")
    )
