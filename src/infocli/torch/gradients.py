"""Score-based gradient surrogates of entropy and MI (torch).

Gradient surrogates (EGE / MIGE)
--------------------------------
:func:`ssge_score` is the spectral Stein gradient estimator (Shi, Sun & Zhu,
ICML 2018) of the score grad_x log q(x) at samples of q.
:func:`entropy_gradient_surrogate` and :func:`mi_gradient_surrogate` turn it
into scalars whose *gradients* are grad H and grad I (Wen et al. 2021; Wen et
al., ICLR 2020). **Their values are meaningless; only their gradients count.**
"""

from __future__ import annotations

import math
import warnings

import torch

__all__ = ["median_bandwidth", "ssge_score", "SSGEWarning", "STEIN_TOLERANCE",
           "entropy_gradient_surrogate", "mi_gradient_surrogate"]


def median_bandwidth(x: torch.Tensor, dist: torch.Tensor | None = None) -> torch.Tensor:
    """Median of the pairwise Euclidean distances between rows of x (i != j);
    ``dist``, when given, is ``torch.cdist(x, x)`` already computed."""
    if dist is None:
        dist = torch.cdist(x, x)
    m = x.shape[0]
    i, j = torch.triu_indices(m, m, offset=1, device=x.device)
    # each pair once: the same median as over both triangles (the multiset doubles)
    pairs = dist[i, j]
    return pairs.kthvalue((len(pairs) - 1) // 2 + 1).values  # the lower median, as median()


#: Stein check of :func:`ssge_score`: above this relative residual
#: ||(1/M) sum_m s(x_m) (x_m - mean)^T + I||_F / sqrt(d) the estimate is flagged.
#: Gaussians x = A eps with A = Q diag(s), M = 256 (cosine of the EGE gradient
#: in A to the autograd truth A^-T, residual): d = 20, s from 1 down to 0.1:
#: 0.998, 0.095; to 0.05: 0.94-0.95, 0.21; to 0.02: 0.52, 0.46; d = 5 to 0.05:
#: 0.51-0.56, 0.43-0.44; well-conditioned (s in [0.5, 2]) d = 2..20: 1.000,
#: <= 0.06.
STEIN_TOLERANCE = 0.25


class SSGEWarning(RuntimeWarning):
    """The spectral Stein estimate failed its own Stein check (see :func:`ssge_score`)."""


def _stein_check(xd: torch.Tensor, score: torch.Tensor, kept: int) -> None:
    """Warn when the score estimate breaks Stein's identity on linear functions.

    For any smooth density with decaying tails E[s(x) x^T] = -I (integration by
    parts with the test functions x_j). An estimate whose eigenfunctions cannot
    express every linear direction - too few kept (J < d + 1), or a bandwidth
    far wider than the data's thin directions - misses it, and then the
    gradient of every linear reparameterisation x = A eps is wrong by the same
    factor (grad_A = -C A^-T with C = E[s x^T]).
    """
    m, d = xd.shape
    c = score.T @ (xd - xd.mean(0)) / m
    residual = float(torch.linalg.norm(c + torch.eye(d, dtype=c.dtype, device=c.device))
                     / math.sqrt(d))
    problems = []
    if kept < d + 1:
        problems.append(f"it kept {kept} eigenfunctions, fewer than d + 1 = {d + 1} "
                        "(raise eigen_cutoff)")
    if residual > STEIN_TOLERANCE:
        problems.append(f"its Stein residual ||E[s x^T] + I|| / sqrt(d) is {residual:.2f} "
                        f"(> {STEIN_TOLERANCE}; 0 for the true score)")
    if problems:
        warnings.warn(
            f"ssge_score: the score estimate of {m} samples in d = {d} is unreliable: "
            + "; ".join(problems) + ". Gradients from it (EGE/MIGE) may point the wrong way "
            "(d = 20, residual 0.46: cosine 0.52 to the true entropy gradient). Standardise "
            "or whiten the variables (thin directions against a median bandwidth), use more "
            "samples, or a smaller bandwidth", SSGEWarning, stacklevel=3)


def ssge_score(x: torch.Tensor, *, bandwidth: float | str = "median",
               eigen_cutoff: float = 0.99, ridge: float = 0.0,
               check: bool = True) -> torch.Tensor:
    """Spectral Stein estimate of grad_x log q(x) at the M samples x ~ q.

    RBF kernel k(a, b) = exp(-|a - b|^2 / (2 s^2)) with ``s = bandwidth``
    (``"median"``: the median pairwise distance); eigenpairs (lambda_j, u_j)
    of the Gram matrix K (+ ``ridge`` * I), keeping the largest up to
    ``eigen_cutoff`` of the spectral mass; Nystroem eigenfunctions
    psi_j(x) = sqrt(M)/lambda_j sum_m u_mj k(x, x_m);
    beta_j = -(1/M) sum_i grad psi_j(x_i); score(x) = sum_j beta_j psi_j(x)
    (Shi, Sun & Zhu 2018, eqs. 14-16).

    Self-check (``check=True``): Stein's identity with the linear test functions,
    E[score(x) x^T] = -I, holds for every density; when the estimate misses it
    by more than :data:`STEIN_TOLERANCE` (relative Frobenius norm), or keeps
    fewer than d + 1 eigenfunctions, an :class:`SSGEWarning` says so. The
    residual is exactly the relative error of the EGE gradient of a linear
    reparameterisation x = A eps, so it is a direct check of what the
    surrogates deliver (one (d, M) x (M, d) product).

    Parameters
    ----------
    x : tensor, shape (M, d)
    Returns
    -------
    tensor, shape (M, d), detached, same dtype as x (computed in float64).
    """
    if x.ndim != 2 or x.shape[0] < 2:
        raise ValueError(f"x: expected an (M, d) tensor with M >= 2, got shape {tuple(x.shape)}")
    if not 0 < eigen_cutoff <= 1:
        raise ValueError(f"eigen_cutoff={eigen_cutoff!r}: expected a fraction in (0, 1]")
    if ridge < 0:
        raise ValueError(f"ridge={ridge!r}: expected >= 0")
    with torch.no_grad():
        xd = x.detach().double()
        m = xd.shape[0]
        dist = torch.cdist(xd, xd)
        s = median_bandwidth(xd, dist) if bandwidth == "median" else torch.tensor(
            float(bandwidth), dtype=xd.dtype, device=xd.device)
        if not torch.isfinite(s) or s <= 0:
            raise ValueError(f"bandwidth {float(s)!r}: expected a positive number "
                             "(are all samples identical?)")
        sq = dist ** 2
        k = torch.exp(-sq / (2 * s**2))
        lam, u = torch.linalg.eigh(k + ridge * torch.eye(m, dtype=xd.dtype, device=xd.device))
        lam, u = lam.flip(0), u.flip(1)  # descending
        mass = torch.cumsum(lam.clamp(min=0), 0) / lam.clamp(min=0).sum()
        j = int(torch.searchsorted(mass, torch.tensor(eigen_cutoff, dtype=mass.dtype)).item()) + 1
        j = max(1, min(j, int((lam > 0).sum().item())))
        lam, u = lam[:j], u[:, :j]
        ku = k @ u                                      # (M, J)
        psi = math.sqrt(m) * ku / lam                   # psi_j(x_i)
        # sum_i grad psi_j(x_i) = sqrt(M)/lambda_j * (-1/s^2) *
        #   sum_{i,m} K_im (x_i - x_m) u_mj  = ... [X^T (K u_j) - X^T (rowsum(K) * u_j)]
        ksum = k.sum(1, keepdim=True)
        grad_sum = (xd.T @ ku - xd.T @ (ksum * u)) * (-math.sqrt(m) / s**2) / lam  # (d, J)
        beta = -grad_sum / m
        score = psi @ beta.T
        if check:
            _stein_check(xd, score, j)
        return score.to(x.dtype)


def entropy_gradient_surrogate(x: torch.Tensor, *, bandwidth: float | str = "median",
                               eigen_cutoff: float = 0.99, ridge: float = 0.0,
                               check: bool = True) -> torch.Tensor:
    """A scalar S with grad_theta S = grad_theta H(X) for reparameterised samples x(theta).

    S = -(1/M) sum_m <stopgrad(score(x_m)), x_m>, the score estimated by
    :func:`ssge_score` (Wen et al. 2021, EGE). **The value of S is
    meaningless** (it is not an entropy, and not even invariant to shifts of
    x); only its gradient with respect to whatever produced x counts. Minimise
    ``-S`` to maximise entropy, ``S`` to minimise it.

    x : tensor (M, d) carrying the computation graph. ``check``: the Stein
    self-check of :func:`ssge_score` (an :class:`SSGEWarning` when it fails).
    """
    score = ssge_score(x, bandwidth=bandwidth, eigen_cutoff=eigen_cutoff, ridge=ridge,
                       check=check)
    return -(score * x).sum() / x.shape[0]


def mi_gradient_surrogate(x: torch.Tensor, y: torch.Tensor, *,
                          bandwidth: float | str = "median", eigen_cutoff: float = 0.99,
                          ridge: float = 0.0, check: bool = True) -> torch.Tensor:
    """A scalar whose gradient is grad I(X;Y) = grad H(X) + grad H(Y) - grad H(X, Y).

    One spectral Stein estimator per term (Wen et al., ICLR 2020, MIGE). x (M, dx)
    and y (M, dy) are paired rows. **The value is meaningless; only the
    gradient counts.**
    """
    if x.shape[0] != y.shape[0]:
        raise ValueError(f"x has {x.shape[0]} rows but y has {y.shape[0]}")
    kw = dict(bandwidth=bandwidth, eigen_cutoff=eigen_cutoff, ridge=ridge, check=check)
    x2 = x.reshape(x.shape[0], -1)
    y2 = y.reshape(y.shape[0], -1)
    return (entropy_gradient_surrogate(x2, **kw) + entropy_gradient_surrogate(y2, **kw)
            - entropy_gradient_surrogate(torch.cat([x2, y2], 1), **kw))
