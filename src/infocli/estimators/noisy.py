"""Information through a Gaussian noise channel: I(X; T + eps) and I(T + eps; Y).

The information-plane method of Saxe et al. (ICLR 2018) and Goldfeld et al.
(ICML 2019). A deterministic layer T = f(X) of a network has infinite (or, on
a finite set of inputs, trivially maximal) I(X;T). Add isotropic Gaussian
noise, T_eps = T + eps with eps ~ N(0, sigma^2 I), and let X be uniform over
the n rows (the probe set). T_eps is then the equal-weight Gaussian mixture
p(u) = (1/n) sum_j phi(u - t_j), each class c of the labels gives the mixture
p(u | c) over its n_c rows, and::

    I(X; T_eps) = H(T_eps) - H(eps) = E_i E_eps [ -log (1/n) sum_j phi(u_i - t_j) / phi(eps_i) ]
    I(T_eps; Y) = E_i E_eps [ log p(u_i | y_i) - log p(u_i) ]           (u_i = t_i + eps_i)

Both mixture densities are known exactly, so the only error is the Monte
Carlo average over the noise: ``draws`` draws of eps per row (one by default),
optionally on a seeded subset of ``queries`` rows (each against all n
centres). With b_ij = (|eps_i|^2 - |u_i - t_j|^2) / (2 sigma^2), b_ii = 0::

    term_x_i = log n - logsumexp_j b_ij                      (<= log n: the j = i term)
    term_y_i = [logsumexp_{j in y_i} b_ij - log n_{y_i}] - [logsumexp_j b_ij - log n]

The value is the mean of the terms and the stderr their SD over sqrt(terms)
- conservative for the noise alone, since it also holds the rows' own spread
(and is the right stderr when ``queries`` subsamples the rows). Both
quantities are bounded: 0 <= I(X;T_eps) <= log n and 0 <= I(T_eps;Y) <= H(Y)
(the labels' plug-in entropy on these rows, exact here), and the interval is
value +- 1.96 stderr within those bounds. The value itself is never clipped.

The noise SD ``sigma``: a number (in the layer's units: Saxe et al. used
sigma^2 = 0.1 on activations of order 1), or ``"auto"`` = ``noise`` times the
layer's RMS coordinate SD. The two answer different questions: a fixed sigma
lets a layer "compress" just by shrinking its scale (and "expand" by growing
it); the relative sigma is blind to the layer's overall scale and follows only
its geometry. Near log n every probe row is resolved through the noise (the
plane is saturated there: a larger ``noise`` shows structure).

Work: one n x n matrix per call (on ``device``; float32 unless sigma is tiny
against the spread of the rows, then float64).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any, Sequence

import numpy as np

from .._device import resolve_torch_device
from ..errors import ParameterError
from ._common import Context, Raw, finite
from .discrete import Z95, entropy_from_counts
from .dse import parse_sigma  # "auto" -> None, else a positive number

LOG2E = 1.4426950408889634
#: float32 is used while sigma^2 is at least this fraction of the rows' mean squared
#: distance from their centre (the exponents' rounding error stays below ~1e-3)
FLOAT32_SIGMA2 = 1e-4


@dataclass(frozen=True)
class Channel:
    """Per-call answer of :func:`noisy_terms`: the Monte Carlo terms (nats) and the
    quantities that bound them."""

    sigma: float
    n: int
    term_x: np.ndarray
    term_y: np.ndarray | None
    label_entropy: float | None
    float64: bool

    @staticmethod
    def _summary(terms: np.ndarray, top: float) -> dict[str, Any]:
        value = float(terms.mean())
        stderr = float(terms.std(ddof=1) / math.sqrt(terms.size)) if terms.size > 1 else 0.0
        lo = min(max(0.0, value - Z95 * stderr), top)
        hi = max(min(top, value + Z95 * stderr), 0.0)
        return {"value": value, "stderr": stderr, "lo": lo, "hi": hi, "top": top}

    def mi_x(self) -> dict[str, Any]:
        """I(X; T + eps) (X uniform over the rows): value, stderr, lo, hi, top = log n."""
        return self._summary(self.term_x, math.log(self.n))

    def mi_y(self) -> dict[str, Any]:
        """I(T + eps; Y): value, stderr, lo, hi, top = H(Y)."""
        if self.term_y is None:
            raise ParameterError("I(T+eps;Y) needs labels")
        return self._summary(self.term_y, float(self.label_entropy))


def noisy_terms(t: Any, labels: Any = None, *, sigma: float | None = None, noise: float = 1.0,
                draws: int = 1, queries: int = 0, seed: int | np.random.Generator = 0,
                device: str = "auto") -> Channel:
    """The Monte Carlo terms of I(X; T+eps) and (with ``labels``) I(T+eps; Y).

    ``t``: (n, d) array or tensor (a tensor stays on its device); ``labels``:
    (n,) integer class codes or None; ``sigma``: the noise SD, or None for
    ``noise`` x the RMS coordinate SD of ``t``. A constant ``t`` (no spread)
    gives zero terms: no information passes.
    """
    return noisy_terms_many([t], labels, sigma=sigma, noise=noise, draws=draws,
                            queries=queries, seed=seed, device=device)[0]


def _label_codes(labels: Any, n: int) -> np.ndarray:
    import torch

    lab = labels.detach().cpu().numpy() if isinstance(labels, torch.Tensor) else labels
    lab = np.asarray(lab)
    if len(lab) != n:
        raise ParameterError(f"labels have {len(lab)} rows but the layer has {n}")
    if lab.ndim == 2 and lab.shape[1] == 1:
        lab = lab.reshape(-1)
    if lab.ndim == 1 and lab.dtype.kind in "iu" and lab.size and lab.min() >= 0 \
            and lab.max() < 4 * n:
        codes = lab  # codes already (absent classes are empty)
    elif lab.ndim == 1:
        _, codes = np.unique(lab, return_inverse=True)
    else:  # a row of several label columns is one class
        _, codes = np.unique(lab.reshape(n, -1), axis=0, return_inverse=True)
    return codes.reshape(-1).astype(np.int64, copy=False)


def noisy_terms_many(ts: Sequence[Any], labels: Any = None, *, sigma: float | None = None,
                     noise: float = 1.0, draws: int = 1, queries: int = 0,
                     seed: int | np.random.Generator = 0,
                     device: str = "auto") -> list[Channel]:
    """:func:`noisy_terms` of several layers of the same rows (a network's layers on
    one probe set), in one pass: the labels' bookkeeping is shared and the
    layers' matrices are exponentiated and summed together, which on a CPU
    costs much less than one call per layer. Layers are drawn their noise in
    order, so the answer for a layer depends on the layers before it."""
    import torch

    if draws < 1 or queries < 0 or not noise > 0:
        raise ParameterError(f"draws >= 1, queries >= 0 and noise > 0 expected; got draws="
                             f"{draws}, queries={queries}, noise={noise}")
    if not len(ts):
        return []
    layers = []
    for t in ts:
        if isinstance(t, torch.Tensor):
            tt = t.detach().reshape(len(t), -1)
        else:
            dev = torch.device(resolve_torch_device(device))
            tt = torch.as_tensor(np.asarray(t, dtype=np.float64)).reshape(len(t), -1).to(dev)
        if not tt.is_floating_point():
            tt = tt.to(torch.float64)
        layers.append(tt)
    n, dev = int(layers[0].shape[0]), layers[0].device
    if n < 2:
        raise ParameterError(f"the noisy channel needs at least 2 rows; got {n}")
    if any(int(tt.shape[0]) != n for tt in layers):
        raise ParameterError("the layers must hold the same rows: got "
                             + ", ".join(str(int(tt.shape[0])) for tt in layers))
    codes = None if labels is None else _label_codes(labels, n)
    label_h = None if codes is None else entropy_from_counts(np.bincount(codes), "plugin")
    rng = seed if isinstance(seed, np.random.Generator) else np.random.default_rng(seed)

    # per layer: centred in the input's own precision (float32 activations stay float32),
    # the mean squared distance from the centre, sigma, and whether float32 is exact enough
    prepared = []
    for tt in layers:
        centred = tt - tt.mean(0, keepdim=True)
        spread2 = float((centred * centred).sum() / n)
        sig = sigma if sigma is not None else noise * math.sqrt(spread2 / max(tt.shape[1], 1))
        prepared.append((centred, spread2, float(sig)))
    live = [i for i, (_, spread2, _) in enumerate(prepared) if spread2 > 0.0]
    wide = any(p[2] ** 2 < FLOAT32_SIGMA2 * p[1] for p in prepared if p[1] > 0.0)
    dtype = torch.float64 if wide else torch.float32
    np_dtype = np.float64 if wide else np.float32
    rows = np.arange(n) if not queries or queries >= n else np.sort(
        rng.choice(n, queries, replace=False))
    blocks: list[tuple[int, int, int, int]] = []
    order_t = None
    if codes is not None:  # sort rows and centres by class: each class is a diagonal block
        counts = np.bincount(codes)
        order = np.argsort(codes, kind="stable")
        bounds = np.concatenate([[0], np.cumsum(counts)])
        rows = rows[np.argsort(codes[rows], kind="stable")]
        q_bounds = np.concatenate([[0], np.cumsum(np.bincount(codes[rows],
                                                               minlength=counts.size))])
        log_nc = np.log(np.maximum(counts, 1).astype(np.float64))[codes[rows]]
        blocks = [(int(q_bounds[c]), int(q_bounds[c + 1]), int(bounds[c]), int(bounds[c + 1]))
                  for c in range(counts.size) if q_bounds[c + 1] > q_bounds[c]]
        order_t = torch.as_tensor(order, device=dev)
    rows_t = None if rows.size == n else torch.as_tensor(rows, device=dev)
    cens, qs = [], []
    for i in live:
        centred, _, _ = prepared[i]
        cen = (centred if order_t is None else centred[order_t]).to(dtype)
        cens.append(cen)
        qs.append(cen if rows_t is None else centred[rows_t].to(dtype))  # every row: same order
    out_x: list[list[np.ndarray]] = [[] for _ in ts]
    out_y: list[list[np.ndarray]] = [[] for _ in ts]
    m = len(rows)
    for _ in range(draws):
        for i in range(len(ts)):
            if i not in live:  # a constant layer: every row maps to the same point
                out_x[i].append(np.zeros(m))
                out_y[i].append(np.zeros(m))
        if not live:
            continue
        b = torch.empty((len(live), m, n), dtype=dtype, device=dev)
        epss = []
        for k, i in enumerate(live):
            draw = rng.standard_normal(tuple(qs[k].shape), dtype=np_dtype)
            eps = torch.from_numpy(draw).to(dev).mul_(prepared[i][2])
            epss.append(eps)
            _exponents(qs[k], eps, cens[k], prepared[i][2], out=b[k])
        b.clamp_(min=-80.0 * LOG2E).exp2_()
        total = b.sum(2)
        own = (torch.cat([b[:, r0:r1, c0:c1].sum(2) for r0, r1, c0, c1 in blocks], 1)
               if codes is not None else None)
        lse = total.double().log()
        own_log = None if own is None else own.double().log()
        bad = ~torch.isfinite(total).all(1)
        for k in torch.nonzero(bad).flatten().tolist():  # overflow: redo shifted, in float64
            i = live[k]
            b64, shift = _exp_exponents_shifted(qs[k], epss[k], cens[k], prepared[i][2])
            lse[k] = b64.sum(1).log() + shift
            if own_log is not None:
                own_log[k] = torch.cat([b64[r0:r1, c0:c1].sum(1)
                                        for r0, r1, c0, c1 in blocks]).log() + shift
        lse_np = lse.cpu().numpy()
        own_np = None if own_log is None else own_log.cpu().numpy()
        for k, i in enumerate(live):
            out_x[i].append(math.log(n) - lse_np[k])
            if own_np is not None:
                out_y[i].append((own_np[k] - log_nc) - (lse_np[k] - math.log(n)))
    return [Channel(prepared[i][2], n, np.concatenate(out_x[i]),
                    None if codes is None else np.concatenate(out_y[i]), label_h, bool(wide))
            for i in range(len(ts))]


def _exponents(q, eps, cen, sigma: float, out) -> None:
    """b_ij log2(e) into ``out`` for the query rows q (+ eps) against the centres.

    b_ij = (|eps_i|^2 - |u_i - t_j|^2) / 2 sigma^2 is 0 on the row's own centre, so
    a row's sum of exp(b_ij) is >= 1 and needs no shift by its maximum unless some
    b_ij is so large that exp overflows (another centre far closer to u_i than its
    own: an event of probability ~1e-38); then :func:`_exp_exponents_shifted`
    redoes the row. The caller raises exponents below -80 to -80 (exp of a
    subnormal float is very slow on CPUs): a row's sum, >= 1, moves by under
    n * 2e-35. Base 2: exp2 is cheaper than exp on CPUs, and gives the same sums.
    """
    import torch

    u = q + eps
    # one product: [u / s^2, r_i, 1] . [t_j, 1, c_j] = b_ij with r_i = (|eps_i|^2 - |u_i|^2)
    # / 2s^2 and c_j = -|t_j|^2 / 2s^2, all times log2(e)
    inv = LOG2E / (sigma * sigma)
    r = ((eps * eps).sum(1) - (u * u).sum(1)) * (0.5 * inv)
    left = torch.cat([u * inv, r[:, None], torch.ones_like(r)[:, None]], 1)
    csq = (cen * cen).sum(1)
    right = torch.cat([cen, torch.ones_like(csq)[:, None], (-0.5 * inv) * csq[:, None]], 1)
    torch.matmul(left, right.T, out=out)


def _exp_exponents_shifted(q, eps, cen, sigma: float):
    """The overflow fallback: in float64, 2^(b_ij log2(e) - its row maximum), and the
    row maxima in nats (so that log sum_j exp(b_ij) = log(row sum) + shift)."""
    import torch

    b64 = torch.empty((len(q), len(cen)), dtype=torch.float64, device=q.device)
    _exponents(q.double(), eps.double(), cen.double(), sigma, out=b64)
    shift = b64.max(1, keepdim=True).values
    return b64.sub_(shift).exp2_(), shift[:, 0] / LOG2E


def _channel(ctx: Context, x: np.ndarray, labels: np.ndarray | None, sigma: Any, noise: float,
             draws: int, queries: int) -> Channel:
    ch = noisy_terms(x, labels, sigma=parse_sigma(sigma), noise=noise, draws=draws,
                     queries=queries, seed=ctx.rng, device=ctx.device)
    ctx.device_used = str(resolve_torch_device(ctx.device))
    ctx.details["noisy"] = {"sigma": ch.sigma, "draws": draws, "n_centres": ch.n,
                            "queries": int(ch.term_x.size // draws),
                            "dtype": "float64" if ch.float64 else "float32",
                            "ceiling_log_n": math.log(ch.n)}
    return ch


_METHOD = ("SD of the Monte Carlo terms (one per noise draw and query row) over sqrt(terms): "
           "the noise draws plus the rows' spread")


def noisy_entropy(ctx: Context, x: np.ndarray, *, sigma: Any = "auto", noise: float = 1.0,
                  draws: int = 1, queries: int = 0) -> Raw:
    """H(T + eps) of the rows' Gaussian mixture = I(X; T + eps) + H(eps)."""
    ch = _channel(ctx, x, None, sigma, noise, draws, queries)
    d = x.shape[1] if x.ndim == 2 else 1
    h_eps = 0.5 * d * math.log(2 * math.pi * math.e * ch.sigma ** 2)
    summary = ch.mi_x()
    ctx.details["noisy"].update(mi_x=summary["value"], noise_entropy=h_eps)
    _saturation(ctx, summary["value"], summary["top"])
    return finite(Raw(summary["value"] + h_eps, summary["stderr"], _METHOD))


