"""The reliability verdict and the bias-aware interval of every estimate.

One place, over any estimator's output: :func:`assess` takes the result of an
implementation (an :class:`~infocli.result.Estimate` in nats), the
implementation itself and the arrays it was given, and returns the same
record with

* ``interval`` - a 95 % interval for the *true* quantity: the noise plus every
  bias component this check can assess (``hi`` None: "at least lo"; ``lo``
  None: "at most hi");
* ``reliable`` - False whenever a diagnostic says the value may be off by more
  than that interval; each reason is a sentence in ``warnings`` and a code in
  ``details["diagnostics"]``;
* ``stderr`` - still the noise part, but with the subsampling ladder it is
  raised toward the ladder's noise estimate when that is larger (kNN
  per-sample terms are not independent: their stderr is 15-35 % too small);
  the estimator's own value stays in ``details["stderr_estimator"]``;
* ``details["check"]`` (the level that ran), ``details["diagnostics"]`` (codes)
  and ``details["reliability"]`` (the numbers behind the verdict, in nats).

Evidence, by estimator family (the level that runs it in brackets)
-------------------------------------------------------------------
* **subsampling ladder** (kNN, compressed with PCA: fast; every estimator:
  full). After Holmes & Nemenman, Phys. Rev. E 100, 022404 (2019): the rows
  are split (seeded permutation, without replacement) into gamma = 2, 3, 4
  (full: 2..8) disjoint parts and the implementation is re-run on each part.
  The spread of the part estimates, scaled by the part size, pools into a
  noise variance (sum_g (g - 1) s_g^2 / g / sum_g (g - 1)). The drift of the
  part means m_g against the full-data value m_1 measures the bias: with
  bias(n) = c n^-alpha, m_g - m_1 = beta (g^alpha - 1), beta the remaining
  bias of the value. beta is fitted at alpha = 1/2 and at alpha = min(1/2, 2/d)
  (kNN bias decays slowly in high dimension, Berrett-Samworth-Yuan; Gao et
  al.). The interval is the hull of the value and
  both extrapolations, widened by 1.96 sqrt(sigma^2 + se_slow^2). A drift that
  is significant (> 2.5 of its standard errors) *and* large (the slow
  extrapolation moves the value by more than 5 % + 0.01 nats) marks
  ``not_converged``; a slow extrapolation too uncertain to bound the bias to
  10 % + 0.02 nats marks ``high_dimension``. Either way the extrapolation is
  not trusted and the interval becomes one-sided in the drift's direction.
* **rank invariance** (kNN MI, fast when a margin is skewed or heavy-tailed;
  full always): the estimate on normal scores of every column (MI is
  unchanged by monotone maps) widens the interval, and a difference above
  10 % + 0.02 nats marks ``rank_sensitive``.
* **marginal decomposition** (kl entropy, fast when a margin is skewed or
  heavy-tailed; full always): h(X) = sum h(X_i) + h(normal scores) - d/2 log(2 pi e),
  the way ``auto`` estimates, with 1-D marginals; the interval covers it, and a
  difference above 0.05 nats per column + 0.02 marks ``tail_sensitive`` (the
  kNN bias on such margins decays too slowly for the ladder to see).
* **k against 2k** (kNN, full): a kNN value that moves by more than its noise
  when k doubles carries a k-dependent bias; the interval covers both.
* **bounds** (every level but off): MI and CMI >= 0 (a value below
  -1.96 stderr - 0.01 nats is ``impossible_value``); I(X;Y) <= H(Y) for class
  labels y (plug-in H(Y) + (C - 1) / 2n, Miller-Madow); DSE in
  [0, log n]. Intervals are clipped to the feasible range.
* **non-Gaussianity** (gaussian, fast): Mardia's multivariate kurtosis of the
  rank-Gaussianised (copula) data, which catches dependence a covariance
  cannot see (a Student-t's shared scale), and the plug-in re-run on the
  rank-Gaussianised data, which catches non-Gaussian margins; either marks
  ``non_gaussian``. The Gaussian entropy is then an upper bound; the
  Gaussian MI of Gaussian margins a lower bound.
* **data-processing lower bounds** (ksg, auto, gaussian MI of two continuous
  variables; fast): I(X;Y) >= I(g(X); h(Y)); KSG on 2-D summaries of the
  normal scores (the first canonical pair; the radii of the whitened scores,
  where an elliptical law keeps its dependence) above the estimate beyond
  noise marks ``below_bound`` (:mod:`infocli._summaries`).
* **Gaussian copula against mixtures** (auto when its Gaussian-copula candidate
  won; fast): along the first canonical pairs, a 2-D KSG above the pair's Gaussian
  MI opens the interval by the sum of the gaps; a variance test (the squared
  residual of each canonical variate against its partner and the radius: a
  mixture of dependent and independent rows, or of correlations, makes it grow)
  rejecting with R^2 > 0.01 marks ``non_gaussian``.
* **linearity** (gaussian MI, auto when its Gaussian-copula candidate won;
  fast): Ramsey's RESET of each canonical variate on nonlinear features of the
  other side; significant: the interval opens upward; with a large gain:
  ``non_gaussian``.
* **fitted estimators** (knife, neural bounds; fast): the flags they report
  (InfoNCE ``capped``, DV ``batch_drop``, training ``diverged`` or unstable,
  KNIFE still improving at max_epochs: ``not_converged``), the gap between the
  validation and the held-out test value (``train_test_gap``), and what the
  estimator is: a variational lower bound (neural, KNIFE with labels:
  interval ``[lo, None]``, or ``[lo, H(Y)]``) or a cross-entropy upper bound
  (KNIFE entropies: ``[None, hi]``).
* **too few rows**: a level needs rows for its parts; with fewer the check
  falls back to fewer parts, then to the bounds only (``too_few_rows``, said
  in ``warnings``). It never fails where the plain estimator works.

Randomness: every sub-run takes its own generator derived from the seed
(``np.random.default_rng([seed, TAG, ...])``); the main estimate's stream is
untouched, so ``check="off"`` gives today's value and stderr bit for bit.
"""

from __future__ import annotations

import math
import threading
import time
from dataclasses import dataclass, field, replace
from typing import Any, Callable

import numpy as np

from .errors import InfocliError, ParameterError

__all__ = ["DEFAULT_LEVEL", "LEVELS", "assess", "ladder_verdict", "mi_bound_findings",
           "resolve_level"]

#: Check levels, cheapest first.
LEVELS = ("off", "fast", "full")
#: Level used when ``check`` is not given: the cheapest that meets the targets
#: (kNN and gaussian: at most ~5x one estimate; fitted estimators: their own flags).
DEFAULT_LEVEL = "fast"

Z95 = 1.959963984540054
_TAG = 0x7472  # "tr": sub-seeds of the check, apart from every other stream
_NEURAL = ("mine", "nwj", "infonce", "smile", "js")
_KNN = ("kl", "ksg")
#: estimators whose ladder parts run concurrently, one core each: thread-safe, and
#: their small neighbour searches use one core poorly (SciPy's threads on a few
#: thousand rows); the fitted ones train with torch's own threads
_CONCURRENT = (*_KNN, "auto", "gaussian")
#: drift significance (in standard errors) and size (relative, absolute nats)
_Z_DRIFT = 2.5
_REL_TOL, _ABS_TOL = 0.05, 0.01
_GAP_REL, _GAP_ABS = 0.10, 0.02
_PRIOR_DOF = 6  # pseudo degrees of freedom of the estimator's own stderr
#: the same for fitted estimators, whose held-out stderr is only the part of the noise
#: that scoring one fitted model adds (the parts, each a new fit, see the rest): it
#: counts as one pseudo degree of freedom and is no floor - the larger of it and the
#: parts' spread overstated the noise where training adds little (infonce at full:
#: seed SD 0.72 of it over 10 tasks x 3 seeds; 0.97 as now)
_FITTED = {"floor": False, "prior_dof": 1}
#: kNN terms are correlated: their per-sample stderr is ~30 % too small
_KNN_SE = 1.3


def resolve_level(check: str | None) -> str:
    """``None`` -> the default level; a known level unchanged; else ParameterError."""
    if check is None:
        return DEFAULT_LEVEL
    if check not in LEVELS:
        raise ParameterError(f"check {check!r}: expected one of {', '.join(LEVELS)}")
    return check


# --------------------------------------------------------------------------- findings


@dataclass
class _Findings:
    """What the checks found, accumulated while they run (values in nats)."""

    value: float
    noise: float | None  # noise stderr
    lo: float | None = None
    hi: float | None = None
    codes: list[str] = field(default_factory=list)
    sentences: list[str] = field(default_factory=list)
    numbers: dict[str, Any] = field(default_factory=dict)
    ran: str = "off"
    notes: list[str] = field(default_factory=list)  # said in warnings but not a failure

    def flag(self, code: str, sentence: str) -> None:
        if code not in self.codes:
            self.codes.append(code)
        if sentence not in self.sentences:
            self.sentences.append(sentence)

    def widen(self, lo: float | None = None, hi: float | None = None) -> None:
        """Grow the interval to include [lo, hi] (None: unbounded on that side)."""
        if lo is None:
            self.lo = None
        elif self.lo is not None:
            self.lo = min(self.lo, lo)
        if hi is None:
            self.hi = None
        elif self.hi is not None:
            self.hi = max(self.hi, hi)

    def one_sided(self, direction: int) -> None:
        """Open the interval upward (+1: truth above) or downward (-1)."""
        if direction > 0:
            self.hi = None
        else:
            self.lo = None


