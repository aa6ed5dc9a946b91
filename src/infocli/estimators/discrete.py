"""Entropy and mutual information of discrete (integer or categorical) variables,
and Gao et al.'s mixed kNN estimator for variables with discrete and continuous
columns.

All values are in nats. Discrete variables arrive as integer label codes
0..C-1 of shape (n,) (a multi-column discrete variable is coded by its joint
labels, :func:`infocli._validation.as_labels`).

Entropy of counts n_1..n_K (n = sum n_i, p_i = n_i / n, K observed classes):

* ``plugin``: H = -sum p_i log p_i, biased down by about (K - 1) / (2n).
* ``miller_madow``: H + (K - 1) / (2n) (Miller 1955): removes the 1/n term of the
  bias; accurate when every class is seen many times.
* ``chao_shen``: coverage-adjusted Horvitz-Thompson, C = 1 - f1/n (f1 singletons),
  p~_i = C p_i, H = -sum p~_i log p~_i / (1 - (1 - p~_i)^n) (Chao & Shen 2003,
  Environ. Ecol. Stat. 10, 429, eq. 2.8): for undersampled alphabets (many
  classes seen once).
* ``nsb``: Nemenman, Shafee & Bialek (NIPS 2002, "Entropy and inference,
  revisited"): the Bayesian posterior mean of H under a mixture of symmetric
  Dirichlet priors Dir(beta) over an alphabet of K classes, mixed with weight
  d xi / d beta, xi(beta) = E[H | beta] = psi(K beta + 1) - psi(beta + 1) (their
  eq. 11), so that the prior on H is nearly flat. Given beta, the posterior is
  Dir(n_i + beta) and its first two moments of H are closed-form (Wolpert & Wolf
  1995; NSB eq. 9); the beta-posterior
  P(beta | n) ~ (d xi / d beta) Gamma(K beta) / Gamma(n + K beta)
  prod_i Gamma(n_i + beta) / Gamma(beta) is integrated numerically on a grid in
  log beta (:func:`nsb_entropy`). Value: the posterior mean; ``stderr``: the
  posterior sd; interval: mean +- 1.96 sd clipped to [0, log K]. K is the
  ``alphabet_size`` parameter, or the number of classes seen (then NSB cannot
  credit unseen classes, and says so when the sample coverage is low).

Interval (other methods) (``details["discrete"]``): the delta-method (analytic) variance
Var(H) = (sum p_i log^2 p_i - H^2) / n (Basharin 1959), widened by the gap
between the two bias corrections (Miller-Madow and Chao-Shen): where the
alphabet is well sampled they agree to O(1/n^2), and where it is undersampled
their gap is the size of the bias neither removes. No bootstrap: the analytic
variance costs nothing and the permutation p-value covers the null.

MI of two discrete variables: I = H(X) + H(Y) - H(X,Y) with each entropy by the
same method (``nsb``: K_x and K_y the classes seen of each side, K_xy = K_x K_y, the
alphabet of the pairs; its interval is the delta-method/G-test one below, since the
three posteriors are not independent); for Miller-Madow, I = I_plugin - (K_x + K_y - K_xy - 1) / (2n).
Its delta-method variance is Var(log p(x,y) / (p(x) p(y))) / n, which vanishes
at independence, where 2n I_plugin is chi-square with (K_x - 1)(K_y - 1)
degrees of freedom (the G-test): the noise stderr adds that law's sd,
sqrt(df / 2) / n, and the interval's lower end reaches 0 unless the G-test
rejects independence at 5 %.

Mixed variables (``mixed_ksg``): Gao, Kannan, Oh & Viswanath (NeurIPS 2017),
Algorithm 1: rho_i the k-th neighbour distance in the joint max-norm space; where
rho_i = 0 (a discrete point repeated) k~_i is the number of rows at distance 0;
I = <psi(k~_i) + psi(n) - psi(n_x,i) - psi(n_y,i)>, counts including the row
itself (strictly within rho_i, or at distance 0). Continuous columns are
standardised and jittered as for ksg; discrete columns are kept as integer codes
spread :data:`DISCRETE_GAP` apart, so a neighbourhood never mixes two of their
values unless a value has fewer than k + 1 rows.
"""

from __future__ import annotations

import numpy as np
from .._special import digamma  # scipy.special's values without its import (~0.3 s)

from ..errors import InputError, ParameterError
from ._common import Context, Raw, finite

METHODS = ("plugin", "miller_madow", "chao_shen", "nsb")
Z95 = 1.959963984540054
#: distance between two codes of a discrete column in mixed_ksg (continuous columns
#: have unit variance): larger than any within-class neighbour distance
DISCRETE_GAP = 1e6


