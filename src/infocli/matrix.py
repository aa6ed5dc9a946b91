"""Pairwise mutual information (or normalised MI, or entropies) between the columns
- or named groups of columns - of one table, on the batch engine.

Each pair is computed exactly as ``infocli mi DATA --x-cols A --y-cols B`` would
(the same library call on the same columns, the same seed), so a matrix entry
equals the single command's estimate. Pairs are batched into tasks of many pairs
each, and the table is shipped to every worker once (``scatter``), not per pair.

Normalised MI
-------------
``I / sqrt(H(X) H(Y))`` and its relatives are sound for discrete variables, but
differential entropies can be zero or negative and change with the units of the
data, so such ratios are undefined or meaningless for continuous columns. The
normalisation used here is Linfoot's *information coefficient of correlation*
(Linfoot 1957; Joe 1989)::

    nmi = sqrt(1 - exp(-2 I)),   I in nats

It depends on I alone (hence it is invariant under the same monotone maps of
each column as I), lies in [0, 1), is 0 exactly for independent variables, and
for a bivariate Gaussian equals |rho|. A negative MI estimate (estimator noise
around independence) maps to 0; the raw estimate stays in the ``mi`` field. Its
stderr is the delta-method ``se(I) exp(-2I) / nmi`` (None at I <= 0).
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass, field
from typing import Any, Callable

import numpy as np

from .errors import Hint, InfocliError, InputError, ParameterError

__all__ = ["MatrixResult", "mi_matrix", "parse_groups", "information_coefficient",
           "plot_matrix"]

MEASURES = ("mi", "nmi", "entropy")


def information_coefficient(mi_nats: float) -> float:
    """Linfoot's information coefficient of correlation sqrt(1 - exp(-2 I)), I in nats
    (negative estimates give 0)."""
    return math.sqrt(-math.expm1(-2.0 * max(float(mi_nats), 0.0)))


@dataclass(frozen=True)
class MatrixResult:
    """Tidy result of :func:`mi_matrix`: one row per pair (or per variable for
    ``measure="entropy"``).

    Each row holds ``x``, ``y`` (None for entropy), ``value``, ``stderr``,
    ``p_value``, ``n_samples``, ``interval`` and ``reliable`` (when the
    estimator's record has them, else None), ``warnings``, for ``nmi`` also
    the raw ``mi`` (nats), and ``error`` (a message) when that pair failed.
    """

    measure: str
    estimator: str
    unit: str  # "nats"/"bits"; "" for nmi (dimensionless)
    variables: tuple[str, ...]
    rows: tuple[dict[str, Any], ...]
    params: dict[str, Any] = field(default_factory=dict)
    seconds: float = 0.0
    #: where the pairs ran (``Engine.describe()``: in-process and why, or the cluster)
    executor: str = ""
    #: notes about the whole table (constant columns left out)
    notes: tuple[str, ...] = ()

    def to_frame(self):
        """The rows as a pandas DataFrame (interval split into interval_low/_high)."""
        import pandas as pd

        out = []
        for r in self.rows:
            row = {k: v for k, v in r.items() if k not in ("interval", "warnings")}
            iv = r.get("interval")
            row["interval_low"], row["interval_high"] = (
                (iv[0], iv[1]) if isinstance(iv, (list, tuple)) and len(iv) == 2 else (None, None))
            row["warnings"] = "; ".join(r.get("warnings") or ())
            out.append(row)
        frame = pd.DataFrame(out)
        if "error" not in frame:
            frame["error"] = None
        return frame

    def square(self):
        """The symmetric variables x variables matrix of values (DataFrame). The
        diagonal is 1 for nmi and NaN for mi (I(X;X) is infinite for continuous X);
        for entropy a one-column frame."""
        import pandas as pd

        names = list(self.variables)
        if self.measure == "entropy":
            return pd.DataFrame({"value": [r["value"] for r in self.rows]},
                                index=[r["x"] for r in self.rows])
        m = pd.DataFrame(np.nan, index=names, columns=names)
        for r in self.rows:
            m.loc[r["x"], r["y"]] = m.loc[r["y"], r["x"]] = r["value"]
        if self.measure == "nmi":
            for n in names:
                m.loc[n, n] = 1.0
        return m

    def to_dict(self) -> dict[str, Any]:
        return {"measure": self.measure, "estimator": self.estimator, "unit": self.unit,
                "variables": list(self.variables), "params": self.params,
                "seconds": self.seconds, "executor": self.executor,
                **({"notes": list(self.notes)} if self.notes else {}),
                "rows": [dict(r) for r in self.rows]}


# --------------------------------------------------------------------------- variables

def _resolve(part: str, columns: list[str], where: str) -> list[int]:
    from .io import Table, _resolve_part

    return _resolve_part(Table("the table", np.empty((0, len(columns))), columns), part, where)


def parse_groups(spec: str | dict[str, Any], columns: list[str]) -> dict[str, list[int]]:
    """``'a=x1,x2;b=y1:y5'`` (or a mapping name -> column list) as name -> column
    indices. Parts are column names, indices, index ranges ``0:3`` or inclusive
    name ranges ``y1:y5``."""
    if isinstance(spec, dict):
        items = [(str(k), v if isinstance(v, str) else ",".join(map(str, v)))
                 for k, v in spec.items()]
    else:
        items = []
        for chunk in (c.strip() for c in str(spec).split(";")):
            if not chunk:
                continue
            name, sep, cols = chunk.partition("=")
            if not sep or not name.strip() or not cols.strip():
                raise InputError(f"--groups {chunk!r}: expected NAME=COLUMNS (e.g. a=x1,x2;b=y1:y5)")
            items.append((name.strip(), cols))
    groups: dict[str, list[int]] = {}
    for name, cols in items:
        if name in groups:
            raise InputError(f"--groups: group {name!r} given twice")
        idx: list[int] = []
        for part in (p.strip() for p in cols.split(",")):
            if part:
                idx.extend(_resolve(part, columns, f"--groups {name}="))
        if not idx:
            raise InputError(f"--groups {name}: selects no columns")
        if len(set(idx)) < len(idx):
            twice = next(j for j in idx if idx.count(j) > 1)
            raise InputError(f"--groups {name}: column {columns[twice]!r} is listed twice in "
                             "the group")
        for other, other_idx in groups.items():
            shared = [columns[j] for j in idx if j in other_idx]
            if shared:
                # MI between groups sharing a column is at least that column's entropy
                # (infinite for continuous data): any finite number would be wrong
                raise InputError(
                    f"--groups: groups {other!r} and {name!r} share column "
                    f"{shared[0]!r}{f' (and {len(shared) - 1} more)' if len(shared) > 1 else ''}; "
                    "expected disjoint groups (the MI of overlapping groups is not finite)")
        groups[name] = idx
    if len(groups) < 1:
        raise InputError("--groups: no groups given")
    return groups


def _matrix_text(exc: InfocliError) -> str:
    """An entry's error in terms a matrix user can act on: the matrix has no
    ``dropna`` option (of the API or the command line), so missing values are
    dropped from the table first."""
    hint = getattr(exc, "hint", None)
    if hint is not None and hint.kind == "dropna":
        return f"{exc.message}; drop or impute the rows with NaN/inf in the table first"
    return str(exc)


def _as_frame(frame: Any):
    import pandas as pd

    if isinstance(frame, pd.DataFrame):
        return frame.set_axis([str(c) for c in frame.columns], axis=1)
    arr = np.asarray(frame)
    if arr.ndim != 2:
        raise InputError(f"mi_matrix expects a 2-D table (rows x columns), got shape {arr.shape}")
    return pd.DataFrame(arr, columns=[str(j) for j in range(arr.shape[1])])


# --------------------------------------------------------------------------- worker side

def _one(data, variables, labels, i, j, opts) -> dict[str, Any]:
    from . import api
    from .result import Estimate

    name_i, cols_i = variables[i]
    row: dict[str, Any] = {"x": name_i, "y": None if j is None else variables[j][0]}
    try:
        if j is None:
            est: Estimate = api.entropy(data.iloc[:, cols_i], estimator=opts["estimator"],
                                        unit=opts["unit"], seed=opts["seed"],
                                        device=opts["device"], params=dict(opts["params"]),
                                        names={"x": name_i}, check=opts["check"],
                                        transform=opts["transform"])
        else:
            name_j, cols_j = variables[j]
            if labels[i] and not labels[j]:  # labels are only accepted as Y
                i, j, name_i, name_j, cols_i, cols_j = j, i, name_j, name_i, cols_j, cols_i
            unit = "nats" if opts["measure"] == "nmi" else opts["unit"]
            est = api.mutual_information(
                data.iloc[:, cols_i], data.iloc[:, cols_j], estimator=opts["estimator"],
                permutations=opts["permutations"], unit=unit, seed=opts["seed"],
                device=opts["device"], params=dict(opts["params"]),
                names={"x": name_i, "y": name_j}, check=opts["check"],
                transform=opts["transform"])
    except InfocliError as exc:
        row.update(value=None, stderr=None, p_value=None, n_samples=len(data), interval=None,
                   reliable=None, warnings=[], error=" ".join(_matrix_text(exc).split()))
        return row
    interval = getattr(est, "interval", None)
    row.update(value=est.value, stderr=est.stderr, p_value=est.p_value, n_samples=est.n_samples,
               interval=list(interval) if interval is not None else None,
               reliable=getattr(est, "reliable", None), warnings=list(est.warnings))
    if opts["measure"] == "nmi":
        _normalise(row)
    return row


def _normalise(row: dict[str, Any]) -> None:
    mi, se = row["value"], row["stderr"]
    nmi = information_coefficient(mi)
    row["mi"] = mi
    row["value"] = nmi
    row["stderr"] = (se * math.exp(-2.0 * mi) / nmi) if se is not None and mi > 0 else None
    if row["interval"] is not None:
        # the map is increasing from [0, inf) onto [0, 1): bounds map to bounds, and an
        # open side of the MI interval is the end of that range
        lo, hi = row["interval"]
        row["interval"] = [0.0 if lo is None else information_coefficient(lo),
                           1.0 if hi is None else information_coefficient(hi)]


def _task(data, variables, labels, pairs, opts) -> list[dict[str, Any]]:
    """Worker task: many pairs on the worker's copy of the table."""
    from .batch import pin_threads

    if opts.get("pin"):
        pin_threads()
    return [_one(data, variables, labels, i, j, opts) for i, j in pairs]


# --------------------------------------------------------------------------- public

def mi_matrix(
    frame: Any,
    *,
    columns: list[str] | None = None,
    groups: str | dict[str, Any] | None = None,
    estimator: str | None = None,
    measure: str = "mi",
    permutations: int = 0,
    unit: str = "nats",
    seed: int = 0,
    device: str = "auto",
    params: dict[str, Any] | None = None,
    check: str | None = "off",
    transform: str = "none",
    client: Any = None,
    workers: int | None = None,
    scheduler: str | None = None,
    memory_limit: str | None = "auto",
    tls: dict[str, str | None] | None = None,
    max_pairs: int = 100_000,
    pairs_per_task: int | None = None,
    progress: Callable[[str, float, float], None] | None = None,
    drop_constant: bool = False,
) -> MatrixResult:
    """Pairwise MI between all columns (or column groups) of ``frame``.

    Parameters
    ----------
    frame : DataFrame or array, shape (n_samples, n_columns)
    columns : list of str, optional
        Only these columns (default: all). Ignored with ``groups``.
    groups : str or dict, optional
        Named multi-column variables, ``'a=x1,x2;b=y1:y5'`` or
        ``{"a": ["x1", "x2"], ...}``; the matrix is then over the groups.
    estimator : str
        Registry name; default ``ksg`` for mi/nmi and ``kl`` for entropy.
    measure : {"mi", "nmi", "entropy"}
        ``nmi`` is the information coefficient sqrt(1 - exp(-2 I)) (module
        docstring); ``entropy`` gives H of each variable (one row each).
    permutations : int
        Permutation p-values (mi/nmi), as ``infocli mi --permutations``.
    unit, seed, device, params
        As for :func:`infocli.mutual_information`; every pair uses ``seed``.
    check : {"off", "fast", "full"}
        Reliability check of every entry (:mod:`infocli.diagnostics`). ``off``
        by default: a matrix screens many pairs, and the check multiplies the
        cost of each (about 4x for ``fast`` with kNN); with ``fast`` or
        ``full`` every row carries its ``interval`` and ``reliable`` verdict.
        ``permutations`` gives p-values either way.
    transform : {"none", "rank", "copula"}
        Per-column transform before each estimate (:mod:`infocli.transforms`).
    client, workers, scheduler, memory_limit, tls
        The engine (:func:`infocli.batch.open_engine`): a ``distributed.Client``,
        a local cluster of ``workers`` processes, a scheduler address, or
        in-process with ``workers=0``. Default: in-process for small work (the
        small-work rule, :data:`infocli.batch.SMALL_WORK_CELLS`), else a
        LocalCluster over all cores. ``executor`` in the result says which ran.
    max_pairs : int
        Refuse a matrix of more pairs than this before any work (a 10,000-column
        table makes 50 million pairs); default 100,000.
    pairs_per_task : int, optional
        Pairs per Dask task (default: about 8 tasks per worker thread).
    progress : callable(description, completed, total), optional
    drop_constant : bool
        Leave out the constant columns of the selection (a group keeps its other
        columns; a group of constants goes), named in ``notes``. By default they are
        refused before any work, in one error naming every one of them.

    Returns
    -------
    MatrixResult
        One row per unordered pair (x before y in table order).
    """
    from . import batch, registry
    from ._validation import is_non_numeric

    start = time.perf_counter()
    if measure not in MEASURES:
        raise ParameterError(f"measure {measure!r}: expected one of {', '.join(MEASURES)}")
    if unit not in ("nats", "bits"):
        raise ParameterError(f"unit {unit!r}: expected nats or bits")
    if isinstance(permutations, bool) or not isinstance(permutations, (int, np.integer)) \
            or permutations < 0:
        raise ParameterError(f"permutations {permutations!r}: expected a non-negative integer")
    from .api import check_permutations

    check_permutations(int(permutations))
    if permutations and measure == "entropy":
        raise ParameterError("permutations apply to mi and nmi, not entropy")
    estimator = estimator or ("kl" if measure == "entropy" else "ksg")
    spec = registry.get(estimator)
    api_measure = "entropy" if measure == "entropy" else "mutual_information"
    if api_measure not in spec.implementations:
        raise ParameterError(f"estimator {estimator!r} does not estimate "
                             f"{api_measure.replace('_', ' ')}; estimators that do: "
                             + ", ".join(registry.names_for(api_measure)))
    spec.resolve_params(params)  # validate once, before any work
    from . import diagnostics, transforms

    check = diagnostics.resolve_level(check)
    transforms.check(transform)
    data = _as_frame(frame)
    names = list(data.columns)
    if groups is not None:
        variables = list(parse_groups(groups, names).items())
    else:
        if columns is not None:
            missing = [c for c in columns if str(c) not in names]
            if missing:
                raise InputError(f"column {missing[0]!r} not in the table; columns: "
                                 + ", ".join(names))
            names = [str(c) for c in columns]
        variables = [(c, [list(data.columns).index(c)]) for c in names]
    notes: list[str] = []
    if drop_constant:
        variables = _without_constants(data, variables, True, notes)
    used = sorted({j for _, cols in variables for j in cols})
    remap = {j: k for k, j in enumerate(used)}
    data = data.iloc[:, used]
    variables = [(n, [remap[j] for j in cols]) for n, cols in variables]
    min_vars = 1 if measure == "entropy" else 2
    if len(variables) < min_vars:
        raise InputError(f"mi_matrix needs at least {min_vars} variables, got {len(variables)}")
    labels = [bool(is_non_numeric(data.iloc[:, cols])) for _, cols in variables]
    n_pairs = (len(variables) if measure == "entropy"
               else len(variables) * (len(variables) - 1) // 2)
    if n_pairs > max_pairs:
        raise InputError(f"{len(variables):,} variables make {n_pairs:,} "
                         f"{'entries' if measure == 'entropy' else 'pairs'}, more than "
                         f"max_pairs={max_pairs:,} (--max-pairs); select fewer columns "
                         "(--cols, --groups) or raise the limit")
    if not drop_constant:  # after the size check, which needs no pass over the data
        _without_constants(data, variables, False, notes)
    pairs: list[tuple[int, int | None]] = (
        [(i, None) for i in range(len(variables))] if measure == "entropy"
        else [(i, j) for i in range(len(variables)) for j in range(i + 1, len(variables))])
    opts = {"estimator": estimator, "measure": measure, "permutations": int(permutations),
            "unit": unit, "seed": int(seed), "device": device, "params": dict(params or {}),
            "check": check, "transform": transform}
    rows: dict[tuple, dict] = {}
    work = sum(batch.work_cells(len(data), len(variables[i][1]) + (0 if j is None else
                                                                   len(variables[j][1])),
                                estimator=estimator, check=check,
                                permutations=int(permutations)) for i, j in pairs)
    with batch.open_engine(workers, scheduler, memory_limit=memory_limit,
                           client=client, tls=tls, work=work) as engine:
        executor = engine.describe()
        if engine.client is None:
            for b, (i, j) in enumerate(pairs):
                rows[(i, j)] = _one(data, variables, labels, i, j, opts)
                if progress is not None:
                    progress("pairs", b + 1, len(pairs))
        else:
            _distributed(engine, data, variables, labels, pairs, opts, pairs_per_task,
                         rows, progress)
    ordered = tuple(rows[p] for p in pairs)
    return MatrixResult(measure=measure, estimator=estimator,
                        unit="" if measure == "nmi" else unit,
                        variables=tuple(n for n, _ in variables), rows=ordered,
                        params={**spec.resolve_params(params), "seed": int(seed),
                                "permutations": int(permutations), "check": check,
                                "transform": transform},
                        seconds=time.perf_counter() - start, executor=executor,
                        notes=tuple(notes))


def _without_constants(data, variables, drop: bool, notes: list[str]):
    """``variables`` without their constant columns (``drop``), or one error naming
    every constant column of the selection."""
    from ._validation import constant_columns, describe_constants

    used = sorted({j for _, cols in variables for j in cols})
    found = constant_columns(data.iloc[:, used])
    if not found:
        return variables
    found = [(used[j], label, v) for j, label, v in found]
    shown = describe_constants(found)
    if not drop:
        raise InputError(f"{len(found)} constant column(s), which carry no information: {shown}",
                         hint=Hint("drop_constant"))
    gone = {j for j, _, _ in found}
    kept = [(name, [j for j in cols if j not in gone]) for name, cols in variables]
    emptied = [name for name, cols in kept if not cols]
    notes.append(f"left out {len(found)} constant column(s): {shown}"
                 + (f" (and so the group(s) {', '.join(map(repr, emptied))})"
                    if emptied and any(len(c) > 1 for _, c in variables) else ""))
    return [(name, cols) for name, cols in kept if cols]


def _distributed(engine, data, variables, labels, pairs, opts, pairs_per_task, rows,
                 progress) -> None:
    import distributed

    c = engine.client
    nthreads = max(1, sum(c.nthreads().values()))
    size = pairs_per_task or max(1, math.ceil(len(pairs) / (8 * nthreads)))
    chunks = [pairs[s:s + size] for s in range(0, len(pairs), size)]
    remote = c.scatter(data, broadcast=True, hash=False)
    futures = {c.submit(_task, remote, variables, labels, chunk, {**opts, "pin": True},
                        pure=False): chunk for chunk in chunks}
    done = 0
    try:
        for fut in distributed.as_completed(list(futures)):
            chunk = futures.pop(fut)
            try:
                result = fut.result()
            except distributed.KilledWorker as exc:
                from .batch import killed_message

                message = killed_message(c, exc, engine, "pair")
                result = [{"x": variables[i][0], "y": None if j is None else variables[j][0],
                           "value": None, "stderr": None, "p_value": None,
                           "n_samples": len(data), "interval": None, "reliable": None,
                           "warnings": [], "error": message} for i, j in chunk]
            for (i, j), row in zip(chunk, result):
                rows[(i, j)] = row
            done += len(chunk)
            if progress is not None:
                progress("pairs", done, len(pairs))
    finally:
        if futures:
            c.cancel(list(futures))


# --------------------------------------------------------------------------- figure

def plot_matrix(result: MatrixResult, path: str) -> None:
    """A labelled heat map of the matrix (bar chart for entropies) as PNG."""
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        raise ParameterError("--plot needs matplotlib: pip install 'infocli[plot]'") from None
    from .io import write_atomic

    label = {"mi": f"I(X;Y) [{result.unit}]", "nmi": "information coefficient sqrt(1-e^(-2I))",
             "entropy": f"H(X) [{result.unit}]"}[result.measure]
    names = list(result.variables)
    n = len(names)
    if result.measure == "entropy":
        values = [r["value"] if r["value"] is not None else np.nan for r in result.rows]
        fig, ax = plt.subplots(figsize=(max(4.0, 0.35 * n + 2), 3.5))
        ax.bar(range(n), values, color="#4472c4")
        ax.set_xticks(range(n), names, rotation=90 if n > 8 else 0)
        ax.set_ylabel(label)
    else:
        m = np.array(result.square().to_numpy(dtype=float))
        np.fill_diagonal(m, np.nan)  # I(X;X) is infinite (nmi 1): grey, not the scale's top
        side = max(4.5, 0.32 * n + 2.5)
        fig, ax = plt.subplots(figsize=(side + 1.2, side))
        cmap = plt.get_cmap("viridis").with_extremes(bad="#dddddd")
        finite = m[np.isfinite(m)]
        vmax = 1.0 if result.measure == "nmi" else max(float(finite.max()) if finite.size else 1.0,
                                                        1e-12)
        im = ax.imshow(np.ma.masked_invalid(m), cmap=cmap, vmin=0.0, vmax=vmax,
                       interpolation="nearest")
        fig.colorbar(im, ax=ax, fraction=0.046, pad=0.04, label=label)
        long = n > 8 or max(len(s) for s in names) > 3
        ax.set_xticks(range(n), names, rotation=90 if long else 0)
        ax.set_yticks(range(n), names)
        if n <= 16:
            for a in range(n):
                for b in range(n):
                    if a != b and np.isfinite(m[a, b]):
                        ax.text(b, a, f"{m[a, b]:.2f}", ha="center", va="center", fontsize=8,
                                color="white" if m[a, b] < 0.6 * vmax else "black")
    title = {"mi": "mutual information", "nmi": "information coefficient",
             "entropy": "entropy"}[result.measure]
    ax.set_title(f"{title} - {result.estimator}, "
                 f"n = {result.rows[0]['n_samples'] if result.rows else 0}")
    fig.tight_layout()
    try:
        write_atomic(path, "--plot", lambda tmp: fig.savefig(tmp, dpi=120, format="png"))
    finally:
        plt.close(fig)
