"""Public library functions: validate once, dispatch through the registry,
return one :class:`~infocli.result.Estimate`. Nothing here prints."""

from __future__ import annotations

import time
from typing import Any

import numpy as np

from . import diagnostics, registry, transforms
from ._device import check_device
from ._validation import (all_non_numeric, as_continuous, as_labels, check_rows, column_names,
                          as_mixed, discrete_mask, drop_missing, is_non_numeric,
                          label_like_columns)
from ._version import __version__
from .errors import Hint, ParameterError
from .estimators._common import Context, ProgressFn
from .result import UNITS, Estimate

__all__ = ["entropy", "mutual_information", "conditional_mutual_information", "dse", "dsmi",
           "dse_spectrum"]

_DEFAULT_NAMES = {"x": "x", "y": "y", "z": "z"}


def entropy(
    x: Any,
    *,
    given: Any = None,
    estimator: str = registry.DEFAULT_ESTIMATOR["entropy"],
    discrete_x: Any = None,
    discrete_given: bool | None = None,
    unit: str = "nats",
    seed: int = 0,
    device: str = "auto",
    params: dict[str, Any] | None = None,
    progress: ProgressFn | None = None,
    names: dict[str, str] | None = None,
    dropna: bool = False,
    drop_constant: bool = False,
    check: str | None = None,
    transform: str = "none",
    **kwargs: Any,
) -> Estimate:
    """Differential entropy H(X), or conditional entropy H(X|Z) with ``given=z``.

    Parameters
    ----------
    x : array-like, shape (n_samples,) or (n_samples, n_dims)
        Continuous samples (numpy, torch, pandas or lists).
    discrete_x : bool, list or None
        Whether x is discrete (integer or text labels): True, False, or None to
        detect it (text, booleans and categoricals are labels; under ``auto``
        integer columns with at most max(20, sqrt(n)) levels too, with a
        warning). A discrete x gets the entropy of its (joint) labels by a
        bias-corrected plug-in (:mod:`infocli.estimators.discrete`).
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
    dropna : bool
        Drop the rows with NaN/inf (or a missing label) in any variable,
        jointly, instead of refusing them; the warnings and
        ``details["dropped_rows"]`` say how many were dropped.
    drop_constant : bool
        Leave out the columns that hold one value in every row (in any
        variable), named in one warning and ``details["dropped_constant"]``;
        a variable left with no column is refused. By default a constant
        column is refused by the estimator, in one error naming every constant
        column of that variable.
    check : {"off", "fast", "full"}, optional
        Reliability check level (:mod:`infocli.diagnostics`): the result's
        ``interval`` and ``reliable`` verdict. Default ``"fast"`` (kNN and
        gaussian: at most ~5x one estimate); ``"off"`` skips it.
    transform : {"none", "rank", "copula"}
        ``rank``/``copula``: estimate through the marginal decomposition
        h(X) = sum_i h(X_i) + h(T(X)) - sum_i h(T_i(X_i)), T the column-wise
        uniform / normal-score map, the joint term by ``estimator`` on T(X) and
        the 1-D terms by 1-D Kozachenko-Leonenko (see :mod:`infocli.transforms`).

    Returns
    -------
    Estimate
    """
    if given is None:
        return _estimate("entropy", estimator, {"x": x}, {"x": discrete_x}, unit, seed, device,
                         {**(params or {}), **kwargs}, progress, names, dropna=dropna,
                         drop_constant=drop_constant, check=check, transform=transform)
    return _estimate("conditional_entropy", estimator, {"x": x, "z": given},
                     {"x": discrete_x, "z": discrete_given}, unit, seed, device, {**(params or {}), **kwargs},
                     progress, names, dropna=dropna,
                     drop_constant=drop_constant, check=check, transform=transform)


