"""The gateway against a real Mosquitto with mutual TLS and with a password file.

A throwaway PKI is made with ``cryptography`` in tmp_path: a CA, a server certificate
(SAN 127.0.0.1 and localhost), a client certificate, and a second, unrelated CA. Two
brokers (gateway.broker.Broker with extra configuration lines):

- a TLS listener that requires a client certificate signed by the CA;
- a plain listener with ``allow_anonymous false`` and a password file (written by
  ``mosquitto_passwd`` when installed, else by :func:`passwd_line`, which a test checks
  against ``mosquitto_passwd``'s own hash).

A whole :class:`gateway.daemon.Gateway` must get its status (the aiomqtt link) and its
products (the pipelined ``-outbox`` connection) through each, seen by a subscriber with
the same credentials. Refused (wrong password, no credentials, untrusted CA, no client
certificate) it must keep retrying, name the reason in ``mqtt.last_error`` and health,
keep every row in the outbox, and publish them once started with the right
credentials. The password never reaches a log record.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import datetime
import hashlib
import ipaddress
import json
import logging
import os
import pwd
import random
import shutil
import subprocess
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import aiomqtt
import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from gateway.broker import Broker, free_port, mosquitto_path
from gateway.config import GatewayConfig, parse_config
from gateway.daemon import Gateway
from gateway.messages import message_id
from gateway.mqtt_pipe import PipeClosed, open_pipeline
from gateway.outbox import Outbox
from tests.gateway.helpers import WAIT_S, Recorder, wait_until

pytestmark = [
    pytest.mark.broker,
    pytest.mark.skipif(mosquitto_path() is None, reason="no mosquitto (apt install mosquitto)"),
]

USER = "gateway"
# Distinctive, so a search of the logs for it cannot match anything else.
PASSWORD = "pw-7f3a9c-never-logged"
PRODUCTS = 40


# -- a throwaway PKI ---------------------------------------------------------------------


@dataclass(frozen=True)
class Pki:
    ca: Path
    server_cert: Path
    server_key: Path
    client_cert: Path
    client_key: Path
    rogue_ca: Path  # a CA that signed nothing the broker presents


def _name(cn: str) -> x509.Name:
    return x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, cn)])


def _issue(
    subject: str,
    key: ec.EllipticCurvePrivateKey,
    issuer: tuple[x509.Name, ec.EllipticCurvePrivateKey] | None,
    *,
    usage: list[x509.ObjectIdentifier] | None = None,
    san: list[x509.GeneralName] | None = None,
) -> x509.Certificate:
    """A certificate for ``key``: a self-signed CA when ``issuer`` is None."""
    now = datetime.datetime.now(datetime.UTC)
    issuer_name, issuer_key = issuer if issuer is not None else (_name(subject), key)
    builder = (
        x509.CertificateBuilder()
        .subject_name(_name(subject))
        .issuer_name(issuer_name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(days=1))
        .add_extension(x509.BasicConstraints(ca=issuer is None, path_length=None), critical=True)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
        .add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_public_key(issuer_key.public_key()),
            critical=False,
        )
    )
    if issuer is None:
        builder = builder.add_extension(
            x509.KeyUsage(
                digital_signature=True, key_cert_sign=True, crl_sign=True,
                content_commitment=False, key_encipherment=False, data_encipherment=False,
                key_agreement=False, encipher_only=False, decipher_only=False,
            ),
            critical=True,
        )  # fmt: skip
    if usage is not None:
        builder = builder.add_extension(x509.ExtendedKeyUsage(usage), critical=False)
    if san is not None:
        builder = builder.add_extension(x509.SubjectAlternativeName(san), critical=False)
    return builder.sign(issuer_key, hashes.SHA256())


def _write(path: Path, cert: x509.Certificate, key: ec.EllipticCurvePrivateKey | None) -> None:
    path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    if key is not None:
        path.with_suffix(".key").write_bytes(
            key.private_bytes(
                serialization.Encoding.PEM,
                serialization.PrivateFormat.PKCS8,
                serialization.NoEncryption(),
            )
        )


def _key() -> ec.EllipticCurvePrivateKey:
    return ec.generate_private_key(ec.SECP256R1())


@pytest.fixture
def pki(tmp_path: Path) -> Pki:
    d = tmp_path / "pki"
    d.mkdir()
    # P-256 keys: a key pair in microseconds, where RSA-2048 takes tens of ms.
    ca_key, rogue_key, server_key, client_key = (_key() for _ in range(4))
    ca = _issue("dawnlink test CA", ca_key, None)
    signer = (ca.subject, ca_key)
    server = _issue(
        "broker",
        server_key,
        signer,
        usage=[ExtendedKeyUsageOID.SERVER_AUTH],
        san=[x509.DNSName("localhost"), x509.IPAddress(ipaddress.ip_address("127.0.0.1"))],
    )
    client = _issue("gateway", client_key, signer, usage=[ExtendedKeyUsageOID.CLIENT_AUTH])
    _write(d / "ca.pem", ca, None)
    _write(d / "server.pem", server, server_key)
    _write(d / "client.pem", client, client_key)
    _write(d / "rogue-ca.pem", _issue("rogue CA", rogue_key, None), None)
    return Pki(
        ca=d / "ca.pem",
        server_cert=d / "server.pem",
        server_key=d / "server.key",
        client_cert=d / "client.pem",
        client_key=d / "client.key",
        rogue_ca=d / "rogue-ca.pem",
    )


# -- brokers -----------------------------------------------------------------------------


def passwd_line(user: str, password: str, salt: bytes | None = None, iterations: int = 101) -> str:
    """One Mosquitto 2 password file line: ``user:$7$<iterations>$<salt>$<hash>``, the
    hash PBKDF2-HMAC-SHA512 of the password (64 octets), salt (12 octets) and hash
    base64, as ``mosquitto_passwd`` writes it."""
    salt = os.urandom(12) if salt is None else salt
    digest = hashlib.pbkdf2_hmac("sha512", password.encode(), salt, iterations)
    b64 = base64.b64encode
    return f"{user}:$7${iterations}${b64(salt).decode()}${b64(digest).decode()}\n"


def write_password_file(path: Path, user: str, password: str) -> None:
    tool = shutil.which("mosquitto_passwd")
    if tool is not None:
        subprocess.run([tool, "-b", "-c", str(path), user, password], check=True)
    else:
        path.write_text(passwd_line(user, password))


@contextlib.contextmanager
def running(broker: Broker) -> Iterator[Broker]:
    broker.start()
    try:
        yield broker
    finally:
        broker.stop()


# Mosquitto started as root drops to the user "mosquitto", which cannot read files
# under pytest's private tmp_path; it keeps our user instead (ignored when not root).
_SAME_USER = f"user {pwd.getpwuid(os.geteuid()).pw_name}"
# "New client connected from ... as <client id> (p5, c1, k60, u'gateway')": which
# connections came in, and as whom.
_LOG_CONNECTS = "log_type notice"


@pytest.fixture
def tls_broker(tmp_path: Path, pki: Pki) -> Iterator[Broker]:
    lines = (
        _SAME_USER,
        _LOG_CONNECTS,
        f"cafile {pki.ca}",
        f"certfile {pki.server_cert}",
        f"keyfile {pki.server_key}",
        "require_certificate true",
    )
    with running(Broker(tmp_path / "tls-broker", port=free_port(), config_lines=lines)) as b:
        yield b


def password_broker(workdir: Path) -> Broker:
    """A broker on ``workdir / "passwd"``: no anonymous clients."""
    lines = (
        _SAME_USER,
        _LOG_CONNECTS,
        f"password_file {workdir / 'passwd'}",
        "allow_anonymous false",
    )
    return Broker(workdir, port=free_port(), config_lines=lines)


@pytest.fixture
def auth_broker(tmp_path: Path) -> Iterator[Broker]:
    workdir = tmp_path / "auth-broker"
    workdir.mkdir()
    write_password_file(workdir / "passwd", USER, PASSWORD)
    with running(password_broker(workdir)) as b:
        yield b


def tls_table(pki: Pki, *, ca: Path | None = None, client_cert: bool = True) -> dict[str, str]:
    table = {"ca": str(ca or pki.ca)}
    if client_cert:
        table |= {"cert": str(pki.client_cert), "key": str(pki.client_key)}
    return table


def make_config(tmp_path: Path, port: int, **mqtt: Any) -> GatewayConfig:
    return parse_config(
        {
            "mqtt": {
                "host": "127.0.0.1",
                "port": port,
                "reconnect_initial_s": 0.02,
                "reconnect_max_s": 0.1,
                **mqtt,
            },
            "outbox": {"path": str(tmp_path / "outbox.db"), "inflight_window": 16},
            "metrics": {"enabled": False},
            "spacecraft": {"name": "dawn-1", "scid": 42},
        }
    )


# -- the subscriber and the gateway ------------------------------------------------------


@contextlib.asynccontextmanager
async def subscriber(host: str, port: int, **client: Any) -> AsyncIterator[Recorder]:
    """Records ``dawnlink/dawn-1/#`` (QoS 1) with the given aiomqtt.Client options."""
    recorder = Recorder()
    ready = asyncio.Event()

    async def run() -> None:
        async with aiomqtt.Client(host, port, identifier="test-subscriber", **client) as c:
            await c.subscribe("dawnlink/dawn-1/#", qos=1)
            ready.set()
            async for message in c.messages:
                recorder.record(message)

    task = asyncio.create_task(run())
    try:
        await wait_until(lambda: ready.is_set() or task.done())
        if task.done():
            task.result()
        yield recorder
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError, aiomqtt.MqttError):
            await task


