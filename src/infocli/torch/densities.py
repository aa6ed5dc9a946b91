"""KNIFE densities as torch modules: estimators that can also be training losses.

KNIFE (Pichler, Colombo, Boudiaf, Koliander & Piantanida, "A Differential
Entropy Estimator for Training Neural Networks", ICML 2022) models a density
as a mixture of M Gaussian kernels (paper eq. 4):

    log f(x) = -(d/2) log 2pi
               + logsumexp_m [ log softmax(w)_m + sum_i l_mi - 1/2 |A_m (x - b_m)|^2 ]

with means ``b_m``, precision factors ``A_m = (I + L_m) D_m``, ``L_m`` strictly
lower triangular and ``D_m = diag(exp(l_m))`` (so log|det A_m| = sum_i l_mi).
The parameters are fitted by minimising the cross-entropy ``mean(-log f)``
on samples; on held-out samples that mean estimates the differential entropy
(in nats, an upper bound in expectation).

The modules:

* ``KNIFE``: unconditional density f(x); ``forward(x)`` is the cross-entropy.
* ``ClassConditionalKNIFE``: f(x | y) for class labels y: one independent kernel set
  per class.
* ``ConditionalKNIFE``: f(x | y) for continuous y: small feed-forward networks map y
  to the kernel means, log-diagonals and weight logits (triangular factors are
  learned per kernel, shared across y).
* ``KNIFEMI``: I(X;Y) as a differentiable value for use as a regulariser with the
  two-optimiser pattern; its default form cannot be pushed below 0 (see
  :class:`KNIFEMI`).
* ``batch_kde_mi``: the KDE limit of ``KNIFEMI`` for class labels - kernels at
  the batch's own codes, nothing to fit - the regulariser to train with.

:func:`fit_density` fits any of them by Adam with early stopping;
:meth:`KNIFE.from_mixture` starts a KNIFE at a mixture fitted by EM
(:mod:`infocli.torch.mixture`) and :meth:`KNIFE.marginal` gives the exact
marginal density of a subset of coordinates.

Every density is written with batched contractions (``einsum``): the product
of the precision factors with the data is one matrix product over all
kernels, never a broadcast matmul over (rows x kernels).
"""

from __future__ import annotations

import copy
import math
from typing import Callable, Sequence

import torch
from torch import Tensor, nn
from torch.nn import functional as F

from ..errors import EstimationError, InputError, ParameterError

__all__ = ["KNIFE", "ClassConditionalKNIFE", "ConditionalKNIFE", "KNIFEMI", "KNIFEMI_FORMS",
           "knife_mi", "batch_kde_mi", "fit_density", "log_prob_chunked"]

_LOG_2PI = math.log(2.0 * math.pi)

#: progress(epoch, max_epochs, train_loss, val_loss)
EpochFn = Callable[[int, int, float, float], None]


def _check_choice(name: str, value: str, choices: tuple[str, ...]) -> None:
    if value not in choices:
        raise ParameterError(f"{name}={value!r}: expected one of {', '.join(choices)}")


def _init_means(n_kernels: int, dim: int, init_samples: Tensor | None, init_std: float,
                generator: torch.Generator | None) -> Tensor:
    """Kernel means: rows drawn from ``init_samples`` (with replacement when there
    are fewer rows than kernels), else ``init_std`` * N(0, I)."""
    if init_samples is None:
        return init_std * torch.randn(n_kernels, dim, generator=generator)
    init_samples = torch.as_tensor(init_samples, dtype=torch.get_default_dtype())
    if init_samples.ndim != 2 or init_samples.shape[1] != dim or len(init_samples) == 0:
        raise InputError(
            f"init_samples must have shape (n, {dim}) with n >= 1, got {tuple(init_samples.shape)}")
    n = len(init_samples)
    if n >= n_kernels:
        idx = torch.randperm(n, generator=generator)[:n_kernels]
    else:
        idx = torch.randint(n, (n_kernels,), generator=generator)
    return init_samples[idx].detach().clone()


