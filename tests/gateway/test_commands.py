"""Command messages: parsing, the signed bytes, authorization (HMAC-SHA256 and Ed25519),
freshness across restarts, and refusals end to end through a real Mosquitto broker to a
real station stub that must receive nothing refused; and stopping (SIGTERM to a real
`dawnlink gateway run`, and Gateway.stop()): every unfinished command ends `failed` with
how far it got, stored before the outbox flush, and nothing is re-queued on restart."""

from __future__ import annotations

import asyncio
import base64
import contextlib
import hashlib
import hmac
import json
import random
import signal
import sqlite3
import time
from pathlib import Path
from typing import Any

import aiomqtt
import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat
from hypothesis import given
from hypothesis import strategies as st

from comms.cop1 import FopState
from comms.frames.params import TcParams
from gateway.broker import free_port
from gateway.commands import (
    Command,
    CommandAuthority,
    CommandRefused,
    FreshnessStore,
    RefusalReason,
    parse_command,
    signed_bytes,
)
from gateway.config import Secret, SenderKey
from gateway.daemon import Gateway
from tests.gateway.conftest import Broker
from tests.gateway.gwproc import GatewayProcess, Notifications
from tests.gateway.helpers import WAIT_S, Recorder, recording, wait_until
from tests.gateway.spacecraft_stub import SpacecraftStub
from tests.gateway.test_uplink import HMAC_KEY, VCID, command, gateway_config, responses

ED_KEY = Ed25519PrivateKey.from_private_bytes(bytes(range(100, 132)))
ED_PUBLIC = ED_KEY.public_key().public_bytes(Encoding.Raw, PublicFormat.Raw)
NOW = 1_780_000_000.0


def with_sig(c: Command, sig: bytes) -> Command:
    return Command(**{**{f: getattr(c, f) for f in Command.__slots__}, "sig": sig})


def make(seq: int = 1, *, sender: str = "ops", ts: float = NOW, **fields: Any) -> Command:
    base: dict[str, Any] = dict(
        id=f"c{seq}",
        sender=sender,
        spacecraft="dawn-1",
        apid=0x42,
        payload=b"\x10\x20",
        seq=seq,
        ts_ms=int(ts * 1000),
        sig=b"",
    )
    base.update(fields)
    c = Command(**base)
    if sender == "flight":
        return with_sig(c, ED_KEY.sign(c.signed_bytes()))
    return with_sig(c, hmac.new(HMAC_KEY, c.signed_bytes(), hashlib.sha256).digest())


def authority(tmp_path: Path) -> CommandAuthority:
    senders = [
        SenderKey("ops", "hmac-sha256", Secret(HMAC_KEY.hex())),
        SenderKey("flight", "ed25519", Secret(ED_PUBLIC.hex())),
    ]
    store = FreshnessStore(tmp_path / "commands.json")
    return CommandAuthority(senders, "dawn-1", store, window_s=300.0, max_payload=100)


def refusal(auth: CommandAuthority, payload: bytes, now: float = NOW) -> RefusalReason:
    with pytest.raises(CommandRefused) as info:
        auth.check(payload, now)
    return info.value.refusal


# -- the signed bytes -----------------------------------------------------------------------

NAMES = st.from_regex(r"[A-Za-z0-9_.\-]{1,64}", fullmatch=True)
IDS = st.from_regex(r"[A-Za-z0-9_.:\-]{1,64}", fullmatch=True)
COMMANDS = st.builds(
    Command,
    id=IDS,
    sender=NAMES,
    spacecraft=NAMES,
    apid=st.integers(0, 0x7FE),
    payload=st.binary(min_size=1, max_size=300),
    seq=st.integers(0, 2**63 - 1),
    ts_ms=st.integers(0, 2**63 - 1),
    sig=st.binary(min_size=1, max_size=64),
)


@given(COMMANDS)
def test_message_round_trips_and_signature_verifies(c: Command) -> None:
    key = hashlib.sha256(c.sender.encode()).digest()
    signed = with_sig(c, hmac.new(key, c.signed_bytes(), hashlib.sha256).digest())
    parsed = parse_command(signed.to_json())
    assert parsed == signed
    assert hmac.compare_digest(
        hmac.new(key, parsed.signed_bytes(), hashlib.sha256).digest(), parsed.sig
    )
    ed = with_sig(c, ED_KEY.sign(c.signed_bytes()))
    ED_KEY.public_key().verify(parse_command(ed.to_json()).sig, c.signed_bytes())


