"""A small counters-and-gauges registry rendered as Prometheus text exposition 0.0.4.

Our own rather than prometheus_client: the gateway needs a few dozen series, and the
text format is a few lines to write
(https://prometheus.io/docs/instrumenting/exposition_formats/), so a dependency would
cost more than it saves. No histograms or summaries yet; no global default registry
(each gateway builds one and hands it to whoever counts).

Labels: a metric declares its ``labelnames`` when registered (``("station",)``); every
series then carries exactly those labels, as Prometheus expects of one metric family::

    dawnlink_station_frames_total{station="svalbard"} 12

Values come from ``inc``/``set`` with the labels as keywords, or, for state that lives
elsewhere (a station's counters), from a ``collect`` callback read at each scrape that
yields ``(label values, value)`` pairs. A metric without declared ``labelnames`` takes
ad-hoc labels (the older, looser form).
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Iterable, Sequence
from typing import Final

from comms.errors import UsageError

__all__ = ["CONTENT_TYPE", "Counter", "Gauge", "Registry"]

CONTENT_TYPE: Final = "text/plain; version=0.0.4; charset=utf-8"
_NAME: Final = re.compile(r"^[a-zA-Z_:][a-zA-Z0-9_:]*$")
_LABEL: Final = re.compile(r"^[a-zA-Z_][a-zA-Z0-9_]*$")

Labels = tuple[tuple[str, str], ...]
Collect = Callable[[], Iterable[tuple[Sequence[str], float]]]
"""A scrape-time source of labelled samples: ``(label values in labelnames order, value)``."""


def _format_value(value: float) -> str:
    if math.isnan(value):
        return "NaN"
    if math.isinf(value):
        return "+Inf" if value > 0 else "-Inf"
    if value == int(value) and abs(value) < 2**53:
        return str(int(value))
    return repr(value)


def _escape(value: str) -> str:
    return value.replace("\\", "\\\\").replace("\n", "\\n").replace('"', '\\"')


def _labels(labels: dict[str, str]) -> Labels:
    for key in labels:
        if not _LABEL.match(key) or key.startswith("__"):
            raise UsageError(f"Label name {key!r} is not a valid Prometheus label name.")
    return tuple(sorted(labels.items()))


class _Metric:
    kind = ""

    def __init__(
        self,
        name: str,
        help: str,
        read: Callable[[], float] | None = None,
        *,
        labelnames: Sequence[str] = (),
        collect: Collect | None = None,
    ) -> None:
        if not _NAME.match(name):
            raise UsageError(f"Metric name {name!r} is not a valid Prometheus metric name.")
        if isinstance(labelnames, str):
            raise UsageError(f"labelnames is a sequence of names, e.g. ({labelnames!r},).")
        _labels(dict.fromkeys(labelnames, ""))
        if len(set(labelnames)) != len(labelnames):
            raise UsageError(f"Metric {name} names a label twice: {list(labelnames)}.")
        if collect is not None and not labelnames:
            raise UsageError(f"Metric {name}: collect yields labelled samples; give labelnames.")
        if read is not None and labelnames:
            raise UsageError(
                f"{type(self).__name__} {name}: read gives one unlabelled value; use collect."
            )
        self.name = name
        self.help = help
        self.labelnames = tuple(labelnames)
        self._read = read
        self._collect = collect
        self._values: dict[Labels, float] = {}

    def _key(self, labels: dict[str, str]) -> Labels:
        if self.labelnames and set(labels) != set(self.labelnames):
            raise UsageError(
                f"Metric {self.name} has labels {list(self.labelnames)}; got {sorted(labels)}."
            )
        return _labels(labels)

    def _collected(self) -> list[tuple[Labels, float]]:
        assert self._collect is not None
        out: dict[Labels, float] = {}
        for values, value in self._collect():
            if len(values) != len(self.labelnames):
                raise UsageError(
                    f"Metric {self.name}: collect gave {len(values)} label values for "
                    f"{list(self.labelnames)}."
                )
            out[tuple(sorted(zip(self.labelnames, values, strict=True)))] = float(value)
        return sorted(out.items())

    def samples(self) -> list[tuple[Labels, float]]:
        if self._read is not None:
            return [((), float(self._read()))]
        if self._collect is not None:
            return self._collected()
        return sorted(self._values.items())

    def value(self, **labels: str) -> float:
        if self._read is not None:
            return float(self._read())
        key = self._key(labels)
        if self._collect is not None:
            return dict(self._collected()).get(key, 0.0)
        return self._values.get(key, 0.0)

    def render(self) -> list[str]:
        lines = [
            f"# HELP {self.name} {self.help.replace(chr(92), chr(92) * 2).replace(chr(10), ' ')}",
            f"# TYPE {self.name} {self.kind}",
        ]
        for labels, value in self.samples():
            text = ",".join(f'{k}="{_escape(v)}"' for k, v in labels)
            series = f"{self.name}{{{text}}}" if text else self.name
            lines.append(f"{series} {_format_value(value)}")
        return lines


class Counter(_Metric):
    """A value that only goes up (events since start). Name it ``..._total``."""

    kind = "counter"

    def __init__(
        self,
        name: str,
        help: str,
        read: Callable[[], float] | None = None,
        *,
        labelnames: Sequence[str] = (),
        collect: Collect | None = None,
    ) -> None:
        super().__init__(name, help, read, labelnames=labelnames, collect=collect)
        if not labelnames:
            self._values[()] = 0.0

    def inc(self, amount: float = 1.0, **labels: str) -> None:
        if self._read is not None or self._collect is not None:
            raise UsageError(f"Counter {self.name} reads its value from a callback.")
        if amount < 0:
            raise UsageError("A counter only goes up: use a Gauge for values that fall.")
        key = self._key(labels)
        self._values[key] = self._values.get(key, 0.0) + amount
        if key and () in self._values and self._values[()] == 0.0:
            # Once labelled series exist the unlabelled zero placeholder is noise.
            del self._values[()]


class Gauge(_Metric):
    """A value that goes up and down, set directly or read from a callback at scrape."""

    kind = "gauge"

    def set(self, value: float, **labels: str) -> None:
        if self._read is not None or self._collect is not None:
            raise UsageError(f"Gauge {self.name} reads its value from a callback; do not set it.")
        self._values[self._key(labels)] = float(value)


class Registry:
    """The metrics of one gateway, rendered in registration order."""

    def __init__(self) -> None:
        self._metrics: dict[str, _Metric] = {}

    def _add(self, metric: _Metric) -> None:
        if metric.name in self._metrics:
            raise UsageError(f"Metric {metric.name} is already registered.")
        self._metrics[metric.name] = metric

    def counter(
        self,
        name: str,
        help: str,
        read: Callable[[], float] | None = None,
        *,
        labelnames: Sequence[str] = (),
        collect: Collect | None = None,
    ) -> Counter:
        metric = Counter(name, help, read, labelnames=labelnames, collect=collect)
        self._add(metric)
        return metric

    def gauge(
        self,
        name: str,
        help: str,
        read: Callable[[], float] | None = None,
        *,
        labelnames: Sequence[str] = (),
        collect: Collect | None = None,
    ) -> Gauge:
        metric = Gauge(name, help, read, labelnames=labelnames, collect=collect)
        self._add(metric)
        return metric

    def get(self, name: str) -> _Metric:
        return self._metrics[name]

    def render(self) -> str:
        lines: list[str] = []
        for metric in self._metrics.values():
            lines.extend(metric.render())
        return "\n".join(lines) + "\n"
