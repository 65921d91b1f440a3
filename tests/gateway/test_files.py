"""CFDP in the gateway: a spacecraft-side comms CFDP entity sends files whose PDUs ride
in Space Packets in TM or AOS frames; the ground entity (GatewayCfdp) behind the
Pipeline writes them into a real directory, announces each one, and sends its ACK, NAK
and Finished PDUs up -- looped back here to the spacecraft entity. Time is stepped by
hand: the loop jumps to the next deadline of either side."""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import json
import os
import random
import signal
import socket
import threading
import time
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest

from comms.cfdp import (
    ChecksumType,
    Entity,
    EofPdu,
    FileDataPdu,
    LocalEntityConfig,
    MemoryFilestore,
    MetadataPdu,
    Mib,
    NakPdu,
    PduHeader,
    PduRejected,
    PutRequest,
    RemoteEntityConfig,
    TransactionFinished,
    TransmissionMode,
    compute_checksum,
    decode_pdu,
)
from comms.frames import AosParams, TmParams
from comms.spp import SpacePacket
from comms.vc import VcPacketSender
from gateway import files as gateway_files
from gateway.config import (
    CfdpConfig,
    CfdpRemoteConfig,
    ConfigError,
    GatewayConfig,
    StationConfig,
    StationKind,
    load_config,
    parse_config,
)
from gateway.daemon import Gateway
from gateway.files import STATE_FILE, FileNotice, GatewayCfdp, file_message_id, finish_all
from gateway.merge import StationMerge
from gateway.messages import OutboxMessage, Topics
from gateway.outbox import Outbox
from gateway.pipeline import CfdpRejected, Pipeline, PipelineRunner, run_pipeline
from tests.gateway import gwproc
from tests.gateway.conftest import Broker, free_port
from tests.gateway.helpers import WAIT_S, recording, wait_until

SCID = 42
TOPICS = Topics("dawnlink", "dawn")
GROUND, CRAFT = 1, 2
APID_DOWN, APID_UP = 0x30, 0x31
T0 = 1_900_000_000.0
TM = TmParams(frame_length=1115)
AOS = AosParams(frame_length=1115, has_ocf=True)


def craft_entity(files: dict[bytes, bytes], **remote: Any) -> Entity:
    mib = Mib(
        LocalEntityConfig(CRAFT),
        {GROUND: RemoteEntityConfig(GROUND, nak_timer_interval=2.0, **remote)},
    )
    return Entity(mib, MemoryFilestore(dict(files)))


def cfdp_config(directory: Path, **remote: Any) -> CfdpConfig:
    return CfdpConfig(
        entity_id=GROUND,
        directory=directory,
        downlink_apids=(APID_DOWN,),
        uplink_apid=APID_UP,
        remotes=(CfdpRemoteConfig(CRAFT, nak_timer_s=2.0, **remote),),
    )


class Pass:
    """The spacecraft entity, the frames between, and the ground pipeline.

    ``drop(n)``: whether the n-th downlink frame (counting from 0) is lost.
    """

    def __init__(
        self,
        craft: Entity,
        directory: Path,
        params: TmParams | AosParams = TM,
        drop: Callable[[int], bool] = lambda n: False,
        **remote: Any,
    ) -> None:
        self.craft = craft
        self.params = params
        self.directory = directory
        self.remote = remote
        self.sender = VcPacketSender(params, scid=SCID, vcid=3)
        self.drop = drop
        self.frames_sent = 0
        self.packets = 0
        self.up: list[bytes] = []
        self.uplinked: list[bytes] = []
        self.down: list[bytes] = []
        self.now = T0
        self.notices: list[OutboxMessage] = []
        self.ground, self.pipeline = self.new_ground()

    def new_ground(self) -> tuple[GatewayCfdp, Pipeline]:
        ground = GatewayCfdp(
            cfdp_config(self.directory, **self.remote), self.up.append, topics=TOPICS
        )
        pipeline = Pipeline(
            self.params,
            scid=SCID,
            routes=[],
            topics=TOPICS,
            merge=StationMerge(self.params, timeout_s=0.5),
            cfdp=ground,
        )
        return ground, pipeline

    def restart(self) -> int:
        """The gateway stops (SIGTERM) and starts again: save, new entity, resume."""
        self.pipeline.flush()
        saved = self.ground.save(self.now)
        self.notices += self.pipeline.messages()
        self.ground, self.pipeline = self.new_ground()
        self.ground.resume(self.now)
        return saved

    def downlink(self) -> bool:
        out = self.craft.pdus_to_send()
        if not out:
            return False
        packets = []
        for _peer, raw in out:
            self.down.append(raw)
            packets.append(SpacePacket(apid=APID_DOWN, data=raw, sequence_count=self.packets))
            self.packets = (self.packets + 1) & 0x3FFF
        frames = self.sender.add_packets(packets) + self.sender.flush()
        kept = []
        for frame in frames:
            if not self.drop(self.frames_sent):
                kept.append(frame)
            self.frames_sent += 1
        if kept:
            self.pipeline.receive("A", kept, self.now)
        return True

    def uplink(self) -> bool:
        if not self.up:
            return False
        pending, self.up[:] = list(self.up), []
        for raw in pending:
            self.uplinked.append(raw)
            self.craft.receive_pdu(raw, self.now)
        return True

    def run(self, until: Callable[[], bool], max_steps: int = 5000) -> None:
        for _ in range(max_steps):
            moved = self.downlink()
            moved = self.uplink() or moved
            self.notices += self.pipeline.messages()
            if until():
                return
            if moved:
                continue
            deadlines = [
                d for d in (self.craft.next_deadline(), self.pipeline.next_deadline()) if d
            ]
            if not deadlines:
                return
            self.now = max(self.now, min(deadlines))
            self.craft.on_timer(self.now)
            self.pipeline.on_timer(self.now)
        raise AssertionError("the transfer did not settle")


def finished(craft: Entity) -> list[TransactionFinished]:
    return [e for e in craft.events() if isinstance(e, TransactionFinished)]


def file_bytes(size: int, seed: int = 1) -> bytes:
    return random.Random(seed).randbytes(size)


def notice_data(message: OutboxMessage) -> dict[str, Any]:
    body = json.loads(message.payload)
    assert body["product"] == "file" and body["encoding"] == "json"
    data: dict[str, Any] = body["data"]
    return data


def naks(pdus: list[bytes]) -> list[NakPdu]:
    return [p for p in map(decode_pdu, pdus) if isinstance(p, NakPdu)]


# -- the transfers -------------------------------------------------------------------------


