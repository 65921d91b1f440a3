"""Clocks for the link simulator: real time, and virtual time with an event loop on it.

ARCHITECTURE.md "Time and simulation": the machines of :mod:`comms` take ``now`` as an
argument and report ``next_deadline()``, so the same code runs on the wall clock or on a
virtual one. This module is the one place in :mod:`links` allowed to read the wall
clock (tests/test_layering.py names it the real-time clock adapter).

- :class:`Clock` is the small Protocol collaborators take (``now() -> float``, seconds).
- :class:`RealClock` is monotonic wall time, the same clock asyncio's loops use.
- :class:`VirtualClock` is a number that only moves when told to (:meth:`advance`,
  :meth:`jump_to`).
- :class:`VirtualTimeEventLoop` is an asyncio selector loop whose ``time()`` is a
  :class:`VirtualClock`. When nothing is ready to run and polling the sockets with
  timeout 0 finds nothing, it jumps the clock straight to the next timer instead of
  sleeping (trio's ``MockClock`` with ``autojump_threshold=0``): ``asyncio.sleep(600)``
  returns after microseconds of wall time with ``loop.time()`` exactly 600 s later.
- :func:`run_virtual` is :func:`asyncio.run` on such a loop.

Real sockets work on a virtual loop, with one limitation that follows from the design:
the loop cannot know that data is *about to* arrive. It polls the kernel with timeout 0
before each jump, so data already queued on a socket always wins over a timer; but data
still in flight (written by another thread or process, a connect not yet completed,
``getaddrinfo`` running in the executor) loses the race, and a pending timer fires
"early" in wall-clock terms. Within one loop on loopback this does not happen in
practice (a send to 127.0.0.1 is queued on the receiving socket before ``sendto``
returns). For peers outside the loop, either pass ``autojump_threshold`` (real seconds
to wait for I/O before each jump: it trades simulation speed for the kernel's latency)
or ``autojump=False`` and move time by hand with :meth:`VirtualTimeEventLoop.advance`.

Left out: thread safety of :meth:`VirtualTimeEventLoop.advance` (call it from the
loop's thread), a clock rate other than 0 or "jump" (trio's ``rate``), and Windows'
proactor loop (the virtual loop is a selector loop on every platform).
"""

from __future__ import annotations

import asyncio
import math
import selectors
import time
from collections.abc import Coroutine, Mapping
from datetime import UTC, datetime
from typing import Any, Protocol, TypeVar, runtime_checkable

from comms.errors import UsageError

__all__ = [
    "Clock",
    "RealClock",
    "VirtualClock",
    "VirtualTimeEventLoop",
    "new_virtual_event_loop",
    "run_virtual",
]

T = TypeVar("T")
# What a selector watches: a file descriptor or an object with fileno().
FileObject = Any


@runtime_checkable
class Clock(Protocol):
    """What a collaborator needs to know about time: seconds on some monotonic scale."""

    def now(self) -> float:
        """The current time in seconds (an arbitrary but fixed origin)."""
        ...


class RealClock:
    """Monotonic wall time.

    With ``loop`` it is that loop's ``time()`` (so on a :class:`VirtualTimeEventLoop` it
    is virtual); without, :func:`time.monotonic`, the clock asyncio's own loops use.
    """

    def __init__(self, loop: asyncio.AbstractEventLoop | None = None) -> None:
        self._loop = loop

    def now(self) -> float:
        if self._loop is not None:
            return self._loop.time()
        return time.monotonic()


def utc_now() -> datetime:
    """The current UTC time, to the second, for the command line's default start time.

    The one wall-clock calendar read in :mod:`links` (ARCHITECTURE.md rule 2): the core
    functions all take their times explicitly; only the CLI edge asks for "now".
    """
    return datetime.now(UTC).replace(microsecond=0)


class VirtualClock:
    """Simulated time: it starts at ``start`` seconds and moves only when told to."""

    def __init__(self, start: float = 0.0) -> None:
        self._now = float(start)

    def now(self) -> float:
        return self._now

    def advance(self, dt: float) -> None:
        """Move time forward by ``dt`` seconds (0 or more)."""
        if not dt >= 0.0:
            raise UsageError(f"Time only moves forward: pass dt >= 0 s, not {dt!r}.")
        self._now += dt

    def jump_to(self, when: float) -> None:
        """Move time forward to ``when`` (no earlier than :meth:`now`)."""
        if not when >= self._now:
            raise UsageError(
                f"Time only moves forward: pass a time >= now ({self._now!r} s), not {when!r}."
            )
        self._now = float(when)

    def __repr__(self) -> str:
        return f"VirtualClock(now={self._now!r})"