@given(COMMANDS, COMMANDS)
def test_signed_bytes_differ_whenever_the_command_differs(a: Command, b: Command) -> None:
    same = all(getattr(a, f) == getattr(b, f) for f in Command.__slots__ if f != "sig")
    assert (a.signed_bytes() == b.signed_bytes()) == same


def test_signed_bytes_are_the_documented_lines() -> None:
    data = signed_bytes(
        spacecraft="dawn-1",
        sender="ops",
        command_id="c-7",
        apid=66,
        seq=7,
        ts_ms=1780000000000,
        payload=b"\x10\x20",
    )
    digest = hashlib.sha256(b"\x10\x20").hexdigest()
    assert data == f"dawnlink-command-v1\ndawn-1\nops\nc-7\n66\n7\n1780000000000\n{digest}".encode()


# -- authorization and freshness ----------------------------------------------------------


def test_hmac_and_ed25519_senders_are_accepted_in_sequence(tmp_path: Path) -> None:
    auth = authority(tmp_path)
    assert auth.check(make(1).to_json(), NOW).seq == 1
    assert auth.check(make(5, sender="flight").to_json(), NOW + 1).sender == "flight"
    assert auth.check(make(2).to_json(), NOW + 2).payload == b"\x10\x20"


@pytest.mark.parametrize(
    ("payload", "reason"),
    [
        (b"{not json", RefusalReason.MALFORMED),
        (b"[1, 2]", RefusalReason.MALFORMED),
        (b"\xff\xfe", RefusalReason.MALFORMED),
        (make(1).to_json().replace(b'"v":1', b'"v":1,"urgent":true'), RefusalReason.MALFORMED),
        (
            make(1, apid=0x7FE).to_json().replace(b'"apid":2046', b'"apid":2047'),
            RefusalReason.MALFORMED,
        ),
        (make(1, payload=bytes(101)).to_json(), RefusalReason.MALFORMED),
        (make(1).to_json().replace(b'"seq":1', b'"seq":true'), RefusalReason.MALFORMED),
        (make(1, spacecraft="dusk-2").to_json(), RefusalReason.WRONG_SPACECRAFT),
        (make(1, sender="mallory").to_json(), RefusalReason.UNKNOWN_SENDER),
        (with_sig(make(1), bytes(32)).to_json(), RefusalReason.BAD_SIGNATURE),
        (
            make(1, sender="flight", apid=1).to_json().replace(b'"apid":1', b'"apid":2'),
            RefusalReason.BAD_SIGNATURE,
        ),
        (make(1, ts=NOW - 301).to_json(), RefusalReason.STALE),
        (make(1, ts=NOW + 301).to_json(), RefusalReason.STALE),
    ],
)
def test_refusals(tmp_path: Path, payload: bytes, reason: RefusalReason) -> None:
    auth = authority(tmp_path)
    assert refusal(auth, payload) is reason
    assert auth.store.last("ops") is None and auth.store.last("flight") is None


def test_refusal_keeps_what_can_be_correlated(tmp_path: Path) -> None:
    with pytest.raises(CommandRefused) as info:
        authority(tmp_path).check(make(3, spacecraft="dusk-2").to_json(), NOW)
    assert (info.value.command_id, info.value.sender) == ("c3", "ops")
    assert info.value.offset == 0 and "dusk-2" in info.value.detail


def test_replays_are_refused_even_after_a_restart(tmp_path: Path) -> None:
    auth = authority(tmp_path)
    auth.check(make(10).to_json(), NOW)
    assert refusal(auth, make(10).to_json()) is RefusalReason.REPLAY
    assert refusal(auth, make(9).to_json()) is RefusalReason.REPLAY
    restarted = authority(tmp_path)  # a new process reading the same state file
    assert refusal(restarted, make(10).to_json()) is RefusalReason.REPLAY
    assert restarted.check(make(11).to_json(), NOW).seq == 11
    # Each sender has its own sequence.
    assert restarted.check(make(1, sender="flight").to_json(), NOW).seq == 1