class KNIFE(nn.Module):
    """Mixture of Gaussian kernels f(x) with learnable parameters (KNIFE, eq. 4).

    Parameters
    ----------
    dim : int
        Dimension d of x.
    n_kernels : int
        Number of kernels M (reference default 128).
    covariance : {"full", "diag"}
        ``full``: precision factors (I + L) D with a learnable strictly lower
        triangular L; ``diag``: D only.
    weights : {"learnable", "uniform"}
        Learnable softmax mixture weights, or fixed 1/M.
    init_samples : tensor, shape (n, d), optional
        Means start at M of these rows (the reference initialisation); without
        it they start at ``init_std`` * N(0, I).
    init_std : float
        Scale of the random initial log-diagonals and triangular entries
        (kernels start with unit bandwidth, up to this noise).
    generator : torch.Generator, optional
        Source of the random initial values.

    Attributes (after :meth:`fit`)
    ------------------------------
    epochs_run_, best_epoch_, best_val_loss_, history_
    """

    def __init__(self, dim: int, n_kernels: int = 128, *, covariance: str = "full",
                 weights: str = "learnable", init_samples: Tensor | None = None,
                 init_std: float = 0.01, generator: torch.Generator | None = None) -> None:
        super().__init__()
        _check_choice("covariance", covariance, ("full", "diag"))
        _check_choice("weights", weights, ("learnable", "uniform"))
        if dim < 1 or n_kernels < 1:
            raise ParameterError(f"KNIFE needs dim >= 1 and n_kernels >= 1, got {dim}, {n_kernels}")
        self.dim, self.n_kernels = int(dim), int(n_kernels)
        self.covariance, self.weights = covariance, weights
        self.means = nn.Parameter(_init_means(n_kernels, dim, init_samples, init_std, generator))
        self.log_diag = nn.Parameter(init_std * torch.randn(n_kernels, dim, generator=generator))
        if covariance == "full":
            n_off = dim * (dim - 1) // 2
            self.tril = nn.Parameter(init_std * torch.randn(n_kernels, n_off, generator=generator))
        else:
            self.register_parameter("tril", None)
        self.logits = nn.Parameter(torch.zeros(n_kernels), requires_grad=weights == "learnable")
        self.register_buffer("_tril_idx", torch.tril_indices(dim, dim, offset=-1), persistent=False)

    def config(self) -> dict:
        """Constructor arguments (for saving and rebuilding)."""
        return {"dim": self.dim, "n_kernels": self.n_kernels, "covariance": self.covariance,
                "weights": self.weights}

    @classmethod
    def from_mixture(cls, mixture: dict, *, weights: str = "learnable") -> "KNIFE":
        """A KNIFE holding a Gaussian mixture exactly (e.g. one from :func:`fit_mixture`).

        ``mixture`` has ``weights`` (M,), ``means`` (M, d), ``covariance``
        (``full`` or ``diag``) and ``scale``: standard deviations (M, d) or lower
        Cholesky factors C_m (M, d, d) of the covariances. The precision factor
        is A_m = C_m^-1 (lower triangular), so D_m = diag(A_m) and
        L_m = A_m D_m^-1 - I.
        """
        means = torch.as_tensor(mixture["means"], dtype=torch.float64)
        m, d = means.shape
        module = cls(d, m, covariance=mixture["covariance"], weights=weights)
        scale = torch.as_tensor(mixture["scale"], dtype=torch.float64)
        with torch.no_grad():
            module.means.copy_(means)
            w = torch.as_tensor(mixture["weights"], dtype=torch.float64)
            if weights == "learnable":
                module.logits.copy_(w.clamp_min(1e-300).log())
            if mixture["covariance"] == "diag":
                module.log_diag.copy_(-scale.log())
            else:
                eye = torch.eye(d, dtype=torch.float64).expand(m, d, d)
                a = torch.linalg.solve_triangular(scale, eye, upper=False)
                diag = torch.diagonal(a, dim1=1, dim2=2)
                module.log_diag.copy_(diag.log())
                unit = a / diag[:, None, :]
                module.tril.copy_(unit[:, module._tril_idx[0], module._tril_idx[1]])
        return module

    def covariances(self) -> Tensor:
        """Kernel covariances (A_m^T A_m)^-1 in float64, shape (M, d, d)."""
        a = self.precision_factors().detach().to(torch.float64)
        eye = torch.eye(self.dim, dtype=torch.float64, device=a.device).expand_as(a)
        c = torch.linalg.solve_triangular(a, eye, upper=False)  # A^-1, lower triangular
        return c @ c.transpose(1, 2)

    def marginal(self, index: Sequence[int]) -> "KNIFE":
        """The exact marginal density of the coordinates ``index``: a KNIFE with the
        same weights, the means' and covariances' sub-blocks (so the marginal of a
        fitted joint shares its kernels, and errors of the joint and its marginals
        are those of one fit)."""
        idx = torch.as_tensor(list(index), dtype=torch.long)
        means = self.means.detach().to(torch.float64)[:, idx]
        weights = F.softmax(self.logits.detach().to(torch.float64), dim=0)
        if self.tril is None:
            sd = (-self.log_diag.detach().to(torch.float64)).exp()[:, idx]
            mix = {"weights": weights, "means": means, "scale": sd, "covariance": "diag"}
        else:
            cov = self.covariances()[:, idx][:, :, idx]
            mix = {"weights": weights, "means": means, "scale": torch.linalg.cholesky(cov),
                   "covariance": "full"}
        out = KNIFE.from_mixture(mix, weights=self.weights).to(self.means.device)
        return out.to(self.means.dtype)

    def precision_factors(self) -> Tensor:
        """A_m = (I + L_m) D_m, shape (M, d, d)."""
        scale = self.log_diag.exp()
        if self.tril is None:
            return torch.diag_embed(scale)
        lower = self.log_diag.new_zeros(self.n_kernels, self.dim, self.dim)
        lower[:, self._tril_idx[0], self._tril_idx[1]] = self.tril
        eye = torch.eye(self.dim, dtype=lower.dtype, device=lower.device)
        return (eye + lower) * scale[:, None, :]

    def log_prob(self, x: Tensor) -> Tensor:
        """log f(x) in nats for each row of x, shape (n, d) -> (n,)."""
        if x.ndim != 2 or x.shape[1] != self.dim:
            raise InputError(f"KNIFE expects x of shape (n, {self.dim}), got {tuple(x.shape)}")
        if self.tril is None:
            # diagonal A: an elementwise product, no contraction needed
            u = (x[:, None, :] - self.means) * self.log_diag.exp()
        else:
            a = self.precision_factors()
            # A_m (x - b_m) = A_m x - A_m b_m: one (n, d) x (d, M d) product
            u = torch.einsum("nj,mij->nmi", x, a) - torch.einsum("mij,mj->mi", a, self.means)
        log_terms = (F.log_softmax(self.logits, dim=0) + self.log_diag.sum(dim=1)
                     - 0.5 * (u * u).sum(dim=2))
        return torch.logsumexp(log_terms, dim=1) - 0.5 * self.dim * _LOG_2PI

    def forward(self, x: Tensor) -> Tensor:
        """Cross-entropy mean(-log f(x)) in nats (the KNIFE entropy estimate)."""
        return -self.log_prob(x).mean()

    def fit(self, x: Tensor, *, x_val: Tensor | None = None, **options) -> "KNIFE":
        """Minimise the cross-entropy on ``x`` (early stopping on ``x_val``); see
        :func:`fit_density` for the options. Returns self."""
        return fit_density(self, (x,), None if x_val is None else (x_val,), **options)


