"""What every estimator implementation receives and returns."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Callable

import numpy as np

from ..errors import EstimationError

#: ``progress(description, completed, total)``; the library never prints. A
#: description "name | status" is one task (keyed by name) whose status changes.
ProgressFn = Callable[[str, float, float], None]


@dataclass
class Context:
    """Run-time context handed to an implementation by :mod:`infocli.api`.

    ``rng`` is the only source of randomness; ``device`` is ``"auto"``,
    ``"cpu"`` or ``"cuda[:N]"`` (already checked to exist); ``discrete`` says
    which of ``x``/``y``/``z`` arrive as integer label codes; ``names`` are
    labels used in messages (``"x"`` in the library, file names in the CLI).
    ``write_files`` is false in repeated runs (permutation nulls), where an
    estimator must not write the files its parameters name.
    Implementations append to ``warnings`` and ``details`` and set
    ``device_used``; ``artifacts`` receives arrays a caller may ask for (e.g.
    the DSE spectrum) that are not part of the result record.
    """

    rng: np.random.Generator
    device: str = "auto"
    progress: ProgressFn | None = None
    discrete: dict[str, bool] = field(default_factory=dict)
    names: dict[str, str] = field(default_factory=dict)
    classes: dict[str, list] = field(default_factory=dict)
    warnings: list[str] = field(default_factory=list)
    details: dict[str, Any] = field(default_factory=dict)
    device_used: str = "cpu"
    artifacts: dict[str, Any] = field(default_factory=dict)
    #: False for the permutation-null runs, which must not write files
    write_files: bool = True
    #: the input's column names per variable (file column names from the CLI)
    columns: dict[str, list[str]] = field(default_factory=dict)
    #: per-column discrete masks of variables with both kinds of columns (bool arrays)
    discrete_columns: dict[str, Any] = field(default_factory=dict)
    #: per variable, the smallest gap of each column in the data's units, when the
    #: estimator sees a transform of it (auto's normal scores): tie-jitter widths are
    #: reported in these units
    raw_gaps: dict[str, Any] = field(default_factory=dict)

    def name(self, var: str) -> str:
        return self.names.get(var, var)

    def column(self, var: str, j: int) -> str:
        """``column 'f2'`` when variable ``var`` has column names, else ``column j``."""
        cols = self.columns.get(var)
        return f"column {cols[j]!r}" if cols is not None and j < len(cols) else f"column {j}"

    def class_name(self, var: str, code: int) -> str:
        """The original label of class ``code`` of a discrete variable."""
        labels = self.classes.get(var)
        label = labels[code] if labels is not None and code < len(labels) else code
        return f"{self.name(var)}: class {label!r}"

    def report(self, description: str, completed: float, total: float) -> None:
        if self.progress is not None:
            self.progress(description, completed, total)

    def warn(self, message: str, hint: Any = None) -> None:
        """Add a warning; a :class:`~infocli.errors.Hint` is appended in the API's
        words and recorded in ``details["hints"]`` (the CLI rewords it)."""
        if hint is not None:
            message = f"{message}; {hint.api_text()}"
        if message not in self.warnings:
            self.warnings.append(message)
            if hint is not None:
                self.details.setdefault("hints", []).append(
                    {"kind": hint.kind, "var": hint.var, "column": hint.column})


@dataclass(frozen=True)
class Raw:
    """An implementation's answer, in nats, before it becomes an Estimate."""

    value: float
    stderr: float | None
    stderr_method: str | None = None


def mean_and_stderr(terms: np.ndarray, method: str) -> Raw:
    """Estimate = mean of per-sample terms; stderr = their std / sqrt(n).

    This is the first-order (influence-function) standard error used by all
    kNN estimators: each estimate is an average of per-sample terms, and
    asymptotically its variance is Var(term) / n.
    """
    terms = np.asarray(terms, dtype=np.float64)
    value = float(terms.mean())
    stderr = float(terms.std(ddof=1) / np.sqrt(terms.size)) if terms.size > 1 else None
    return finite(Raw(value, stderr, method))


def finite(raw: Raw) -> Raw:
    """Refuse to hand back NaN/inf: that is an estimation failure, not a value."""
    if not np.isfinite(raw.value):
        raise EstimationError(
            f"the estimate is not finite ({raw.value}); this is a bug or degenerate "
            "data (e.g. duplicated rows with ties=error) - please report it"
        )
    if raw.stderr is not None and not np.isfinite(raw.stderr):
        raw = Raw(raw.value, None, raw.stderr_method)
    return raw


def class_groups(labels: np.ndarray) -> list[np.ndarray]:
    """Row indices of each class, for integer label codes 0..C-1."""
    order = np.argsort(labels, kind="stable")
    counts = np.bincount(labels)
    return [g for g in np.split(order, np.cumsum(counts)[:-1]) if g.size]