def test_class1_file_over_tm_lands_with_one_notice(tmp_path: Path) -> None:
    content = file_bytes(20_000)
    craft = craft_entity({b"img.bin": content})
    link = Pass(craft, tmp_path)
    tid = craft.put(
        PutRequest(
            GROUND, "img.bin", "pics/img.bin", transmission_mode=TransmissionMode.UNACKNOWLEDGED
        ),
        link.now,
    )
    link.run(lambda: bool(link.notices))
    assert (tmp_path / "pics" / "img.bin").read_bytes() == content
    assert [p.name for p in tmp_path.rglob("*") if p.is_file()] == ["img.bin"]  # no leftovers
    (notice,) = link.notices
    assert notice.topic == "dawnlink/dawn/files"
    assert notice.message_id == file_message_id(CRAFT, tid.transaction_sequence_number)
    body = json.loads(notice.payload)
    assert body["id"] == notice.message_id and body["stations"] == ["A"]
    assert body["ert"] >= T0
    data = notice_data(notice)
    assert data["name"] == "pics/img.bin" and data["size"] == len(content)
    assert data["path"] == str((tmp_path / "pics" / "img.bin").resolve())
    assert data["sha256"] == hashlib.sha256(content).hexdigest()
    assert data["checksum"] == {
        "type": "modular",
        "value": compute_checksum(ChecksumType.MODULAR, content),
    }
    assert data["transaction"] == {
        "source_entity": CRAFT,
        "sequence_number": tid.transaction_sequence_number,
    }
    assert data["class"] == 1 and data["source_entity"] == CRAFT
    assert (data["delivery"], data["condition"], data["file_status"]) == (
        "complete",
        "no_error",
        "retained",
    )
    assert link.uplinked == []  # class 1 without closure: nothing goes up
    assert link.pipeline.counters.cfdp_pdus == len(link.down)


def test_class2_over_aos_with_lost_frames_recovers_through_naks(tmp_path: Path) -> None:
    content = file_bytes(30_000, seed=2)
    craft = craft_entity({b"a.bin": content}, checksum_type=ChecksumType.CRC32)
    lost = {2, 3, 9, 17}
    link = Pass(craft, tmp_path, params=AOS, drop=lambda n: n in lost)
    craft.put(PutRequest(GROUND, "a.bin", "a.bin"), link.now)
    link.run(lambda: bool(link.notices))
    assert (tmp_path / "a.bin").read_bytes() == content
    (outcome,) = finished(craft)
    assert outcome.condition_code.name == "NO_ERROR"
    assert outcome.delivery_code.name == "DATA_COMPLETE"
    requested = naks(link.uplinked)
    assert requested and all(n.segment_requests for n in requested)
    (notice,) = link.notices
    data = notice_data(notice)
    assert data["class"] == 2 and data["delivery"] == "complete"
    assert data["checksum"]["type"] == "crc32"
    assert data["sha256"] == hashlib.sha256(content).hexdigest()
    # The ground's ACK(EOF), NAK and Finished all went up through send_up.
    kinds = {type(decode_pdu(p)).__name__ for p in link.uplinked}
    assert {"AckPdu", "NakPdu", "FinishedPdu"} <= kinds


def test_lost_metadata_is_naked_and_the_file_lands_in_its_subdirectory(tmp_path: Path) -> None:
    content = file_bytes(6_000, seed=11)
    craft = craft_entity({b"m": content})
    link = Pass(craft, tmp_path, drop=lambda n: n == 0)  # the frame with the Metadata
    craft.put(PutRequest(GROUND, "m", "deep/er/m.bin"), link.now)
    link.run(lambda: bool(link.notices))
    assert any((0, 0) in n.segment_requests for n in naks(link.uplinked))  # 5.2.6
    assert (tmp_path / "deep" / "er" / "m.bin").read_bytes() == content
    assert notice_data(link.notices[0])["delivery"] == "complete"


def test_restart_resumes_and_naks_only_what_is_missing(tmp_path: Path) -> None:
    content = file_bytes(40_000, seed=3)
    craft = craft_entity({b"big.bin": content})
    lost = {4, 5, 20}
    link = Pass(craft, tmp_path, drop=lambda n: n in lost)
    craft.put(PutRequest(GROUND, "big.bin", "big.bin"), link.now)
    # The whole file and its EOF go down once; the gateway stops before anything it
    # answered left the ground.
    while link.downlink():
        pass
    link.pipeline.flush()  # end of pass: the merge gives the lost frames up
    before = naks(link.up)
    assert before, "the lost frames must leave gaps"
    gaps = [r for n in before for r in n.segment_requests]
    link.up.clear()
    assert link.restart() == 1
    # Consumed by the resume, and at once replaced by a checkpoint of the resumed
    # transaction (its data now back in the in-progress .part file).
    (entry,) = json.loads((tmp_path / STATE_FILE).read_text())["receiving"]
    assert entry["part"].endswith(".part") and not list(tmp_path.glob("*.resume"))
    after = naks(link.up)
    assert [r for n in after for r in n.segment_requests] == gaps
    sent_before = len(link.down)
    link.run(lambda: bool(link.notices))
    assert (tmp_path / "big.bin").read_bytes() == content
    resent = [p for p in map(decode_pdu, link.down[sent_before:]) if isinstance(p, FileDataPdu)]
    assert sum(len(p.data) for p in resent) == sum(b - a for a, b in gaps)
    (notice,) = link.notices
    assert notice_data(notice)["delivery"] == "complete"
    assert json.loads(notice.payload)["stations"] == ["A"]
    assert [p.name for p in tmp_path.iterdir()] == ["big.bin"]


def test_save_writes_state_and_sets_the_partial_file_aside(tmp_path: Path) -> None:
    content = file_bytes(10_000, seed=4)
    craft = craft_entity({b"f": content})
    link = Pass(craft, tmp_path, drop=lambda n: n == 1)
    tid = craft.put(PutRequest(GROUND, "f", "f"), link.now)
    while link.downlink():
        pass
    link.pipeline.flush()
    assert link.ground.save(link.now) == 1
    state = json.loads((tmp_path / STATE_FILE).read_text())
    (entry,) = state["receiving"]
    assert entry["sequence_number"] == tid.transaction_sequence_number
    assert entry["eof"] and entry["metadata"] and len(entry["ranges"]) == 2
    resume = tmp_path / f".cfdp-{CRAFT}-{tid.transaction_sequence_number}.resume"
    for start, end in entry["ranges"]:
        assert resume.read_bytes()[start:end] == content[start:end]
    assert link.ground.open_transactions == []
    assert link.pipeline.messages() == []  # a saved transaction is not announced


