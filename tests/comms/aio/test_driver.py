"""The generic driver, on links.clock's virtual-time loop.

Virtual time makes the timer assertions exact: a timer armed for t fires with
``loop.time() == t``, and a 10-minute exchange runs without sleeping.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator, Callable

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from comms.aio import Driver, Machine
from comms.errors import UsageError
from links.clock import VirtualTimeEventLoop, run_virtual
from tests.comms.aio.helpers import (
    Acked,
    Bursty,
    Delivered,
    Event,
    GaveUp,
    Sent,
    Sticky,
    StopAndWait,
)

virtual = pytest.mark.asyncio(loop_factories=["virtual"])


async def take(events: AsyncIterator[Event], n: int) -> list[Event]:
    out: list[Event] = []
    async for event in events:
        out.append(event)
        if len(out) == n:
            break
    return out


def driver_for(machine: StopAndWait, sent: list[bytes]) -> Driver[Event]:
    return Driver(machine, drain=lambda: machine.drain_to(sent.append))


def test_the_toy_machine_has_the_machine_face() -> None:
    assert isinstance(StopAndWait(), Machine)


@virtual
async def test_timer_fires_at_the_exact_deadline() -> None:
    machine = StopAndWait(rto=2.0, limit=3)
    sent: list[bytes] = []
    async with driver_for(machine, sent) as driver:
        t0 = asyncio.get_running_loop().time()
        driver.feed(machine.send, b"x")
        events = await take(driver.events(), 4)
    assert events == [
        Sent(b"x", t0, 1),
        Sent(b"x", t0 + 2.0, 2),
        Sent(b"x", t0 + 4.0, 3),
        GaveUp(b"x", t0 + 6.0),
    ]
    assert machine.timer_calls == [(t0 + 2.0, t0 + 2.0), (t0 + 4.0, t0 + 4.0), (t0 + 6.0, t0 + 6.0)]
    assert sent == [b"Dx"] * 3
    assert driver.timers_fired == 3


@virtual
async def test_an_input_rearms_the_timer() -> None:
    loop = asyncio.get_running_loop()
    machine = StopAndWait(rto=2.0)
    sent: list[bytes] = []
    async with driver_for(machine, sent) as driver:
        events = driver.events()
        driver.feed(machine.send, b"x")
        await asyncio.sleep(1.0)
        driver.feed(machine.receive, b"Ax")  # acked before the deadline: timer cancelled
        await asyncio.sleep(10.0)
        assert machine.timer_calls == []
        driver.feed(machine.send, b"y")  # armed anew at 11 + 2
        got = await take(events, 4)
    assert got == [Sent(b"x", 0.0, 1), Acked(b"x", 1.0), Sent(b"y", 11.0, 1), Sent(b"y", 13.0, 2)]
    assert loop.time() == 13.0


@virtual
async def test_an_unchanged_deadline_keeps_the_armed_timer() -> None:
    machine = StopAndWait(rto=5.0)
    async with driver_for(machine, []) as driver:
        driver.feed(machine.send, b"x")
        await asyncio.sleep(0)
        armed = driver._timer
        assert armed is not None and armed.when() == 5.0
        driver.feed(machine.receive, b"Dpeer")  # new output, same deadline
        await asyncio.sleep(0)
        assert driver._timer is armed and not armed.cancelled()


@virtual
async def test_a_burst_of_inputs_is_one_drain() -> None:
    machine = StopAndWait()
    sent: list[bytes] = []
    async with driver_for(machine, sent) as driver:
        before = driver.drains
        for i in range(100):
            driver.feed(machine.receive, b"D%d" % i)
        assert driver.drains == before and sent == []  # nothing drained inside the burst
        await asyncio.sleep(0)
        assert driver.drains == before + 1
        assert sent == [b"A%d" % i for i in range(100)]


@virtual
async def test_an_input_error_goes_to_the_caller_and_the_driver_stays_open() -> None:
    machine = StopAndWait()
    sent: list[bytes] = []
    async with driver_for(machine, sent) as driver:
        driver.feed(machine.send, b"x")
        with pytest.raises(UsageError, match="outstanding"):
            driver.feed(machine.send, b"y")
        assert not driver.closed
        driver.feed(machine.receive, b"Ax")
        driver.feed(machine.send, b"y")
    assert sent == [b"Dx", b"Dy"]
    assert driver.exception is None


class _FailingTimer(StopAndWait):
    def on_timer(self, now: float) -> None:
        raise RuntimeError("timer bug")


@virtual
async def test_a_timer_error_closes_the_driver_and_surfaces(
    caplog: pytest.LogCaptureFixture,
) -> None:
    machine = _FailingTimer(rto=1.0)
    driver = driver_for(machine, [])
    with (
        caplog.at_level(logging.ERROR, logger="comms.aio"),
        pytest.raises(RuntimeError, match="timer bug"),
    ):
        async with driver:
            driver.feed(machine.send, b"x")
            async for _ in driver.events():  # raises when the driver closes
                pass
    assert driver.closed and isinstance(driver.exception, RuntimeError)
    assert any("on_timer raised" in r.getMessage() for r in caplog.records)
    with pytest.raises(RuntimeError, match="timer bug"):
        await driver.wait_closed()
    with pytest.raises(UsageError, match="closed"):
        driver.feed(machine.receive, b"Dx")


@virtual
async def test_a_drain_error_closes_the_driver() -> None:
    machine = StopAndWait()

    def drain() -> list[Event]:
        if machine.outbox:
            raise OSError("transport gone")
        return []

    driver: Driver[Event] = Driver(machine, drain=drain)
    with pytest.raises(OSError, match="transport gone"):
        async with driver:
            driver.feed(machine.send, b"x")
            await driver.wait_closed()


@virtual
async def test_a_wait_closed_caller_gets_the_error_and_so_does_the_exit() -> None:
    machine = _FailingTimer(rto=3.0)
    with pytest.raises(RuntimeError, match="timer bug"):
        async with driver_for(machine, []) as driver:
            driver.feed(machine.send, b"x")
            with pytest.raises(RuntimeError, match="timer bug"):
                await driver.wait_closed()
            assert asyncio.get_running_loop().time() == 3.0
    # The exit raises it again: an error is never lost because one waiter saw it.


@virtual
async def test_feeder_drops_bad_peer_input_and_closes_on_a_bug() -> None:
    machine = StopAndWait()
    sent: list[bytes] = []
    driver = driver_for(machine, sent)
    with pytest.raises(ZeroDivisionError):
        async with driver:
            deliver = driver.feeder(machine.receive)
            deliver(b"?junk", now=0.0)  # DecodeError: the link's fault, tolerated
            deliver(b"Dok", now=0.0)
            await asyncio.sleep(0)
            assert driver.inputs_rejected == 1 and sent == [b"Aok"]
            assert not driver.closed
            broken = driver.feeder(lambda data, now: 1 / 0)
            broken(b"x", now=0.0)  # never raises into the transport...
            assert driver.closed  # ...but closes the driver
            broken(b"x", now=0.0)  # after close: dropped


class _StuckTimer(StopAndWait):
    def on_timer(self, now: float) -> None:
        self.timer_calls.append((now, self.deadline))  # forgets to clear its deadline


@pytest.mark.asyncio(loop_factories=["real", "virtual"])
async def test_a_machine_that_leaves_a_due_timer_is_stopped_not_spun() -> None:
    # On virtual time the clock cannot move while the machine is due; on real time it
    # moves, but the stale deadline does not: either way, a clear error after the cap.
    machine = _StuckTimer(rto=0.01)
    driver = Driver(machine, drain=lambda: machine.drain_to(lambda d: None), max_due_turns=50)
    ticks = 0

    async def ticker() -> None:  # one tick a loop turn
        nonlocal ticks
        while True:
            await asyncio.sleep(0)
            ticks += 1

    with pytest.raises(UsageError, match=r"stayed due at next_deadline\(\) .* 50 loop turns"):
        async with driver:
            t0 = driver.loop.time()
            driver.feed(machine.send, b"x")
            await asyncio.sleep(0.01)  # the deadline: the spin starts after it
            ticking = asyncio.create_task(ticker())
            try:
                await driver.wait_closed()
            finally:
                ticking.cancel()
    # The timer at the deadline, then 50 turns still due at that same deadline, with
    # the loop turning for other tasks in between.
    assert len(machine.timer_calls) == 51
    deadlines = {deadline for _, deadline in machine.timer_calls}
    assert len(deadlines) == 1 and min(deadlines) >= t0 + 0.01  # type: ignore[operator]
    assert ticks >= 40


@virtual
async def test_the_default_cap_stops_a_stuck_machine_too() -> None:
    machine = _StuckTimer(rto=1.0)
    with pytest.raises(UsageError, match="10000 loop turns"):
        async with driver_for(machine, []) as driver:
            driver.feed(machine.send, b"x")
            await driver.wait_closed()
    assert machine.timer_calls == [(1.0, 1.0)] * 10_001
    assert asyncio.get_running_loop().time() == 1.0  # virtual time stood still meanwhile


@virtual
async def test_close_drains_what_is_pending_and_ends_the_events() -> None:
    machine = StopAndWait()
    sent: list[bytes] = []
    async with driver_for(machine, sent) as driver:
        driver.feed(machine.send, b"x")  # exits before the call_soon drain runs
    assert sent == [b"Dx"]
    assert [e async for e in driver.events()] == [Sent(b"x", 0.0, 1)]
    assert [e async for e in driver.events()] == []  # ended for every reader
    await driver.wait_closed()
    driver.close()  # twice is harmless


@virtual
async def test_usage_errors() -> None:
    machine = StopAndWait()
    driver = driver_for(machine, [])
    with pytest.raises(UsageError, match="Start the driver"):
        driver.feed(machine.send, b"x")
    with pytest.raises(UsageError, match="never started"):
        await driver.wait_closed()
    with pytest.raises(UsageError, match="no loop"):
        _ = driver.loop
    async with driver:
        with pytest.raises(UsageError, match="already started"):
            driver.start()
    for bad in (0, -1, 1.5, True):
        with pytest.raises(UsageError, match="max_due_turns"):
            Driver(machine, drain=lambda: None, max_due_turns=bad)  # type: ignore[arg-type]


def test_a_driver_can_be_bound_to_a_loop_given_up_front() -> None:
    async def main() -> list[bytes]:
        machine = StopAndWait()
        sent: list[bytes] = []
        async with Driver(machine, drain=lambda: machine.drain_to(sent.append), loop=loop):
            pass
        return sent

    loop = asyncio.new_event_loop()
    try:
        assert loop.run_until_complete(main()) == []
    finally:
        loop.close()


class Wire:
    """A one-way in-memory link: delay, and a predicate that loses datagrams."""

    def __init__(self, delay: float, lose: Callable[[int], bool] = lambda n: False) -> None:
        self.delay = delay
        self.lose = lose
        self.count = 0
        self.deliver: Callable[..., None] | None = None

    def send(self, datagram: bytes) -> None:
        self.count += 1
        if self.lose(self.count):
            return
        loop = asyncio.get_running_loop()
        assert self.deliver is not None
        loop.call_later(self.delay, lambda: self.deliver(datagram, now=loop.time()))  # type: ignore[misc]


async def exchange(seconds: float, *, delay: float, lose_every: int) -> tuple[int, set[bytes]]:
    loop = asyncio.get_running_loop()
    a, b = StopAndWait(rto=1.0, limit=10), StopAndWait(rto=1.0, limit=10)
    a_to_b = Wire(delay, lambda n: n % lose_every == 0)
    b_to_a = Wire(delay, lambda n: n % (lose_every + 1) == 0)
    delivered: set[bytes] = set()

    def drain_b() -> list[Event]:
        events = b.drain_to(b_to_a.send)
        delivered.update(e.payload for e in events if isinstance(e, Delivered))
        return []

    acked = 0
    async with (
        Driver(a, drain=lambda: a.drain_to(a_to_b.send), name="a") as da,
        Driver(b, drain=drain_b, name="b") as db,
    ):
        a_to_b.deliver = db.feeder(b.receive)
        b_to_a.deliver = da.feeder(a.receive)
        events = da.events()
        n = 0
        while loop.time() < seconds:
            da.feed(a.send, b"%d" % n)
            n += 1
            async for event in events:
                if isinstance(event, GaveUp):
                    raise AssertionError(f"gave up on {event}")
                if isinstance(event, Acked):
                    acked += 1
                    break
            await asyncio.sleep(1.0)
    return acked, delivered


@virtual
async def test_a_ten_minute_exchange_on_virtual_time() -> None:
    # 600 simulated seconds, one message a second over a lossy 120 ms link: runs in
    # a fraction of a second of wall time (not asserted: the suite times nothing).
    acked, delivered = await exchange(600.0, delay=0.12, lose_every=7)
    assert acked == len(delivered) >= 300
    assert delivered == {b"%d" % i for i in range(acked)}
    assert asyncio.get_running_loop().time() >= 600.0


@settings(max_examples=40)
@given(
    st.lists(
        st.tuples(st.sampled_from(["send", "ack", "peer", "wait"]), st.floats(0.0, 5.0)),
        max_size=30,
    ),
    st.floats(0.0, 2e9),
)
def test_timers_fire_exactly_at_every_deadline(ops: list[tuple[str, float]], start: float) -> None:
    # Any interleaving of inputs and waits, at any epoch: every on_timer call comes at
    # exactly the deadline the machine last reported, and the events end in order.
    async def main() -> None:
        machine = StopAndWait(rto=1.5, limit=2)
        async with driver_for(machine, []) as driver:
            for op, dt in ops:
                if op == "send" and machine.pending is None:
                    driver.feed(machine.send, b"p")
                elif op == "ack":
                    driver.feed(machine.receive, b"Ap")
                elif op == "peer":
                    driver.feed(machine.receive, b"Dq")
                else:
                    await asyncio.sleep(dt)
            await asyncio.sleep(10.0)  # let any retransmission run out
        assert all(now == deadline for now, deadline in machine.timer_calls)
        times = [e.now async for e in driver.events()]
        assert times == sorted(times)

    run_virtual(main(), start=start)


# -- due now: a deadline already due runs on the next loop turn ------------------------


@pytest.mark.asyncio(loop_factories=["real", "virtual"])
async def test_a_due_now_machine_runs_again_on_the_next_turn() -> None:
    loop = asyncio.get_running_loop()
    machine = Bursty(burst=3)
    sent: list[int] = []
    seen: list[int] = []

    def drain() -> None:
        sent.extend(machine.drain())

    async with Driver(machine, drain=drain) as driver:
        t0 = loop.time()
        driver.feed(machine.put, list(range(10)))
        assert sent == []  # drained on the next turn, not inside feed
        for _ in range(6):
            await asyncio.sleep(0)  # one loop turn: this task runs between bursts
            seen.append(len(sent))
    assert seen == [3, 6, 9, 10, 10, 10]  # one burst a turn, then idle
    assert sent == list(range(10))
    assert driver.timers_fired == 3
    assert [backlog for _, backlog in machine.timer_calls] == [7, 4, 1]
    times = [now for now, _ in machine.timer_calls]
    assert times == sorted(times) and times[0] >= t0
    if isinstance(loop, VirtualTimeEventLoop):
        assert times == [t0] * 3  # the clock stands still while due
    assert driver.exception is None


@virtual
async def test_a_deadline_in_the_past_fires_at_once_with_the_current_time() -> None:
    # A timer that expired while the machine was busy: due at 3.0, noticed at 5.0.
    loop = asyncio.get_running_loop()
    await asyncio.sleep(5.0)
    machine = Sticky(at=3.0, stale_calls=0)
    async with Driver(machine, drain=lambda: None) as driver:
        await asyncio.sleep(0)
        assert machine.calls == 1 and machine.deadline is None
        assert driver.timers_fired == 1
    assert loop.time() == 5.0


@settings(max_examples=60, deadline=None)
@given(st.integers(0, 40), st.integers(1, 20), st.floats(0.0, 2e9))
def test_a_machine_stuck_longer_than_the_cap_is_stopped_and_one_within_it_is_not(
    stale_calls: int, cap: int, start: float
) -> None:
    # The first timer call, then one call per turn while due at the same deadline: the
    # driver allows ``cap`` such turns, so it stops the machine exactly when it would
    # need more, and a machine that clears its timer within them never notices.
    async def main() -> tuple[Sticky, BaseException | None]:
        loop = asyncio.get_running_loop()
        machine = Sticky(at=loop.time() + 1.0, stale_calls=stale_calls)
        driver: Driver[object] = Driver(machine, drain=lambda: None, max_due_turns=cap)
        async with driver:
            await asyncio.sleep(2.0)
        return machine, driver.exception

    try:
        machine, exc = run_virtual(main(), start=start)
    except UsageError as error:  # the async with exit re-raises what closed the driver
        assert stale_calls > cap
        assert f"{cap} loop turns" in str(error)
        return
    assert stale_calls <= cap and exc is None
    assert machine.calls == stale_calls + 1 and machine.deadline is None


@settings(max_examples=40, deadline=None)
@given(
    st.lists(
        st.one_of(st.integers(0, 30), st.floats(0.001, 5.0)),  # items to put, or a wait
        max_size=15,
    ),
    st.integers(1, 8),
    st.floats(0.0, 2e9),
)
def test_due_now_streams_everything_in_order_and_time_moves_only_when_idle(
    ops: list[int | float], burst: int, start: float
) -> None:
    async def main() -> None:
        loop = asyncio.get_running_loop()
        machine = Bursty(burst)
        sent: list[int] = []
        put_times: set[float] = set()
        n = 0
        async with Driver(machine, drain=lambda: sent.extend(machine.drain())) as driver:
            for op in [*ops, 1.0]:
                if isinstance(op, int):
                    driver.feed(machine.put, list(range(n, n + op)))
                    put_times.add(loop.time())
                    n += op
                else:
                    before = loop.time()
                    await asyncio.sleep(op)
                    assert loop.time() == before + op
                    # Virtual time jumps only when nothing is ready: the backlog is gone.
                    assert machine.backlog == [] and sent == list(range(n))
        assert driver.exception is None
        # Every burst after the first went out at the instant of a put, and no turn
        # was wasted: the driver asked only while something was left to send.
        assert {now for now, _ in machine.timer_calls} <= put_times
        assert all(backlog > 0 for _, backlog in machine.timer_calls)
        assert driver.timers_fired == len(machine.timer_calls)

    run_virtual(main(), start=start)
