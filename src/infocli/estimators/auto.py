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

2. **Two candidates, combined by one rule (MI, CMI) or by min (entropy).**

   * MI, CMI: ``gaussian`` on the normal scores (GCMI, Ince et al. 2017) and
     ``ksg`` on the normal scores (Frenzel-Pompe for CMI). GCMI is exact when
     the copula is Gaussian and, for scalar x and y, a lower bound on I in the
     population; for vectors it can read *high* on curved dependence (data
     near a low-dimensional curved set). KSG is consistent but biased
     *downwards* when I is large or the intrinsic dimension high.
     :func:`_choose_mi`: candidates that agree within noise -> the more
     precise (a choice on the noise, not on the values, so no upward
     selection near independence); the kNN value larger -> kNN; the Gaussian
     value larger -> Gaussian, unless the RESET linearity test rejects the
     Gaussian model *and* the data's intrinsic dimension (TwoNN) is low enough
     for kNN to be accurate.
   * Shared heavy tails: when the tails of x and y move together beyond what a
     Gaussian copula allows (a NumPy gate on the normal scores), a Student-t
     copula is fitted (:mod:`._tcopula`); when it fits better than the Gaussian
     copula (likelihood ratio) and reproduces the co-movement of the two sides'
     radii, ``t+copula`` takes the Gaussian candidate's place in the rule (its
     own checks replace RESET there). ``details["auto"]["tcopula"]`` records the
     gate, the fit and why it was or was not used.
   * Wide variables (a side with at least 32 columns): the Gaussian candidate
     runs on principal components of the standardised columns, their number
     chosen by the information they keep on held-out rows
     (:mod:`._reduce`); MI of codes is a lower bound by data processing.
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
chosen and why (``choice``: the difference and its sd, the RESET z and the
intrinsic dimension when they were needed; ``route``: the principal components
of wide variables and their held-out curve); the estimate's stderr is the
chosen candidate's. Constant columns carry no information and are left out of
MI and CMI (with a warning).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from .. import transforms
from ._common import Context, Raw

RULE_MI = ("copula (normal scores), then gaussian and ksg(k=1): agreeing within noise, the "
           "more precise; disagreeing, the larger - unless the Gaussian model is rejected "
           "(RESET) where kNN is accurate (low intrinsic dimension); a Student-t copula in "
           "the Gaussian's place when the tails of x and y move together as a t's; wide "
           "variables: gaussian on principal components chosen by held-out information")
RULE_H = ("copula marginal decomposition h = sum h(X_i) + h(Z) - d/2 log(2 pi e), joint "
          "term min(gaussian, kl) on the normal scores: the Gaussian entropy is an upper "
          "bound, KL is consistent")


def _child(ctx: Context) -> Context:
    seed = int(ctx.rng.integers(2**63 - 1))
    return Context(rng=np.random.default_rng(seed), device=ctx.device, progress=None,
                   discrete=dict(ctx.discrete), names=dict(ctx.names),
                   classes=dict(ctx.classes), write_files=False,
                   columns=dict(getattr(ctx, "columns", {})),
                   discrete_columns=dict(ctx.discrete_columns),
                   raw_gaps=dict(ctx.raw_gaps))


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
    for v, a in arrays.items():  # tie widths are reported in the data's units
        if not ctx.discrete.get(v) and a.ndim == 2:
            ctx.raw_gaps[v] = [_smallest_gap(a[:, j]) for j in range(a.shape[1])]
    return tuple(a if ctx.discrete.get(v) else transforms.normal_scores(a)
                 for v, a in arrays.items())


def _smallest_gap(col: np.ndarray) -> float | None:
    gaps = np.diff(np.sort(col))
    positive = gaps[gaps > 0]
    return float(positive.min()) if positive.size and positive.size < gaps.size else None


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