def test_finishing_transaction_answers_a_repeated_eof_after_restart(tmp_path: Path) -> None:
    content = file_bytes(5_000, seed=5)
    craft = craft_entity({b"f": content})
    link = Pass(craft, tmp_path)
    craft.put(PutRequest(GROUND, "f", "f"), link.now)
    while link.downlink():
        pass
    link.pipeline.flush()
    # The Finished (and the ACK of EOF) are lost: the craft will repeat EOF.
    assert any(type(decode_pdu(p)).__name__ == "FinishedPdu" for p in link.up)
    link.up.clear()
    assert link.restart() == 0
    (notice,) = link.notices  # announced at stop: the file is delivered
    assert notice_data(notice)["delivery"] == "complete"
    outcomes: list[TransactionFinished] = []

    def craft_done() -> bool:
        outcomes.extend(finished(craft))
        return bool(outcomes)

    link.run(craft_done, max_steps=200)
    (outcome,) = outcomes
    assert outcome.condition_code.name == "NO_ERROR"  # the saved Finished, repeated
    assert outcome.delivery_code.name == "DATA_COMPLETE"
    assert (tmp_path / "f").read_bytes() == content
    assert len(link.notices) == 1
    assert link.ground.entity.transactions == []  # no second transaction opened


def test_transfer_that_runs_out_of_naks_is_announced_incomplete(tmp_path: Path) -> None:
    content = file_bytes(8_000, seed=6)
    craft = craft_entity({b"f": content})
    link = Pass(craft, tmp_path, drop=lambda n: n in (1, 2), nak_limit=2)
    tid = craft.put(PutRequest(GROUND, "f", "f"), link.now)
    link.uplink = lambda: False  # type: ignore[method-assign]  # nothing reaches the craft
    link.run(lambda: bool(link.notices))
    data = notice_data(link.notices[0])
    assert (data["delivery"], data["condition"]) == ("incomplete", "nak_limit_reached")
    assert data["path"] is None and data["sha256"] is None
    assert data["transaction"]["sequence_number"] == tid.transaction_sequence_number
    assert not (tmp_path / "f").exists()


def test_bad_and_foreign_pdus_are_reported_not_fatal(tmp_path: Path) -> None:
    ground = GatewayCfdp(cfdp_config(tmp_path), lambda pdu: None, topics=TOPICS)
    pipeline = Pipeline(TM, scid=SCID, routes=[], topics=TOPICS, cfdp=ground)
    stranger = Entity(
        Mib(LocalEntityConfig(9), {GROUND: RemoteEntityConfig(GROUND)}),
        MemoryFilestore({b"x": b"x" * 100}),
    )
    stranger.put(PutRequest(GROUND, "x", "x"), T0)
    pdus = [raw for _, raw in stranger.pdus_to_send()]
    packets = [SpacePacket(apid=APID_DOWN, data=b"\x07junk", sequence_count=0)] + [
        SpacePacket(apid=APID_DOWN, data=raw, sequence_count=i + 1) for i, raw in enumerate(pdus)
    ]
    sender = VcPacketSender(TM, scid=SCID, vcid=0)
    pipeline.receive("A", sender.add_packets(packets) + sender.flush(), T0)
    pipeline.flush()
    events = pipeline.events()
    assert sum(isinstance(e, CfdpRejected) for e in events) == 1
    assert sum(isinstance(e, PduRejected) for e in events) == len(pdus)
    assert ground.open_transactions == [] and list(tmp_path.iterdir()) == []


# -- checkpoints: open receptions survive kill -9 -------------------------------------------


def exchange(
    craft: Entity, ground: GatewayCfdp, up: list[bytes], now: float, until: Callable[[], bool]
) -> list[bytes]:
    """PDUs back and forth between the craft and a bare GatewayCfdp, jumping to the next
    deadline when nothing moves, until ``until()``; returns the PDUs sent down."""
    down: list[bytes] = []
    for _ in range(2000):
        moved = False
        for _peer, raw in craft.pdus_to_send():
            moved = True
            down.append(raw)
            ground.receive_pdu(raw, now, ("A",))
        pending, up[:] = list(up), []
        for raw in pending:
            moved = True
            craft.receive_pdu(raw, now)
        if until():
            return down
        if moved:
            continue
        deadlines = [d for d in (craft.next_deadline(), ground.next_deadline()) if d]
        assert deadlines, "the transfer stalled"
        now = max(now, min(deadlines))
        craft.on_timer(now)
        ground.on_timer(now)
    raise AssertionError("the transfer did not settle")


def close_leaked_files(directory: Path) -> None:
    """Close the descriptors a "killed" GatewayCfdp left open under ``directory`` (a dead
    process's the kernel would close; here the test process must)."""
    fds = Path("/proc/self/fd")
    if not fds.is_dir():
        return
    root = str(directory.resolve())
    for fd in fds.iterdir():
        with contextlib.suppress(OSError):
            if os.readlink(fd).startswith(root):
                os.close(int(fd.name))


def test_checkpoint_survives_a_kill_and_naks_only_what_came_after(tmp_path: Path) -> None:
    content = file_bytes(40_000, seed=12)
    # The craft repeats its EOF until a gateway ACKs it, across the "kill".
    craft = craft_entity({b"k.bin": content}, ack_timer_interval=1.0, ack_limit=100)
    up: list[bytes] = []
    config = replace(cfdp_config(tmp_path), checkpoint_s=0.0)  # checkpoints by hand here
    first = GatewayCfdp(config, up.append, topics=TOPICS)
    tid = craft.put(PutRequest(GROUND, "k.bin", "k.bin"), T0)
    pdus = [decode_pdu(raw) for _, raw in craft.pdus_to_send()]
    assert isinstance(pdus[0], MetadataPdu) and isinstance(pdus[-1], EofPdu)
    data = [p for p in pdus if isinstance(p, FileDataPdu)]
    half = len(data) // 2
    before = [pdus[0], *data[:2], *data[3:half]]  # data[2] lost: a gap in the checkpoint
    for pdu in before:
        first.receive_pdu(pdu.encode(), T0, ("A",))
    assert first.checkpoint(T0) == 1
    held = sum(len(p.data) for p in before if isinstance(p, FileDataPdu))
    for pdu in data[half:-1]:  # in the file, but after the checkpoint; EOF never comes
        first.receive_pdu(pdu.encode(), T0 + 1, ("B",))
    (entry,) = json.loads((tmp_path / STATE_FILE).read_text())["receiving"]
    part = tmp_path / entry["part"]
    assert part.name == f".cfdp-{CRAFT}-{tid.transaction_sequence_number}.part"
    assert sum(b - a for a, b in entry["ranges"]) == held
    for a, b in entry["ranges"]:  # in the file without any close or flush
        assert part.read_bytes()[a:b] == content[a:b]
    assert part.stat().st_size > entry["ranges"][-1][1]  # later data is there, unclaimed
    # kill -9: no save(); the partial file is left open and where it was.
    del first
    up.clear()
    notices: list[OutboxMessage] = []
    second = GatewayCfdp(config, up.append, notices.append, topics=TOPICS)
    assert second.resume(T0 + 2) == 1
    assert not list(tmp_path.glob("*.resume"))
    down = exchange(craft, second, up, T0 + 2, lambda: bool(notices))
    assert (tmp_path / "k.bin").read_bytes() == content
    resent = [p for p in map(decode_pdu, down) if isinstance(p, FileDataPdu)]
    assert sum(len(p.data) for p in resent) == len(content) - held
    (notice,) = notices
    body = json.loads(notice.payload)
    assert body["data"]["delivery"] == "complete" and body["stations"] == ["A"]
    assert body["id"] == file_message_id(CRAFT, tid.transaction_sequence_number)
    assert [p.name for p in tmp_path.iterdir()] == ["k.bin"]  # state and .part gone
    close_leaked_files(tmp_path)


