"""Gaussian mixtures by EM: the capacity of a KNIFE chosen on held-out rows.

:func:`fit_mixture` fits a Gaussian mixture by expectation-maximisation (full
or diagonal covariances, full ones shrunk toward their diagonal) and
:func:`select_mixture` chooses the covariance type, number of kernels and
shrinkage by validation log-likelihood; :meth:`infocli.torch.KNIFE.from_mixture`
turns the winner into a KNIFE, the start of the gradient fit (the ``knife``
estimator's ``init=em``).
"""

from __future__ import annotations

import math
from typing import Sequence

import torch
from torch import Tensor
from torch.nn import functional as F

from .densities import _LOG_2PI, _check_choice

__all__ = ["fit_mixture", "select_mixture"]


def _component_log_pdf(x: Tensor, means: Tensor, scale: Tensor, diagonal: bool,
                       max_elements: int = 1 << 23) -> Tensor:
    """log N(x_i; b_m, S_m) for every row and kernel, shape (n, M), in float64.

    ``scale`` holds standard deviations (M, d) when ``diagonal``, else lower
    Cholesky factors (M, d, d) of the covariances. Rows are processed in chunks
    that keep the (M, d, rows) intermediate below ``max_elements``.
    """
    n, d = x.shape
    m = len(means)
    if diagonal:
        logdet = 2.0 * scale.log().sum(dim=1)
    else:
        logdet = 2.0 * torch.diagonal(scale, dim1=1, dim2=2).log().sum(dim=1)
    if diagonal:
        inv_var = scale.pow(-2)
        const = (means * means * inv_var).sum(dim=1)
    else:
        eye = torch.eye(d, dtype=scale.dtype, device=scale.device).expand_as(scale)
        prec = torch.linalg.solve_triangular(scale, eye, upper=False)
        shift = torch.einsum("mij,mj->mi", prec, means)
    chunk = max(1, max_elements // max(m * d, 1))
    out = []
    for i in range(0, n, chunk):
        xi = x[i:i + chunk]
        if diagonal:
            # sum_i (x_i - b_i)^2 / s_i^2 expanded into two (rows, d) x (d, M) products
            maha = (xi * xi) @ inv_var.T - 2.0 * xi @ (means * inv_var).T + const[None]
        else:
            # C_m^-1 (x - b_m) as one (rows, d) x (d, M d) product
            z = (xi @ prec.reshape(m * d, d).T).view(len(xi), m, d) - shift[None]
            maha = (z * z).sum(dim=2)
        out.append(-0.5 * (maha + logdet[None] + d * _LOG_2PI))
    return torch.cat(out) if out else x.new_zeros(0, m)


def _mixture_log_prob(x: Tensor, mix: dict) -> Tensor:
    """log f(x) of a mixture from :func:`fit_mixture`, shape (n,), float64."""
    comp = _component_log_pdf(x, mix["means"], mix["scale"], mix["covariance"] == "diag")
    return torch.logsumexp(comp + mix["weights"].log()[None], dim=1)


def _mixture_marginal(mix: dict, index: Sequence[int]) -> dict:
    """The exact marginal mixture of the coordinates ``index``."""
    idx = torch.as_tensor(list(index), dtype=torch.long)
    if mix["covariance"] == "diag":
        scale = mix["scale"][:, idx]
    else:
        cov = mix["scale"] @ mix["scale"].transpose(1, 2)
        scale = torch.linalg.cholesky(cov[:, idx][:, :, idx])
    return {"weights": mix["weights"], "means": mix["means"][:, idx], "scale": scale,
            "covariance": mix["covariance"]}


def _validation_score(v: Tensor, mix: dict, split: int | None) -> Tensor:
    """Per-row score of a candidate: log f(v), or with ``split`` (v = (x, y), x the
    first ``split`` columns) the sum of both conditional log-likelihoods
    log f(y|x) + log f(x|y) = 2 log f(x,y) - log f(x) - log f(y)."""
    joint = _mixture_log_prob(v, mix)
    if split is None:
        return joint
    d = v.shape[1]
    fx = _mixture_log_prob(v[:, :split], _mixture_marginal(mix, range(split)))
    fy = _mixture_log_prob(v[:, split:], _mixture_marginal(mix, range(split, d)))
    return 2.0 * joint - fx - fy


def _m_step(x: Tensor, resp: Tensor, covariance: str, shrinkage: float, reg: float) -> dict:
    """Weights, means and (shrunk) covariances from responsibilities (n, M)."""
    n, d = x.shape
    counts = resp.sum(dim=0) + 10 * torch.finfo(x.dtype).eps
    means = resp.T @ x / counts[:, None]
    m = len(means)
    if covariance == "diag":
        var = (resp.T @ (x * x) / counts[:, None] - means * means).clamp_min(0.0)
        scale = (var + reg).sqrt()
    else:
        eye = torch.eye(d, dtype=x.dtype, device=x.device)
        if d <= 16:  # second moments of all kernels as one (M, n) x (n, d^2) product
            outer = (x[:, :, None] * x[:, None, :]).reshape(n, d * d)
            second = (resp.T @ outer).reshape(m, d, d) / counts[:, None, None]
            covs = second - means[:, :, None] * means[:, None, :]
        else:
            covs = torch.stack([((x - means[k]) * resp[:, k:k + 1]).T @ (x - means[k])
                                for k in range(m)]) / counts[:, None, None]
        # MAP-style shrinkage toward each kernel's own diagonal: a kernel that owns
        # few rows gets a covariance closer to diagonal (weight kappa / (n_k + kappa))
        lam = (shrinkage / (counts + shrinkage) if shrinkage > 0
               else torch.zeros_like(counts))[:, None, None]
        diag = torch.diag_embed(torch.diagonal(covs, dim1=1, dim2=2))
        covs = (1.0 - lam) * covs + lam * diag + reg * eye
        scale = torch.linalg.cholesky(covs)
    return {"weights": counts / counts.sum(), "means": means, "scale": scale,
            "covariance": covariance}


def fit_mixture(x: Tensor, n_kernels: int, *, covariance: str = "full", shrinkage: float = 0.0,
                reg: float = 1e-6, max_iter: int = 60, tol: float = 1e-3,
                generator: torch.Generator | None = None) -> dict:
    """Gaussian mixture by expectation-maximisation (float64), seeded k-means start.

    A starting point for a :class:`KNIFE` (see :meth:`KNIFE.from_mixture`): the
    means start at ``n_kernels`` distinct random rows and take ten Lloyd
    (k-means) steps; then EM runs until the mean training log-likelihood gains
    less than ``tol`` nats per row (or ``max_iter`` iterations). ``shrinkage``
    (kappa >= 0) pulls each full covariance toward its own diagonal with weight
    kappa / (n_k + kappa), n_k the rows the kernel owns; ``reg`` is added to
    every variance (the data are expected standardised). Returns a dict with
    ``weights`` (M,), ``means`` (M, d), ``scale`` (std devs (M, d) for
    ``covariance="diag"``, lower Cholesky factors (M, d, d) for ``"full"``),
    ``covariance``, ``train_log_lik`` (mean over rows) and ``iterations``.
    """
    _check_choice("covariance", covariance, ("full", "diag"))
    x = torch.as_tensor(x).detach().to(torch.float64)
    n, d = x.shape
    m = int(min(n_kernels, n))
    idx = torch.randperm(n, generator=generator)[:m].to(x.device)
    centres = x[idx].clone()
    for _ in range(10 if m > 1 else 0):
        label = torch.cdist(x, centres).argmin(dim=1)
        sums = torch.zeros_like(centres).index_add_(0, label, x)
        sizes = torch.bincount(label, minlength=m).to(x.dtype)
        filled = sizes > 0  # an empty cluster keeps its centre
        centres[filled] = sums[filled] / sizes[filled, None]
    if m > 1:
        label = torch.cdist(x, centres).argmin(dim=1)
    else:
        label = torch.zeros(n, dtype=torch.long, device=x.device)
    resp = F.one_hot(label, m).to(x.dtype)
    mix = _m_step(x, resp, covariance, shrinkage, reg)
    previous, it = -math.inf, 0
    ll = previous
    for it in range(1, max_iter + 1):
        comp = _component_log_pdf(x, mix["means"], mix["scale"], covariance == "diag")
        joint = comp + mix["weights"].log()[None]
        row_ll = torch.logsumexp(joint, dim=1)
        ll = float(row_ll.mean())
        if m == 1 or ll - previous < tol:
            break
        previous = ll
        mix = _m_step(x, (joint - row_ll[:, None]).exp(), covariance, shrinkage, reg)
    mix["train_log_lik"] = ll
    mix["iterations"] = it
    return mix


def select_mixture(train: Sequence[Tensor], val: Sequence[Tensor], *,
                   n_kernels: int | None = None, covariance: str | None = None,
                   max_kernels: int = 128, rows_per_dim: float = 2.0,
                   shrinkages: Sequence[float] = (0.0, 0.5, 2.0, 8.0),
                   split: int | None = None,
                   generator: torch.Generator | None = None) -> tuple[list[dict], list[dict]]:
    """Choose a mixture's capacity by validation likelihood; one capacity for all groups.

    ``train`` and ``val`` are lists of standardised row sets, one per group
    (one group for an unconditional density, one per class for class
    labels); every group gets a mixture of the same capacity, and a capacity's
    score is the validation log-likelihood summed over all groups' rows.

    Candidates: the covariance type (``full`` and ``diag``, or the given
    ``covariance``), the number of kernels M = 1, 2, 4, ... doubled while the
    score improves (or the given ``n_kernels``), and for full covariances the
    shrinkage strength kappa = s * d for s in ``shrinkages`` (all of them at
    M = 1, then the previous size's best and its neighbours). M is capped by
    the rule that every kernel should own on average at least
    ``rows_per_dim * max(d, 10)`` training rows of its group (and at most
    ``max_kernels``): at n = 3,500 training rows that allows 128 kernels for
    d <= 10, 35 for d = 50 and 17 for d = 100, so a high-dimensional sample
    cannot buy more kernels than it can fit. M = 1 is always allowed.

    With ``split`` (the rows are (x, y), x the first ``split`` columns) the
    score is the validation log-likelihood of both conditionals,
    log f(y|x) + log f(x|y): the capacity that best predicts each side from
    the other, which is what an MI estimate from the fit needs (its error is
    KL(p(y) || f(y)) - E KL(p(y|x) || f(y|x))); a joint likelihood alone can
    prefer kernels that sharpen the marginals but blur the dependence.

    Returns (the mixtures of the best candidate, one per group; a list of
    every candidate tried with its validation score in nats per row).
    """
    d = train[0].shape[1]
    smallest = min(len(t) for t in train)
    n_val = sum(len(v) for v in val)
    cap = max(1, min(max_kernels, int(smallest // (rows_per_dim * max(d, 10)))))
    sizes = [n_kernels] if n_kernels is not None else [2 ** k for k in range(64) if 2 ** k <= cap]
    types = [covariance] if covariance is not None else ["full", "diag"]
    val64 = [torch.as_tensor(v).detach().to(torch.float64) for v in val]
    tried: list[dict] = []
    best: tuple[float, list[dict] | None] = (-math.inf, None)
    for cov in types:
        type_best, type_s = -math.inf, None
        for m in sizes:
            size_best, size_s = -math.inf, None
            # the whole shrinkage grid at the first size; then the best strength so
            # far and its neighbours in the grid (kappa / (n_k + kappa) already grows
            # as the kernels own fewer rows)
            if cov == "diag":
                grid: Sequence[float] = (0.0,)
            elif type_s is None:
                grid = shrinkages
            else:
                i = list(shrinkages).index(type_s)
                grid = shrinkages[max(i - 1, 0):i + 2]
            for s in grid:
                mixes = [fit_mixture(t, m, covariance=cov, shrinkage=s * d, generator=generator)
                         for t in train]
                score = sum(float(_validation_score(v, mix, split).sum())
                            for v, mix in zip(val64, mixes)) / max(n_val, 1)
                tried.append({"covariance": cov, "n_kernels": m, "shrinkage": s * d,
                              "validation_log_lik": score,
                              "em_iterations": max(mix["iterations"] for mix in mixes)})
                if score > size_best:
                    size_best, size_s = score, s
                if score > best[0]:
                    best = (score, mixes)
            if size_best <= type_best:
                break  # doubling stopped paying on held-out rows
            type_best, type_s = size_best, size_s
    assert best[1] is not None
    return best[1], tried
