"""Shared pieces of the broker tests: a subscriber that records, and bounded waits."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Callable

import aiomqtt

# Every wait in these tests is for a condition, bounded so a bug fails instead of hanging.
WAIT_S = 20.0


async def wait_until(predicate: Callable[[], bool], timeout: float = WAIT_S) -> None:
    """Poll ``predicate`` on the event loop (for state with no event to await)."""
    async with asyncio.timeout(timeout):
        while not predicate():
            await asyncio.sleep(0.01)


class Recorder:
    """Subscribes to a filter and keeps every message, in arrival order."""

    def __init__(self) -> None:
        self.messages: list[aiomqtt.Message] = []
        self._changed = asyncio.Event()

    def payloads(self, topic_suffix: str = "") -> list[bytes]:
        return [
            bytes(m.payload)  # type: ignore[arg-type]
            for m in self.messages
            if str(m.topic).endswith(topic_suffix)
        ]

    async def wait_for(self, predicate: Callable[[Recorder], bool]) -> None:
        async with asyncio.timeout(WAIT_S):
            while not predicate(self):
                self._changed.clear()
                await self._changed.wait()

    def record(self, message: aiomqtt.Message) -> None:
        self.messages.append(message)
        self._changed.set()


@contextlib.asynccontextmanager
async def recording(
    host: str, port: int, topic_filter: str, *, mqtt5: bool = True
) -> AsyncIterator[Recorder]:
    """A subscriber recording ``topic_filter`` (QoS 1) while the block runs."""
    recorder = Recorder()
    ready = asyncio.Event()

    async def run() -> None:
        protocol = aiomqtt.ProtocolVersion.V5 if mqtt5 else aiomqtt.ProtocolVersion.V311
        async with aiomqtt.Client(host, port, protocol=protocol) as client:
            await client.subscribe(topic_filter, qos=1)
            ready.set()
            async for message in client.messages:
                recorder.record(message)

    task = asyncio.create_task(run())
    try:
        await wait_until(lambda: ready.is_set() or task.done())
        if task.done():
            task.result()  # raise what went wrong
        yield recorder
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError, aiomqtt.MqttError):
            await task