def test_checkpoints_run_on_the_timer_and_at_eof(tmp_path: Path) -> None:
    content = file_bytes(20_000, seed=13)
    craft = craft_entity({b"t": content})
    ground = GatewayCfdp(replace(cfdp_config(tmp_path), checkpoint_s=5.0), [].append, topics=TOPICS)
    craft.put(PutRequest(GROUND, "t", "t"), T0)
    pdus = [raw for _, raw in craft.pdus_to_send()]
    for raw in pdus[:3]:
        ground.receive_pdu(raw, T0, ("A",))
    state = tmp_path / STATE_FILE
    assert not state.exists()
    deadline = ground.next_deadline()
    assert deadline is not None and deadline <= T0 + 5.0
    ground.on_timer(T0 + 5.0)
    (entry,) = json.loads(state.read_text())["receiving"]
    assert entry["eof"] is None and entry["ranges"]
    first_ranges = entry["ranges"]
    for raw in pdus[3:-1]:
        ground.receive_pdu(raw, T0 + 6, ("A",))
    assert json.loads(state.read_text())["receiving"][0]["ranges"] == first_ranges  # no timer
    ground.receive_pdu(pdus[-1], T0 + 6, ("A",))  # the EOF: the file completes
    # Delivered and waiting for the ACK of its Finished: kept as finishing, notice pending.
    saved = json.loads(state.read_text())
    assert saved["receiving"] == []
    (finishing,) = saved["finishing"]
    assert finishing["notice"]["file_status"] == "retained"


def test_finishing_transaction_checkpointed_before_a_kill_is_announced_once(
    tmp_path: Path,
) -> None:
    content = file_bytes(5_000, seed=14)
    craft = craft_entity({b"f": content}, ack_timer_interval=1.0, ack_limit=100)
    up: list[bytes] = []
    config = cfdp_config(tmp_path)  # checkpoint_s default: at EOF and Finished at once
    first = GatewayCfdp(config, up.append, topics=TOPICS)
    craft.put(PutRequest(GROUND, "f", "f"), T0)
    for _, raw in craft.pdus_to_send():
        first.receive_pdu(raw, T0, ("A",))
    assert (tmp_path / "f").read_bytes() == content and first.messages() == []
    del first  # kill -9 with the Finished unheard
    up.clear()
    second = GatewayCfdp(config, up.append, topics=TOPICS)
    assert second.resume(T0 + 1) == 0
    (notice,) = second.messages()  # the notice the killed gateway still owed
    assert json.loads(notice.payload)["data"]["delivery"] == "complete"
    outcomes: list[TransactionFinished] = []

    def craft_done() -> bool:
        outcomes.extend(finished(craft))
        return bool(outcomes)

    exchange(craft, second, up, T0 + 1, craft_done)  # a repeated EOF gets the Finished
    assert [o.condition_code.name for o in outcomes] == ["NO_ERROR"]
    assert second.open_transactions == [] and second.messages() == []
    # A third start announces nothing again.
    third = GatewayCfdp(config, [].append, topics=TOPICS)
    third.resume(T0 + 2)
    assert third.messages() == []


