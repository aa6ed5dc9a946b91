"""``auto``: a documented choice among infocli's estimators, made from the data.

The rule rests on invariances and on the known sign of each candidate's
error, not on thresholds tuned to a benchmark:

1. **Copula first.** MI and CMI are invariant under increasing per-column maps,
   so every continuous column is replaced by its normal scores
   Phi^{-1}(r/(n+1)) (:mod:`infocli.transforms`, average ranks). This removes
   tails, skew and scale without changing the target. Entropy is not
   invariant; it goes through the exact marginal decomposition
   h(X) = sum_i h(X_i) + h(Z) - d/2 log(2 pi e) (1-D Kozachenko-Leonenko
   marginals), so only the joint term h(Z) needs a multivariate estimator.

2. **Two candidates with errors of known sign, combined by max (MI) or min
   (entropy).**

   * MI, CMI: ``gaussian`` on the normal scores (GCMI, Ince et al. 2017) and
     ``ksg`` on the normal scores (Frenzel-Pompe for CMI). GCMI is exact when
     the copula is Gaussian and, for scalar x and y, a lower bound on I in the
     population (with Gaussian marginals, h(X,Y) <= the Gaussian entropy of
     its covariance); KSG is consistent but biased *downwards* when I is
     large or the dimension high (its neighbourhoods cannot shrink fast
     enough). Both err low, so the larger is the better: I = max(GCMI, KSG).
   * Entropy, joint term on the normal scores: ``gaussian`` is an upper bound
     (the Gaussian has the largest entropy for a covariance) and ``kl`` is
     consistent; h = min(Gaussian, KL).
   * Conditional entropy: H(X|Z) = H(X) - I(X;Z), each term by the rules
     above (the MI term is copula-invariant, so only H(X) sees marginals).

3. **Degenerate inputs.** A variable with a singular covariance (raw or of
   its normal scores: constant or linearly dependent columns, data on a
   lower-dimensional set such as images of a few factors) has no
   non-degenerate Gaussian copula; only the kNN candidate runs, and
   ``details["auto"]["excluded"]`` says why.

4. **Labels.** With class labels y (MI) only the kNN candidate runs (Ross's
   mixed estimator on the normal scores of x): the Gaussian class-conditional
   plug-in has no error of known sign there. A label-valued conditioning
   variable z is handled by both candidates per class.

``details["auto"]`` records every candidate's value and stderr, which one was
chosen and why; the estimate's stderr is the chosen candidate's.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from .. import transforms
from ._common import Context, Raw

RULE_MI = ("copula (normal scores), then max(gaussian, ksg): both err low - GCMI is exact "
           "for a Gaussian copula and a lower bound otherwise, KSG is biased down at high "
           "MI and dimension")
RULE_H = ("copula marginal decomposition h = sum h(X_i) + h(Z) - d/2 log(2 pi e), joint "
          "term min(gaussian, kl) on the normal scores: the Gaussian entropy is an upper "
          "bound, KL is consistent")


def _child(ctx: Context) -> Context:
    seed = int(ctx.rng.integers(2**63 - 1))
    return Context(rng=np.random.default_rng(seed), device=ctx.device, progress=None,
                   discrete=dict(ctx.discrete), names=dict(ctx.names),
                   classes=dict(ctx.classes), write_files=False,
                   columns=dict(getattr(ctx, "columns", {})))


def _run_candidates(ctx: Context, candidates: dict[str, Any], arrays: tuple,
                    only: str | None = None) -> dict:
    """Run every candidate; ``only`` (a label of a candidate) runs that one alone - the
    reliability check re-runs the chosen candidate on parts of the data, since the
    max/min over noisy candidates is itself biased on small parts."""
    if only is not None and only in candidates:
        candidates = {only: candidates[only]}
    out = {}
    for label, fn in candidates.items():
        child = _child(ctx)
        raw = fn(child, *arrays)
        for w in child.warnings:
            ctx.warn(w)
        if "ties" in child.details:
            ctx.details.setdefault("ties", {}).update(child.details["ties"])
        for hint in child.details.get("hints", []):
            if hint not in ctx.details.setdefault("hints", []):
                ctx.details["hints"].append(hint)
        if child.device_used != "cpu":
            ctx.device_used = child.device_used
        out[label] = raw
    return out


def _scores(ctx: Context, arrays: dict[str, np.ndarray]) -> tuple:
    return tuple(a if ctx.discrete.get(v) else transforms.normal_scores(a)
                 for v, a in arrays.items())


def _degenerate(ctx: Context, arrays: dict[str, np.ndarray], scores: tuple) -> str | None:
    """Why the Gaussian candidate does not apply, or None.

    A continuous variable whose raw sample covariance is singular (constant or
    linearly dependent columns: data on a lower-dimensional set, e.g. images of
    a few latent factors) has no non-degenerate Gaussian copula. Its normal
    scores are full-rank only because the rank map bends the set, and GCMI then
    measures that bending: 6.5 nats for a true 1 on 256-pixel images (KSG: 1.0).
    Singular normal scores (a column an increasing function of another) leave
    the Gaussian candidate undefined too.
    """
    from .gaussian import singular

    for (v, a), sc in zip(arrays.items(), scores):
        if ctx.discrete.get(v) or a.ndim != 2 or a.shape[1] < 2:
            continue
        if (a.std(axis=0) == 0).any():
            return f"{ctx.name(v)} has a constant column"
        if a.shape[0] <= a.shape[1]:
            return f"{ctx.name(v)} has no more rows than columns"
        if singular(np.corrcoef(a, rowvar=False)):
            return (f"the columns of {ctx.name(v)} are linearly dependent (singular "
                    "covariance): no Gaussian copula describes them")
        if singular(np.cov(sc, rowvar=False)):
            return (f"the normal scores of {ctx.name(v)} are linearly dependent (a column "
                    "is an increasing function of others)")
    return None


def _gaussian_excluded(ctx: Context, arrays: dict[str, np.ndarray], scores: tuple,
                       only: str | None) -> dict[str, str] | None:
    """``{"gaussian+copula": why}`` when the Gaussian candidate cannot apply, else None;
    not looked at when ``only`` names another candidate (the check's re-runs)."""
    if only is not None and only != "gaussian+copula":
        return None
    why = _degenerate(ctx, arrays, scores)
    return {"gaussian+copula": why} if why else None


def _combine(ctx: Context, results: dict[str, Raw], pick, rule: str, why_fmt: str,
             excluded: dict[str, str] | None = None) -> Raw:
    chosen = pick(results, key=lambda name: results[name].value)
    others = [n for n in results if n != chosen]
    ctx.details["auto"] = {
        "rule": rule,
        "transform": f"copula: normal scores; ties: {transforms.TIES_NOTE}",
        "candidates": {n: {"value": r.value, "stderr": r.stderr} for n, r in results.items()},
        "chosen": chosen,
        "why": (why_fmt.format(chosen=chosen, others=", ".join(others)) if others
                else f"{chosen} is the only candidate for these inputs"),
    }
    if excluded:
        ctx.details["auto"]["excluded"] = dict(excluded)
        ctx.details["auto"]["why"] += "; not run: " + "; ".join(
            f"{n} ({why})" for n, why in excluded.items())
    raw = results[chosen]
    return Raw(raw.value, raw.stderr, f"{raw.stderr_method} (of {chosen}, chosen by auto)")


def _knn_kw(k, ties):
    return {"k": k, "standardize": True, "ties": ties, "backend": "auto"}


_GAUSS_KW = {"bias_correction": True, "jackknife_groups": 20}


def auto_mi(ctx: Context, x, y, *, k, ties, only: str | None = None) -> Raw:
    """I(X;Y): max(GCMI, KSG on normal scores); labels y: Ross's kNN on normal scores of x."""
    from . import gaussian, knn

    arrays = _scores(ctx, {"x": x, "y": y})
    candidates = {f"ksg(k={k})+copula": lambda c, a, b: knn.ksg_mi(c, a, b, algorithm=1,
                                                                    **_knn_kw(k, ties))}
    excluded = None if ctx.discrete.get("y") else _gaussian_excluded(
        ctx, {"x": x, "y": y}, arrays, only)
    if not ctx.discrete.get("y") and not excluded:
        candidates = {"gaussian+copula": lambda c, a, b: gaussian.gaussian_mi(c, a, b,
                                                                              **_GAUSS_KW),
                      **candidates}
    results = _run_candidates(ctx, candidates, arrays, only)
    return _combine(ctx, results, max, RULE_MI,
                    "{chosen} gave the largest value; the others ({others}) err low", excluded)


def auto_cmi(ctx: Context, x, y, z, *, k, ties, only: str | None = None) -> Raw:
    """I(X;Y|Z): max(Gaussian-copula CMI, Frenzel-Pompe KSG on normal scores)."""
    from . import gaussian, knn

    arrays = _scores(ctx, {"x": x, "y": y, "z": z})
    excluded = _gaussian_excluded(ctx, {"x": x, "y": y, "z": z}, arrays, only)
    candidates = {
        "gaussian+copula": lambda c, a, b, d: gaussian.gaussian_cmi(c, a, b, d, **_GAUSS_KW),
        f"ksg(k={k})+copula": lambda c, a, b, d: knn.ksg_cmi(c, a, b, d, algorithm=1,
                                                             **_knn_kw(k, ties)),
    }
    if excluded:
        del candidates["gaussian+copula"]
    results = _run_candidates(ctx, candidates, arrays, only)
    return _combine(ctx, results, max, RULE_MI,
                    "{chosen} gave the largest value; the others ({others}) err low", excluded)


def _entropy(ctx: Context, x, k: int, ties: str, only: str | None = None) -> Raw:
    from . import gaussian, knn

    kl_kw = {"k": k, "metric": "euclidean", "weights": "none", "whiten_data": False,
             "standardize": True, "ties": ties, "backend": "auto"}
    candidates = {"gaussian": lambda c, a: gaussian.gaussian_entropy(c, a, **_GAUSS_KW),
                  f"kl(k={k})": lambda c, a: knn.kl_entropy(c, a, **kl_kw)}
    results: dict[str, Raw] = {}

    def joint(c: Context, *a) -> Raw:
        results.update(_run_candidates(c, candidates, a, only))
        return _combine(c, results, min, RULE_H,
                        "{chosen} gave the smaller joint term; {others} is an upper "
                        "bound or biased up")

    already = ctx.details.get("transform", {}).get("method") == "copula"
    if already:  # the API applied the decomposition; x is normal scores already
        return joint(ctx, x)
    new_arrays, run = transforms.apply("copula", "entropy", {"x": x}, joint, ctx,
                                       {"ties": ties})
    raw = run(ctx, *new_arrays.values())
    if "auto" not in ctx.details:  # one column: no joint term to choose
        ctx.details["auto"] = {
            "rule": RULE_H, "transform": f"copula: normal scores; ties: {transforms.TIES_NOTE}",
            "candidates": {f"kl-1d(k={transforms.MARGINAL_K})": {"value": raw.value,
                                                                 "stderr": raw.stderr}},
            "chosen": f"kl-1d(k={transforms.MARGINAL_K})",
            "why": "one column: h(X) is its 1-D marginal entropy (Kozachenko-Leonenko); "
                   "the joint term of the decomposition is known exactly"}
    return raw


def auto_entropy(ctx: Context, x, *, k, ties, only: str | None = None) -> Raw:
    """H(X): copula decomposition, joint term min(Gaussian, KL) on the normal scores."""
    return _entropy(ctx, x, k, ties, only)


def auto_conditional_entropy(ctx: Context, x, z, *, k, ties, only: str | None = None) -> Raw:
    """H(X|Z) = H(X) - I(X;Z): auto's entropy of X minus auto's MI of X and Z.

    MI is copula-invariant, so only H(X) sees the marginals; estimating the joint
    term H(T(X)|Z) directly would put a kNN estimator on the regular grid of a
    column's normal scores (per class, or before subtracting a KSG term), whose
    nearest-neighbour distances are not Poisson-like: KL is then biased up by
    about 1 nat on one column.
    """
    h_ctx = _child(ctx)
    h_ctx.details = ctx.details if ctx.details.get("transform") else h_ctx.details
    h_only, i_only = only.split(" - ", 1) if only and " - " in only else (None, None)
    h = _entropy(h_ctx, x, k, ties, h_only)
    i_ctx = _child(ctx)
    i_ctx.discrete = {"x": ctx.discrete.get("x", False), "y": ctx.discrete.get("z", False)}
    i_ctx.names = {"x": ctx.name("x"), "y": ctx.name("z")}
    if "z" in ctx.classes:
        i_ctx.classes = {"y": ctx.classes["z"]}
    i = auto_mi(i_ctx, x, z, k=k, ties=ties, only=i_only)
    for child in (h_ctx, i_ctx):
        for w in child.warnings:
            ctx.warn(w)
    if h_ctx.details is not ctx.details:
        ctx.details["transform"] = h_ctx.details["transform"]
    ha, ia = (c.details["auto"] for c in (h_ctx, i_ctx))
    ctx.details["auto"] = {
        "rule": f"H(X|Z) = H(X) - I(X;Z). H(X): {RULE_H}. I(X;Z): {RULE_MI}",
        "transform": ia["transform"],
        "candidates": {**{f"H(X): {n}": c for n, c in ha["candidates"].items()},
                       **{f"I(X;Z): {n}": c for n, c in ia["candidates"].items()}},
        "chosen": f"{ha['chosen']} - {ia['chosen']}",
        "why": f"H(X): {ha['why']}; I(X;Z): {ia['why']}",
        "entropy": h.value, "mi": i.value,
    }
    return Raw(h.value - i.value, float(np.hypot(h.stderr, i.stderr)),
               "sqrt(stderr(H)^2 + stderr(I)^2) of the two terms, chosen by auto")
