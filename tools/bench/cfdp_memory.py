"""Resident memory of one large CFDP transfer between two entities on disk.

``python -m tools.bench.cfdp_memory [--size-mib 1024] [--segment 4096] [--class 1|2]
[--loss 0.01] [--sparse] [--tracemalloc N]`` writes a file of the size into a temporary
directory (seeded pseudo-random octets, or a sparse file of zeros with ``--sparse``),
moves it from entity 1 to entity 2 (``comms.cfdp.Entity`` with a ``DiskFilestore``
each) in one process through a sans-I/O loop on a virtual clock (no sockets, every PDU
encoded and decoded), checks the received file's SHA-256 against the sent one and
prints the wall time, the throughput and the resident memory: the process's peak
(``getrusage(RUSAGE_SELF).ru_maxrss``) before the transfer and after it, so the
transfer's own growth shows. The temporary directory is removed afterwards.

The issue's target (727.0-B-5 leaves memory to the implementation): a 1 GiB transfer
stays under 100 MiB resident. ``--tracemalloc N`` lists the N source lines holding the
most Python memory at the end of the transfer (slow: several times the wall time).

This is a measurement, not a test: ``tests/tools/test_cfdp_memory.py`` only checks that
a small run completes and delivers the file. Loss (``--loss``, a seeded fraction of PDUs
dropped in both directions) needs class 2: class 1 cannot recover a lost segment.
"""

from __future__ import annotations

import argparse
import hashlib
import os
import random
import resource
import shutil
import sys
import tempfile
import time
import tracemalloc
from dataclasses import dataclass
from pathlib import Path

from comms.cfdp import (
    DiskFilestore,
    Entity,
    LocalEntityConfig,
    Mib,
    PutRequest,
    RemoteEntityConfig,
    TransactionFinished,
    TransmissionMode,
)

__all__ = ["Report", "main", "run_transfer", "write_file"]

MIB = 1 << 20
# Fixed header with 2-octet entity ids and a 4-octet sequence number, plus the 4-octet
# segment offset: max_pdu_length = segment + this gives File Data of exactly ``segment``.
_HEADER_AND_OFFSET = 4 + 2 * 2 + 4 + 4
# Written and hashed a mebibyte at a time so the script's own buffers stay small
# beside what the entities hold.
_CHUNK = MIB


@dataclass(frozen=True)
class Report:
    """What one transfer measured; RSS figures in KiB as ``ru_maxrss`` gives them on Linux."""

    size: int
    segment: int
    transmission_class: int
    loss: float
    delivered: bool
    condition_code: str
    pdus_sent: int
    pdus_dropped: int
    wall_seconds: float
    virtual_seconds: float
    baseline_rss_kib: int
    peak_rss_kib: int
    current_rss_before_kib: int
    current_rss_after_kib: int
    top_allocations: tuple[str, ...] = ()

    @property
    def growth_kib(self) -> int:
        """How much the peak resident set rose during the transfer."""
        return self.peak_rss_kib - self.baseline_rss_kib

    @property
    def mb_per_s(self) -> float:
        return self.size / self.wall_seconds / 1e6 if self.wall_seconds else 0.0

    def lines(self) -> list[str]:
        out = [
            f"class {self.transmission_class}, {self.size / MIB:g} MiB file, "
            f"{self.segment}-octet segments, {self.loss:.2%} loss",
            f"  delivered and matching: {self.delivered} (source: {self.condition_code})",
            f"  PDUs sent {self.pdus_sent}, dropped {self.pdus_dropped}, "
            f"virtual time {self.virtual_seconds:.1f} s",
            f"  wall {self.wall_seconds:.2f} s, {self.mb_per_s:.1f} MB/s of file",
            f"  peak RSS before transfer {self.baseline_rss_kib / 1024:.1f} MiB, "
            f"after {self.peak_rss_kib / 1024:.1f} MiB "
            f"(growth {self.growth_kib / 1024:.1f} MiB)",
            f"  current RSS before {self.current_rss_before_kib / 1024:.1f} MiB, "
            f"after {self.current_rss_after_kib / 1024:.1f} MiB",
        ]
        if self.top_allocations:
            out.append("  top Python allocations at the end of the transfer:")
            out += [f"    {line}" for line in self.top_allocations]
        return out


