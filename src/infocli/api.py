"""Public library functions: validate once, dispatch through the registry,
return one :class:`~infocli.result.Estimate`. Nothing here prints."""

from __future__ import annotations

import time
from typing import Any

import numpy as np

from . import registry
from ._device import check_device
from ._validation import as_continuous, as_labels, check_rows, is_non_numeric
from ._version import __version__
from .errors import ParameterError
from .estimators._common import Context, ProgressFn
from .result import UNITS, Estimate

__all__ = ["entropy", "mutual_information", "conditional_mutual_information"]

_DEFAULT_NAMES = {"x": "x", "y": "y", "z": "z"}


def entropy(
    x: Any,
    *,
    given: Any = None,
    estimator: str = "kl",
    discrete_given: bool | None = None,
    unit: str = "nats",
    seed: int = 0,
    device: str = "auto",
    params: dict[str, Any] | None = None,
    progress: ProgressFn | None = None,
    names: dict[str, str] | None = None,
    **kwargs: Any,
) -> Estimate:
    """Differential entropy H(X), or conditional entropy H(X|Z) with ``given=z``.

    Parameters
    ----------
    x : array-like, shape (n_samples,) or (n_samples, n_dims)
        Continuous samples (numpy, torch, pandas or lists).
    given : array-like, shape (n_samples, ...), optional
        Conditioning variable Z. Class labels when ``discrete_given`` is true
        (auto: non-numeric dtypes are labels).
    estimator : str
        Registry name (``infocli.available_estimators("entropy")``).
    unit : {"nats", "bits"}
    seed : int
        Seeds every random choice (tie jitter, jackknife groups); same seed,
        same output.
    device : {"auto", "cpu", "cuda", "cuda:N"}
    params, **kwargs
        Estimator parameters (validated against its declared parameters).
    progress : callable(description, completed, total), optional
    names : dict, optional
        Labels for ``x``/``z`` in messages and warnings (e.g. file names).

    Returns
    -------
    Estimate
    """
    if given is None:
        return _estimate("entropy", estimator, {"x": x}, {}, unit, seed, device,
                         {**(params or {}), **kwargs}, progress, names)
    return _estimate("conditional_entropy", estimator, {"x": x, "z": given},
                     {"z": discrete_given}, unit, seed, device, {**(params or {}), **kwargs},
                     progress, names)


def mutual_information(
    x: Any,
    y: Any,
    *,
    estimator: str = "ksg",
    discrete_y: bool | None = None,
    permutations: int = 0,
    unit: str = "nats",
    seed: int = 0,
    device: str = "auto",
    params: dict[str, Any] | None = None,
    progress: ProgressFn | None = None,
    names: dict[str, str] | None = None,
    **kwargs: Any,
) -> Estimate:
    """Mutual information I(X;Y) between vectors x and y (or labels y).

    ``permutations=N`` adds a permutation p-value: the estimate is recomputed
    on N seeded row-shuffles of y and p = (1 + #{null >= value}) / (N + 1).
    Other parameters as in :func:`entropy`. Negative estimates are returned
    as they are.
    """
    return _estimate("mutual_information", estimator, {"x": x, "y": y}, {"y": discrete_y},
                     unit, seed, device, {**(params or {}), **kwargs}, progress, names,
                     permutations=permutations)


def conditional_mutual_information(
    x: Any,
    y: Any,
    z: Any,
    *,
    estimator: str = "ksg",
    discrete_given: bool | None = None,
    unit: str = "nats",
    seed: int = 0,
    device: str = "auto",
    params: dict[str, Any] | None = None,
    progress: ProgressFn | None = None,
    names: dict[str, str] | None = None,
    **kwargs: Any,
) -> Estimate:
    """Conditional mutual information I(X;Y|Z); ``z`` may be class labels."""
    return _estimate("conditional_mutual_information", estimator, {"x": x, "y": y, "z": z},
                     {"z": discrete_given}, unit, seed, device,
                     {**(params or {}), **kwargs}, progress, names)


def _estimate(measure, estimator, raw_arrays, discrete_flags, unit, seed, device, params,
              progress, names, permutations=0) -> Estimate:
    start = time.perf_counter()
    spec = registry.get(estimator)
    impl = spec.implementation(measure)
    effective = spec.resolve_params(params)
    if unit not in UNITS:
        raise ParameterError(f"unit {unit!r}: expected one of {', '.join(UNITS)}")
    if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)) or seed < 0:
        raise ParameterError(f"seed {seed!r}: expected a non-negative integer")
    if isinstance(permutations, bool) or not isinstance(permutations, (int, np.integer)) \
            or permutations < 0:
        raise ParameterError(f"permutations {permutations!r}: expected a non-negative integer")
    device = check_device(device)
    names = {**_DEFAULT_NAMES, **(names or {})}

    arrays: dict[str, np.ndarray] = {}
    discrete: dict[str, bool] = {}
    classes: dict[str, list] = {}
    for var, a in raw_arrays.items():
        flag = discrete_flags.get(var)
        if flag is None:
            flag = var != "x" and is_non_numeric(a)
        if flag:
            if measure not in spec.discrete:
                raise ParameterError(
                    f"estimator {spec.name!r} does not accept class labels for "
                    f"{names[var]} in {measure.replace('_', ' ')}; estimators that do: "
                    + ", ".join(s.name for s in registry.all_specs() if measure in s.discrete)
                )
            arrays[var], classes[var] = as_labels(a, names[var])
        else:
            arrays[var] = as_continuous(a, names[var])
        discrete[var] = bool(flag)
    n = check_rows(arrays, names)

    ctx = Context(rng=np.random.default_rng(seed), device=device, progress=progress,
                  discrete=discrete, names=names, classes=classes)
    raw = impl(ctx, *arrays.values(), **effective)

    details: dict[str, Any] = dict(ctx.details)
    details["stderr_method"] = raw.stderr_method
    details["inputs"] = {v: names[v] for v in arrays}
    if classes:
        details["classes"] = {v: len(c) for v, c in classes.items()}
    p_value = None
    if permutations:
        null = _permutation_null(impl, arrays, discrete, classes, names, effective, device,
                                 progress, seed, permutations)
        p_value = float((1 + np.count_nonzero(null >= raw.value)) / (permutations + 1))
        details.update(permutations=int(permutations), null_mean=float(null.mean()),
                       null_std=float(null.std(ddof=1)) if permutations > 1 else None)

    result = Estimate(
        measure=measure,
        estimator=spec.name,
        value=raw.value,
        unit="nats",
        stderr=raw.stderr,
        n_samples=n,
        dims={v: int(a.shape[1]) if a.ndim == 2 else 1 for v, a in arrays.items()},
        params={**effective, "seed": int(seed)},
        device=ctx.device_used,
        seconds=time.perf_counter() - start,
        version=__version__,
        warnings=tuple(ctx.warnings),
        p_value=p_value,
        details=details,
    )
    return result.to(unit)


def _permutation_null(impl, arrays, discrete, classes, names, effective, device, progress,
                      seed, permutations) -> np.ndarray:
    """MI of x with N seeded row-shuffles of y (the null of independence)."""
    x, y = arrays["x"], arrays["y"]
    perm_rng = np.random.default_rng([seed, 1])
    null = np.empty(permutations)
    for b in range(permutations):
        ctx = Context(rng=np.random.default_rng([seed, 2, b]), device=device, progress=None,
                      discrete=discrete, names=names, classes=classes, write_files=False)
        null[b] = impl(ctx, x, y[perm_rng.permutation(len(y))], **effective).value
        if progress is not None:
            progress("permutations", b + 1, permutations)
    return null
