"""Scapy layers for the CCSDS protocols dawnlink speaks, for captures and dissection.

scapy is optional (``pip install 'dawnlink[scapy]'``) and is the only third-party code
these modules need; nothing else in :mod:`comms` imports them. This package itself
imports nothing from scapy, so ``import comms.scapy`` always works; import the
submodule you need:

- :mod:`comms.scapy.spp`: the Space Packet layer (133.0-B-2), ``bind_udp_port`` and
  pcap helpers (``read_pcap_payloads``, ``write_pcap``).

No layer is bound to a UDP port at import: there is no registered port for Space
Packets over UDP, so the caller chooses one with :func:`comms.scapy.spp.bind_udp_port`.
"""

from __future__ import annotations

__all__: list[str] = []
