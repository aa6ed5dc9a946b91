"""Every feature against a target: :func:`feature_mi` (scikit-learn's order) and
:func:`rank_features` (a table sorted by MI with intervals, verdicts and
Benjamini-Hochberg adjusted permutation p-values).

Each feature (a column, or a named group of columns) is estimated by
:func:`infocli.mutual_information` against one prepared copy of the target.

Permutation p-values share their null where they can. Under ``auto`` the MI of a
continuous column depends only on its ranks (auto works on normal scores), so
every tie-free continuous column has the *same* null distribution - the MI of a
fixed set of normal scores with row-shuffles of the target - and one set of
``permutations`` estimates serves them all (exact, not an approximation: a
tie-free column's normal scores are a permutation of the same n numbers).
Columns with ties, discrete columns, groups and other estimators get their own
``permutations`` shuffles. p = (1 + #{null >= value}) / (permutations + 1).

Features run in parallel on threads (the neighbour searches and NumPy release
the GIL; no process start-up or copies of the data), in a fixed order of seeds,
so the result does not depend on the number of threads.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field, replace
from typing import Any

import numpy as np

from .errors import InputError, ParameterError

__all__ = ["feature_mi", "rank_features", "benjamini_hochberg", "RankResult"]

#: one row's keys, in the order of the table and of the CSV output
COLUMNS = ("rank", "feature", "columns", "mi", "lo", "hi", "stderr", "p_value", "p_adjusted",
           "verdict", "estimator")


def benjamini_hochberg(p_values: Any) -> np.ndarray:
    """Benjamini-Hochberg adjusted p-values (step-up, monotone, capped at 1), in the
    order given: p_adj(i) = min over j with rank(j) >= rank(i) of p(j) m / rank(j)."""
    p = np.asarray(p_values, dtype=np.float64).ravel()
    m = p.size
    if m == 0:
        return p
    order = np.argsort(p, kind="stable")
    scaled = p[order] * m / np.arange(1, m + 1)
    adjusted = np.minimum.accumulate(scaled[::-1])[::-1]
    out = np.empty(m)
    out[order] = np.minimum(adjusted, 1.0)
    return out


@dataclass(frozen=True)
class RankResult:
    """Features ranked by their MI with the target (values in ``unit``).

    ``rows``: one dict per feature, sorted by decreasing MI, with the keys of
    :data:`COLUMNS` (``lo``/``hi`` the 95 % interval; ``verdict`` "informative"
    when the BH-adjusted p-value is at most ``alpha``, else "not detected",
    with "(unreliable)" when the check found a problem) and ``warnings``.
    ``estimates``: the full :class:`~infocli.result.Estimate` of each feature,
    in the order of the input.
    """

    target: str
    estimator: str
    unit: str
    n_samples: int
    permutations: int
    alpha: float
    rows: tuple[dict[str, Any], ...]
    seconds: float
    null: dict[str, Any] = field(default_factory=dict)
    estimates: tuple = ()
    #: notes about the whole table (constant columns left out, a target taken as labels)
    notes: tuple[str, ...] = ()

    def to_dict(self) -> dict[str, Any]:
        return {"target": self.target, "estimator": self.estimator, "unit": self.unit,
                "n_samples": self.n_samples, "permutations": self.permutations,
                "alpha": self.alpha, "seconds": self.seconds, "null": self.null,
                "notes": list(self.notes),
                "rows": [dict(r) for r in self.rows]}

    def to_frame(self):
        import pandas as pd

        return pd.DataFrame([{k: r[k] for k in COLUMNS} for r in self.rows], columns=COLUMNS)


def _features(X, groups, names) -> tuple[list[str], list[list[int]], list[str] | None]:
    """(feature names, column indices of each, column names of X)."""
    from ._validation import _shape_2d, _to_numpy

    arr, found = _to_numpy(X)
    arr = _shape_2d(arr, "X")
    cols = list(names) if names is not None else found
    if cols is not None and len(cols) != arr.shape[1]:
        raise InputError(f"names: {len(cols)} names for X with {arr.shape[1]} columns")
    labels = cols if cols is not None else [str(j) for j in range(arr.shape[1])]
    if groups is None:
        return labels, [[j] for j in range(arr.shape[1])], cols
    from .matrix import parse_groups

    parsed = parse_groups(groups, labels)
    return list(parsed), list(parsed.values()), cols


def _constant_columns(X, cols) -> list[str]:
    """Names (or indices as text) of the columns of X holding one value in every row."""
    from ._validation import _to_numpy

    arr, _ = _to_numpy(X)
    arr = arr.reshape(len(arr), -1)
    out = []
    for j in range(arr.shape[1]):
        col = arr[:, j]
        try:
            same = bool((col == col[0]).all())
        except (TypeError, ValueError):
            same = False
        if same:
            out.append(cols[j] if cols is not None else str(j))
    return out


def _column(X, idx: list[int]):
    if hasattr(X, "iloc"):
        return X.iloc[:, idx]
    a = np.asarray(X)
    return a[:, idx] if a.ndim == 2 else a.reshape(-1, 1)[:, idx]


def _feature_mask(discrete_features, idx: list[int], n_columns: int, labels: list[str]):
    """The ``discrete_x`` of one feature from scikit-learn's ``discrete_features``."""
    if discrete_features is None or (isinstance(discrete_features, str)
                                     and discrete_features == "auto"):
        return None
    if isinstance(discrete_features, (bool, np.bool_)):
        return bool(discrete_features)
    items = list(discrete_features) if not isinstance(discrete_features, str) \
        else [discrete_features]
    if items and all(isinstance(v, (bool, np.bool_)) for v in items):
        if len(items) != n_columns:
            raise ParameterError(f"discrete_features: a mask of {len(items)} entries for "
                                 f"{n_columns} columns")
        full = np.array(items, dtype=bool)
    else:
        full = np.zeros(n_columns, dtype=bool)
        for v in items:
            if isinstance(v, str):
                if v not in labels:
                    raise ParameterError(f"discrete_features: no column {v!r}")
                full[labels.index(v)] = True
            else:
                full[int(v)] = True
    sub = full[idx]
    return bool(sub[0]) if sub.size == 1 else [bool(b) for b in sub]