def _record(ctx: Context, results: dict[str, Raw], chosen: str, rule: str, why: str,
            excluded: dict[str, str] | None = None) -> Raw:
    """Record the candidates, the choice and why in ``details["auto"]``; the chosen
    candidate's value and stderr."""
    ctx.details["auto"] = {
        "rule": rule,
        "transform": f"copula: normal scores; ties: {transforms.TIES_NOTE}",
        "candidates": {n: {"value": r.value, "stderr": r.stderr} for n, r in results.items()},
        "chosen": chosen,
        "why": why if len(results) > 1 else f"{chosen} is the only candidate for these inputs",
    }
    if excluded:
        ctx.details["auto"]["excluded"] = dict(excluded)
        ctx.details["auto"]["why"] += "; not run: " + "; ".join(
            f"{n} ({why})" for n, why in excluded.items())
    raw = results[chosen]
    return Raw(raw.value, raw.stderr, f"{raw.stderr_method} (of {chosen}, chosen by auto)")


def _combine(ctx: Context, results: dict[str, Raw], pick, rule: str, why_fmt: str,
             excluded: dict[str, str] | None = None) -> Raw:
    """The entropy rule: ``pick`` (min) over the candidates' values."""
    chosen = pick(results, key=lambda name: results[name].value)
    others = [n for n in results if n != chosen]
    return _record(ctx, results, chosen, rule, why_fmt.format(chosen=chosen,
                                                              others=", ".join(others)),
                   excluded)


#: candidates that differ by more than this many standard errors of their difference
#: disagree; below it they agree within noise
Z_AGREE = 3.0
#: kNN terms are correlated: their per-sample stderr is ~30 % too small (as in the check)
_KNN_SE = 1.3


def _choose_mi(ctx: Context, results: dict[str, Raw], gauss: str | None, knn_label: str,
               model_check, intrinsic=lambda: np.inf,
               learned: str | None = None) -> tuple[str, str]:
    """(chosen candidate, why): :func:`_choose_two` between the Gaussian and the kNN
    candidates; then the learned codes (wide variables, :mod:`._crosspred`), whose
    value estimates a lower bound on the MI: taken when it exceeds the choice beyond
    noise, or when the choice rests on a rejected Gaussian model in many intrinsic
    dimensions and it is the larger of the two lower estimates."""
    chosen, why = _choose_two(ctx, results, gauss, knn_label, model_check, intrinsic)
    if learned is None or learned not in results:
        return chosen, why
    lv, cv = results[learned], results[chosen]
    if chosen == gauss and ctx.details.get("auto_choice", {}).get("linearity_z", 0) > _RESET_Z:
        kv = results[knn_label]
        pick = learned if lv.value >= kv.value else knn_label
        return pick, (f"{why.split(';')[0]}; the Gaussian model of the codes is rejected and "
                      f"the kNN candidate is biased low, so the larger of the two lower "
                      f"estimates is taken: {pick} (learned cross-predictive codes "
                      f"{lv.value:.3g}, kNN {kv.value:.3g} nats)")
    sd = float(np.hypot(_KNN_SE * (lv.stderr or 0.0), cv.stderr or 0.0))
    if chosen != learned and lv.value - cv.value > Z_AGREE * sd:
        return learned, (f"{learned} is {lv.value - cv.value:.3g} nats above {chosen} "
                         f"({(lv.value - cv.value) / sd:.1f} sd): learned codes keep "
                         f"dependence the others miss, and their value is a lower bound; "
                         f"before: {why}")
    return chosen, why


#: the learned candidate of wide variables
LEARNED = "ksg(k=3)+crosspred"


