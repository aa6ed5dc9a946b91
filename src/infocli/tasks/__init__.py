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

__all__ = ["Task", "register", "add_to_family", "get", "select", "all_tasks", "default_tasks", "families",
           "at_dims", "OPT_IN"]

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
        ``entropy``, ``highdim``, ...), selectable with ``infocli bench --family``.
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
        Tasks tagged :data:`OPT_IN` run only when selected by name or family.
    description : str
        One line: the distribution and where its truth comes from.
    min_n : int
        Smallest sample size a benchmark should use (default: total number of
        columns + 2, so that a sample covariance is full rank);
        :meth:`check_n` raises below it.
    standardize : bool
        Whether :meth:`sample` rescales every continuous column to zero mean and
        unit variance (sample statistics) by default. bmi's v1 benchmark does
        this for all its tasks (``transform_rescale``); it leaves MI unchanged.
    params : dict
        The parameters the task was built from (correlations, dof, ...).
    truth_error : float
        Stated absolute error of ``truth`` (0 for closed forms; quadrature or
        Monte Carlo error otherwise).
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
    min_n: int | None = None
    standardize: bool = False
    params: dict = field(default_factory=dict, compare=False)
    truth_error: float = 0.0

    def __post_init__(self) -> None:
        if self.min_n is None:
            object.__setattr__(self, "min_n", int(sum(self.dims.values())) + 2)

    @property
    def dim_total(self) -> int:
        return int(sum(self.dims.values()))

    def check_n(self, n: int) -> None:
        """Raise :class:`ParameterError` if ``n`` is not an integer >= ``min_n``."""
        if isinstance(n, bool) or not isinstance(n, (int, np.integer)) or n < 1:
            raise ParameterError(f"task {self.name}: n={n!r}: expected a positive integer")
        if n < self.min_n:
            dims = " + ".join(f"{k}: {v}" for k, v in self.dims.items())
            raise ParameterError(f"task {self.name}: n={n} is too small for its "
                                 f"{self.dim_total} columns ({dims}); expected n >= {self.min_n}")

    def sample(self, n: int, seed: int = 0, *,
               standardize: bool | None = None) -> dict[str, np.ndarray]:
        """``n`` rows, deterministic for ``seed``: ``{"x": ..., "y": ...}``.

        ``standardize`` (default: the task's own setting) rescales every
        continuous column to zero mean and unit variance, as bmi's benchmark
        does; ``standardize=False`` gives the raw distribution. Continuous
        variables are float64, or float32 where the task's sampler draws them
        so (the largest ``highdim`` tasks, tag ``float32``); labels int64.
        """
        if isinstance(n, bool) or not isinstance(n, (int, np.integer)) or n < 1:
            raise ParameterError(f"task {self.name}: n={n!r}: expected a positive integer")
        if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)) or seed < 0:
            raise ParameterError(f"task {self.name}: seed={seed!r}: expected a non-negative integer")
        rng = np.random.default_rng([int(seed), _name_key(self.name)])
        out = self.sampler(int(n), rng)
        scale = self.standardize if standardize is None else standardize
        return {k: (np.asarray(v) if k in self.discrete
                    else _standardized(_floats(v)) if scale else _floats(v))
                for k, v in out.items()}


def _floats(v) -> np.ndarray:
    # float32 stays float32 (half the memory of 20,000 x 4,096 columns); the rest float64
    a = np.asarray(v)
    return a if a.dtype == np.float32 else np.asarray(a, dtype=np.float64)


def _standardized(a: np.ndarray) -> np.ndarray:
    # as sklearn.preprocessing.scale: population std, constant columns only centred
    centred = a - a.mean(axis=0)
    std = centred.std(axis=0)
    return centred / np.where(std > 0, std, 1.0)


def _name_key(name: str) -> int:
    # a stable per-task stream, so that tasks with the same seed are independent
    import zlib

    return zlib.crc32(name.encode())


_REGISTRY: dict[str, Task] = {}
_LOADED = False

#: Modules that register tasks when imported (lazily, on first lookup).
_FAMILY_MODULES: tuple[str, ...] = ("bmi", "bmi2", "staircase", "images", "labels", "cmi",
                                    "entropy", "highdim")

#: Tag of expensive tasks (thousands of columns) that run only when asked for by name
#: or family: :func:`default_tasks`, ``infocli bench`` without ``--tasks``/``--family``
#: and :func:`select` without ``pattern``/``family`` leave them out.
OPT_IN = "opt-in"


def register(task: Task) -> Task:
    """Add a task (names are unique)."""
    if task.name in _REGISTRY:
        raise ValueError(f"task {task.name!r} registered twice")
    _REGISTRY[task.name] = task
    return task


#: family -> names of tasks registered under another family that it also lists
#: (bmi's v2 suite reruns 13 v1 tasks: they stay ``family="bmi"``).
_ALSO_IN: dict[str, list[str]] = {}


def add_to_family(family: str, name: str) -> None:
    """List the registered task ``name`` under ``family`` too (for :func:`select`)."""
    if name not in _REGISTRY:
        raise ValueError(f"task {name!r} is not registered")
    _ALSO_IN.setdefault(family, []).append(name)


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


def default_tasks() -> list[Task]:
    """Every task but the :data:`OPT_IN` ones: what a benchmark runs when nothing is selected."""
    return [t for t in all_tasks() if OPT_IN not in t.tags]


def families() -> list[str]:
    return sorted({t.family for t in all_tasks()} | set(_ALSO_IN))


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
    allowed), of ``family`` and ``measure``; an empty selection is an error.
    Without ``pattern`` and ``family`` the :data:`OPT_IN` tasks are left out. A family
    also lists the tasks added to it with :func:`add_to_family` (``bmi2`` its v1 tasks)."""
    tasks = all_tasks() if pattern is not None or family is not None else default_tasks()
    if family is not None:
        known = families()
        wanted = [f.strip() for f in family.split(",") if f.strip()]
        for f in wanted:
            if f not in known:
                raise ParameterError(f"unknown task family {f!r}; families: {', '.join(known)}")
        also = {name for f in wanted for name in _ALSO_IN.get(f, ())}
        tasks = [t for t in tasks if t.family in wanted or t.name in also]
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


def at_dims(dim_x: int, dim_y: int) -> list[Task]:
    """bmi-style MI tasks (dense, sparse, Student-t, transformed) at ``dim_x`` x ``dim_y``,
    built on demand and not registered (for ``infocli bench --dims``)."""
    from .bmi import at_dims as _at_dims

    return _at_dims(dim_x, dim_y)
