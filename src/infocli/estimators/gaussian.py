"""Gaussian plug-in estimators from log-determinants of sample covariances.

Exact for Gaussian data, a fast baseline otherwise (for non-Gaussian data the
entropy is an upper bound and the MI captures only linear dependence).

* H(X)      = 1/2 log det(2 pi e S_x)
* I(X;Y)    = 1/2 [log det S_x + log det S_y - log det S_xy]
* I(X;Y|Z)  = 1/2 [log det S_xz + log det S_yz - log det S_z - log det S_xyz]
* H(X|Z)    = H(X,Z) - H(Z)
* Discrete labels: per-class plug-ins, H(X|Y) = sum_y p(y) H(X|Y=y) and
  I(X;Y) = H(X) - H(X|Y).

With ``bias_correction`` (default) each log det S of an m-dimensional block
estimated from n rows is corrected by its exact expectation under normality,
E[log det S] = log det Sigma + m log(2/(n-1)) + sum_{i=1..m} psi((n-i)/2).
The standard error is a delete-a-group jackknife over ``jackknife_groups``
seeded random groups of rows.
"""

from __future__ import annotations

import functools

import numpy as np
from .._special import digamma

from ..errors import Hint, InputError
from ._common import Context, Raw, class_groups, finite

LOG_2PIE = float(np.log(2 * np.pi * np.e))


def _singular_eig(eig: np.ndarray) -> bool:
    # ascending eigenvalues of a covariance: the smallest at most 1e-12 of the largest
    return bool(eig[0] <= eig[-1] * 1e-12)


def singular(cov: np.ndarray) -> bool:
    """Whether a sample covariance (or correlation) matrix is singular for the plug-in."""
    return _singular_eig(np.linalg.eigvalsh(np.atleast_2d(cov)))


def _logdet(a: np.ndarray, cols: np.ndarray, *, bias_correction: bool, what: str) -> float:
    n = a.shape[0]
    m = len(cols)
    if m == 0:
        return 0.0
    if n <= m:
        raise InputError(f"{what} has {n} rows; a covariance of {m} columns needs more than {m} "
                         "(for wide variables -e auto estimates on principal components "
                         "chosen from the data)")
    return _logdet_of_cov(np.atleast_2d(np.cov(a[:, cols], rowvar=False)), n,
                          bias_correction=bias_correction, what=what)


def _logdet_of_cov(s: np.ndarray, n: int, *, bias_correction: bool, what: str) -> float:
    """log det of a sample covariance ``s`` of ``n`` rows (Bayesian-unbiased with
    ``bias_correction``), refusing a singular one."""
    m = s.shape[0]
    eig = np.linalg.eigvalsh(s)
    if _singular_eig(eig):
        raise InputError(
            f"{what}: the sample covariance of its {m} column(s) is singular (linearly dependent "
            "or constant columns); the Gaussian entropy would be -inf"
        )
    logdet = np.log(eig).sum()
    if bias_correction:
        logdet -= _bias_term(int(n), int(m))
    return float(logdet)


@functools.lru_cache(maxsize=256)
def _bias_term(n: int, m: int) -> float:
    """m log(2/(n-1)) + sum_i psi((n-i)/2): the bias of the plug-in log det of m
    columns and n rows (cached: a jackknife asks for the same few (n, m) many times)."""
    i = np.arange(1, m + 1)
    return float(m * np.log(2.0 / (n - 1)) + digamma((n - i) / 2).sum())


def _standardise(a: np.ndarray) -> tuple[np.ndarray, float]:
    # log det is equivariant; working in standardised units keeps it well-conditioned.
    sd = a.std(axis=0)
    sd[sd == 0] = 1.0
    return (a - a.mean(axis=0)) / sd, float(np.log(sd).sum())


