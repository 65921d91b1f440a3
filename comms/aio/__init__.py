"""asyncio adapters for the sans-I/O machines of :mod:`comms` (the only place in comms
that may import asyncio, socket, time or random)."""