# --------------------------------------------------------------------------- entropy


def counts_of(labels: np.ndarray) -> np.ndarray:
    """Counts of the observed classes of integer label codes (zeros dropped)."""
    c = np.bincount(np.asarray(labels, dtype=np.int64).ravel())
    return c[c > 0]


def entropy_from_counts(counts: np.ndarray, method: str = "miller_madow",
                        alphabet_size: int | None = None) -> float:
    """Entropy in nats of the distribution behind ``counts`` (observed classes);
    ``alphabet_size`` (K, for ``nsb`` only) defaults to the classes seen."""
    counts = np.asarray(counts, dtype=np.float64)
    counts = counts[counts > 0]
    n = counts.sum()
    p = counts / n
    plugin = float(-(p * np.log(p)).sum())
    if method == "plugin":
        return plugin
    if method == "miller_madow":
        return plugin + (counts.size - 1) / (2 * n)
    if method == "chao_shen":
        f1 = np.count_nonzero(counts == 1)
        if f1 == n:  # every class seen once: coverage 0 would divide by zero
            f1 = n - 1
        pa = (1 - f1 / n) * p
        return float(-(pa * np.log(pa) / (1 - (1 - pa) ** n)).sum())
    if method == "nsb":
        return nsb_entropy(counts, alphabet_size)["value"]
    raise ValueError(f"unknown method {method!r}; expected one of {METHODS}")


# --------------------------------------------------------------------------- NSB

#: grid of the beta integral: points on the coarse search, and on the fine grid over the
#: region where the log posterior is within NSB_SPAN of its peak
NSB_COARSE, NSB_FINE, NSB_SPAN = 400, 2000, 40.0


def _nsb_grid_terms(t: np.ndarray, values: np.ndarray, mult: np.ndarray, K: float,
                    n: float, moments: bool):
    """log posterior weight of beta = exp(t) (with the Jacobian d beta / dt), and with
    ``moments`` the posterior E[H | beta] and E[H^2 | beta] of Dir(n_i + beta).

    ``values``/``mult``: the distinct counts (0 included for unseen classes) and how
    many classes have each, so the sums over K classes cost O(distinct counts)."""
    from scipy.special import gammaln, polygamma, psi

    beta = np.exp(t)[:, None]
    A = n + K * beta  # (g, 1)
    a = values[None, :] + beta  # (g, c)
    # Dirichlet-multinomial evidence (the multinomial coefficient is constant in beta)
    log_like = (gammaln(K * beta) - gammaln(A)).ravel() + (
        mult * (gammaln(a) - gammaln(beta))).sum(axis=1)
    # NSB's prior d xi / d beta, xi = psi(K beta + 1) - psi(beta + 1) (NSB eq. 11)
    prior = (K * polygamma(1, K * beta + 1) - polygamma(1, beta + 1)).ravel()
    log_w = log_like + np.log(np.maximum(prior, 1e-300)) + t
    if not moments:
        return log_w, None, None
    A1 = A.ravel()
    psi_a1 = psi(a + 1)
    # E[H | n, beta] = psi(A + 1) - sum_i a_i / A psi(a_i + 1)
    mean = psi(A1 + 1) - (mult * a * psi_a1).sum(axis=1) / A1
    # E[H^2 | n, beta] (Wolpert & Wolf 1995): over pairs i != j and over i = j
    psi_A2, tri_A2 = psi(A1 + 2)[:, None], polygamma(1, A1 + 2)[:, None]
    u = a * (psi_a1 - psi_A2)
    su, su2 = (mult * u).sum(axis=1), (mult * u * u).sum(axis=1)
    sa2 = (mult * a * a).sum(axis=1)
    cross = su * su - su2 - (A1 * A1 - sa2) * tri_A2.ravel()
    diag = (mult * a * (a + 1) * ((psi(a + 2) - psi_A2) ** 2 + polygamma(1, a + 2)
                                  - tri_A2)).sum(axis=1)
    second = (cross + diag) / (A1 * (A1 + 1))
    return log_w, mean, second


