"""The Student-t copula: auto's candidate for elliptical, heavy-tailed dependence.

A Student-t vector T = Z / sqrt(W / nu) (Z ~ N(0, S), W ~ chi^2_nu) shares one scale
W among all its columns: even with S = I (no correlation) X and Y are dependent
through their common tails. The Gaussian copula sees nothing of it (it reads 0 on
bmi's ``student-identity`` tasks) and kNN in 10 dimensions sees about half.
The t copula is the copula of T; MI depends on the copula only, so

    I(X; Y) = 1/2 log(det S_xx det S_yy / det S) + c(dx, dy, nu),
    c = h_nu(dx) + h_nu(dy) - h_nu(dx + dy),

with h_nu(k) the entropy of a k-variate t with unit dispersion
(Arellano-Valle, Contreras-Reyes & Genton 2013, Eq. 7):
h_nu(k) = log G(nu/2) - log G((nu+k)/2) + k/2 log(nu pi)
          + (nu+k)/2 [psi((nu+k)/2) - psi(nu/2)].

Three steps, each a function here:

1. :func:`tail_gate` (NumPy only, on the normal scores): does the tail of X move
   with the tail of Y beyond what a Gaussian copula allows? With q_x, q_y the
   Mahalanobis norms of each side, a Gaussian copula gives
   E[q_x q_y] = dx dy + 2 tr(S_xx^-1 S_xy S_yy^-1 S_yx) (Isserlis); a shared scale
   makes it larger. Independent X and Y give dx dy whatever each side's own law,
   so the gate stays shut on independence, on Gaussian copulas and on heavy tails
   within one side.
2. :func:`fit` (SciPy; run only when the gate opens): the dispersion from
   Kendall's tau, S_kl = sin(pi tau_kl / 2), which holds for every elliptical
   copula (Lindskog, McNeil & Schmock 2003); nu by profile likelihood of the t
   copula with S fixed; a likelihood-ratio test against the Gaussian copula
   (nu = infinity, a boundary: 1/2 chi^2_0 + 1/2 chi^2_1); a goodness-of-fit check
   of the shared scale (Kendall's tau between q_x and q_y on the t scores, against
   the same statistic on a seeded sample of the fitted copula).
3. the stderr: a delete-a-group jackknife of the whole fit (each group's taus from
   the Hajek projections of the Kendall taus, its pseudo-observations re-ranked,
   nu refitted), so it carries the noise of the ranks, of the dispersion and of
   nu together (the likelihood's own curvature in nu gave a third of the
   seed-to-seed spread). The first-order upward bias of the log determinants
   from noise in the cross dispersion (from the same projections) is removed.
"""

from __future__ import annotations

import math

import numpy as np

from .._special import digamma

#: z of the tail gate above which the t copula is fitted
GATE_Z = 4.0
#: the likelihood ratio against the Gaussian copula must exceed this: p < 0.001 under
#: the boundary law 1/2 chi^2_0 + 1/2 chi^2_1 of a test of nu = infinity
LR_MIN = 9.55
#: |z| of the shared-scale check above which the fitted t copula is rejected
GOF_Z = 4.0
#: the range of nu searched (log scale); 200 is Gaussian to within 1e-3 nats here
NU_RANGE = (0.3, 200.0)
#: rows below which the gate is not evaluated
MIN_ROWS = 100
#: columns (both sides) up to which the fit runs: the taus cost d^2/2 sorts
MAX_DIM = 24
#: groups of the delete-a-group jackknife of the stderr
JACKKNIFE_GROUPS = 16
#: rows whose Kendall kernels give each row's Hajek projection
ANCHORS = 500


def entropy_unit(k: int, nu: float) -> float:
    """h of a k-variate Student-t with ``nu`` dof and identity dispersion (nats)."""
    half = 0.5 * (nu + k)
    return (math.lgamma(0.5 * nu) - math.lgamma(half) + 0.5 * k * math.log(nu * math.pi)
            + half * (digamma(half) - digamma(0.5 * nu)))