def mutual_information(
    x: Any,
    y: Any,
    *,
    estimator: str = registry.DEFAULT_ESTIMATOR["mutual_information"],
    discrete_x: Any = None,
    discrete_y: Any = None,
    permutations: int = 0,
    unit: str = "nats",
    seed: int = 0,
    device: str = "auto",
    params: dict[str, Any] | None = None,
    progress: ProgressFn | None = None,
    names: dict[str, str] | None = None,
    dropna: bool = False,
    drop_constant: bool = False,
    check: str | None = None,
    transform: str = "none",
    **kwargs: Any,
) -> Estimate:
    """Mutual information I(X;Y) between vectors x and y (or labels y).

    ``transform="rank"`` or ``"copula"`` replaces every continuous column by
    its uniform or normal scores first (average ranks; MI is invariant under
    increasing per-column maps; ``gaussian`` on normal scores is GCMI); labels
    are left as they are (see :mod:`infocli.transforms`).
    ``permutations=N`` adds a permutation p-value: the estimate is recomputed
    on N seeded row-shuffles of y and p = (1 + #{null >= value}) / (N + 1).
    ``discrete_x`` / ``discrete_y``: which columns are discrete, as scikit-learn's
    ``discrete_features``: True (all), False (none), a boolean mask, or a list of
    column indices or names; None detects them (text, booleans, categoricals;
    under ``auto``, integer columns with at most max(20, sqrt(n)) levels, with a
    warning naming the keyword). ``auto`` then dispatches: both sides discrete ->
    bias-corrected plug-in (``discrete``); one side discrete -> Ross's mixed kNN;
    discrete and continuous columns within a side -> Gao et al.'s mixed KSG
    (``mixed_ksg``); an estimate above H of a discrete side is clipped to it and
    the clipping recorded (``details["clipped"]``, a warning).
    Other parameters as in :func:`entropy`. Negative estimates are returned
    as they are.
    """
    return _estimate("mutual_information", estimator, {"x": x, "y": y},
                     {"x": discrete_x, "y": discrete_y},
                     unit, seed, device, {**(params or {}), **kwargs}, progress, names,
                     permutations=permutations, dropna=dropna, drop_constant=drop_constant,
                     check=check, transform=transform)


def conditional_mutual_information(
    x: Any,
    y: Any,
    z: Any,
    *,
    estimator: str = registry.DEFAULT_ESTIMATOR["conditional_mutual_information"],
    discrete_given: bool | None = None,
    unit: str = "nats",
    seed: int = 0,
    device: str = "auto",
    params: dict[str, Any] | None = None,
    progress: ProgressFn | None = None,
    names: dict[str, str] | None = None,
    dropna: bool = False,
    drop_constant: bool = False,
    check: str | None = None,
    transform: str = "none",
    **kwargs: Any,
) -> Estimate:
    """Conditional mutual information I(X;Y|Z); ``z`` may be class labels.

    ``transform`` as in :func:`mutual_information` (I(X;Y|Z) is invariant
    under increasing per-column maps of X, Y and Z)."""
    return _estimate("conditional_mutual_information", estimator, {"x": x, "y": y, "z": z},
                     {"z": discrete_given}, unit, seed, device,
                     {**(params or {}), **kwargs}, progress, names, dropna=dropna,
                     drop_constant=drop_constant, check=check, transform=transform)


