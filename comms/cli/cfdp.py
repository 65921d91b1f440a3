"""``dawnlink cfdp``: send and receive files with CFDP (CCSDS 727.0-B-5) over UDP.

``serve`` runs an entity that receives files into ``--root`` (and answers class 2
transfers); ``put`` sends one file to a peer and reports how it went. Both run
:class:`comms.aio.cfdp.CfdpEntity` over :class:`comms.aio.cfdp.UdpPduTransport`, one
PDU per datagram. ``--config`` reads the MIB from a TOML file (keys in docs/cfdp-entity.md).

Exit status: 0 the transfer(s) succeeded, 1 a transfer failed or timed out, 2 usage
error (bad option, bad config, missing file).

Left out: proxy operations, directory listings and other filestore requests from the
command line; several files per ``put`` (run it once per file).
"""

from __future__ import annotations

import argparse
import os
import sys
import tomllib
from collections.abc import Mapping
from typing import Any, TextIO

from comms.aio import cfdp as aio_cfdp
from comms.cfdp import (
    ChecksumType,
    ConditionCode,
    DiskFilestore,
    FilestoreError,
    LocalEntityConfig,
    Mib,
    NakMode,
    PutRequest,
    RemoteEntityConfig,
    TransactionFinished,
    TransmissionMode,
)
from comms.cli.common import EXIT_BAD_DATA, EXIT_OK, EXIT_USAGE, add_command, error, integer, note
from comms.errors import UsageError

__all__ = ["load_config", "register"]

_CHECKSUMS = {
    "modular": ChecksumType.MODULAR,
    "crc32": ChecksumType.CRC32,
    "crc32c": ChecksumType.CRC32C,
    "null": ChecksumType.NULL,
}
_LOCAL_KEYS = {"entity_id", "send_burst", "completed_memory", "first_sequence_number"}
_ENTITY_KEYS = {"burst_interval_s"}
_REMOTE_KEYS = set(RemoteEntityConfig.__dataclass_fields__) - {"entity_id"}

_SERVE_EPILOG = """\
examples:
  dawnlink cfdp serve --entity-id 1 --bind 127.0.0.1:5111 --peer 2=127.0.0.1:5112 --root in/

Runs until interrupted (SIGINT/SIGTERM), or until --count transactions ended. One line per
received file on stdout: result, file name, octets, source entity.
"""

_PUT_EPILOG = """\
examples:
  dawnlink cfdp put --entity-id 2 --bind 127.0.0.1:5112 --peer 1=127.0.0.1:5111 \\
      --class 2 --checksum crc32 results.bin results/today.bin

A progress bar goes to stderr when it is a terminal (else a line every few seconds),
then a report: octets, time, rate, retransmitted octets, result. Exit status 1 when the
transfer failed or did not end within --timeout.
"""