def _choose_two(ctx: Context, results: dict[str, Raw], gauss: str | None, knn_label: str,
                model_check, intrinsic=lambda: np.inf) -> tuple[str, str]:
    """(chosen candidate, why): the MI combination rule, for every dimension.

    1. Candidates that agree within noise (|G - K| <= Z_AGREE sd of the difference):
       the more precise one. The choice is made on the noise, not on the values, so it
       does not select upward noise (the max of two nearly equal estimates errs high,
       most of all near independence).
    2. They disagree and the kNN value is larger: the Gaussian(-copula) model misses
       nonlinear dependence; kNN.
    3. They disagree and the Gaussian value is larger: kNN is biased low (high MI or
       dimension) - or the Gaussian model reads high on curved dependence, which
       happens for vectors (for one column on each side the Gaussian-copula MI is a
       lower bound in the population). ``model_check()`` runs the RESET linearity test
       of the Gaussian model. Not significant: the Gaussian candidate. Significant: the
       kNN candidate when the data's intrinsic dimension (``intrinsic()``, TwoNN of
       the joint normal scores) is at most :data:`KNN_DIM`, where its bias is small
       (curved data on a low-dimensional set: images of a few latents, nonlinear
       embeddings); in more dimensions kNN is biased low as well and cannot overrule
       the Gaussian value (bmi's 25 x 25 spiral: GCMI 0.82, KSG 0.11, truth 1.02).
    """
    if gauss is None or gauss not in results or knn_label not in results:
        return next(iter(results)), ""
    g, kn = results[gauss], results[knn_label]
    se_g = g.stderr or 0.0
    se_k = _KNN_SE * (kn.stderr or 0.0)
    sd = float(np.hypot(se_g, se_k))
    diff = g.value - kn.value
    z = abs(diff) / sd if sd > 0 else (np.inf if diff else 0.0)
    ctx.details.setdefault("auto_choice", {}).update(difference=diff, difference_sd=sd)
    if z <= Z_AGREE:
        chosen = gauss if se_g <= se_k else knn_label
        return chosen, (f"the candidates agree within noise ({z:.1f} sd of their difference): "
                        f"{chosen}, the more precise, is taken")
    if diff < 0:
        return knn_label, (f"{knn_label} is {-diff:.3g} nats above {gauss} ({z:.1f} sd): the "
                           "Gaussian model misses nonlinear dependence")
    if gauss == TCOPULA:  # its own checks passed (LR, shared scale); RESET's F test
        # assumes residuals of constant variance, which a shared scale rules out
        return gauss, (f"{gauss} is {diff:.3g} nats above {knn_label} ({z:.1f} sd) and the t "
                       "copula fits (likelihood ratio, shared-scale check): the kNN "
                       "candidate is biased low on dependence through shared heavy tails")
    test = model_check()
    if test is not None:
        ctx.details["auto_choice"].update(linearity_z=test["z"], linearity_gain=test["gain"])
    if test is not None and test["z"] > _RESET_Z:
        dim = intrinsic()
        ctx.details["auto_choice"]["intrinsic_dim"] = dim
        if dim <= KNN_DIM:
            return knn_label, (f"{gauss} is {diff:.3g} nats above {knn_label} ({z:.1f} sd), "
                               f"but the Gaussian model is rejected (RESET linearity test, "
                               f"{test['z']:.0f} sd) - on curved dependence it reads high - "
                               f"and the data have intrinsic dimension about {dim:.1f}, "
                               "where the kNN candidate is accurate")
        return gauss, (f"{gauss} is {diff:.3g} nats above {knn_label} ({z:.1f} sd); the "
                       f"Gaussian model is rejected (RESET linearity test, {test['z']:.0f} "
                       f"sd), but in intrinsic dimension about {dim:.1f} the kNN candidate is "
                       "biased low too: the larger is kept, and the check says how far to "
                       "trust it")
    return gauss, (f"{gauss} is {diff:.3g} nats above {knn_label} ({z:.1f} sd) and the "
                   "Gaussian model holds (RESET linearity test not significant): the kNN "
                   "candidate is biased low here")


#: joint intrinsic dimension up to which a kNN candidate may overrule a rejected Gaussian
#: model: KSG (k = 1) on a few thousand rows is within ~10 % of the truth there
KNN_DIM = 8.0
#: z of the RESET test above which the Gaussian model is rejected (as in the check)
_RESET_Z = 4.0


def _draw(ctx: Context) -> int:
    return int(ctx.rng.integers(2**63 - 1))


def _intrinsic(arrays: tuple, seed: int) -> float:
    """TwoNN intrinsic dimension of the joint continuous arrays (upper 2-sd end)."""
    from .._intrinsic import two_nn

    est = two_nn(np.hstack([a.reshape(len(a), -1) for a in arrays]), seed)
    return float(est["dim"] + 2 * est["se"]) if np.isfinite(est["dim"]) else np.inf


