"""``dawnlink demo``: the whole chain in one command (see :mod:`gateway.demo.run`).

Registered through the ``dawnlink.commands`` entry point ``demo``. Exit status 0 when
everything the link delivered reached the subscriber and every file arrived with its
checksum verified, 1 when something was lost that should not have been, 2 for bad
options or no broker.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from comms.cli.common import EXIT_BAD_DATA, EXIT_OK, EXIT_USAGE

__all__ = ["main", "register"]

_EPILOG = """\
examples:
  dawnlink demo                       # the whole pass, 3 files of 4 MB, embedded broker
  dawnlink demo --quick               # one minute of pass, 2 files of 300 kB
  dawnlink demo --broker 127.0.0.1:1883 --seed 7 --files 5 --file-size 2M
  dawnlink demo --quick --json > summary.json

Watch the broker meanwhile:  mosquitto_sub -h HOST -p PORT -t 'dawnlink/#' -v
See docs/demo.md for what runs and what the summary means.
"""


def _broker(text: str) -> tuple[str, int]:
    host, sep, port = text.rpartition(":")
    if not sep or not host or not port.isdigit() or not 0 < int(port) < 65536:
        raise argparse.ArgumentTypeError(f"expected HOST:PORT, got {text!r}")
    return host, int(port)


def _size(text: str) -> int:
    units = {"k": 1000, "m": 1000**2, "g": 1000**3}
    t = text.strip().lower().removesuffix("b")
    scale = units.get(t[-1:], 1)
    number = t[:-1] if t[-1:] in units else t
    try:
        value = int(float(number) * scale)
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"expected octets such as 4000000 or 4M, got {text!r}"
        ) from None
    if not 1 <= value <= 1 << 31:
        raise argparse.ArgumentTypeError(f"expected 1 octet to 2 GiB, got {text!r}")
    return value


def _positive(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected seconds, got {text!r}") from None
    if not value > 0:
        raise argparse.ArgumentTypeError(f"expected seconds > 0, got {text!r}")
    return value


def _share(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a share 0..0.5, got {text!r}") from None
    if not 0.0 <= value <= 0.5:
        raise argparse.ArgumentTypeError(f"expected a share 0..0.5, got {text!r}")
    return value


def _files(text: str) -> int:
    if not text.isdigit() or not 0 <= int(text) <= 100:
        raise argparse.ArgumentTypeError(f"expected 0..100 files, got {text!r}")
    return int(text)


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--broker",
        type=_broker,
        metavar="HOST:PORT",
        help="publish to this MQTT broker (default: start one: mosquitto, else amqtt)",
    )
    parser.add_argument("--seed", type=int, default=1, help="seeds the channel and data (1)")
    parser.add_argument("--files", type=_files, help="result files to send (3; --quick 2)")
    parser.add_argument(
        "--file-size",
        type=_size,
        metavar="OCTETS",
        help="octets per file, 4M style (4M; --quick 300k)",
    )
    parser.add_argument(
        "--duration",
        type=_positive,
        metavar="S",
        help="seconds of results from the start of data (default: the pass; --quick 60)",
    )
    parser.add_argument(
        "--quick", action="store_true", help="a one-minute pass and small files (tests)"
    )
    parser.add_argument(
        "--fades",
        type=_share,
        default=0.001,
        metavar="SHARE",
        help="share of frames burst fades erase, in bursts of 5 (0.001; 0 for none)",
    )
    parser.add_argument("--workdir", type=Path, help="keep files and the outbox here")
    parser.add_argument("--json", action="store_true", help="print the summary as JSON")
    parser.add_argument("--quiet", action="store_true", help="no progress lines")


def demo(args: argparse.Namespace) -> int:
    from gateway.broker import BrokerUnavailable
    from gateway.demo.run import DemoOptions, run

    values: dict[str, Any] = {
        "broker": args.broker,
        "seed": args.seed,
        "fade_loss_rate": args.fades,
        "workdir": args.workdir,
        "quiet": args.quiet or args.json,
    }
    for key in ("files", "file_size"):
        if getattr(args, key) is not None:
            values[key] = getattr(args, key)
    if args.duration is not None:
        values["duration_s"] = args.duration
    options = DemoOptions.quick(**values) if args.quick else DemoOptions(**values)
    try:
        summary = run(options)
    except BrokerUnavailable as exc:
        print(f"dawnlink demo: {exc}", file=sys.stderr)
        return EXIT_USAGE
    if args.json:
        json.dump(summary.to_dict(), sys.stdout, indent=2)
        print()
    else:
        print(summary.text())
    return EXIT_OK if summary.ok else EXIT_BAD_DATA


def register(sub: argparse._SubParsersAction[Any]) -> None:
    parser = sub.add_parser(
        "demo",
        help="run the whole chain: node -> link -> gateway -> MQTT -> subscriber",
        description=__doc__ or "",
        epilog=_EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    add_arguments(parser)
    parser.set_defaults(func=demo)


def main(argv: Sequence[str] | None = None) -> int:
    """``python -m gateway.demo``: the demo command alone."""
    parser = argparse.ArgumentParser(
        prog="dawnlink demo",
        description=__doc__,
        epilog=_EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    add_arguments(parser)
    args = parser.parse_args(argv)
    return demo(args)


if __name__ == "__main__":
    sys.exit(main())