@dataclass(frozen=True)
class _Job:
    """Everything needed to re-run the implementation."""

    measure: str
    estimator: str
    impl: Callable[..., Any]
    arrays: dict[str, np.ndarray]
    discrete: dict[str, bool]
    names: dict[str, str]
    classes: dict[str, list]
    device: str
    params: dict[str, Any]
    seed: int
    details: dict[str, Any]
    warnings: tuple[str, ...]
    discrete_columns: dict[str, Any] = field(default_factory=dict)

    @property
    def n(self) -> int:
        return len(next(iter(self.arrays.values())))

    def joint_dim(self) -> int:
        return sum(int(a.shape[1]) for v, a in self.arrays.items()
                   if not self.discrete.get(v) and a.ndim == 2)

    def run(self, arrays: dict[str, np.ndarray], key: tuple[int, ...],
            params: dict[str, Any] | None = None) -> float:
        return float(self.raw(arrays, key, params).value)

    def raw(self, arrays: dict[str, np.ndarray], key: tuple[int, ...],
            params: dict[str, Any] | None = None):
        """The estimator's raw result (value, stderr, details) on ``arrays``."""
        from .estimators._common import Context

        ctx = Context(rng=np.random.default_rng([self.seed, _TAG, *key]), device=self.device,
                      progress=None, discrete=self.discrete, names=self.names,
                      classes=self.classes, write_files=False,
                      discrete_columns=self.discrete_columns)
        return self.impl(ctx, *arrays.values(), **(params or self.params))


# --------------------------------------------------------------------------- entry point


def assess(result, *, impl: Callable[..., Any], arrays: dict[str, np.ndarray], ctx,
           params: dict[str, Any], seed: int, check: str | None,
           progress: Callable[[str, float, float], None] | None = None):
    """The record ``result`` (in nats) with ``interval``, ``reliable``, the noise
    ``stderr`` and the check's details and warnings; ``check="off"`` returns it
    with only ``details["check"] = "off"``.

    ``impl``, ``arrays`` (as handed to the implementation), ``ctx`` (its
    context: discrete flags, names, classes, device) and ``params`` (the
    effective parameters) let the check re-run the estimator on parts of the
    data; ``seed`` derives the sub-seeds.
    """
    level = resolve_level(check)
    details = dict(result.details)
    details["check"] = level
    if level == "off":
        return replace(result, details=details)
    start = time.perf_counter()
    job = _Job(measure=result.measure, estimator=result.estimator, impl=impl, arrays=arrays,
               discrete=dict(ctx.discrete), names=dict(ctx.names), classes=dict(ctx.classes),
               device=ctx.device, params=dict(params), seed=int(seed), details=details,
               warnings=tuple(result.warnings),
               discrete_columns=dict(getattr(ctx, "discrete_columns", {}) or {}))
    f = _Findings(value=float(result.value), noise=result.stderr)
    f.ran = level
    _dispatch(job, f, level, progress)
    _finish_interval(f)
    _bounds(job, f)

    details["check"] = f.ran
    if f.ran != level:
        details["check_requested"] = level
    details["diagnostics"] = list(f.codes)
    details["reliability"] = {k: v for k, v in f.numbers.items()}
    stderr = result.stderr
    if f.noise is not None and (stderr is None or f.noise != stderr):
        details["stderr_estimator"] = stderr
        details["stderr_method"] = (f"{details.get('stderr_method') or 'none'}; raised to the "
                                    "spread of disjoint subsamples (scaled by their size)"
                                    if stderr is not None else
                                    "spread of disjoint subsamples, scaled by their size")
        stderr = f.noise
    reliable = not f.codes
    warnings = list(result.warnings)
    for s in f.notes + f.sentences:
        if s not in warnings:
            warnings.append(s)
    interval = (None if f.lo is None else float(f.lo), None if f.hi is None else float(f.hi))
    if interval == (None, None):
        interval = None if reliable else (None, None)
    return replace(result, stderr=stderr, interval=interval, reliable=reliable,
                   warnings=tuple(warnings), details=details,
                   seconds=result.seconds + (time.perf_counter() - start))


def _dispatch(job: _Job, f: _Findings, level: str, progress) -> None:
    name = job.estimator
    if "discrete" in job.details and (name == "discrete" or str(
            job.details.get("auto", {}).get("chosen", "")).startswith("discrete(")):
        # plug-in estimates of discrete variables: the analytic interval of
        # infocli.estimators.discrete (delta-method noise, the gap between bias
        # corrections, the G-test's null spread for MI); no subsample ladder
        f.lo, f.hi = job.details["discrete"]["interval"]
        f.numbers["scope"] = "analytic interval of the discrete plug-in (details.discrete)"
        return
    full = level == "full"
    if name in _KNN:
        rungs = tuple(range(2, 9)) if full else (2, 3, 4)
        _ladder(job, f, rungs, min_rows=max(50, 10 * (job.params.get("k", 3) + 1)),
                required=True, progress=progress, first=True)
        if "mutual_information" in job.measure:
            _rank_invariance(job, f, always=full)
        elif job.measure == "entropy":
            _margin_decomposition(job, f, always=full)
        if full:
            _k_vs_2k(job, f)
        _summary_bound(job, f, _summaries(job))
    elif name == "auto":
        # the larger (MI) / smaller (entropy) of gaussian and a kNN estimate on normal
        # scores: the kNN ladder, at the parametric rate when the Gaussian candidate won
        chosen = str(job.details.get("auto", {}).get("chosen", ""))
        rungs = tuple(range(2, 9)) if full else (2, 3, 4)
        # the parts re-run the chosen candidate alone: a max (min) over noisy candidates
        # drifts up (down) as the parts shrink, which is selection, not bias of the value
        job = replace(job, params={**job.params, "only": chosen})
        # the copula decomposition of a multivariate entropy adds the joint term's stderr
        # on normal scores, whose margins are fixed by construction: it overstates that
        # term's noise (the seed-to-seed SD was 0.71 of it over 5 seeds x 33 entropy
        # tasks), so the parts, which re-rank, may bring the noise below it
        decomposed = "entropy" in job.measure and job.arrays["x"].ndim == 2 \
            and job.arrays["x"].shape[1] > 1
        codes = chosen.startswith("gaussian+pca") and not _all_components(job, chosen)
        learned = chosen.startswith("ksg(k=3)+crosspred")
        if codes:
            _data_processing_bound(f, "principal components of the wide variable(s), whose "
                                      "number was chosen by the information they keep on "
                                      "held-out rows", "principal components")
        if learned:
            _data_processing_bound(f, "learned cross-predictive codes (trained on half of "
                                      "the rows, estimated on the other half)",
                                   "learned codes")
            _ladder(job, f, (2, 3), min_rows=800, required=False, progress=progress,
                    rate_dim=1, **_FITTED)
        else:
            _ladder(job, f, rungs, min_rows=max(50, 10 * (job.params.get("k", 1) + 1)),
                    required=True, progress=progress, first=not codes,
                    rate_dim=1 if chosen.startswith("gaussian") or chosen == _TCOPULA
                    else None,
                    floor=not decomposed)
        _auto_agreement(job, f, chosen)
        copula = chosen == "gaussian+copula"
        summary = _summaries(job, pairs=_PAIRS if copula else 1)
        if summary is not None and chosen.startswith("gaussian"):
            _auto_nonlinear(job, f, summary[0])
        if chosen == _TCOPULA:
            _auto_tcopula_fit(job, f)
        if summary is not None and copula:
            _auto_copula_fit(job, f, summary)
        if codes:
            _auto_codes_model(job, f)
        _summary_bound(job, f, summary)
    elif name == "gaussian":
        _non_gaussian(job, f)
        if full:
            _ladder(job, f, tuple(range(2, 9)), min_rows=max(50, 5 * job.joint_dim()),
                    required=False, progress=progress, rate_dim=1)
    elif name in _NEURAL:
        _neural_flags(job, f)
        if full:
            _ladder(job, f, (2, 3), min_rows=500, required=False, progress=progress, rate_dim=1,
                    **_FITTED)
    elif name == "knife":
        _knife_flags(job, f)
        _knife_manifold(job, f)
        _knife_rank_invariance(job, f, always=full)
        if full:
            _ladder(job, f, (2, 3), min_rows=200, required=False, progress=progress, rate_dim=1,
                    **_FITTED)
    elif name == "compressed":
        _compressed_flags(job, f)
        cheap = all(job.params.get(s) in ("pca", "none") for s in ("x_compressor", "y_compressor"))
        if full or cheap:
            codes = job.params.get("x_dim", 2) + (1 if job.discrete.get("y")
                                                   else job.params.get("y_dim", 2))
            _ladder(job, f, tuple(range(2, 5)),
                    min_rows=max(50, 10 * (job.params.get("k", 5) + 1)), required=False,
                    progress=progress, rate_dim=codes, **_FITTED)
    elif name in ("dse", "dsmi"):
        # spectral statistics of the sample itself: only their bounds apply
        f.numbers["scope"] = ("bounds only: the value is a property of the sample and of "
                              "sigma, not an estimate of a population quantity with a known "
                              "bias")
    elif name == "noisy":
        # exact mixture densities: the Monte Carlo over the noise is the only error
        f.numbers["scope"] = ("Monte Carlo error only: the value is a property of the rows "
                              "(X uniform over them) and of the noise sigma, with exact "
                              "mixture densities")
        if job.measure == "entropy":  # H(T+eps) = H(eps) + I(X; T+eps)
            from .estimators.noisy import saturation_note

            noisy = job.details["noisy"]
            note = saturation_note(noisy["mi_x"], noisy["ceiling_log_n"])
            if note is not None:
                f.flag("saturated", note)
    else:  # an estimator the check does not know: the generic ladder
        _ladder(job, f, (2, 3, 4) if full else (2,), min_rows=50, required=True,
                progress=progress, first=True)


# --------------------------------------------------------------------------- the ladder


def _parts(n: int, gamma: int, seed: int) -> list[np.ndarray]:
    order = np.random.default_rng([seed, _TAG, 0, gamma]).permutation(n)
    return np.array_split(order, gamma)