@contextlib.asynccontextmanager
async def gateway_running(config: GatewayConfig) -> AsyncIterator[Gateway]:
    gateway = Gateway(config, rng=random.Random(7), shutdown_grace_s=WAIT_S)
    run = asyncio.create_task(gateway.run())
    try:
        await asyncio.wait_for(gateway.started.wait(), WAIT_S)
        yield gateway
        assert not run.done(), "the gateway ended on its own"
    finally:
        gateway.stop()
        await asyncio.wait_for(run, WAIT_S)  # and it raised nothing


async def put_products(gateway: Gateway, count: int = PRODUCTS) -> list[str]:
    ids = [message_id(42, 100, i) for i in range(count)]
    for i, mid in enumerate(ids):
        await gateway.put_product(
            "results", {"n": i}, message_id=mid, earth_receive_time=1.7e9 + i, stations=["gs"]
        )
    return ids


async def assert_delivered(
    gateway: Gateway, recorder: Recorder, ids: list[str], broker: Broker, user: str | None
) -> None:
    await recorder.wait_for(lambda r: len(r.payloads("/products/results")) >= len(ids))
    got = [json.loads(p)["id"] for p in recorder.payloads("/products/results")]
    assert got == ids  # through the pipelined -outbox connection, in order, once each
    assert recorder.payloads("/status")[-1] == b"online"  # through the aiomqtt link
    await wait_until(lambda: len(gateway.outbox) == 0)  # every PUBACK came back
    # Both connections came in through this broker's security, as the same user.
    log = broker.log_path.read_text()
    client_id = gateway.config.mqtt.client_id
    for connection in (client_id, f"{client_id}-outbox"):
        lines = [x for x in log.splitlines() if f" as {connection} (" in x]
        assert lines, f"no connect of {connection} in the broker log"
        assert all((f"u'{user}'" in x) if user else ("u'" not in x) for x in lines)
    assert PASSWORD not in log