def scale_term(dx: int, dy: int, nu: float) -> float:
    """c(dx, dy, nu) = h(dx) + h(dy) - h(dx + dy): the MI a shared t scale adds to the
    Gaussian MI of the dispersion (0 as nu -> infinity)."""
    if not np.isfinite(nu):
        return 0.0
    return entropy_unit(dx, nu) + entropy_unit(dy, nu) - entropy_unit(dx + dy, nu)


def _logdet(s: np.ndarray) -> float:
    return float(np.linalg.slogdet(s)[1])


def mi(sigma: np.ndarray, dx: int, nu: float) -> float:
    """I(X; Y) of a t copula with correlation ``sigma`` (X its first ``dx`` columns)."""
    sigma = np.asarray(sigma, dtype=np.float64)
    gauss = 0.5 * (_logdet(sigma[:dx, :dx]) + _logdet(sigma[dx:, dx:]) - _logdet(sigma))
    return gauss + scale_term(dx, sigma.shape[0] - dx, nu)


def _mahalanobis(a: np.ndarray) -> np.ndarray:
    a = a - a.mean(axis=0)
    s = a.T @ a / len(a)
    return np.einsum("ij,ij->i", a, np.linalg.solve(s, a.T).T)


def tail_gate(x: np.ndarray, y: np.ndarray) -> dict:
    """The tail co-movement of x and y (normal scores, (n, dx) and (n, dy)) beyond a
    Gaussian copula: ``z`` of mean(q_x q_y) against its Gaussian expectation."""
    n, dx = x.shape
    dy = y.shape[1]
    qx, qy = _mahalanobis(x), _mahalanobis(y)
    xc, yc = x - x.mean(axis=0), y - y.mean(axis=0)
    sxx, syy, sxy = xc.T @ xc / n, yc.T @ yc / n, xc.T @ yc / n
    cross = np.linalg.solve(sxx, sxy) @ np.linalg.solve(syy, sxy.T)
    expected = dx * dy + 2.0 * float(np.trace(cross))
    prod = qx * qy
    sd = float(prod.std()) / math.sqrt(n)
    z = (float(prod.mean()) - expected) / sd if sd > 0 else 0.0
    return {"z": z, "ratio": float(prod.mean()) / expected}


class _Pseudo:
    """Pseudo-observations r / (m + 1) of m rows (average ranks, so r is a multiple of
    1/2), kept as integer positions on the grid k / (2 (m + 1)): the Student-t
    quantiles are computed once per grid value, not once per entry."""

    def __init__(self, z: np.ndarray):
        from .._special import average_ranks

        self.m, self.d = z.shape
        self.pos = np.rint(2 * average_ranks(z)).astype(np.intp)  # 2 r in 2..2m
        self.grid = np.arange(2 * self.m + 1) / (2.0 * (self.m + 1))
        counts = np.bincount(self.pos.ravel(), minlength=len(self.grid))
        self.used = np.flatnonzero(counts)
        self.counts = counts[self.used]

    def scores(self, nu: float) -> np.ndarray:
        from scipy.special import stdtrit

        table = np.zeros(len(self.grid))
        table[self.used] = stdtrit(nu, self.grid[self.used])
        return table[self.pos]

    def loglik(self, prec: np.ndarray, logdet: float, nu: float) -> float:
        """log-likelihood of the t copula (dispersion with precision ``prec``)."""
        from scipy.special import gammaln, stdtrit

        n, d = self.m, self.d
        t = self.scores(nu)
        q = ((t @ prec) * t).sum(axis=1)
        joint = (gammaln(0.5 * (nu + d)) - gammaln(0.5 * nu)
                 - 0.5 * d * math.log(nu * math.pi) - 0.5 * logdet) * n \
            - 0.5 * (nu + d) * np.log1p(q / nu).sum()
        tu = stdtrit(nu, self.grid[self.used])
        margins = (gammaln(0.5 * (nu + 1)) - gammaln(0.5 * nu)
                   - 0.5 * math.log(nu * math.pi)) * n * d \
            - 0.5 * (nu + 1) * float(self.counts @ np.log1p(tu * tu / nu))
        return float(joint - margins)


