"""gateway.messages.envelope builds its JSON by hand for speed; the oracle is the
plain construction it replaced (a dict through ``json.dumps``), octet for octet."""

from __future__ import annotations

import base64
import json
import math
from collections.abc import Mapping, Sequence
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from comms.errors import UsageError
from gateway.messages import envelope, product_envelope


def reference(
    *,
    message_id: str,
    product: str,
    data: Any,
    earth_receive_time: float,
    stations: Sequence[str],
    spacecraft_time: float | None = None,
    apid: int | None = None,
    extra: Mapping[Any, Any] | None = None,
) -> bytes:
    body: dict[str, Any] = {
        "v": 1,
        "id": message_id,
        "product": product,
        "ert": earth_receive_time,
        "stations": list(stations),
    }
    if spacecraft_time is not None:
        body["sct"] = spacecraft_time
    if apid is not None:
        body["apid"] = apid
    if isinstance(data, bytes | bytearray | memoryview):
        body["encoding"] = "base64"
        body["data"] = base64.b64encode(data).decode("ascii")
    else:
        body["encoding"] = "json"
        body["data"] = data
    if extra:
        if set(extra) & set(body):
            raise UsageError("clash")
        body.update(extra)
    return json.dumps(body, separators=(",", ":"), allow_nan=False).encode()


text = st.text(max_size=12)  # any code points: escapes, surrogates, non-ASCII
numbers = st.one_of(st.integers(-(2**70), 2**70), st.floats(), st.booleans())
json_values = st.recursive(
    st.one_of(st.none(), numbers, text),
    lambda inner: st.one_of(st.lists(inner, max_size=3), st.dictionaries(text, inner, max_size=3)),
    max_leaves=8,
)
keys = st.one_of(text, st.sampled_from(["v", "id", "sct", "apid", "data", "scid", "seq"]))


@given(
    message_id=text.filter(bool),
    product=text,
    data=st.one_of(st.binary(max_size=40), json_values),
    ert=st.one_of(st.floats(), st.integers(0, 2**40)),
    stations=st.lists(text, max_size=3),
    sct=st.one_of(st.none(), st.floats()),
    apid=st.one_of(st.none(), st.integers(0, 2047)),
    extra=st.one_of(
        st.none(),
        st.dictionaries(keys, st.one_of(numbers, text, st.none()), max_size=4),
        st.dictionaries(st.integers(0, 3), st.integers(), max_size=2),
    ),
)
def test_envelope_is_the_json_dumps_of_its_body(
    message_id: str,
    product: str,
    data: Any,
    ert: float,
    stations: list[str],
    sct: float | None,
    apid: int | None,
    extra: dict[Any, Any] | None,
) -> None:
    kwargs: dict[str, Any] = dict(
        message_id=message_id,
        product=product,
        data=data,
        earth_receive_time=ert,
        stations=stations,
        spacecraft_time=sct,
        apid=apid,
        extra=extra,
    )
    try:
        expected = reference(**kwargs)
    except ValueError:  # NaN/inf, clashing keys (UsageError is a ValueError)
        with pytest.raises(ValueError):
            envelope(**kwargs)
    else:
        assert envelope(**kwargs) == expected


def test_nan_and_infinity_are_refused_like_json_dumps() -> None:
    for bad in (math.nan, math.inf, -math.inf):
        with pytest.raises(ValueError):
            envelope(message_id="m", product="p", data=None, earth_receive_time=bad, stations=[])
        with pytest.raises(ValueError):
            envelope(
                message_id="m",
                product="p",
                data=None,
                earth_receive_time=1.0,
                stations=[],
                extra={"x": bad},
            )


@given(
    message_id=text.filter(bool),
    product=text,
    data=st.one_of(st.binary(max_size=40), json_values),
    ert=st.floats(allow_nan=False, allow_infinity=False),
    stations=st.lists(text, max_size=3).map(tuple),
    sct=st.one_of(st.none(), st.floats(allow_nan=False, allow_infinity=False)),
    apid=st.integers(0, 2047),
    scid=st.integers(0, 1023),
    seq=st.integers(0, 16383),
    vcid=st.one_of(st.none(), st.integers(0, 63)),
)
def test_product_envelope_is_envelope_with_its_extras(
    message_id: str,
    product: str,
    data: Any,
    ert: float,
    stations: tuple[str, ...],
    sct: float | None,
    apid: int,
    scid: int,
    seq: int,
    vcid: int | None,
) -> None:
    extra = {"scid": scid, "seq": seq} | ({} if vcid is None else {"vcid": vcid})
    kwargs: dict[str, Any] = dict(
        message_id=message_id,
        product=product,
        data=data,
        earth_receive_time=ert,
        stations=stations,
        spacecraft_time=sct,
        apid=apid,
    )
    try:
        expected = reference(**kwargs, extra=extra)
    except ValueError:  # NaN inside a JSON data value
        with pytest.raises(ValueError):
            product_envelope(message_id, product, data, ert, stations, sct, apid, scid, seq, vcid)
    else:
        got = product_envelope(message_id, product, data, ert, stations, sct, apid, scid, seq, vcid)
        assert got == expected == envelope(**kwargs, extra=extra)


@given(
    st.one_of(
        json_values.map(lambda v: json.dumps(v)),
        st.text(alphabet='[]{}",:0123456789.eE+-tfrunlasNIyi \ufeff', max_size=40),
    )
)
def test_json_product_decodes_as_json_loads_does(text: str) -> None:
    """The JSON product decoder keeps one JSONDecoder; json.loads (with the same
    parse_constant) is the oracle: the same value, or a ProductError where it raises."""
    from gateway.config import Decoder
    from gateway.products import ProductError, ProductRoute

    route = ProductRoute(1, "p", Decoder.JSON)

    def reject(name: str) -> Any:
        raise ValueError(name)

    try:
        expected = json.loads(text, parse_constant=reject)
    except (ValueError, RecursionError):
        with pytest.raises(ProductError):
            route.decode(text.encode())
    else:
        got = route.decode(text.encode())
        assert json.dumps(got) == json.dumps(expected)
