"""Diffusion spectral entropy (DSE) and mutual information (DSMI).

Liao, Liu et al., "Assessing neural network representations during training
using noise-resilient diffusion spectral entropy", 2023 (arXiv:2312.04823).

With the Gaussian kernel ``G_ij = exp(-|x_i - x_j|^2 / (2 sigma^2))`` and the
degrees ``d_i = sum_j G_ij``, the symmetric matrix ``K = D^-1/2 G D^-1/2`` has
the spectrum of the diffusion operator ``D^-1 G``: eigenvalues in [0, 1], the
top one 1. With ``p_i = |lambda_i|^t / sum_j |lambda_j|^t``::

    DSE = -sum_i p_i log2 p_i                      (bits, in [0, log2 n])
        = log S - t A / S   (nats),  S = tr K^t,  A = tr K^t log K

The second form is what the approximate mode (deflated SLQ) estimates by
stochastic Lanczos quadrature (two traces from the same probe vectors).

DSMI(Z; Y) = sum_c (n_c / n) (H*_c - H_c) with H_c the DSE of class c and H*_c
the mean DSE of ``repeats`` random subsets of all points of size n_c.

The estimator's native unit is bits; implementations hand back nats (as every
infocli estimator does) and record the bits value in ``details``.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from .._device import resolve_torch_device
from ..errors import EstimationError, InputError, ParameterError
from ._common import Context, Raw, class_groups, finite

LN2 = math.log(2.0)
#: points used for the median heuristic (all points when n is smaller)
MEDIAN_POINTS = 2000
#: residual below which a Ritz pair of the approximate mode counts as an eigenpair
RITZ_TOL = 1e-4
#: exact eigenproblems smaller than this run on one CPU thread
SINGLE_THREAD_BELOW = 2048
#: elements of one row block of the kernel in the matrix-free mode (~64 MB in float32)
_BLOCK_ELEMENTS = 1 << 24


# -- parameters ----------------------------------------------------------------
def parse_sigma(value: Any) -> float | None:
    """``"auto"`` -> None (median heuristic); a positive finite number -> float."""
    if isinstance(value, str):
        text = value.strip().lower()
        if text == "auto":
            return None
        try:
            number = float(text)
        except ValueError:
            raise ParameterError(
                f"parameter sigma={value!r}: expected a positive number or 'auto'") from None
    elif isinstance(value, bool):
        raise ParameterError(f"parameter sigma={value!r}: expected a positive number or 'auto'")
    else:
        try:
            number = float(value)
        except (TypeError, ValueError):
            raise ParameterError(
                f"parameter sigma={value!r}: expected a positive number or 'auto'") from None
    if not math.isfinite(number) or number <= 0:
        raise ParameterError(f"parameter sigma={value!r}: expected a positive finite number "
                             "or 'auto'")
    return number


def median_sigma(x: np.ndarray, rng: np.random.Generator) -> float:
    """The median heuristic: sigma = median Euclidean distance between distinct points.

    Over all pairs when n <= MEDIAN_POINTS, otherwise over the pairs of a seeded
    subsample of MEDIAN_POINTS points. Returns 0.0 when at least half of the
    pairs coincide (the caller decides what to do).
    """
    from scipy.spatial.distance import pdist

    if len(x) > MEDIAN_POINTS:
        x = x[np.sort(rng.choice(len(x), MEDIAN_POINTS, replace=False))]
    dist = pdist(x)
    return float(np.median(dist)) if dist.size else 0.0


def resolve_sigma(ctx: Context, x: np.ndarray, sigma: Any) -> float:
    """The bandwidth to use, recorded in ``ctx.details``."""
    given = parse_sigma(sigma)
    if given is not None:
        ctx.details["sigma"] = given
        ctx.details["sigma_rule"] = "given"
        return given
    value = median_sigma(x, ctx.rng)
    rule = "median pairwise distance" + (
        f" (seeded subsample of {MEDIAN_POINTS} points)" if len(x) > MEDIAN_POINTS else "")
    if value == 0.0:
        if np.ptp(x, axis=0).max() == 0.0:
            # G is all ones for every sigma, so DSE is 0 whatever sigma is
            value, rule = 1.0, "1 (all points identical: DSE is 0 for any sigma)"
        else:
            raise InputError(
                f"{ctx.name('x')}: at least half of the pairs of points coincide, so the "
                "median heuristic gives sigma = 0; pass sigma=<number>")
    ctx.details["sigma"] = value
    ctx.details["sigma_rule"] = rule
    return value


# -- exact spectrum -----------------------------------------------------------------
def _torch_points(x: np.ndarray, device: str, dtype):
    import torch

    xt = torch.as_tensor(x, dtype=torch.float64, device=device)
    # centring changes no distance but makes |a|^2 + |b|^2 - 2ab lose fewer digits
    xt = xt - xt.mean(0, keepdim=True)
    return xt.to(dtype)


def _fill_kernel_rows(out, xt, sq, start: int, stop: int, scale: float) -> None:
    """out <- exp(-|x_i - x_j|^2 scale) for rows start:stop, in place."""
    import torch

    torch.matmul(xt[start:stop], xt.T, out=out)
    out.mul_(2.0).sub_(sq[start:stop, None]).sub_(sq[None, :])
    out.clamp_(max=0.0).mul_(scale).exp_()


def diffusion_matrix(x: np.ndarray, sigma: float, device: str = "cpu"):
    """K = D^-1/2 G D^-1/2 as a dense float64 torch tensor (n, n).

    Built in one n x n buffer: kernel rows by blocks, then rows and columns
    scaled in place by broadcasting (no diagonal matrices, no copies).
    """
    import torch

    xt = _torch_points(x, device, torch.float64)
    n = xt.shape[0]
    sq = (xt * xt).sum(1)
    k = torch.empty((n, n), dtype=torch.float64, device=device)
    step = max(1, _BLOCK_ELEMENTS // max(n, 1))
    scale = 1.0 / (2.0 * sigma * sigma)
    for start in range(0, n, step):
        _fill_kernel_rows(k[start:start + step], xt, sq, start, min(n, start + step), scale)
    k.fill_diagonal_(1.0)  # exact, whatever the rounding of |x_i|^2 + |x_i|^2 - 2 x_i x_i
    s = k.sum(1).rsqrt_()  # degrees >= 1: the diagonal is 1
    k.mul_(s[:, None]).mul_(s[None, :])
    return k


def spectrum(x: np.ndarray, sigma: float, device: str = "cpu") -> np.ndarray:
    """Eigenvalues (ascending, float64) of K = D^-1/2 G D^-1/2 for points x (n, d)."""
    import torch

    if len(x) == 1:
        return np.ones(1)
    k = diffusion_matrix(x, sigma, device)
    threads = torch.get_num_threads()
    # Small eigenproblems gain nothing from LAPACK threads, and on a busy CPU
    # OpenMP spin-waiting makes them many times slower (measured: 100x for
    # n = 100 with 2 threads under load), so they run single-threaded.
    single = k.device.type == "cpu" and len(x) < SINGLE_THREAD_BELOW and threads > 1
    try:
        if single:
            torch.set_num_threads(1)
        w = torch.linalg.eigvalsh(k)
    except RuntimeError as exc:  # LAPACK did not converge
        raise EstimationError(f"eigenvalues of the diffusion matrix failed: {exc}") from None
    finally:
        if single:
            torch.set_num_threads(threads)
    del k
    return w.cpu().numpy()


def spectral_entropy_bits(eigenvalues: np.ndarray, t: float) -> float:
    """-sum p log2 p with p = |lambda|^t / sum |lambda|^t (0 log 0 = 0).

    The reference package adds machine epsilon to every p before taking logs;
    that shifts the value by at most n * 2.2e-16 * 52 bits (1e-10 at n = 8000),
    and is not done here.
    """
    from scipy.special import xlogy

    powered = np.abs(np.asarray(eigenvalues, dtype=np.float64)) ** t
    total = powered.sum()
    if not total > 0:
        raise EstimationError(f"the powered spectrum sums to {total} (t={t:g} too large for "
                              "this sigma); use a smaller t or a larger sigma")
    p = powered / total
    return float(-xlogy(p, p).sum() / LN2)


def dse_bits_exact(x: np.ndarray, sigma: float, t: float, device: str) -> tuple[float, np.ndarray]:
    w = spectrum(x, sigma, device)
    return spectral_entropy_bits(w, t), w


# -- approximate mode (stochastic Lanczos quadrature) -----------------------------------
#: above this many bytes for K in float32 the operator is matrix-free (kernel rows
#: recomputed by blocks on every product) instead of stored
DENSE_LIMIT_BYTES = 8 << 30


class _KernelOperator:
    """v -> K v for K = D^-1/2 G D^-1/2, in float32, stored or matrix-free.

    Stored when n^2 float32 fit in DENSE_LIMIT_BYTES (n <= ~46,000: 3.6 GB at
    n = 30,000): each product is then one GEMM. Larger n recomputes kernel rows
    by blocks on every product (memory O(n * block)). float32 entries carry a
    relative error of ~1e-7, far below the sampling error of SLQ; Lanczos
    vectors, orthogonalisation and quadrature stay in float64.
    """

    def __init__(self, x: np.ndarray, sigma: float, device: str, report=None):
        import torch

        self.xt = _torch_points(x, device, torch.float32)
        self.n = n = self.xt.shape[0]
        self.sq = (self.xt * self.xt).sum(1)
        self.scale = 1.0 / (2.0 * sigma * sigma)
        self.step = max(1, _BLOCK_ELEMENTS // n)
        self.dense = 4 * n * n <= DENSE_LIMIT_BYTES
        if self.dense:
            self.k = torch.empty((n, n), dtype=torch.float32, device=device)
            for start in range(0, n, self.step):
                stop = min(n, start + self.step)
                _fill_kernel_rows(self.k[start:stop], self.xt, self.sq, start, stop, self.scale)
                if report is not None:
                    report(stop, n)
            self.k.fill_diagonal_(1.0)
            degrees = torch.empty(n, dtype=torch.float64, device=device)
            for start in range(0, n, self.step):  # by blocks: no float64 copy of K
                degrees[start:start + self.step] = \
                    self.k[start:start + self.step].to(torch.float64).sum(1)
            s = degrees.rsqrt()
            s32 = s.to(torch.float32)
            self.k.mul_(s32[:, None]).mul_(s32[None, :])
        else:
            self.buffer = torch.empty((min(self.step, n), n), dtype=torch.float32, device=device)
            degrees = self._g(torch.ones((n, 1), dtype=torch.float64, device=device))[:, 0]
            s = degrees.rsqrt()
        self.degrees = degrees
        self.s = s

    def _g(self, v):
        import torch

        v32 = v.to(torch.float32)
        out = torch.empty(v.shape, dtype=torch.float64, device=v.device)
        for start in range(0, self.n, self.step):
            stop = min(self.n, start + self.step)
            block = self.buffer[: stop - start]
            _fill_kernel_rows(block, self.xt, self.sq, start, stop, self.scale)
            out[start:stop] = (block @ v32).to(torch.float64)
        return out

    def __call__(self, v):
        """K v for v of shape (n, p), float64."""
        import torch

        if self.dense:
            return (self.k @ v.to(torch.float32)).to(torch.float64)
        return self.s[:, None] * self._g(self.s[:, None] * v)


def _lanczos_batch(op, v0, steps: int, report=None):
    """m steps of Lanczos with full reorthogonalisation, on p start vectors at once.

    v0 has shape (n, p). Returns alpha (steps, p), beta (steps, p) and the
    number of steps each column ran before its Krylov space became invariant.
    """
    import torch

    n, p = v0.shape
    q = (v0 / torch.linalg.vector_norm(v0, dim=0, keepdim=True)).T.contiguous()  # (p, n)
    basis = torch.zeros((p, steps, n), dtype=torch.float64, device=v0.device)
    alpha = torch.zeros((steps, p), dtype=torch.float64, device=v0.device)
    beta = torch.zeros((steps, p), dtype=torch.float64, device=v0.device)
    length = torch.full((p,), steps, dtype=torch.long, device=v0.device)
    alive = torch.ones(p, dtype=torch.bool, device=v0.device)
    for j in range(steps):
        basis[:, j] = q
        w = op(q.T).T.contiguous()  # (p, n)
        alpha[j] = (q * w).sum(1)
        for _ in range(2):  # full reorthogonalisation, twice is enough
            coef = torch.bmm(basis[:, : j + 1], w[:, :, None])  # (p, j+1, 1)
            w -= torch.bmm(basis[:, : j + 1].transpose(1, 2), coef)[:, :, 0]
        b = torch.linalg.vector_norm(w, dim=1)
        stop = alive & (b <= 1e-10)
        length[stop] = j + 1
        alive &= ~stop
        beta[j] = torch.where(alive, b, torch.zeros_like(b))
        q = torch.where(alive[:, None], w / torch.where(alive, b, torch.ones_like(b))[:, None],
                        torch.zeros_like(w))
        if report is not None:
            report(j + 1, steps)
        if not bool(alive.any()):
            break
    return alpha.cpu().numpy(), beta.cpu().numpy(), length.cpu().numpy()


def _top_ritz_pairs(op, phi, size: int, iterations: int, rng, report=None):
    """Converged top eigenpairs of K by subspace iteration from [phi, Gaussian block].

    Returns Ritz values and vectors whose residual |K v - mu v| is below 1e-6.
    """
    import torch

    n = op.n
    block = torch.as_tensor(rng.standard_normal((n, size)), dtype=torch.float64,
                            device=phi.device)
    block[:, 0] = phi
    q = torch.linalg.qr(block).Q
    for i in range(iterations):
        q = torch.linalg.qr(op(q)).Q
        if report is not None:
            report(i + 1, iterations + 1)
    kq = op(q)
    mu, u = torch.linalg.eigh(q.T @ kq)
    vecs = q @ u
    residual = torch.linalg.vector_norm(kq @ u - vecs * mu[None, :], dim=0)
    if report is not None:
        report(iterations + 1, iterations + 1)
    keep = residual < RITZ_TOL
    return mu[keep], vecs[:, keep]


def dse_bits_slq(x: np.ndarray, sigma: float, t: float, probes: int, steps: int,
                 rng: np.random.Generator, device: str, report=None, deflation: int = 64,
                 iterations: int = 4) -> tuple[float, float]:
    """DSE in bits by deflated stochastic Lanczos quadrature, and its jackknife stderr.

    DSE = (log S - t A / S) / ln 2 with S = tr f1(K), A = tr f2(K) for
    f1 = |.|^t and f2 = |.|^t log|.|. The spectrum of K is dominated by a few
    top eigenvalues (the top one, 1 with eigenvector phi = sqrt(d) / |sqrt(d)|,
    is known exactly), which makes plain Hutchinson estimates noisy; so the top
    eigenpairs are found by subspace iteration, their contribution is added
    exactly, and the rest, tr f(P K P) with P the projector onto their
    complement, is estimated by stochastic Lanczos quadrature
    (Ubaru, Chen & Saad, SIAM J. Matrix Anal. Appl. 2017): for projected
    Rademacher probes v, v' f(PKP) v ~ |v|^2 sum_k tau_k^2 f(theta_k).
    Both traces come from the same probes; the stderr is the jackknife over
    probes (it does not include the Lanczos quadrature error).
    For t = 1, S = tr K = sum_i 1 / d_i exactly.
    """
    import torch
    from scipy.linalg import eigh_tridiagonal
    from scipy.special import xlogy

    def sub(name):
        return None if report is None else (lambda d, tot: report(name, d, tot))

    op = _KernelOperator(x, sigma, device, report=sub("kernel"))
    n = op.n
    phi = op.degrees.sqrt()
    phi /= torch.linalg.vector_norm(phi)
    mu, vecs = _top_ritz_pairs(op, phi, min(deflation, n - 1), iterations, rng,
                               report=sub("deflation"))
    lam_top = mu.abs().cpu().numpy()
    s_top = float(np.sum(lam_top ** t))
    a_top = float(np.sum(xlogy(lam_top ** t, lam_top)))

    def project(v):
        return v - vecs @ (vecs.T @ v)

    def deflated(v):
        return project(op(project(v)))

    deflated.n = n
    signs = rng.integers(0, 2, size=(n, probes)) * 2.0 - 1.0
    v0 = project(torch.as_tensor(signs, dtype=torch.float64, device=device))
    norms2 = (v0 * v0).sum(0).cpu().numpy()
    alpha, beta, length = _lanczos_batch(deflated, v0, min(steps, n - vecs.shape[1]),
                                         sub("lanczos"))
    s_terms = np.empty(probes)
    a_terms = np.empty(probes)
    for i in range(probes):
        m = int(length[i])
        theta, tvecs = eigh_tridiagonal(alpha[:m, i], beta[: m - 1, i])
        tau = tvecs[0] ** 2
        lam = np.abs(theta)
        powered = lam ** t
        s_terms[i] = s_top + norms2[i] * np.sum(tau * powered)
        a_terms[i] = a_top + norms2[i] * np.sum(tau * xlogy(powered, lam))
    if t == 1.0:
        s_terms[:] = float((1.0 / op.degrees).sum())

    def entropy_nats(s, a):
        return math.log(s) - t * a / s

    value = entropy_nats(s_terms.mean(), a_terms.mean())
    loo = np.array([
        entropy_nats((s_terms.sum() - s_terms[i]) / (probes - 1),
                     (a_terms.sum() - a_terms[i]) / (probes - 1))
        for i in range(probes)])
    stderr = math.sqrt((probes - 1) / probes * np.sum((loo - loo.mean()) ** 2))
    return value / LN2, stderr / LN2, int(vecs.shape[1])


# -- registry implementations ---------------------------------------------------------
def _check_points(ctx: Context, n: int) -> None:
    if n < 2:
        raise InputError(f"{ctx.name('x')} has {n} rows but at least 2 are needed")


def _check_t(t: float) -> None:
    if not t > 0:  # also caught by the Param bound; kept for direct callers
        raise ParameterError(f"parameter t={t!r}: expected > 0")


def _subsample(ctx: Context, x: np.ndarray, max_n: int) -> np.ndarray:
    if len(x) <= max_n:
        return x
    return x[np.sort(ctx.rng.choice(len(x), max_n, replace=False))]


def _bits_note(ctx: Context, key: str, bits: float) -> None:
    ctx.details["native_unit"] = "bits"
    ctx.details[key] = float(bits)
    ctx.details["unit_note"] = (
        "DSE/DSMI are defined in bits (log2); the value is converted to the requested unit")


def dse_entropy(ctx: Context, x: np.ndarray, *, sigma: str, t: float, max_n: int, approx: bool,
                probes: int, lanczos_steps: int) -> Raw:
    """Registry implementation of ``entropy`` for ``dse`` (value in nats)."""
    _check_points(ctx, len(x))
    _check_t(t)
    device = resolve_torch_device(ctx.device)
    ctx.device_used = device
    sig = resolve_sigma(ctx, x, sigma)
    n = len(x)
    if n > max_n and approx:
        ctx.details["mode"] = "slq"
        ctx.details["n_used"] = n
        ctx.details.update(probes=probes, lanczos_steps=min(lanczos_steps, n))
        bits, err, deflated = dse_bits_slq(x, sig, t, probes, lanczos_steps, ctx.rng, device,
                                           report=ctx.report)
        ctx.details["deflated_eigenpairs"] = deflated
        _bits_note(ctx, "dse_bits", bits)
        ctx.details["dse_bits_stderr"] = err
        return finite(Raw(bits * LN2, err * LN2,
                          f"jackknife over {probes} SLQ probe vectors"))
    xs = _subsample(ctx, x, max_n)
    if len(xs) < n:
        ctx.details["mode"] = "subsample"
        ctx.warn(f"DSE computed on a seeded subsample of {max_n} of {n} points "
                 "(raise max_n, or set approx=true to use all points approximately)")
    else:
        ctx.details["mode"] = "exact"
    ctx.details["n_used"] = len(xs)
    ctx.report("eigenvalues", 0, 1)
    bits, w = dse_bits_exact(xs, sig, t, device)
    ctx.report("eigenvalues", 1, 1)
    ctx.artifacts["eigenvalues"] = w
    _bits_note(ctx, "dse_bits", bits)
    return finite(Raw(bits * LN2, None, None))


def _groups_of_y(ctx: Context, y: np.ndarray, n_clusters: int) -> tuple[list[np.ndarray], str]:
    """Row indices per class / bin / cluster, and how they were formed."""
    if ctx.discrete.get("y"):
        return class_groups(y), "classes"
    y = y.reshape(len(y), -1)
    if y.shape[1] == 1:
        lo, hi = float(y.min()), float(y.max())
        if hi == lo:
            return [np.arange(len(y))], f"{n_clusters} equal-width bins (y is constant: 1 bin)"
        u = (y[:, 0] - lo) / (hi - lo)
        codes = np.digitize(u, np.linspace(0.0, 1.0, n_clusters + 1)[:-1])
        return class_groups(codes), f"{n_clusters} equal-width bins of y"
    from scipy.cluster.vq import kmeans2

    seed = int(ctx.rng.integers(2**32))
    _, codes = kmeans2(y, n_clusters, minit="++", seed=seed)
    return class_groups(codes), f"k-means (k-means++ start, seeded) into {n_clusters} clusters"


def dsmi_from_groups(x: np.ndarray, groups: list[np.ndarray], baselines: list[list[np.ndarray]],
                     weights: np.ndarray, sigma: float, t: float, device: str,
                     report=None) -> tuple[float, np.ndarray]:
    """DSMI in bits from class index sets, their weights n_c / n and baseline index sets.

    Returns the value and the per-class baseline variances (for the stderr).
    Classes with one member contribute 0 (the DSE of a single point is 0, and
    so is that of its size-1 baseline), without any eigen-decomposition.
    """
    total = 0.0
    variances = np.zeros(len(groups))
    for c, (g, subsets) in enumerate(zip(groups, baselines)):
        if len(g) < 2:
            continue
        h_c = dse_bits_exact(x[g], sigma, t, device)[0]
        base = np.array([dse_bits_exact(x[s], sigma, t, device)[0] for s in subsets])
        total += weights[c] * (base.mean() - h_c)
        variances[c] = base.var(ddof=1) if len(base) > 1 else np.nan
        if report is not None:
            report(c + 1, len(groups))
    return total, variances


def dsmi_mi(ctx: Context, x: np.ndarray, y: np.ndarray, *, sigma: str, t: float, max_n: int,
            repeats: int, n_clusters: int) -> Raw:
    """Registry implementation of ``mutual_information`` for ``dsmi`` (value in nats)."""
    n = len(x)
    _check_points(ctx, n)
    _check_t(t)
    device = resolve_torch_device(ctx.device)
    ctx.device_used = device
    sig = resolve_sigma(ctx, x, sigma)  # one sigma for every class and baseline
    groups, how = _groups_of_y(ctx, y, n_clusters)
    ctx.details["groups"] = how
    ctx.details["group_sizes"] = [int(len(g)) for g in groups]
    singles = [g for g in groups if len(g) == 1]
    if singles:
        if ctx.discrete.get("y"):
            names = ", ".join(ctx.class_name("y", int(y[g[0]])) for g in singles[:5])
        else:
            names = f"{len(singles)} bin(s)/cluster(s)"
        ctx.warn(f"{len(singles)} class(es) with a single member contribute 0 to DSMI "
                 f"(the DSE of one point and of its size-1 baseline are both 0): {names}")
    weights = np.array([len(g) for g in groups]) / n
    baselines = []
    capped = False
    for c, g in enumerate(groups):
        if len(g) > max_n:
            capped = True
            groups[c] = g = np.sort(ctx.rng.choice(g, max_n, replace=False))
        size = len(g)
        baselines.append([ctx.rng.choice(n, size, replace=False) for _ in range(repeats)]
                         if size >= 2 else [])
    if capped:
        ctx.warn(f"classes larger than max_n={max_n} were subsampled (seeded) to {max_n} "
                 "points, and so were their baselines")
    bits, variances = dsmi_from_groups(
        x, groups, baselines, weights, sig, t, device,
        report=lambda d, tot: ctx.report("classes", d, tot))
    _bits_note(ctx, "dsmi_bits", bits)
    stderr = None
    method = None
    if repeats > 1:
        stderr = float(np.sqrt(np.nansum(weights**2 * variances / repeats))) * LN2
        method = f"Monte Carlo error of the {repeats}-subset baselines"
    return finite(Raw(bits * LN2, stderr, method))
