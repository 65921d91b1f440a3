"""links.clock: the clocks and the virtual-time event loop.

No test sleeps on real time and none asserts a wall-clock duration; virtual time is
asserted exactly (the loop jumps to a timer's own ``when``).
"""

from __future__ import annotations

import asyncio
import math
import random
from typing import cast

import pytest

from comms.errors import UsageError
from links.clock import (
    Clock,
    RealClock,
    VirtualClock,
    VirtualTimeEventLoop,
    new_virtual_event_loop,
    run_virtual,
)

# ---------------------------------------------------------------------------- clocks


def test_virtual_clock_moves_only_forward() -> None:
    clock = VirtualClock(10.0)
    assert clock.now() == 10.0
    clock.advance(2.5)
    clock.jump_to(20.0)
    clock.jump_to(20.0)  # standing still is fine
    assert clock.now() == 20.0
    for bad in (-1.0, math.nan):
        with pytest.raises(UsageError, match="only moves forward"):
            clock.advance(bad)
    with pytest.raises(UsageError, match="only moves forward"):
        clock.jump_to(19.0)
    assert "20.0" in repr(clock)


def test_real_clock() -> None:
    assert isinstance(RealClock(), Clock) and isinstance(VirtualClock(), Clock)
    clock = RealClock()
    assert clock.now() <= clock.now()  # monotonic, whatever its origin
    loop = VirtualTimeEventLoop(start=42.0)
    try:
        assert RealClock(loop).now() == 42.0  # a loop's clock is whatever the loop's is
    finally:
        loop.close()


def test_loop_arguments() -> None:
    with pytest.raises(UsageError, match="either a clock or a start"):
        VirtualTimeEventLoop(VirtualClock(), start=5.0)
    with pytest.raises(UsageError, match="autojump_threshold"):
        VirtualTimeEventLoop(autojump_threshold=-1.0)
    clock = VirtualClock(7.0)
    loop = VirtualTimeEventLoop(clock)
    try:
        assert loop.time() == 7.0 and loop.clock is clock
    finally:
        loop.close()


# ---------------------------------------------------------------------------- jumping


def test_an_hour_of_sleep_advances_exactly_an_hour() -> None:
    async def main() -> tuple[float, float]:
        loop = asyncio.get_running_loop()
        t0 = loop.time()
        await asyncio.sleep(3600)
        return t0, loop.time()

    assert run_virtual(main()) == (0.0, 3600.0)


@pytest.mark.parametrize("start", [0.0, 1e5, 1.7e9, 2.0**52])
def test_timers_fire_at_their_exact_time_at_any_epoch(start: float) -> None:
    # At a Unix epoch one ulp is 240 ns (at 2**52, 1 s), more than asyncio's 1 ns clock
    # resolution: the loop must still run a timer due exactly now, and not spin.
    async def main() -> list[float]:
        loop = asyncio.get_running_loop()
        seen: list[float] = []
        for dt in (0.001, 600.0, 1e-6):
            when = loop.time() + dt
            await asyncio.sleep(dt)
            assert loop.time() == when
            seen.append(loop.time())
        return seen

    seen = run_virtual(main(), start=start)
    assert seen == sorted(seen) and seen[-1] >= start + 600.0


def test_call_at_runs_callbacks_in_time_order() -> None:
    async def main() -> list[tuple[float, float]]:
        loop = asyncio.get_running_loop()
        done = loop.create_future()
        fired: list[tuple[float, float]] = []
        whens = [float(t) for t in range(1, 51)]
        random.Random(5).shuffle(whens)

        def fire(when: float) -> None:
            fired.append((when, loop.time()))
            if len(fired) == len(whens):
                done.set_result(None)

        for when in whens:
            loop.call_at(when, fire, when)
        cancelled = loop.call_at(25.5, fire, 25.5)
        cancelled.cancel()  # a cancelled timer is skipped, not jumped to and run
        await done
        return fired

    fired = run_virtual(main())
    assert fired == [(float(t), float(t)) for t in range(1, 51)]


def test_wait_for_and_timeout_expire_in_virtual_time() -> None:
    async def main() -> list[float]:
        loop = asyncio.get_running_loop()
        marks = []
        with pytest.raises(TimeoutError):
            await asyncio.wait_for(asyncio.sleep(10.0), timeout=5.0)
        marks.append(loop.time())
        with pytest.raises(TimeoutError):
            async with asyncio.timeout(2.5):
                await asyncio.Event().wait()  # waits on nothing but the timeout
        marks.append(loop.time())
        assert await asyncio.wait_for(asyncio.sleep(1.0, "in time"), timeout=3.0) == "in time"
        marks.append(loop.time())
        return marks

    assert run_virtual(main(), start=100.0) == [105.0, 107.5, 108.5]