def _prepare_target(y, discrete_target, target_name):
    """One validated copy of the target shared by every feature: (array, is_labels,
    classes, note). Label codes for a discrete target, else float (n, 1)."""
    from ._validation import all_non_numeric, as_continuous, as_labels, label_like_columns

    note = None
    if discrete_target is None:
        if all_non_numeric(y):
            discrete_target = True
        else:
            arr = as_continuous(y, target_name, var="y")
            levels = label_like_columns(arr) if arr.shape[1] == 1 else []
            if not levels:
                return _nonconstant(arr, target_name), False, None, None
            discrete_target, y = True, arr
            note = (f"{target_name}: holds only {len(levels[0][1])} distinct integer values "
                    "and is treated as discrete (class labels); pass discrete_target=False "
                    "(--continuous-y) to treat it as continuous")
    if discrete_target:
        codes, classes = as_labels(y, target_name)
        if len(classes) < 2:
            raise InputError(f"{target_name}: the target has a single class ({classes[0]!r}); "
                             "MI with a constant is 0 - nothing to rank")
        return codes, True, classes, note
    arr = as_continuous(y, target_name, var="y")
    return _nonconstant(arr, target_name), False, None, None


def _nonconstant(arr: np.ndarray, name: str) -> np.ndarray:
    if arr.shape[1] == 1 and np.ptp(arr[:, 0]) == 0:
        raise InputError(f"{name}: the target is constant ({arr[0, 0]:g} in every row); MI "
                         "with a constant is 0 - nothing to rank")
    return arr


