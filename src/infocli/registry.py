"""The one registry of estimators.

Each entry says what an estimator measures, which inputs it accepts, which
devices it runs on, its parameters (with defaults and validation) and where
its implementation lives. Implementations are referenced as
``"module:function"`` strings and imported only when used, so that listing
estimators (and ``infocli --help``) stays fast.

An implementation for measure ``m`` is called as::

    fn(ctx, *arrays, **params) -> Raw

with ``ctx`` an :class:`infocli.estimators._common.Context` (rng, device,
progress, warnings) and ``arrays`` the validated arrays (``x``; ``x, z``;
``x, y``; ``x, y, z``): float64 of shape (n, d), or integer label codes of
shape (n,) for a discrete variable (see ``ctx.discrete``).
"""

from __future__ import annotations

import importlib
from dataclasses import dataclass
from typing import Any, Callable

from .errors import ParameterError, quote

_TRUE = {"true", "1", "yes", "on"}
_FALSE = {"false", "0", "no", "off"}


@dataclass(frozen=True)
class Param:
    """A declared estimator parameter."""

    name: str
    type: type  # int, float, bool or str
    default: Any
    doc: str
    choices: tuple[Any, ...] | None = None
    low: float | None = None  # inclusive lower bound for numbers
    high: float | None = None  # inclusive upper bound for numbers
    low_exclusive: bool = False

    def _bad(self, value: Any, expected: str) -> ParameterError:
        return ParameterError(f"parameter {self.name}={quote(value)}: expected {expected}")

    def parse(self, text: str) -> Any:
        """Convert a command-line string to this parameter's type, then validate."""
        if self.type is bool:
            t = text.strip().lower()
            if t in _TRUE:
                return True
            if t in _FALSE:
                return False
            raise self._bad(text, "true or false")
        if self.type in (int, float):
            try:
                number = float(text)
            except ValueError:
                raise self._bad(text, "an integer" if self.type is int else "a number") from None
            if number != number or number in (float("inf"), float("-inf")):
                raise self._bad(text, "a finite " + ("integer" if self.type is int else "number"))
            return self.validate(int(number) if self.type is int and number.is_integer() else number)
        return self.validate(text)

    def validate(self, value: Any) -> Any:
        """Check a value of this parameter; strings are parsed first."""
        if isinstance(value, str) and self.type is not str:
            return self.parse(value)
        if self.type is bool:
            if not isinstance(value, bool):
                raise self._bad(value, "true or false")
        elif self.type is int:
            if isinstance(value, bool):
                raise self._bad(value, "an integer")
            try:
                as_int = int(value)
            except (TypeError, ValueError, OverflowError):
                raise self._bad(value, "an integer") from None
            if as_int != value:
                raise self._bad(value, "an integer")
            value = as_int
        elif self.type is float:
            if isinstance(value, bool):
                raise self._bad(value, "a number")
            try:
                value = float(value)
            except (TypeError, ValueError):
                raise self._bad(value, "a number") from None
            if value != value or value in (float("inf"), float("-inf")):
                raise self._bad(value, "a finite number")
        if self.choices is not None and value not in self.choices:
            raise self._bad(value, "one of " + ", ".join(map(str, self.choices)))
        if self.low is not None and (value < self.low or (self.low_exclusive and value == self.low)):
            raise self._bad(value, f"{'>' if self.low_exclusive else '>='} {self.low:g}")
        if self.high is not None and value > self.high:
            raise self._bad(value, f"<= {self.high:g}")
        return value

    def describe_default(self) -> str:
        if self.type is bool:
            return "true" if self.default else "false"
        return str(self.default)


@dataclass(frozen=True)
class EstimatorSpec:
    """What the registry knows about one estimator."""

    name: str
    summary: str
    implementations: dict[str, str]  # measure -> "module:function"
    params: tuple[Param, ...]
    reference: str
    discrete: tuple[str, ...] = ()  # measures in which y / the given variable may be labels
    discrete_x: tuple[str, ...] = ()  # measures in which x may be labels too
    mixed: tuple[str, ...] = ()  # measures taking variables with discrete and continuous columns
    devices: tuple[str, ...] = ("cpu",)

    @property
    def measures(self) -> tuple[str, ...]:
        return tuple(self.implementations)

    def param(self, name: str) -> Param:
        for p in self.params:
            if p.name == name:
                return p
        raise ParameterError(
            f"estimator {self.name!r} has no parameter {quote(name)}; valid parameters: "
            + (", ".join(p.name for p in self.params) or "(none)")
        )

    def resolve_params(self, given: dict[str, Any] | None) -> dict[str, Any]:
        """Defaults overlaid with validated user values."""
        out = {p.name: p.default for p in self.params}
        for key, value in (given or {}).items():
            out[key] = self.param(key).validate(value)
        return out

    def implementation(self, measure: str) -> Callable[..., Any]:
        try:
            target = self.implementations[measure]
        except KeyError:
            raise ParameterError(
                f"estimator {self.name!r} does not estimate {measure.replace('_', ' ')}; "
                f"estimators that do: {', '.join(names_for(measure))}"
            ) from None
        module, _, func = target.partition(":")
        return getattr(importlib.import_module(module), func)


REGISTRY: dict[str, EstimatorSpec] = {}

#: The estimator each measure uses when none is named (library, CLI and batch
#: manifests alike): ``auto`` for every measure. Measured with ``infocli bench``
#: (n = 5,000, 3 seeds, default check): MI, bmi's 40 tasks: 36 solved (ksg 25),
#: median 0.34 s per estimate; entropy suite: 23 of 23 (kl 22); CMI suite: 6 of 6
#: (ksg 4). See docs/auto.md.
DEFAULT_ESTIMATOR = {
    "entropy": "auto",
    "conditional_entropy": "auto",
    "mutual_information": "auto",
    "conditional_mutual_information": "auto",
}


def default_for(measure: str) -> str:
    """The default estimator of ``measure`` (:data:`DEFAULT_ESTIMATOR`)."""
    return DEFAULT_ESTIMATOR[measure]


def register(spec: EstimatorSpec) -> EstimatorSpec:
    """Add an estimator (names are unique)."""
    if spec.name in REGISTRY:
        raise ValueError(f"estimator {spec.name!r} registered twice")
    REGISTRY[spec.name] = spec
    return spec


def get(name: str) -> EstimatorSpec:
    _load_builtin()
    try:
        return REGISTRY[name]
    except KeyError:
        raise ParameterError(
            f"unknown estimator {quote(name)}; valid estimators: {', '.join(sorted(REGISTRY))}"
        ) from None


def names_for(measure: str) -> list[str]:
    _load_builtin()
    return [n for n, s in REGISTRY.items() if measure in s.implementations]


def all_specs() -> list[EstimatorSpec]:
    _load_builtin()
    return list(REGISTRY.values())


def parse_param_strings(spec: EstimatorSpec, items: list[str]) -> dict[str, Any]:
    """Parse ``key=value`` strings (``--param``) against ``spec``'s parameters."""
    out: dict[str, Any] = {}
    for item in items:
        key, sep, text = item.partition("=")
        key = key.strip().replace("-", "_")
        if not sep or not key:
            raise ParameterError(f"--param {quote(item)}: expected key=value")
        value = spec.param(key).parse(text.strip())
        if key in out and out[key] != value:
            raise ParameterError(f"--param {key} given twice ({key}={quote(out[key])} and "
                                 f"{key}={quote(value)}); give it once")
        out[key] = value
    return out


def _load_builtin() -> None:
    # The catalogue module only declares specs (no numeric imports).
    from . import catalogue  # noqa: F401
