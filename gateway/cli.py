"""``dawnlink gateway``: check a configuration, run the daemon.

Actions: ``check-config --config FILE`` validates the file and prints a summary with
secrets masked (exit 0, or 2 with the offending key); ``run --config FILE`` runs the
gateway (ingest from the configured stations, the outbox, MQTT, metrics) in the
foreground until SIGTERM or SIGINT, flushing the outbox before it exits.

Exit codes of ``run``: 0 after a clean stop; 2 when the configuration is refused (the
message names the key); 1 when the gateway could not start or failed while running
(a port in use, an outbox it cannot open), with the reason on stderr.
Under systemd ``Type=notify`` it reports ``READY=1`` once it runs (the metrics port is
bound, the outbox open, the MQTT and ingest tasks started) and ``STOPPING=1`` on the
stop signal (:mod:`gateway.sdnotify`).
Registered through the ``dawnlink.commands`` entry point ``gateway``.
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import signal
import sys
from collections.abc import Sequence
from dataclasses import fields, is_dataclass
from enum import Enum
from pathlib import Path
from typing import Any, TextIO

from comms.cli.common import EXIT_BAD_DATA, EXIT_OK, EXIT_USAGE, add_command
from comms.errors import UsageError
from gateway.config import ConfigError, GatewayConfig, load_config
from gateway.logs import configure_logging
from gateway.sdnotify import notify

__all__ = ["check_config", "main", "register", "run", "summary"]

_EPILOG = """\
examples:
  dawnlink gateway check-config --config /etc/dawnlink/gateway.toml
  dawnlink gateway run --config /etc/dawnlink/gateway.toml

See examples/gateway.toml for every key and docs/gateway.md for the topic scheme.
"""


def _value(value: Any) -> str:
    if isinstance(value, Enum):
        return str(value.value)
    if isinstance(value, Path):
        return str(value)
    return repr(value) if isinstance(value, str) else str(value)


def _lines(prefix: str, obj: Any) -> list[str]:
    out: list[str] = []
    for f in fields(obj):
        value = getattr(obj, f.name)
        key = f"{prefix}.{f.name}" if prefix else f.name
        if is_dataclass(value):
            out.extend(_lines(key, value))
        elif isinstance(value, tuple) and value and is_dataclass(value[0]):
            for i, item in enumerate(value):
                out.extend(_lines(f"{key}[{i}]", item))
        else:
            # Secret formats itself masked; nothing else here is secret.
            out.append(f"{key} = {_value(value)}")
    return out


def summary(config: GatewayConfig) -> str:
    """Every effective setting, one ``key = value`` a line, secrets masked."""
    return "\n".join(_lines("", config)) + "\n"


def check_config(path: str | Path, out: TextIO | None = None, err: TextIO | None = None) -> int:
    out = out or sys.stdout
    err = err or sys.stderr
    try:
        config = load_config(path)
    except ConfigError as exc:
        print(f"dawnlink gateway: {path}: {exc}", file=err)
        return EXIT_USAGE
    out.write(summary(config))
    print(
        f"ok: {len(config.stations)} stations, {len(config.routes)} routes, "
        f"publishing under {config.mqtt.topic_prefix}/{config.spacecraft.name}/",
        file=out,
    )
    return EXIT_OK


def _reason(exc: BaseException) -> str:
    """One line for what stopped the gateway (task groups wrap the cause)."""
    while isinstance(exc, BaseExceptionGroup) and exc.exceptions:
        exc = exc.exceptions[0]
    return f"{type(exc).__name__}: {exc}"


def run(path: str | Path, err: TextIO | None = None) -> int:
    from gateway.daemon import Gateway
    from gateway.pipeline import Pipeline, run_pipeline

    err = err or sys.stderr
    try:
        config = load_config(path)
        if config.stations:
            # Built once here so that stations that disagree fail now, as config errors.
            Pipeline.from_config(config)
    except UsageError as exc:  # ConfigError included
        print(f"dawnlink gateway: {path}: {exc}", file=err)
        return EXIT_USAGE
    configure_logging(config.logging.level, json_lines=config.logging.json)
    log = logging.getLogger("gateway")

    async def main() -> None:
        gateway = Gateway(config, pipeline=run_pipeline if config.stations else None)
        loop = asyncio.get_running_loop()

        def stop() -> None:
            notify("STOPPING=1")
            gateway.stop()

        for sig in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(sig, stop)

        async def ready() -> None:
            await gateway.started.wait()
            notify(f"READY=1\nSTATUS=publishing under {gateway.topics.root}")

        ready_task = asyncio.create_task(ready(), name="sd-notify")
        try:
            await gateway.run()
        finally:
            ready_task.cancel()

    try:
        asyncio.run(main())
    except Exception as exc:  # any failure is reported, and exits 1
        log.error("gateway failed: %s", _reason(exc), exc_info=exc)
        print(f"dawnlink gateway: stopped by an error: {_reason(exc)}", file=err)
        return EXIT_BAD_DATA
    return EXIT_OK


def register(sub: argparse._SubParsersAction[Any]) -> None:
    actions = add_command(
        sub,
        "gateway",
        help="run the MQTT gateway or check its configuration",
        description=__doc__ or "",
        epilog=_EPILOG,
    )
    check = actions.add_parser("check-config", help="validate a config file and summarise it")
    check.add_argument("--config", required=True, metavar="FILE", help="the TOML config file")
    check.set_defaults(func=lambda args: check_config(args.config))
    runp = actions.add_parser("run", help="run the gateway in the foreground")
    runp.add_argument("--config", required=True, metavar="FILE", help="the TOML config file")
    runp.set_defaults(func=lambda args: run(args.config))


def main(argv: Sequence[str] | None = None) -> int:
    """``python -m gateway.cli``: the gateway subcommand alone (before the entry point)."""
    parser = argparse.ArgumentParser(prog="dawnlink")
    register(parser.add_subparsers(metavar="COMMAND"))
    args = parser.parse_args(argv)
    func = getattr(args, "func", None)
    if func is None:
        parser.print_help(sys.stderr)
        return EXIT_USAGE
    code: int = func(args)
    return code


if __name__ == "__main__":
    sys.exit(main())