@pytest.mark.parametrize("ts", [NOW - 301, NOW + 301], ids=["old", "future"])
def test_a_stale_command_does_not_advance_the_senders_seq(tmp_path: Path, ts: float) -> None:
    auth = authority(tmp_path)
    auth.check(make(5).to_json(), NOW)
    assert refusal(auth, make(9, ts=ts).to_json()) is RefusalReason.STALE
    assert auth.store.last("ops") == 5
    assert json.loads((tmp_path / "commands.json").read_text()) == {"senders": {"ops": 5}}
    # 6..9 are still free, in this process and after a restart.
    assert auth.check(make(6).to_json(), NOW).seq == 6
    assert authority(tmp_path).check(make(9).to_json(), NOW).seq == 9


def test_a_seq_whose_record_failed_stays_usable(tmp_path: Path) -> None:
    state = tmp_path / "state"
    store = FreshnessStore(state / "commands.json")
    store.commit("ops", 5)
    (state / "commands.json").unlink()
    state.rmdir()
    state.write_text("not a directory")  # the state directory is gone: writes fail
    with pytest.raises(OSError):
        store.commit("ops", 6)
    assert store.last("ops") == 5  # not accepted, so not used up
    state.unlink()
    store.commit("ops", 6)
    assert FreshnessStore(state / "commands.json").last("ops") == 6


def test_a_damaged_state_file_stops_rather_than_accepting_replays(tmp_path: Path) -> None:
    (tmp_path / "commands.json").write_text('{"senders": {"ops": "x"}}')
    with pytest.raises(ValueError, match="damaged"):
        FreshnessStore(tmp_path / "commands.json")


def test_sender_must_match_its_topic(tmp_path: Path) -> None:
    auth = authority(tmp_path)
    with pytest.raises(CommandRefused, match="topic of 'flight'"):
        auth.check(make(1).to_json(), NOW, topic_sender="flight")


# -- end to end: refused commands never reach the station --------------------------------


@pytest.mark.broker
@pytest.mark.asyncio
async def test_refused_commands_get_a_reason_and_never_radiate(
    broker: Broker, tmp_path: Path
) -> None:
    gateway: Gateway | None = None

    def downlink_ocf(ocf: bytes) -> None:
        assert gateway is not None and gateway.uplink is not None
        gateway.uplink.on_ocf(ocf)

    station = SpacecraftStub(vcid=VCID, params=TcParams(), on_clcw=downlink_ocf)
    port = await station.start()
    config = gateway_config(broker, tmp_path, [("svalbard", port)])
    gateway = Gateway(config, rng=random.Random(5), shutdown_grace_s=WAIT_S)
    assert gateway.uplink is not None
    topic = "dawnlink/dawn-1/commands/ops"
    now = time.time()
    good = command(5, b"first")
    bad = [
        ("not-json", b'{"id": "broken", ', "malformed"),
        (
            "bad-sig",
            with_sig(command(6, b"x", cid="bad-sig"), bytes(32)).to_json(),
            "bad-signature",
        ),
        ("replayed", command(5, b"again", cid="replayed").to_json(), "replay"),
        ("stale", command(8, b"x", cid="stale", ts_ms=int((now - 3600) * 1000)).to_json(), "stale"),
        (
            "wrong-sc",
            command(9, b"x", cid="wrong-sc", spacecraft="dusk-2").to_json(),
            "wrong-spacecraft",
        ),
    ]
    last = command(10, b"last")
    async with recording(broker.host, broker.port, "dawnlink/dawn-1/responses/#") as rec:
        run = asyncio.create_task(gateway.run())
        try:
            await asyncio.wait_for(gateway.started.wait(), WAIT_S)
            await gateway.mqtt.wait_connected()
            await asyncio.wait_for(gateway.uplink.wait_connected(), WAIT_S)
            async with aiomqtt.Client(broker.host, broker.port) as client:
                await client.publish(topic, good.to_json(), qos=1)
                await rec.wait_for(
                    lambda r: any(b["state"] == "acknowledged" for b in responses(r, "cmd-5"))
                )
                for _, payload, _ in bad:
                    await client.publish(topic, payload, qos=1)
                await client.publish(topic, last.to_json(), qos=1)
            await rec.wait_for(
                lambda r: any(b["state"] == "acknowledged" for b in responses(r, "cmd-10"))
            )
            bodies = [json.loads(p) for p in rec.payloads()]
            for cid, _, reason in bad:
                # Unreadable JSON has no id to correlate: its report carries null.
                mine = [b for b in bodies if b["id"] == (None if cid == "not-json" else cid)]
                assert [(b["state"], b["reason"]) for b in mine] == [("refused", reason)], cid
                assert mine[0]["detail"]
            assert [p.data for p in station.packets] == [b"first", b"last"]
            assert station.cltus == 2
            metrics = gateway.registry.render()
            assert "dawnlink_commands_refused_total 5" in metrics
            assert "dawnlink_commands_accepted_total 2" in metrics
            assert "dawnlink_uplink_cltus_total 2" in metrics
        finally:
            gateway.stop()
            await asyncio.wait_for(run, WAIT_S)
            await station.stop()


