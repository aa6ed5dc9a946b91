"""Learned codes of wide variables: cross-prediction, for dependence that
principal components cannot summarise linearly.

Each side is mapped to a few numbers that predict the *other* side: a small
network f is trained to predict the leading principal components of y from x,
and g those of x from y (after the cross-predictive idea of LMI, Gowri et al.,
NeurIPS 2024, which trains an autoencoder with that cross term). When y
depends on x through a few nonlinear features - the class of a digit image,
a position drawn as pixels - E[code(y) | x] is a function of those features,
so f(x) keeps them and drops the rest.

Honesty by splitting: f and g are trained on one half of the rows (with early
stopping on a slice of it) and the MI of the codes is estimated by KSG on the
other half, where f and g are fixed functions. By data processing
I(X; Y) >= I(f(X); g(Y)), and KSG on a few columns is nearly unbiased, so the
value estimates a lower bound on the MI, whatever the networks learned.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from .._device import resolve_torch_device, torch_threads
from ._common import Context

#: rows below which no codes are learned (two halves of at least 200)
MIN_ROWS = 400
#: code columns per side (leading principal components of the other side)
CODE_DIM = 6
HIDDEN = 128
MAX_EPOCHS = 200
PATIENCE = 10
BATCH = 256
#: share of the training half kept for early stopping
VALIDATION = 0.2


def _targets(a: np.ndarray, rows: np.ndarray, r: int) -> np.ndarray:
    """The first r principal-component scores of ``a`` (axes from ``rows``), scaled to
    unit variance on those rows."""
    from ._reduce import _pcs

    mean, axes = _pcs(a[rows], min(r, a.shape[1]))
    t = (a - mean) @ axes
    return t / np.maximum(t[rows].std(axis=0), 1e-12)


def _fit(src: np.ndarray, dst: np.ndarray, train: np.ndarray, seed: int, device: str):
    """Train an MLP src -> dst on ``train`` rows (early stopping on a slice of them);
    returns (codes of every row, epochs run, validation R^2)."""
    import torch
    from torch import nn

    rng = np.random.default_rng(seed)
    order = rng.permutation(train)
    n_val = max(1, int(VALIDATION * len(order)))
    val, fit = order[:n_val], order[n_val:]
    torch.manual_seed(seed)
    s = torch.as_tensor(src, dtype=torch.float32, device=device)
    d = torch.as_tensor(dst, dtype=torch.float32, device=device)
    net = nn.Sequential(nn.Linear(src.shape[1], HIDDEN), nn.GELU(), nn.Linear(HIDDEN, HIDDEN),
                        nn.GELU(), nn.Linear(HIDDEN, dst.shape[1])).to(device)
    opt = torch.optim.Adam(net.parameters(), lr=1e-3, weight_decay=1e-4)
    vi = torch.as_tensor(val, device=device)
    gen = torch.Generator(device="cpu").manual_seed(seed)
    fit_t = torch.as_tensor(fit)

    def val_loss() -> float:
        with torch.no_grad():
            return float(((net(s[vi]) - d[vi]) ** 2).mean())

    best, best_state, bad, epoch = val_loss(), None, 0, 0
    for epoch in range(1, MAX_EPOCHS + 1):
        perm = fit_t[torch.randperm(len(fit_t), generator=gen)].to(device)
        for b in range(0, len(perm), BATCH):
            rows = perm[b:b + BATCH]
            loss = ((net(s[rows]) - d[rows]) ** 2).mean()
            opt.zero_grad()
            loss.backward()
            opt.step()
        current = val_loss()
        if current < best - 1e-5:
            best, bad = current, 0
            best_state = [p.detach().clone() for p in net.parameters()]
        else:
            bad += 1
            if bad >= PATIENCE:
                break
    if best_state is not None:
        with torch.no_grad():
            for p, b in zip(net.parameters(), best_state):
                p.copy_(b)
    with torch.no_grad():
        codes = net(s).double().cpu().numpy()
    r2 = 1.0 - best / float((d[vi] ** 2).mean()) if len(val) else float("nan")
    return codes, epoch, r2


def cross_codes(ctx: Context, x: np.ndarray, y: np.ndarray, seed: int
                ) -> tuple[np.ndarray, np.ndarray, dict[str, Any]]:
    """(f(x), g(y)) on the held-out half of the rows, and a report: f predicts the
    leading principal components of y from x, g those of x from y, both trained on
    the other half. ``x`` and ``y`` are standardised, without constant columns
    (:func:`._reduce.standardise`)."""
    xs, ys = x, y
    n = len(xs)
    order = np.random.default_rng([seed, 0x6370]).permutation(n)
    train, test = np.sort(order[: n // 2]), np.sort(order[n // 2:])
    device = resolve_torch_device(ctx.device)
    if device != "cpu":
        ctx.device_used = device
    import torch

    with torch.random.fork_rng(devices=[]), torch_threads(1):
        fx, ex, r2x = _fit(xs, _targets(ys, train, CODE_DIM), train, seed, device)
        gy, ey, r2y = _fit(ys, _targets(xs, train, CODE_DIM), train, seed + 1, device)
    report = {"code_dim": int(fx.shape[1]), "train_rows": int(len(train)),
              "test_rows": int(len(test)), "epochs": {"f(x)": ex, "g(y)": ey},
              "validation_r2": {"f(x)": r2x, "g(y)": r2y}}
    return fx[test], gy[test], report