def _peak_rss_kib() -> int:
    # Linux reports ru_maxrss in KiB (macOS in octets; this script targets Linux).
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss


def _current_rss_kib() -> int:
    """The resident set now (Linux /proc), or the peak where /proc is missing."""
    try:
        with open("/proc/self/statm", encoding="ascii") as statm:
            pages = int(statm.read().split()[1])
    except (OSError, IndexError, ValueError):
        return _peak_rss_kib()
    return pages * os.sysconf("SC_PAGE_SIZE") // 1024


def write_file(path: Path, size: int, *, sparse: bool = False, seed: int = 1) -> str:
    """Create ``path`` with ``size`` octets; returns its SHA-256 hex digest."""
    digest = hashlib.sha256()
    with open(path, "wb") as out:
        if sparse:
            # A hole reads back as zeros; the digest is of those zeros.
            out.truncate(size)
            zeros = bytes(_CHUNK)
            for start in range(0, size, _CHUNK):
                digest.update(zeros[: min(_CHUNK, size - start)])
        else:
            rng = random.Random(seed)
            for start in range(0, size, _CHUNK):
                chunk = rng.randbytes(min(_CHUNK, size - start))
                digest.update(chunk)
                out.write(chunk)
    return digest.hexdigest()


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        while chunk := f.read(_CHUNK):
            digest.update(chunk)
    return digest.hexdigest()


def _entity(local: int, peer: int, segment: int, root: Path) -> Entity:
    remote = RemoteEntityConfig(
        peer,
        max_pdu_length=segment + _HEADER_AND_OFFSET,
        entity_id_length=2,
        sequence_number_length=4,
    )
    return Entity(Mib(LocalEntityConfig(local), {peer: remote}), DiskFilestore(root))


