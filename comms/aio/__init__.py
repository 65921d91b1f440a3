"""asyncio adapters for the sans-I/O machines of :mod:`comms` (the only place in comms
that may import asyncio, socket, time or random).

- :class:`Driver` runs one machine: feeds inputs with ``loop.time()``, drains outputs
  after each input burst and timer, keeps one ``call_at`` timer at ``next_deadline()``,
  publishes events as an async iterator (:mod:`comms.aio.driver`).
- :class:`Machine` is the face it needs (``next_deadline``, ``on_timer``), :data:`Drain`
  the output pump the embedder writes (:mod:`comms.aio.machine`).
- :class:`UdpEndpoint`, :class:`TcpServer`, :class:`TcpClient` are thin transports that
  hand data to callbacks with ``now`` (:mod:`comms.aio.transports`).

docs/asyncio.md shows how to wire them, on real time and on links.clock's virtual time.
"""

from comms.aio.cfdp import CfdpEntity, PduTransport, TransactionHandle
from comms.aio.driver import Driver
from comms.aio.machine import Drain, Machine
from comms.aio.transports import (
    Address,
    DatagramCallback,
    StreamCallback,
    TcpClient,
    TcpConnection,
    TcpServer,
    UdpEndpoint,
)

__all__ = [
    "Address",
    "CfdpEntity",
    "DatagramCallback",
    "Drain",
    "Driver",
    "Machine",
    "PduTransport",
    "StreamCallback",
    "TcpClient",
    "TcpConnection",
    "TcpServer",
    "TransactionHandle",
    "UdpEndpoint",
]
