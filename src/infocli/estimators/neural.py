"""Neural variational MI estimators: MINE (DV), NWJ, InfoNCE, SMILE and JS,
optionally with ReMINE regularisation (Choi & Lee, UAI 2022).

The bounds, penalties and critics themselves live in :mod:`infocli.bounds`
(re-exported as ``infocli.nn`` once merged with the KNIFE branch); this
module is the registered estimator: an honest train / validate / test
protocol around them.

Protocol
--------
1. Rows are shuffled with the seeded ``ctx.rng`` and split into a training,
   a validation (``val_fraction``) and a test part (``test_fraction``).
   Continuous columns are standardised with the training part's mean and
   standard deviation (MI is invariant to this); label y is one-hot encoded.
2. A critic (``concat`` scoring all B x B pairs, or ``separable``) is trained
   with Adam on random training batches of ``batch_size`` rows, maximising the
   bound (``js``: the Jensen-Shannon objective), plus the ReMINE penalty with
   ``regularize=remine``.
3. Every ``eval_every`` steps the unregularised bound is averaged over
   validation batches; the critic with the best validation bound is kept, and
   training stops after ``patience`` checks without improvement, at
   ``max_steps``, or when the training loss stops being finite (divergence).
4. The reported value is the unregularised bound of the kept critic averaged
   over disjoint batches of the held-out test rows (never seen in training or
   model selection); ``stderr`` is the standard deviation of the per-batch
   bounds / sqrt(number of test batches).

Every batch-based bound depends on B; InfoNCE in particular can never exceed
log B, which is reported in ``warnings`` and ``details`` when approached.
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
            f"{ctx.name(var)}: column {j} is constant in the training rows; a constant "
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


def _batch_bounds(critic, xt, yt, rows: np.ndarray, batch_size: int, bound: str, clip: float,
                  torch) -> np.ndarray:
    """Unregularised bound on consecutive disjoint batches of ``rows`` (float64 scores)."""
    from ..bounds import bound_value

    out = []
    with torch.no_grad():
        for start in range(0, len(rows) - batch_size + 1, batch_size):
            idx = torch.as_tensor(rows[start:start + batch_size], device=xt.device)
            scores = critic(xt[idx], yt[idx]).double()
            out.append(float(bound_value(scores, bound, clip=clip)))
    return np.asarray(out)


def neural_mi(ctx: Context, x: np.ndarray, y: np.ndarray, *, bound: str, critic: str,
              hidden: str, embed_dim: int, batch_size: int, lr: float, max_steps: int,
              eval_every: int, patience: int, val_fraction: float, test_fraction: float,
              regularize: str, reg_lambda: float, reg_target: float, standardize: bool,
              clip: float = 10.0) -> Raw:
    """I(X;Y) in nats from a trained critic, scored on held-out test rows."""
    import torch

    from ..bounds import make_critic

    sizes = parse_hidden(hidden)
    if val_fraction + test_fraction >= 1:
        raise ParameterError(
            f"val_fraction={val_fraction:g} + test_fraction={test_fraction:g} leave no "
            "training rows; their sum must be below 1"
        )
    n = x.shape[0]
    train, val, test = _split(ctx, n, batch_size, val_fraction, test_fraction)

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
    offset = model.c if hasattr(model, "c") else model.rest[-1].bias
    rest = [p for p in model.parameters() if p is not offset]
    # With ReMINE the penalty pins the critic's overall offset; moving ~lr per
    # Adam step, the offset would lag behind the drifting scores for thousands
    # of steps and the penalty would bend the rest of the critic instead.
    factor = _SHIFT_LR_FACTOR if regularize == "remine" else 1.0
    opt = torch.optim.Adam([{"params": rest}, {"params": [offset], "lr": lr * factor}], lr=lr)

    threads = torch.get_num_threads()
    work = batch_size * max(sizes) * (1 if critic == "separable" else batch_size)
    if device == "cpu" and work <= 2**20:
        # small ops: thread hand-offs cost more than they save (separable critic,
        # B = 64: 2.5 ms/step on one thread, 40 ms on two, on a busy 2-core machine)
        torch.set_num_threads(1)
    try:
        return _train_and_test(ctx, model, opt, xt, yt, train, val, test, bound=bound,
                               batch_size=batch_size, max_steps=max_steps,
                               eval_every=eval_every, patience=patience,
                               regularize=regularize, reg_lambda=reg_lambda,
                               reg_target=reg_target, clip=clip, batch_rng=batch_rng,
                               device=device)
    finally:
        torch.set_num_threads(threads)


def _train_and_test(ctx, model, opt, xt, yt, train, val, test, *, bound, batch_size, max_steps,
                    eval_every, patience, regularize, reg_lambda, reg_target, clip, batch_rng,
                    device) -> Raw:
    import torch

    from ..bounds import objective

    label = f"{bound} critic"
    val_rows = val[: _MAX_VAL_BATCHES * batch_size]
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
                                target=reg_target, clip=clip)
        if not torch.isfinite(loss):  # NaN/inf: the critic's scale ran away
            diverged_at = step
            stopped = "diverged"
            break
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
        train_trace.append(float(value))
        if step % eval_every == 0 or step == max_steps:
            vals = _batch_bounds(model, xt, yt, val_rows, batch_size, bound, clip, torch)
            val_bound = float(vals.mean()) if np.all(np.isfinite(vals)) else -math.inf
            train_bound = float(np.mean(train_trace[-eval_every:]))
            history.append({"step": step, "train": train_bound, "val": val_bound})
            if val_bound > best_val:
                best_val, best_step = val_bound, step
                best_state = {k: v.detach().clone() for k, v in model.state_dict().items()}
                checks_without_gain = 0
            else:
                checks_without_gain += 1
            ctx.report(label, step, max_steps)
            if checks_without_gain >= patience:
                stopped = "early"
                break
    ctx.report(label, max_steps, max_steps)

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
               if regularize == "none" else "; try a lower lr or a larger reg_lambda")
        )
    elif len(history) >= 2 and history[-1]["val"] < best_val - 1.0 and regularize == "none":
        ctx.warn(
            f"{bound}: the validation bound fell by {best_val - history[-1]['val']:.2f} nats "
            f"after step {best_step} (unstable training); the best critic was used; "
            "-p regularize=remine usually stabilises it"
        )

    test_rows = ctx.rng.permutation(test)
    per_batch = _batch_bounds(model, xt, yt, test_rows, batch_size, bound, clip, torch)
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

    ceiling = math.log(batch_size)
    if bound == "infonce":
        # InfoNCE saturates below log B: with an optimal critic and pointwise MI
        # near I = log B, each term is about log(B e^I / (e^I + B - 1)) ~ log B - log 2;
        # in the benchmark true MI of 6 and 8
        # nats at B = 64 gave 3.41 and 3.75 (ceiling 4.16). Within 1 nat of the
        # ceiling the true MI may be at or above log B.
        capped = value > ceiling - _CEILING_MARGIN
        ctx.details["ceiling"] = ceiling
        ctx.details["capped"] = bool(capped)
        if capped:
            ctx.warn(
                f"infonce: the estimate {value:.3f} nats is at its ceiling log(batch_size) = "
                f"{ceiling:.3f} nats (capped); the true MI may be larger - raise batch_size "
                "or use another bound"
            )
    ctx.details.update(
        bound=bound,
        split={"train": int(train.size), "validation": int(val.size), "test": int(test.size)},
        steps=step if diverged_at is None else diverged_at,
        best_step=best_step,
        best_validation_bound=best_val,
        stopped=stopped,
        test_batches=int(per_batch.size),
    )
    return Raw(value, stderr, f"std of the bound over {per_batch.size} held-out test batches "
                              f"/ sqrt({per_batch.size})")