def _linearity(x: np.ndarray, y: np.ndarray, seed: int):
    """The RESET linearity test of a Gaussian copula of (x, y); None when it does not
    apply (one column on each side: the Gaussian-copula MI is a lower bound there, so
    a larger Gaussian value is never rejected; or too few rows)."""
    from .. import _summaries

    if x.shape[1] == 1 and y.shape[1] == 1:
        return None
    c = _summaries.canonical(x, y, seed)
    return None if c is None else _summaries.nonlinearity(c, 3)


def _knn_kw(k, ties):
    return {"k": k, "standardize": True, "ties": ties, "backend": "auto"}


_GAUSS_KW = {"bias_correction": True, "jackknife_groups": 20}


def _informative(ctx: Context, arrays: dict[str, np.ndarray]) -> tuple:
    """The arrays without their constant columns, which carry no information about
    anything (MI and CMI are unchanged); the warnings name them. A variable that is
    constant throughout is left as it is (the estimators refuse it with a message)."""
    out = []
    for v, a in arrays.items():
        if ctx.discrete.get(v) or a.ndim != 2:
            out.append(a)
            continue
        const = np.flatnonzero(a.std(axis=0) == 0)
        if const.size == 0 or const.size == a.shape[1]:
            out.append(a)
            continue
        shown = ", ".join(ctx.column(v, int(j)).removeprefix("column ")
                          for j in const[:8]) + (", ..." if const.size > 8 else "")
        ctx.warn(f"{ctx.name(v)}: {const.size} constant column(s) ({shown}) carry no "
                 "information and were left out")
        ctx.details.setdefault("constant_columns", {})[v] = int(const.size)
        out.append(np.delete(a, const, axis=1))
    return tuple(out)


def _codes_label(rx: int, ry: int) -> str:
    return f"gaussian+pca({rx}x{ry})+copula"


def _parse_codes(label: str | None) -> tuple[int, int] | None:
    import re

    m = re.fullmatch(r"gaussian\+pca\((\d+)x(\d+)\)\+copula", label or "")
    return (int(m.group(1)), int(m.group(2))) if m else None


def _wide_plan(ctx: Context, xs, ys, only: str | None) -> dict:
    """The route for wide variables (``xs``, ``ys``: standardised, without constant
    columns; a side with at least ``_reduce.WIDE`` columns):
    principal components of the standardised columns, their number chosen by held-out
    information (:mod:`._reduce`), then the Gaussian copula of the codes; ``{}`` when
    no codes apply. The check's re-runs (``only``) reuse the chosen numbers."""
    from . import _reduce

    fixed = _parse_codes(only)
    if fixed is not None:
        return {"r": {"x": fixed[0], "y": fixed[1]}}
    if only is not None:
        return {}  # the check re-runs another candidate alone
    if xs.shape[1] == 0 or ys.shape[1] == 0:
        return {}
    plan = _reduce.choose_codes(xs, ys, _draw(ctx))
    return plan or {}


