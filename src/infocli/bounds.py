"""Neural variational MI bounds, their ReMINE-style penalties, ready critics,
and score-based gradient surrogates of entropy and MI (torch).

This module is the library side of the ``mine``, ``nwj``, ``infonce``,
``smile`` and ``js`` estimators (:mod:`infocli.estimators.neural`); it is
meant to be used inside training loops too. Every public name below is also
importable from ``infocli.nn``, beside the KNIFE modules.

Bounds on a critic score matrix
-------------------------------
Every bound takes ``scores``, a (B, B) tensor with ``scores[i, j] = T(x_i, y_j)``
for one batch: the diagonal scores the B joint pairs (samples of P = p(x, y)),
the B(B-1) off-diagonal entries score pairs of the product of marginals
(Q = p(x)p(y)). Values are in nats. With the optimal critic each bound equals
I(X;Y) (InfoNCE: as long as I <= log B).

=========  ====================================================================
``dv``     Donsker-Varadhan / MINE: mean(diag) - log mean_{i!=j} exp(T_ij)
           (Belghazi et al. 2018, eq. 10)
``nwj``    Nguyen-Wainwright-Jordan: mean(diag) - mean_{i!=j} exp(T_ij - 1)
           (Nguyen et al. 2010; Poole et al. 2019, eq. 10)
``infonce`` log B + mean_i [T_ii - logsumexp_j T_ij]  (<= log B; van den Oord
           et al. 2018, Poole et al. 2019, eq. 12)
``smile``  DV with the marginal scores clipped to [-tau, tau] (Song & Ermon
           2020, eq. 17; tau = 10); the critic is trained with the JS
           objective, as in the paper's experiments
``js``     the f-GAN Jensen-Shannon objective -mean softplus(-T_ii) -
           mean_{i!=j} softplus(T_ij) is what is maximised; it is not an MI
           value. Its optimal critic is log p/(p_x p_y), at which NWJ(T + 1)
           equals I, so the reported MI is ``nwj(scores + 1)`` (Poole et al.
           2019, sec. 2.4).
=========  ====================================================================

ReMINE regularisation (Choi & Lee, UAI 2022)
--------------------------------------------
DV is invariant to adding a constant to the critic, so the critic's scale can
drift until exp overflows; NWJ-type bounds suffer from the same drift through
the variance of their marginal term. :func:`penalty` adds
``lam * (log mean_{i!=j} exp(T_ij - s) - target) ** 2`` to the *loss*, with
``s = 1`` for NWJ (whose optimal critic has log E_Q[e^(T-1)] = 0) and ``s = 0``
otherwise (optimal DV/SMILE/InfoNCE/JS critics have log E_Q[e^T] = 0 at
``target = 0``). The penalty only shapes gradients: :func:`objective` returns
the training loss and, separately, the unregularised bound, which is the value
to report.

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
from typing import Sequence

import torch
from torch import nn

__all__ = [
    "BOUNDS",
    "dv_bound",
    "nwj_bound",
    "infonce_bound",
    "smile_bound",
    "js_objective",
    "js_mi",
    "bound_value",
    "penalty",
    "objective",
    "critic_offset",
    "ConcatCritic",
    "SeparableCritic",
    "make_critic",
    "median_bandwidth",
    "ssge_score",
    "SSGEWarning",
    "STEIN_TOLERANCE",
    "entropy_gradient_surrogate",
    "mi_gradient_surrogate",
]

#: Bound names accepted by :func:`bound_value`, :func:`penalty` and
#: :func:`objective` (``mine`` is an alias of ``dv``).
BOUNDS = ("dv", "mine", "nwj", "infonce", "smile", "js")


# ----------------------------------------------------------------------------
# Bounds on a (B, B) score matrix
# ----------------------------------------------------------------------------
def _check_scores(scores: torch.Tensor) -> int:
    if scores.ndim != 2 or scores.shape[0] != scores.shape[1] or scores.shape[0] < 2:
        raise ValueError(
            f"scores: expected a square (B, B) matrix with B >= 2, got shape {tuple(scores.shape)}"
        )
    return scores.shape[0]


def _diag_offdiag(scores: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    b = _check_scores(scores)
    mask = ~torch.eye(b, dtype=torch.bool, device=scores.device)
    return scores.diagonal(), scores[mask]


def _log_mean_exp(t: torch.Tensor) -> torch.Tensor:
    return torch.logsumexp(t, dim=0) - math.log(t.numel())


def dv_bound(scores: torch.Tensor) -> torch.Tensor:
    """Donsker-Varadhan (MINE) bound: mean(diag) - log mean_{i!=j} exp(scores_ij)."""
    joint, marginal = _diag_offdiag(scores)
    return joint.mean() - _log_mean_exp(marginal)


def nwj_bound(scores: torch.Tensor) -> torch.Tensor:
    """NWJ bound: mean(diag) - mean_{i!=j} exp(scores_ij - 1)."""
    joint, marginal = _diag_offdiag(scores)
    return joint.mean() - torch.exp(marginal - 1.0).mean()


def infonce_bound(scores: torch.Tensor) -> torch.Tensor:
    """InfoNCE bound: log B + mean_i (scores_ii - logsumexp_j scores_ij); never above log B."""
    b = _check_scores(scores)
    return math.log(b) + (scores.diagonal() - torch.logsumexp(scores, dim=1)).mean()


def smile_bound(scores: torch.Tensor, clip: float = 10.0) -> torch.Tensor:
    """SMILE: DV with the marginal scores clipped to [-clip, clip]."""
    joint, marginal = _diag_offdiag(scores)
    return joint.mean() - _log_mean_exp(marginal.clamp(-clip, clip))


def js_objective(scores: torch.Tensor) -> torch.Tensor:
    """f-GAN Jensen-Shannon objective -mean softplus(-diag) - mean_{i!=j} softplus(scores_ij).

    Maximised to train a critic; not an MI value (see :func:`js_mi`).
    """
    joint, marginal = _diag_offdiag(scores)
    return -nn.functional.softplus(-joint).mean() - nn.functional.softplus(marginal).mean()


def js_mi(scores: torch.Tensor) -> torch.Tensor:
    """MI reported for a JS-trained critic: NWJ evaluated at scores + 1."""
    return nwj_bound(scores + 1.0)


def _canonical(bound: str) -> str:
    name = "dv" if bound == "mine" else bound
    if name not in BOUNDS:
        raise ValueError(f"bound {bound!r}: expected one of {', '.join(BOUNDS)}")
    return name


def bound_value(scores: torch.Tensor, bound: str, *, clip: float = 10.0) -> torch.Tensor:
    """The MI lower bound ``bound`` (see :data:`BOUNDS`) of a score matrix, in nats."""
    name = _canonical(bound)
    if name == "dv":
        return dv_bound(scores)
    if name == "nwj":
        return nwj_bound(scores)
    if name == "infonce":
        return infonce_bound(scores)
    if name == "smile":
        return smile_bound(scores, clip)
    return js_mi(scores)


def penalty(scores: torch.Tensor, bound: str, *, lam: float = 1.0,
            target: float = 0.0) -> torch.Tensor:
    """ReMINE-style penalty ``lam * (log mean_{i!=j} exp(scores_ij - s) - target) ** 2``.

    ``s = 1`` for ``nwj``, 0 for the other bounds (Choi & Lee 2022, eq. 9 for DV).
    Add it to the loss; never to the reported value.
    """
    name = _canonical(bound)
    _, marginal = _diag_offdiag(scores)
    shift = 1.0 if name == "nwj" else 0.0
    return lam * (_log_mean_exp(marginal - shift) - target) ** 2


def objective(scores: torch.Tensor, bound: str, *, regularize: str = "none",
              lam: float = 1.0, target: float = 0.0, clip: float = 10.0,
              offset: torch.Tensor | None = None) -> tuple[torch.Tensor, torch.Tensor]:
    """Training loss and reported value of one batch.

    Returns ``(loss, value)``: ``loss`` is what to minimise (minus the training
    objective, plus the penalty when ``regularize="remine"``); ``value`` is the
    unregularised bound (detached), the same whatever ``regularize``, ``lam``,
    ``target`` and ``offset`` are.

    ``offset``: the critic's additive output constant (a scalar tensor already
    included in ``scores``, e.g. ``SeparableCritic.c`` or the last bias of a
    ``ConcatCritic``; see :func:`critic_offset`). With ``regularize="remine"``
    and an offset, the penalty's gradient reaches the offset only and the
    bound's gradient everything else (JS-trained ``js``/``smile`` train on
    ``scores - offset``): DV and InfoNCE are blind to the offset, so the penalty
    then fixes the scale without bending the critic's shape. Without an offset
    the penalty acts on the whole critic, as in Choi & Lee (2022). ``nwj``
    ignores ``offset``: its gradient E_Q[e^(T-1) grad T] is not normalised, and
    with only the offset restrained the critic's scale ran away (fresh-sample
    training at I = 8, batch 64: non-finite in 3 of 3 seeds; whole-critic
    penalty: finite). On the d = 20 staircase (batch 64, held-out rows)
    routing through the offset moved ReMINE-MINE from 6.17 to 7.47 nats and
    ReMINE-SMILE from 3.82 to 7.85 at I = 8.
    """
    name = _canonical(bound)
    if regularize not in ("none", "remine"):
        raise ValueError(f"regularize {regularize!r}: expected none or remine")
    value = bound_value(scores, name, clip=clip)
    js_trained = name in ("js", "smile")
    if regularize == "remine" and offset is not None and name != "nwj":
        free = scores - offset                       # the critic without its offset
        trained_on = free if js_trained else free + offset.detach()
        penalised = scores.detach() + (offset - offset.detach())
    else:
        trained_on = penalised = scores
    # JS and SMILE train the critic with the JS objective: maximising the
    # clipped DV itself is unbounded (shifting every score up raises the joint
    # term while the clipped marginal term saturates).
    if js_trained:
        loss = -js_objective(trained_on)
    else:
        loss = -(value if trained_on is scores else bound_value(trained_on, name, clip=clip))
    if regularize == "remine":
        loss = loss + penalty(penalised, name, lam=lam, target=target)
    return loss, value.detach()


def critic_offset(critic: nn.Module) -> torch.Tensor | None:
    """The additive output constant of a ready critic (for :func:`objective`), else None."""
    if isinstance(critic, SeparableCritic):
        return critic.c
    if isinstance(critic, ConcatCritic):
        return critic.rest[-1].bias
    return None


# ----------------------------------------------------------------------------
# Critics
# ----------------------------------------------------------------------------
def _mlp(sizes: Sequence[int]) -> nn.Sequential:
    layers: list[nn.Module] = []
    for a, b in zip(sizes[:-1], sizes[1:]):
        layers += [nn.Linear(a, b), nn.ReLU()]
    return nn.Sequential(*layers[:-1])


class ConcatCritic(nn.Module):
    """T(x, y) = MLP([x, y]) scored on all B x B pairs of a batch.

    ``forward(x, y)`` with x (B, dx) and y (B, dy) returns (B, B) scores,
    ``scores[i, j] = T(x_i, y_j)``. The first layer is split into its x and y
    halves and broadcast, so the concatenated (B*B, dx+dy) input is never built.
    """

    def __init__(self, x_dim: int, y_dim: int, hidden: Sequence[int] = (128, 128)):
        super().__init__()
        hidden = tuple(int(h) for h in hidden)
        if not hidden:
            raise ValueError("hidden: expected at least one hidden layer")
        self.fx = nn.Linear(x_dim, hidden[0])
        self.fy = nn.Linear(y_dim, hidden[0], bias=False)
        self.rest = _mlp((*hidden, 1))

    def forward(self, x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        h = torch.relu(self.fx(x)[:, None, :] + self.fy(y)[None, :, :])
        return self.rest(h).squeeze(-1)


class SeparableCritic(nn.Module):
    """T(x, y) = g(x) . h(y) + c with two MLPs ending in ``embed_dim`` features.

    The scalar c lets the critic shift its scale freely, which is what the
    ReMINE penalty asks of it (DV is invariant to the shift).
    """

    def __init__(self, x_dim: int, y_dim: int, hidden: Sequence[int] = (128, 128),
                 embed_dim: int = 32):
        super().__init__()
        hidden = tuple(int(h) for h in hidden)
        self.g = _mlp((x_dim, *hidden, embed_dim))
        self.h = _mlp((y_dim, *hidden, embed_dim))
        self.c = nn.Parameter(torch.zeros(()))

    def forward(self, x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        return self.g(x) @ self.h(y).T + self.c


def make_critic(kind: str, x_dim: int, y_dim: int, hidden: Sequence[int] = (128, 128),
                embed_dim: int = 32) -> nn.Module:
    """A ready critic: ``kind`` is ``"concat"`` or ``"separable"``."""
    if kind == "concat":
        return ConcatCritic(x_dim, y_dim, hidden)
    if kind == "separable":
        return SeparableCritic(x_dim, y_dim, hidden, embed_dim)
    raise ValueError(f"critic {kind!r}: expected concat or separable")


# ----------------------------------------------------------------------------
# Spectral Stein gradient estimator and the EGE / MIGE surrogates
# ----------------------------------------------------------------------------
def median_bandwidth(x: torch.Tensor) -> torch.Tensor:
    """Median of the pairwise Euclidean distances between rows of x (i != j)."""
    dist = torch.cdist(x, x)
    m = x.shape[0]
    off = dist[~torch.eye(m, dtype=torch.bool, device=x.device)]
    return off.median()


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
        s = median_bandwidth(xd) if bandwidth == "median" else torch.tensor(
            float(bandwidth), dtype=xd.dtype, device=xd.device)
        if not torch.isfinite(s) or s <= 0:
            raise ValueError(f"bandwidth {float(s)!r}: expected a positive number "
                             "(are all samples identical?)")
        sq = torch.cdist(xd, xd) ** 2
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
