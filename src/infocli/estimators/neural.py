"""Neural variational MI estimators: MINE (DV), NWJ, InfoNCE, SMILE and JS,
optionally with ReMINE regularisation (Choi & Lee, UAI 2022).

The bounds, penalties and critics themselves live in :mod:`infocli.torch`
(:mod:`infocli.torch.bounds`, :mod:`infocli.torch.critics`); this module is the registered estimator: an honest train / validate / test
protocol around them.

Protocol
--------
1. Rows are shuffled with the seeded ``ctx.rng`` and split into a training,
   a validation (``val_fraction``) and a test part (``test_fraction``).
   Continuous columns are standardised with the training part's mean and
   standard deviation (MI is invariant to this); label y is one-hot encoded.
2. A critic (``concat`` scoring all B x B pairs, or ``separable``) is trained
   with Adam on random training batches of ``batch_size`` rows, maximising the
   bound (``js``, ``smile``: the Jensen-Shannon objective), plus the ReMINE
   penalty with ``regularize=remine`` on the whole critic, as in Choi & Lee
   (2022); ``regularize=remine_offset`` routes the penalty's gradient to the
   critic's output offset only (NWJ: the whole critic all the same; see
   :func:`infocli.torch.objective`).
3. Every ``eval_every`` steps the unregularised bound is averaged over
   validation batches of ``eval_batch_size`` rows (automatic: ``batch_size``,
   InfoNCE up to 2048); the critic with the best validation bound is kept, and
   training stops after ``patience`` checks without improvement, at
   ``max_steps``, or when the training loss stops being finite (divergence).
4. The reported value is the unregularised bound of the kept critic averaged
   over disjoint batches of the held-out test rows (never seen in training or
   model selection); ``stderr`` is the standard deviation of the per-batch
   bounds / sqrt(number of test batches).

Every batch-based bound depends on B. The per-batch DV (MINE, SMILE) is
biased upward at small B (Jensen: E log mean e^T <= log E e^T; optimal critic,
I = 8: 8.53 in batches of 64, 7.98 in batches of 2048) - that is the published
estimator, kept as the default, but the test rows are also scored in batches
of up to 2048 and a fall of more than 0.25 nats is reported in ``details``
(``large_batch_value``, ``batch_drop``) and ``warnings``. InfoNCE can never
exceed log B, which is reported in ``warnings`` and ``details`` when it limits
the estimate. NWJ (and JS, read out with NWJ) is unbiased in B.
"""

from __future__ import annotations

import math

import numpy as np

from ..errors import EstimationError, InputError, ParameterError
from .._device import resolve_torch_device
from ._common import Context, Raw

_MAX_VAL_BATCHES = 32  # validation batches per check: enough for selection, cheap
_CEILING_MARGIN = 1.0  # infonce: estimates within this many nats of log B are flagged
_SHIFT_LR_FACTOR = 100.0  # learning-rate factor of the critic's output offset under ReMINE
_AUTO_EVAL_BATCH = 2048  # infonce: largest automatic evaluation batch (ceiling log 2048 = 7.62)
_GAIN_LIMIT = 0.25  # nats: infonce rising with B flags it as capped; DV falling flags its bias
_FLOOR_MARGIN = 0.1  # nats: below -(this + 4 stderr) a bound is beneath the trivial 0
_FLOOR_SE = 4.0
_NOISE_CAP = 0.25  # nats: a larger stderr is itself a failure, it widens the margin no more


def mine_mi(ctx: Context, x, y, **params) -> Raw:
    return neural_mi(ctx, x, y, bound="mine", **params)


def nwj_mi(ctx: Context, x, y, **params) -> Raw:
    return neural_mi(ctx, x, y, bound="nwj", **params)


def infonce_mi(ctx: Context, x, y, **params) -> Raw:
    return neural_mi(ctx, x, y, bound="infonce", **params)


def smile_mi(ctx: Context, x, y, **params) -> Raw:
    return neural_mi(ctx, x, y, bound="smile", **params)


def js_mi(ctx: Context, x, y, **params) -> Raw:
    return neural_mi(ctx, x, y, bound="js", **params)


def parse_hidden(text: str) -> tuple[int, ...]:
    """``"128,128"`` -> (128, 128); one-line ParameterError otherwise."""
    try:
        sizes = tuple(int(s) for s in str(text).replace(" ", "").split(",") if s)
    except ValueError:
        sizes = ()
    if not sizes or any(s < 1 for s in sizes):
        raise ParameterError(
            f"parameter hidden={text!r}: expected comma-separated positive layer sizes, e.g. 128,128"
        )
    return sizes