def test_time_stands_still_while_callbacks_are_ready() -> None:
    async def main() -> float:
        loop = asyncio.get_running_loop()
        t0 = loop.time()
        pending = asyncio.ensure_future(asyncio.sleep(1.0))  # a timer exists meanwhile
        for _ in range(1000):
            await asyncio.sleep(0)
        dt = loop.time() - t0
        await pending
        return dt

    assert run_virtual(main()) == 0.0


def test_concurrent_sleepers_wake_in_order_at_their_times() -> None:
    async def main() -> list[tuple[str, float]]:
        loop = asyncio.get_running_loop()
        woke: list[tuple[str, float]] = []

        async def sleeper(name: str, dt: float) -> None:
            await asyncio.sleep(dt)
            woke.append((name, loop.time()))

        async with asyncio.TaskGroup() as tg:
            for name, dt in (("c", 30.0), ("a", 10.0), ("b", 20.0)):
                tg.create_task(sleeper(name, dt))
        return woke

    assert run_virtual(main()) == [("a", 10.0), ("b", 20.0), ("c", 30.0)]


def test_errors_and_results_come_back_like_asyncio_run() -> None:
    async def fails() -> None:
        await asyncio.sleep(1.0)
        raise ValueError("boom")

    with pytest.raises(ValueError, match="boom"):
        run_virtual(fails())

    async def value() -> str:
        return "ok"

    assert run_virtual(value()) == "ok"


def test_executor_work_is_awaited_not_jumped_over() -> None:
    # No timer is pending, so the loop blocks on its self-pipe until the thread is done.
    async def main() -> int:
        return await asyncio.get_running_loop().run_in_executor(None, sum, range(1000))

    assert run_virtual(main()) == 499500


# ---------------------------------------------------------------------------- manual time


def test_without_autojump_time_moves_only_by_advance() -> None:
    async def main() -> list[tuple[float, bool]]:
        loop = asyncio.get_running_loop()
        assert isinstance(loop, VirtualTimeEventLoop)
        sleeper = asyncio.ensure_future(asyncio.sleep(5.0))
        await asyncio.sleep(0)  # let it start: its timer is armed at 0 + 5
        states = []
        for step in (3.0, 2.0):
            loop.advance(step)
            for _ in range(3):  # timer due -> ready -> future done
                await asyncio.sleep(0)
            states.append((loop.time(), sleeper.done()))
        return states

    assert run_virtual(main(), autojump=False) == [(3.0, False), (5.0, True)]


# ---------------------------------------------------------------------------- real sockets


class _Echo(asyncio.DatagramProtocol):
    def __init__(self) -> None:
        self.transport: asyncio.DatagramTransport | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = cast(asyncio.DatagramTransport, transport)

    def datagram_received(self, data: bytes, addr: tuple[str, int]) -> None:
        assert self.transport is not None
        self.transport.sendto(data, addr)


class _Client(asyncio.DatagramProtocol):
    def __init__(self) -> None:
        self.replies: asyncio.Queue[bytes] = asyncio.Queue()

    def datagram_received(self, data: bytes, addr: tuple[str, int]) -> None:
        self.replies.put_nowait(data)


@pytest.mark.parametrize("threshold", [0.0, 0.001])
def test_loopback_udp_beats_a_pending_timeout(threshold: float) -> None:
    # A datagram sent to 127.0.0.1 is queued on the receiver before sendto returns, so
    # the zero-timeout poll sees it and a pending 1 s timeout never fires; between
    # round trips the loop jumps whole seconds.
    async def main() -> tuple[list[bytes], float]:
        loop = asyncio.get_running_loop()
        server, _ = await loop.create_datagram_endpoint(_Echo, local_addr=("127.0.0.1", 0))
        client, proto = await loop.create_datagram_endpoint(
            _Client, remote_addr=server.get_extra_info("sockname")
        )
        got = []
        try:
            for i in range(20):
                client.sendto(b"%d" % i)
                got.append(await asyncio.wait_for(proto.replies.get(), timeout=1.0))
                await asyncio.sleep(30.0)
        finally:
            client.close()
            server.close()
        return got, loop.time()

    got, end = run_virtual(main(), autojump_threshold=threshold)
    assert got == [b"%d" % i for i in range(20)]
    assert end == 600.0


def test_new_virtual_event_loop_is_a_loop_factory() -> None:
    with asyncio.Runner(loop_factory=lambda: new_virtual_event_loop(start=9.0)) as runner:
        assert runner.get_loop().time() == 9.0
        runner.run(asyncio.sleep(1.0))
        assert runner.get_loop().time() == 10.0