def rank_features(
    X: Any,
    y: Any,
    *,
    groups: str | dict | None = None,
    discrete_features: Any = None,
    discrete_target: bool | None = None,
    estimator: str = "auto",
    permutations: int = 99,
    alpha: float = 0.05,
    check: str = "off",
    unit: str = "nats",
    seed: int = 0,
    n_jobs: int | None = None,
    names: list[str] | None = None,
    target_name: str = "y",
    params: dict[str, Any] | None = None,
    drop_constant: bool = False,
) -> RankResult:
    """Every feature of ``X`` against the target ``y``, ranked by mutual information.

    Parameters
    ----------
    X : array-like, shape (n_samples, n_features)
        Features (numpy, pandas; a DataFrame's column names name the rows).
    y : array-like, shape (n_samples,)
        Target: class labels or a continuous variable.
    groups : str or dict, optional
        Named groups of columns as features: ``"a=x1,x2;b=p20:p29"`` (name ranges
        inclusive, as ``matrix --groups``) or a mapping name -> columns.
    discrete_features : None, bool, mask, or indices / names
        Which columns are discrete (scikit-learn's ``discrete_features``); None
        (or ``"auto"``) detects them (text, booleans, integer columns with few
        levels; each named in a warning).
    discrete_target : bool, optional
        Whether the target is class labels; None detects it (text; an integer
        column with at most max(20, sqrt(n)) levels, with a warning).
    estimator : str
        Registry name; ``auto`` (default) also makes the shared permutation null
        possible (see the module doc).
    permutations : int
        Shuffles of the target for each p-value (0: no p-values).
    alpha : float
        False-discovery rate of the verdict (BH-adjusted p-value <= alpha).
    check : {"off", "fast", "full"}
        Reliability check of each feature's estimate. ``off`` (default, a screen
        of many features): the interval is the noise interval value +- 1.96
        stderr, clipped to [0, H(discrete side)]; ``fast`` adds the bias checks
        (about 5x the time).
    n_jobs : int, optional
        Threads (default: the machine's thread budget).
    drop_constant : bool
        Leave out constant columns (named in ``notes``); by default they are refused
        with one error that names every one of them.

    Returns
    -------
    RankResult
    """
    from . import api
    from .estimators._neighbors import thread_budget

    start = time.perf_counter()
    if not 0 < alpha < 1:
        raise ParameterError(f"alpha {alpha!r}: expected a number in (0, 1)")
    if isinstance(permutations, bool) or int(permutations) != permutations or permutations < 0:
        raise ParameterError(f"permutations {permutations!r}: expected a non-negative integer")
    api.check_permutations(int(permutations))
    labels, index, cols = _features(X, groups, names)
    notes: list[str] = []
    const = _constant_columns(X, cols)
    if const:
        shown = ", ".join(repr(c) for c in const[:20]) + (", ..." if len(const) > 20 else "")
        if not drop_constant:
            raise InputError(f"X: {len(const)} constant column(s), which carry no information: "
                             f"{shown}; drop them, or pass drop_constant=True "
                             "(--drop-constant)")
        keep = [j for j, idx in enumerate(index)
                if not all((cols[i] if cols is not None else str(i)) in const for i in idx)]
        labels, index = [labels[j] for j in keep], [index[j] for j in keep]
        notes.append(f"{len(const)} constant column(s) left out: {shown}")
        if not labels:
            raise InputError("X: every feature column is constant; nothing to rank")
    n_columns = len(cols) if cols is not None else int(np.asarray(X).reshape(len(X), -1).shape[1])
    target, is_labels, classes, note = _prepare_target(y, discrete_target, target_name)
    n = len(target)
    if len(X) != n:
        raise InputError(f"X has {len(X)} rows but {target_name} has {n}; expected the same rows")
    params = dict(params or {})
    common = dict(estimator=estimator, discrete_y=is_labels, unit="nats", check=check,
                  params=params)
    masks = [_feature_mask(discrete_features, idx, n_columns, labels) for idx in index]
    # the target for the records: labels by their class names
    y_in = np.asarray(classes, dtype=object)[target] if is_labels else target

    data = [_dequantised(X, index[j], masks[j], labels[j], estimator, seed, j)
            for j in range(len(labels))]

    def one(j: int):
        x = data[j][0] if data[j] is not None else _column(X, index[j])
        return api.mutual_information(
            x, y_in, seed=seed, names={"x": labels[j], "y": target_name},
            **({"discrete_x": masks[j]} if masks[j] is not None else {}), **common)

    workers = max(1, min(len(labels), n_jobs or thread_budget()))
    estimates = _map(one, range(len(labels)), workers)
    if any(d is not None and d[1] for d in data):
        estimates = [e if d is None or not d[1] else replace(e, warnings=(d[1], *e.warnings))
                     for e, d in zip(estimates, data)]
    columns_of = [d[0] if d is not None else _column(X, index[j]) for j, d in enumerate(data)]
    p_values, null_info = _p_values(estimates, columns_of, index, masks, y_in, target, common,
                                    seed, int(permutations), workers)
    adjusted = benjamini_hochberg(p_values) if permutations else np.full(len(labels), np.nan)
    rows = []
    for j, est in enumerate(estimates):
        lo, hi = _interval(est)
        p = float(p_values[j]) if permutations else None
        q = float(adjusted[j]) if permutations else None
        verdict = "no p-value" if q is None else ("informative" if q <= alpha else "not detected")
        if est.reliable is False:
            verdict += " (unreliable)"
        rows.append({"feature": labels[j],
                     "columns": [cols[i] if cols is not None else i for i in index[j]],
                     "mi": est.value, "lo": lo, "hi": hi, "stderr": est.stderr,
                     "p_value": p, "p_adjusted": q, "verdict": verdict,
                     "estimator": str(est.details.get("auto", {}).get("chosen", est.estimator)),
                     "warnings": list(est.warnings)})
    order = sorted(range(len(rows)), key=lambda i: -rows[i]["mi"])
    rows = [{"rank": r + 1, **rows[i]} for r, i in enumerate(order)]
    if note:
        notes.append(note)
    result = RankResult(target=target_name, estimator=estimator, unit="nats", n_samples=n,
                        permutations=int(permutations), alpha=float(alpha), rows=tuple(rows),
                        seconds=time.perf_counter() - start, null=null_info,
                        estimates=tuple(estimates), notes=tuple(notes))
    return result if unit == "nats" else _to_unit(result, unit)