class ClassConditionalKNIFE(nn.Module):
    """f(x | y) for integer class labels y in 0..C-1: one :class:`KNIFE` per class.

    ``init_samples`` / ``init_labels`` initialise each class's means from its
    own rows; without ``init_labels`` (or for a class with no labelled rows)
    every class starts from all of ``init_samples``. Other parameters as in
    :class:`KNIFE`.
    """

    def __init__(self, dim: int, n_classes: int, n_kernels: int = 128, *,
                 covariance: str = "full", weights: str = "learnable",
                 init_samples: Tensor | None = None, init_labels: Tensor | None = None,
                 init_std: float = 0.01, generator: torch.Generator | None = None) -> None:
        super().__init__()
        if n_classes < 1:
            raise ParameterError(f"n_classes must be >= 1, got {n_classes}")
        self.dim, self.n_classes, self.n_kernels = int(dim), int(n_classes), int(n_kernels)
        self.covariance, self.weights = covariance, weights
        if init_labels is not None:
            if init_samples is None:
                raise ParameterError("init_labels needs init_samples (the rows they label)")
            init_labels = torch.as_tensor(init_labels).reshape(-1)
            if len(init_labels) != len(init_samples):
                raise InputError(f"init_samples has {len(init_samples)} rows but init_labels "
                                 f"has {len(init_labels)}")
        kernels = []
        for c in range(n_classes):
            # a class starts at its own rows; without labels (or without rows of its
            # own) at all rows - never at the origin when samples were given, which
            # would start the conditional far from the marginal
            rows = init_samples
            if init_samples is not None and init_labels is not None:
                own = init_samples[init_labels.to(init_samples.device) == c]
                if len(own):
                    rows = own
            kernels.append(KNIFE(dim, n_kernels, covariance=covariance, weights=weights,
                                 init_samples=rows, init_std=init_std, generator=generator))
        self.kernels = nn.ModuleList(kernels)

    def config(self) -> dict:
        return {"dim": self.dim, "n_classes": self.n_classes, "n_kernels": self.n_kernels,
                "covariance": self.covariance, "weights": self.weights}

    def log_prob(self, x: Tensor, y: Tensor) -> Tensor:
        """log f(x_i | y_i), shape (n,); y holds integer class codes."""
        y = y.reshape(-1).long()
        if len(y) != len(x):
            raise InputError(f"x has {len(x)} rows but y has {len(y)}")
        if len(y) and (int(y.min()) < 0 or int(y.max()) >= self.n_classes):
            raise InputError(f"class codes must lie in 0..{self.n_classes - 1}")
        out = x.new_zeros(len(x))
        for c in torch.unique(y).tolist():
            rows = torch.nonzero(y == c).squeeze(1)
            out = out.index_put((rows,), self.kernels[c].log_prob(x[rows]))
        return out

    def log_prob_classes(self, x: Tensor) -> Tensor:
        """log f(x_i | c) for every row and every class, shape (n, n_classes)."""
        return torch.stack([k.log_prob(x) for k in self.kernels], dim=1)

    def forward(self, x: Tensor, y: Tensor) -> Tensor:
        """Conditional cross-entropy mean(-log f(x | y)) in nats."""
        return -self.log_prob(x, y).mean()

    def fit(self, x: Tensor, y: Tensor, *, x_val: Tensor | None = None,
            y_val: Tensor | None = None, **options) -> "ClassConditionalKNIFE":
        """Fit all classes jointly (their parameters are disjoint); see :func:`fit_density`."""
        val = None if x_val is None else (x_val, y_val)
        return fit_density(self, (x, y), val, **options)