def _loglik_gauss(z: np.ndarray, prec: np.ndarray, logdet: float) -> float:
    q = ((z @ (prec - np.eye(len(prec)))) * z).sum(axis=1)
    return float(-0.5 * len(z) * logdet - 0.5 * q.sum())


def _kendall(z: np.ndarray, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """Kendall's tau of every pair of columns (exact, O(n log n) each) and each row's
    Hajek projection h_i,kl = mean_j sign(z_ik - z_jk) sign(z_il - z_jl) over up to
    :data:`ANCHORS` rows j ((n, d, d)): the influence of row i on tau_kl is 2 (h - tau)."""
    from scipy.stats import kendalltau

    n, d = z.shape
    tau = np.eye(d)
    for k in range(d):
        for j in range(k + 1, d):
            tau[k, j] = tau[j, k] = kendalltau(z[:, k], z[:, j]).statistic
    anchors = z[rng.choice(n, min(n, ANCHORS), replace=False)]
    proj = np.empty((n, d, d))
    for start in range(0, n, 256):
        s = np.sign(z[start:start + 256, :, None] - anchors.T[None], dtype=np.float32)
        proj[start:start + 256] = np.matmul(s, s.transpose(0, 2, 1)) / len(anchors)
    return tau, proj


def _nearest_correlation(s: np.ndarray, floor: float = 1e-4) -> np.ndarray:
    w, v = np.linalg.eigh(s)
    if w.min() >= floor:
        return s
    s = (v * np.maximum(w, floor)) @ v.T
    dg = np.sqrt(np.diag(s))
    return s / np.outer(dg, dg)


def fit(x: np.ndarray, y: np.ndarray, seed: int, *, value_only: bool = False) -> dict:
    """Fit a t copula to normal scores x (n, dx), y (n, dy) and its MI.

    Returns ``value``, ``stderr`` (nats), ``nu`` and a 95 % range (jackknife), the
    likelihood ratio ``lr`` against the Gaussian copula with the same dispersion,
    ``gof_z`` of the shared-scale check, ``gaussian_part``, ``scale_part`` and
    ``bias`` (removed), and ``usable``: lr > LR_MIN and |gof_z| <= GOF_Z.
    ``value_only`` (the reliability check's parts, which use only the value): no
    jackknife and no shared-scale check; the value is the same."""
    from scipy.stats import kendalltau

    rng = np.random.default_rng(seed)
    z = np.hstack([x, y])
    n, d = z.shape
    dx = x.shape[1]
    u = _Pseudo(z)
    tau, proj = _kendall(z, rng)
    sigma = _nearest_correlation(np.sin(0.5 * np.pi * tau))
    prec = np.linalg.inv(sigma)
    logdet = _logdet(sigma)

    lo, hi = (math.log(v) for v in NU_RANGE)
    lognu, ll_t = _fit_nu(u, sigma, lo, hi)
    nu = math.exp(lognu)
    ll_g = _loglik_gauss(z, prec, logdet)
    lr = 2.0 * (ll_t - ll_g)
    dy = d - dx
    infl_tau = 2.0 * (proj - tau)  # per-row influence on every tau_kl
    dsig = 0.5 * np.pi * np.cos(0.5 * np.pi * tau)  # dS_kl / dtau_kl
    # first-order upward bias of the Gaussian part from noise in the cross dispersion
    var_rho = ((infl_tau * dsig) ** 2).mean(axis=0) / n
    px, py = np.diag(np.linalg.inv(sigma[:dx, :dx])), np.diag(np.linalg.inv(sigma[dx:, dx:]))
    bias = 0.5 * float(np.einsum("k,kl,l->", px, var_rho[:dx, dx:], py))
    gauss = 0.5 * (_logdet(sigma[:dx, :dx]) + _logdet(sigma[dx:, dx:]) - logdet)
    c = scale_term(dx, dy, nu)
    value = gauss - bias + c
    if value_only:
        return {"value": float(value), "stderr": None, "nu": nu, "lr": float(lr)}
    # stderr: delete-a-group jackknife of the whole fit; each group's taus from the
    # influences (tau without the group ~ tau - sum of its influences / rows left), its
    # pseudo-observations re-ranked on the rows left, nu refitted near the full fit
    groups = np.array_split(rng.permutation(n), JACKKNIFE_GROUPS)
    reps, nus = [], []
    for g in groups:
        keep = np.ones(n, dtype=bool)
        keep[g] = False
        tau_g = np.clip(tau - infl_tau[g].sum(axis=0) / keep.sum(), -1, 1)
        np.fill_diagonal(tau_g, 1.0)
        sig_g = _nearest_correlation(np.sin(0.5 * np.pi * tau_g))
        ln_g, _ = _fit_nu(_Pseudo(z[keep]), sig_g, max(lo, lognu - 0.7),
                          min(hi, lognu + 0.7), tol=1e-2)
        nus.append(math.exp(ln_g))
        reps.append(mi(sig_g, dx, math.exp(ln_g)))
    reps = np.asarray(reps)
    k = len(groups)
    stderr = float(math.sqrt((k - 1) / k * ((reps - reps.mean()) ** 2).sum()))
    nu_se = float(math.sqrt((k - 1) / k * ((np.log(nus) - np.mean(np.log(nus))) ** 2).sum()))
    # the shared scale: tail co-movement of the two sides, data against the fitted copula
    t = u.scores(nu)
    sim = rng.standard_normal((n, d)) @ np.linalg.cholesky(sigma).T
    sim /= np.sqrt(rng.chisquare(nu, n) / nu)[:, None]

    def radii(a):
        return (_quad(a[:, :dx], sigma[:dx, :dx]), _quad(a[:, dx:], sigma[dx:, dx:]))

    obs = kendalltau(*radii(t)).statistic
    mod = kendalltau(*radii(sim)).statistic
    sd_tau = math.sqrt(2 * 2 * (2 * n + 5) / (9 * n * (n - 1)))  # two samples, null var
    gof_z = float((obs - mod) / sd_tau)
    return {"value": float(value), "stderr": stderr, "nu": nu,
            "nu_range": [nu * math.exp(-1.96 * nu_se), nu * math.exp(1.96 * nu_se)],
            "lr": float(lr), "gof_z": gof_z,
            "tail_tau": {"data": float(obs), "model": float(mod)},
            "gaussian_part": float(gauss), "scale_part": float(c), "bias": float(bias),
            "usable": bool(lr > LR_MIN and abs(gof_z) <= GOF_Z)}


def _quad(a: np.ndarray, s: np.ndarray) -> np.ndarray:
    return np.einsum("ij,ij->i", a, np.linalg.solve(s, a.T).T)


def _fit_nu(u: _Pseudo, sigma: np.ndarray, lo: float, hi: float,
            tol: float = 1e-3) -> tuple[float, float]:
    """(log nu, log-likelihood) maximising the t-copula likelihood at dispersion sigma
    over log nu in [lo, hi] (bounded Brent)."""
    from scipy.optimize import minimize_scalar

    prec = np.linalg.inv(sigma)
    logdet = _logdet(sigma)
    opt = minimize_scalar(lambda v: -u.loglik(prec, logdet, math.exp(v)),
                          bounds=(lo, hi), method="bounded", options={"xatol": tol})
    return float(opt.x), -float(opt.fun)
