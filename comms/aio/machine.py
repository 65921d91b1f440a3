"""What the asyncio driver needs from a sans-I/O machine (ARCHITECTURE.md, "The shape of
a protocol machine").

Every machine of :mod:`comms` (CFDP entities, COP-1 FOP and FARM, the virtual channel
receiver, the SDLS engine) takes time as an argument and says when it next needs it:

- ``next_deadline() -> float | None``: when ``on_timer`` is next due, on the same time
  scale as the ``now`` it is fed (the driver feeds ``loop.time()``); None for never. A
  deadline at or before the current time ("due now") is legitimate: the driver runs
  ``on_timer`` and the drain again on the next loop turn;
- ``on_timer(now)``: act on every timer due by ``now``.

That is all :class:`Machine` requires. Inputs differ per machine (``receive_pdu``,
``receive_clcw``, ``transmit_ad``...) and so do outputs (``pdus_to_send``,
``frames_to_send``, ``events``), so the driver does not name them: the embedder hands
inputs to :meth:`~comms.aio.driver.Driver.feed` and gives the driver a :data:`Drain`,
the one function that empties the machine's outputs after every input and timer.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Protocol, TypeVar, runtime_checkable

__all__ = ["Drain", "Machine"]

E = TypeVar("E")


@runtime_checkable
class Machine(Protocol):
    """A sans-I/O machine with one logical timer."""

    def next_deadline(self) -> float | None:
        """When :meth:`on_timer` is next due (None when no timer runs)."""
        ...

    def on_timer(self, now: float) -> None:
        """Handle every timer due at or before ``now``.

        ``next_deadline()`` may stay due after it (and the drain) returned -- more PDUs
        ready than one drain hands out, work bounded per call -- and the driver calls
        again on the next loop turn. Each such turn must make progress: a machine that
        keeps reporting the same due deadline (a timer it never clears) would spin a
        virtual clock forever, so after ``Driver.max_due_turns`` such turns the driver
        closes with a UsageError.
        """
        ...


Drain = Callable[[], Iterable[E] | None]
"""Empties a machine's outputs: sends its bytes to transports (``udp.send(...)``) and
returns the events to publish on :meth:`~comms.aio.driver.Driver.events` (or None).
Called once after each input burst and after each timer."""