class ConditionalKNIFE(nn.Module):
    """f(x | y) for continuous y: networks map y to the kernel parameters.

    A shared hidden layer (``hidden`` tanh units) feeds one linear head per
    y-dependent kernel parameter: means (plus a linear skip from y, so that a
    mean linear in y is exact), log-diagonals and weight logits (if
    learnable). With ``covariance="full"`` each kernel also has a strictly
    lower triangular factor L_m, learned but *not* a function of y: the
    precision factor is (I + L_m) D_m(y). (The reference maps y to L as well;
    that costs n x M x d^2 network outputs per batch and a batched matvec per
    row, about 5x the time of the whole fit at d = 20, so here the
    correlation shape of each kernel is shared across y while its scales,
    location and weight follow y.) The heads start near zero, so every kernel
    starts with unit bandwidth and the means start at rows of ``init_samples``
    (or at ``init_std`` noise).
    """

    def __init__(self, dim: int, cond_dim: int, n_kernels: int = 16, *, hidden: int = 64,
                 covariance: str = "full", weights: str = "learnable",
                 init_samples: Tensor | None = None, init_std: float = 0.01,
                 generator: torch.Generator | None = None) -> None:
        super().__init__()
        _check_choice("covariance", covariance, ("full", "diag"))
        _check_choice("weights", weights, ("learnable", "uniform"))
        self.dim, self.cond_dim, self.n_kernels = int(dim), int(cond_dim), int(n_kernels)
        self.hidden, self.covariance, self.weights = int(hidden), covariance, weights
        m, d = self.n_kernels, self.dim

        def linear(n_in: int, n_out: int, scale: float) -> nn.Linear:
            layer = nn.Linear(n_in, n_out)
            with torch.no_grad():
                layer.weight.copy_(scale * torch.randn(n_out, n_in, generator=generator))
                layer.bias.zero_()
            return layer

        self.trunk = linear(cond_dim, hidden, 1.0 / math.sqrt(cond_dim))
        self.mean_head = linear(hidden, m * d, init_std)
        self.mean_skip = linear(cond_dim, m * d, init_std)
        with torch.no_grad():
            self.mean_head.bias.copy_(
                _init_means(m, d, init_samples, init_std, generator).reshape(-1))
        self.diag_head = linear(hidden, m * d, init_std)
        self.logit_head = linear(hidden, m, init_std) if weights == "learnable" else None
        if covariance == "full" and d > 1:
            n_off = d * (d - 1) // 2
            self.tril = nn.Parameter(init_std * torch.randn(m, n_off, generator=generator))
        else:
            self.register_parameter("tril", None)
        self.register_buffer("_tril_idx", torch.tril_indices(d, d, offset=-1), persistent=False)

    def config(self) -> dict:
        return {"dim": self.dim, "cond_dim": self.cond_dim, "n_kernels": self.n_kernels,
                "hidden": self.hidden, "covariance": self.covariance, "weights": self.weights}

    def log_prob(self, x: Tensor, y: Tensor) -> Tensor:
        """log f(x_i | y_i), shape (n,); x (n, d), y (n, cond_dim)."""
        n, m, d = len(x), self.n_kernels, self.dim
        if x.ndim != 2 or x.shape[1] != d or y.ndim != 2 or y.shape[1] != self.cond_dim:
            raise InputError(f"ConditionalKNIFE expects x (n, {d}) and y (n, {self.cond_dim}), "
                             f"got {tuple(x.shape)} and {tuple(y.shape)}")
        h = torch.tanh(self.trunk(y))
        means = (self.mean_head(h) + self.mean_skip(y)).view(n, m, d)
        log_diag = self.diag_head(h).view(n, m, d)
        u = (x[:, None, :] - means) * log_diag.exp()  # D(y) (x - b(y))
        if self.tril is not None:
            lower = self.tril.new_zeros(m, d, d)
            lower[:, self._tril_idx[0], self._tril_idx[1]] = self.tril
            u = u + torch.einsum("mij,nmj->nmi", lower, u)  # (I + L) D (x - b): one bmm over m
        if self.logit_head is not None:
            log_w = F.log_softmax(self.logit_head(h), dim=1)
        else:
            log_w = x.new_full((n, m), -math.log(m))
        log_terms = log_w + log_diag.sum(dim=2) - 0.5 * (u * u).sum(dim=2)
        return torch.logsumexp(log_terms, dim=1) - 0.5 * d * _LOG_2PI

    def forward(self, x: Tensor, y: Tensor) -> Tensor:
        """Conditional cross-entropy mean(-log f(x | y)) in nats."""
        return -self.log_prob(x, y).mean()

    def fit(self, x: Tensor, y: Tensor, *, x_val: Tensor | None = None,
            y_val: Tensor | None = None, **options) -> "ConditionalKNIFE":
        """See :func:`fit_density`. Returns self."""
        val = None if x_val is None else (x_val, y_val)
        return fit_density(self, (x, y), val, **options)


#: MI forms of :class:`KNIFEMI` (see its docstring); the first is the default.
KNIFEMI_FORMS = ("posterior", "pooled", "difference")