def noisy_mi(ctx: Context, x: np.ndarray, y: np.ndarray, *, sigma: Any = "auto",
             noise: float = 1.0, draws: int = 1, queries: int = 0) -> Raw:
    """I(T + eps; Y) with class labels y (T = x)."""
    if not ctx.discrete.get("y"):
        raise ParameterError("estimator 'noisy' measures I(T+eps; Y) with class labels y "
                             "(pass discrete_y=True, or --discrete-y on the command line)")
    ch = _channel(ctx, x, y, sigma, noise, draws, queries)
    summary, mi_x = ch.mi_y(), ch.mi_x()
    ctx.details["noisy"].update(mi_x=mi_x["value"], mi_x_stderr=mi_x["stderr"])
    _saturation(ctx, mi_x["value"], mi_x["top"])
    return finite(Raw(summary["value"], summary["stderr"], _METHOD))


def saturation_note(mi_x: float, top: float) -> str | None:
    """A sentence when I(X; T+eps) is within 5 % of its ceiling log n. There the
    Monte Carlo terms are skewed - most rows resolved, a rare noise draw landing
    near another row pulls its term far down - and a draw that misses those
    reads high with a small stderr: on wine and breast cancer (standardised,
    noise 0.3) 31 of 40 intervals of I(X; T+eps) held the 400-draw value, all
    misses above it. So I(X; T+eps) (and H(T+eps)) is marked unreliable there;
    I(T+eps; Y) held it in 80 of 80."""
    if mi_x < 0.95 * top:
        return None
    return (f"I(X; T+eps) = {mi_x:.3g} nats is at its ceiling log n = {top:.3g}: the noise "
            "resolves nearly every row, so the plane is saturated here (a larger noise, "
            "sigma or noise, shows the layer's structure), and the interval of I(X; T+eps) "
            "is too narrow there (rare noise draws near another row dominate its error)")


def _saturation(ctx: Context, mi_x: float, top: float) -> None:
    note = saturation_note(mi_x, top)
    if note is not None:
        ctx.warn(note)