@pytest.mark.broker
@pytest.mark.asyncio
async def test_unknown_sender_on_its_own_topic(broker: Broker, tmp_path: Path) -> None:
    station = SpacecraftStub(vcid=VCID, params=TcParams())
    port = await station.start()
    gateway = Gateway(gateway_config(broker, tmp_path, [("s", port)]), rng=random.Random(6))
    eve = command(1, b"x", cid="eve-1", sender="eve")
    async with recording(broker.host, broker.port, "dawnlink/dawn-1/responses/eve") as rec:
        run = asyncio.create_task(gateway.run())
        try:
            await asyncio.wait_for(gateway.started.wait(), WAIT_S)
            await gateway.mqtt.wait_connected()
            async with aiomqtt.Client(broker.host, broker.port) as client:
                await client.publish("dawnlink/dawn-1/commands/eve", eve.to_json(), qos=1)
            await rec.wait_for(lambda r: len(r.messages) == 1)
            (body,) = [json.loads(p) for p in rec.payloads()]
            assert (body["id"], body["state"], body["reason"]) == (
                "eve-1",
                "refused",
                "unknown-sender",
            )
            assert station.cltus == 0
        finally:
            gateway.stop()
            await asyncio.wait_for(run, WAIT_S)
            await station.stop()


def test_docs_snippet_signs_what_the_gateway_checks(tmp_path: Path) -> None:
    # The signing recipe of docs/gateway-commands.md, written without gateway imports.
    key = HMAC_KEY
    payload = b"\x10\x20"
    body = {
        "v": 1,
        "id": "c1",
        "sender": "ops",
        "spacecraft": "dawn-1",
        "apid": 66,
        "seq": 1,
        "ts_ms": int(NOW * 1000),
        "payload": base64.b64encode(payload).decode(),
    }
    lines = [
        "dawnlink-command-v1",
        body["spacecraft"],
        body["sender"],
        body["id"],
        str(body["apid"]),
        str(body["seq"]),
        str(body["ts_ms"]),
        hashlib.sha256(payload).hexdigest(),
    ]
    body["sig"] = hmac.new(key, "\n".join(lines).encode(), hashlib.sha256).hexdigest()  # type: ignore[arg-type]
    assert authority(tmp_path).check(json.dumps(body).encode(), NOW).id == "c1"


@pytest.mark.broker
@pytest.mark.asyncio
async def test_commands_are_taken_again_after_a_broker_restart(
    broker: Broker, tmp_path: Path
) -> None:
    gateway: Gateway | None = None

    def downlink_ocf(ocf: bytes) -> None:
        assert gateway is not None and gateway.uplink is not None
        gateway.uplink.on_ocf(ocf)

    station = SpacecraftStub(vcid=VCID, params=TcParams(), on_clcw=downlink_ocf)
    port = await station.start()
    gateway = Gateway(gateway_config(broker, tmp_path, [("s", port)]), rng=random.Random(7))
    assert gateway.uplink is not None
    run = asyncio.create_task(gateway.run())
    try:
        await asyncio.wait_for(gateway.started.wait(), WAIT_S)
        await asyncio.wait_for(gateway.mqtt.wait_connected(), WAIT_S)
        broker.restart()  # SIGKILL and start: the subscription is gone with the session
        await asyncio.wait_for(
            _until(lambda: gateway is not None and gateway.mqtt.connects >= 2), WAIT_S
        )
        async with recording(broker.host, broker.port, "dawnlink/dawn-1/responses/ops") as rec:
            async with aiomqtt.Client(broker.host, broker.port) as client:
                await client.publish(
                    "dawnlink/dawn-1/commands/ops", command(1, b"after").to_json(), qos=1
                )
            await rec.wait_for(
                lambda r: any(b["state"] == "acknowledged" for b in responses(r, "cmd-1"))
            )
        assert [p.data for p in station.packets] == [b"after"]
    finally:
        gateway.stop()
        await asyncio.wait_for(run, WAIT_S)
        await station.stop()


