"""The one result record every estimator returns (and the CLI renders)."""

from __future__ import annotations

import json
import math
from dataclasses import asdict, dataclass, field, replace
from typing import Any

LN2 = math.log(2.0)

#: Measures infocli estimates, as they appear in ``Estimate.measure``.
MEASURES = (
    "entropy",
    "conditional_entropy",
    "mutual_information",
    "conditional_mutual_information",
)

UNITS = ("nats", "bits")


def _convert(value: float | None, src: str, dst: str) -> float | None:
    if value is None or src == dst:
        return value
    if src == "nats" and dst == "bits":
        return value / LN2
    if src == "bits" and dst == "nats":
        return value * LN2
    raise ValueError(f"unknown unit conversion {src!r} -> {dst!r}; expected one of {UNITS}")


@dataclass(frozen=True, repr=False)
class Estimate:
    """An estimate of an information measure, with its provenance.

    Attributes
    ----------
    measure : str
        One of ``entropy``, ``conditional_entropy``, ``mutual_information``,
        ``conditional_mutual_information``.
    estimator : str
        Registry name of the estimator (``infocli estimators`` lists them).
    value : float
        The estimate in ``unit``. Never NaN or infinite; MI estimates may be
        negative and are reported as they are (never clipped).
    unit : str
        ``nats`` or ``bits``.
    stderr : float or None
        Standard error of ``value`` in ``unit``: the *noise* part only (how the
        value would scatter over fresh samples of the same size); how it is
        obtained is stated in ``details["stderr_method"]``. It says nothing
        about bias: see ``interval``.
    n_samples : int
        Number of rows used.
    dims : dict
        Number of columns of each variable, e.g. ``{"x": 2, "y": 1}``.
    params : dict
        Every effective parameter, defaults included, and the seed.
    device : str
        Device the computation ran on (``cpu`` or ``cuda``...).
    seconds : float
        Wall-clock time of the estimate (permutations included).
    version : str
        infocli version that produced the record.
    warnings : tuple of str
        Anything the user should know: ties jittered, classes dropped, ...
    p_value : float or None
        Permutation p-value (MI only, when permutations were requested).
    details : dict
        Estimator-specific extras (stderr method, tie handling, null
        distribution summary, ...). JSON-serialisable. ``details["check"]``
        names the reliability check level that ran and
        ``details["diagnostics"]`` lists the codes of its findings.
    interval : (float or None, float or None) or None
        A 95 % interval ``(lo, hi)`` for the *true* quantity, in ``unit``: the
        noise plus every bias component the reliability check could assess
        (:mod:`infocli.diagnostics`). ``hi`` is None for "at least lo", ``lo``
        None for "at most hi". None when no check ran (``check="off"``).
    reliable : bool or None
        False whenever a diagnostic says the value may be off by more than
        its interval (each reason is a sentence in ``warnings`` and a code in
        ``details["diagnostics"]``); None when no check ran.
    """

    measure: str
    estimator: str
    value: float
    unit: str
    stderr: float | None
    n_samples: int
    dims: dict[str, int]
    params: dict[str, Any]
    device: str
    seconds: float
    version: str
    warnings: tuple[str, ...] = ()
    p_value: float | None = None
    details: dict[str, Any] = field(default_factory=dict)
    interval: tuple[float | None, float | None] | None = None
    reliable: bool | None = None

    def to(self, unit: str) -> Estimate:
        """The same estimate expressed in ``unit`` (``nats`` or ``bits``)."""
        if unit not in UNITS:
            raise ValueError(f"unit must be one of {UNITS}, got {unit!r}")
        if unit == self.unit:
            return self
        details = dict(self.details)
        for key in ("null_mean", "null_std"):
            if key in details and details[key] is not None:
                details[key] = _convert(details[key], self.unit, unit)
        interval = None if self.interval is None else tuple(
            _convert(b, self.unit, unit) for b in self.interval)
        return replace(
            self,
            value=_convert(self.value, self.unit, unit),
            stderr=_convert(self.stderr, self.unit, unit),
            interval=interval,
            unit=unit,
            details=details,
        )

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready dict (the schema documented in the README)."""
        d = asdict(self)
        d["warnings"] = list(self.warnings)
        d["interval"] = None if self.interval is None else list(self.interval)
        return d

    def to_json(self, indent: int | None = 2) -> str:
        return json.dumps(self.to_dict(), indent=indent, default=_json_default)

    def __float__(self) -> float:
        return float(self.value)

    def summary(self) -> str:
        """One line: measure, value ± noise, interval, verdict, estimator, e.g.
        ``I(X;Y) = 0.321 ± 0.052 nats, 95% [0.11, 0.60], reliable (auto -> gaussian+copula,
        n=200)``. Rounded to what the standard error supports; the printed interval
        contains the printed value. ``str()`` and ``repr()`` give the same line in
        ``Estimate(...)``; the full record is :meth:`to_dict`."""
        from ._display import MEASURE_SYMBOL, estimator_text, figures, verdict_text

        f = figures(self.value, self.stderr, self.interval)
        parts = [f"{MEASURE_SYMBOL.get(self.measure, self.measure)} = {f['value']}"
                 + (f" ± {f['stderr']}" if f["stderr"] is not None else "") + f" {self.unit}"]
        if f["interval"] is not None:
            parts.append(f"95% {f['interval']}")
        verdict = verdict_text(self.reliable, self.details.get("diagnostics") or [],
                               len(self.warnings))
        if verdict is not None:
            parts.append(verdict.replace(" below", ""))
        elif self.warnings:
            parts.append(f"{len(self.warnings)} warning" + ("s" if len(self.warnings) > 1
                                                              else ""))
        return ", ".join(parts) + (f" ({estimator_text(self.estimator, self.details)}, "
                                   f"n={self.n_samples})")

    def __repr__(self) -> str:
        return f"Estimate({self.summary()})"

    __str__ = summary

    def _repr_html_(self) -> str:
        """A small table for notebooks (the same figures as the CLI's table)."""
        from html import escape

        from ._display import (MEASURE_SYMBOL, estimator_text, figures, fold_warnings,
                               params_text, verdict_text)

        f = figures(self.value, self.stderr, self.interval)
        rows = [("estimate", f["value"] + (f" ± {f['stderr']}" if f["stderr"] is not None
                                           else "") + f" {self.unit}")]
        if f["interval"] is not None:
            rows.append(("95% interval", f"{f['interval']} {self.unit}"
                         if f["interval"] != "unknown" else "unknown"))
        verdict = verdict_text(self.reliable, self.details.get("diagnostics") or [],
                               len(fold_warnings(self.warnings)))
        if verdict is not None:
            rows.append(("verdict", verdict))
        rows += [("estimator", estimator_text(self.estimator, self.details)),
                 ("params", params_text(self.estimator, self.params, self.details)),
                 ("samples", str(self.n_samples)),
                 ("dims", ", ".join(f"{k}: {v}" for k, v in self.dims.items()))]
        body = "".join(f"<tr><th style='text-align:left'>{escape(k)}</th>"
                       f"<td style='text-align:left'>{escape(v)}</td></tr>" for k, v in rows)
        warn = "".join(f"<li>{escape(w)}</li>" for w in fold_warnings(self.warnings))
        title = escape(MEASURE_SYMBOL.get(self.measure, self.measure))
        return (f"<div><table><caption style='text-align:left'><b>{title}</b></caption>"
                f"{body}</table>" + (f"<ul>{warn}</ul>" if warn else "") + "</div>")


def _json_default(obj: Any) -> Any:
    # numpy scalars and arrays sneak into details; make them plain.
    if hasattr(obj, "tolist"):
        return obj.tolist()
    if hasattr(obj, "item"):
        return obj.item()
    raise TypeError(f"{type(obj).__name__} is not JSON serialisable")