def run_transfer(
    workdir: Path,
    size: int,
    *,
    segment: int = 4096,
    transmission_class: int = 2,
    loss: float = 0.0,
    sparse: bool = False,
    seed: int = 1,
    trace_top: int = 0,
) -> Report:
    """Write the file under ``workdir``, transfer it, check it; the files are left there."""
    if transmission_class not in (1, 2):
        raise ValueError(f"transmission class must be 1 or 2, not {transmission_class}.")
    if loss and transmission_class == 1:
        raise ValueError("class 1 cannot recover lost PDUs; pass --class 2 with --loss.")
    if not 0.0 <= loss < 1.0:
        raise ValueError(f"loss must be a fraction in [0, 1), not {loss}.")
    src_root, dst_root = workdir / "a", workdir / "b"
    src_root.mkdir()
    dst_root.mkdir()
    sent_digest = write_file(src_root / "src.bin", size, sparse=sparse, seed=seed)

    mode = (
        TransmissionMode.UNACKNOWLEDGED
        if transmission_class == 1
        else TransmissionMode.ACKNOWLEDGED
    )
    a = _entity(1, 2, segment, src_root)
    b = _entity(2, 1, segment, dst_root)
    drops = random.Random(seed)
    baseline = _peak_rss_kib()
    current_before = _current_rss_kib()
    if trace_top:
        tracemalloc.start()
    started = time.perf_counter()
    # The loop of tools/bench/bench_cfdp.py: drain both entities after every input and
    # let virtual time jump to the next deadline only once both are quiet, so the
    # source streams one send_burst at a time from its filestore.
    a.put(PutRequest(2, "src.bin", "dst.bin", transmission_mode=mode), 0.0)
    now = 0.0
    sent = dropped = 0
    finished: list[TransactionFinished] = []
    while True:
        out = a.pdus_to_send()
        for _, raw in out:
            if loss and drops.random() < loss:
                dropped += 1
            else:
                b.receive_pdu(raw, now)
        back = b.pdus_to_send()
        for _, raw in back:
            if loss and drops.random() < loss:
                dropped += 1
            else:
                a.receive_pdu(raw, now)
        sent += len(out) + len(back)
        # Drain events as they come, as a real user would; left in the entities they
        # would be memory the transfer holds.
        finished += [e for e in a.events() if isinstance(e, TransactionFinished)]
        b.events()
        if not out and not back:
            deadlines = [d for d in (a.next_deadline(), b.next_deadline()) if d is not None]
            if not deadlines:
                break
            now = max(now, min(deadlines))
            a.on_timer(now)
            b.on_timer(now)
    wall = time.perf_counter() - started
    top: tuple[str, ...] = ()
    if trace_top:
        snapshot = tracemalloc.take_snapshot()
        traced_now, traced_peak = tracemalloc.get_traced_memory()
        tracemalloc.stop()
        top = (
            f"traced Python memory now {traced_now / MIB:.2f} MiB, "
            f"peak {traced_peak / MIB:.2f} MiB",
            *(str(stat) for stat in snapshot.statistics("lineno")[:trace_top]),
        )
    peak = _peak_rss_kib()
    current_after = _current_rss_kib()

    received = dst_root / "dst.bin"
    delivered = received.is_file() and _sha256(received) == sent_digest
    return Report(
        size=size,
        segment=segment,
        transmission_class=transmission_class,
        loss=loss,
        delivered=delivered,
        condition_code=finished[0].condition_code.name if finished else "no TransactionFinished",
        pdus_sent=sent,
        pdus_dropped=dropped,
        wall_seconds=wall,
        virtual_seconds=now,
        baseline_rss_kib=baseline,
        peak_rss_kib=peak,
        current_rss_before_kib=current_before,
        current_rss_after_kib=current_after,
        top_allocations=top,
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m tools.bench.cfdp_memory",
        description="Measure the resident memory of one large CFDP transfer on disk.",
    )
    parser.add_argument("--size-mib", type=float, default=1024.0, help="file size (MiB)")
    parser.add_argument("--segment", type=int, default=4096, help="file data per PDU")
    parser.add_argument(
        "--class", dest="klass", type=int, choices=(1, 2), default=2, help="CFDP class"
    )
    parser.add_argument("--loss", type=float, default=0.0, help="fraction of PDUs lost")
    parser.add_argument("--sparse", action="store_true", help="a sparse file of zeros")
    parser.add_argument("--seed", type=int, default=1, help="seed of file and losses")
    parser.add_argument(
        "--tracemalloc", type=int, default=0, metavar="N", help="list the N top allocations"
    )
    parser.add_argument("--dir", type=Path, default=None, help="where the temp dir goes")
    args = parser.parse_args(argv)
    if args.loss and args.klass == 1:
        parser.error("class 1 cannot recover lost PDUs; use --class 2 with --loss.")
    if not 0.0 <= args.loss < 1.0:
        parser.error("--loss is a fraction in [0, 1), e.g. 0.01 for 1 %.")
    size = int(args.size_mib * MIB)
    if size <= 0:
        parser.error("--size-mib must be positive.")

    workdir = Path(tempfile.mkdtemp(prefix="cfdp-memory-", dir=args.dir))
    try:
        report = run_transfer(
            workdir,
            size,
            segment=args.segment,
            transmission_class=args.klass,
            loss=args.loss,
            sparse=args.sparse,
            seed=args.seed,
            trace_top=args.tracemalloc,
        )
    finally:
        # Never leave a gigabyte behind, whatever happened.
        shutil.rmtree(workdir, ignore_errors=True)
    print("\n".join(report.lines()))
    return 0 if report.delivered else 1


if __name__ == "__main__":
    sys.exit(main())
