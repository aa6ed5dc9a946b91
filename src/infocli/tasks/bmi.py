"""bmi's v1 suite (Czyż et al., NeurIPS 2023, "Beyond Normal"), reimplemented from the definitions.

The 40 tasks of bmi's ``BENCHMARK_TASKS_LIST`` under bmi's own task ids, with
bmi's parameter conventions, so that every truth equals bmi's
(``benchmarks/bmi_crosscheck.py`` checks this, and the sampled distributions,
against the ``benchmark-mi`` package):

* ``1v1-normal-0.75``: bivariate normal, correlation 0.75.
* ``multinormal-dense-D-D-0.5``: unit variances, every off-diagonal
  correlation 0.5.
* ``multinormal-sparse-D-D-2-2.0`` ("2-pair"): bmi's Gaussian latent-variable
  model with two interacting pairs: ``X_i = Z_i + E_i, Y_i = Z_i + F_i``
  (``i < 2``) with ``Var Z = lambda^2 = 4``, unit noises, and the other
  coordinates ``E_i + V_i`` with ``Var V = eta^2 = 4``; then correlations, so
  each interacting pair has correlation 0.8 and the rest are independent.
* ``1v1-additive-EPS``: ``X ~ U(0, 1)``, ``Y = X + U(-eps, eps)``;
  ``I = eps - log(2 eps)`` for ``eps <= 1/2``, else ``1/(4 eps)``.
* ``student-identity-DX-DY-DF``: multivariate Student-t with identity
  dispersion; ``I = h(X) + h(Y) - h(X, Y)`` from the closed-form entropies.
* transforms, which are injective and act on X and Y separately, so they keep
  the MI of the base task: ``normal_cdf`` (Phi per coordinate), ``half_cube``
  (``x |x|^(1/2)``), ``asinh``, ``wiggly`` (bmi's two sine-perturbed
  monotone maps), ``spiral`` (``x -> exp(||x||^2 A / d) x`` with ``A`` the
  generator of rotations in the (0, 1) plane for X and the (1, 2) plane for
  Y), ``swissroll_x`` (``u in [0, 1] -> (t cos t, t sin t) / 21``,
  ``t = 3 pi (1 + 2u) / 2``) and ``1v1-bimodal`` (the uniform task through
  the quantile functions of ``0.3 N(0, 1) + 0.7 N(5, 1)`` and
  ``0.5 N(-1, 1) + 0.5 N(3, 1)``).

bmi's v1 workflow rescales every column to zero mean and unit variance
before estimation; these tasks do the same by default
(``Task.standardize``; ``task.sample(n, seed, standardize=False)`` gives the
raw distribution).

Samplers are :func:`functools.partial` objects of module-level functions, so
tasks pickle (process pools).
"""

from __future__ import annotations

from functools import partial

import numpy as np
from scipy.special import ndtr

from . import Task, register
from ._closed import gaussian_mi, student_mi

FAMILY = "bmi"

# ---------------------------------------------------------------- base samplers


def _sample_normal(n: int, rng: np.random.Generator, *, chol: np.ndarray, dim_x: int) -> dict:
    z = rng.standard_normal((n, chol.shape[0])) @ chol.T
    return {"x": z[:, :dim_x], "y": z[:, dim_x:]}


def _sample_student(n: int, rng: np.random.Generator, *, chol: np.ndarray, dim_x: int,
                    df: float) -> dict:
    z = rng.standard_normal((n, chol.shape[0])) @ chol.T
    w = rng.chisquare(df, size=n)
    t = z / np.sqrt(w / df)[:, None]
    return {"x": t[:, :dim_x], "y": t[:, dim_x:]}


def _sample_additive(n: int, rng: np.random.Generator, *, epsilon: float) -> dict:
    x = rng.uniform(0.0, 1.0, size=(n, 1))
    return {"x": x, "y": x + rng.uniform(-epsilon, epsilon, size=(n, 1))}


def _sample_transformed(n: int, rng: np.random.Generator, *, base, fx=(), fy=()) -> dict:
    data = base(n, rng)
    x, y = data["x"], data["y"]
    for f in fx:
        x = f(x)
    for f in fy:
        y = f(y)
    return {"x": x, "y": y}


# ------------------------------------------------------------------ transforms


def half_cube(a: np.ndarray) -> np.ndarray:
    """x |x|^(1/2), a signed x^(3/2)."""
    return a * np.sqrt(np.abs(a))


def wiggly_x(a: np.ndarray) -> np.ndarray:
    """bmi's increasing wiggly map for X."""
    return a + 0.4 * np.sin(a) + 0.2 * np.sin(1.7 * a + 1.0) + 0.03 * np.sin(3.3 * a - 2.5)


