"""systemd readiness notification (sd_notify(3)) without libsystemd.

Under ``Type=notify`` systemd passes ``NOTIFY_SOCKET``: the path of a Unix datagram
socket (or, starting with ``@``, one in the abstract namespace). One datagram of
newline-separated ``KEY=VALUE`` assignments tells it the service is ``READY=1``,
``STOPPING=1``, or a one-line ``STATUS=...``. Without the variable (run by hand, in
tests, under another supervisor) :func:`notify` does nothing.

Left out: the watchdog (``WATCHDOG=1`` pings) and file descriptor passing.
"""

from __future__ import annotations

import os
import socket
from collections.abc import Mapping

__all__ = ["notify"]


def notify(state: str, env: Mapping[str, str] | None = None) -> bool:
    """Send ``state`` (e.g. ``"READY=1\\nSTATUS=running"``) to systemd; True if sent.

    A socket that cannot be reached is not an error of the service: it is ignored
    (returns False), as sd_notify(3) does.
    """
    address = (os.environ if env is None else env).get("NOTIFY_SOCKET", "")
    if not address or address[0] not in "/@":
        return False
    if address[0] == "@":
        address = "\0" + address[1:]  # the abstract namespace
    try:
        with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM) as sock:
            sock.connect(address)
            sock.sendall(state.encode())
    except OSError:
        return False
    return True