class KNIFEMI(nn.Module):
    """I(X;Y) from KNIFE densities as a differentiable value (a training regulariser).

    Which to use: for class labels y, prefer :func:`batch_kde_mi` (kernels at
    the batch's own whitened codes and at reference rows, permutation-
    debiased; nothing to fit). In the fair-classification benchmark it
    met every target for both a stochastic (BatchNorm + noise) and a plain
    deterministic encoder on two seeds; this module with fitted kernels met
    them only for the stochastic encoder on seed 0 (seed 1: probe 0.539 at
    chance 0.506), and left a plain encoder 0.03-0.12 nats of I(Z;S), because
    the network learns to chase the noise of kernels fitted by a second
    optimiser. Use this module for continuous y (``y_dim``), which
    :func:`batch_kde_mi` does not handle, or when the fitted densities
    themselves are wanted.

    ``forward(x, y)`` returns the MI estimate of the batch in nats as a
    differentiable tensor; ``kernel_loss(x, y)`` is the cross-entropy the kernel
    parameters minimise. The two-optimiser pattern::

        mi = KNIFEMI(z_dim, n_classes=n_nuisance, init_samples=z0, init_labels=s0)
        opt_net = torch.optim.Adam(net.parameters(), lr=1e-3)
        opt_mi = torch.optim.Adam(mi.parameters(), lr=1e-3)
        for x, target, nuisance in loader:
            z = net(x)
            # 1. the kernels learn the current representation (z detached; three
            #    updates, so that they keep up with the network)
            mi.fit_kernels(z, nuisance, opt_mi, steps=3)
            # 2. the network minimises task loss + beta * I(Z; nuisance)
            opt_net.zero_grad()
            (task_loss(z, target) + beta * mi(z, nuisance)).backward()
            opt_net.step()

    Step 2 also leaves gradients on the kernel parameters; ``opt_mi.zero_grad()``
    discards them before they are used.

    Forms (``form``). Write f(x|c) for the fitted conditional density of class
    c (for continuous y: of the batch's row c, c = 1..B, i.e. f(x | y_c)) and
    p(c) for the batch frequency of class c (continuous y: 1/B). The fitted
    posterior is q(c|x) = p(c) f(x|c) / sum_c' p(c') f(x|c').

    ``posterior`` (default)
        mean_i KL(q(.|x_i) || p) = mean_i sum_c q(c|x_i) log(q(c|x_i) / p(c)).
        With the true densities its expectation is I(X;Y) (I = E_x KL(p(y|x) ||
        p(y))). It is a KL divergence, so it is never negative whatever the
        kernels and the network do, and never above H(Y) (log B for continuous
        y). A network that minimises it can only push the kernels' posterior
        toward the prior - make the classes indistinguishable to the
        density - and gains nothing by moving its codes where the density is
        poor. The price: an imperfect or overfitted density gives a small
        positive value at independence (the KL of noise), which only
        penalises a little more than needed. This is the form to train with.
    ``pooled``
        mean_i [log f(x_i|y_i) - log sum_c p(c) f(x_i|c)] = mean_i log q(y_i|x_i)
        - log p(y_i): the ``knife`` estimator's default for labels. Bounded
        above by H(Y) (log B), and a lower bound on I in expectation (Barber &
        Agakov) - so it *can* be negative: a network minimising it gains from
        making the posterior confidently wrong. Evaluation, not training.
    ``difference``
        mean_i log f(x_i|y_i) - log g(x_i) with a separately fitted marginal g
        (the paper's eq. 8). Unbounded below: in a fair-classification run the
        network drove it to -0.58 nats on average (true MI >= 0) by inflating
        its code's scale 17-fold. Kept for comparison with the paper.

    With continuous y (``y_dim``), ``posterior`` and ``pooled`` evaluate the
    conditional density on all B x B pairs of the batch (B^2 M d work).

    Standardisation (``standardize=True``, default): every call standardises x
    with its batch's mean and SD per coordinate (differentiably) before the
    densities see it, and ``init_samples`` with their own. I(X;Y) does not
    change under affine maps of each coordinate of X; a density estimate does,
    and a network can outrun kernels that chase its scale. In a fair-
    classification run (plain MLP encoder, beta = 1, 15 epochs, three kernel
    updates per batch) held-out I(Z;S) was 0.12 nats (probe accuracy 0.64,
    chance 0.50) with raw codes and 0.04 (probe 0.52) standardised.
    ``standardize=False`` is the paper's form.

    Initialisation: ``init_samples`` (n, x_dim) start the marginal's and the
    conditionals' means at data rows; with class labels pass ``init_labels``
    (n,) too, so each class starts at its own rows (without them every class
    starts at all rows). Started at the origin while the data sit elsewhere, the
    conditionals would give a large negative ``difference`` value at the start
    (z = 5 + N(0, I_4): -49.8 nats).
    """

    def __init__(self, x_dim: int, y_dim: int | None = None, *, n_classes: int | None = None,
                 n_kernels: int = 128, cond_kernels: int = 16, hidden: int = 64,
                 covariance: str = "full", weights: str = "learnable", init_std: float = 0.01,
                 init_samples: Tensor | None = None, init_labels: Tensor | None = None,
                 form: str = "posterior", standardize: bool = True) -> None:
        super().__init__()
        if (y_dim is None) == (n_classes is None):
            raise ParameterError("KNIFEMI needs exactly one of y_dim (continuous y) or "
                                 "n_classes (class labels y)")
        _check_choice("form", form, KNIFEMI_FORMS)
        if init_labels is not None and n_classes is None:
            raise ParameterError("init_labels is for class labels y (n_classes=...); "
                                 "a continuous y needs none")
        self.form = form
        self.standardize = bool(standardize)
        if init_samples is not None:
            init_samples = self._prep(init_samples.detach())
        self.marginal = KNIFE(x_dim, n_kernels, covariance=covariance, weights=weights,
                              init_samples=init_samples, init_std=init_std)
        if n_classes is not None:
            self.conditional: nn.Module = ClassConditionalKNIFE(
                x_dim, n_classes, n_kernels, covariance=covariance, weights=weights,
                init_samples=init_samples, init_labels=init_labels, init_std=init_std)
        else:
            self.conditional = ConditionalKNIFE(
                x_dim, y_dim, cond_kernels, hidden=hidden, covariance=covariance,
                weights=weights, init_samples=init_samples, init_std=init_std)

    def fit_kernels(self, x: Tensor, y: Tensor, optimizer: torch.optim.Optimizer, *,
                    steps: int = 3) -> float:
        """Step 1 of the two-optimiser pattern: ``steps`` updates of the kernels on the
        batch (x detached here), each ``zero_grad`` / ``kernel_loss`` / ``step``;
        returns the last kernel loss.

        Several updates per network update keep the kernels level with a
        network that is trying to hide y from them: in a fair-classification
        run (plain MLP encoder, beta = 1, 15 epochs, standardised codes)
        held-out I(Z;S) was 0.17 nats (probe accuracy 0.70, chance 0.50) with
        one kernel update per batch and 0.04 (probe 0.52) with three.
        """
        if steps < 1:
            raise ParameterError(f"steps={steps!r}: expected >= 1")
        x = x.detach()
        for _ in range(steps):
            optimizer.zero_grad()
            loss = self.kernel_loss(x, y)
            loss.backward()
            optimizer.step()
        return float(loss.detach())

    def _prep(self, x: Tensor) -> Tensor:
        """x standardised per coordinate with its own mean and SD (``standardize``)."""
        if not self.standardize:
            return x
        if len(x) < 2:
            raise InputError(f"standardize=True needs batches of >= 2 rows, got {len(x)}")
        return _standardized(x)

    def kernel_loss(self, x: Tensor, y: Tensor) -> Tensor:
        """Cross-entropy of the marginal plus that of the conditional (what the
        kernels minimise); pass detached x when training a network. (Only the
        ``difference`` form reads the marginal; it is fitted in every form so
        that ``form`` can be switched.)"""
        x = self._prep(x)
        return self.marginal(x) + self.conditional(x, y)

    def _posterior_terms(self, x: Tensor, y: Tensor) -> tuple[Tensor, Tensor]:
        """(log f(x_i | c) for every row and candidate c (n, K), log p(c) (K,))."""
        n = len(x)
        if isinstance(self.conditional, ClassConditionalKNIFE):
            y = y.reshape(-1).long()
            if len(y) != n:
                raise InputError(f"x has {n} rows but y has {len(y)}")
            counts = torch.bincount(y, minlength=self.conditional.n_classes).to(x.dtype)
            log_prior = (counts / n).log()  # -inf for a class absent from the batch
            present = torch.nonzero(counts > 0).squeeze(1).tolist()
            lp = x.new_full((n, self.conditional.n_classes), 0.0)
            cols = torch.stack([self.conditional.kernels[c].log_prob(x) for c in present], 1)
            lp = lp.index_copy(1, torch.as_tensor(present, device=x.device), cols)
            return lp, log_prior
        if len(y) != n:
            raise InputError(f"x has {n} rows but y has {len(y)}")
        # row i, candidate j: f(x_i | y_j), as one batch of n * n rows
        lp = self.conditional.log_prob(x.repeat_interleave(n, 0), y.repeat(n, 1)).view(n, n)
        return lp, x.new_full((n,), -math.log(n))

    def forward(self, x: Tensor, y: Tensor) -> Tensor:
        """MI estimate of the batch in nats (``form``), differentiable in x."""
        x = self._prep(x)
        if self.form == "difference":
            return (self.conditional.log_prob(x, y) - self.marginal.log_prob(x)).mean()
        lp, log_prior = self._posterior_terms(x, y)
        joint = lp + log_prior[None, :]
        log_norm = torch.logsumexp(joint, dim=1, keepdim=True)
        if self.form == "pooled":
            if isinstance(self.conditional, ClassConditionalKNIFE):
                own = lp.gather(1, y.reshape(-1, 1).long())
            else:
                own = lp.diagonal()[:, None]
            return (own - log_norm).mean()
        # KL(q || p) = sum_c q_c (log f(x|c) - log sum_c' p_c' f(x|c')); an absent
        # class has q_c = 0 exactly and a finite log f, so it adds 0
        post = torch.softmax(joint, dim=1)
        return (post * (lp - log_norm)).sum(dim=1).mean().clamp_min(0.0)