def wiggly_y(a: np.ndarray) -> np.ndarray:
    """bmi's increasing wiggly map for Y."""
    return (a - 0.4 * np.sin(0.4 * a) + 0.17 * np.sin(1.3 * a + 3.5)
            + 0.02 * np.sin(4.3 * a - 2.5))


def swissroll(u: np.ndarray) -> np.ndarray:
    """(n, 1) values in [0, 1] -> (n, 2) points on a Swiss roll (injective)."""
    t = 1.5 * np.pi * (1.0 + 2.0 * u[:, 0])
    return np.column_stack([t * np.cos(t), t * np.sin(t)]) / 21.0


def spiral(a: np.ndarray, *, plane: tuple[int, int], speed: float) -> np.ndarray:
    """x -> exp(speed ||x||^2 A) x, A the rotation generator of ``plane`` = (i, j)
    (A[i, j] = -1, A[j, i] = 1): a rotation by speed ||x||^2 in that plane.
    Invertible, since the rotation keeps ||x||."""
    i, j = plane
    theta = speed * np.einsum("ij,ij->i", a, a)
    c, s = np.cos(theta), np.sin(theta)
    out = np.array(a, dtype=np.float64, copy=True)
    out[:, i] = c * a[:, i] - s * a[:, j]
    out[:, j] = s * a[:, i] + c * a[:, j]
    return out


def mixture_quantile(u: np.ndarray, *, weights: tuple[float, ...], means: tuple[float, ...],
                     lo: float = -10.0, hi: float = 10.0, iterations: int = 64) -> np.ndarray:
    """Quantile function of the normal mixture sum_k w_k N(m_k, 1) at ``u``
    (vectorised bisection on [lo, hi], as bmi's ``invert_cdf``)."""
    u = np.asarray(u, dtype=np.float64)

    def cdf(x):
        return sum(w * ndtr(x - m) for w, m in zip(weights, means))

    a = np.full(u.shape, lo)
    b = np.full(u.shape, hi)
    for _ in range(iterations):
        mid = 0.5 * (a + b)
        below = cdf(mid) < u
        a = np.where(below, mid, a)
        b = np.where(below, b, mid)
    return 0.5 * (a + b)


# ------------------------------------------------------------------ task builders


def _normal_task(name: str, cov: np.ndarray, dim_x: int, tags, description: str,
                 params: dict) -> Task:
    cov = np.asarray(cov, dtype=np.float64)
    return Task(
        name=name, measure="mutual_information", family=FAMILY,
        truth=max(0.0, gaussian_mi(cov, dim_x)),
        dims={"x": dim_x, "y": cov.shape[0] - dim_x},
        sampler=partial(_sample_normal, chol=np.linalg.cholesky(cov), dim_x=dim_x),
        tags=tuple(tags), description=description, standardize=True, params=params,
    )


def binormal(rho: float = 0.75) -> Task:
    """bmi ``1v1-normal-RHO``: bivariate normal with correlation ``rho``."""
    cov = np.array([[1.0, rho], [rho, 1.0]])
    return _normal_task(f"1v1-normal-{rho}", cov, 1, ("1v1", "gaussian"),
                        f"bivariate normal, correlation {rho}; I = -1/2 log(1 - rho^2)",
                        {"correlation": rho})


def dense_covariance(dim_x: int, dim_y: int, off_diag: float = 0.5) -> np.ndarray:
    d = dim_x + dim_y
    return np.eye(d) * (1.0 - off_diag) + off_diag


def multinormal_dense(dim_x: int, dim_y: int, off_diag: float = 0.5) -> Task:
    """bmi ``multinormal-dense-DX-DY-C``: unit variances, all correlations ``off_diag``."""
    return _normal_task(
        f"multinormal-dense-{dim_x}-{dim_y}-{off_diag}", dense_covariance(dim_x, dim_y, off_diag),
        dim_x, ("gaussian", "dense"),
        f"normal {dim_x} x {dim_y}, every correlation {off_diag}; I from covariance log-dets",
        {"dim_x": dim_x, "dim_y": dim_y, "off_diag": off_diag})


def sparse_correlation(dim_x: int, dim_y: int, n_interacting: int = 2,
                       strength: float = 2.0, epsilon: float = 1.0) -> np.ndarray:
    """Correlation matrix of bmi's sparse latent-variable model (alpha = beta = 0,
    lambda = eta = ``strength``): pairs (X_i, Y_i), i < n_interacting, share a
    latent of variance strength^2; every coordinate has its own unit noise and
    the non-interacting ones an extra variance eta^2, so that all variances match."""
    d = dim_x + dim_y
    cov = np.zeros((d, d))
    cov[np.diag_indices(d)] = epsilon ** 2 + strength ** 2
    for i in range(n_interacting):
        cov[i, dim_x + i] = cov[dim_x + i, i] = strength ** 2
    sd = np.sqrt(np.diag(cov))
    return cov / np.outer(sd, sd)