def assert_password_not_logged(caplog: pytest.LogCaptureFixture) -> None:
    assert caplog.records  # DEBUG capture was on: paho logs its CONNECT, for one
    for record in caplog.records:
        assert PASSWORD not in record.getMessage()
        assert PASSWORD not in repr(record.args)
    assert PASSWORD not in caplog.text


# -- accepted ----------------------------------------------------------------------------


@pytest.mark.parametrize("host", ["127.0.0.1", "localhost"])
@pytest.mark.asyncio
async def test_mutual_tls_carries_status_and_products(
    tls_broker: Broker, pki: Pki, tmp_path: Path, host: str
) -> None:
    # "localhost" checks the DNS name in the SAN, "127.0.0.1" the IP address.
    config = make_config(tmp_path, tls_broker.port, host=host, tls=tls_table(pki))
    tls = aiomqtt.TLSParameters(
        ca_certs=str(pki.ca), certfile=str(pki.client_cert), keyfile=str(pki.client_key)
    )
    async with (
        subscriber("127.0.0.1", tls_broker.port, tls_params=tls) as recorder,
        gateway_running(config) as gateway,
    ):
        ids = await put_products(gateway)
        await assert_delivered(gateway, recorder, ids, tls_broker, None)
        assert gateway.mqtt.health() is None


