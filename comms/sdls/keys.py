"""Keys for SDLS security associations, and the small store that maps key ids to them.

A :class:`Key` holds AES-256 key material and never shows it: ``repr`` and ``str`` give
the key id and a fingerprint (the first 8 octets of SHA-256 over the material, enough
to tell two keys apart in a log, useless for recovering them). Keys come from a file
(raw 32 octets, or 64 hex digits), from an environment variable (hex) or from hex text;
a :class:`KeyStore` (a Protocol: anything with ``get(key_id) -> Key``) hands them to the
engine. :class:`MemoryKeyStore` holds loaded keys; :class:`EnvKeyStore` reads
``DAWNLINK_KEY_<id>`` on demand.

Left out: the key management of 355.1-B-1 (OTAR, key verification, key inventory) and
key wrapping; operators provision keys out of band.
"""

from __future__ import annotations

import hashlib
import hmac
import os
import string
from collections.abc import Mapping
from pathlib import Path
from typing import Final, Protocol

from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from comms.errors import UsageError

__all__ = ["KEY_LENGTH", "EnvKeyStore", "Key", "KeyStore", "MemoryKeyStore"]

#: AES-256 (the SDLS baseline of 352.0-B-2): 32 octets.
KEY_LENGTH: Final = 32

_HEX = frozenset(string.hexdigits)


class Key:
    """AES-256 key material that does not print itself.

    ``key_id`` is the id SAs refer to (0..65535). Build one with :meth:`from_hex`,
    :meth:`from_file` or :meth:`from_env`; the constructor takes the raw 32 octets.
    """

    __slots__ = ("_material", "key_id")

    key_id: int
    _material: bytes

    def __init__(self, key_id: int, material: bytes) -> None:
        if isinstance(key_id, bool) or not isinstance(key_id, int) or not 0 <= key_id <= 0xFFFF:
            raise UsageError(f"Key.key_id must be an int in 0..65535, got {key_id!r}.")
        if not isinstance(material, bytes | bytearray) or len(material) != KEY_LENGTH:
            # Say how long it was, never what it held.
            got = len(material) if isinstance(material, bytes | bytearray) else "not bytes"
            raise UsageError(
                f"Key {key_id} must be {KEY_LENGTH} octets of AES-256 key material, got {got}."
            )
        object.__setattr__(self, "key_id", key_id)
        object.__setattr__(self, "_material", bytes(material))

    def __setattr__(self, name: str, value: object) -> None:
        raise AttributeError("Key is immutable.")

    @classmethod
    def from_hex(cls, key_id: int, text: str) -> Key:
        """A key from 64 hex digits (whitespace and a ``0x`` prefix are ignored)."""
        digits = "".join(text.split())
        if digits[:2].lower() == "0x":
            digits = digits[2:]
        if len(digits) != 2 * KEY_LENGTH or not set(digits) <= _HEX:
            what = "characters, not all hex digits" if not set(digits) <= _HEX else "hex digits"
            raise UsageError(
                f"Key {key_id} must be {2 * KEY_LENGTH} hex digits, got {len(digits)} {what}."
            )
        return cls(key_id, bytes.fromhex(digits))

    @classmethod
    def from_file(cls, key_id: int, path: str | os.PathLike[str]) -> Key:
        """A key from a file holding either 32 raw octets or 64 hex digits."""
        data = Path(path).read_bytes()
        if len(data) == KEY_LENGTH:
            return cls(key_id, data)
        try:
            text = data.decode("ascii")
        except UnicodeDecodeError:
            raise UsageError(
                f"Key file {os.fspath(path)!r} must hold {KEY_LENGTH} raw octets or "
                f"{2 * KEY_LENGTH} hex digits; it holds {len(data)} octets."
            ) from None
        return cls.from_hex(key_id, text)

    @classmethod
    def from_env(
        cls, name: str, key_id: int | None = None, environ: Mapping[str, str] | None = None
    ) -> Key:
        """A key from the hex in environment variable ``name``.

        ``key_id`` defaults to the number after the last underscore of ``name``
        (``DAWNLINK_KEY_7`` is key 7). ``environ`` defaults to ``os.environ``.
        """
        env = os.environ if environ is None else environ
        if key_id is None:
            tail = name.rsplit("_", 1)[-1]
            if not tail.isdigit():
                raise UsageError(
                    f"Cannot take a key id from {name!r}; name it like DAWNLINK_KEY_7 or "
                    "pass key_id."
                )
            key_id = int(tail)
        text = env.get(name)
        if text is None:
            raise UsageError(
                f"Environment variable {name} is not set; it should hold the key in hex."
            )
        return cls.from_hex(key_id, text)

    @property
    def fingerprint(self) -> str:
        """16 hex digits identifying the material without revealing it."""
        return hashlib.sha256(b"dawnlink key fingerprint" + self._material).hexdigest()[:16]

    def aesgcm(self) -> AESGCM:
        """An AES-GCM cipher object under this key (build once per SA, then reuse)."""
        return AESGCM(self._material)

    def material(self) -> bytes:
        """The raw key material, for the cipher layer only: never log or store it."""
        return self._material

    def __repr__(self) -> str:
        return f"Key(key_id={self.key_id}, fingerprint={self.fingerprint})"

    __str__ = __repr__

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Key):
            return NotImplemented
        return self.key_id == other.key_id and hmac.compare_digest(self._material, other._material)

    def __hash__(self) -> int:
        return hash((self.key_id, self.fingerprint))

    def __reduce__(self) -> tuple[object, ...]:
        # Pickling would write the material wherever the pickle goes.
        raise TypeError("Key objects are not picklable; load keys where they are used.")


class KeyStore(Protocol):
    """Where the engine finds keys by id."""

    def get(self, key_id: int) -> Key:
        """The key with ``key_id``; raise UsageError (or KeyError) when there is none."""
        ...


class MemoryKeyStore:
    """Keys held in memory, as loaded by the caller."""

    def __init__(self, keys: list[Key] | tuple[Key, ...] = ()) -> None:
        self._keys: dict[int, Key] = {}
        for key in keys:
            self.add(key)

    def add(self, key: Key) -> None:
        if not isinstance(key, Key):
            raise UsageError(f"MemoryKeyStore holds Key objects, got {type(key).__name__}.")
        self._keys[key.key_id] = key

    def get(self, key_id: int) -> Key:
        try:
            return self._keys[key_id]
        except KeyError:
            raise UsageError(f"No key with id {key_id} in the key store.") from None

    def __repr__(self) -> str:
        return f"MemoryKeyStore(key_ids={sorted(self._keys)})"


class EnvKeyStore:
    """Keys read from ``<prefix><key_id>`` environment variables when asked for."""

    def __init__(
        self, prefix: str = "DAWNLINK_KEY_", environ: Mapping[str, str] | None = None
    ) -> None:
        self.prefix = prefix
        self._environ = environ

    def get(self, key_id: int) -> Key:
        return Key.from_env(f"{self.prefix}{key_id}", key_id, self._environ)

    def __repr__(self) -> str:
        return f"EnvKeyStore(prefix={self.prefix!r})"