def multinormal_sparse(dim_x: int, dim_y: int, n_interacting: int = 2,
                       strength: float = 2.0) -> Task:
    """bmi ``multinormal-sparse-DX-DY-K-S`` (the "2-pair" tasks for K = 2)."""
    cov = sparse_correlation(dim_x, dim_y, n_interacting, strength)
    rho = cov[0, dim_x]
    return _normal_task(
        f"multinormal-sparse-{dim_x}-{dim_y}-{n_interacting}-{strength}", cov, dim_x,
        ("gaussian", "sparse", f"{n_interacting}-pair"),
        f"normal {dim_x} x {dim_y}, {n_interacting} pairs of correlation {rho:.3g}, "
        f"the rest independent; I = -{n_interacting}/2 log(1 - rho^2)",
        {"dim_x": dim_x, "dim_y": dim_y, "n_interacting": n_interacting, "strength": strength})


def student_identity(dim_x: int, dim_y: int, df: int) -> Task:
    """bmi ``student-identity-DX-DY-DF``: Student-t, identity dispersion."""
    d = dim_x + dim_y
    disp = np.eye(d)
    return Task(
        name=f"student-identity-{dim_x}-{dim_y}-{df}", measure="mutual_information",
        family=FAMILY, truth=student_mi(disp, dim_x, df), dims={"x": dim_x, "y": dim_y},
        sampler=partial(_sample_student, chol=np.eye(d), dim_x=dim_x, df=float(df)),
        tags=(("1v1",) if d == 2 else ()) + ("student", "heavy-tailed"),
        description=(f"Student-t {dim_x} x {dim_y}, dof {df}, identity dispersion; "
                     "I = h(X) + h(Y) - h(X, Y) (closed-form entropies)"),
        standardize=True, params={"dim_x": dim_x, "dim_y": dim_y, "df": df},
    )


def additive_uniform(epsilon: float) -> Task:
    """bmi ``1v1-additive-EPS``: X ~ U(0, 1), Y = X + U(-eps, eps)."""
    truth = 0.25 / epsilon if epsilon > 0.5 else epsilon - float(np.log(2.0 * epsilon))
    return Task(
        name=f"1v1-additive-{epsilon}", measure="mutual_information", family=FAMILY,
        truth=float(truth), dims={"x": 1, "y": 1},
        sampler=partial(_sample_additive, epsilon=float(epsilon)),
        tags=("1v1", "uniform", "additive-noise"),
        description=(f"X ~ U(0,1), Y = X + U(-{epsilon}, {epsilon}); "
                     "I = eps - log(2 eps) (eps <= 1/2) or 1/(4 eps)"),
        standardize=True, params={"epsilon": epsilon},
    )


def transformed(base: Task, prefix: str, fx=(), fy=(), *, dims: dict | None = None,
                tags=(), what: str = "") -> Task:
    """``base`` pushed through injective maps of X and Y separately: same MI."""
    return Task(
        name=f"{prefix}-{base.name}", measure=base.measure, family=base.family,
        truth=base.truth, dims=dict(dims or base.dims),
        sampler=partial(_sample_transformed, base=base.sampler, fx=tuple(fx), fy=tuple(fy)),
        tags=tuple(dict.fromkeys(base.tags + ("transformed",) + tuple(tags))),
        description=f"{what or prefix} of [{base.description}]; MI unchanged",
        standardize=base.standardize, params=dict(base.params), truth_error=base.truth_error,
    )


def normal_cdf(base: Task) -> Task:
    return transformed(base, "normal_cdf", (ndtr,), (ndtr,), tags=("normal-cdf", "bounded"),
                       what="normal CDF per coordinate")


def half_cube_of(base: Task) -> Task:
    return transformed(base, "half_cube", (half_cube,), (half_cube,), tags=("half-cube",),
                       what="x |x|^(1/2) per coordinate")


def asinh_of(base: Task) -> Task:
    return transformed(base, "asinh", (np.arcsinh,), (np.arcsinh,), tags=("asinh",),
                       what="asinh per coordinate")


def wiggly_of(base: Task) -> Task:
    return transformed(base, "wiggly", (wiggly_x,), (wiggly_y,), tags=("wiggly",),
                       what="bmi's wiggly maps")