def _span(ctx: Context, a: np.ndarray, var: str) -> np.ndarray:
    """Standardised ``a`` in the coordinates of its non-null principal directions.

    A direction of zero sample variance (a constant column, a column that is a linear
    combination of others: dead units, duplicated features, image borders) is constant
    under the Gaussian model and carries no information, so dropping it leaves every MI
    unchanged; keeping it makes the covariance singular. The warnings say how many were
    dropped. The rotation is orthogonal, so log-determinants are those of the kept span.
    """
    xs, _ = _standardise(a)
    cov = np.atleast_2d(np.cov(xs, rowvar=False))
    eig, vec = np.linalg.eigh(cov)
    keep = eig > max(eig[-1], 0.0) * 1e-12
    if keep.all():
        return xs
    if not keep.any():
        raise InputError(f"{ctx.name(var)}: every column is constant; it carries no information",
                         hint=Hint("drop_constant", var))
    ctx.warn(f"{ctx.name(var)}: {int((~keep).sum())} of {len(keep)} directions have zero "
             "variance (constant or linearly dependent columns) and carry no information; "
             "the Gaussian model was fitted on the other "
             f"{int(keep.sum())}")
    ctx.details.setdefault("null_directions", {})[var] = int((~keep).sum())
    return xs @ vec[:, keep]


def _jackknife(stat, n: int, groups: int, rng: np.random.Generator) -> float | None:
    """Delete-a-group jackknife standard error of stat(rows)."""
    g = min(groups, n)
    if g < 2:
        return None
    assign = rng.permutation(n) % g
    vals = np.array([stat(np.flatnonzero(assign != j)) for j in range(g)])
    return float(np.sqrt((g - 1) / g * ((vals - vals.mean()) ** 2).sum()))


def _run(ctx: Context, stat, n: int, jackknife_groups: int) -> Raw:
    value = stat(np.arange(n))
    try:
        se = _jackknife(stat, n, jackknife_groups, ctx.rng)
    except InputError:
        se = None  # a group too small for its covariance: no error bar rather than a wrong one
        ctx.warn("jackknife groups too small for the covariance; stderr not available")
    return finite(Raw(value, se, f"delete-a-group jackknife ({min(jackknife_groups, n)} groups)"))


def _run_cov(ctx: Context, a: np.ndarray, stat_cov, jackknife_groups: int) -> Raw:
    """:func:`_run` for a statistic of the sample covariance alone, ``stat_cov(cov, n)``:
    the delete-a-group covariances come from the group sums and cross-products
    (O(n d^2) once, not one pass over the rows per group); the groups are drawn as
    :func:`_jackknife` draws them, so values and stderrs equal its to rounding."""
    n = len(a)
    value = stat_cov(np.atleast_2d(np.cov(a, rowvar=False)), n)
    g = min(jackknife_groups, n)
    se = None
    if g >= 2:
        assign = ctx.rng.permutation(n) % g
        total, cross = a.sum(axis=0), a.T @ a
        try:
            vals = []
            for j in range(g):
                part = a[assign == j]
                m = n - len(part)
                if m <= a.shape[1]:
                    raise InputError(f"a jackknife group of {m} rows")
                s = total - part.sum(axis=0)
                cov = (cross - part.T @ part - np.outer(s, s) / m) / (m - 1)
                vals.append(stat_cov(cov, m))
            vals = np.array(vals)
            se = float(np.sqrt((g - 1) / g * ((vals - vals.mean()) ** 2).sum()))
        except InputError:
            ctx.warn("jackknife groups too small for the covariance; stderr not available")
    return finite(Raw(value, se, f"delete-a-group jackknife ({g} groups)"))


def _entropy_of(a, rows, cols, log_scale, *, bias_correction, what):
    m = len(cols)
    return 0.5 * (m * LOG_2PIE + _logdet(a[rows], cols, bias_correction=bias_correction,
                                         what=what)) + log_scale


def gaussian_entropy(ctx: Context, x, *, bias_correction, jackknife_groups) -> Raw:
    xs, log_scale = _standardise(x)
    cols = np.arange(xs.shape[1])
    what = ctx.name("x")
    return _run(ctx, lambda r: _entropy_of(xs, r, cols, log_scale,
                                           bias_correction=bias_correction, what=what),
                len(xs), jackknife_groups)


def _per_class_entropy(ctx, xs, log_scale, labels, rows, var, *, bias_correction):
    cols = np.arange(xs.shape[1])
    lab = labels[rows]
    total = 0.0
    for members in class_groups(lab):
        what = ctx.class_name(var, int(lab[members[0]]))
        total += members.size / len(rows) * _entropy_of(
            xs, rows[members], cols, log_scale, bias_correction=bias_correction, what=what)
    return total