def _standardise(a: np.ndarray, train: np.ndarray, ctx: Context, var: str) -> np.ndarray:
    mean = a[train].mean(axis=0)
    sd = a[train].std(axis=0)
    for j in np.flatnonzero(sd == 0):
        raise InputError(
            f"{ctx.name(var)}: {ctx.column(var, int(j))} is constant in the training rows; a constant "
            "carries no information - drop the column"
        )
    return (a - mean) / sd


def _split(ctx: Context, n: int, batch_size: int, val_fraction: float,
           test_fraction: float) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    n_val = int(round(n * val_fraction))
    n_test = int(round(n * test_fraction))
    n_train = n - n_val - n_test
    fractions = f"val_fraction={val_fraction:g}, test_fraction={test_fraction:g}"
    if batch_size > n_train:
        raise InputError(
            f"batch_size={batch_size} is larger than the training part ({n_train} of {n} rows "
            f"with {fractions}); lower batch_size or give more rows"
        )
    for part, size in (("validation", n_val), ("test", n_test)):
        if size < batch_size:
            raise InputError(
                f"the {part} part has {size} of {n} rows ({fractions}), fewer than one "
                f"batch of batch_size={batch_size}; lower batch_size, raise the fraction or "
                "give more rows"
            )
    order = ctx.rng.permutation(n)
    return order[:n_train], order[n_train:n_train + n_val], order[n_train + n_val:]


def _eval_batch(bound: str, batch_size: int, eval_batch_size: int, n_val: int,
                n_test: int) -> int:
    """Rows per validation/test batch: ``eval_batch_size``, or automatic when 0.

    Automatic: ``batch_size`` (the published estimators), except for InfoNCE,
    whose bound at any batch size is valid but capped at log B: it is scored on
    up to 2048 rows (at most a quarter of the test part, at least
    ``batch_size``) to lift the ceiling.
    """
    if eval_batch_size == 0:
        if bound != "infonce":
            return batch_size
        return max(batch_size, min(_large_batch(n_test), n_val))
    if eval_batch_size < 2 or eval_batch_size > min(n_val, n_test):
        raise InputError(
            f"eval_batch_size={eval_batch_size} must lie between 2 and the smaller of the "
            f"validation ({n_val} rows) and test ({n_test} rows) parts; lower it, raise the "
            "fractions, or use 0 (automatic)"
        )
    return eval_batch_size