def nsb_entropy(counts: np.ndarray, alphabet_size: int | None = None) -> dict:
    """NSB posterior mean and sd of H (nats) from the counts of the observed classes.

    ``alphabet_size`` K >= the classes seen (None or 0: the classes seen). The
    integral over beta runs on a grid in t = log beta: a coarse pass finds the
    posterior's peak, a fine pass (NSB_FINE points) covers where the log posterior
    is within NSB_SPAN of it; trapezoidal weights."""
    counts = np.asarray(counts, dtype=np.float64)
    counts = counts[counts > 0]
    seen = counts.size
    K = float(seen if not alphabet_size else alphabet_size)
    if K < seen:
        raise InputError(f"alphabet_size={alphabet_size}: smaller than the {seen} classes seen")
    n = float(counts.sum())
    if K == 1:
        return {"value": 0.0, "sd": 0.0, "alphabet_size": 1, "beta_map": None}
    values, mult = np.unique(counts, return_counts=True)
    if K > seen:
        values, mult = np.append(values, 0.0), np.append(mult, K - seen)
    mult = mult.astype(np.float64)
    # beta from ~1e-6/K (xi ~ 1e-6 nats) to ~1e6 (xi within 1e-6 of log K) covers every
    # posterior peak
    lo, hi = np.log(1e-6 / K), np.log(1e6)
    coarse = np.linspace(lo, hi, NSB_COARSE)
    log_w, _, _ = _nsb_grid_terms(coarse, values, mult, K, n, moments=False)
    keep = np.flatnonzero(log_w > log_w.max() - NSB_SPAN)
    step = coarse[1] - coarse[0]
    t = np.linspace(coarse[keep[0]] - step, coarse[keep[-1]] + step, NSB_FINE)
    log_w, mean, second = _nsb_grid_terms(t, values, mult, K, n, moments=True)
    w = np.exp(log_w - log_w.max())
    w[0] *= 0.5
    w[-1] *= 0.5
    w /= w.sum()
    value = float(w @ mean)
    sd = float(np.sqrt(max(float(w @ second) - value * value, 0.0)))
    return {"value": value, "sd": sd, "alphabet_size": int(K),
            "beta_map": float(np.exp(t[np.argmax(log_w)]))}


def _delta_variance(counts: np.ndarray) -> float:
    """Var(H_plugin) to first order: (sum p log^2 p - H^2) / n."""
    counts = np.asarray(counts, dtype=np.float64)
    n = counts.sum()
    p = counts / n
    lp = np.log(p)
    return float(max((p * lp * lp).sum() - (p * lp).sum() ** 2, 0.0) / n)


def entropy_interval(counts: np.ndarray, method: str, alphabet_size: int | None = None) -> dict:
    """Value, noise stderr and 95 % interval of the entropy of ``counts``."""
    if method == "nsb":
        post = nsb_entropy(counts, alphabet_size)
        K = post["alphabet_size"]
        value, sd = post["value"], post["sd"]
        return {"value": value, "stderr": sd,
                "interval": [max(value - Z95 * sd, 0.0), min(value + Z95 * sd, float(np.log(K)))],
                "classes_seen": int(np.count_nonzero(counts)),
                "singletons": int(np.count_nonzero(np.asarray(counts) == 1)),
                "alphabet_size": K, "beta_map": post["beta_map"]}
    if alphabet_size:
        raise ParameterError(f"alphabet_size={alphabet_size}: only method=nsb uses it")
    value = entropy_from_counts(counts, method)
    se = float(np.sqrt(_delta_variance(counts)))
    mm, cs = entropy_from_counts(counts, "miller_madow"), entropy_from_counts(counts, "chao_shen")
    # plug-in is biased down: its interval reaches up to the corrections
    lo = min(value, mm, cs) - Z95 * se
    hi = max(value, mm, cs) + Z95 * se
    return {"value": value, "stderr": se, "interval": [max(lo, 0.0), hi],
            "classes_seen": int(np.count_nonzero(counts)), "singletons":
                int(np.count_nonzero(np.asarray(counts) == 1)),
            "corrections": {"miller_madow": mm, "chao_shen": cs}}


def discrete_entropy(ctx: Context, x, *, method, alphabet_size=0) -> Raw:
    """H(X) of label codes ``x`` (shape (n,)) by ``method`` (see the module doc)."""
    if not ctx.discrete.get("x"):
        raise InputError(f"{ctx.name('x')}: the discrete estimator needs discrete data; pass "
                         "discrete_x=True (integer or text labels), or use auto or kl for "
                         "continuous data")
    counts = counts_of(x)
    info = entropy_interval(counts, method, alphabet_size)
    ctx.details["discrete"] = {"method": method, **info}
    if method == "nsb":
        coverage = 1 - np.count_nonzero(counts == 1) / counts.sum()
        if not alphabet_size and coverage < 0.99:
            ctx.warn(f"{ctx.name('x')}: NSB with the alphabet size taken as the {counts.size} "
                     f"classes seen, but the sample coverage is {coverage:.2f} (classes seen "
                     "once): unseen classes are likely and the entropy reads low; pass "
                     "alphabet_size=K")
        return finite(Raw(info["value"], info["stderr"], "NSB posterior sd"))
    return finite(Raw(info["value"], info["stderr"],
                      "delta method: sqrt((sum p log^2 p - H^2) / n)"))