def _estimate(measure, estimator, raw_arrays, discrete_flags, unit, seed, device, params,
              progress, names, permutations=0, artifacts=None, dropna=False,
              check=None, transform="none", drop_constant=False) -> Estimate:
    start = time.perf_counter()
    check = diagnostics.resolve_level(check)
    transforms.check(transform)
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
    check_permutations(permutations)
    device = check_device(device)
    names = {**_DEFAULT_NAMES, **(names or {})}
    notes: list[tuple[str, Hint | None]] = []  # warnings found before the estimator runs
    dropped = None
    if dropna:
        raw_arrays, dropped = drop_missing(raw_arrays, names)
        if dropped["dropped"]:
            notes.append((f"dropped {dropped['dropped']} of {dropped['of']} rows with NaN or "
                          "infinite values (" + ", ".join(
                              f"{names[v]}: {c}" for v, c in dropped["by_variable"].items())
                          + ")", None))
    constants = None
    if drop_constant:
        from ._validation import describe_constants, drop_constant as _drop_constant

        before = raw_arrays
        raw_arrays, constants = _drop_constant(raw_arrays, names)
        for var, found in constants.items():  # a mask or indices refer to the columns given
            flag = discrete_flags.get(var)
            if flag is not None and not isinstance(flag, (bool, np.bool_)):
                mask = discrete_mask(flag, before[var], names[var], _KEYWORDS[var])
                gone = {j for j, _, _ in found}
                discrete_flags = {**discrete_flags,
                                  var: [bool(m) for j, m in enumerate(mask) if j not in gone]}
        if constants:
            total = sum(len(f) for f in constants.values())
            notes.append((f"left out {total} constant column(s): " + "; ".join(
                f"{names[v]}: {describe_constants(f)}" for v, f in constants.items()), None))

    arrays: dict[str, np.ndarray] = {}
    columns: dict[str, list[str]] = {}
    discrete: dict[str, bool] = {}
    classes: dict[str, list] = {}
    masks: dict[str, np.ndarray] = {}
    for var, a in raw_arrays.items():
        keyword = _KEYWORDS[var]
        given = discrete_flags.get(var)
        found = column_names(a)
        mask = discrete_mask(given, a, names[var], keyword)
        flag = None if mask is None else bool(mask.all()) if mask.any() else False
        if flag is None and is_non_numeric(a) and (
                var != "x" or (measure in spec.discrete_x and all_non_numeric(a))):
            flag = True
        detect = flag is None and _detects(spec, measure, var)
        if mask is not None and mask.any() and not mask.all():
            if measure not in spec.mixed:
                raise ParameterError(
                    f"estimator {spec.name!r} does not accept a variable with both discrete "
                    f"and continuous columns ({keyword}); estimators that do: "
                    + ", ".join(s.name for s in registry.all_specs() if measure in s.mixed))
            arrays[var] = as_mixed(a, mask, names[var], var=var)
            masks[var] = mask
            flag = False
        elif flag:
            accepted = spec.discrete_x if var == "x" else spec.discrete
            if measure not in accepted:
                raise ParameterError(
                    f"estimator {spec.name!r} does not accept class labels for "
                    f"{names[var]} in {measure.replace('_', ' ')}; estimators that do: "
                    + ", ".join(s.name for s in registry.all_specs()
                                if measure in (s.discrete_x if var == "x" else s.discrete))
                )
            arrays[var], classes[var] = as_labels(a, names[var])
        else:
            arrays[var] = as_continuous(a, names[var], var=var,
                                        labels_ok=var in discrete_flags and var != "x")
            if detect:
                found_mask = _detected(arrays[var], var, names[var], found, notes)
                if found_mask is not None and found_mask.all():
                    arrays[var], classes[var] = as_labels(arrays[var], names[var])
                    flag = True
                elif found_mask is not None and measure in spec.mixed:
                    masks[var] = found_mask
            elif var != "x" and var in discrete_flags and given is None:
                notes.extend(_label_like_notes(arrays[var], var, names[var],
                                               found, measure, spec))
        if found is not None:
            columns[var] = found
        discrete[var] = bool(flag)
    n = check_rows(arrays, names)

    ctx = Context(rng=np.random.default_rng(seed), device=device, progress=progress,
                  discrete=discrete, names=names, classes=classes, columns=columns,
                  discrete_columns=masks)
    for message, hint in notes:
        ctx.warn(message, hint=hint)
    if dropped is not None:
        ctx.details["dropped_rows"] = dropped
    if constants:
        ctx.details["dropped_constant"] = {v: [label for _, label, _ in f]
                                           for v, f in constants.items()}
    if artifacts is not None:
        ctx.artifacts = artifacts
    arrays, impl = transforms.apply(transform, measure, arrays, impl, ctx, effective)
    raw = impl(ctx, *arrays.values(), **effective)

    details: dict[str, Any] = dict(ctx.details)
    details["stderr_method"] = raw.stderr_method
    details["inputs"] = {v: names[v] for v in arrays}
    if classes:
        details["classes"] = {v: len(c) for v, c in classes.items()}
    p_value = None
    if permutations:
        null = _permutation_null(impl, arrays, discrete, classes, names, effective, device,
                                 progress, seed, permutations, masks)
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
        params={**effective, "seed": int(seed),
                **({"transform": transform} if transform != "none" else {})},
        device=ctx.device_used,
        seconds=time.perf_counter() - start,
        version=__version__,
        warnings=tuple(ctx.warnings),
        p_value=p_value,
        details=details,
    )
    result = diagnostics.assess(result, impl=impl, arrays=arrays, ctx=ctx, params=effective,
                                seed=seed, check=check, progress=progress)
    return result.to(unit)


_KEYWORDS = {"x": "discrete_x", "y": "discrete_y", "z": "discrete_given"}


def _detects(spec, measure: str, var: str) -> bool:
    """Whether integer columns with few levels become discrete without being asked:
    for estimators that take per-column masks in this measure (auto), and for x of
    an entropy they can take as labels."""
    if measure in spec.mixed:
        return True
    return var == "x" and measure == "entropy" and measure in spec.discrete_x


#: Auto-detected discrete columns are counted only when their joint values are
#: seen at least this often on average (n / distinct joint values).
MIN_ROWS_PER_CELL = 5


def _name_list(items: list, shown: int = 6) -> str:
    """'a', 'b', 'c', ... and N more."""
    text = ", ".join(repr(str(i)) if not isinstance(i, int) else str(i) for i in items[:shown])
    return text + (f" and {len(items) - shown} more" if len(items) > shown else "")