@pytest.mark.parametrize("protocol", ["5", "3.1.1"])
@pytest.mark.asyncio
async def test_password_carries_status_and_products(
    auth_broker: Broker, tmp_path: Path, caplog: pytest.LogCaptureFixture, protocol: str
) -> None:
    caplog.set_level(logging.DEBUG)
    # Both ways to give the password: in the file, and (the systemd way) from a file.
    secret: dict[str, str] = {"password": PASSWORD}
    if protocol == "5":
        (tmp_path / "mqtt-password").write_text(PASSWORD + "\n")
        secret = {"password_file": str(tmp_path / "mqtt-password")}
    config = make_config(tmp_path, auth_broker.port, username=USER, protocol=protocol, **secret)
    async with (
        subscriber("127.0.0.1", auth_broker.port, username=USER, password=PASSWORD) as recorder,
        gateway_running(config) as gateway,
    ):
        ids = await put_products(gateway)
        await assert_delivered(gateway, recorder, ids, auth_broker, USER)
    assert_password_not_logged(caplog)


@pytest.mark.asyncio
async def test_anonymous_subscriber_is_refused(auth_broker: Broker) -> None:
    # The refusal cases below mean something only if the broker really checks.
    with pytest.raises(aiomqtt.MqttError):
        async with subscriber("127.0.0.1", auth_broker.port):
            pass


@pytest.mark.asyncio
async def test_passwd_line_is_accepted_by_mosquitto(tmp_path: Path) -> None:
    # The fallback writer, for machines without mosquitto_passwd, checked by the broker.
    workdir = tmp_path / "broker"
    workdir.mkdir()
    (workdir / "passwd").write_text(passwd_line(USER, PASSWORD))
    with running(password_broker(workdir)) as broker:
        async with subscriber("127.0.0.1", broker.port, username=USER, password=PASSWORD):
            pass
        with pytest.raises(aiomqtt.MqttError):
            async with subscriber("127.0.0.1", broker.port, username=USER, password="x"):
                pass
    tool = shutil.which("mosquitto_passwd")
    if tool is not None:  # and it is the line mosquitto_passwd writes for that salt
        # -H: Mosquitto 2.1 defaults to argon2id; 2.0 has sha512-pbkdf2 ($7$) and sha512.
        path = tmp_path / "passwd"
        command = [tool, "-H", "sha512-pbkdf2", "-b", "-c", str(path), USER, PASSWORD]
        subprocess.run(command, check=True)
        line = path.read_text()
        assert line.startswith(f"{USER}:$7$101$")
        assert passwd_line(USER, PASSWORD, base64.b64decode(line.split("$")[3])) == line


# -- refused -----------------------------------------------------------------------------


@dataclass(frozen=True)
class Refusal:
    broker: str  # "auth" or "tls"
    mqtt: dict[str, Any]  # the bad [mqtt] keys
    reasons: tuple[str, ...]  # one of these must be in the reason reported (lowercase)

    def reported(self, text: str | None) -> bool:
        return text is not None and any(reason in text.lower() for reason in self.reasons)


_NOT_AUTHORIZED = ("not authorized", "bad user name or password")