def _ladder(job: _Job, f: _Findings, rungs: tuple[int, ...], *, min_rows: int,
            required: bool, progress, first: bool = False, rate_dim: int | None = None,
            floor: bool = True, prior_dof: float = _PRIOR_DOF) -> None:
    """Re-estimate on gamma disjoint parts; pool the noise, fit the drift.

    ``rate_dim``: the dimension behind the slow bias rate n^(-2/d) (default:
    the joint dimension, right for kNN); 1 for estimators with a parametric
    rate (then alpha_slow = 1/2). ``floor``: the estimator's own stderr is a
    floor of the pooled noise (False where it is known to err high).
    ``prior_dof``: the weight, in pseudo degrees of freedom, of the estimator's own
    stderr against the parts' spread; small for fitted estimators, whose stderr
    scores one fitted model and leaves out the fit's randomness, which only the
    parts (each a new fit) see.
    """
    sub_params = ({**job.params, "jackknife_groups": 2} if "jackknife_groups" in job.params
                  else None)  # only the value of each part is needed
    n = job.n
    usable = [g for g in rungs if n // g >= min_rows]
    if usable and len(usable) < len(rungs):
        f.notes.append(f"reliability check: {n} rows allow subsamples of at least "
                       f"{min_rows} rows only up to {max(usable)} parts (asked "
                       f"{max(rungs)}); fewer parts were used")
    means: dict[int, float] = {1: f.value}
    spreads: dict[int, float] = {}
    total = sum(usable)
    done = [0]
    lock = threading.Lock()

    def part(item):
        g, j, rows = item
        try:
            value = job.run({k: a[rows] for k, a in job.arrays.items()}, (1, g, j), sub_params)
        except InfocliError as exc:
            value = exc  # a part too small for the estimator (classes, k)
        if progress is not None:
            with lock:
                done[0] += 1
                progress("reliability check", done[0], total)
        return value

    items = [(g, j, rows) for g in usable for j, rows in enumerate(_parts(n, g, job.seed))]
    if job.estimator in _CONCURRENT:
        from .estimators._neighbors import parallel_map

        # every part of every rung at once: the cores stay busy between rungs
        values = parallel_map(part, items)
    else:
        values = []
        for item in items:  # stop at the first refused part: the rest are as small
            values.append(part(item))
            if isinstance(values[-1], InfocliError):
                break
    for g in usable:
        vals = [v for (h, _, _), v in zip(items, values) if h == g]
        if len(vals) < g or any(isinstance(v, InfocliError) for v in vals):
            break  # stop climbing at the first rung with a refused part
        means[g] = float(np.mean(vals))
        spreads[g] = float(np.var(vals, ddof=1))
    rungs_run = sorted(g for g in means if g > 1)
    f.numbers["ladder_parts"] = rungs_run
    f.numbers["ladder_means"] = [means[g] for g in [1, *rungs_run]]
    if not rungs_run:
        f.ran = "bounds"
        if required:
            f.flag("too_few_rows",
                   f"too few rows ({n}) for the reliability check's subsamples (at least "
                   f"{2 * min_rows} rows are needed): only the bounds were checked, and the "
                   "bias of this estimate could not be assessed")
        return
    # noise: part variances scaled to the full size, pooled by degrees of freedom
    dof = sum(g - 1 for g in rungs_run)
    pooled = sum((g - 1) * spreads[g] / g for g in rungs_run) / dof
    noise = math.sqrt(max(pooled, 0.0))
    f.numbers["stderr_subsample"] = noise
    if f.noise is None:
        f.noise = noise
    elif noise > f.noise or not floor:
        # the part spread has few degrees of freedom: shrink it toward the estimator's
        # own stderr (weight of ``prior_dof`` pseudo-dof); never below that stderr where
        # it is known to err low (kNN per-sample terms are correlated)
        f.noise = math.sqrt((dof * noise ** 2 + prior_dof * f.noise ** 2) / (dof + prior_dof))
    sigma = f.noise
    f.numbers["stderr_noise"] = sigma

    verdict = ladder_verdict(f.value, [means[g] for g in rungs_run], rungs_run, sigma,
                             _rate_dim(job, f) if rate_dim is None else rate_dim)
    f.numbers.update({k: v for k, v in verdict.items()
                      if k not in ("lo", "hi", "hull", "codes")})
    side = _bound_side(f)
    rising = verdict["bias_slow"] < 0
    if side and verdict["codes"] and (rising == (side > 0) or verdict["drift_z"] <= _Z_DRIFT):
        # a bound (lower: +1, upper: -1) that moves with n toward its open side, or not
        # significantly: its one-sided interval still holds, the ladder gave its noise
        f.notes.append(_ladder_sentence("bound_drift", f.value, means, rungs_run, verdict, job))
        lo, hi = verdict["hull"]
        f.widen(lo if side > 0 else None, hi if side < 0 else None)
        return
    if rising and verdict["codes"] and _knn_mi(job):
        # a kNN MI that rises with n: its bias is downward (neighbourhoods too large for
        # the dependence, the usual kNN bias at high MI or dimension), so the truth lies
        # above - an honest 'at least lo', not a failure
        f.notes.append(_ladder_sentence("rising", f.value, means, rungs_run, verdict, job))
        lo = verdict["hull"][0]
        if first:
            f.lo, f.hi = lo, None
        else:
            f.widen(lo, None)
        return
    for code in verdict["codes"]:
        f.flag(code, _ladder_sentence(code, f.value, means, rungs_run, verdict, job))
    lo, hi = verdict["lo"], verdict["hi"]
    if first:
        f.lo, f.hi = lo, hi
    else:
        f.widen(lo, hi)


#: an intrinsic dimension counts for the kNN bias rate only when it lies clearly below
#: the ambient one: TwoNN reads low on full-dimensional data in many dimensions
#: (16.5 for 20, 32 for 50, 49 for 100 Gaussian columns at 2,000 rows), never by 3x
_INTRINSIC_SHARE = 1 / 3


def _rate_dim(job: _Job, f: _Findings) -> int:
    """The dimension behind a kNN estimator's slow bias rate n^(-2/d): the intrinsic
    dimension of the data it searches (TwoNN, :mod:`infocli._intrinsic`) when that is
    clearly below the number of columns - images of a 2-D latent are a 2-D problem in
    784 pixels - else the number of columns. Recorded in ``intrinsic_dim``."""
    ambient = job.joint_dim()
    if ambient <= 4 or "mutual_information" not in job.measure:
        # entropy: data on a lower-dimensional set have no differential entropy, and
        # TwoNN reads saturated full-dimensional data low (tanh of a wide Gaussian: 1 in
        # 64 columns), which would make the check over-confident
        return ambient
    if "intrinsic_dim" not in f.numbers:
        from ._intrinsic import two_nn

        cont = [a.reshape(len(a), -1) for v, a in job.arrays.items()
                if not job.discrete.get(v)]
        if job.estimator == "auto":  # its kNN candidate searches the normal scores
            cont = [_rank_gauss(a) for a in cont]
        est = two_nn(np.hstack(cont), job.seed)
        upper = est["dim"] + 2 * est["se"]
        used = ambient if not np.isfinite(upper) or upper >= _INTRINSIC_SHARE * ambient \
            else max(1, math.ceil(upper))
        f.numbers["intrinsic_dim"] = {"twonn": est["dim"], "se": est["se"], "columns": ambient,
                                      "rate_dim": used}
    return int(f.numbers["intrinsic_dim"]["rate_dim"])


def ladder_verdict(value: float, means: list[float], rungs: list[int], sigma: float,
                   dim: int) -> dict[str, Any]:
    """Interval and codes from the ladder: part means ``means`` at ``rungs`` gammas.

    With bias(n) = c n^-alpha the part means obey m_g - m_1 = beta (g^alpha - 1),
    beta = value - truth. beta is fitted (through the origin, each difference
    with noise ~ sigma) at alpha = 1/2 and at alpha_slow = min(1/2, 2/d): kNN
    bias decays like n^(-2/d) for smooth densities in d dimensions. The
    interval is the hull of the value and both extrapolations, widened by 1.96
    sqrt(sigma^2 + se_slow^2), se_slow the standard error of the slow
    extrapolation. Codes: ``not_converged`` when the drift is significant and
    the slow extrapolation moves the value by more than 10 % + 0.02 nats (the
    true decay may be slower still); ``high_dimension`` when the slow
    extrapolation alone is too uncertain to bound the bias that well.
    """
    gam = np.asarray(rungs, dtype=float)
    diffs = np.asarray(means, dtype=float) - value

    def beta_at(alpha: float) -> tuple[float, float]:
        w = gam ** alpha - 1.0
        return float(diffs @ w / (w @ w)), float(sigma / math.sqrt(w @ w))

    alpha_slow = min(0.5, 2.0 / max(dim, 1))
    beta, se_beta = beta_at(0.5)
    slow, se_slow = beta_at(alpha_slow)
    z = abs(beta) / se_beta if se_beta > 0 else (math.inf if beta else 0.0)
    tol = _GAP_REL * abs(value) + _GAP_ABS
    codes = []
    spread = Z95 * math.sqrt(sigma ** 2 + se_slow ** 2)
    rising = slow < 0  # part means below the value: it rises with n, truth above
    if z > _Z_DRIFT and abs(slow) > _REL_TOL * abs(value) + _ABS_TOL:
        codes.append("not_converged")
    if spread > tol + Z95 * sigma:
        codes.append("high_dimension")
    guesses = (value, value - beta, value - slow)
    hull = (min(guesses) - spread, max(guesses) + spread)
    lo, hi = hull
    if codes:  # the extrapolation is not trusted: open the interval on the drift's side
        if rising:
            hi = None
        else:
            lo = None
    return {"lo": lo, "hi": hi, "hull": hull, "codes": codes, "drift": float(diffs[-1]),
            "bias_half": beta, "bias_half_se": se_beta, "drift_z": z,
            "bias_slow": slow, "bias_slow_se": se_slow, "alpha_slow": alpha_slow,
            "rate_dim": int(dim)}


def _data_processing_bound(f: _Findings, what: str, short: str) -> None:
    """MI of codes f(X), g(Y): I(X;Y) >= I(f(X); g(Y)) by data processing, so the
    interval is 'at least lo' (the ladder then treats the value as a lower bound)."""
    f.lo, f.hi = f.value - Z95 * (f.noise or 0.0), None
    f.numbers["bound"] = f"lower (MI of {short}: data processing)"
    f.notes.append(f"MI of {what}: by data processing the true MI is at least this, and the "
                   "interval says only 'at least lo'")


def _all_components(job: _Job, chosen: str) -> bool:
    """auto's principal-component candidate kept every varying column: lossless."""
    import re

    m = re.search(r"pca\((\d+)x(\d+)\)", chosen)
    if m is None:
        return False
    kept = {"x": int(m.group(1)), "y": int(m.group(2))}
    return all(kept[v] >= int(np.count_nonzero(a.reshape(len(a), -1).std(axis=0) > 0))
               for v, a in job.arrays.items() if v in kept)


def _knn_mi(job: _Job) -> bool:
    """A kNN estimate of MI or CMI (ksg, or auto's kNN candidate)."""
    if "mutual_information" not in job.measure:
        return False
    if job.estimator == "ksg":
        return True
    return job.estimator == "auto" and str(job.params.get("only", "")).startswith("ksg")


def _bound_side(f: _Findings) -> int:
    """+1 for an estimator that is a lower bound ("at least lo"), -1 for an upper
    bound, 0 otherwise (as the fitted estimators' flags recorded it)."""
    bound = str(f.numbers.get("bound", ""))
    return 1 if bound.startswith("lower") else -1 if bound.startswith("upper") else 0


def _ladder_sentence(code, value, means, rungs, verdict, job) -> str:
    g = max(rungs)
    rising = verdict["bias_slow"] < 0
    if code == "bound_drift":
        return (f"a bound that is not converged: on {g} disjoint parts it averages "
                f"{means[g]:.4g} against {value:.4g} nats on all rows "
                f"({verdict['drift_z']:.1f} standard errors), a drift within noise or toward "
                "the side its interval leaves open, so the one-sided interval holds (widened "
                "by the drift's uncertainty); more rows would likely move the value "
                f"{'up' if rising else 'down'}")
    if code == "high_dimension" and job.estimator not in (*_KNN, "auto", "compressed"):
        return (f"too noisy to extrapolate: over disjoint parts the estimate drifts by "
                f"{verdict['drift']:.3g} nats, with a noise that leaves its remaining bias "
                "unbounded at this sample size")
    if code == "rising":
        return (f"rising with sample size: on {g} disjoint parts the estimate averages "
                f"{means[g]:.4g} against {value:.4g} nats on all rows "
                f"({verdict['drift_z']:.1f} standard errors); a kNN estimate of MI that "
                "rises with n is biased low, so the interval says only 'at least lo' - "
                "more rows would likely give more")
    if code == "not_converged":
        return (f"not converged: the estimate moves with sample size (on {g} disjoint parts "
                f"it averages {means[g]:.4g} against {value:.4g} nats on all rows, "
                f"{verdict['drift_z']:.1f} standard errors); its remaining bias cannot be "
                f"extrapolated reliably - the true value is likely "
                f"{'above' if rising else 'below'} it")
    if job.joint_dim() <= 2:  # the sentence about dimension would be wrong advice here
        return (f"unsettled bias: on disjoint parts of {job.n} rows the estimate drifts by "
                f"{verdict['drift']:.3g} nats and its bias decays too slowly (like "
                f"n^-{verdict['alpha_slow']:.2g}) for the subsampling check to bound it, in "
                f"only {job.joint_dim()} joint dimension(s): strong or near-deterministic "
                "dependence, heavy ties or very few rows; more rows, or --check full, settle it")
    dims = f"{job.joint_dim()} joint dimensions"
    used = verdict.get("rate_dim")
    if used is not None and used < job.joint_dim():
        dims = f"{job.joint_dim()} joint columns of intrinsic dimension about {used}"
    return (f"high dimension: {dims} for {job.n} rows; the bias "
            f"of a kNN-type estimate decays too slowly here (like n^-{verdict['alpha_slow']:.2g}) "
            "for the subsampling check to bound it - use -e auto (principal components and "
            "learned codes for wide variables), reduce the dimension (-e compressed) or give "
            "many more rows")


def _k_vs_2k(job: _Job, f: _Findings) -> None:
    k = job.params.get("k")
    if not isinstance(k, int) or job.n <= 2 * k + 1:
        return
    try:
        v2 = job.run(job.arrays, (2, 2 * k), {**job.params, "k": 2 * k})
    except InfocliError:
        return
    f.numbers["value_2k"] = v2
    diff = f.value - v2
    if f.noise is not None and abs(diff) > 2 * f.noise:
        # the k-dependent bias: kNN bias grows with k, so the truth lies beyond
        # the value on the side away from the 2k value
        f.widen(f.value + diff - Z95 * f.noise if diff < 0 else None,
                f.value + diff + Z95 * f.noise if diff > 0 else None)
        if f.lo is None or f.hi is None:
            pass
        if abs(diff) > _GAP_REL * abs(f.value) + _GAP_ABS:
            f.flag("k_sensitive",
                   f"k-sensitive: with k={2 * k} the estimate is {v2:.4g} against "
                   f"{f.value:.4g} nats with k={k}; the neighbour-count bias is not small")


def _heavy_margins(job: _Job) -> tuple[float, float]:
    """Largest |skewness| and excess kurtosis over the continuous columns."""
    skews, kurts = [0.0], [0.0]
    for v, a in job.arrays.items():
        if job.discrete.get(v):
            continue
        g1, g2 = _skew_kurtosis(a)
        skews.append(float(np.max(np.abs(g1))))
        kurts.append(float(np.max(g2)))
    return max(skews), max(kurts)


def _heavy_scores(job: _Job, f: _Findings, *, always: bool) -> dict | None:
    """The arrays with each continuous column replaced by its normal scores, when a
    margin is skewed or heavy-tailed (|skewness| >= 0.5 or excess kurtosis >= 1) or
    ``always``; else None. Records the two margin statistics in ``f.numbers``."""
    sk, ku = _heavy_margins(job)
    f.numbers.update(max_abs_skewness=sk, max_excess_kurtosis=ku)
    if not always and sk < 0.5 and ku < 1.0:
        return None
    return {v: (a if job.discrete.get(v) else _rank_gauss(a)) for v, a in job.arrays.items()}


def _rank_invariance(job: _Job, f: _Findings, *, always: bool) -> None:
    """MI is unchanged by monotone maps of each column: compare with the estimate
    on normal scores when the margins are skewed or heavy-tailed (or always, full).

    Heavy tails slow kNN estimators down (most points crowd in the centre after
    standardising); the normal-score estimate converges much faster there.
    """
    gauss = _heavy_scores(job, f, always=always)
    if gauss is None:
        return
    try:
        v_rank = job.run(gauss, (4,))
    except InfocliError:
        return
    f.numbers["value_rank"] = v_rank
    sigma = f.noise or 0.0
    diff = f.value - v_rank
    if abs(diff) <= 2 * math.sqrt(2) * sigma:
        return
    spread = Z95 * sigma
    f.widen(v_rank - spread if f.lo is not None else None,
            v_rank + spread if f.hi is not None else None)
    if abs(diff) > _GAP_REL * abs(f.value) + _GAP_ABS:
        f.flag("rank_sensitive",
               f"not invariant: on normal scores of each column (a monotone map, which leaves "
               f"MI unchanged) the estimate is {v_rank:.4g} against {f.value:.4g} nats; "
               "skewed or heavy-tailed margins bias it - use transform=rank (copula) or "
               "rank-transform the columns first")


#: per column, the entropy error a 5 % error of its scale makes (log 1.05 nats)
_COLUMN_TOL = 0.05


def _margin_decomposition(job: _Job, f: _Findings, *, always: bool) -> None:
    """KL entropy against the marginal decomposition that ``auto`` uses, when a margin
    is skewed or heavy-tailed (or always, full).

    h(X) = sum_i h(X_i) + h(Z) - d/2 log(2 pi e), Z the normal scores of X: 1-D
    Kozachenko-Leonenko marginals (nearly unbiased in one dimension) and the same
    estimator on the normal scores, whose tails are Gaussian. On skewed or
    heavy-tailed margins the d-dimensional kNN balls straddle regions of very
    different density; the bias this leaves decays too slowly to show between n/4
    and n (the ladder's range): X^3 of a 4-D Gaussian, 6.5 for a true 4.99 at
    n = 5,000. The interval always covers the decomposed value's; a difference above
    0.05 nats per column (a 5 % scale error) plus 0.02, and above both noises, marks
    ``tail_sensitive``.
    """
    from . import transforms

    x = job.arrays.get("x")
    if x is None or x.ndim != 2 or x.shape[1] < 2 or job.discrete.get("x"):
        return
    sk, ku = _heavy_margins(job)
    f.numbers.update(max_abs_skewness=sk, max_excess_kurtosis=ku)
    if not always and sk < 0.5 and ku < 1.0:
        return
    d = x.shape[1]
    try:
        margins = transforms.marginal_entropy_terms(x).sum(axis=1)
        joint = job.run({"x": transforms.normal_scores(x)}, (6,))
    except (InfocliError, ValueError, FloatingPointError):
        return
    if not np.all(np.isfinite(margins)):
        return  # tied values: the 1-D distances vanish
    v_dec = float(margins.mean()) + joint - d * transforms.score_entropy("copula")
    sigma = f.noise or 0.0
    se_dec = math.hypot(sigma, float(margins.std()) / math.sqrt(len(margins)))
    f.numbers["value_decomposed"] = v_dec
    diff = f.value - v_dec
    # the decomposed value is as plausible (more, on such margins): the interval covers
    # it always - its difference from the value is mostly bias, their noise is shared
    f.widen(v_dec - Z95 * se_dec if f.lo is not None else None,
            v_dec + Z95 * se_dec if f.hi is not None else None)
    if abs(diff) > max(_COLUMN_TOL * d + _GAP_ABS, 2 * math.hypot(sigma, se_dec)):
        f.flag("tail_sensitive",
               f"tail-sensitive: the marginal decomposition h = sum h(X_i) + h(normal scores) "
               f"- d/2 log(2 pi e), which treats skewed or heavy-tailed columns in one "
               f"dimension, gives {v_dec:.4g} against {f.value:.4g} nats (largest |skewness| "
               f"{sk:.2f}, excess kurtosis {ku:.2f}); the kNN balls in {d} dimensions see the "
               "tails badly - use -e auto, which estimates this way")


# --------------------------------------------------------------------------- gaussian


def _rank_gauss(a: np.ndarray) -> np.ndarray:
    """Each column mapped to normal scores: Phi^-1((rank - 1/2) / n), average ranks."""
    from ._special import average_ranks, ndtri  # scipy's values without its import

    return ndtri((average_ranks(a) - 0.5) / a.shape[0])


def _skew_kurtosis(a: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Per-column skewness g1 and excess kurtosis g2 (biased moment estimators)."""
    m = a - a.mean(axis=0)
    s2 = (m ** 2).mean(axis=0)
    s2 = np.where(s2 > 0, s2, np.inf)
    return (m ** 3).mean(axis=0) / s2 ** 1.5, (m ** 4).mean(axis=0) / s2 ** 2 - 3.0


def _mardia_kurtosis(blocks: list[np.ndarray], labels: np.ndarray | None) -> tuple[float, float]:
    """Mardia's b_2,p of the joint continuous columns (within classes when labelled):
    its relative excess b2 / (p (p + 2)) - 1 and z-score under normality."""
    a = np.hstack(blocks)
    n, p = a.shape
    groups = [np.arange(n)] if labels is None else [np.flatnonzero(labels == c)
                                                    for c in np.unique(labels)]
    d2 = []
    for g in groups:
        if g.size <= p + 1:
            continue
        r = a[g] - a[g].mean(axis=0)
        cov = np.atleast_2d(np.cov(r, rowvar=False))
        try:
            sol = np.linalg.solve(cov, r.T).T
        except np.linalg.LinAlgError:
            continue
        d2.append(np.einsum("ij,ij->i", r, sol))
    if not d2:
        return 0.0, 0.0
    d2 = np.concatenate(d2)
    m = d2.size
    b2 = float(np.mean(d2 ** 2))
    expected = p * (p + 2) * (m - 1) / (m + 1)
    return b2 / (p * (p + 2)) - 1.0, (b2 - expected) / math.sqrt(8 * p * (p + 2) / m)


def _non_gaussian(job: _Job, f: _Findings) -> None:
    cont = [v for v in job.arrays if not job.discrete.get(v)]
    labels = next((job.arrays[v] for v in job.arrays if job.discrete.get(v)), None)
    v_cop = None
    if "entropy" in job.measure or labels is not None:
        # entropies are not rank-invariant, and with labels the model is Gaussian
        # within each class (not in the margins): test the data as they are
        excess, zk = _mardia_kurtosis([job.arrays[v] for v in cont], labels)
        if labels is None:
            sk = _heavy_margins(job)[0]
        else:
            sk = max([float(np.max(np.abs(_skew_kurtosis(job.arrays[v][labels == c])[0])))
                      for v in cont for c in np.unique(labels)
                      if np.count_nonzero(labels == c) > 8] or [0.0])
        f.numbers.update(kurtosis_excess=excess, kurtosis_z=zk, max_abs_skewness=sk)
    else:
        gauss = {v: (_rank_gauss(a) if v in cont else a) for v, a in job.arrays.items()}
        excess, zk = _mardia_kurtosis([gauss[v] for v in cont], labels)
        sk = 0.0
        f.numbers.update(copula_kurtosis_excess=excess, copula_kurtosis_z=zk)
        try:
            v_cop = job.run(gauss, (3,), {**job.params, "jackknife_groups": 2})
        except InfocliError:
            v_cop = None
        f.numbers["value_copula"] = v_cop
    sigma = f.noise or 0.0
    tol = _GAP_REL * abs(f.value) + _GAP_ABS
    reasons = []
    missed = 0.0  # information the plug-in misses along its canonical pairs
    opened = False  # a significant RESET test: the interval is open upward
    summary = None
    if v_cop is not None and job.measure == "mutual_information" and len(cont) == 2:
        summary = _summaries(job, gauss, pairs=_PAIRS, radii=False, rows=_PAIR_ROWS)
    if summary is not None:
        c, pairs, radii = summary
        if pairs:
            f.numbers["canonical_pairs"] = pairs
            missed = sum(max(0.0, p["ksg"] - p["gaussian"]) for p in pairs)
            worst = max(pairs, key=lambda p: p["ksg"] - p["gaussian"] - 3 * p["se"])
            gap = worst["ksg"] - worst["gaussian"]
            if gap > max(3 * worst["se"], _GAP_REL * worst["gaussian"] + _GAP_ABS):
                reasons.append(f"along canonical pair {worst['pair']} (correlation "
                               f"{worst['rho']:.2f}) a kNN estimate finds {worst['ksg']:.4g} "
                               f"nats where the Gaussian model gives {worst['gaussian']:.4g}")
        joint = _joint_knn(job, f, c, v_cop, reasons)
        missed = max(missed, joint)
        opened = _nonlinear(f, c, f.value, reasons)
        test = _copula_variance(c)
        if test is not None:
            f.numbers["copula_variance"] = test
            if test["z"] > _VARIANCE_Z and test["r2"] > _VARIANCE_R2:
                reasons.append(f"the residual variance of the canonical variates grows with "
                               f"the other side (variance test, {test['z']:.0f} standard "
                               f"errors, R^2 {test['r2']:.3f}): a mixture of regimes")
            elif test["z"] > _VARIANCE_OPEN:
                opened = True
    elif v_cop is not None and job.measure == "mutual_information" and len(cont) == 2:
        c = _wide_canonical(job)  # too many columns for the canonical form: their codes
        if c is not None:
            opened = _nonlinear(f, c, f.value, reasons)
            if opened and not reasons:
                # wide vectors: the Gaussian MI of non-Gaussian data is no lower bound (it
                # is one for a single column on each side only); on clustered or curved
                # data it reads high (class-paired 1,024-pixel digits: 2.2 for 1.76)
                reasons.append(f"the principal components of the {job.joint_dim()} columns "
                               "depend nonlinearly on each other (RESET test, "
                               f"{f.numbers['nonlinearity']['z']:.0f} standard errors), and in "
                               "many dimensions the Gaussian MI of such data can read high "
                               "as well as low")
    if abs(zk) > 4 and abs(excess) > 0.05:
        reasons.append(f"the {'data' if v_cop is None else 'rank-Gaussianised data'} have a "
                       f"multivariate kurtosis {100 * excess:+.0f} % off the Gaussian one "
                       f"({zk:.0f} standard errors)")
    if sk * math.sqrt(job.n / 6) > 4 and sk > 0.3:
        reasons.append(f"a column has skewness {sk:.2f}")
    if v_cop is not None and abs(v_cop - f.value) > max(3 * math.sqrt(2) * sigma, tol):
        reasons.append(f"on rank-Gaussianised margins the plug-in gives {v_cop:.4g} against "
                       f"{f.value:.4g} nats")
    f.lo, f.hi = f.value - Z95 * sigma, f.value + Z95 * sigma
    if v_cop is not None:
        # the margins may matter: the truth may be nearer the copula value
        f.widen(v_cop - Z95 * sigma, v_cop + Z95 * sigma)
    if missed > 0:
        # dependence the covariance cannot see, measured along the canonical pairs:
        # the truth may lie that much higher
        f.widen(f.lo, max(f.value, v_cop if v_cop is not None else f.value) + missed
                + Z95 * sigma)
    if opened:
        f.hi = None
    if job.measure == "mutual_information" and labels is not None:
        # H(X) - H(X|Y) with a Gaussian H(X): the mixture of the class Gaussians has
        # less entropy than the Gaussian of its covariance, so the plug-in is at least
        # the MI (less noise) even when every class is Gaussian: the truth lies below
        f.lo = None
    if reasons:
        f.flag("non_gaussian", "non-Gaussian data: " + "; ".join(reasons)
               + "; the Gaussian plug-in sees only linear dependence"
               + (" and is an upper bound on the entropy" if "entropy" in job.measure else "")
               + " (try -e ksg or -e kl)")
        if job.measure == "entropy":
            f.lo = None  # the Gaussian entropy is the maximum for the covariance
        elif job.measure == "mutual_information":
            # with Gaussian margins I >= the Gaussian MI of the normal scores
            base = f.value if v_cop is None else min(f.value, v_cop)
            f.lo, f.hi = base - Z95 * sigma, None
        else:
            f.lo = f.hi = None
    elif "entropy" in job.measure and abs(zk) > 3:
        # detectably non-Gaussian, though mildly: the Gaussian entropy is still an upper
        # bound, by how much is not assessed - "at most hi"
        f.lo = None
        f.notes.append(f"the data's multivariate kurtosis is {100 * excess:+.1f} % off the "
                       f"Gaussian one ({zk:.1f} standard errors): the Gaussian entropy is an "
                       "upper bound, and the interval says only 'at most'")
    _summary_bound(job, f, summary)


def _joint_knn(job: _Job, f: _Findings, c, v_cop: float, reasons: list[str]) -> float:
    """KSG on the normal scores themselves against the Gaussian MI of the normal
    scores, in joint dimensions up to 4 (:func:`infocli._summaries.joint_mi`): the
    information the covariance misses (0 when KSG reads no more); a miss beyond 3
    noise stderrs and 10 % + 0.02 nats of the Gaussian MI is added to ``reasons``.

    KSG in 3-4 dimensions is biased low on smooth dependence, so the one-sided test
    stays silent on Gaussian copulas, and a curved or clustered law whose
    correlations are near 0 (bmi v2's Galaxy and Waves, 2 x 1: Gaussian MI 0.01-0.04
    for 0.49 and 1.31) cannot hide in a canonical pair whose direction is arbitrary."""
    from . import _summaries as su

    entry = su.joint_mi(c, job.seed, rows=_PAIR_ROWS)
    if entry is None:
        return 0.0
    base = v_cop if v_cop is not None else f.value
    gap = entry["ksg"] - base
    noise = math.hypot(entry["se"], f.noise or 0.0)
    f.numbers["joint_knn"] = {**entry, "gaussian": base}
    if gap > max(3 * noise, _GAP_REL * abs(base) + _GAP_ABS):
        reasons.append(f"a kNN estimate on the {job.joint_dim()} normal-score columns "
                       f"finds {entry['ksg']:.4g} nats where the Gaussian model gives "
                       f"{base:.4g}")
    return max(0.0, gap)


#: canonical pairs the Gaussian check tests (the kNN checks take the first)
_PAIRS = 3
#: rows of the Gaussian check's pair KSGs (its RESET test sees every summary row):
#: three 2-D KSGs on 5,000 rows cost twice the plug-in and its jackknife
_PAIR_ROWS = 3000


def _summaries(job: _Job, gauss: dict[str, np.ndarray] | None = None, pairs: int = 1,
               radii: bool = True, rows: int | None = None):
    """(canonical form, pair entries, radii entry or None) of the normal scores of x and
    y, or None when the summaries do not apply (labels, a singular covariance, few
    rows). The Gaussian check skips the radii (its kurtosis test already sees a shared
    scale, and its cost budget is a few plug-ins)."""
    from . import _summaries as su

    if job.measure != "mutual_information" or any(job.discrete.values()) \
            or set(job.arrays) != {"x", "y"}:
        return None
    if min(job.n, su.ROWS) < 5 * job.joint_dim() + 20:
        return None  # too few rows for the canonical form (wide variables)
    if gauss is None:
        gauss = {v: _rank_gauss(a) for v, a in job.arrays.items()}
    c = su.canonical(gauss["x"], gauss["y"], job.seed)
    if c is None:
        return None
    return (c, *su.summary_mis(c, job.seed, pairs, radii=radii, rows=rows or su.ROWS))


def _wide_canonical(job: _Job):
    """The canonical form of the principal-component codes of wide x and y (their
    number chosen by held-out information, :mod:`infocli.estimators._reduce`), on
    normal scores; None when no side is wide or the codes do not apply."""
    from . import _summaries as su
    from .estimators import _reduce

    sides = [_reduce.standardise(job.arrays[v].reshape(job.n, -1)) for v in ("x", "y")]
    if min(a.shape[1] for a in sides) == 0:
        return None
    plan = _reduce.choose_codes(*sides, job.seed)
    if plan is None:
        return None
    codes = [_rank_gauss(_reduce.codes(a, plan["r"][v])) for a, v in zip(sides, ("x", "y"))]
    return su.canonical(*codes, job.seed)


def _summary_bound(job: _Job, f: _Findings, summary) -> None:
    """Data processing: I(X;Y) >= I(g(X); h(Y)). The KSG value on a 2-D summary
    (a canonical pair, the radii; ``summary`` as :func:`_summaries` returns it) is
    nearly unbiased; when it exceeds the estimate beyond both noises the estimate
    misses dependence the summary shows, and the truth lies at least that high."""
    if summary is None:
        return
    entries = [e for e in (*summary[1], summary[2]) if e is not None]
    if not entries or job.joint_dim() <= 2:
        return  # in two dimensions the summaries are the variables themselves
    best = max(entries, key=lambda e: e["ksg"] - Z95 * e["se"])
    what = (f"canonical pair {best['pair']}" if "pair" in best
            else "the radii |x|, |y| of the whitened normal scores")
    f.numbers["summary_bound"] = {"summary": what, "value": best["ksg"], "se": best["se"]}
    sigma = f.noise or 0.0
    gap = best["ksg"] - f.value
    noise = math.sqrt(best["se"] ** 2 + sigma ** 2)
    if gap <= 2 * noise:
        return
    bound = best["ksg"] - Z95 * best["se"]
    if f.hi is not None:
        f.hi = max(f.hi, best["ksg"] + Z95 * best["se"])
    if gap > max(3 * noise, _GAP_REL * abs(best["ksg"]) + _GAP_ABS):
        f.flag("below_bound",
               f"biased low: the MI of {what} - a function of x and one of y, so a lower "
               f"bound on I(X;Y) - is {best['ksg']:.4g} nats (KSG in 2 dimensions), above "
               f"this estimate of {f.value:.4g} nats; the estimate misses dependence in "
               f"{job.joint_dim()} dimensions - the true value is at least {bound:.4g}")
        f.lo, f.hi = bound, None


def _nonlinear(f: _Findings, c, value: float, reasons: list[str]) -> bool:
    """The RESET linearity test of a Gaussian(-copula) model; True when it is
    significant, and the caller leaves the interval open upward: the cubic features
    recover only part of what a misspecified covariance misses (on bmi's spirals a
    third to a half). A large miss is added to ``reasons``."""
    from . import _summaries as su

    test = su.nonlinearity(c, _PAIRS)
    if test is None:
        return False
    significant = test["z"] > 4
    f.numbers["nonlinearity"] = {"z": test["z"], "gain": test["gain"], "open": significant}
    if not significant:
        return False
    # the gain is what cubic features recover, a part of the missed information: once
    # significant, a gain of the drift's size condemns the model
    if test["gain"] > _REL_TOL * abs(value) + _ABS_TOL:
        reasons.append(f"the canonical variates depend nonlinearly on the other side "
                       f"(a RESET test, {test['z']:.0f} standard errors, finds "
                       f"{test['gain']:.3g} nats that a linear model misses)")
    else:
        f.notes.append(f"nonlinear dependence: a RESET test of the Gaussian(-copula) model "
                       f"is significant ({test['z']:.0f} standard errors; cubic features "
                       f"recover {test['gain']:.3g} nats more): the interval is open upward, "
                       "'at least lo'")
    return True


def _auto_agreement(job: _Job, f: _Findings, chosen: str) -> None:
    """auto took the more precise of two candidates that agree within noise: the other
    one is as plausible, so the interval covers its noise interval too (the choice on
    precision selects no upward noise, but it must not hide the other candidate's
    reading: on a non-Gaussian copula at 1,000 rows the Gaussian candidate can sit
    within noise of a kNN value that is right - a Student-t of 1 dof, GCMI 0.00, KSG
    0.14, truth 0.22)."""
    auto = job.details.get("auto", {})
    choice = auto.get("choice", {})
    diff, sd = choice.get("difference"), choice.get("difference_sd")
    if diff is None or not sd or abs(diff) > 3 * sd:
        return
    for name, c in auto.get("candidates", {}).items():
        if name == chosen or c.get("stderr") is None:
            continue
        se = c["stderr"] * (_KNN_SE if name.startswith("ksg") else 1.0)
        lo, hi = c["value"] - Z95 * se, c["value"] + Z95 * se
        f.lo = None if f.lo is None else min(f.lo, lo)
        f.hi = None if f.hi is None else max(f.hi, hi)
        f.numbers["other_candidate"] = {"name": name, "value": c["value"], "se": se}


#: z and R^2 of the variance test beyond which a Gaussian copula is rejected: the
#: inliers of bmi v2 (a 2-pair normal mixed with its independent margins) give z 8-12,
#: R^2 0.016-0.036 at 5,000 rows; Gaussian copulas z < 2.5, R^2 < 0.005
_VARIANCE_Z, _VARIANCE_R2 = 4.0, 0.01
#: z of the variance test above which the interval of a Gaussian-copula MI opens upward
#: (Gaussian copulas gave z < 2.5 in every development probe at 1,000-5,000 rows; the
#: inlier mixtures z 3-4 at 1,000 rows)
_VARIANCE_OPEN = 3.0


def _copula_variance(c, count: int = _PAIRS) -> dict[str, Any] | None:
    """A goodness-of-fit test of a Gaussian copula with power against mixtures.

    Under a Gaussian copula the residual e_j of each canonical variate of one side,
    regressed linearly on the other side's scores, is independent of them - its
    variance too. A mixture of dependent and independent regimes (inliers), of
    different correlations, or a shared scale (Student-t, concentric shells) makes
    e_j^2 grow with the partner variate u_j^2 and the radius |w|^2, where the mean
    (RESET) stays linear. The F test of e_j^2 on (1, u_j, u_j^2, |w|^2) (White's
    heteroscedasticity test, narrowed to the pair) over the first ``count`` pairs,
    both ways: ``z`` Bonferroni-adjusted, ``r2`` the largest share of the squared
    residual's variance explained; None when the rows are too few."""
    from ._special import fdtrc, ndtri  # scipy.special's values without its import

    n = c.n
    if n < 100:
        return None
    m = min(count, len(c.rho))
    tests = []
    for way, src, dst, src_dirs, dst_dirs in (("x->y", c.xw, c.yw, c.a[:, :m], c.bt[:m]),
                                              ("y->x", c.yw, c.xw, c.bt[:m].T, c.a[:, :m].T)):
        lin = np.hstack([np.ones((n, 1)), src])
        targets = dst @ dst_dirs.T
        coef, *_ = np.linalg.lstsq(lin, targets, rcond=None)
        e2 = (targets - lin @ coef) ** 2
        q = (src ** 2).sum(axis=1)
        for j in range(m):
            u = src @ src_dirs[:, j]
            design = np.column_stack([np.ones(n), u, u * u, q])
            b, *_ = np.linalg.lstsq(design, e2[:, j], rcond=None)
            rss = float(((e2[:, j] - design @ b) ** 2).sum())
            tss = float(((e2[:, j] - e2[:, j].mean()) ** 2).sum())
            if rss <= 0 or tss <= 0:
                continue
            stat = (tss - rss) / 3 / (rss / (n - 4))
            tests.append({"way": way, "variate": j + 1, "p": float(fdtrc(3, n - 4, stat)),
                          "r2": 1 - rss / tss})
    if not tests:
        return None
    p_min = min(1.0, min(t["p"] for t in tests) * len(tests))
    return {"z": float(-ndtri(max(p_min, 1e-300))) if p_min < 1 else -math.inf,
            "r2": max(t["r2"] for t in tests)}


def _auto_copula_fit(job: _Job, f: _Findings, summary) -> None:
    """auto chose its Gaussian-copula candidate: is the copula Gaussian?

    * Along each canonical pair a 2-D KSG sees what the pair's Gaussian MI
      -1/2 log(1 - rho^2) misses; the truth may be that much higher (summed over
      the pairs, as the gaussian estimator's check does).
    * :func:`_copula_variance` tests the Gaussian copula against mixtures: rejected
      (z > 4) with a residual variance that moves visibly (R^2 > 0.01), the
      Gaussian-copula MI has no known error - ``non_gaussian``. A sparse normal with
      20 % independent inliers, 25 x 25: GCMI 0.49-0.53 for a true 0.638, where KSG
      in 50 dimensions reads 0.11.
    """
    c, pairs, _ = summary
    missed = sum(max(0.0, p["ksg"] - p["gaussian"]) for p in pairs)
    if pairs:
        f.numbers["canonical_pairs"] = pairs
    if missed > 0 and f.hi is not None:
        f.hi = max(f.hi, f.value + missed + Z95 * (f.noise or 0.0))
    test = _copula_variance(c)
    if test is None:
        return
    f.numbers["copula_variance"] = test
    if _VARIANCE_OPEN < test["z"] and not (test["z"] > _VARIANCE_Z
                                           and test["r2"] > _VARIANCE_R2):
        # doubtful, not rejected: on mixtures with inliers the Gaussian-copula MI reads
        # low, and at 1,000 rows the test has z of 3-4 there
        f.hi = None
        f.notes.append(f"the Gaussian copula is doubtful (variance test, {test['z']:.1f} "
                       "standard errors): the interval is open upward, 'at least lo'")
    if test["z"] > _VARIANCE_Z and test["r2"] > _VARIANCE_R2:
        f.flag("non_gaussian",
               f"non-Gaussian copula: the residual variance of the canonical variates grows "
               f"with the other side (variance test, {test['z']:.0f} standard errors, R^2 "
               f"{test['r2']:.3f}) - a mixture of regimes, e.g. dependent rows among "
               "independent ones, or a shared scale; the Gaussian-copula MI may then read "
               "low or high, and the kNN candidate is biased low in "
               f"{job.joint_dim()} dimensions (try -e knife or the neural bounds)")
        f.hi = None


#: auto's Student-t copula candidate (:mod:`infocli.estimators._tcopula`)
_TCOPULA = "t+copula"
#: |z| of the t copula's shared-scale check above which its fit is doubtful (it is not
#: used beyond 4): t copulas gave |z| < 2.5 in the development probes
_TCOPULA_DOUBT = 2.5


def _auto_tcopula_fit(job: _Job, f: _Findings) -> None:
    """auto chose its t-copula candidate: is the copula a t?

    (Not the RESET test: its F statistic assumes residuals of constant variance,
    which a shared scale rules out - it rejected a Student-t copula with identity
    dispersion, whose conditional means are exactly 0, at 6 sd on 2,000 rows.)

    The fit recorded the co-movement of the two sides' radii on the data against a
    sample of the fitted copula (``gof_z``). A t copula reproduces it; a doubtful
    one (|z| > 2.5) - a scale mixture that is not a t, a mixture of regimes - may
    read high or low (a two-scale Gaussian mixture at 1,000 rows: 0.34 for 0.54), so
    the interval reaches down to the kNN candidate's noise interval (model-free,
    biased low) and is open upward."""
    auto = job.details.get("auto", {})
    tc = auto.get("tcopula", {})
    if not tc:
        return
    f.numbers["t_copula"] = {k: tc[k] for k in ("nu", "lr", "gof_z", "gate_z") if k in tc}
    gof = tc.get("gof_z")
    if gof is None or abs(gof) <= _TCOPULA_DOUBT:
        return
    knn = [c for name, c in auto.get("candidates", {}).items() if name.startswith("ksg")]
    if knn:
        f.widen(knn[0]["value"] - Z95 * _KNN_SE * (knn[0].get("stderr") or 0.0), None)
    else:
        f.hi = None
    f.notes.append(f"the t copula is doubtful (shared-scale check, {gof:.1f} standard "
                   "errors): the interval reaches down to the kNN candidate and is open "
                   "upward, 'at least lo'")


def _auto_codes_model(job: _Job, f: _Findings) -> None:
    """auto chose the Gaussian copula of principal components although its RESET test
    rejected that model (the kNN candidate, biased low in many intrinsic dimensions,
    could not overrule it): the Gaussian MI of non-Gaussian codes is no lower bound -
    on clustered or curved codes it reads high (class-paired digit images: 2.08 for a
    true 1.76) - so neither side of the interval holds."""
    choice = job.details.get("auto", {}).get("choice", {})
    z = choice.get("linearity_z")
    if z is None or z <= 4:
        return
    values = [c["value"] for c in job.details["auto"]["candidates"].values()]
    f.flag("non_gaussian",
           f"non-Gaussian codes: the Gaussian model of the principal components is rejected "
           f"(RESET linearity test, {z:.0f} standard errors), so their Gaussian MI may read "
           f"high or low, and the kNN candidate ({min(values):.4g} nats) is biased low in "
           f"intrinsic dimension about {choice.get('intrinsic_dim', float('nan')):.0f}; the "
           "true value is at least the kNN value, by how much more is not known (try "
           "-e compressed with an autoencoder, or the neural bounds)")
    f.lo, f.hi = min(values) - Z95 * (f.noise or 0.0), None


def _auto_nonlinear(job: _Job, f: _Findings, c) -> None:
    """auto chose its Gaussian-copula candidate: the RESET test of that model."""
    reasons: list[str] = []
    if _nonlinear(f, c, f.value, reasons):
        f.hi = None  # dependence the covariance cannot see: the truth may lie higher
    if reasons:
        f.flag("non_gaussian",
               "non-Gaussian copula: auto chose its Gaussian-copula candidate, but "
               + "; ".join(reasons) + "; the kNN candidate, biased low in "
               f"{job.joint_dim()} dimensions, did not see it either - the true value is "
               "likely higher")


# --------------------------------------------------------------------------- fitted estimators


def _gap_flag(f: _Findings, validation: float | None, what: str, scale: float = math.sqrt(2)):
    if validation is None or f.noise is None:
        return
    gap = validation - f.value
    f.numbers["validation_value"] = validation
    f.numbers["train_test_gap"] = gap
    if abs(gap) > max(3 * scale * f.noise, _GAP_REL * abs(f.value) + _GAP_ABS) + 0.05:
        f.flag("train_test_gap",
               f"train/test gap: the {what} is {validation:.4g} on the validation rows but "
               f"{f.value:.4g} nats on the held-out test rows; the fit does not generalise "
               "(more rows, a smaller model or stronger early stopping)")


def _flag_warnings(job: _Job, f: _Findings) -> None:
    for w in job.warnings:
        if "diverged" in w:
            f.flag("diverged", w)
        elif "validation bound fell" in w or "non-finite bound" in w:
            f.flag("unstable_training", w)
        elif "still falling" in w or "failed to train" in w:
            f.flag("not_converged", w)


def _neural_flags(job: _Job, f: _Findings) -> None:
    d = job.details
    sigma = f.noise or 0.0
    # a variational lower bound: the truth is at least the value (less noise)
    f.lo, f.hi = f.value - Z95 * sigma, None
    f.numbers["bound"] = "lower"
    _flag_warnings(job, f)
    if d.get("stopped") == "diverged":
        f.flag("diverged", f"{job.estimator}: training diverged (non-finite loss)")
    if d.get("capped"):
        f.flag("capped", f"capped: InfoNCE cannot exceed log(eval_batch_size) = "
                         f"{d.get('ceiling', float('nan')):.3f} nats and is held down by it; "
                         "the true MI may be much larger")
    drop = d.get("batch_drop")
    if drop is not None and drop > 0.25:
        f.flag("batch_drop", f"batch-size bias: scored in batches of "
                             f"{d.get('large_batch_size')} rows the bound is "
                             f"{d.get('large_batch_value'):.4g} nats ({drop:.2f} lower); the "
                             "small-batch DV value is biased upward")
        f.lo = min(f.lo, float(d["large_batch_value"]) - Z95 * sigma)
    _gap_flag(f, d.get("best_validation_bound"), "bound")


def _knife_flags(job: _Job, f: _Findings) -> None:
    d = job.details
    sigma = f.noise or 0.0
    f.lo, f.hi = f.value - Z95 * sigma, f.value + Z95 * sigma
    _flag_warnings(job, f)
    fits = d.get("fits") or {}
    val = {k: v.get("best_validation_loss") for k, v in fits.items()}
    form = d.get("mi_form")
    if job.params.get("model"):
        return  # a saved model evaluated on all rows: no validation part here
    if job.measure in ("entropy", "conditional_entropy"):
        # mean -log f on unseen rows: a cross-entropy, at least the entropy
        f.hi = f.value + Z95 * sigma
        f.lo = None
        f.numbers["bound"] = "upper"
        key = "H(x)" if job.measure == "entropy" else "H(x|z)"
        _gap_flag(f, val.get(key), "cross-entropy")
    elif form == "pooled":
        f.lo, f.hi = f.value - Z95 * sigma, None  # Barber-Agakov lower bound
        f.numbers["bound"] = "lower"
    elif form == "joint":
        # I from one mixture of the joint and its own marginals: the joint density is the
        # hardest part to fit, and a fit that misses part of the dependence gives less MI.
        # Measured on bmi's 40 tasks (3 seeds): below the truth beyond its noise in 55 %
        # of runs at n = 5,000, above it beyond noise in none (1 of 120 at n = 1,000).
        # The upper side is not assessed here: "at least lo".
        f.lo, f.hi = f.value - Z95 * sigma, None
        f.numbers["bound"] = "lower (the joint fit errs low)"
    elif form == "difference" and None not in (val.get("H(x)"), val.get("H(x|y)")):
        _gap_flag(f, val["H(x)"] - val["H(x|y)"], "MI")
    elif form == "three_entropies" and None not in (val.get("H(x)"), val.get("H(y)"),
                                                     val.get("H(x,y)")):
        _gap_flag(f, val["H(x)"] + val["H(y)"] - val["H(x,y)"], "MI")


def _knife_manifold(job: _Job, f: _Findings) -> None:
    """KNIFE's MI on data near a low-dimensional set (intrinsic dimension clearly below
    the columns): a kernel density fitted in every column is degenerate there, its
    log-densities diverge, and their differences do not estimate MI (6.4 nats for a
    true 1.66 on 784-pixel images of a 2-D latent, -50 on a 64-column embedding)."""
    if "mutual_information" not in job.measure or job.joint_dim() <= 4:
        return
    used = _rate_dim(job, f)
    if used < job.joint_dim():
        f.flag("degenerate_density",
               f"degenerate density: the data lie near a set of intrinsic dimension about "
               f"{used} in {job.joint_dim()} columns, where a density fitted in every column "
               "diverges and differences of its log-densities do not estimate MI (use "
               "-e auto, or compress first: -e compressed)")
        f.lo = f.hi = None


def _knife_rank_invariance(job: _Job, f: _Findings, *, always: bool) -> None:
    """KNIFE's MI against KNIFE's MI on the normal scores of every continuous column.

    MI is unchanged by monotone maps of each column, but a mixture of Gaussian kernels
    fitted to skewed or heavy-tailed columns is not: the kernels chase the tails and
    the fit can stop at its first epoch having learned no dependence (a 2 x 2
    t-copula of 3 dof with exp and cubed margins, I = 0.56: -0.20 to 0.005 on four
    draws of five at 5,000 rows, -2.3 or -1.7e5 at 2,000; on normal scores 0.44-0.51
    +- 0.03). As for kNN
    (:func:`_rank_invariance`), the refit on normal scores runs when a column is
    skewed (|skewness| > 0.5) or heavy-tailed (excess kurtosis > 1), always at
    ``full``. KNIFE's joint-form MI errs low (see :func:`_knife_flags`), so only a
    normal-score value *above* it is evidence against it - it shows dependence the
    fit on the raw columns missed - while a lower one is the other fit missing more
    (a Student-t 2 x 2 of 2 dof: 0.19 on the raw columns, the truth, and 0.10 on
    normal scores, whose copula a few Gaussian kernels fit worse). Both fits carry a
    held-out stderr that leaves out the fit's randomness (seed-to-seed SD about 1.5
    times it), so the gap counts beyond 3 combined stderrs; beyond that and 10 % +
    0.02 nats it marks ``rank_sensitive``. So does a raw-column stderr above 3 times
    the normal-score one with a normal-score value above it by 10 % + 0.02 nats: the
    same rows and estimator, only the margins changed, and a few rows with extreme
    log-densities dominate the raw mean (-2.3, -1.7e5 nats for 0.56 on the
    t-copula). Marked, the interval becomes "at least" the lower end of the two
    noise intervals."""
    if "mutual_information" not in job.measure or job.params.get("model") \
            or "degenerate_density" in f.codes:
        return
    gauss = _heavy_scores(job, f, always=always)
    if gauss is None:
        return
    try:
        raw = job.raw(gauss, (4,))
    except InfocliError:
        return
    v_rank, se_rank = float(raw.value), float(raw.stderr or 0.0)
    if not math.isfinite(v_rank):
        return
    f.numbers["value_rank"], f.numbers["value_rank_se"] = v_rank, se_rank
    sigma = f.noise or 0.0
    gap = v_rank - f.value
    tol = _GAP_REL * abs(v_rank) + _GAP_ABS
    missed = gap > max(3 * math.hypot(sigma, se_rank), tol)
    # the same estimator on the same rows, only the margins changed, is far less noisy
    # and reads more: a few rows dominate the held-out log-density terms on the raw
    # columns, and their mean, with its stderr, says little (-2.3 or -1.7e5 nats for
    # 0.56 above). Not the other way: a refit that learned nothing reads 0 +- 0
    # (bmi v2's asinh Student-t 1 x 1: 0.20-0.28 raw, the truth 0.22, and 0.000 on
    # normal scores)
    erratic = sigma > 3 * se_rank and gap > tol
    if missed or erratic:
        why = ("its Gaussian kernels fitted to the skewed or heavy-tailed columns missed "
               "dependence" if missed else
               f"its stderr on the raw columns ({sigma:.2g}) is "
               f"{sigma / max(se_rank, 1e-300):.0f} times that on normal scores: a few rows "
               "with extreme log-densities dominate it")
        f.flag("rank_sensitive",
               f"not invariant: on normal scores of each column (a monotone map, which leaves "
               f"MI unchanged) KNIFE finds {v_rank:.4g} +- {se_rank:.2g} nats against "
               f"{f.value:.4g}; {why} - use transform=rank (copula)")
        lo = min(f.value - Z95 * sigma, v_rank - Z95 * se_rank)
        f.lo, f.hi = (lo if f.lo is None else min(f.lo, lo)), None


def _compressed_flags(job: _Job, f: _Findings) -> None:
    _flag_warnings(job, f)
    comp = (job.params.get("x_compressor"), job.params.get("y_compressor"))
    dims = {v: (a.shape[1] if a.ndim == 2 else 1) for v, a in job.arrays.items()}
    lossy = (comp[0] != "none" and job.params.get("x_dim", 0) < dims.get("x", 0)) or \
            (comp[1] != "none" and not job.discrete.get("y")
             and job.params.get("y_dim", 0) < dims.get("y", 0))
    sigma = f.noise or 0.0
    f.lo, f.hi = f.value - Z95 * sigma, f.value + Z95 * sigma
    if lossy:
        # data processing: MI between codes is at most the MI of the data
        f.numbers["bound"] = "lower"
        f.hi = None


# --------------------------------------------------------------------------- bounds


def _finish_interval(f: _Findings) -> None:
    """Fill a missing interval with the noise interval (estimators with no bias check)."""
    if f.lo is None and f.hi is None and not f.codes and f.noise is not None \
            and "bound" not in f.numbers:
        f.lo, f.hi = f.value - Z95 * f.noise, f.value + Z95 * f.noise


def _label_entropy(labels: np.ndarray) -> tuple[float, int]:
    counts = np.bincount(np.asarray(labels, dtype=np.int64))
    counts = counts[counts > 0]
    p = counts / counts.sum()
    return float(-(p * np.log(p)).sum() + (counts.size - 1) / (2 * counts.sum())), counts.size


def mi_bound_findings(value: float, stderr: float | None,
                      labels: np.ndarray | None = None) -> list[tuple[str, str]]:
    """(code, sentence) for an MI value that breaks a bound: below 0 beyond its
    noise, or above H(Y) of class ``labels``. For callers that estimate MI
    outside :func:`infocli.api` (the information plane)."""
    sigma = stderr or 0.0
    out = []
    if value < -Z95 * sigma - 0.01:
        out.append(("impossible_value", (f"impossible value: {value:.4g} nats is negative "
                                         f"beyond its noise (stderr {sigma:.2g})")))
    if labels is not None:
        h_y, c = _label_entropy(labels)
        if value > h_y + Z95 * sigma + 0.01:
            out.append(("impossible_value", (f"impossible value: {value:.4g} nats exceeds the "
                                             f"entropy of the {c} labels, H(Y) = {h_y:.4g} "
                                             "nats")))
    return out


def _bounds(job: _Job, f: _Findings) -> None:
    sigma = f.noise or 0.0
    if job.measure in ("mutual_information", "conditional_mutual_information"):
        if f.value < -Z95 * sigma - 0.01:
            f.flag("impossible_value",
                   f"impossible value: the MI estimate {f.value:.4g} nats is negative beyond "
                   f"its noise (stderr {sigma:.2g}); mutual information is never negative, so "
                   "the estimator is biased here")
            f.lo, f.hi = 0.0, None
        if f.lo is not None and f.lo < 0:
            f.lo = 0.0
        if f.lo is None:
            f.lo = 0.0
        if f.hi is not None and f.hi < 0:
            f.hi = 0.0
    for side in ("x", "y"):
        if job.measure == "mutual_information" and job.discrete.get(side):
            _label_bound(job, f, side, sigma)
    if job.estimator == "noisy" and job.measure == "entropy":
        # H(T+eps) = H(eps) + I(X; T+eps), the latter in [0, log n]
        low = float(job.details["noisy"]["noise_entropy"])
        top = low + float(job.details["noisy"]["ceiling_log_n"])
        f.lo = max(low, f.value - Z95 * sigma) if f.lo is None else max(low, f.lo)
        f.hi = min(top, f.value + Z95 * sigma) if f.hi is None else min(top, f.hi)
    if job.estimator == "dse" and job.measure == "entropy":
        n_used = int(job.details.get("n_used") or job.n)
        top = math.log(n_used)
        if f.value < -Z95 * sigma - 1e-9 or f.value > top + Z95 * sigma + 1e-9:
            f.flag("impossible_value",
                   f"impossible value: DSE {f.value:.4g} nats lies outside [0, log n = "
                   f"{top:.4g}]")
        f.lo = max(0.0, f.value - Z95 * sigma) if f.lo is None else max(0.0, f.lo)
        f.hi = min(top, f.value + Z95 * sigma) if f.hi is None else min(top, f.hi)


def _label_bound(job: _Job, f: _Findings, side: str, sigma: float) -> None:
    """I(X;Y) <= H of a discrete side: flag a value above it, cap the interval."""
    h, n_classes = _label_entropy(job.arrays[side])
    f.numbers["label_entropy"] = min(h, f.numbers.get("label_entropy", h))
    what = "H(Y)" if side == "y" else "H(X)"
    if f.value > h + Z95 * sigma + 0.01:
        f.flag("impossible_value",
               f"impossible value: the MI estimate {f.value:.4g} nats exceeds the "
               f"entropy of the {n_classes} labels, {what} = {h:.4g} nats, which bounds it")
    if f.hi is None or f.hi > h:
        f.hi = h
    if f.lo is not None and f.lo > f.hi:
        f.lo = f.hi