def _to_unit(result: RankResult, unit: str) -> RankResult:
    from dataclasses import replace

    from .result import LN2, UNITS

    if unit not in UNITS:
        raise ParameterError(f"unit {unit!r}: expected one of {', '.join(UNITS)}")
    rows = []
    for r in result.rows:
        r = dict(r)
        for key in ("mi", "lo", "hi", "stderr"):
            if r[key] is not None:
                r[key] = r[key] / LN2
        rows.append(r)
    return replace(result, unit=unit, rows=tuple(rows),
                   estimates=tuple(e.to(unit) for e in result.estimates))


def _interval(est) -> tuple[float | None, float | None]:
    """The record's interval, or (check off) the noise interval clipped at 0 and at
    H of a discrete side (the estimate's own bound)."""
    if est.interval is not None:
        return est.interval
    if est.stderr is None:
        return None, None
    lo = max(0.0, est.value - 1.959963984540054 * est.stderr)
    hi = est.value + 1.959963984540054 * est.stderr
    disc = est.details.get("discrete")
    if disc and "interval" in disc:
        lo, hi = max(0.0, disc["interval"][0]), disc["interval"][1]
    return lo, hi


def _map(fn, items, workers: int) -> list:
    items = list(items)
    if workers < 2 or len(items) < 2:
        return [fn(i) for i in items]
    from concurrent.futures import ThreadPoolExecutor

    from .estimators._neighbors import blas_threads, one_thread_each

    def run(i):
        with one_thread_each():
            return fn(i)

    with blas_threads(1), ThreadPoolExecutor(workers, thread_name_prefix="infocli-rank") as pool:
        return list(pool.map(run, items))


def _dequantised(X, idx, mask, label, estimator, seed, j):
    """(column, warning) for a single numeric column with tied values that auto will
    treat as continuous: dequantised once here with seeded uniform noise of the
    width of its smallest gap (what ties="jitter" does inside the estimators), so
    that its estimate and its permutation null both see a tie-free column and it
    joins the shared null. None when the column is left as it is."""
    from ._validation import _to_numpy, label_like_columns

    if estimator != "auto" or len(idx) != 1 or mask not in (None, False):
        return None
    col, _ = _to_numpy(_column(X, idx))
    if col.dtype.kind not in "iuf":
        return None
    col = np.asarray(col, dtype=np.float64).reshape(-1)
    if not np.isfinite(col).all():
        return None  # the estimator reports it
    levels = np.unique(col)
    if levels.size == col.size or levels.size < 2:
        return None
    if mask is None and (levels.size == 2 or label_like_columns(col.reshape(-1, 1))):
        return None  # auto takes it as discrete
    width = float(np.diff(levels).min())
    rng = np.random.default_rng([seed, 26, 1, j])
    out = col + rng.uniform(-width / 2, width / 2, col.size)
    return out.reshape(-1, 1), (f"{label}: {col.size - levels.size} repeated values; "
                                f"dequantised once with seeded uniform jitter of width "
                                f"{width:.3g} (its smallest gap, in the column's units), so "
                                "that it shares the permutation null")