def register(sub: argparse._SubParsersAction[Any]) -> None:
    """Add ``dawnlink cfdp`` (with ``serve`` and ``put``) to ``sub``."""
    actions = add_command(
        sub,
        "cfdp",
        help="send and receive files with CFDP over UDP",
        description="Send and receive files with CFDP (CCSDS 727.0-B-5), one PDU per datagram.",
        epilog="See `dawnlink cfdp serve --help` and `dawnlink cfdp put --help`.",
    )
    serve = actions.add_parser(
        "serve",
        help="receive files into a directory",
        description="Run a CFDP entity that receives files into --root.",
        epilog=_SERVE_EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    _common(serve)
    serve.add_argument("--root", required=True, metavar="DIR", help="filestore root directory")
    serve.add_argument("--count", type=integer, metavar="N", help="exit after N transactions ended")
    serve.set_defaults(func=_serve)
    put = actions.add_parser(
        "put",
        help="send one file to a peer entity",
        description="Send SRC to the peer entity, stored there as DEST.",
        epilog=_PUT_EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    _common(put)
    put.add_argument("--to", type=integer, metavar="ID", help="destination (default: the peer)")
    put.add_argument(
        "--class", dest="cfdp_class", type=int, choices=[1, 2], default=2, help="1 or 2"
    )
    put.add_argument("--checksum", choices=sorted(_CHECKSUMS), help="file checksum type")
    put.add_argument("--closure", action="store_true", help="class 1: ask for a Finished PDU")
    put.add_argument(
        "--timeout", type=float, default=600.0, metavar="S", help="give up after S seconds"
    )
    put.add_argument("src", metavar="SRC", help="the local file to send")
    put.add_argument("dest", metavar="DEST", help="its name at the destination")
    put.set_defaults(func=_put)


def _common(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--entity-id", type=integer, required=True, metavar="N")
    parser.add_argument("--bind", type=_address, required=True, metavar="HOST:PORT")
    parser.add_argument("--peer", type=_peer, action="append", default=[], metavar="ID=HOST:PORT")
    parser.add_argument("--config", metavar="FILE", help="TOML file with the MIB")
    parser.add_argument("--crc", action="store_true", help="send and require the PDU CRC")


def _address(text: str) -> tuple[str, int]:
    host, sep, port = text.rpartition(":")
    if not sep or not host:
        raise argparse.ArgumentTypeError(f"expected HOST:PORT, not {text!r}")
    try:
        number = int(port)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a port number: {port!r}") from None
    if not 0 <= number <= 0xFFFF:
        raise argparse.ArgumentTypeError(f"a UDP port is 0 to 65535, not {number}")
    return host.strip("[]"), number


def _peer(text: str) -> tuple[int, tuple[str, int]]:
    ident, sep, addr = text.partition("=")
    if not sep:
        raise argparse.ArgumentTypeError(f"expected ID=HOST:PORT, not {text!r}")
    return integer(ident), _address(addr)


# -- configuration ----------------------------------------------------------------------


def load_config(
    data: Mapping[str, Any],
    entity_id: int,
    peers: list[int],
    overrides: Mapping[str, Any] | None = None,
) -> tuple[Mib, float]:
    """The MIB and the burst interval from a parsed TOML document (see docs/cfdp-entity.md).

    Tables: ``[local]`` (LocalEntityConfig fields), ``[remote]`` (RemoteEntityConfig
    fields for every peer), ``[remotes.<id>]`` (per peer, over ``[remote]``), and
    ``[entity]`` (``burst_interval_s``). ``overrides`` (from the command line) go over
    ``[remote]``. Raises UsageError naming a bad key or value.
    """
    allowed = {"local", "remote", "remotes", "entity"}
    for key in data:
        if key not in allowed:
            raise UsageError(f"config: unknown table [{key}]; expected one of {sorted(allowed)}.")
    local = dict(_table(data, "local"))
    _check_keys("local", local, _LOCAL_KEYS)
    local["entity_id"] = entity_id
    entity = _table(data, "entity")
    _check_keys("entity", entity, _ENTITY_KEYS)
    burst = entity.get("burst_interval_s", 0.005)
    if isinstance(burst, bool) or not isinstance(burst, int | float) or burst < 0:
        raise UsageError(f"config: entity.burst_interval_s must be seconds >= 0, not {burst!r}.")
    common = dict(_table(data, "remote"))
    _check_keys("remote", common, _REMOTE_KEYS)
    per_peer = _table(data, "remotes")
    remotes: dict[int, RemoteEntityConfig] = {}
    ids = set(peers)
    for key in per_peer:
        try:
            ids.add(int(key, 0))
        except ValueError:
            raise UsageError(f"config: [remotes.{key}] must be named by an entity id.") from None
    for peer in sorted(ids):
        settings = dict(common)
        specific: Any = {}
        for key, value in per_peer.items():
            if int(key, 0) == peer:
                specific = value
        if not isinstance(specific, Mapping):
            raise UsageError(f"config: remotes.{peer} must be a table.")
        _check_keys(f"remotes.{peer}", specific, _REMOTE_KEYS)
        settings.update(specific)
        settings.update(overrides or {})
        remotes[peer] = RemoteEntityConfig(peer, **_remote_values(settings))
    try:
        mib = Mib(LocalEntityConfig(**local), remotes)
    except TypeError as exc:
        raise UsageError(f"config: {exc}.") from None
    return mib, float(burst)


def _table(data: Mapping[str, Any], name: str) -> Mapping[str, Any]:
    value = data.get(name, {})
    if not isinstance(value, Mapping):
        raise UsageError(f"config: [{name}] must be a table.")
    return value


def _check_keys(table: str, values: Mapping[str, Any], allowed: set[str]) -> None:
    for key in values:
        if key not in allowed:
            raise UsageError(
                f"config: unknown key {table}.{key}; expected one of {sorted(allowed)}."
            )


def _remote_values(settings: Mapping[str, Any]) -> dict[str, Any]:
    out = dict(settings)
    if "checksum_type" in out and isinstance(out["checksum_type"], str):
        name = out["checksum_type"]
        if name not in _CHECKSUMS:
            raise UsageError(f"config: checksum_type {name!r} is not one of {sorted(_CHECKSUMS)}.")
        out["checksum_type"] = _CHECKSUMS[name]
    if "default_transmission_mode" in out:
        value = out["default_transmission_mode"]
        modes = {1: TransmissionMode.UNACKNOWLEDGED, 2: TransmissionMode.ACKNOWLEDGED}
        if value not in modes:
            raise UsageError(
                f"config: default_transmission_mode is the class, 1 or 2, not {value!r}."
            )
        out["default_transmission_mode"] = modes[value]
    if "nak_mode" in out:
        try:
            out["nak_mode"] = NakMode(out["nak_mode"])
        except ValueError:
            raise UsageError(
                f"config: nak_mode is 'deferred' or 'immediate', not {out['nak_mode']!r}."
            ) from None
    return out


def _build(
    args: argparse.Namespace, overrides: dict[str, Any]
) -> tuple[Mib, float, dict[int, tuple[str, int]]]:
    peers = dict(args.peer)
    data: dict[str, Any] = {}
    if args.config:
        try:
            with open(args.config, "rb") as f:
                data = tomllib.load(f)
        except (OSError, tomllib.TOMLDecodeError) as exc:
            raise UsageError(f"cannot read config {args.config}: {exc}") from None
    if args.crc:
        overrides["crc"] = True
    mib, burst = load_config(data, args.entity_id, list(peers), overrides)
    return mib, burst, peers


# -- serve ------------------------------------------------------------------------------


def _serve(args: argparse.Namespace) -> int:
    try:
        mib, burst, peers = _build(args, {})
        filestore = DiskFilestore(args.root)
    except UsageError as exc:
        error(exc)
        return EXIT_USAGE
    try:
        failed = aio_cfdp.run(_serve_async(args, mib, filestore, burst, peers))
    except OSError as exc:
        error(exc)
        return EXIT_USAGE
    return EXIT_BAD_DATA if failed else EXIT_OK


async def _serve_async(
    args: argparse.Namespace,
    mib: Mib,
    filestore: DiskFilestore,
    burst: float,
    peers: dict[int, tuple[str, int]],
) -> int:
    entity = await aio_cfdp.open_udp_entity(
        mib, filestore, args.bind, peers, burst_interval_s=burst
    )

    def finished(event: TransactionFinished) -> None:
        ok = event.condition_code is ConditionCode.NO_ERROR
        size = _size(filestore, event.file_name) if ok else 0
        name = event.file_name.decode("utf-8", "replace")
        print(
            f"{event.condition_code.name} {name} {size} "
            f"from {event.transaction_id.source_entity_id}",
            flush=True,
        )

    async with entity:
        assert isinstance(entity.transport, aio_cfdp.UdpPduTransport)
        note(f"cfdp entity {args.entity_id} listening on {entity.transport.local_address}")
        return await aio_cfdp.serve(entity, count=args.count, on_finished=finished)


def _size(filestore: DiskFilestore, name: bytes) -> int:
    try:
        return filestore.file_size(name)
    except (FilestoreError, UsageError):
        return 0


# -- put --------------------------------------------------------------------------------


def _put(args: argparse.Namespace) -> int:
    overrides: dict[str, Any] = {}
    if args.checksum:
        overrides["checksum_type"] = args.checksum
    try:
        mib, burst, peers = _build(args, overrides)
        destination = args.to if args.to is not None else _only_peer(peers)
        path = os.path.abspath(args.src)
        if not os.path.isfile(path):
            raise UsageError(f"{args.src} is not a file.")
        filestore = DiskFilestore(os.path.dirname(path))
        mode = (
            TransmissionMode.ACKNOWLEDGED
            if args.cfdp_class == 2
            else TransmissionMode.UNACKNOWLEDGED
        )
        request = PutRequest(
            destination,
            os.path.basename(path),
            args.dest,
            transmission_mode=mode,
            closure_requested=True if args.closure else None,
        )
        size = os.path.getsize(path)
    except (UsageError, OSError) as exc:
        error(exc)
        return EXIT_USAGE
    try:
        report = aio_cfdp.run(_put_async(args, mib, filestore, burst, peers, request, size))
    except (OSError, UsageError, FilestoreError) as exc:
        error(exc)
        return EXIT_USAGE
    rate = report.file_size / report.elapsed_s if report.elapsed_s > 0 else 0.0
    note(
        f"{args.src} -> entity {destination} {args.dest}: {report.file_size} octets in "
        f"{report.elapsed_s:.3f} s ({_human(rate)}/s), {report.retransmitted_octets} octets "
        f"retransmitted, {report.pdus_sent} PDUs sent: {report.result}"
    )
    return EXIT_OK if report.succeeded else EXIT_BAD_DATA


def _only_peer(peers: Mapping[int, object]) -> int:
    if len(peers) != 1:
        raise UsageError("Give exactly one --peer, or say which one with --to ID.")
    return next(iter(peers))


async def _put_async(
    args: argparse.Namespace,
    mib: Mib,
    filestore: DiskFilestore,
    burst: float,
    peers: dict[int, tuple[str, int]],
    request: PutRequest,
    size: int,
) -> aio_cfdp.PutReport:
    entity = await aio_cfdp.open_udp_entity(
        mib, filestore, args.bind, peers, burst_interval_s=burst
    )
    bar = _ProgressBar(sys.stderr)
    async with entity:
        report = await aio_cfdp.put_file(
            entity,
            request,
            size,
            timeout_s=args.timeout,
            on_progress=bar.update,
            progress_interval_s=0.2 if bar.tty else 5.0,
        )
    bar.close()
    return report


class _ProgressBar:
    """A bar redrawn in place on a terminal; otherwise a plain line per update."""

    def __init__(self, out: TextIO) -> None:
        self.out = out
        self.tty = out.isatty()
        self.drawn = False

    def update(self, sent: int, size: int, elapsed_s: float) -> None:
        fraction = sent / size if size else 1.0
        rate = _human(sent / elapsed_s if elapsed_s > 0 else 0.0)
        if self.tty:
            bar = "#" * int(30 * fraction)
            self.out.write(f"\r[{bar:<30}] {100 * fraction:5.1f}% {rate}/s")
            self.drawn = True
        else:
            self.out.write(f"sent {sent} of {size} octets ({100 * fraction:.1f}%), {rate}/s\n")
        self.out.flush()

    def close(self) -> None:
        if self.drawn:
            self.out.write("\n")


def _human(rate: float) -> str:
    for unit in ("B", "kB", "MB", "GB"):
        if rate < 1000:
            return f"{rate:.1f} {unit}"
        rate /= 1000
    return f"{rate:.1f} TB"