# --------------------------------------------------------------------------- MI


def _joint_codes(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    return np.asarray(a, dtype=np.int64) * (int(np.max(b)) + 1) + np.asarray(b, dtype=np.int64)


def mi_value(x: np.ndarray, y: np.ndarray, method: str = "miller_madow") -> float:
    """I(X;Y) of label codes by ``method``, nothing else (permutation nulls)."""
    x = np.asarray(x, dtype=np.int64).ravel()
    y = np.asarray(y, dtype=np.int64).ravel()
    cx, cy = np.bincount(x), np.bincount(y)
    kx, ky = (np.count_nonzero(cx), np.count_nonzero(cy)) if method == "nsb" else (None, None)
    return (entropy_from_counts(cx, method, kx) + entropy_from_counts(cy, method, ky)
            - entropy_from_counts(np.bincount(_joint_codes(x, y)), method,
                                  kx * ky if method == "nsb" else None))


def mi_interval(x: np.ndarray, y: np.ndarray, method: str) -> dict:
    """Value, noise stderr and 95 % interval of I(X;Y) for label codes x, y."""
    x = np.asarray(x, dtype=np.int64).ravel()
    y = np.asarray(y, dtype=np.int64).ravel()
    n = x.size
    cx, cy = np.bincount(x), np.bincount(y)
    xy = _joint_codes(x, y)
    cxy = np.bincount(xy)
    kx, ky = np.count_nonzero(cx), np.count_nonzero(cy)
    # NSB: each side's alphabet is its classes seen, the pairs' alphabet their product
    hx, hy, hxy = (entropy_from_counts(c, method, K if method == "nsb" else None)
                   for c, K in ((cx, kx), (cy, ky), (cxy, kx * ky)))
    value = hx + hy - hxy
    # first-order influence terms of the plug-in MI, row by row
    phi = np.log(cxy[xy] * n / (cx[x] * cy[y]))
    var_delta = float(phi.var() / n)
    df = max((kx - 1) * (ky - 1), 1)
    se = float(np.sqrt(var_delta + df / (2.0 * n * n)))
    # at independence 2n I_plugin ~ chi2(df): the G-test's 95 % critical value, less the
    # Miller-Madow shift df / 2n, is how far the estimate may lie above 0 by chance
    from scipy.special import chdtri

    null_half = (float(chdtri(df, 0.05)) - df) / (2.0 * n)
    half = max(Z95 * se, null_half)
    plug = entropy_from_counts(cx, "plugin") + entropy_from_counts(cy, "plugin") \
        - entropy_from_counts(cxy, "plugin")
    g = 2 * n * plug
    return {"value": value, "stderr": se, "interval": [value - half, value + half],
            "classes": {"x": int(kx), "y": int(ky), "joint": int(np.count_nonzero(cxy))},
            "plugin": plug, "g_statistic": g, "df": int(df),
            "entropies": {"x": hx, "y": hy, "joint": hxy}}


def discrete_mi(ctx: Context, x, y, *, method, alphabet_size=0) -> Raw:
    """I(X;Y) of two discrete variables (label codes) by ``method``."""
    if alphabet_size:
        raise ParameterError(f"alphabet_size={alphabet_size}: for entropy only; MI by nsb "
                             "takes each side's classes seen and their product for the pairs")
    for var in ("x", "y"):
        if not ctx.discrete.get(var):
            raise InputError(
                f"{ctx.name(var)}: the discrete estimator needs both variables discrete; pass "
                f"discrete_{var}=True, or use auto (it picks Ross's or Gao's mixed estimator "
                "when one side is continuous)")
    info = mi_interval(x, y, method)
    bounded = bound_by_entropy(ctx, info["value"], {"x": x, "y": y})
    info["interval"][1] = min(info["interval"][1], bounded["bound"])
    ctx.details["discrete"] = {"method": method, **info}
    return finite(Raw(bounded["value"], info["stderr"],
                      "delta method Var(log p(x,y)/(p(x)p(y)))/n plus the chi-square null "
                      "variance df/(2n^2)"))


def bound_by_entropy(ctx: Context, value: float, labels: dict[str, np.ndarray]) -> dict:
    """Enforce I <= min H (Miller-Madow) of the discrete sides in ``labels``.

    A value above the bound is clipped to it, and the clipping is recorded, never
    silent: a warning and ``details["clipped"] = {"from", "to", "bound"}``."""
    bounds = {var: entropy_from_counts(counts_of(a), "miller_madow")
              for var, a in labels.items()}
    var = min(bounds, key=bounds.get)
    bound = bounds[var]
    if value > bound:
        ctx.details["clipped"] = {"from": float(value), "to": float(bound),
                                  "bound": f"H({ctx.name(var)})"}
        ctx.warn(f"the MI estimate {value:.4g} nats exceeded H({ctx.name(var)}) = {bound:.4g} "
                 "nats, which bounds it, and was clipped to it (details.clipped)")
        value = bound
    return {"value": float(value), "bound": float(bound)}


# --------------------------------------------------------------------------- mixed


def mixed_space(a: np.ndarray, mask: np.ndarray | None, ctx: Context, var: str,
                ties: str) -> np.ndarray:
    """Columns of one variable for mixed_ksg: continuous ones standardised (and tied
    values jittered), discrete ones as their value codes times DISCRETE_GAP."""
    from ._prep import prepare

    a = np.asarray(a, dtype=np.float64)
    if a.ndim == 1:
        if mask is None or np.all(mask):  # label codes of a fully discrete variable
            return (a.reshape(-1, 1) * DISCRETE_GAP)
        a = a.reshape(-1, 1)
    mask = np.zeros(a.shape[1], dtype=bool) if mask is None else np.asarray(mask, dtype=bool)
    out = np.empty_like(a)
    cont = np.flatnonzero(~mask)
    if cont.size:
        sub = Context(rng=ctx.rng, device=ctx.device, names=ctx.names,
                      columns={var: [ctx.column(var, int(j)).removeprefix("column ").strip("'")
                                     for j in cont]})
        out[:, cont], _ = prepare(a[:, cont], var, sub, standardize=True, ties=ties)
        for w in sub.warnings:
            ctx.warn(w)
    for j in np.flatnonzero(mask):
        _, codes = np.unique(a[:, j], return_inverse=True)
        out[:, j] = codes.ravel() * DISCRETE_GAP
    return out


def mixed_terms(xs: np.ndarray, ys: np.ndarray, k: int, ctx: Context) -> np.ndarray:
    """Per-row terms of Gao et al.'s mixed KSG (their mean is the estimate)."""
    from ._neighbors import kneighbor_distances, radius_counts

    n = len(xs)
    if k >= n:
        raise InputError(f"{ctx.name('x')} has {n} rows but k={k} needs at least {k + 1}")
    joint = np.hstack([xs, ys])
    rho = kneighbor_distances(joint, k, ctx, metric="chebyshev", backend="kdtree",
                              label="kNN joint")[:, k - 1]
    zero = rho == 0
    # counts strictly within rho (rho > 0), or at distance 0 (rho = 0); self included
    radius = np.where(zero, 0.0, rho)
    strict = ~zero

    def count(a):
        inside = radius_counts(a, radius, ctx, strict=False, metric="chebyshev",
                               backend="kdtree", label="count")
        on = radius_counts(a, radius, ctx, strict=True, metric="chebyshev", backend="kdtree",
                           label="count") if strict.any() else inside
        return np.where(strict, on, inside) + 1.0

    k_tilde = np.where(zero, count(joint), float(k))
    nx, ny = count(xs), count(ys)
    return digamma(k_tilde) + digamma(n) - digamma(nx) - digamma(ny)


def mixed_ksg_mi(ctx: Context, x, y, *, k, ties) -> Raw:
    """I(X;Y) for variables with discrete and continuous columns (Gao et al. 2017);
    bounded by the entropy of a fully discrete side (clipping recorded)."""
    from ._common import mean_and_stderr

    masks = getattr(ctx, "discrete_columns", {}) or {}
    xs = mixed_space(x, masks.get("x", True if ctx.discrete.get("x") else None), ctx, "x", ties)
    ys = mixed_space(y, masks.get("y", True if ctx.discrete.get("y") else None), ctx, "y", ties)
    raw = mean_and_stderr(mixed_terms(xs, ys, k, ctx), "std of per-sample terms / sqrt(n)")
    labels = {v: a for v, a in (("x", x), ("y", y)) if ctx.discrete.get(v)}
    if labels:
        raw = Raw(bound_by_entropy(ctx, raw.value, labels)["value"], raw.stderr,
                  raw.stderr_method)
    return raw