def auto_mi(ctx: Context, x, y, *, k, ties, only: str | None = None) -> Raw:
    """I(X;Y): GCMI (on validated principal components for wide variables) and KSG on
    normal scores, combined by :func:`_choose_mi`; labels y: Ross's kNN on normal
    scores of x."""
    from . import _crosspred, _reduce, gaussian, knn

    if ctx.discrete.get("x") or ctx.discrete_columns:
        return _discrete_mi(ctx, x, y, k=k, ties=ties)
    labels = bool(ctx.discrete.get("y"))
    x, y = _informative(ctx, {"x": x, "y": y})
    arrays = _scores(ctx, {"x": x, "y": y})
    if labels:  # Ross's estimator alone: k = 1 is too noisy to stand alone (sd 0.05 nats
        k = max(k, ROSS_K)  # at n = 400 vs 0.03 with k = 3, Ross's own choice)
    knn_label = f"ksg(k={k})+copula"
    candidates = {knn_label: lambda c, a, b: knn.ksg_mi(c, a, b, algorithm=1,
                                                        **_knn_kw(k, ties))}
    wide = not labels and max(x.shape[1], y.shape[1]) >= _reduce.WIDE
    # standardised once for the wide route's candidates
    std = (_reduce.standardise(x), _reduce.standardise(y)) if wide else None
    plan = _wide_plan(ctx, *std, only) if wide else None
    excluded = None
    gauss = learned = None
    model_check = None
    if plan is not None:  # wide: the Gaussian copula of validated codes
        route = {"wide": True, "columns": {"x": int(x.shape[1]), "y": int(y.shape[1])}}
        if "r" in plan:
            rx, ry = plan["r"]["x"], plan["r"]["y"]
            gauss = _codes_label(rx, ry)
            coded: dict[str, np.ndarray] = {}

            def on_codes(c, a, b):
                coded["x"] = transforms.normal_scores(_reduce.codes(std[0], rx))
                coded["y"] = transforms.normal_scores(_reduce.codes(std[1], ry))
                return gaussian.gaussian_mi(c, coded["x"], coded["y"], **_GAUSS_KW)

            candidates = {gauss: on_codes, **candidates}
            model_check = lambda: _linearity(coded["x"], coded["y"], _draw(ctx))  # noqa: E731
            if "curve" in plan:
                route["codes"] = {"components": dict(plan["r"]), "plateau": plan["plateau"],
                                  "heldout_curve": plan["curve"]}
        elif only is None:
            excluded = {"gaussian+pca": "too few rows, or a side without a varying column, "
                                        "for validated principal components"}
        if len(x) >= _crosspred.MIN_ROWS:
            learned = LEARNED
            learned_report: dict = {}

            def on_learned(c, a, b):
                fx, gy, rep = _crosspred.cross_codes(c, *std, _draw(c))
                learned_report.update(rep)
                return knn.ksg_mi(c, transforms.normal_scores(fx), transforms.normal_scores(gy),
                                  algorithm=1, **_knn_kw(3, ties))

            candidates[learned] = on_learned
        if only is None:
            route["why"] = ("a side has at least %d columns: the Gaussian candidate runs on "
                            "principal components whose number is chosen by the information "
                            "they keep on held-out rows" % _reduce.WIDE)
            ctx.details["auto_route"] = route
    elif not labels:
        excluded = _gaussian_excluded(ctx, {"x": x, "y": y}, arrays, only)
        if not excluded:
            gauss = "gaussian+copula"
            candidates = {gauss: lambda c, a, b: gaussian.gaussian_mi(c, a, b, **_GAUSS_KW),
                          **candidates}
            model_check = lambda: _linearity(arrays[0], arrays[1], _draw(ctx))  # noqa: E731
            fitted = _tcopula_candidate(ctx, arrays, only)
            if fitted is not None:  # the t copula takes the Gaussian copula's place
                candidates = {TCOPULA: lambda c, a, b: fitted,
                              **{k: v for k, v in candidates.items() if k != gauss}}
                gauss = TCOPULA
    results = _run_candidates(ctx, candidates, arrays, only)
    if labels:  # I(X;Y) <= H(Y): clipped and recorded, never silently
        from .discrete import bound_by_entropy

        r = results[knn_label]
        results[knn_label] = Raw(bound_by_entropy(ctx, r.value, {"y": y})["value"], r.stderr,
                                 r.stderr_method)
    chosen, why = _choose_mi(ctx, results, gauss, knn_label, model_check,
                             lambda: _intrinsic(arrays, _draw(ctx)), learned)
    if learned is not None and learned_report and "auto_route" in ctx.details:
        ctx.details["auto_route"]["learned_codes"] = learned_report
    raw = _record(ctx, results, chosen, RULE_MI, why, excluded)
    for key in ("auto_choice", "auto_route", "auto_tcopula"):
        if key in ctx.details:
            ctx.details["auto"][key.removeprefix("auto_")] = ctx.details.pop(key)
    return raw


#: the label of the Student-t copula candidate
TCOPULA = "t+copula"