def _large_batch(n_test: int) -> int:
    """The large evaluation batch: up to 2048 rows, at most a quarter of the test part."""
    return min(_AUTO_EVAL_BATCH, n_test // 4)


def _rescored(model, xt, yt, rows, batch_size, bound, clip, torch) -> float | None:
    """Mean bound over the finite batches of ``rows`` scored ``batch_size`` at a time."""
    per_batch = _batch_bounds(model, xt, yt, rows, batch_size, bound, clip, torch)
    per_batch = per_batch[np.isfinite(per_batch)]
    return float(per_batch.mean()) if per_batch.size else None


def _score_matrix(critic, xb, yb, width: int, torch):
    """(B, B) float64 scores of a batch, built from blocks of x rows.

    A concat critic holds a (rows, B, width) activation per layer; blocks keep
    it near 2**24 values (64 MB) whatever B is, so a 2048-row evaluation batch
    needs no 4 GB tensor.
    """
    n = xb.shape[0]
    step = max(1, (1 << 24) // max(1, n * width))
    if step >= n:
        return critic(xb, yb).double()
    return torch.cat([critic(xb[i:i + step], yb).double() for i in range(0, n, step)])


def _batch_bounds(critic, xt, yt, rows: np.ndarray, batch_size: int, bound: str, clip: float,
                  torch) -> np.ndarray:
    """Unregularised bound on consecutive disjoint batches of ``rows`` (float64 scores)."""
    from ..torch import bound_value

    width = max((m.out_features for m in critic.modules() if hasattr(m, "out_features")),
                default=1)
    out = []
    with torch.no_grad():
        for start in range(0, len(rows) - batch_size + 1, batch_size):
            idx = torch.as_tensor(rows[start:start + batch_size], device=xt.device)
            scores = _score_matrix(critic, xt[idx], yt[idx], width, torch)
            out.append(float(bound_value(scores, bound, clip=clip)))
    return np.asarray(out)


def neural_mi(ctx: Context, x: np.ndarray, y: np.ndarray, *, bound: str, critic: str,
              hidden: str, embed_dim: int, batch_size: int, lr: float, max_steps: int,
              eval_every: int, patience: int, val_fraction: float, test_fraction: float,
              regularize: str, reg_lambda: float, reg_target: float, standardize: bool,
              eval_batch_size: int = 0, clip: float = 10.0) -> Raw:
    """I(X;Y) in nats from a trained critic, scored on held-out test rows."""
    import torch

    from ..torch import critic_offset, make_critic

    sizes = parse_hidden(hidden)
    if val_fraction + test_fraction >= 1:
        raise ParameterError(
            f"val_fraction={val_fraction:g} + test_fraction={test_fraction:g} leave no "
            "training rows; their sum must be below 1"
        )
    n = x.shape[0]
    train, val, test = _split(ctx, n, batch_size, val_fraction, test_fraction)
    eval_b = _eval_batch(bound, batch_size, eval_batch_size, val.size, test.size)

    if ctx.discrete.get("y"):
        n_classes = int(y.max()) + 1
        y = np.eye(n_classes)[y]
        ys = y
    else:
        ys = _standardise(y, train, ctx, "y") if standardize else y
    xs = _standardise(x, train, ctx, "x") if standardize else x

    device = resolve_torch_device(ctx.device)
    ctx.device_used = device
    torch_seed = int(ctx.rng.integers(2**62))
    batch_rng = np.random.default_rng(int(ctx.rng.integers(2**62)))
    xt = torch.as_tensor(xs, dtype=torch.float32, device=device)
    yt = torch.as_tensor(ys, dtype=torch.float32, device=device)

    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(torch_seed)
        model = make_critic(critic, xt.shape[1], yt.shape[1], sizes, embed_dim).to(device)
    offset = critic_offset(model)
    rest = [p for p in model.parameters() if p is not offset]
    # With the offset form the penalty pins the critic's overall offset; moving
    # ~lr per Adam step, the offset would lag behind the drifting scores for
    # thousands of steps and the penalty would bend the rest of the critic instead.
    factor = _SHIFT_LR_FACTOR if regularize == "remine_offset" else 1.0
    opt = torch.optim.Adam([{"params": rest}, {"params": [offset], "lr": lr * factor}], lr=lr)
    # objective(): offset=None penalises the whole critic (the paper's ReMINE)
    routed = offset if regularize == "remine_offset" else None
    regularize = "none" if regularize == "none" else "remine"

    threads = torch.get_num_threads()
    work = batch_size * max(sizes) * (1 if critic == "separable" else batch_size)
    if device == "cpu" and work <= 2**20:
        # small ops: thread hand-offs cost more than they save (separable critic,
        # B = 64: 2.5 ms/step on one thread, 40 ms on two, on a busy 2-core machine)
        torch.set_num_threads(1)
    try:
        raw = _train_and_test(ctx, model, opt, xt, yt, train, val, test, bound=bound,
                              batch_size=batch_size, eval_b=eval_b, max_steps=max_steps,
                              eval_every=eval_every, patience=patience,
                              regularize=regularize, reg_lambda=reg_lambda,
                              reg_target=reg_target, clip=clip, batch_rng=batch_rng,
                              device=device, offset=routed)
    finally:
        torch.set_num_threads(threads)
    n_classes = int(ys.shape[1]) if ctx.discrete.get("y") else None
    _check_plausible(ctx, bound, raw.value, raw.stderr, n, n_classes, lr)
    return raw


def _check_plausible(ctx: Context, bound: str, value: float, stderr: float | None, n: int,
                     n_classes: int | None, lr: float) -> None:
    """Refuse a held-out bound no trained critic can honestly give; warn above log n.

    Every bound here is 0 for a constant critic, so a trained critic scoring
    below 0 by more than 0.1 nats + 4 stderr (stderr capped at 0.25 nats: a
    diverged critic's stderr is as absurd as its value) on held-out rows failed
    (typically it diverged: lr=1 gave -717 nats, lr=1e3 -4.6e15). Above, MI
    with class labels cannot exceed H(Y) <= log C; for continuous Y an
    estimate above 2 log n is taken as a failure, and one above log n is
    flagged (an MI lower bound from n rows cannot honestly exceed O(log n);
    McAllester & Stratos, AISTATS 2020).
    """
    se = stderr if stderr is not None and math.isfinite(stderr) else 0.0
    margin = _FLOOR_MARGIN + _FLOOR_SE * min(se, _NOISE_CAP)
    advice = (f"lower lr (now {lr:g}; default 5e-4), use regularize=remine, or a smaller "
              "critic (hidden)")
    if value < -margin:
        raise EstimationError(
            f"{bound}: the held-out bound is {value:.4g} nats, below 0 (what a constant critic "
            f"gives) by more than noise (stderr {se:.3g}): training failed, the critic "
            f"diverged or overfitted; {advice}"
        )
    if n_classes is not None:
        ceiling = math.log(n_classes)
        if value > ceiling + margin:
            raise EstimationError(
                f"{bound}: the held-out bound is {value:.4g} nats, above log({n_classes} "
                f"classes) = {ceiling:.3f}, which MI with class labels cannot exceed: training "
                f"failed; {advice}"
            )
        return
    log_n = math.log(n)
    if value > 2 * log_n:
        raise EstimationError(
            f"{bound}: the held-out bound is {value:.4g} nats, far above log(n) = {log_n:.2f} "
            f"for n = {n} rows, which no estimate from these rows can support: training "
            f"failed, the critic diverged; {advice}"
        )
    if value > log_n:
        ctx.warn(
            f"{bound}: the estimate {value:.3f} nats exceeds log(n) = {log_n:.2f} for n = {n} "
            "rows; an MI estimate this large cannot be supported by n rows (McAllester & "
            "Stratos 2020) - treat it as unreliable"
        )


def _train_and_test(ctx, model, opt, xt, yt, train, val, test, *, bound, batch_size, eval_b,
                    max_steps, eval_every, patience, regularize, reg_lambda, reg_target, clip,
                    batch_rng, device, offset) -> Raw:
    import torch

    from ..torch import objective

    label = f"{bound} critic"
    val_rows = val[: max(_MAX_VAL_BATCHES * batch_size, 4 * eval_b)]
    best_val, best_step, best_state = -math.inf, 0, None
    checks_without_gain = 0
    stopped = "max_steps"
    diverged_at = None
    train_trace: list[float] = []
    history: list[dict] = []
    step = 0
    for step in range(1, max_steps + 1):
        idx = torch.as_tensor(batch_rng.choice(train, batch_size, replace=False), device=device)
        scores = model(xt[idx], yt[idx])
        loss, value = objective(scores, bound, regularize=regularize, lam=reg_lambda,
                                target=reg_target, clip=clip, offset=offset)
        if not torch.isfinite(loss):  # NaN/inf: the critic's scale ran away
            diverged_at = step
            stopped = "diverged"
            break
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
        train_trace.append(float(value))
        if step % eval_every == 0 or step == max_steps:
            vals = _batch_bounds(model, xt, yt, val_rows, eval_b, bound, clip, torch)
            val_bound = float(vals.mean()) if np.all(np.isfinite(vals)) else -math.inf
            train_bound = float(np.mean(train_trace[-eval_every:]))
            history.append({"step": step, "train": train_bound, "val": val_bound})
            if val_bound > best_val:
                best_val, best_step = val_bound, step
                best_state = {k: v.detach().clone() for k, v in model.state_dict().items()}
                checks_without_gain = 0
            else:
                checks_without_gain += 1
            ctx.report(f"{label} | train {train_bound:.3f}, validation {val_bound:.3f} nats",
                       step, max_steps)
            if checks_without_gain >= patience:
                stopped = "early"
                break
    ctx.report(f"{label} | best validation {best_val:.3f} nats at step {best_step}",
               max_steps, max_steps)

    if best_state is None:
        raise EstimationError(
            f"{bound}: training produced no finite validation bound (diverged at step "
            f"{diverged_at or step}); try -p regularize=remine, a lower lr or a smaller "
            "max critic (hidden)"
        )
    model.load_state_dict(best_state)
    if diverged_at is not None:
        ctx.warn(
            f"{bound}: training diverged at step {diverged_at} (non-finite loss); the critic "
            f"from step {best_step} (best validation bound) was used"
            + ("; the regularised variant -p regularize=remine keeps the critic's scale in check"
               if regularize == "none" else
               "; -p regularize=remine (the penalty on the whole critic) holds the scale where "
               "the offset form does not" if offset is not None else
               "; try a lower lr or a larger reg_lambda")
        )
    elif (len(history) >= 2 and history[-1]["val"] < best_val - 1.0
          and (regularize == "none" or offset is not None)):
        ctx.warn(
            f"{bound}: the validation bound fell by {best_val - history[-1]['val']:.2f} nats "
            f"after step {best_step} (unstable training); the best critic was used; "
            "-p regularize=remine usually stabilises it"
        )

    test_rows = ctx.rng.permutation(test)
    per_batch = _batch_bounds(model, xt, yt, test_rows, eval_b, bound, clip, torch)
    finite = np.isfinite(per_batch)
    if not finite.any():
        raise EstimationError(
            f"{bound}: the bound is not finite on any test batch; try -p regularize=remine "
            "or a lower lr"
        )
    if not finite.all():
        ctx.warn(f"{bound}: {int((~finite).sum())} of {per_batch.size} test batches gave a "
                 "non-finite bound and were left out; try -p regularize=remine")
        per_batch = per_batch[finite]
    value = float(per_batch.mean())
    stderr = float(per_batch.std(ddof=1) / math.sqrt(per_batch.size)) if per_batch.size > 1 \
        else None

    if bound == "infonce":
        _flag_infonce_ceiling(ctx, model, xt, yt, test_rows, eval_b, value, clip, torch)
    elif bound in ("mine", "smile"):
        _flag_dv_batch_bias(ctx, model, xt, yt, test_rows, eval_b, value, bound, clip, torch)
    ctx.details.update(
        bound=bound,
        eval_batch_size=eval_b,
        split={"train": int(train.size), "validation": int(val.size), "test": int(test.size)},
        steps=step if diverged_at is None else diverged_at,
        best_step=best_step,
        best_validation_bound=best_val,
        stopped=stopped,
        test_batches=int(per_batch.size),
    )
    return Raw(value, stderr, f"std of the bound over {per_batch.size} held-out test batches "
                              f"/ sqrt({per_batch.size}): the noise of this critic's score, "
                              "not the randomness of its training (check=full refits on "
                              "disjoint parts and adds it)")


def _flag_infonce_ceiling(ctx, model, xt, yt, test_rows, eval_b, value, clip, torch) -> None:
    """Flag an InfoNCE estimate as capped when its batch size limits it.

    InfoNCE never exceeds log B and approaches it slowly: with the true
    log-ratio critic on the d = 20 staircase, B = 1024 gave 0.08 / 0.25 / 0.60 /
    0.95 nats more than B = 256 at I = 2 / 4 / 6 / 8, and a learned critic sits
    far below log B (B = 64: 3.75 at I = 8, ceiling 4.16). Two signs are used:
    the estimate lies within 1 nat of log B, or scoring the same test rows in
    batches of B / 4 gives more than 0.25 nats less.
    """
    ceiling = math.log(eval_b)
    gain = None
    if eval_b // 4 >= 2:
        small = _rescored(model, xt, yt, test_rows, eval_b // 4, "infonce", clip, torch)
        gain = None if small is None else value - small
    near = value > ceiling - _CEILING_MARGIN
    rising = gain is not None and gain > _GAIN_LIMIT
    ctx.details.update(ceiling=ceiling, batch_gain=gain,
                       capped=bool(near or rising))
    if near:
        ctx.warn(
            f"infonce: the estimate {value:.3f} nats is within {_CEILING_MARGIN:g} nat of its "
            f"ceiling log(eval_batch_size) = {ceiling:.3f} nats (capped); the true MI may be "
            "larger - raise eval_batch_size or use another bound"
        )
    elif rising:
        ctx.warn(
            f"infonce: the estimate rose by {gain:.2f} nats from batches of {eval_b // 4} to "
            f"{eval_b} test rows (capped by the batch size); the true MI is likely larger - "
            "give more rows or use another bound"
        )


def _flag_dv_batch_bias(ctx, model, xt, yt, test_rows, eval_b, value, bound, clip,
                        torch) -> None:
    """Score a DV bound (MINE, SMILE) again on large test batches; warn if it falls.

    The per-batch DV bound mean_P T - log mean_Q e^T is biased upward at small
    B, since the few large e^T that dominate E_Q[e^T] are rarely in a small
    batch; a learned critic can exploit this. On the d = 20 staircase MINE's
    critic gave 7.54 at I = 8 in batches of 64 and 2.70 in batches of 2,048 (2 seeds).
    The same test rows are scored in batches of up to 2048 (at most a quarter
    of the test part); the larger-batch value, the conservative one, is put in
    ``details`` and a warning when it is more than 0.25 nats lower.
    """
    large = _large_batch(len(test_rows))
    drop = large_value = None
    if large >= 2 * eval_b:
        large_value = _rescored(model, xt, yt, test_rows, large, bound, clip, torch)
        drop = None if large_value is None else value - large_value
    ctx.details.update(large_batch_size=large if drop is not None else None,
                       large_batch_value=large_value, batch_drop=drop)
    if drop is not None and drop > _GAIN_LIMIT:
        ctx.warn(
            f"{bound}: scored on batches of {large} test rows instead of {eval_b}, the bound "
            f"is {large_value:.3f} nats ({drop:.2f} lower): the small-batch DV value is biased "
            f"upward; the larger-batch one is the conservative estimate (-p "
            f"eval_batch_size={large} also selects the critic on such batches"
            + ("; -e smile, whose clip bounds the tail, is far less affected)"
               if bound == "mine" else ")")
        )
