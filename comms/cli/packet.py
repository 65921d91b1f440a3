"""``dawnlink packet``: Space Packet tools (being built; see docs/packets.md)."""

from __future__ import annotations

import argparse
from typing import Any


def register(sub: argparse._SubParsersAction[Any]) -> None:
    parser = sub.add_parser("packet", help="encode and decode CCSDS Space Packets")
    parser.set_defaults(func=lambda args: parser.print_help() or 0)