def gaussian_conditional_entropy(ctx: Context, x, z, *, bias_correction, jackknife_groups) -> Raw:
    xs, log_scale = _standardise(x)
    if ctx.discrete.get("z"):
        def stat(r):
            return _per_class_entropy(ctx, xs, log_scale, z, r, "z",
                                      bias_correction=bias_correction)
    else:
        zs, _ = _standardise(z)
        a = np.hstack([xs, zs])
        dx = xs.shape[1]
        xz_cols = np.arange(a.shape[1])
        z_cols = np.arange(dx, a.shape[1])
        what = f"{ctx.name('x')} with {ctx.name('z')}"

        def stat(r):
            ld_xz = _logdet(a[r], xz_cols, bias_correction=bias_correction, what=what)
            ld_z = _logdet(a[r], z_cols, bias_correction=bias_correction, what=ctx.name("z"))
            return 0.5 * (dx * LOG_2PIE + ld_xz - ld_z) + log_scale
    return _run(ctx, stat, len(xs), jackknife_groups)


def gaussian_mi(ctx: Context, x, y, *, bias_correction, jackknife_groups) -> Raw:
    xs, _ = _standardise(x)
    if ctx.discrete.get("y"):
        cols = np.arange(xs.shape[1])

        def stat(r):
            h = _entropy_of(xs, r, cols, 0.0, bias_correction=bias_correction,
                            what=ctx.name("x"))
            return h - _per_class_entropy(ctx, xs, 0.0, y, r, "y",
                                          bias_correction=bias_correction)
        return _run(ctx, stat, len(xs), jackknife_groups)
    xs, ys = _span(ctx, x, "x"), _span(ctx, y, "y")
    a = np.hstack([xs, ys])
    dx = xs.shape[1]
    blocks = [np.arange(dx), np.arange(dx, a.shape[1]), np.arange(a.shape[1])]
    whats = [ctx.name("x"), ctx.name("y"), f"{ctx.name('x')} with {ctx.name('y')}"]

    for c, w in zip(blocks, whats):
        if len(a) <= len(c):
            _logdet(a, c, bias_correction=bias_correction, what=w)  # its error message

    def stat(cov, n_rows):
        lx, ly, lxy = (_logdet_of_cov(cov[np.ix_(c, c)], n_rows,
                                      bias_correction=bias_correction, what=w)
                       for c, w in zip(blocks, whats))
        return 0.5 * (lx + ly - lxy)
    return _run_cov(ctx, a, stat, jackknife_groups)


def gaussian_cmi(ctx: Context, x, y, z, *, bias_correction, jackknife_groups) -> Raw:
    if ctx.discrete.get("y"):
        raise InputError("the gaussian estimator needs continuous y for conditional MI")
    xs, _ = _standardise(x)
    ys, _ = _standardise(y)
    if ctx.discrete.get("z"):
        a = np.hstack([xs, ys])
        dx = xs.shape[1]
        blocks = [np.arange(dx), np.arange(dx, a.shape[1]), np.arange(a.shape[1])]

        def stat(r):
            lab = z[r]
            total = 0.0
            for members in class_groups(lab):
                rows = r[members]
                what = ctx.class_name("z", int(lab[members[0]]))
                lx, ly, lxy = (_logdet(a[rows], c, bias_correction=bias_correction, what=what)
                               for c in blocks)
                total += members.size / len(r) * 0.5 * (lx + ly - lxy)
            return total
        return _run(ctx, stat, len(a), jackknife_groups)
    xs, ys, zs = _span(ctx, x, "x"), _span(ctx, y, "y"), _span(ctx, z, "z")
    a = np.hstack([xs, ys, zs])
    dx, dy = xs.shape[1], ys.shape[1]
    d = a.shape[1]
    z_cols = np.arange(dx + dy, d)
    blocks = [np.r_[np.arange(dx), z_cols], np.r_[np.arange(dx, dx + dy), z_cols], z_cols,
              np.arange(d)]
    what = f"{ctx.name('x')}, {ctx.name('y')} and {ctx.name('z')}"

    def stat(r):
        lxz, lyz, lz, lxyz = (_logdet(a[r], c, bias_correction=bias_correction, what=what)
                              for c in blocks)
        return 0.5 * (lxz + lyz - lz - lxyz)
    return _run(ctx, stat, len(a), jackknife_groups)