@pytest.mark.parametrize("damage", ["truncated", "not json", "a list", "no version"])
def test_unreadable_state_is_logged_set_aside_and_the_gateway_carries_on(
    tmp_path: Path, damage: str, caplog: pytest.LogCaptureFixture
) -> None:
    content = file_bytes(10_000, seed=15)
    craft = craft_entity({b"f": content})
    first = GatewayCfdp(cfdp_config(tmp_path), [].append, topics=TOPICS)
    craft.put(PutRequest(GROUND, "f", "f"), T0)
    for _, raw in craft.pdus_to_send()[:4]:
        first.receive_pdu(raw, T0, ("A",))
    assert first.checkpoint(T0) == 1
    state = tmp_path / STATE_FILE
    text = state.read_text()
    state.write_text(
        {
            "truncated": text[: len(text) // 2],
            "not json": "\x00\x01garbage",
            "a list": "[1, 2]",
            "no version": '{"receiving": []}',
        }[damage]
    )
    del first
    close_leaked_files(tmp_path)
    up: list[bytes] = []
    notices: list[OutboxMessage] = []
    second = GatewayCfdp(cfdp_config(tmp_path), up.append, notices.append, topics=TOPICS)
    with caplog.at_level("ERROR", logger="gateway.files"):
        assert second.resume(T0 + 1) == 0
    (record,) = caplog.records
    assert STATE_FILE in record.getMessage() and "lost" in record.getMessage()
    assert not state.exists() and (tmp_path / ".cfdp-state.bad").exists()
    # The lost transaction is gone; a new one is received as usual.
    other = craft_entity({b"g": b"new file"})
    other.put(PutRequest(GROUND, "g", "g"), T0 + 1)
    exchange(other, second, up, T0 + 1, lambda: bool(notices))
    assert (tmp_path / "g").read_bytes() == b"new file"


CFDP_SECTION = f"""
[cfdp]
entity_id = {GROUND}
directory = "files"
downlink_apids = [{APID_DOWN}]
uplink_apid = {APID_UP}
checkpoint_s = 5.0

[[cfdp.remotes]]
entity_id = {CRAFT}
"""


@pytest.mark.broker
@pytest.mark.asyncio
async def test_gateway_process_sigkilled_resumes_from_its_checkpoint(
    broker: Broker, tmp_path: Path
) -> None:
    """A real `dawnlink gateway run` takes a class 2 file with one segment lost, up to
    its EOF (which writes a checkpoint), and is SIGKILLed. A new entity started from the
    same directory resumes it, NAKs only that segment, and delivers the file."""
    content = file_bytes(30_000, seed=16)
    craft = craft_entity({b"s.bin": content}, ack_timer_interval=1.0, ack_limit=100)
    tid = craft.put(PutRequest(GROUND, "s.bin", "s.bin"), T0)
    pdus = []
    while batch := craft.pdus_to_send():
        pdus += [decode_pdu(raw) for _, raw in batch]
    assert isinstance(pdus[-1], EofPdu)
    lost = [p for p in pdus if isinstance(p, FileDataPdu)][3]
    packets = [
        SpacePacket(apid=APID_DOWN, data=p.encode(), sequence_count=i)
        for i, p in enumerate(q for q in pdus if q is not lost)
    ]
    sender = VcPacketSender(TmParams(frame_length=gwproc.FRAME_LENGTH), scid=SCID, vcid=3)
    frames = sender.add_packets(packets) + sender.flush()
    station = gwproc.CaduStation()
    await station.start()
    config_path = tmp_path / "gateway.toml"
    config_path.write_text(
        gwproc.CONFIG.format(
            broker_host=broker.host,
            broker_port=broker.port,
            metrics_port=free_port(),
            station_port=station.port,
        )
        + CFDP_SECTION
    )
    notifications = gwproc.Notifications()
    process = gwproc.GatewayProcess(config_path, notifications)
    state = tmp_path / "files" / STATE_FILE

    def eof_checkpointed() -> bool:
        try:
            receiving = json.loads(state.read_text())["receiving"]
        except (OSError, ValueError):
            return False
        return bool(receiving and receiving[0]["eof"])

    try:
        await process.start()
        await station.wait(lambda: station.connections == 1)
        await station.send(gwproc.cadus(frames))
        await gwproc.wait_until(eof_checkpointed)
        process.signal(signal.SIGKILL)
        assert await process.wait_exit() == -signal.SIGKILL
    finally:
        process.kill()
        await station.close()
        notifications.close()
    (entry,) = json.loads(state.read_text())["receiving"]
    assert entry["part"] == f".cfdp-{CRAFT}-{tid.transaction_sequence_number}.part"
    # The next start (in-process here, to loop its NAKs back to the craft).
    cfdp = load_config(config_path).cfdp
    assert cfdp is not None
    up: list[bytes] = []
    notices: list[OutboxMessage] = []
    ground = GatewayCfdp(cfdp, up.append, notices.append, topics=TOPICS)
    assert ground.resume(T0 + 1) == 1
    requests = [r for n in naks(up) for r in n.segment_requests]
    assert requests == [(lost.offset, lost.offset + len(lost.data))]
    down = exchange(craft, ground, up, T0 + 1, lambda: bool(notices))
    assert (tmp_path / "files" / "s.bin").read_bytes() == content
    resent = [p for p in map(decode_pdu, down) if isinstance(p, FileDataPdu)]
    assert [(p.offset, p.data) for p in resent] == [(lost.offset, lost.data)]
    (notice,) = notices
    assert json.loads(notice.payload)["data"]["delivery"] == "complete"


# -- config ------------------------------------------------------------------------------


def cfdp_table(**over: Any) -> dict[str, Any]:
    table: dict[str, Any] = {
        "entity_id": 1,
        "directory": "files",
        "downlink_apids": [0x30],
        "uplink_apid": 0x31,
        "remotes": [{"entity_id": 2, "nak_timer_s": 3, "nak_mode": "immediate"}],
    }
    table.update(over)
    return table


def test_cfdp_config_parses_and_checks(tmp_path: Path) -> None:
    config = parse_config({"cfdp": cfdp_table()}, base=tmp_path)
    assert config.cfdp is not None
    assert config.cfdp.directory == tmp_path / "files"
    assert config.cfdp.remotes[0].nak_timer_s == 3.0
    assert config.cfdp.remotes[0].nak_mode == "immediate"
    assert parse_config({}).cfdp is None
    bad: list[tuple[dict[str, Any], str]] = [
        (cfdp_table(remotes=[]), "cfdp.remotes"),
        (cfdp_table(downlink_apids=[0x7FF]), "cfdp.downlink_apids[0]"),
        (cfdp_table(uplink_apid="x"), "cfdp.uplink_apid"),
        (cfdp_table(remotes=[{"entity_id": 1}]), "cfdp.remotes[0].entity_id"),
        (cfdp_table(remotes=[{"entity_id": 70000}]), "cfdp.remotes[0].entity_id"),
        (cfdp_table(remotes=[{"entity_id": 2, "nak_mode": "eager"}]), "cfdp.remotes[0].nak_mode"),
        (cfdp_table(surprise=1), "cfdp.surprise"),
    ]
    for table, key in bad:
        with pytest.raises(ConfigError) as err:
            parse_config({"cfdp": table}, base=tmp_path)
        assert err.value.key == key, table
    with pytest.raises(ConfigError) as err:
        parse_config({"cfdp": cfdp_table(), "routes": [{"apid": 0x30, "product": "p"}]})
    assert err.value.key == "cfdp.downlink_apids"


def test_checkpoint_s_is_read_from_the_config(tmp_path: Path) -> None:
    config = parse_config({"cfdp": cfdp_table(checkpoint_s=2.5)}, base=tmp_path)
    assert config.cfdp is not None and config.cfdp.checkpoint_s == 2.5
    default = parse_config({"cfdp": cfdp_table()}, base=tmp_path).cfdp
    assert default is not None and default.checkpoint_s == 5.0
    with pytest.raises(ConfigError, match=r"cfdp\.checkpoint_s"):
        parse_config({"cfdp": cfdp_table(checkpoint_s=-1)}, base=tmp_path)


# -- end to end: UDP station -> PipelineRunner -> outbox -> real Mosquitto -----------------


class LoopbackUplink:
    """The test's stand-in for the radio path up: each PDU the gateway sends up reaches
    the spacecraft entity at once (the real Uplink, COP-1 and CLTUs have their own
    tests). The spacecraft entity is a real peer, not a mock of the gateway's parts."""

    def __init__(self, craft: Entity, wake: asyncio.Event) -> None:
        self.craft = craft
        self.wake = wake
        self.apids: set[int] = set()
        self.ocfs = 0
        self.heard: set[str] = set()

    def send_packet(self, apid: int, data: bytes) -> None:
        self.apids.add(apid)
        self.craft.receive_pdu(data, time.time())
        self.wake.set()

    def on_ocf(self, ocf: bytes) -> None:
        self.ocfs += 1

    def on_downlink(self, station: str, ert: float) -> None:
        self.heard.add(station)


def udp_port_taken(port: int) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as probe:
        try:
            probe.bind(("127.0.0.1", port))
        except OSError:
            return True
    return False


async def spacecraft(
    craft: Entity,
    port: int,
    wake: asyncio.Event,
    lose: set[int],
    *,
    sequence: int = 2,
    radiated: list[int] | None = None,
) -> None:
    """Radiate the craft's PDUs as TM frames to the station's UDP port until cancelled,
    acting on the craft's timers on the wall clock. The first copy of the File Data PDUs
    of transaction ``sequence`` at the offsets in ``lose`` is lost on the way; the octets
    of File Data radiated are added up in ``radiated[0]``."""
    loop = asyncio.get_running_loop()
    transport, _ = await loop.create_datagram_endpoint(
        asyncio.DatagramProtocol, remote_addr=("127.0.0.1", port)
    )
    sender = VcPacketSender(TmParams(frame_length=1115, has_ocf=True), scid=SCID, vcid=3)
    count = 0
    try:
        while True:
            now = time.time()
            craft.on_timer(now)
            out = craft.pdus_to_send()
            packets = []
            for _peer, raw in out:
                pdu = decode_pdu(raw)
                if isinstance(pdu, FileDataPdu):
                    if radiated is not None:
                        radiated[0] += len(pdu.data)
                    if pdu.header.transaction_sequence_number == sequence and pdu.offset in lose:
                        lose.discard(pdu.offset)
                        continue
                packets.append(SpacePacket(apid=APID_DOWN, data=raw, sequence_count=count))
                count = (count + 1) & 0x3FFF
            for frame in sender.add_packets(packets) + (sender.flush() if packets else []):
                transport.sendto(frame)
                await asyncio.sleep(0)  # pace: one datagram per turn of the loop
            if out:
                continue
            deadline = craft.next_deadline()
            wake.clear()
            timeout = None if deadline is None else max(0.0, deadline - time.time())
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(wake.wait(), timeout)
    finally:
        transport.close()


@pytest.mark.broker
@pytest.mark.asyncio
async def test_gateway_delivers_files_end_to_end_over_mosquitto(
    broker: Broker, tmp_path: Path
) -> None:
    port = free_port()
    config = parse_config(
        {
            "mqtt": {
                "host": broker.host,
                "port": broker.port,
                "reconnect_initial_s": 0.02,
                "protocol": "5" if broker.mqtt5 else "3.1.1",
            },
            "outbox": {"path": str(tmp_path / "outbox.db")},
            "metrics": {"enabled": False},
            "spacecraft": {"name": "dawn", "scid": SCID},
            "stations": [{"name": "A", "kind": "udp-frames", "host": "127.0.0.1", "port": port}],
            "merge": {"timeout_s": 0.05},
            "cfdp": {
                "entity_id": GROUND,
                "directory": str(tmp_path / "files"),
                "downlink_apids": [APID_DOWN],
                "uplink_apid": APID_UP,
                "remotes": [{"entity_id": CRAFT, "nak_timer_s": 0.3, "ack_timer_s": 0.3}],
            },
        }
    )
    one, two = file_bytes(12_000, seed=7), file_bytes(25_000, seed=8)
    craft = Entity(
        Mib(
            LocalEntityConfig(CRAFT),
            {GROUND: RemoteEntityConfig(GROUND, ack_timer_interval=0.3, nak_timer_interval=0.3)},
        ),
        MemoryFilestore({b"one": one, b"two": two}),
    )
    wake = asyncio.Event()
    gateway = Gateway(config, pipeline=run_pipeline, shutdown_grace_s=WAIT_S)
    if getattr(gateway, "uplink", None) is None:
        gateway.uplink = LoopbackUplink(craft, wake)  # type: ignore[assignment]
    uplink = gateway.uplink
    assert isinstance(uplink, LoopbackUplink)
    async with recording(
        broker.host, broker.port, "dawnlink/dawn/files", mqtt5=broker.mqtt5
    ) as rec:
        run = asyncio.create_task(gateway.run())
        await asyncio.wait_for(gateway.started.wait(), WAIT_S)
        await wait_until(lambda: udp_port_taken(port))
        craft.put(
            PutRequest(GROUND, "one", "one.bin", transmission_mode=TransmissionMode.UNACKNOWLEDGED),
            time.time(),
        )
        two_tid = craft.put(PutRequest(GROUND, "two", "two.bin"), time.time())
        assert two_tid.transaction_sequence_number == 2
        segment = RemoteEntityConfig(GROUND).max_file_segment_length(
            PduHeader(RemoteEntityConfig(GROUND).pdu_config, CRAFT, 2, GROUND)
        )
        lose = {segment * 2, segment * 3, segment * 20}
        radio = asyncio.create_task(spacecraft(craft, port, wake, lose))
        try:
            await rec.wait_for(lambda r: len(r.messages) >= 2)
        finally:
            radio.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await radio
        gateway.stop()
        await asyncio.wait_for(run, WAIT_S)
    notices = {json.loads(bytes(m.payload))["data"]["name"]: m for m in rec.messages}
    assert set(notices) == {"one.bin", "two.bin"}
    assert (tmp_path / "files" / "one.bin").read_bytes() == one
    assert (tmp_path / "files" / "two.bin").read_bytes() == two
    for name, content in (("one.bin", one), ("two.bin", two)):
        data = json.loads(bytes(notices[name].payload))["data"]
        assert data["delivery"] == "complete"
        assert data["sha256"] == hashlib.sha256(content).hexdigest()
    assert not lose  # every lost segment was lost once, then NAKed and resent
    assert not (tmp_path / "files" / STATE_FILE).exists()  # nothing open at the stop
    metrics = gateway.registry.render()
    assert "dawnlink_cfdp_files_total 2" in metrics
    assert "dawnlink_cfdp_open_transactions 0" in metrics
    assert uplink.apids == {APID_UP}  # the class 2 answers went up on the CFDP APID
    assert uplink.ocfs > 0  # the frames' CLCWs reached the uplink


class DeafUplink(LoopbackUplink):
    """An uplink whose PDUs never reach the spacecraft (the station has no uplink now)."""

    def __init__(self, craft: Entity, wake: asyncio.Event) -> None:
        super().__init__(craft, wake)
        self.sent: list[bytes] = []

    def send_packet(self, apid: int, data: bytes) -> None:
        self.sent.append(data)


@pytest.mark.broker
@pytest.mark.asyncio
async def test_gateway_restart_resumes_a_class2_transfer(broker: Broker, tmp_path: Path) -> None:
    port = free_port()
    table: dict[str, Any] = {
        "mqtt": {"host": broker.host, "port": broker.port, "reconnect_initial_s": 0.02},
        "outbox": {"path": str(tmp_path / "outbox.db")},
        "metrics": {"enabled": False},
        "spacecraft": {"name": "dawn", "scid": SCID},
        "stations": [{"name": "A", "kind": "udp-frames", "host": "127.0.0.1", "port": port}],
        "merge": {"timeout_s": 0.05},
        "cfdp": {
            "entity_id": GROUND,
            "directory": str(tmp_path / "files"),
            "downlink_apids": [APID_DOWN],
            "uplink_apid": APID_UP,
            "remotes": [{"entity_id": CRAFT, "nak_timer_s": 0.3}],
        },
    }
    if not broker.mqtt5:
        table["mqtt"]["protocol"] = "3.1.1"
    config = parse_config(table)
    content = file_bytes(30_000, seed=9)
    craft = Entity(
        Mib(
            LocalEntityConfig(CRAFT),
            # The craft repeats EOF until it hears the ACK, across the gateway's restart.
            {GROUND: RemoteEntityConfig(GROUND, ack_timer_interval=0.2, ack_limit=1000)},
        ),
        MemoryFilestore({b"f": content}),
    )
    wake = asyncio.Event()
    segment = RemoteEntityConfig(GROUND).max_file_segment_length(
        PduHeader(RemoteEntityConfig(GROUND).pdu_config, CRAFT, 1, GROUND)
    )
    lose = {segment * 3, segment * 10}
    missing = sum(min(segment, len(content) - o) for o in lose)
    craft.put(PutRequest(GROUND, "f", "f.bin"), time.time())
    async with recording(
        broker.host, broker.port, "dawnlink/dawn/files", mqtt5=broker.mqtt5
    ) as rec:
        # First run: the file comes down with two segments lost; nothing gets up.
        first = Gateway(config, pipeline=run_pipeline, shutdown_grace_s=WAIT_S)
        deaf = DeafUplink(craft, wake)
        first.uplink = deaf  # type: ignore[assignment]
        run = asyncio.create_task(first.run())
        await wait_until(lambda: udp_port_taken(port))
        octets = [0]
        radio = asyncio.create_task(
            spacecraft(craft, port, wake, lose, sequence=1, radiated=octets)
        )
        try:
            await wait_until(lambda: bool(naks(deaf.sent)))  # the EOF is in: gaps NAKed
            first.stop()
            await asyncio.wait_for(run, WAIT_S)
            assert (tmp_path / "files" / STATE_FILE).exists()
            assert not lose  # both segments were lost
            # Second run: resumes, NAKs what is missing, and the craft's answer completes it.
            before = octets[0]
            second = Gateway(config, pipeline=run_pipeline, shutdown_grace_s=WAIT_S)
            second.uplink = LoopbackUplink(craft, wake)  # type: ignore[assignment]
            run = asyncio.create_task(second.run())
            await rec.wait_for(lambda r: len(r.messages) >= 1)
        finally:
            radio.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await radio
        second.stop()
        await asyncio.wait_for(run, WAIT_S)
    (message,) = rec.messages
    data = json.loads(bytes(message.payload))["data"]
    assert (data["delivery"], data["class"]) == ("complete", 2)
    assert (tmp_path / "files" / "f.bin").read_bytes() == content
    assert octets[0] - before == missing  # only the gaps came again
    assert not (tmp_path / "files" / STATE_FILE).exists()


# -- cfdp-py as an independent spacecraft-side source --------------------------------------


def test_cfdppy_class2_source_through_frames_with_lost_pdus(tmp_path: Path) -> None:
    """cfdp-py (us-irs/cfdp-py) sends a class 2 file; three of its File Data PDUs are
    lost once; the gateway's NAKs, sent up, bring them back. cfdp-py's timers run on the
    wall clock, so this loop polls it (bounded), as tests/comms/cfdp's interop test does."""
    pytest.importorskip("cfdppy")
    from cfdppy.handler.source import SourceHandler
    from cfdppy.mib import IndicationConfig, RemoteEntityConfigTable
    from cfdppy.mib import LocalEntityConfig as PeerLocal
    from cfdppy.mib import RemoteEntityConfig as PeerRemote
    from cfdppy.request import PutRequest as PeerPut
    from spacepackets.cfdp import ChecksumType as PeerChecksum
    from spacepackets.cfdp import TransmissionMode as PeerMode
    from spacepackets.cfdp.pdu import PduFactory
    from spacepackets.seqcount import SeqCountProvider
    from spacepackets.util import ByteFieldU16

    from tests.comms.cfdp.test_interop_cfdppy import _CheckTimers, _Faults, _User

    content = file_bytes(20_000, seed=10)
    (tmp_path / "src.bin").write_bytes(content)
    files = tmp_path / "files"
    remote = PeerRemote(
        entity_id=ByteFieldU16(GROUND),
        max_file_segment_len=None,
        max_packet_len=1024,
        closure_requested=False,
        crc_on_transmission=False,
        default_transmission_mode=PeerMode.ACKNOWLEDGED,
        crc_type=PeerChecksum.CRC_32,
        positive_ack_timer_interval_seconds=0.2,
        positive_ack_timer_expiration_limit=50,
        nak_timer_interval_seconds=0.2,
        nak_timer_expiration_limit=50,
    )
    user = _User()
    source = SourceHandler(
        PeerLocal(ByteFieldU16(CRAFT), IndicationConfig(), _Faults()),
        user,
        RemoteEntityConfigTable([remote]),
        _CheckTimers(),
        SeqCountProvider(16),
    )
    up: list[bytes] = []
    ground = GatewayCfdp(
        cfdp_config(files, entity_id_length=2, sequence_number_length=2), up.append, topics=TOPICS
    )
    pipeline = Pipeline(TM, scid=SCID, routes=[], topics=TOPICS, cfdp=ground)
    sender = VcPacketSender(TM, scid=SCID, vcid=0)
    source.put_request(
        PeerPut(
            destination_id=ByteFieldU16(GROUND),
            source_file=tmp_path / "src.bin",
            dest_file=Path("from-cfdppy.bin"),
            trans_mode=PeerMode.ACKNOWLEDGED,
            closure_requested=False,
        )
    )
    lost_once = {2, 7, 15}  # File Data PDUs, by the order cfdp-py first sends them
    file_data_seen = 0
    packets: list[SpacePacket] = []
    down: list[bytes] = []
    all_up: list[bytes] = []

    def drain() -> None:
        # cfdp-py wants its PDUs taken after every state_machine() call.
        nonlocal file_data_seen
        while source.packets_ready:
            raw = source.get_next_packet().pdu.pack()
            if isinstance(decode_pdu(raw), FileDataPdu):
                file_data_seen += 1
                if file_data_seen in lost_once:
                    continue
            packets.append(SpacePacket(apid=APID_DOWN, data=raw, sequence_count=len(down)))
            down.append(raw)

    notices: list[OutboxMessage] = []
    give_up = time.monotonic() + 30.0  # a hang guard, not a timed assertion
    while not notices and time.monotonic() < give_up:
        packets.clear()
        source.state_machine()
        drain()
        for raw in up:
            source.state_machine(PduFactory.from_raw(raw))
            drain()
        all_up += up
        up.clear()
        if packets:
            pipeline.receive("A", sender.add_packets(packets) + sender.flush(), time.time())
            pipeline.flush()
        deadline = pipeline.next_deadline()
        if deadline is not None and deadline <= time.time():
            pipeline.on_timer(time.time())
        notices += pipeline.messages()
        if not packets and not up:
            time.sleep(0.002)  # cfdp-py's wall-clock timers
    (notice,) = notices
    data = notice_data(notice)
    assert (data["delivery"], data["condition"], data["class"]) == ("complete", "no_error", 2)
    assert data["checksum"]["type"] == "crc32"
    assert (files / "from-cfdppy.bin").read_bytes() == content
    requested = [r for n in naks(all_up) for r in n.segment_requests]
    assert len(requested) >= len(lost_once)  # each lost PDU was asked for


# -- the notice's SHA-256 is read off the event loop ---------------------------------------


def class1_frames(craft: Entity) -> list[bytes]:
    """Every PDU the craft has to send (class 1: no answer needed), as TM frames."""
    sender = VcPacketSender(TM, scid=SCID, vcid=3)
    frames: list[bytes] = []
    count = 0
    while out := craft.pdus_to_send():
        packets = []
        for _peer, raw in out:
            packets.append(SpacePacket(apid=APID_DOWN, data=raw, sequence_count=count))
            count += 1
        frames += sender.add_packets(packets)
    return frames + sender.flush()


@pytest.mark.asyncio
async def test_runner_hashes_file_notices_in_the_writer_thread_not_the_loop(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    hashed_on: list[int] = []
    real = gateway_files._file_sha256

    def recording_sha256(handle: Any) -> tuple[int, str]:
        hashed_on.append(threading.get_ident())
        return real(handle)

    # A seam, not a mock: the real hashing runs; only the reading thread is noted.
    monkeypatch.setattr(gateway_files, "_file_sha256", recording_sha256)
    one, two = file_bytes(300_000, seed=11), file_bytes(5_000, seed=12)
    craft = craft_entity({b"one": one, b"two": two})
    for name in ("one", "two"):
        craft.put(
            PutRequest(
                GROUND, name, f"{name}.bin", transmission_mode=TransmissionMode.UNACKNOWLEDGED
            ),
            T0,
        )
    frames = class1_frames(craft)
    ground = GatewayCfdp(cfdp_config(tmp_path / "files"), lambda pdu: None, topics=TOPICS)
    pipeline = Pipeline(
        TM,
        scid=SCID,
        routes=[],
        topics=TOPICS,
        merge=StationMerge(TM, timeout_s=30.0),
        cfdp=ground,
    )
    config = GatewayConfig(stations=(StationConfig("A", StationKind.UDP_FRAMES, "127.0.0.1", 0),))
    outbox = Outbox(tmp_path / "outbox.sqlite3", synchronous="normal")
    ended: list[int] = []  # transaction sequence numbers, in the order they ended

    def on_event(event: object) -> None:
        if isinstance(event, TransactionFinished):
            ended.append(event.transaction_id.transaction_sequence_number)

    runner = PipelineRunner(pipeline, config, outbox, clock=lambda: T0, on_event=on_event)
    (link,) = runner.links
    loop_thread = threading.get_ident()
    task = asyncio.create_task(runner.run())
    try:
        async with asyncio.timeout(30):  # a hang guard, not a timed assertion
            await runner.wait_ready()
            assert link.port is not None
            transport, _ = await asyncio.get_running_loop().create_datagram_endpoint(
                asyncio.DatagramProtocol, remote_addr=("127.0.0.1", link.port)
            )
            try:
                for frame in frames:
                    before = link.counters.datagrams
                    transport.sendto(frame)
                    # One in flight at a time: loopback never drops then.
                    while link.counters.datagrams == before:
                        await asyncio.sleep(0)
            finally:
                transport.close()
            runner.flush()
            await runner.wait_stored(2)
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task
    rows = outbox.peek()
    outbox.close()
    assert len(hashed_on) == 2 and loop_thread not in hashed_on
    # The outbox got complete notices, in the order the transactions ended.
    datas = [json.loads(r.payload)["data"] for r in rows]
    assert [d["transaction"]["sequence_number"] for d in datas] == ended
    assert sorted(d["name"] for d in datas) == ["one.bin", "two.bin"]
    datas.sort(key=lambda d: str(d["name"]))
    for data, content in zip(datas, (one, two), strict=True):
        assert data["sha256"] == hashlib.sha256(content).hexdigest()
        assert data["size"] == len(content) and data["delivery"] == "complete"


def test_a_notice_finished_late_hashes_its_own_file_not_a_later_one(tmp_path: Path) -> None:
    """Two transfers to the same name end before either notice is finished: each notice
    still carries the size and SHA-256 of the file its transaction delivered."""
    old, new = file_bytes(7_000, seed=21), file_bytes(9_000, seed=22)
    craft = craft_entity({b"old": old, b"new": new})
    link = Pass(craft, tmp_path)
    for name in ("old", "new"):  # one after the other: "new" replaces "old" on disk
        craft.put(
            PutRequest(
                GROUND, name, "latest.bin", transmission_mode=TransmissionMode.UNACKNOWLEDGED
            ),
            link.now,
        )
        while link.downlink():
            pass
        link.pipeline.flush()
    notices = link.pipeline.unfinished_messages()
    assert all(isinstance(n, FileNotice) for n in notices) and len(notices) == 2
    assert (tmp_path / "latest.bin").read_bytes() == new  # the old file was replaced
    datas = [notice_data(m) for m in finish_all(notices)]
    assert [(d["size"], d["sha256"]) for d in datas] == [
        (len(c), hashlib.sha256(c).hexdigest()) for c in (old, new)
    ]
    assert link.pipeline.messages() == []  # drained once
