"""CUC and CDS time codes (301.0-B-4): encode, decode and datetime conversion.

The peer is spacepackets' ``CdsShortTimestamp`` (CDS, 16-bit days, no submilliseconds,
P-field 0x40), the only 301.0-B-4 code it has; its ``unpack`` also builds a ``datetime``,
so ``unpack_from_raw`` (fields only) is listed as well. CUC has no Python peer here.
"""

from __future__ import annotations

from datetime import UTC, datetime

from spacepackets.ccsds.time import CdsShortTimestamp

from comms.time import CdsTime, CucTime
from tools.bench import Case


def cases() -> list[Case]:
    # .125 s: a binary fraction, so spacepackets float truncation lands on the same ms.
    dt = datetime(2026, 11, 23, 19, 14, 25, 125000, tzinfo=UTC)
    cds = CdsTime.from_datetime(dt)
    cds_raw = cds.encode()
    peer = CdsShortTimestamp.from_datetime(dt)
    assert peer.pack() == cds_raw, "the peer must encode the same octets"
    cuc = CucTime.from_datetime(dt)
    cuc_raw = cuc.encode()
    return [
        Case("CDS decode 7 B", "spacepackets unpack", lambda: CdsShortTimestamp.unpack(cds_raw)),
        Case(
            "CDS decode 7 B",
            "spacepackets unpack_from_raw",
            lambda: CdsShortTimestamp.unpack_from_raw(cds_raw),
            peer="spacepackets unpack",
        ),
        Case(
            "CDS decode 7 B",
            "dawnlink",
            lambda: CdsTime.decode(cds_raw),
            peer="spacepackets unpack",
        ),
        Case("CDS encode 7 B", "spacepackets pack", peer.pack),
        Case("CDS encode 7 B", "dawnlink", cds.encode, peer="spacepackets pack"),
        Case(
            "CDS from datetime",
            "spacepackets from_datetime",
            lambda: CdsShortTimestamp.from_datetime(dt),
        ),
        Case(
            "CDS from datetime",
            "dawnlink",
            lambda: CdsTime.from_datetime(dt),
            peer="spacepackets from_datetime",
        ),
        # spacepackets converts to datetime inside unpack (as_datetime returns a cached
        # attribute), so compare decode plus conversion.
        Case(
            "CDS decode + datetime",
            "spacepackets unpack",
            lambda: CdsShortTimestamp.unpack(cds_raw).as_datetime(),
        ),
        Case(
            "CDS decode + datetime",
            "dawnlink",
            lambda: CdsTime.decode(cds_raw).to_datetime(),
            peer="spacepackets unpack",
        ),
        Case("CUC 4+2 decode 7 B", "dawnlink", lambda: CucTime.decode(cuc_raw)),
        Case("CUC 4+2 encode 7 B", "dawnlink", cuc.encode),
        Case("CUC 4+2 from datetime", "dawnlink", lambda: CucTime.from_datetime(dt)),
        Case("CUC 4+2 to datetime", "dawnlink", cuc.to_datetime),
    ]