def knife_mi(estimator: KNIFEMI, x: Tensor, y: Tensor) -> Tensor:
    """The MI estimate of ``estimator`` on (x, y) - a differentiable loss term."""
    return estimator(x, y)


def batch_kde_mi(x: Tensor, y: Tensor, *, reference: tuple[Tensor, Tensor] | None = None,
                 bandwidth: float | str = "scott", k: int = 10,
                 factors: Sequence[float] = (0.5, 1.0, 2.0), standardize: bool | str = "whiten",
                 permutations: int = 0, generator: torch.Generator | None = None) -> Tensor:
    """I(X;Y) for class labels y from a leave-one-out kernel density estimate on the
    batch itself: a differentiable regulariser with no kernels to fit.

    The KDE limit of :class:`KNIFEMI`'s ``posterior`` form: one Gaussian kernel
    at every row of the batch (and of ``reference``), all of one bandwidth h,
    weights equal. For query row i the class posterior leaves row i out,

        q(c | x_i) = sum_{j != i, y_j = c} K_h(x_i - x_j) / sum_{j != i} K_h(x_i - x_j),

    with K_h(u) = exp(-|u|^2 / (2 h^2)) (the normalisation cancels), and the
    term is mean_i KL(q(.|x_i) || p_i) with the leave-one-out prior
    p_i(c) = (m_c - [y_i = c]) / (m - 1) over the m kernel rows - the posterior
    the same kernels give when h is infinite, so that the term is exactly 0
    there. It is averaged over the bandwidths factor * h (``factors``, default
    0.5, 1, 2), so that structure separating the classes on a finer or coarser
    scale than h is penalised too.

    Why for training: there is no inner optimisation, so no second player -
    the value is a fixed, smooth function of the batch's codes and the network
    cannot chase the noise of fitted kernels (how a plain deterministic encoder
    kept 0.03-0.05 nats of I(Z;S) against :class:`KNIFEMI`; see
    docs/estimators/knife.md). Each term is a KL divergence between two
    distributions over the classes, so the raw value (``permutations=0``) is
    never negative whatever the codes, and never above log(n_classes).

    Scaling (``standardize``): ``"whiten"`` (default) standardises the rows
    and multiplies them by the inverse Cholesky factor of their correlation
    matrix (differentiably), so the value is unchanged by any invertible
    affine map of x - as I(X;Y) is - and neither scale inflation nor hiding y
    in a low-variance direction buys anything; ``True`` standardises each
    coordinate only (as ``KNIFEMI(standardize=True)``); ``False`` uses raw x.

    Bias and ``permutations``: at independence the KDE posterior fluctuates
    around the prior, so the raw value is positive (the KL of noise): for a
    binary y on N(0, I_4) codes with the defaults, about 0.19 / 0.16 / 0.14
    nats at 64 / 128 / 256 rows. ``permutations=N`` subtracts the mean value
    for N random within-batch permutations of y (by ``generator``), which
    removes that bias in expectation (measured: within 0.003 of 0); the
    debiased value can then be slightly negative, by about the permuted
    values' noise (at 128 rows: SD 0.011 per batch, lowest of 200 batches
    -0.03; epoch averages in training stayed above -0.002). The raw gradient
    also rewards reshaping the codes so that the noise term shrinks; the
    debiased one does not.

    For training (the setting that met the fair-classification targets
    for a stochastic and a plain deterministic encoder on two seeds, beta = 3;
    docs/estimators/knife.md)::

        others = torch.randperm(n_train)            # rows outside the batch
        others = others[~torch.isin(others, idx)][:384]
        term = batch_kde_mi(encoder(x[idx]), s[idx],
                            reference=(encoder(x[others]), s[others]),
                            permutations=16)
        loss = task_loss + beta * term

    The reference rows give the density resolution (a 128-row batch alone
    left 0.02 nats that a probe could read); the permutations remove the bias.

    Parameters
    ----------
    x : tensor, shape (n, d)
        The batch's codes (n >= 3), the query rows; gradients flow through them.
    y : tensor, shape (n,)
        Integer class labels (non-negative codes; absent classes add 0).
    reference : (tensor (r, d), tensor (r,)), optional
        Further labelled rows that carry kernels (not queries), e.g. other
        training rows encoded by the same network; they share the scaling.
    bandwidth : {"scott", "knn"} or float
        ``scott``: h = m^(-1/(d+4)) on the scaled codes (m kernel rows);
        ``knn``: each query row's own h, its distance to its k-th nearest
        other row (held constant); a number: that h.
    k : int
        The neighbour of ``bandwidth="knn"``.
    factors : sequence of float
        Multiples of h to average the term over.
    standardize : {"whiten", True, False}
        The scaling applied to all rows first (above).
    permutations : int
        Subtract the mean term for this many within-batch permutations of y.
    generator : torch.Generator, optional
        Source of the permutations.

    Returns
    -------
    tensor, shape ()
        The estimate in nats, differentiable in x (and in reference x).
    """
    x, y = _check_labelled(x, y, "x", "y")
    rows, labels = x, y
    if reference is not None:
        x_ref, y_ref = _check_labelled(*reference, "reference x", "reference y", min_rows=1)
        if x_ref.shape[1] != x.shape[1]:
            raise InputError(f"x has {x.shape[1]} columns but reference x has {x_ref.shape[1]}")
        rows, labels = torch.cat([x, x_ref]), torch.cat([y, y_ref.to(y.device)])
    n, (m, d) = len(x), rows.shape
    factors = tuple(float(f) for f in factors)
    if not factors or min(factors) <= 0:
        raise ParameterError(f"factors={factors!r}: expected positive values")
    if permutations < 0:
        raise ParameterError(f"permutations={permutations!r}: expected >= 0")
    if isinstance(bandwidth, str):
        _check_choice("bandwidth", bandwidth, ("scott", "knn"))
    elif not bandwidth > 0:
        raise ParameterError(f"bandwidth={bandwidth!r}: expected > 0, 'scott' or 'knn'")
    if bandwidth == "knn" and not 1 <= k <= m - 2:
        raise ParameterError(f"k={k!r}: expected 1 <= k <= {m - 2} (rows - 2)")
    if standardize not in (True, False, "whiten"):
        raise ParameterError(f"standardize={standardize!r}: expected 'whiten', True or False")
    if standardize == "whiten":
        rows = _whiten(rows)
    elif standardize:
        rows = _standardized(rows)
    queries = rows[:n]
    sq = ((queries * queries).sum(1, keepdim=True) + (rows * rows).sum(1)[None, :]
          - 2.0 * queries @ rows.T).clamp_min(0.0)  # (n, m)
    self_mask = torch.zeros(n, m, dtype=torch.bool, device=x.device)
    self_mask[:, :n] = torch.eye(n, dtype=torch.bool, device=x.device)
    if bandwidth == "knn":
        # row i's own bandwidth: the distance to its k-th nearest other row, held
        # constant (detached); its normalisation h_i^-d cancels in q(.|x_i)
        kth = sq.detach().masked_fill(self_mask, math.inf).kthvalue(k, dim=1).values
        h: float | Tensor = kth.clamp_min(1e-12).sqrt()[:, None]
    elif bandwidth == "scott":
        h = m ** (-1.0 / (d + 4))
    else:
        h = float(bandwidth)
    onehot = F.one_hot(labels).to(rows.dtype)  # (m, C)
    perms = [torch.randperm(m, generator=generator).to(x.device) for _ in range(permutations)]
    values = _kde_posterior_kl(sq, self_mask, torch.stack([onehot, *(onehot[p] for p in perms)]),
                               h, factors)
    return values[0] - values[1:].mean() if permutations else values[0]


