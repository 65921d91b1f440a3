"""dawnlink comms: the embeddable CCSDS protocol library.

Codecs and sans-I/O state machines for Space Packets (133.0-B-2), Encapsulation
Packets (133.1-B-3), time codes (301.0-B-4), transfer frames, channel coding, COP-1,
SDLS and CFDP. Nothing here performs I/O or reads a clock; the asyncio adapters live
under :mod:`comms.aio`.
"""

__version__ = "0.1.0"
