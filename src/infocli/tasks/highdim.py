"""High-dimensional tasks: 64 to 4,096 columns whose dependence lives in a few latent directions.

The instrument for estimators meant for neural representations. Every task is
one fixed distribution: its matrices are drawn once from the task's name.
All MI tasks carry latent MI exactly, because each side is an injective
function of its latents plus, at most, noise that is independent of everything
else outside the latents' span.

* ``hd-linear-{r}x{D}-noise{s}`` (and ``hd-linear-{r}x{DX}x{DY}-noise{s}``):
  ``r`` independent latent pairs (u_i, v_i), unit variances, correlations
  rho_i; X = u A^T + s E, Y = v B^T + s F, with A (DX x r) and B (DY x r)
  fixed matrices with orthonormal columns and E, F standard normal. ``s`` is
  in units of the latents' standard deviation. Let Q = [A, A_perp] be
  orthogonal: X Q = [u + s A^T E, s A_perp^T E], whose second block is noise
  independent of (u, v, the first block) and of Y, so
  I(X; Y) = I(u + s e; v + s f) with e, f ~ N(0, I_r): r independent pairs of
  correlation rho_i / (1 + s^2), and

      I = -1/2 sum_i log(1 - rho_i^2 / (1 + s^2)^2)       (:func:`linear_mi`).

  Per column the signal has variance r / D only, so noise 0.5 makes a
  1,024-column X 98 % noise by variance; noise 0.001 makes its covariance
  nearly rank r (condition number ~1e6). The 4,096-column tasks are drawn in
  float32 (tag ``float32``: 330 MB per side at n = 20,000, not 655 MB); their
  rounding (about 2e-9 on a column's ~0.03 signal) is far below the smallest
  noise, 0.001, and the truth is that of the real-valued model.
* ``hd-curved-{r}x{D}``: latent pairs as above, no noise, each side mapped by
  a smooth map :class:`CurvedMap` onto a curved r-dimensional manifold:
  z -> [a z, tanh(z W1^T + b1), sin(z W2^T + b2)] Q^T with a fixed orthogonal
  Q. The map is injective because a z is among its features (z = (x Q)[:, :r] / a),
  so I(X; Y) = I(u; v) = -1/2 sum log(1 - rho_i^2) exactly.
* ``hd-bumps-28x28-mi-{I}``: as the ``images`` family's ``images-bumps-mi-{I}``
  (16 x 16 = 256 pixels, which this family uses as they are) at 28 x 28 = 784
  pixels: 2-D Gaussian latents with MI I, rotated, through the normal CDF and
  drawn as a bump by :func:`infocli.datasets.gaussian_bumps`.
* ``hd-digits-{8x8|32x32}-p{p}``: scikit-learn's bundled digits (1,797 images,
  8 x 8 pixels of values 0-16; 32 x 32 by ``np.kron`` with a 4 x 4 block of
  ones, so columns repeat in blocks of 16 and three pixels are 0 in every
  image). C1 is uniform over the 10 classes, C2 = C1 with probability p, else
  uniform over the 9 others; X is a uniformly drawn image of class C1 and Y an
  independent one of class C2. X - C1 - C2 - Y is a Markov chain, and the
  class is a function of the image (no image of the set appears in two
  classes; :func:`digit_images` checks it), so
  I(C1; C2) = I(g(X); g(Y)) <= I(X; Y) <= I(C1; C2): I(X; Y) = I(C1; C2) =
  log 10 + p log p + (1 - p) log((1 - p) / 9) exactly (:func:`channel_mi`).
  The pixels are the dataset's integers, without jitter: X and Y are discrete
  and the truth is their (Shannon) MI. Dequantising every pixel by uniform
  noise of width <= 1 (what infocli's ``ties="jitter"`` does) keeps it, since
  distinct integer images then stay in disjoint boxes. Needs scikit-learn
  (a test and bench extra), imported only when these tasks are sampled.
* ``hd-labels-{linear|curved}-4class-256``: a class C uniform over 4, a 2-D
  latent u | C ~ N(mu_C, I) with means on a square, and X the linear (noise
  0.1) or curved embedding of u in 256 columns; Y = C (labels). As above
  I(X; C) = I(u + 0.1 e; C) (linear) or I(u; C) (curved), the MI of 4
  isotropic Gaussian clusters in 2-D, by the ``labels`` family's Gauss-Hermite
  quadrature (``truth_error``: the change with a quarter fewer nodes).
* ``hd-entropy-spiked-gaussian-128``: N(0, L L^T + s^2 I) with 4 strong
  directions; h = 1/2 log det(2 pi e S) exactly.
* ``hd-entropy-tanh-gaussian-64``: tanh, coordinatewise, of a 64-D correlated
  Gaussian X ~ N(0, S) (saturating "activations"). With Y = tanh(X),
  h(Y) = h(X) + sum_i E log(1 - tanh^2 X_i) = h(X) - 2 sum_i E log cosh X_i,
  each expectation a 1-D Gauss-Hermite quadrature under N(0, S_ii)
  (``truth_error``: the change from 150 to 100 nodes).

These tasks are expensive (tags ``high-dimensional`` and ``opt-in``): they run
only when selected (``infocli bench --family highdim`` or by name).
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache, partial

import numpy as np
from scipy.special import ndtr

from ..errors import InputError, ParameterError
from . import OPT_IN, Task, _name_key, register
from ._closed import gauss_hermite_grid, gaussian_entropy, rho_for_mi
from .images import haar_orthogonal
from .labels import cluster_mi_quadrature

FAMILY = "highdim"
TAGS = ("high-dimensional", OPT_IN)
#: latent correlations rho_i by number of latent pairs r
RHOS = {2: (0.9, 0.7), 4: (0.9, 0.8, 0.6, 0.4)}
#: columns per side from which samples are drawn in float32
FLOAT32_COLUMNS = 4096
#: rows per block when adding the low-rank signal (bounds the temporary to 2,048 x D)
_BLOCK = 2048
#: smallest n a benchmark should use for the latent-structured tasks (as the image tasks)
_MIN_N = 100


def _fixed_rng(name: str) -> np.random.Generator:
    # the task's fixed matrices; samples use the stream (seed, name), not this one
    return np.random.default_rng(_name_key(name))


def orthonormal_columns(d: int, r: int, rng: np.random.Generator) -> np.ndarray:
    """A (d, r) matrix with orthonormal columns, uniformly distributed (QR, signs fixed)."""
    q, rr = np.linalg.qr(rng.standard_normal((d, r)))
    return q * np.sign(np.diag(rr))


def linear_mi(rhos, sigma: float) -> float:
    """I(X; Y) (nats) of the noisy linear embedding: -1/2 sum log(1 - rho_i^2 / (1 + s^2)^2)."""
    c = np.asarray(rhos, dtype=np.float64) / (1.0 + sigma * sigma)
    return float(-0.5 * np.sum(np.log1p(-c * c)))


def channel_mi(p: float, k: int = 10) -> float:
    """I(C1; C2) (nats): C1 uniform over k, C2 = C1 with probability p, else uniform
    over the k - 1 others; log k - H(C2 | C1)."""
    q = (1.0 - p) / (k - 1)
    return float(np.log(k) + p * np.log(p) + (1.0 - p) * np.log(q)) if p < 1 else float(np.log(k))


def _latent_pairs(n: int, rng: np.random.Generator, rhos: np.ndarray):
    u = rng.standard_normal((n, len(rhos)))
    v = rhos * u + np.sqrt(1.0 - rhos * rhos) * rng.standard_normal((n, len(rhos)))
    return u, v


def _embed_linear(z: np.ndarray, basis: np.ndarray, sigma: float,
                  rng: np.random.Generator) -> np.ndarray:
    """z basis^T + sigma E, drawn in float32 from FLOAT32_COLUMNS columns on."""
    n, d = len(z), basis.shape[0]
    dtype = np.float32 if d >= FLOAT32_COLUMNS else np.float64
    out = rng.standard_normal((n, d), dtype=dtype)
    out *= dtype(sigma)
    z, basis = z.astype(dtype, copy=False), basis.astype(dtype, copy=False)
    for start in range(0, n, _BLOCK):
        out[start:start + _BLOCK] += z[start:start + _BLOCK] @ basis.T
    return out


def _sample_linear(n, rng, *, rhos, a, b, sigma):
    u, v = _latent_pairs(n, rng, rhos)
    return {"x": _embed_linear(u, a, sigma, rng), "y": _embed_linear(v, b, sigma, rng)}


def latent_sample(task: Task, n: int, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """The latents (u, v) behind ``task.sample(n, seed)`` of a ``hd-linear`` or
    ``hd-curved`` task (they are its first draws), for checks."""
    rng = np.random.default_rng([int(seed), _name_key(task.name)])
    return _latent_pairs(n, rng, np.asarray(task.params["rhos"]))


@dataclass(frozen=True)
class CurvedMap:
    """A smooth injective map of R^r onto a curved r-dimensional manifold in R^d.

    z (n, r) -> [scale z, tanh(z W1^T + b1), sin(z W2^T + b2)] R^T, with R a
    d x d orthogonal matrix, so that every column mixes all features. It is
    injective because ``scale z`` is among the features: :meth:`latent`
    inverts it exactly. W1, b1, W2, b2 and R are drawn from ``key`` on first
    use (a 256 x 256 QR is not for the registry's import) and cached.
    """

    r: int
    d: int
    key: tuple[int, ...]
    scale: float = 0.25

    def parts(self) -> dict[str, np.ndarray]:
        return _curved_parts(self.r, self.d, self.key)

    def __call__(self, z: np.ndarray) -> np.ndarray:
        p = self.parts()
        feats = np.hstack([self.scale * z, np.tanh(z @ p["w_tanh"].T + p["b_tanh"]),
                           np.sin(z @ p["w_sin"].T + p["b_sin"])])
        return feats @ p["rotation"].T

    def latent(self, x: np.ndarray) -> np.ndarray:
        """The z with ``self(z) = x``."""
        return (x @ self.parts()["rotation"])[:, :self.r] / self.scale


@lru_cache(maxsize=16)
def _curved_parts(r: int, d: int, key: tuple[int, ...]) -> dict[str, np.ndarray]:
    rng = np.random.default_rng(list(key))
    k_tanh = (d - r) // 2
    k_sin = d - r - k_tanh
    parts = {"w_tanh": rng.standard_normal((k_tanh, r)), "b_tanh": rng.normal(0.0, 0.5, k_tanh),
             "w_sin": 1.5 * rng.standard_normal((k_sin, r)),
             "b_sin": rng.uniform(0.0, 2 * np.pi, k_sin), "rotation": haar_orthogonal(d, rng)}
    for a in parts.values():
        a.setflags(write=False)  # shared by every caller through the cache
    return parts


def _sample_curved(n, rng, *, rhos, fx, fy):
    u, v = _latent_pairs(n, rng, rhos)
    return {"x": fx(u), "y": fy(v)}


# ------------------------------------------------------------------ builders


def linear(r: int, dx: int, sigma: float, dy: int | None = None) -> Task:
    dy = dx if dy is None else dy
    dims = f"{dx}" if dy == dx else f"{dx}x{dy}"
    name = f"hd-linear-{r}x{dims}-noise{sigma:g}"
    g = _fixed_rng(name)
    a, b = orthonormal_columns(dx, r, g), orthonormal_columns(dy, r, g)
    rhos = np.array(RHOS[r])
    f32 = max(dx, dy) >= FLOAT32_COLUMNS
    tags = TAGS + ("gaussian", "linear", "low-rank") + (("float32",) if f32 else ()) + (
        ("near-singular",) if sigma < 0.01 else ())
    return Task(
        name=name, measure="mutual_information", family=FAMILY, truth=linear_mi(rhos, sigma),
        dims={"x": dx, "y": dy},
        sampler=partial(_sample_linear, rhos=rhos, a=a, b=b, sigma=float(sigma)),
        tags=tags,
        description=(f"{r} correlated latent pairs embedded linearly in {dx} and {dy} columns "
                     f"plus noise {sigma:g}{' (float32)' if f32 else ''}; "
                     "I = -1/2 sum log(1 - rho^2/(1+s^2)^2)"),
        min_n=_MIN_N,
        params={"r": r, "rhos": rhos, "sigma": float(sigma), "a": a, "b": b,
                "dtype": "float32" if f32 else "float64"},
    )


def curved(r: int, d: int) -> Task:
    name = f"hd-curved-{r}x{d}"
    fx, fy = CurvedMap(r, d, (_name_key(name), 0)), CurvedMap(r, d, (_name_key(name), 1))
    rhos = np.array(RHOS[r])
    return Task(
        name=name, measure="mutual_information", family=FAMILY, truth=linear_mi(rhos, 0.0),
        dims={"x": d, "y": d},
        sampler=partial(_sample_curved, rhos=rhos, fx=fx, fy=fy),
        tags=TAGS + ("manifold", "nonlinear"),
        description=(f"{r} correlated normal latent pairs on a curved {r}-D manifold in {d} "
                     "columns (injective tanh/sin map, no noise); I = latents' MI"),
        min_n=_MIN_N, params={"r": r, "rhos": rhos, "map_x": fx, "map_y": fy},
    )


def _sample_bumps(n, rng, *, rho, rot_x, rot_y, size):
    from .. import datasets  # scipy.stats is heavy; only when images are drawn

    zx = rng.standard_normal((n, 2))
    zy = rho * zx + np.sqrt(1.0 - rho * rho) * rng.standard_normal((n, 2))
    return {"x": datasets.gaussian_bumps(ndtr(zx @ rot_x), size=size),
            "y": datasets.gaussian_bumps(ndtr(zy @ rot_y), size=size)}


def bumps(mi: float, size: int = 28) -> Task:
    name = f"hd-bumps-{size}x{size}-mi-{mi:g}"
    g = _fixed_rng(name)
    rot_x, rot_y = haar_orthogonal(2, g), haar_orthogonal(2, g)
    rho = rho_for_mi(mi / 2)
    return Task(
        name=name, measure="mutual_information", family=FAMILY,
        truth=-float(np.log1p(-rho * rho)), dims={"x": size * size, "y": size * size},
        sampler=partial(_sample_bumps, rho=rho, rot_x=rot_x, rot_y=rot_y, size=size),
        tags=TAGS + ("image", "manifold"),
        description=(f"{size}x{size} bump images of 2-D correlated normal latents "
                     f"(injective maps); I = latents' MI = {mi:g}"),
        min_n=_MIN_N,
        params={"mi": mi, "latent_dim": 2, "rho": rho, "rot_x": rot_x, "rot_y": rot_y,
                "size": size},
    )


# ------------------------------------------------------------------ digits


@lru_cache(maxsize=1)
def digit_images() -> tuple[np.ndarray, np.ndarray]:
    """scikit-learn's bundled digits sorted by class: (images (1797, 64) float64, labels).

    Raises :class:`InputError` if an image appears in two classes (the truth of the
    digit tasks needs the class to be a function of the image).
    """
    try:
        from sklearn.datasets import load_digits
    except ImportError:
        raise ParameterError("the hd-digits tasks draw scikit-learn's bundled digits, and "
                             "scikit-learn is not installed; install it with pip install "
                             "scikit-learn (or pip install 'infocli[bench]')") from None
    data = load_digits()
    images, labels = np.asarray(data.data, dtype=np.float64), np.asarray(data.target, np.int64)
    order = np.argsort(labels, kind="stable")
    images, labels = images[order], labels[order]
    _, first, inverse = np.unique(images, axis=0, return_index=True, return_inverse=True)
    clash = np.flatnonzero(labels[first][inverse.ravel()] != labels)
    if clash.size:
        raise InputError(f"scikit-learn's digits: {clash.size} images appear in two classes "
                         f"(e.g. row {clash[0]}), so the class is not a function of the image "
                         "and the hd-digits truths do not hold")
    images.setflags(write=False)
    labels.setflags(write=False)
    return images, labels


@lru_cache(maxsize=2)
def _digit_table(side: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    images, labels = digit_images()
    if side != 8:
        f = side // 8  # np.kron(image, ones((f, f))), for all images at once
        images = images.reshape(-1, 8, 1, 8, 1) * np.ones((1, 1, f, 1, f))
        images = images.reshape(len(labels), side * side)
    count = np.bincount(labels, minlength=10)
    start = np.concatenate([[0], np.cumsum(count)[:-1]])
    return images, start, count


def _sample_digits(n, rng, *, side, p):
    images, start, count = _digit_table(side)
    c1 = rng.integers(10, size=n)
    c2 = np.where(rng.random(n) < p, c1, (c1 + rng.integers(1, 10, size=n)) % 10)
    return {"x": images[start[c1] + rng.integers(count[c1])],
            "y": images[start[c2] + rng.integers(count[c2])]}


def digits(side: int, p: float) -> Task:
    return Task(
        name=f"hd-digits-{side}x{side}-p{p:g}", measure="mutual_information", family=FAMILY,
        truth=channel_mi(p), dims={"x": side * side, "y": side * side},
        sampler=partial(_sample_digits, side=side, p=float(p)),
        tags=TAGS + ("image", "real-data", "discrete-valued", "class-paired")
        + (("repeated-columns",) if side > 8 else ()),
        description=(f"sklearn digits ({side}x{side}{', upsampled by kron' if side > 8 else ''})"
                     f" of classes C1, C2 = C1 w.p. {p:g} else another; "
                     "I = I(C1; C2) (class is a function of the image)"),
        min_n=_MIN_N, params={"side": side, "p": float(p), "classes": 10},
    )


# ------------------------------------------------------------------ labels


SQUARE = 1.5 * np.array([[1.0, 1.0], [1.0, -1.0], [-1.0, 1.0], [-1.0, -1.0]])
_LABEL_NODES = 72  # as the labels family in 2-D


def _sample_latent_labels(n, rng, *, means, basis=None, sigma=0.0, curve=None):
    c = rng.integers(len(means), size=n)
    u = means[c] + rng.standard_normal((n, means.shape[1]))
    x = curve(u) if curve is not None else _embed_linear(u, basis, sigma, rng)
    return {"x": x, "y": c.astype(np.int64).reshape(-1, 1)}


def latent_labels(kind: str, d: int = 256, sigma: float = 0.1) -> Task:
    name = f"hd-labels-{kind}-4class-{d}"
    g = _fixed_rng(name)
    weights = np.full(4, 0.25)
    if kind == "linear":
        embed = {"basis": orthonormal_columns(d, 2, g), "sigma": float(sigma)}
    else:
        embed = {"curve": CurvedMap(2, d, (_name_key(name), 0))}
    noise = embed.get("sigma", 0.0)
    # u + s e | C ~ N(mu_C, (1 + s^2) I): the clusters' MI at that width
    width = float(np.sqrt(1.0 + noise * noise))
    truth = cluster_mi_quadrature(SQUARE, width, weights, nodes=_LABEL_NODES)
    coarser = cluster_mi_quadrature(SQUARE, width, weights, nodes=_LABEL_NODES * 3 // 4)
    how = f"linear, noise {sigma:g}" if kind == "linear" else "curved tanh/sin map, no noise"
    return Task(
        name=name, measure="mutual_information", family=FAMILY, truth=truth,
        dims={"x": d, "y": 1}, discrete=("y",),
        sampler=partial(_sample_latent_labels, means=SQUARE, **embed),
        tags=TAGS + ("labels", "gaussian-mixture") + (("linear",) if kind == "linear"
                                                      else ("manifold", "nonlinear")),
        description=(f"4 classes, 2-D latent N(mu_C, I) embedded in {d} columns ({how}); "
                     "I = I(latent; C) by 2-D Gauss-Hermite quadrature"),
        truth_error=max(abs(coarser - truth), 1e-12), min_n=_MIN_N,
        params={"means": SQUARE, "weights": weights, "sigma": noise, **embed},
    )


# ------------------------------------------------------------------ entropy


def _sample_gaussian(n, rng, *, chol):
    return {"x": rng.standard_normal((n, chol.shape[0])) @ chol.T}


def _sample_tanh(n, rng, *, chol):
    return {"x": np.tanh(rng.standard_normal((n, chol.shape[0])) @ chol.T)}


def spiked_covariance(name: str, d: int, variances=(8.0, 4.0, 2.0, 1.0),
                      noise: float = 0.3) -> np.ndarray:
    """L L^T + noise^2 I, L = A diag(sqrt(variances)), A fixed with orthonormal columns."""
    a = orthonormal_columns(d, len(variances), _fixed_rng(name))
    load = a * np.sqrt(np.asarray(variances))
    return load @ load.T + noise * noise * np.eye(d)


def spiked_gaussian_entropy(d: int = 128) -> Task:
    name = f"hd-entropy-spiked-gaussian-{d}"
    cov = spiked_covariance(name, d)
    return Task(
        name=name, measure="entropy", family=FAMILY, truth=gaussian_entropy(cov), dims={"x": d},
        sampler=partial(_sample_gaussian, chol=np.linalg.cholesky(cov)),
        tags=TAGS + ("gaussian", "low-rank"),
        description=(f"N(0, L L^T + 0.09 I) in {d}-D, 4 strong directions (variances 8, 4, 2, "
                     "1); h = 1/2 log det(2 pi e S)"),
        params={"covariance": cov},
    )


def log_cosh_expectation(sd: np.ndarray, nodes: int = 150) -> np.ndarray:
    """E log cosh(X) for X ~ N(0, sd^2), each sd, by Gauss-Hermite quadrature."""
    grid, gw = gauss_hermite_grid(nodes, 1)
    t = np.abs(np.asarray(sd, dtype=np.float64)[:, None] * grid[None, :, 0])
    return (t + np.log1p(np.exp(-2.0 * t)) - np.log(2.0)) @ gw


def tanh_correlated_covariance(name: str, d: int) -> np.ndarray:
    """diag(s) R diag(s): R the correlation of 4 random factors + unit noise, s from 0.5 to 1.5."""
    load = _fixed_rng(name).standard_normal((d, 4))
    c = load @ load.T + np.eye(d)
    r = c / np.sqrt(np.outer(np.diag(c), np.diag(c)))
    s = np.linspace(0.5, 1.5, d)
    return r * np.outer(s, s)


def tanh_gaussian_entropy(d: int = 64) -> Task:
    name = f"hd-entropy-tanh-gaussian-{d}"
    cov = tanh_correlated_covariance(name, d)
    sd = np.sqrt(np.diag(cov))
    jac = -2.0 * float(log_cosh_expectation(sd).sum())
    error = abs(-2.0 * float(log_cosh_expectation(sd, nodes=100).sum()) - jac)
    return Task(
        name=name, measure="entropy", family=FAMILY, truth=gaussian_entropy(cov) + jac,
        dims={"x": d},
        sampler=partial(_sample_tanh, chol=np.linalg.cholesky(cov)),
        tags=TAGS + ("transformed", "bounded", "correlated"),
        description=(f"tanh of a correlated {d}-D Gaussian, per coordinate; h = h(X) - 2 sum "
                     "E log cosh X_i (1-D Gauss-Hermite)"),
        truth_error=max(error, 1e-12), params={"covariance": cov},
    )


# ------------------------------------------------------------------ suite


def suite() -> list[Task]:
    out = [linear(4, d, 0.1) for d in (64, 256, 1024, 4096)]
    out += [linear(2, d, 0.1) for d in (64, 1024)]
    out += [linear(4, 1024, 0.001), linear(4, 4096, 0.001), linear(4, 1024, 0.5),
            linear(4, 256, 0.1, dy=1024)]
    out += [curved(2, d) for d in (64, 256)]
    out += [bumps(1.0), bumps(4.0)]
    out += [digits(8, 0.9), digits(8, 0.5), digits(32, 0.9)]
    out += [latent_labels("linear"), latent_labels("curved")]
    out += [spiked_gaussian_entropy(128), tanh_gaussian_entropy(64)]
    return out


for _task in suite():
    register(_task)
del _task