def _check_labelled(x: Tensor, y: Tensor, x_name: str, y_name: str,
                    min_rows: int = 3) -> tuple[Tensor, Tensor]:
    if x.ndim != 2 or len(x) < min_rows:
        raise InputError(f"{x_name} must have shape (n, d) with n >= {min_rows}, "
                         f"got {tuple(x.shape)}")
    y = y.reshape(-1).long().to(x.device)
    if len(y) != len(x):
        raise InputError(f"{x_name} has {len(x)} rows but {y_name} has {len(y)}")
    if int(y.min()) < 0:
        raise InputError(f"{y_name}: class labels must be >= 0, got {int(y.min())}")
    return x, y


def _standardized(x: Tensor, eps: float = 1e-8) -> Tensor:
    """x standardised per coordinate with its own mean and SD (differentiably)."""
    return (x - x.mean(0)) / (x.std(0, unbiased=False) + eps)


def _whiten(x: Tensor) -> Tensor:
    """x standardised per coordinate, then multiplied by the inverse Cholesky factor
    of its correlation matrix (differentiably): unit covariance, and distances
    unchanged by any invertible affine map of x (two whitenings differ by a
    rotation). The 1e-6 ridge is on the correlation matrix, so it does not
    depend on the coordinates' scales either."""
    xs = _standardized(x, 1e-12)
    corr = xs.T @ xs / len(x)
    eye = torch.eye(x.shape[1], dtype=x.dtype, device=x.device)
    chol = torch.linalg.cholesky(corr + 1e-6 * eye)
    return torch.linalg.solve_triangular(chol, xs.T, upper=False).T


