"""Loops for the driver and transport tests.

pytest-asyncio's ``pytest_asyncio_loop_factories`` hook names the loops an async test
may run on; a test picks with ``@pytest.mark.asyncio(loop_factories=["virtual"])``
(links.clock's virtual-time loop: timers jump, nothing sleeps) or ``["real"]`` (the
default selector loop, for real-time behaviour of sockets).
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Mapping

import pytest

from links.clock import new_virtual_event_loop


def pytest_asyncio_loop_factories(
    config: pytest.Config, item: pytest.Item
) -> Mapping[str, Callable[[], asyncio.AbstractEventLoop]]:
    return {"real": asyncio.SelectorEventLoop, "virtual": new_virtual_event_loop}