def spiral_of(base: Task, speed: float = 1.0) -> Task:
    dx, dy = base.dims["x"], base.dims["y"]
    if dx < 2 or dy < 3:
        raise ValueError(f"spiral needs dim_x >= 2 and dim_y >= 3, not {dx} and {dy}")
    fx = partial(spiral, plane=(0, 1), speed=speed / dx)
    fy = partial(spiral, plane=(1, 2), speed=speed / dy)
    return transformed(base, "spiral", (fx,), (fy,), tags=("spiral",),
                       what="spiral x -> exp(||x||^2 A / d) x")


def swissroll_x(base: Task) -> Task:
    if base.dims["x"] != 1:
        raise ValueError("the Swiss roll embeds a 1-D X")
    return transformed(base, "swissroll_x", (swissroll,), (), dims={"x": 2, "y": base.dims["y"]},
                       tags=("embedding", "swiss-roll"), what="Swiss roll embedding of X")


def bimodal(rho: float = 0.75) -> Task:
    """bmi ``1v1-bimodal-RHO``: the uniform task through two normal-mixture quantile maps."""
    fx = partial(mixture_quantile, weights=(0.3, 0.7), means=(0.0, 5.0))
    fy = partial(mixture_quantile, weights=(0.5, 0.5), means=(-1.0, 3.0))
    base = binormal(rho)
    t = transformed(base, "bimodal", (ndtr, fx), (ndtr, fy), tags=("bimodal",),
                    what="normal-mixture quantiles of the normal CDF")
    # bmi's id is 1v1-bimodal-RHO, not a prefix of the base name
    return Task(name=f"1v1-bimodal-{rho}", measure=t.measure, family=t.family, truth=t.truth,
                dims=t.dims, sampler=t.sampler, tags=t.tags, description=t.description,
                standardize=t.standardize, params=t.params)


# ------------------------------------------------------------------ the v1 suite


def v1_suite() -> list[Task]:
    """The 40 tasks of bmi's v1 benchmark, in bmi's order (``task_list.py``)."""
    normal = binormal(0.75)
    uniform = normal_cdf(normal)
    student11 = student_identity(1, 1, 1)
    one_dim = [
        normal, uniform, additive_uniform(0.1), additive_uniform(0.75), bimodal(0.75),
        wiggly_of(normal), half_cube_of(normal), student11, asinh_of(student11),
    ]
    embeddings = [swissroll_x(uniform)]
    multinormal = ([multinormal_dense(d, d) for d in (2, 3, 5, 25, 50)]
                   + [multinormal_sparse(d, d) for d in (2, 3, 5, 25)])
    student = [student_identity(d, d, df) for d, df in
               ((2, 1), (2, 2), (3, 2), (3, 3), (5, 2), (5, 3))]
    bases = [multinormal_sparse(d, d) for d in (3, 5, 25)]
    transformed_tasks = (
        [normal_cdf(b) for b in bases] + [half_cube_of(b) for b in bases]
        + [spiral_of(b) for b in bases] + [spiral_of(normal_cdf(b)) for b in bases]
        + [asinh_of(student_identity(d, d, df)) for d, df in ((2, 1), (3, 2), (5, 2))]
    )
    return one_dim + embeddings + multinormal + student + transformed_tasks


for _task in v1_suite():
    register(_task)
del _task


def at_dims(dim_x: int, dim_y: int) -> list[Task]:
    """bmi-style tasks at a user's own dimensions (not registered; bmi's naming).

    Dense and sparse (``min(2, dx, dy)`` pairs) normals, Student-t (dof 2),
    and the normal-CDF, half-cube, spiral (if ``dx >= 2`` and ``dy >= 3``) and
    asinh transforms; at 1 x 1 these are bmi's 1v1 tasks.
    """
    for name, d in (("dim_x", dim_x), ("dim_y", dim_y)):
        if isinstance(d, bool) or not isinstance(d, (int, np.integer)) or d < 1:
            from ..errors import ParameterError

            raise ParameterError(f"{name}={d!r}: expected a positive integer")
    if dim_x == dim_y == 1:
        return [t for t in v1_suite() if t.dims == {"x": 1, "y": 1}]
    sparse = multinormal_sparse(dim_x, dim_y, n_interacting=min(2, dim_x, dim_y))
    student = student_identity(dim_x, dim_y, 2)
    out = [multinormal_dense(dim_x, dim_y), sparse, student, normal_cdf(sparse),
           half_cube_of(sparse)]
    if dim_x >= 2 and dim_y >= 3:
        out += [spiral_of(sparse), spiral_of(normal_cdf(sparse))]
    return out + [asinh_of(student)]