def refusals(pki: Pki) -> dict[str, Refusal]:
    return {
        # Mosquitto 2.0 answers a bad password "not authorized" (0x87), later versions
        # "bad user name or password" (0x86).
        "wrong-password": Refusal(
            "auth", {"username": USER, "password": PASSWORD + "x"}, _NOT_AUTHORIZED
        ),
        "wrong-password-3.1.1": Refusal(
            "auth",
            {"username": USER, "password": PASSWORD + "x", "protocol": "3.1.1"},
            _NOT_AUTHORIZED,
        ),
        "no-credentials": Refusal("auth", {}, _NOT_AUTHORIZED),
        "untrusted-ca": Refusal(
            "tls", {"tls": tls_table(pki, ca=pki.rogue_ca)}, ("certificate verify failed",)
        ),
        "no-client-cert": Refusal(
            "tls", {"tls": tls_table(pki, client_cert=False)}, ("alert certificate required",)
        ),
    }


def good_mqtt(pki: Pki) -> dict[str, dict[str, Any]]:
    return {"auth": {"username": USER, "password": PASSWORD}, "tls": {"tls": tls_table(pki)}}


REFUSALS = [
    "wrong-password",
    "wrong-password-3.1.1",
    "no-credentials",
    "untrusted-ca",
    "no-client-cert",
]


@pytest.mark.parametrize("case", REFUSALS)
@pytest.mark.asyncio
async def test_refused_gateway_retries_keeps_rows_and_reports(
    request: pytest.FixtureRequest,
    pki: Pki,
    tmp_path: Path,
    caplog: pytest.LogCaptureFixture,
    case: str,
) -> None:
    caplog.set_level(logging.DEBUG)
    refusal = refusals(pki)[case]
    broker: Broker = request.getfixturevalue(f"{refusal.broker}_broker")
    config = make_config(tmp_path, broker.port, **refusal.mqtt)
    async with gateway_running(config) as gateway:
        ids = await put_products(gateway, 5)

        def refused_times() -> int:
            return sum("lost or refused" in r.getMessage() for r in caplog.records)

        await wait_until(lambda: refused_times() >= 3)  # retrying, not given up
        assert gateway.mqtt.connects == 0 and not gateway.mqtt.connected
        assert refusal.reported(gateway.mqtt.last_error)
        assert refusal.reported(gateway.mqtt.health())
        assert len(gateway.outbox) == len(ids)
    # Stopped: nothing was lost, the rows wait for the next start ...
    outbox = Outbox(tmp_path / "outbox.db")
    try:
        assert [row.message_id for row in outbox.peek(0, 100)] == ids
    finally:
        outbox.close()
    assert_password_not_logged(caplog)

    # ... which, with the right credentials, publishes them.
    config = make_config(tmp_path, broker.port, **good_mqtt(pki)[refusal.broker])
    sub: dict[str, Any] = (
        {"username": USER, "password": PASSWORD}
        if refusal.broker == "auth"
        else {
            "tls_params": aiomqtt.TLSParameters(
                ca_certs=str(pki.ca), certfile=str(pki.client_cert), keyfile=str(pki.client_key)
            )
        }
    )
    async with (
        subscriber("127.0.0.1", broker.port, **sub) as recorder,
        gateway_running(config) as gateway,
    ):
        user = USER if refusal.broker == "auth" else None
        await assert_delivered(gateway, recorder, ids, broker, user)


@pytest.mark.parametrize("case", REFUSALS)
@pytest.mark.asyncio
async def test_refused_pipeline_raises_pipe_closed_with_the_reason(
    request: pytest.FixtureRequest, pki: Pki, tmp_path: Path, case: str
) -> None:
    # The pipelined connection on its own: refused, it fails with the reason (which
    # the link turns into a retry), never hangs.
    refusal = refusals(pki)[case]
    broker: Broker = request.getfixturevalue(f"{refusal.broker}_broker")
    config = make_config(tmp_path, broker.port, **refusal.mqtt).mqtt
    with pytest.raises(PipeClosed) as caught:
        async with asyncio.timeout(WAIT_S), open_pipeline(config, lambda tokens: None):
            pass
    assert refusal.reported(str(caught.value))