def _tcopula_candidate(ctx: Context, arrays: tuple, only: str | None) -> Raw | None:
    """The t-copula candidate (:mod:`._tcopula`) when it replaces the Gaussian copula,
    else None; what was tested is recorded in ``details["auto_tcopula"]``.

    The tail gate (NumPy) runs first; only when the tails of x and y move together
    beyond a Gaussian copula (z > ``GATE_Z``) is the t copula fitted (SciPy), and it
    replaces the Gaussian copula when the likelihood ratio favours a finite nu
    (> ``LR_MIN``) and the fitted copula reproduces the co-movement of the two sides'
    radii (|z| <= ``GOF_Z``). The check's re-runs of this candidate (``only``) fit it
    without the gate."""
    from . import _tcopula

    if only is not None and only != TCOPULA:
        return None
    x, y = arrays
    n, d = len(x), x.shape[1] + y.shape[1]
    if n < _tcopula.MIN_ROWS or d > _tcopula.MAX_DIM:
        return None
    record: dict[str, Any] = {}
    if only is None:
        gate = _tcopula.tail_gate(x, y)
        record["gate_z"] = gate["z"]
        if not gate["z"] > _tcopula.GATE_Z:
            record["used"] = False
            record["why"] = (f"tails of x and y move together as a Gaussian copula allows "
                             f"(gate z {gate['z']:.1f} <= {_tcopula.GATE_Z:g}): not fitted")
            ctx.details["auto_tcopula"] = record
            return None
    try:
        fit = _tcopula.fit(x, y, _draw(ctx), value_only=only is not None)
    except (np.linalg.LinAlgError, ValueError, FloatingPointError) as err:
        record.update(used=False, why=f"the t-copula fit failed ({err})")
        if only is None:
            ctx.details["auto_tcopula"] = record
        return None
    if only is not None:  # the check's parts: their values only
        return Raw(fit["value"], None, None)
    keep = ("nu", "nu_range", "lr", "gof_z", "tail_tau", "gaussian_part", "scale_part", "bias")
    record.update({k: fit[k] for k in keep}, value=fit["value"], stderr=fit["stderr"],
                  used=fit["usable"])
    if not fit["usable"]:
        record["why"] = (f"not used: likelihood ratio {fit['lr']:.1f} against the Gaussian "
                         f"copula (needs > {_tcopula.LR_MIN:g}), shared-scale check "
                         f"z {fit['gof_z']:.1f} (needs |z| <= {_tcopula.GOF_Z:g})")
        ctx.details["auto_tcopula"] = record
        return None
    record["why"] = (f"the tails of x and y move together beyond a Gaussian copula (gate z "
                     f"{record['gate_z']:.1f}); a t copula with nu = {fit['nu']:.2f} fits "
                     f"better (likelihood ratio {fit['lr']:.0f}) and reproduces the "
                     f"co-movement of the radii (z {fit['gof_z']:.1f}): it replaces the "
                     "Gaussian copula")
    ctx.details["auto_tcopula"] = record
    return Raw(fit["value"], fit["stderr"], "delete-a-group jackknife of the t-copula fit")


#: neighbours of Ross's estimator when it is auto's only candidate (labels)
ROSS_K = 3
#: coverage 1 - f1/n (f1 classes seen once) below which a discrete entropy is
#: undersampled and auto uses Chao-Shen instead of Miller-Madow
MIN_COVERAGE = 0.99
RULE_DISCRETE = ("discrete data: both sides discrete -> plug-in with Miller-Madow "
                 "correction; one side discrete -> Ross's kNN on the normal scores of the "
                 "other; discrete and continuous columns within a side -> Gao et al.'s mixed "
                 "KSG; every value bounded by H of a discrete side (clipping recorded)")


def _entropy_method(labels: np.ndarray) -> tuple[str, str]:
    from .discrete import counts_of

    counts = counts_of(labels)
    coverage = 1 - np.count_nonzero(counts == 1) / counts.sum()
    if coverage < MIN_COVERAGE:
        return "chao_shen", (f"sample coverage {coverage:.3f} < {MIN_COVERAGE} (classes seen "
                             "once): the alphabet is undersampled, Chao-Shen's "
                             "coverage-adjusted estimator")
    return "miller_madow", (f"sample coverage {coverage:.3f}: every class seen repeatedly, "
                            "plug-in with the Miller-Madow correction")