async def _until(predicate: Any) -> None:
    while not predicate():
        await asyncio.sleep(0.01)


# -- stopping: every unfinished command ends `failed`, with how far it got -----------------

STOP_CONFIG = """\
[mqtt]
host = "{host}"
port = {port}
reconnect_initial_s = 0.02
reconnect_max_s = 0.2

[outbox]
path = "{outbox}"

[metrics]
enabled = false

[spacecraft]
name = "dawn-1"
scid = 42

[uplink]
vcid = 1
[uplink.cop1]
enabled = false          # BD frames: "radiated" is final, no CLCW needed

[[uplink.senders]]
name = "ops"
algorithm = "hmac-sha256"
key = "{key}"

[[uplink.stations]]
name = "svalbard"
host = "127.0.0.1"
port = {station_port}
"""


def stored_responses(outbox: Path, cid: str) -> list[dict[str, Any]]:
    """The responses to ``cid`` waiting in the outbox file (read as SQLite, not via the
    gateway's own code)."""
    db = sqlite3.connect(outbox)
    try:
        rows = db.execute("SELECT topic, payload FROM outbox ORDER BY rowid").fetchall()
    finally:
        db.close()
    return [
        json.loads(payload)
        for topic, payload in rows
        if "/responses/" in topic and json.loads(payload).get("id") == cid
    ]


async def until_subscribed(rec: Recorder, host: str, port: int) -> None:
    """Publish a probe (refused as malformed, using no sequence number) until its refusal
    comes back: the gateway's command subscription is then live. (The gateway says
    "online" before it subscribes, so that is no sign.)"""

    def probed(r: Recorder) -> bool:
        return any(json.loads(p).get("id") == "probe" for p in r.payloads())

    async with aiomqtt.Client(host, port) as client, asyncio.timeout(WAIT_S):
        while not probed(rec):
            await client.publish("dawnlink/dawn-1/commands/ops", b'{"id": "probe"}', qos=1)
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(rec.wait_for(probed), 0.2)


@pytest.mark.broker
@pytest.mark.asyncio
async def test_sigterm_fails_a_queued_command_and_a_restart_publishes_it_without_radiating(
    broker: Broker, tmp_path: Path
) -> None:
    station_port = free_port()  # no station listens yet: the command stays queued
    outbox = tmp_path / "outbox.sqlite3"
    config_path = tmp_path / "gateway.toml"
    config_path.write_text(
        STOP_CONFIG.format(
            host=broker.host,
            port=broker.port,
            outbox=outbox,
            key=HMAC_KEY.hex(),
            station_port=station_port,
        )
    )
    notifications = Notifications()
    gateway = GatewayProcess(config_path, notifications)
    station = SpacecraftStub(vcid=VCID, params=TcParams())
    try:
        async with recording(broker.host, broker.port, "dawnlink/dawn-1/responses/#") as rec:
            await gateway.start()
            await until_subscribed(rec, broker.host, broker.port)
            async with aiomqtt.Client(broker.host, broker.port) as client:
                await client.publish(
                    "dawnlink/dawn-1/commands/ops", command(1, b"queued").to_json(), qos=1
                )
            await rec.wait_for(lambda r: bool(responses(r, "cmd-1")))
            assert [b["state"] for b in responses(rec, "cmd-1")] == ["accepted"]
            # The broker goes away, then SIGTERM: the failure can only go to the file.
            broker.kill()
        gateway.signal(signal.SIGTERM)
        assert await gateway.wait_exit() == 0, gateway.log()
        (failed,) = stored_responses(outbox, "cmd-1")
        assert (failed["state"], failed["reason"]) == ("failed", "gateway stopping: not radiated")

        # Back up, now with a station that would radiate anything still queued.
        await station.start(station_port)
        broker.start()
        async with recording(broker.host, broker.port, "dawnlink/dawn-1/responses/#") as rec:
            await gateway.start()
            await rec.wait_for(lambda r: bool(responses(r, "cmd-1")))
            assert [(b["state"], b["reason"]) for b in responses(rec, "cmd-1")] == [
                ("failed", "gateway stopping: not radiated")
            ]
            await station.wait_for(lambda: station.connections == 1)
            async with aiomqtt.Client(broker.host, broker.port) as client:
                await client.publish(
                    "dawnlink/dawn-1/commands/ops", command(2, b"fresh").to_json(), qos=1
                )
            await rec.wait_for(
                lambda r: any(b["state"] == "radiated" for b in responses(r, "cmd-2"))
            )
            await station.wait_for(lambda: len(station.packets) == 1)
            # Not re-queued: the station got the new command only.
            assert [p.data for p in station.packets] == [b"fresh"]
            gateway.signal(signal.SIGTERM)
            assert await gateway.wait_exit() == 0, gateway.log()
    finally:
        gateway.kill()
        notifications.close()
        await station.stop()