def _kde_posterior_kl(sq: Tensor, self_mask: Tensor, onehot: Tensor, h: float | Tensor,
                      factors: tuple[float, ...]) -> Tensor:
    """Mean over ``factors`` and query rows i of KL(q(.|x_i) || p_i), for each of
    several labellings at once.

    ``sq`` (n, m): squared distances from the n query rows to all m kernel rows
    (the queries are the first n of them; ``self_mask`` marks each query's own
    row); ``onehot`` (L, m, C): L labellings of the kernel rows. Returns (L,).
    The kernel weights do not depend on the labels, so they are computed once.
    """
    n, m = sq.shape
    counts = onehot.sum(1, keepdim=True)  # (L, 1, C)
    # the leave-one-out prior: the posterior of infinitely wide kernels
    prior = (counts - onehot[:, :n]) / (m - 1)  # (L, n, C)
    log_prior = prior.clamp_min(1e-30).log()
    total = sq.new_zeros(len(onehot))
    for f in factors:
        log_k = (-sq / (2.0 * (f * h) ** 2)).masked_fill(self_mask, -math.inf)
        q = torch.softmax(log_k, dim=1) @ onehot  # (L, n, C)
        # clamped logs: a class without weight has q = 0 and adds exactly 0,
        # with finite gradients (0 * log 0 would give nan)
        total = total + (q * (q.clamp_min(1e-30).log() - log_prior)).sum(2).mean(1)
    return total / len(factors)


# --------------------------------------------------------------------------- fitting


@torch.no_grad()
def log_prob_chunked(module: nn.Module, tensors: Sequence[Tensor],
                     max_elements: int = 1 << 23, method: str = "log_prob") -> Tensor:
    """``module.log_prob`` (or another per-row ``method``, e.g. ``log_prob_classes``)
    over all rows in chunks that keep the (rows x kernels x d [x d]) intermediates
    below ``max_elements``; no gradients."""
    n = len(tensors[0])
    d = getattr(module, "dim", 1)
    per_row = getattr(module, "n_kernels", 1) * d
    if method == "log_prob_classes":
        per_row *= getattr(module, "n_classes", 1)
    chunk = max(1, max_elements // max(per_row, 1))
    fn = getattr(module, method)
    parts = [fn(*(t[i:i + chunk] for t in tensors)) for i in range(0, n, chunk)]
    return torch.cat(parts) if parts else tensors[0].new_zeros(0)


def fit_density(module: nn.Module, train: Sequence[Tensor], val: Sequence[Tensor] | None = None,
                *, lr: float = 1e-2, batch_size: int = 256, max_epochs: int = 100,
                patience: int = 5, generator: torch.Generator | None = None,
                on_epoch: EpochFn | None = None) -> nn.Module:
    """Fit a KNIFE module by Adam on the cross-entropy ``-mean log_prob``.

    One epoch is one pass over the training rows in seeded random batches.
    With validation tensors, the validation cross-entropy is computed after
    every epoch; training stops after ``patience`` epochs without improvement
    and the parameters of the best epoch are restored (epoch 0, the starting
    parameters, counts as a candidate, so a good start is never made worse on
    the validation rows). Sets ``epochs_run_``,
    ``best_epoch_``, ``best_val_loss_`` (None without validation) and
    ``history_`` (list of (train_loss, val_loss)) on the module.

    Raises EstimationError when a loss becomes non-finite (lower ``lr``).
    """
    n = len(train[0])
    if n < 1:
        raise InputError("no training rows")
    opt = torch.optim.Adam([p for p in module.parameters() if p.requires_grad], lr=lr)
    best, best_state, best_epoch, stale = math.inf, None, 0, 0
    history: list[tuple[float, float | None]] = []
    epoch = 0
    if val is not None and len(val[0]):
        # the starting point competes too: a fit that starts at a good density
        # (fitted by EM) is never left for a worse one
        module.eval()
        start = float(-log_prob_chunked(module, val).double().mean())
        if math.isfinite(start):
            best, best_state = start, copy.deepcopy(module.state_dict())
    for epoch in range(1, max_epochs + 1):
        module.train()
        order = torch.randperm(n, generator=generator).to(train[0].device)
        total = 0.0
        for start in range(0, n, batch_size):
            idx = order[start:start + batch_size]
            loss = -module.log_prob(*(t[idx] for t in train)).mean()
            if not torch.isfinite(loss):
                raise EstimationError(
                    f"KNIFE training loss became non-finite ({loss.item()}) in epoch {epoch}; "
                    f"lower the learning rate (lr={lr:g}, e.g. --param lr={lr / 10:g})")
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
            total += loss.item() * len(idx)
        train_loss = total / n
        val_loss = None
        module.eval()
        if val is not None and len(val[0]):
            val_loss = float(-log_prob_chunked(module, val).double().mean())
            if not math.isfinite(val_loss):
                raise EstimationError(
                    f"KNIFE validation loss became non-finite in epoch {epoch}; lower the "
                    f"learning rate (lr={lr:g}, e.g. --param lr={lr / 10:g})")
        history.append((train_loss, val_loss))
        if on_epoch is not None:
            on_epoch(epoch, max_epochs, train_loss, val_loss if val_loss is not None else math.nan)
        score = val_loss if val_loss is not None else train_loss
        if score < best - 1e-6:
            best, best_epoch, stale = score, epoch, 0
            best_state = copy.deepcopy(module.state_dict())
        else:
            stale += 1
            if stale >= patience:
                break
    if best_state is not None:
        module.load_state_dict(best_state)
    module.eval()
    module.epochs_run_ = epoch
    module.best_epoch_ = best_epoch
    module.best_val_loss_ = best if val is not None and math.isfinite(best) else None
    module.history_ = history
    return module
