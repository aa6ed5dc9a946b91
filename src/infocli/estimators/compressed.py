"""Compressed mutual information (Butakov et al., ICLR 2024).

High-dimensional X and Y are compressed to a few dimensions (PCA or an
autoencoder, per side), then MI is estimated between the codes with a
low-dimensional estimator:

* ``wkl`` (default, as in the reference): I = H(Tx) + H(Ty) - H(Tx,Ty), each
  entropy by the whitened, Berrett-Samworth-Yuan weighted Kozachenko-Leonenko
  estimator with k neighbours; for labels Y, I = H(T) - sum_y p(y) H(T|y).
* ``ksg``: KSG (Ross's estimator for labels) on the codes.
* ``knife``: the KNIFE estimator on the codes, when it is installed.

MI is invariant under injective maps, so compression loses nothing when the
codes keep the information; the reported compression quality (explained
variance, autoencoder validation R^2) says how far that holds.
"""

from __future__ import annotations

import numpy as np

from .. import registry
from ..errors import ParameterError
from ._common import Context, Raw, class_groups, mean_and_stderr
from ._compress import fit_compressor
from ._prep import prepare
from .knn import STDERR_METHOD, _check_k, _kl_terms, _ksg_terms, _mixed_terms, whiten


def _whitened(t: np.ndarray, ctx: Context, var: str, k: int) -> np.ndarray:
    _check_k(len(t), k, ctx.name(var))
    ts, _ = prepare(t, var, ctx, standardize=True, ties="jitter")
    return whiten(ts, ctx.name(var))[0]


def _wkl(t: np.ndarray, ctx: Context, k: int, label: str) -> np.ndarray:
    """Per-sample weighted-KL entropy terms (additive constants cancel in MI).

    BSY weights, with the first neighbour only for codes of d <= 4 dimensions
    (``weights="wkl"``), as this estimator was calibrated; ``kl -p
    weights=bsy`` uses the k-th neighbour there instead.
    """
    return _kl_terms(t, ctx, k=k, metric="euclidean", weights="wkl", backend="auto", label=label)


def mi_of_codes(ctx: Context, tx: np.ndarray, ty: np.ndarray, *, inner: str, k: int) -> Raw:
    """MI between codes tx and ty (ty: int labels when ctx.discrete['y'])."""
    labels = ctx.discrete.get("y", False)
    if inner == "knife":
        try:
            spec = registry.get("knife")
        except ParameterError:
            raise ParameterError("inner=knife needs the knife estimator, which this infocli "
                                 "does not have; use inner=wkl or inner=ksg") from None
        return spec.implementation("mutual_information")(ctx, tx, ty, **spec.resolve_params({}))
    if inner == "ksg":
        xs, _ = prepare(tx, "x", ctx, standardize=True, ties="jitter")
        if labels:
            return mean_and_stderr(_mixed_terms(xs, ty, ctx, k=k, backend="auto"), STDERR_METHOD)
        _check_k(len(xs), k, ctx.name("x"))
        ys, _ = prepare(ty, "y", ctx, standardize=True, ties="jitter")
        return mean_and_stderr(_ksg_terms(xs, ys, ctx, k=k, algorithm=1, backend="auto"),
                               STDERR_METHOD)
    # wkl: whiten each side once (MI is invariant under invertible linear maps of
    # either side) and use the same coordinates for the marginal, joint and
    # per-class entropies, so that their kNN errors cancel as far as possible.
    wx = _whitened(tx, ctx, "x", k)
    h_x = _wkl(wx, ctx, k, f"kNN {ctx.name('x')}")
    if labels:
        h_cond = np.empty(len(wx))
        for members in class_groups(ty):
            _check_k(members.size, k, ctx.class_name("y", int(ty[members[0]])))
            h_cond[members] = _wkl(wx[members], ctx, k, "kNN within class")
        return mean_and_stderr(h_x - h_cond, STDERR_METHOD)
    wy = _whitened(ty, ctx, "y", k)
    h_y = _wkl(wy, ctx, k, f"kNN {ctx.name('y')}")
    h_xy = _wkl(np.hstack([wx, wy]), ctx, k, "kNN joint")
    return mean_and_stderr(h_x + h_y - h_xy, STDERR_METHOD)


def ae_options(params: dict) -> dict:
    return {"hidden": params["ae_hidden"], "epochs": params["ae_epochs"],
            "patience": params["ae_patience"], "lr": params["ae_lr"],
            "batch_size": params["ae_batch_size"], "val_fraction": params["val_fraction"],
            "threads": params["threads"]}


def compressed_mi(ctx: Context, x, y, *, x_compressor, y_compressor, x_dim, y_dim, inner, k,
                  ae_hidden, ae_epochs, ae_patience, ae_lr, ae_batch_size, val_fraction,
                  threads) -> Raw:
    """I(X;Y) estimated between compressed codes of x and y (see module docstring)."""
    ae = ae_options(locals())
    quality = ctx.details.setdefault("compression", {})
    cx = fit_compressor(x, x_compressor, x_dim, ctx, name=ctx.name("x"), ae=ae)
    quality["x"] = {"compressor": cx.kind, **cx.quality}
    tx = cx.encode(x)
    if ctx.discrete.get("y"):
        ty = y
    else:
        cy = fit_compressor(y, y_compressor, y_dim, ctx, name=ctx.name("y"), ae=ae)
        quality["y"] = {"compressor": cy.kind, **cy.quality}
        ty = cy.encode(y)
    return mi_of_codes(ctx, tx, ty, inner=inner, k=k)
