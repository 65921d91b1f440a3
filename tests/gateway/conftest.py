"""A real MQTT broker for the gateway tests.

``broker`` starts Mosquitto (``mosquitto`` on PATH or /usr/sbin/mosquitto) on a free
loopback port with a minimal config -- anonymous, no persistence -- waits until it
accepts connections, and stops it after the test. The same object can ``kill()`` the
broker (SIGKILL: no goodbye to clients) and ``start()`` it again on the same port, for
the broker-restart tests. Without Mosquitto it falls back to amqtt (MQTT 3.1.1 only) in
a subprocess, and skips with the reason when neither comes up. The broker itself lives
in :mod:`gateway.broker` (``dawnlink demo`` starts the same one).

Waiting is bounded (``gateway.broker.START_TIMEOUT_S``): the fixture polls connect()
until the broker answers, which is readiness, not a timed assertion.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from gateway.broker import Broker, BrokerUnavailable, free_port, start_broker

__all__ = ["Broker", "broker", "free_port"]


@pytest.fixture
def broker(tmp_path: Path) -> Iterator[Broker]:
    """A running broker for one test (killable and restartable on the same port)."""
    workdir = tmp_path / "broker"
    workdir.mkdir()
    try:
        b = start_broker(workdir)
    except BrokerUnavailable as exc:
        pytest.skip(str(exc))
    try:
        yield b
    finally:
        b.stop()