@pytest.mark.broker
@pytest.mark.asyncio
async def test_stop_fails_a_radiated_command_the_clcw_never_acknowledged(
    broker: Broker, tmp_path: Path
) -> None:
    gateway: Gateway | None = None
    downlink = [True]  # the downlink (and the CLCWs it carries) until the test cuts it

    def downlink_ocf(ocf: bytes) -> None:
        assert gateway is not None and gateway.uplink is not None
        if downlink[0]:
            gateway.uplink.on_ocf(ocf)

    station = SpacecraftStub(vcid=VCID, params=TcParams(), on_clcw=downlink_ocf)
    port = await station.start()
    config = gateway_config(broker, tmp_path, [("svalbard", port)])
    gateway = Gateway(config, rng=random.Random(8), shutdown_grace_s=WAIT_S)
    uplink = gateway.uplink
    assert uplink is not None and uplink.core.fop is not None
    fop = uplink.core.fop
    async with recording(broker.host, broker.port, "dawnlink/dawn-1/responses/#") as rec:
        run = asyncio.create_task(gateway.run())
        try:
            await asyncio.wait_for(gateway.started.wait(), WAIT_S)
            await gateway.mqtt.wait_connected()
            # The station's first CLCW starts COP-1; then the downlink is lost.
            await asyncio.wait_for(uplink.wait_connected(), WAIT_S)
            await wait_until(lambda: fop.state is FopState.ACTIVE)
            downlink[0] = False
            async with aiomqtt.Client(broker.host, broker.port) as client:
                await client.publish(
                    "dawnlink/dawn-1/commands/ops", command(1, b"deploy").to_json(), qos=1
                )
            await rec.wait_for(
                lambda r: any(b["state"] == "radiated" for b in responses(r, "cmd-1"))
            )
            # It reached the spacecraft; only the acknowledgement is missing.
            await station.wait_for(lambda: len(station.packets) == 1)
            assert [b["state"] for b in responses(rec, "cmd-1")] == ["accepted", "radiated"]
        finally:
            gateway.stop()
            await asyncio.wait_for(run, WAIT_S)
            await station.stop()
        await rec.wait_for(lambda r: len(responses(r, "cmd-1")) == 3)
        assert [(b["state"], b.get("reason")) for b in responses(rec, "cmd-1")] == [
            ("accepted", None),
            ("radiated", None),
            ("failed", "gateway stopping: radiated, not acknowledged by CLCW before stop"),
        ]


@pytest.mark.asyncio
async def test_a_command_arriving_while_stopping_is_not_taken_and_uses_no_seq(
    tmp_path: Path,
) -> None:
    # The command service on its own: stopped as the daemon stops it, then handed a
    # message, as the MQTT link does until the outbox flush is over. Nothing connects
    # (no broker runs on the unstarted Broker's port, no station on port 1).
    config = gateway_config(Broker(tmp_path, port=free_port()), tmp_path, [("s", 1)])
    gateway = Gateway(config, rng=random.Random(9))
    service = gateway.commands
    assert service is not None
    task = asyncio.create_task(service.run())
    await asyncio.sleep(0)  # let it start
    task.cancel()
    with contextlib.suppress(asyncio.CancelledError):
        await task
    late = command(7, b"late", cid="late")
    await service.handle(
        aiomqtt.Message("dawnlink/dawn-1/commands/ops", late.to_json(), 1, False, 1, None)
    )
    gateway.outbox.close()
    (body,) = stored_responses(config.outbox.path, "late")
    assert (body["state"], body["sender"]) == ("failed", "ops")
    assert body["reason"].startswith("gateway stopping: not taken")
    assert service.authority.store.last("ops") is None
    # After the restart the very same message is accepted: its seq was never used.
    restarted = Gateway(config, rng=random.Random(10))
    assert restarted.commands is not None
    assert restarted.commands.authority.check(late.to_json(), time.time()).seq == 7
    restarted.outbox.close()