def _detected(a, var, name, cols, notes) -> np.ndarray | None:
    """Mask of the columns of ``a`` detected as discrete (integer values, at most
    max(20, sqrt(n)) levels), each named in a warning with the option that undoes it."""
    found = label_like_columns(a)
    taken = {j for j, _ in found}
    for j in range(a.shape[1]):  # a two-valued column is binary, whatever its two values
        if j not in taken:
            levels = np.unique(a[:, j])
            if levels.size == 2:
                found.append((j, [float(v) for v in levels]))
    if not found:
        return None
    mask = np.zeros(a.shape[1], dtype=bool)
    for j, _ in found:
        mask[j] = True
    # counting needs each joint value of the discrete columns seen several times;
    # when their joint values are too many (e.g. 64 pixel columns of 17 levels),
    # the plug-in and the mixed estimators degenerate: keep them continuous
    cells = len(np.unique(a[:, mask], axis=0)) if mask.sum() > 1 else len(found[0][1])
    if cells > len(a) / MIN_ROWS_PER_CELL:
        which = _name_list([cols[j] if cols is not None and j < len(cols) else j
                            for j, _ in found])
        notes.append((f"{name}: {len(found)} integer-valued column(s) with few levels ({which}) "
                      f"are treated as continuous (ties jittered): their joint values take "
                      f"{cells} distinct values in {len(a)} rows, too many to count "
                      f"(discrete needs at least {MIN_ROWS_PER_CELL} rows per value)",
                      Hint("labels", var, None)))
        return None
    if len(found) > 3:  # one warning for many columns
        which = _name_list([cols[j] if cols is not None and j < len(cols) else j
                            for j, _ in found])
        notes.append((f"{name}: {len(found)} columns hold only a few distinct values ({which}) "
                      f"and are treated as discrete", Hint("continuous", var, None)))
        return mask
    for j, levels in found:
        shown = ", ".join(map(str, levels[:6])) + (", ..." if len(levels) > 6 else "")
        column = cols[j] if cols is not None and j < len(cols) else None
        label = f"column {column!r}" if column is not None else f"column {j}"
        kind = "integer values" if all(float(v).is_integer() for v in levels) else "values"
        notes.append((f"{name}: {label} holds only {len(levels)} distinct {kind} "
                      f"({shown}) and is treated as discrete", Hint("continuous", var, column)))
    return mask


def _label_like_notes(a, var, name, cols, measure, spec) -> list[tuple[str, Hint]]:
    """Warnings for integer columns with few distinct values used as a continuous y or z.

    The rule (:func:`infocli._validation.label_like_columns`): every value is an
    integer and there are at most max(20, sqrt(n)) distinct values. They are
    not switched to labels automatically, since counts and rounded measurements
    are integer-valued continuous data; the warning says how to switch.
    """
    out = []
    for j, levels in label_like_columns(a):
        shown = ", ".join(map(str, levels[:6])) + (", ..." if len(levels) > 6 else "")
        column = cols[j] if cols is not None and j < len(cols) else None
        label = f"column {column!r}" if column is not None else f"column {j}"
        others = ""
        if measure not in spec.discrete:
            others = (f" ({spec.name} does not accept labels here; estimators that do: "
                      + ", ".join(s.name for s in registry.all_specs() if measure in s.discrete)
                      + ")")
        out.append((f"{name}: {label} holds only {len(levels)} distinct integer values "
                    f"({shown}) and is treated as a continuous variable (ties jittered)"
                    f"{others}",
                    Hint("labels", var, column)))
    return out


def dse(z: Any, *, sigma: float | str = "auto", t: float = 1.0, max_n: int = 10000,
        approx: bool = False, unit: str = "nats", seed: int = 0, device: str = "auto",
        progress: ProgressFn | None = None, check: str | None = None,
        **params: Any) -> Estimate:
    """Diffusion spectral entropy of points z (n_samples, n_dims).

    DSE = -sum_i p_i log2 p_i, p_i = |lambda_i|^t / sum_j |lambda_j|^t, over the
    eigenvalues of K = D^-1/2 G D^-1/2 with the Gaussian kernel
    G_ij = exp(-|z_i - z_j|^2 / (2 sigma^2)) (Liao, Liu et al. 2023). Its native
    unit is bits (``unit="bits"`` gives it unchanged; ``details["dse_bits"]``
    always holds it); 0 <= DSE <= log2 n.

    ``sigma="auto"`` is the median pairwise distance. Above ``max_n`` points a
    seeded subsample is decomposed, or with ``approx=True`` all points are used
    through stochastic Lanczos quadrature (``probes``, ``lanczos_steps``), whose
    stderr is the jackknife over probe vectors. ``check``: the reliability
    level, as in :func:`entropy`.

    Which sigma answers which question: the scale-free ``"auto"`` (median
    distance) measures the *shape* of the point cloud - how many directions and
    clusters it spreads over - and is unchanged when z is rescaled; a fixed
    sigma (the paper's sigma = 10 for network layers) also responds to the
    activations' scale, so "DSE rises during training" with a fixed sigma
    mostly tracks growing activations (a digits MLP: auto sigma fell 3.26 ->
    2.31 bits while the paper's fixed sigma rose).
    """
    return entropy(z, estimator="dse", unit=unit, seed=seed, device=device, progress=progress,
                   check=check, params={"sigma": str(sigma), "t": t, "max_n": max_n, "approx": approx,
                           **params})