def _shareable(est, idx: list[int], mask, x) -> bool:
    """A single continuous column without ties, estimated by auto: its null is shared."""
    if est.estimator != "auto" or len(idx) != 1 or mask not in (None, False):
        return False
    if est.details.get("classes", {}).get("x") or est.details.get("auto", {}).get(
            "chosen", "").startswith(("discrete", "mixed")):
        return False
    col = np.asarray(x, dtype=np.float64).ravel()
    return np.unique(col).size == col.size


def _p_values(estimates, columns_of, index, masks, y_in, target, common, seed, permutations,
              workers):
    if not permutations:
        return np.full(len(estimates), np.nan), {}
    from . import api

    n = len(target)
    shared = [j for j, est in enumerate(estimates)
              if _shareable(est, index[j], masks[j], columns_of[j])]
    own = [j for j in range(len(estimates)) if j not in shared]
    info: dict[str, Any] = {"shared": len(shared), "own": len(own)}
    off = {**common, "check": "off"}
    shuffles = [np.random.default_rng([seed, 26, b]).permutation(n) for b in range(permutations)]
    p = np.full(len(estimates), np.nan)
    if shared:
        from scipy.special import ndtri

        ref = ndtri(np.arange(1, n + 1) / (n + 1.0))  # the normal scores of any tie-free column
        null = np.array(_map(lambda b: api.mutual_information(
            ref, y_in[shuffles[b]], seed=seed, **off).value, range(permutations), workers))
        info.update(null_mean=float(null.mean()), null_sd=float(null.std(ddof=1))
                    if permutations > 1 else None)
        for j in shared:
            p[j] = (1 + np.count_nonzero(null >= estimates[j].value)) / (permutations + 1)

    def own_p(j):
        x = columns_of[j]
        disc = estimates[j].details.get("discrete")
        if disc and estimates[j].details.get("classes", {}).get("y"):
            # both sides discrete: the plug-in on label codes directly (the same value as
            # the estimator's, bound included), without a record per shuffle
            from ._validation import as_labels
            from .estimators.discrete import counts_of, entropy_from_counts, mi_value

            codes, _ = as_labels(x, "x")
            ycodes = np.asarray(target, dtype=np.int64)
            bound = min(entropy_from_counts(counts_of(c), "miller_madow")
                        for c in (codes, ycodes))
            null = np.array([min(mi_value(codes, ycodes[shuffles[b]], disc["method"]), bound)
                             for b in range(permutations)])
        else:
            kw = {"discrete_x": masks[j]} if masks[j] is not None else {}
            null = np.array([api.mutual_information(x, y_in[shuffles[b]], seed=seed, **kw,
                                                    **off).value
                             for b in range(permutations)])
        return (1 + np.count_nonzero(null >= estimates[j].value)) / (permutations + 1)

    for j, v in zip(own, _map(own_p, own, workers)):
        p[j] = v
    return p, info


def feature_mi(
    X: Any,
    y: Any,
    *,
    discrete_features: Any = None,
    discrete_target: bool | None = None,
    n_neighbors: int | None = None,
    estimator: str = "auto",
    seed: int = 0,
    n_jobs: int | None = None,
) -> np.ndarray:
    """MI (nats) of each column of ``X`` with ``y``, in the order of the columns: the
    array scikit-learn's ``mutual_info_regression`` / ``mutual_info_classif`` return.

    Mapping of scikit-learn's parameters: ``discrete_features`` is the same ('auto'
    or None detects; bool; mask; indices - names too); ``mutual_info_classif`` is
    ``discrete_target=True`` (None detects); ``n_neighbors`` is the kNN ``k`` of the
    estimator (auto's default k = 1; scikit-learn's 3); ``random_state`` is
    ``seed``; ``n_jobs`` threads; ``copy`` is not needed (inputs are never
    modified). Unlike scikit-learn, negative estimates are returned as they are
    (not clipped to 0), and no noise is added to the data (ties are jittered with
    seeded noise of each column's own gap). Each value is
    ``rank_features(...).estimates[j].value`` (no permutations, no check).
    """
    result = rank_features(X, y, discrete_features=discrete_features,
                           discrete_target=discrete_target, estimator=estimator,
                           permutations=0, check="off", seed=seed, n_jobs=n_jobs,
                           params={"k": n_neighbors} if n_neighbors is not None else None)
    return np.array([e.value for e in result.estimates])
