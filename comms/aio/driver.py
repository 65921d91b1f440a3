"""The one asyncio driver for every sans-I/O machine of :mod:`comms`.

A :class:`Driver` owns no protocol knowledge. It does four things:

- feeds inputs: :meth:`Driver.feed` calls ``fn(*args, now=loop.time())`` (from your
  code, errors come back to you); :meth:`Driver.feeder` wraps ``fn`` as a transport
  callback (errors there have no caller, see below);
- drains outputs: after an input the driver schedules one ``drain()`` with
  ``call_soon``, so a burst of inputs in one loop iteration costs one drain and one
  re-arm (aioquic's ``_transmit_soon``); after a timer it drains at once;
- keeps one ``call_at`` timer at the machine's ``next_deadline()``, cancelled and
  re-armed only when the deadline changes. The timer calls ``on_timer`` with
  ``max(loop.time(), deadline)``: asyncio may run a timer up to one clock resolution
  early, and a machine asked "not yet" would never be asked again. A deadline already
  due ("due now": more output ready than one drain hands out, work bounded per call, a
  timer that expired meanwhile) runs ``on_timer`` and a drain on the next loop turn
  (``call_soon``), so I/O and other tasks run between turns;
- publishes what ``drain()`` returns on :meth:`Driver.events`, an async iterator.

Errors. An exception from ``fn`` in :meth:`feed` propagates to the caller and the driver
stays open (a rejected request is the caller's business). An exception with no caller
to go to (``on_timer``, ``drain``, an input through :meth:`feeder`) is logged and closes
the driver with it: ``events()``, :meth:`wait_closed` and the ``async with`` exit then
raise it. :meth:`feeder` inputs that raise one of ``tolerate`` (by default
:class:`~comms.errors.DecodeError`: the peer or the link sent bad bytes, which a link
does) are logged, counted in ``inputs_rejected`` and dropped instead.

Stuck machines. A machine left due for more than ``max_due_turns`` turns in a row at
the same deadline closes the driver with a :class:`~comms.errors.UsageError`: it is
taken to hold a timer ``on_timer`` never clears, which would spin a virtual clock
forever (the clock cannot move while a callback is ready). The driver cannot see
progress, only deadlines: on real time a streaming machine reports the new ``now`` each
turn, which starts the count again; on virtual time a stream longer than
``max_due_turns`` bursts at one instant looks stuck (raise the cap, or pace it).

Time comes only from ``loop.time()``, so on links.clock's virtual-time loop the same
driver runs a 10-minute pass in milliseconds. Left out: backpressure (the events queue
is unbounded; transports buffer what the kernel does not take), thread safety (use the
loop's thread, or ``loop.call_soon_threadsafe(driver.feed, ...)``), and more than one
timer per machine (a machine multiplexes its own timers behind ``next_deadline``).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator, Callable
from types import TracebackType
from typing import Any, Generic, TypeVar

from comms.aio.machine import Drain, Machine
from comms.errors import DecodeError, UsageError

__all__ = ["Driver"]

E = TypeVar("E")
R = TypeVar("R")

_log = logging.getLogger("comms.aio")
_CLOSED: Any = object()  # end-of-stream marker on the events queue


class Driver(Generic[E]):
    """Runs one sans-I/O ``machine`` on an asyncio loop.

    ``drain`` empties the machine's outputs (sending bytes to transports) and returns
    the events to publish. ``loop`` defaults to the running loop when the driver starts
    (``async with`` or :meth:`start`). ``tolerate`` lists the exceptions a :meth:`feeder`
    input may raise without closing the driver. ``name`` labels log lines.
    ``max_due_turns`` bounds how many loop turns in a row a machine may stay due at the
    same deadline before the driver calls it stuck (a public attribute: raise it for a
    machine that streams more bursts than that at one instant of virtual time).
    """

    def __init__(
        self,
        machine: Machine,
        *,
        drain: Drain[E],
        loop: asyncio.AbstractEventLoop | None = None,
        tolerate: tuple[type[Exception], ...] = (DecodeError,),
        name: str = "driver",
        logger: logging.Logger | None = None,
        max_due_turns: int = 10_000,
    ) -> None:
        if type(max_due_turns) is not int or max_due_turns < 1:  # bool is not a count
            raise UsageError(f"max_due_turns must be an int >= 1, got {max_due_turns!r}.")
        self.machine = machine
        self.name = name
        self._drain = drain
        self._loop = loop
        self._tolerate = tolerate
        self._log = logger if logger is not None else _log
        self._events: asyncio.Queue[E] = asyncio.Queue()
        self._started = False
        self._closed = False
        self._closing = False
        self._exception: BaseException | None = None
        self._closed_waiter: asyncio.Future[None] | None = None
        self._flush_handle: asyncio.Handle | None = None
        # The one pending on_timer: a call_at at a future deadline, or a call_soon for
        # a deadline already due; _timer_at is the deadline it was armed for.
        self._timer: asyncio.Handle | None = None
        self._timer_at: float | None = None
        self.max_due_turns = max_due_turns
        # The current run of turns left due at one deadline (see _rearm).
        self._due_at: float | None = None
        self._due_turns = 0
        # Counters for tests and metrics: how often the driver drained, fired the
        # machine's timer, and dropped a tolerated bad input.
        self.drains = 0
        self.timers_fired = 0
        self.inputs_rejected = 0

    # ------------------------------------------------------------------ lifecycle

    @property
    def loop(self) -> asyncio.AbstractEventLoop:
        if self._loop is None:
            raise UsageError("The driver has no loop yet: start it (async with) inside a loop.")
        return self._loop

    def start(self) -> None:
        """Bind to the loop, drain what the machine already holds and arm its timer."""
        if self._started:
            raise UsageError("The driver is already started; start it once.")
        if self._loop is None:
            self._loop = asyncio.get_running_loop()
        self._started = True
        self._closed_waiter = self._loop.create_future()
        self._flush()

    async def __aenter__(self) -> Driver[E]:
        self.start()
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()
        if exc is None and self._exception is not None:
            raise self._exception

    @property
    def closed(self) -> bool:
        return self._closed

    @property
    def exception(self) -> BaseException | None:
        """What closed the driver, None if it is open or was closed cleanly."""
        return self._exception

    def close(self, exc: BaseException | None = None) -> None:
        """Stop: a last drain (unless closing on an error), cancel the timer, end
        :meth:`events`. Closing twice is harmless; the first cause is kept."""
        if self._closed or self._closing:
            return  # a drain that closes the driver re-enters here
        self._closing = True
        if exc is None and self._started:
            self._cancel_flush()
            try:
                self._drain_once()
            except Exception as drain_exc:
                self._log.error("%s: drain failed while closing", self.name, exc_info=True)
                exc = drain_exc
        self._closed = True
        self._exception = exc
        self._cancel_flush()
        self._cancel_timer()
        self._events.put_nowait(_CLOSED)
        if self._closed_waiter is not None and not self._closed_waiter.done():
            self._closed_waiter.set_result(None)

    async def wait_closed(self) -> None:
        """Wait until the driver closes; raise what closed it, if anything did."""
        if self._closed_waiter is None:
            raise UsageError("The driver was never started, so it cannot close.")
        await asyncio.shield(self._closed_waiter)
        if self._exception is not None:
            raise self._exception

    # ------------------------------------------------------------------ inputs

    def feed(self, fn: Callable[..., R], *args: Any, now: float | None = None) -> R:
        """Call ``fn(*args, now=now)`` (``now`` defaults to ``loop.time()``) and schedule
        a drain and re-arm. Returns what ``fn`` returns; raises what it raises."""
        if self._closed or not self._started:
            self._check_open()  # raises the UsageError that fits
        loop = self._loop
        assert loop is not None
        if now is None:
            now = loop.time()
        try:
            return fn(*args, now=now)
        finally:
            # Even a rejected input may have changed the machine (queued an event).
            # Inlined _schedule_flush: this is the per-input path.
            if self._flush_handle is None and not self._closed:
                self._flush_handle = loop.call_soon(self._flush)

    def feeder(self, fn: Callable[..., object]) -> Callable[..., None]:
        """``fn`` as a callback for a transport, which calls it with ``now=``.

        The callback never raises: a tolerated error is logged and counted, any other
        closes the driver. Inputs after the driver closed are dropped.
        """

        def deliver(*args: Any, now: float) -> None:
            if self._closed:
                return
            try:
                self.feed(fn, *args, now=now)
            except self._tolerate as exc:
                self.inputs_rejected += 1
                self._log.warning("%s: input rejected: %s", self.name, exc)
            except Exception as exc:
                self._fail(exc, "input")

        return deliver

    # ------------------------------------------------------------------ outputs

    def events(self) -> AsyncIterator[E]:
        """The events ``drain`` returned, in order; ends when the driver closes, raising
        what closed it. Meant for one consumer."""
        return _EventStream(self)

    # ------------------------------------------------------------------ internals

    def _check_open(self) -> None:
        if not self._started:
            raise UsageError("Start the driver (async with Driver(...)) before feeding it.")
        if self._closed:
            raise UsageError("The driver is closed; open a new one to feed the machine.")

    def _schedule_flush(self) -> None:
        if self._flush_handle is None and not self._closed:
            self._flush_handle = self.loop.call_soon(self._flush)

    def _cancel_flush(self) -> None:
        if self._flush_handle is not None:
            self._flush_handle.cancel()
            self._flush_handle = None

    def _drain_once(self) -> None:
        self.drains += 1
        out = self._drain()
        if out is not None:
            for event in out:
                self._events.put_nowait(event)

    def _flush(self) -> None:
        self._flush_handle = None
        if self._closed:
            return
        try:
            self._drain_once()
        except Exception as exc:
            self._fail(exc, "drain")
            return
        if self._closed:
            return  # the drain closed the driver
        try:
            self._rearm()
        except Exception as exc:
            self._fail(exc, "re-arm")

    def _rearm(self) -> None:
        deadline = self.machine.next_deadline()
        if deadline == self._timer_at:
            return
        self._cancel_timer()
        if deadline is None:
            self._due_at = None
            return
        loop = self.loop
        if deadline > loop.time():
            self._due_at = None
            self._timer_at = deadline
            self._timer = loop.call_at(deadline, self._on_timer)
            return
        # Due now: run it on the next turn. call_soon yields, so I/O and other tasks go
        # first; but on virtual time the clock stands still while anything is ready, so
        # a machine that stays due without moving its deadline would never let it move.
        if deadline == self._due_at:
            self._due_turns += 1
        else:
            self._due_at, self._due_turns = deadline, 1
        if self._due_turns > self.max_due_turns:
            raise UsageError(
                f"{type(self.machine).__name__} stayed due at next_deadline() {deadline!r} "
                f"for {self.max_due_turns} loop turns in a row (now {loop.time()!r}): "
                f"on_timer must handle the timers due by now, and a machine with more "
                f"work must make progress each turn (or raise Driver.max_due_turns)."
            )
        self._timer_at = deadline
        self._timer = loop.call_soon(self._on_timer)

    def _cancel_timer(self) -> None:
        if self._timer is not None:
            self._timer.cancel()
        self._timer = None
        self._timer_at = None

    def _on_timer(self) -> None:
        deadline = self._timer_at
        self._timer = None
        self._timer_at = None
        if self._closed or deadline is None:
            return
        now = max(self.loop.time(), deadline)
        try:
            self.machine.on_timer(now)
            self.timers_fired += 1
        except Exception as exc:
            self._fail(exc, "on_timer")
            return
        self._cancel_flush()
        self._flush()

    def _fail(self, exc: BaseException, where: str) -> None:
        self._log.error("%s: %s raised; closing", self.name, where, exc_info=exc)
        self.close(exc)


class _EventStream(Generic[E]):
    """The async iterator behind :meth:`Driver.events` (a class, not an async
    generator, so a consumer that breaks out leaves nothing to finalize)."""

    def __init__(self, driver: Driver[E]) -> None:
        self._driver = driver

    def __aiter__(self) -> _EventStream[E]:
        return self

    async def __anext__(self) -> E:
        driver = self._driver
        event = await driver._events.get()
        if event is _CLOSED:
            driver._events.put_nowait(_CLOSED)  # later reads end too
            if driver._exception is not None:
                raise driver._exception
            raise StopAsyncIteration
        return event