def dsmi(z: Any, y: Any, *, sigma: float | str = "auto", t: float = 1.0, repeats: int = 5,
         n_clusters: int = 10, discrete_y: bool | None = None, max_n: int = 10000,
         unit: str = "nats", seed: int = 0, device: str = "auto",
         progress: ProgressFn | None = None, **kwargs: Any) -> Estimate:
    """Diffusion spectral mutual information between points z and y.

    DSMI = sum_c (n_c / n) (H*_c - H_c), H_c the DSE of class c and H*_c the mean
    DSE of ``repeats`` seeded random subsets of size n_c (Liao, Liu et al. 2023).
    y: class labels (``discrete_y=True`` or strings), a continuous scalar (cut
    into ``n_clusters`` equal-width bins) or a vector (k-means into
    ``n_clusters`` clusters). One sigma (``"auto"``: median pairwise distance
    of all of z) serves every class. Native unit bits; can be negative.
    """
    return mutual_information(
        z, y, estimator="dsmi", discrete_y=discrete_y, unit=unit, seed=seed, device=device,
        progress=progress, params={"sigma": str(sigma), "t": t, "repeats": repeats,
                                   "n_clusters": n_clusters, "max_n": max_n}, **kwargs)


def dse_spectrum(z: Any, *, sigma: float | str = "auto", t: float = 1.0, max_n: int = 10000,
                 unit: str = "nats", seed: int = 0, device: str = "auto",
                 progress: ProgressFn | None = None, names: dict[str, str] | None = None,
                 dropna: bool = False, check: str | None = None, drop_constant: bool = False,
                 **params: Any) -> tuple[Estimate, np.ndarray]:
    """:func:`dse` and the eigenvalues it used (ascending, float64), for plotting.

    The eigenvalues are those of K on the points actually decomposed (the seeded
    subsample when n > max_n). The approximate mode has no spectrum, so
    ``approx=True`` is refused.
    """
    if params.get("approx") not in (None, False, "false"):
        raise ParameterError("dse_spectrum needs the exact mode: approx must be false")
    kept: dict[str, Any] = {}
    est = _estimate("entropy", "dse", {"x": z}, {}, unit, seed, device,
                    {**params, "sigma": str(sigma), "t": t, "max_n": max_n, "approx": False},
                    progress, names, artifacts=kept, dropna=dropna, check=check,
                    drop_constant=drop_constant)
    return est, kept["eigenvalues"]


#: Most permutations of a p-value: its resolution is then 1e-5, and each
#: permutation costs one more estimate.
MAX_PERMUTATIONS = 100_000


def check_permutations(permutations: int, option: str = "permutations") -> None:
    """Refuse more than :data:`MAX_PERMUTATIONS` before any work (each is one estimate)."""
    if permutations > MAX_PERMUTATIONS:
        raise ParameterError(
            f"{option} {permutations:,}: at most {MAX_PERMUTATIONS:,} (a p-value resolution "
            f"of {1 / (MAX_PERMUTATIONS + 1):.0e}); each permutation is one more estimate")


def _permutation_null(impl, arrays, discrete, classes, names, effective, device, progress,
                      seed, permutations, masks=None) -> np.ndarray:
    """MI of x with N seeded row-shuffles of y (the null of independence)."""
    x, y = arrays["x"], arrays["y"]
    perm_rng = np.random.default_rng([seed, 1])
    null = np.empty(permutations)
    for b in range(permutations):
        ctx = Context(rng=np.random.default_rng([seed, 2, b]), device=device, progress=None,
                      discrete=discrete, names=names, classes=classes, write_files=False,
                      discrete_columns=masks or {})
        null[b] = impl(ctx, x, y[perm_rng.permutation(len(y))], **effective).value
        if progress is not None:
            progress("permutations", b + 1, permutations)
    return null