def _discrete_mi(ctx: Context, x, y, *, k: int, ties: str) -> Raw:
    """auto's route for discrete variables (see :data:`RULE_DISCRETE`)."""
    from . import discrete, knn

    dx, dy = bool(ctx.discrete.get("x")), bool(ctx.discrete.get("y"))
    if ctx.discrete_columns:
        chosen, why = f"mixed_ksg(k={max(k, 3)})", ("discrete and continuous columns within a "
                                                     "variable: Gao et al.'s mixed KSG")
        raw = discrete.mixed_ksg_mi(ctx, x, y, k=max(k, 3), ties=ties)
    elif dx and dy:
        chosen, why = "discrete(miller_madow)", "both variables discrete"
        raw = discrete.discrete_mi(ctx, x, y, method="miller_madow")
    else:  # x discrete, y continuous: Ross with the roles swapped (MI is symmetric)
        k = max(k, ROSS_K)
        chosen, why = f"ksg(k={k})+copula", ("x discrete and y continuous: Ross's mixed kNN "
                                             "estimator on the normal scores of y")
        swapped = _child(ctx)
        swapped.discrete = {"x": False, "y": True}
        swapped.names = {"x": ctx.name("y"), "y": ctx.name("x")}
        swapped.columns = {"x": ctx.columns.get("y")} if ctx.columns.get("y") else {}
        (ys,) = _informative(swapped, {"x": y})
        r = knn.ksg_mi(swapped, transforms.normal_scores(ys), x, algorithm=1,
                       **_knn_kw(k, ties))
        for w in swapped.warnings:
            ctx.warn(w)
        raw = Raw(discrete.bound_by_entropy(ctx, r.value, {"x": x})["value"], r.stderr,
                  r.stderr_method)
    ctx.details["auto"] = {"rule": RULE_DISCRETE, "candidates": {
        chosen: {"value": raw.value, "stderr": raw.stderr}}, "chosen": chosen, "why": why}
    return Raw(raw.value, raw.stderr, f"{raw.stderr_method} (of {chosen}, chosen by auto)")


def auto_cmi(ctx: Context, x, y, z, *, k, ties, only: str | None = None) -> Raw:
    """I(X;Y|Z): Gaussian-copula CMI and Frenzel-Pompe KSG on normal scores, combined by
    :func:`_choose_mi` (no linearity test for CMI: a larger Gaussian value is taken)."""
    from . import gaussian, knn

    x, y, z = _informative(ctx, {"x": x, "y": y, "z": z})
    arrays = _scores(ctx, {"x": x, "y": y, "z": z})
    excluded = _gaussian_excluded(ctx, {"x": x, "y": y, "z": z}, arrays, only)
    knn_label = f"ksg(k={k})+copula"
    candidates = {
        "gaussian+copula": lambda c, a, b, d: gaussian.gaussian_cmi(c, a, b, d, **_GAUSS_KW),
        knn_label: lambda c, a, b, d: knn.ksg_cmi(c, a, b, d, algorithm=1, **_knn_kw(k, ties)),
    }
    if excluded:
        del candidates["gaussian+copula"]
    results = _run_candidates(ctx, candidates, arrays, only)
    chosen, why = _choose_mi(ctx, results, "gaussian+copula", knn_label, lambda: None)
    raw = _record(ctx, results, chosen, RULE_MI, why, excluded)
    if "auto_choice" in ctx.details:
        ctx.details["auto"]["choice"] = ctx.details.pop("auto_choice")
    return raw


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
    """H(X): copula decomposition, joint term min(Gaussian, KL) on the normal scores;
    discrete x: the plug-in with Miller-Madow, or Chao-Shen when undersampled."""
    if ctx.discrete.get("x"):
        from . import discrete

        method, why = _entropy_method(x)
        raw = discrete.discrete_entropy(ctx, x, method=method)
        chosen = f"discrete({method})"
        ctx.details["auto"] = {"rule": RULE_DISCRETE, "candidates": {
            chosen: {"value": raw.value, "stderr": raw.stderr}}, "chosen": chosen, "why": why}
        return raw
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
