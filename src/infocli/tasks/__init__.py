"""Known-truth tasks: samplers with exact (or quadrature) information values.

A task is data, truth and tags, nothing else: ``task.sample(n, seed)`` returns
a dict of arrays (``x``; ``x, y``; ``x, z``; ``x, y, z``), and ``task.truth``
is the value of ``task.measure`` in nats. Tasks are registered by family
modules (imported lazily on first use), in the manner of bmi's
``benchmark/tasks``.

    >>> from infocli import tasks
    >>> t = tasks.get("1v1-normal-0.75")
    >>> data = t.sample(1000, seed=0)
    >>> data["x"].shape, round(t.truth, 4)
    ((1000, 1), 0.4133)
"""

from __future__ import annotations

import fnmatch
from dataclasses import dataclass, field
from typing import Callable

import numpy as np

from ..errors import ParameterError

__all__ = ["Task", "register", "get", "select", "all_tasks", "families"]

#: ``sampler(n, rng) -> {"x": (n, dx), "y": (n, dy), ...}``
Sampler = Callable[[int, np.random.Generator], dict]


@dataclass(frozen=True)
class Task:
    """One known-truth task.

    Attributes
    ----------
    name : str
        Unique name (bmi's names for bmi's tasks, e.g. ``1v1-normal-0.75``).
    measure : str
        ``entropy``, ``conditional_entropy``, ``mutual_information`` or
        ``conditional_mutual_information`` (as in :class:`infocli.Estimate`).
    family : str
        Group of tasks (``bmi``, ``staircase``, ``images``, ``labels``, ``cmi``,
        ``entropy``, ...), selectable with ``infocli bench --family``.
    truth : float
        The true value of ``measure``, in nats.
    dims : dict
        Columns per variable, e.g. ``{"x": 3, "y": 3}`` (labels count as 1).
    sampler : callable
        ``sampler(n, rng)`` -> dict of arrays keyed ``x``, ``y``, ``z``.
    discrete : tuple of str
        Variables that are class labels (integer codes), e.g. ``("y",)``.
    tags : tuple of str
        Free-form descriptors (``gaussian``, ``heavy-tailed``, ``sparse``, ...).
    description : str
        One line: the distribution and where its truth comes from.
    """

    name: str
    measure: str
    family: str
    truth: float
    dims: dict[str, int]
    sampler: Sampler = field(repr=False, compare=False)
    discrete: tuple[str, ...] = ()
    tags: tuple[str, ...] = ()
    description: str = ""

    def sample(self, n: int, seed: int = 0) -> dict[str, np.ndarray]:
        """``n`` rows, deterministic for ``seed``: ``{"x": ..., "y": ...}``."""
        if isinstance(n, bool) or not isinstance(n, (int, np.integer)) or n < 1:
            raise ParameterError(f"task {self.name}: n={n!r}: expected a positive integer")
        rng = np.random.default_rng([int(seed), _name_key(self.name)])
        out = self.sampler(int(n), rng)
        return {k: (v if k in self.discrete else np.asarray(v, dtype=np.float64))
                for k, v in out.items()}


def _name_key(name: str) -> int:
    # a stable per-task stream, so that tasks with the same seed are independent
    import zlib

    return zlib.crc32(name.encode())


_REGISTRY: dict[str, Task] = {}
_LOADED = False

#: Modules that register tasks when imported (lazily, on first lookup).
_FAMILY_MODULES: tuple[str, ...] = ("bmi",)


def register(task: Task) -> Task:
    """Add a task (names are unique)."""
    if task.name in _REGISTRY:
        raise ValueError(f"task {task.name!r} registered twice")
    _REGISTRY[task.name] = task
    return task


def _load() -> None:
    global _LOADED
    if _LOADED:
        return
    _LOADED = True
    import importlib

    for module in _FAMILY_MODULES:
        importlib.import_module(f"{__name__}.{module}")


def all_tasks() -> list[Task]:
    _load()
    return list(_REGISTRY.values())


def families() -> list[str]:
    return sorted({t.family for t in all_tasks()})


def get(name: str) -> Task:
    _load()
    try:
        return _REGISTRY[name]
    except KeyError:
        raise ParameterError(f"unknown task {name!r}; `infocli bench --list` shows the suite "
                             f"({len(_REGISTRY)} tasks)") from None


def select(pattern: str | None = None, family: str | None = None,
           measure: str | None = None) -> list[Task]:
    """Tasks whose name matches the glob ``pattern`` (comma-separated globs
    allowed), of ``family`` and ``measure``; an empty selection is an error."""
    tasks = all_tasks()
    if family is not None:
        known = families()
        wanted = [f.strip() for f in family.split(",") if f.strip()]
        for f in wanted:
            if f not in known:
                raise ParameterError(f"unknown task family {f!r}; families: {', '.join(known)}")
        tasks = [t for t in tasks if t.family in wanted]
    if measure is not None:
        tasks = [t for t in tasks if t.measure == measure]
    if pattern is not None:
        globs = [p.strip() for p in pattern.split(",") if p.strip()]
        tasks = [t for t in tasks if any(fnmatch.fnmatchcase(t.name, g) for g in globs)]
    if not tasks:
        raise ParameterError("no task matches "
                             + ", ".join(f"{k}={v!r}" for k, v in
                                         (("pattern", pattern), ("family", family),
                                          ("measure", measure)) if v is not None))
    return tasks
