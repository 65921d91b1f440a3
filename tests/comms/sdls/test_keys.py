"""Keys never show their material; they load from files, hex and the environment."""

from __future__ import annotations

import pickle
from pathlib import Path

import pytest

from comms.errors import UsageError
from comms.sdls import EnvKeyStore, Key, MemoryKeyStore

MATERIAL = bytes(range(0xA0, 0xC0))
HEX = MATERIAL.hex()


def test_repr_and_str_hide_the_material() -> None:
    key = Key(7, MATERIAL)
    for text in (repr(key), str(key), f"{key}", repr([key]), repr(MemoryKeyStore([key]))):
        assert HEX not in text.lower()
        assert MATERIAL.hex()[:8] not in text.lower()
    assert "key_id=7" in repr(key)
    assert len(key.fingerprint) == 16


def test_material_errors_do_not_echo_the_material() -> None:
    with pytest.raises(UsageError) as info:
        Key(1, MATERIAL[:31])
    assert MATERIAL[:31].hex() not in str(info.value)
    with pytest.raises(UsageError) as info:
        Key.from_hex(1, HEX[:-2] + "zz")
    assert HEX[:10] not in str(info.value)


def test_from_hex_file_and_env(tmp_path: Path) -> None:
    key = Key(5, MATERIAL)
    assert Key.from_hex(5, "0x" + HEX.upper()) == key
    assert Key.from_hex(5, HEX[:32] + "\n " + HEX[32:]) == key
    raw = tmp_path / "k.bin"
    raw.write_bytes(MATERIAL)
    assert Key.from_file(5, raw) == key
    text = tmp_path / "k.hex"
    text.write_text(HEX + "\n")
    assert Key.from_file(5, text) == key
    bad = tmp_path / "bad"
    bad.write_bytes(b"\xff" * 40)
    with pytest.raises(UsageError, match="raw octets or"):
        Key.from_file(5, bad)
    env = {"DAWNLINK_KEY_7": HEX}
    assert Key.from_env("DAWNLINK_KEY_7", environ=env) == Key(7, MATERIAL)
    with pytest.raises(UsageError, match="not set"):
        Key.from_env("DAWNLINK_KEY_8", environ=env)
    with pytest.raises(UsageError, match="key id"):
        Key.from_env("SECRET", environ={"SECRET": HEX})
    monkey = EnvKeyStore(environ=env)
    assert monkey.get(7) == Key(7, MATERIAL)
    with pytest.raises(UsageError):
        monkey.get(8)


def test_from_env_reads_os_environ(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DAWNLINK_KEY_3", HEX)
    assert Key.from_env("DAWNLINK_KEY_3").key_id == 3


def test_keys_are_immutable_and_not_picklable() -> None:
    key = Key(1, MATERIAL)
    with pytest.raises(AttributeError):
        key.key_id = 2
    with pytest.raises(TypeError):
        pickle.dumps(key)
    assert key != Key(2, MATERIAL) and key != Key(1, bytes(32))
    assert len({key, Key(1, MATERIAL)}) == 1


def test_memory_store() -> None:
    store = MemoryKeyStore([Key(1, MATERIAL)])
    assert store.get(1).key_id == 1
    with pytest.raises(UsageError, match="No key with id 2"):
        store.get(2)
    with pytest.raises(UsageError):
        store.add(MATERIAL)  # type: ignore[arg-type]
