"""The ``dawnlink`` command line.

Each package contributes subcommands through the ``dawnlink.commands`` entry-point
group (see pyproject.toml): an entry point names a ``register(subparsers)`` function
that adds one subcommand and sets ``func`` on its parser. Discovering them by entry
point keeps :mod:`comms` free of imports from ``links`` and ``gateway``.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable, Sequence
from importlib import import_module
from importlib.metadata import entry_points

__all__ = ["main"]

Register = Callable[["argparse._SubParsersAction[argparse.ArgumentParser]"], None]

# Used when dawnlink runs from a source tree that was never installed (no entry points).
_BUILTIN = {"packet": "comms.cli.packet:register"}

_DESCRIPTION = """\
dawnlink: a CCSDS space-ground communications stack.

Encode, decode and inspect Space Packets, transfer frames and CFDP PDUs; simulate
links; run the gateway. Each subcommand has its own --help with examples.
"""


def _registrars() -> dict[str, Register]:
    found: dict[str, str] = dict(_BUILTIN)
    for ep in entry_points(group="dawnlink.commands"):
        found[ep.name] = ep.value
    result: dict[str, Register] = {}
    for name, target in sorted(found.items()):
        module_name, _, attr = target.partition(":")
        try:
            result[name] = getattr(import_module(module_name), attr)
        except (ImportError, AttributeError) as exc:
            # One broken contribution must not take the other subcommands down with it;
            # say which one and why (tests load every entry point to catch this).
            print(f"dawnlink: subcommand {name!r} unavailable: {exc}", file=sys.stderr)
    return result


def build_parser() -> argparse.ArgumentParser:
    """The full parser, with every contributed subcommand."""
    parser = argparse.ArgumentParser(
        prog="dawnlink",
        description=_DESCRIPTION,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    from comms import __version__

    parser.add_argument("--version", action="version", version=f"dawnlink {__version__}")
    sub = parser.add_subparsers(title="commands", metavar="COMMAND")
    for register in _registrars().values():
        register(sub)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run ``dawnlink`` with ``argv`` (default: ``sys.argv[1:]``); return the exit code."""
    parser = build_parser()
    args = parser.parse_args(argv)
    func = getattr(args, "func", None)
    if func is None:
        parser.print_help(sys.stderr)
        return 2
    try:
        code: int = func(args)
    except BrokenPipeError:
        # `dawnlink ... | head` closing the pipe early is not an error worth a trace.
        return 0
    return code
