"""The shared base of comms' wire values: immutable ``__slots__`` classes and field checks.

Frames and PDUs are decoded at link rate, so their values are not frozen dataclasses: a
frozen dataclass sets every field through ``object.__setattr__`` (about 0.86 us for
eleven fields, measured for a TM frame) where a ``__slots__`` class filled through its
slot descriptors takes about 0.54 us, and the field reads are the same. The public
constructors validate every field (with the ``check_*`` helpers, whose UsageErrors name
the class and field); decoders fill slots through :func:`slot_setter` and skip checks the
wire format already guarantees.
"""

from __future__ import annotations

from collections.abc import Callable
from enum import IntEnum
from typing import Any, TypeVar, cast

from comms.errors import UsageError

__all__ = [
    "SlotValue",
    "check_enum",
    "check_flag",
    "check_uint",
    "init_fields",
    "slot_setter",
]

_V = TypeVar("_V", bound="SlotValue")
_E = TypeVar("_E", bound=IntEnum)


class SlotValue:
    """Immutable, compared and hashed by field, with ``replace``.

    Subclasses list their fields in ``__slots__`` in constructor order (inherited slots
    first) and name the constructor parameters after them: ``replace``, ``repr`` and
    pickling rely on it. Private cached fields start with an underscore and are left out.
    """

    __slots__ = ()

    def __setattr__(self, name: str, value: object) -> None:
        raise AttributeError(f"{type(self).__name__} is immutable; use replace(...) instead.")

    def __delattr__(self, name: str) -> None:
        raise AttributeError(f"{type(self).__name__} is immutable; use replace(...) instead.")

    def _names(self) -> tuple[str, ...]:
        names: list[str] = []
        for klass in reversed(type(self).__mro__):
            slots = cast(tuple[str, ...], klass.__dict__.get("__slots__", ()))
            names.extend(n for n in slots if not n.startswith("_"))
        return tuple(names)

    def _fields(self) -> tuple[Any, ...]:
        return tuple(getattr(self, name) for name in self._names())

    def __eq__(self, other: object) -> bool:
        if type(other) is not type(self):
            return NotImplemented
        assert isinstance(other, SlotValue)
        return self._fields() == other._fields()

    def __hash__(self) -> int:
        return hash((type(self).__name__, *self._fields()))

    def __repr__(self) -> str:
        parts = []
        for name in self._names():
            value = getattr(self, name)
            if isinstance(value, bytes | bytearray) and len(value) > 32:
                parts.append(f"{name}=<{len(value)} octets {bytes(value[:16]).hex()}...>")
            else:
                parts.append(f"{name}={value!r}")
        return f"{type(self).__name__}({', '.join(parts)})"

    def __reduce__(self) -> tuple[Any, ...]:
        # Pickle through the validating constructor (the slots have no __dict__).
        return (_rebuild, (type(self), {n: getattr(self, n) for n in self._names()}))

    def replace(self: _V, **changes: Any) -> _V:
        """A copy with ``changes`` applied, validated like a freshly built value."""
        names = self._names()
        unknown = set(changes) - set(names)
        if unknown:
            raise UsageError(
                f"{type(self).__name__} has no field(s) {sorted(unknown)}; "
                f"the fields are {list(names)}."
            )
        fields = {name: getattr(self, name) for name in names}
        fields.update(changes)
        return type(self)(**fields)


def _rebuild(cls: type[_V], fields: dict[str, Any]) -> _V:
    return cls(**fields)


def slot_setter(cls: type, name: str) -> Callable[[object, Any], None]:
    """The slot descriptor's ``__set__`` for ``name``: a decoder's fast field setter.

    Calling a member descriptor's ``__set__`` bypasses ``SlotValue.__setattr__`` (which
    only guards ordinary attribute assignment) at C speed.
    """
    result: Callable[[object, Any], None] = getattr(cls, name).__set__
    return result


def init_fields(obj: object, **values: object) -> None:
    """Set fields from a validating constructor (the guard only blocks plain assignment)."""
    for name, value in values.items():
        object.__setattr__(obj, name, value)


def check_uint(owner: str, name: str, value: object, bits: int) -> int:
    """``value`` as an int in ``0 .. 2**bits - 1`` or a UsageError that says so."""
    if isinstance(value, bool) or not isinstance(value, int):
        raise UsageError(f"{owner}.{name} must be an int, not {type(value).__name__}.")
    if not 0 <= value < (1 << bits):
        raise UsageError(
            f"{owner}.{name} must be in 0..{(1 << bits) - 1} ({bits} bits), got {value}."
        )
    return int(value)


def check_enum(owner: str, name: str, value: object, enum: type[_E]) -> _E:
    """``value`` as a member of ``enum`` or a UsageError listing the members."""
    if isinstance(value, bool) or not isinstance(value, int):
        raise UsageError(f"{owner}.{name} must be a {enum.__name__}, not {value!r}.")
    try:
        return enum(value)
    except ValueError:
        members = ", ".join(f"{m.name}={m.value}" for m in enum)
        raise UsageError(
            f"{owner}.{name} must be one of {enum.__name__} ({members}), got {value!r}."
        ) from None


def check_flag(owner: str, name: str, value: object) -> bool:
    """``value`` as a bool or a UsageError (ints 0/1 are not accepted: say what you mean)."""
    if not isinstance(value, bool):
        raise UsageError(f"{owner}.{name} must be True or False, got {value!r}.")
    return value
