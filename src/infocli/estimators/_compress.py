"""Compressors for high-dimensional variables: PCA and a torch autoencoder.

Both map (n_samples, n_dims) to (n_samples, code_dim) codes and report how well
the codes keep the data (PCA: explained variance ratio; autoencoder: R^2 of
the reconstruction on held-out validation rows), so users can judge the
compression before trusting an MI estimate computed on the codes.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Callable

import numpy as np

from .._device import resolve_torch_device, torch_threads
from ..errors import InputError
from ._common import Context


@dataclass
class Compressor:
    """A fitted compressor: ``encode(array) -> codes`` and its quality report."""

    kind: str
    encode: Callable[[np.ndarray], np.ndarray]
    quality: dict[str, Any] = field(default_factory=dict)


def _scale(x: np.ndarray) -> tuple[np.ndarray, float]:
    # one global scale (columns may be constant, e.g. image borders)
    mean = x.mean(axis=0)
    sd = float(x.std()) or 1.0
    return mean, sd


def fit_compressor(x: np.ndarray, kind: str, code_dim: int, ctx: Context, *, name: str,
                   ae: dict[str, Any]) -> Compressor:
    """Fit ``kind`` ("pca", "autoencoder" or "none") on x."""
    d = x.shape[1]
    if kind == "none":
        return Compressor("none", lambda a: np.asarray(a, dtype=np.float64), {"dims": d})
    if code_dim > d:
        raise InputError(f"{name}: code dimension {code_dim} is larger than the data dimension "
                         f"{d}; choose a code dimension <= {d} or compressor=none")
    if kind == "pca":
        return _pca(x, code_dim)
    return _autoencoder(x, code_dim, ctx, name=name, **ae)


def _pca(x: np.ndarray, code_dim: int) -> Compressor:
    mean = x.mean(axis=0)
    _, s, vt = np.linalg.svd(x - mean, full_matrices=False)
    var = s**2
    basis = vt[:code_dim].T.copy()
    ratio = float(var[:code_dim].sum() / var.sum()) if var.sum() > 0 else 1.0
    return Compressor("pca", lambda a: (np.asarray(a, dtype=np.float64) - mean) @ basis,
                      {"explained_variance_ratio": ratio, "dims": code_dim})


def _autoencoder(x, code_dim, ctx: Context, *, name, hidden, epochs, patience, lr, batch_size,
                 val_fraction, threads=1) -> Compressor:
    import torch
    from torch import nn

    n, d = x.shape
    n_val = max(1, int(round(val_fraction * n)))
    if n - n_val < 2:
        raise InputError(f"{name}: {n} rows are too few to train an autoencoder with "
                         f"val_fraction={val_fraction}")
    device = resolve_torch_device(ctx.device)
    if device != "cpu":
        ctx.device_used = device
    mean, sd = _scale(x)
    perm = ctx.rng.permutation(n)
    seed = int(ctx.rng.integers(2**31 - 1))
    with torch.random.fork_rng(devices=[]), torch_threads(threads):
        torch.manual_seed(seed)
        data = torch.as_tensor((x - mean) / sd, dtype=torch.float32, device=device)
        train, val = data[perm[n_val:]], data[perm[:n_val]]
        enc = nn.Sequential(nn.Linear(d, hidden), nn.LeakyReLU(), nn.Linear(hidden, hidden),
                            nn.LeakyReLU(), nn.Linear(hidden, code_dim)).to(device)
        dec = nn.Sequential(nn.Linear(code_dim, hidden), nn.LeakyReLU(),
                            nn.Linear(hidden, hidden), nn.LeakyReLU(),
                            nn.Linear(hidden, d)).to(device)
        params = list(enc.parameters()) + list(dec.parameters())
        opt = torch.optim.Adam(params, lr=lr)
        gen = torch.Generator(device="cpu").manual_seed(seed)

        def val_loss() -> float:
            with torch.no_grad():
                return float(((dec(enc(val)) - val) ** 2).mean())

        baseline = float((val**2).mean())  # loss of predicting the mean
        best, best_state, bad, epoch = val_loss(), None, 0, 0
        first = best
        for epoch in range(1, epochs + 1):
            order = torch.randperm(len(train), generator=gen).to(device)
            for s in range(0, len(train), batch_size):
                batch = train[order[s:s + batch_size]]
                loss = ((dec(enc(batch)) - batch) ** 2).mean()
                opt.zero_grad()
                loss.backward()
                opt.step()
            current = val_loss()
            if not np.isfinite(current):
                break
            if current < best - 1e-6:
                best, bad = current, 0
                best_state = [p.detach().clone() for p in params]
            else:
                bad += 1
            ctx.report(f"autoencoder {name} (val mse {best:.4f})", epoch, epochs)
            if bad >= patience:
                break
        if best_state is not None:
            with torch.no_grad():
                for p, b in zip(params, best_state):
                    p.copy_(b)
        enc.eval()
        enc.double()  # codes in float64: float32 codes tie, and ties bias kNN entropies
    r2 = 1.0 - best / baseline if baseline > 0 else 1.0
    if best_state is None or best >= 0.95 * first:
        ctx.warn(f"{name}: the autoencoder failed to train (validation loss {first:.4g} -> "
                 f"{best:.4g}); its codes may not keep the information - try ae_lr, "
                 "ae_epochs or compressor=pca")

    def encode(a: np.ndarray) -> np.ndarray:
        with torch.no_grad():
            t = torch.as_tensor((np.asarray(a) - mean) / sd, dtype=torch.float64, device=device)
            return enc(t).double().cpu().numpy()

    return Compressor("autoencoder", encode, {
        "validation_mse": best, "validation_r2": r2, "epochs": epoch, "dims": code_dim,
        "train_rows": n - n_val, "validation_rows": n_val})