class _JumpingSelector(selectors.BaseSelector):
    """The real selector, except that waiting for a timer jumps the virtual clock.

    asyncio's loop computes how long to block (``timeout``: None with no timers, 0 when
    callbacks are ready, else until the earliest timer) and calls ``select``. Here a
    positive timeout becomes a poll (or a wait of ``autojump_threshold`` real seconds);
    when that finds nothing, the clock jumps to the earliest timer, which the loop then
    runs in the same iteration. A ``None`` timeout (nothing scheduled) still blocks on
    the kernel: only I/O or another thread can wake the loop then.
    """

    def __init__(self, inner: selectors.BaseSelector) -> None:
        self._inner = inner
        self.loop: VirtualTimeEventLoop | None = None

    def register(self, fileobj: FileObject, events: int, data: Any = None) -> selectors.SelectorKey:
        return self._inner.register(fileobj, events, data)

    def unregister(self, fileobj: FileObject) -> selectors.SelectorKey:
        return self._inner.unregister(fileobj)

    def modify(self, fileobj: FileObject, events: int, data: Any = None) -> selectors.SelectorKey:
        return self._inner.modify(fileobj, events, data)

    def get_map(self) -> Mapping[FileObject, selectors.SelectorKey]:
        return self._inner.get_map()

    def close(self) -> None:
        self._inner.close()

    def select(self, timeout: float | None = None) -> list[tuple[selectors.SelectorKey, int]]:
        loop = self.loop
        if loop is None or timeout is None or timeout <= 0 or not loop.autojump:
            if loop is not None and not loop.autojump and timeout is not None and timeout > 0:
                # Frozen time: timers wait for advance(); only I/O may wake us.
                timeout = None
            return self._inner.select(timeout)
        events = self._inner.select(loop.autojump_threshold)
        if not events:
            loop._jump_to_next_timer()
        return events


class VirtualTimeEventLoop(asyncio.SelectorEventLoop):
    """An asyncio event loop on a :class:`VirtualClock`.

    ``time()`` is ``clock.now()``. With ``autojump`` (the default) the loop never sleeps
    on a timer: when no callback is ready and the sockets have nothing (polled with
    ``autojump_threshold`` real seconds, 0 by default), the clock jumps to the earliest
    timer. With ``autojump=False`` time stands still until :meth:`advance` is called;
    the loop still waits for real I/O meanwhile (and forever if there is none, like
    trio's ``MockClock`` at rate 0).
    """

    def __init__(
        self,
        clock: VirtualClock | None = None,
        *,
        start: float = 0.0,
        autojump: bool = True,
        autojump_threshold: float = 0.0,
    ) -> None:
        selector = _JumpingSelector(selectors.DefaultSelector())
        self.clock = VirtualClock(start) if clock is None else clock
        self.autojump = autojump
        self.autojump_threshold = float(autojump_threshold)
        super().__init__(selector)
        # Checked once the loop exists: an exception out of a half-built loop's
        # __init__ would make its __del__ fail instead.
        problem = None
        if clock is not None and start != 0.0:
            problem = "Pass either a clock or a start time, not both."
        elif not autojump_threshold >= 0.0:
            problem = (
                f"autojump_threshold is real seconds to wait for I/O before a jump: "
                f"pass 0 or more, not {autojump_threshold!r}."
            )
        if problem is not None:
            self.close()
            raise UsageError(problem)
        selector.loop = self

    def time(self) -> float:
        return self.clock.now()

    # BaseEventLoop runs a timer when `when < time() + _clock_resolution`, with the
    # resolution of time.monotonic (1 ns). Virtual time may sit at a Unix epoch
    # (1.7e9 s, where one ulp is 240 ns): there 1 ns vanishes in the sum, a timer due
    # exactly now is never run, and the loop spins. Two ulps of the current time keep
    # the comparison strict at any magnitude.
    @property
    def _clock_resolution(self) -> float:
        return max(self._base_resolution, 2.0 * math.ulp(self.clock.now()))

    @_clock_resolution.setter
    def _clock_resolution(self, value: float) -> None:
        self._base_resolution = value

    def advance(self, dt: float) -> None:
        """Move virtual time forward by ``dt`` seconds; timers now due run next iteration.

        Call it from the loop's thread (a task or callback, or between runs).
        """
        self.clock.advance(dt)

    def _jump_to_next_timer(self) -> None:
        # The earliest live timer is at the head of the loop's heap: _run_once has just
        # popped the cancelled ones before computing the select timeout. Jumping to its
        # exact `when` (rather than now + timeout) keeps loop.time() == deadline exact
        # in floating point. BaseEventLoop._scheduled has been this heap since 3.4; we
        # only read it.
        scheduled: list[asyncio.TimerHandle] = self._scheduled  # type: ignore[attr-defined]
        if scheduled:
            when = scheduled[0].when()
            if when > self.clock.now():
                self.clock.jump_to(when)


def new_virtual_event_loop(
    *, start: float = 0.0, autojump: bool = True, autojump_threshold: float = 0.0
) -> VirtualTimeEventLoop:
    """A fresh :class:`VirtualTimeEventLoop` (a ``loop_factory`` for :class:`asyncio.Runner`
    or pytest-asyncio's ``pytest_asyncio_loop_factories`` hook)."""
    return VirtualTimeEventLoop(
        start=start, autojump=autojump, autojump_threshold=autojump_threshold
    )


def run_virtual(
    coro: Coroutine[Any, Any, T],
    *,
    start: float = 0.0,
    autojump: bool = True,
    autojump_threshold: float = 0.0,
    debug: bool | None = None,
) -> T:
    """Run ``coro`` to completion on a new virtual-time loop, like :func:`asyncio.run`."""
    with asyncio.Runner(
        debug=debug,
        loop_factory=lambda: new_virtual_event_loop(
            start=start, autojump=autojump, autojump_threshold=autojump_threshold
        ),
    ) as runner:
        return runner.run(coro)
