"""Image tasks of known MI (Butakov et al., ICLR 2024), from :mod:`infocli.datasets`.

Correlated Gaussian latents with an exact MI (``dim`` independent pairs,
then a fixed random rotation of each side), pushed through the normal CDF to
``[0, 1]^dim`` and drawn as images by :func:`infocli.datasets.gaussian_bumps`
(2-D latents, 16 x 16 = 256 pixels: a bump's position) or
:func:`infocli.datasets.rectangles` (4-D latents, 32 x 32 = 1024 pixels: a
rectangle's centre and half-sizes). Every step is injective on each side, so
the images carry the latents' MI exactly. The rotations are fixed per task
(drawn once from the task name), so each task is one distribution.

These are expensive, high-dimensional tasks (tags ``image``,
``high-dimensional``): select them explicitly.
"""

from __future__ import annotations

import zlib
from functools import partial

import numpy as np
from scipy.special import ndtr

from . import Task, _name_key, register
from ._closed import rho_for_mi

FAMILY = "images"
KINDS = {  # kind: (latent dim, infocli.datasets image map, pixels)
    "bumps": (2, "gaussian_bumps", 16 * 16),
    "rectangles": (4, "rectangles", 32 * 32),
}
LEVELS = (1.0, 4.0)


def _image(kind: str, u: np.ndarray) -> np.ndarray:
    from .. import datasets  # scipy.stats is heavy; only when images are drawn

    return getattr(datasets, KINDS[kind][1])(u)


def haar_orthogonal(dim: int, rng: np.random.Generator) -> np.ndarray:
    """A Haar-random orthogonal matrix (QR of a Gaussian matrix, signs fixed)."""
    q, r = np.linalg.qr(rng.standard_normal((dim, dim)))
    return q * np.sign(np.diag(r))


def _sample_images(n: int, rng: np.random.Generator, *, kind: str, rho: float,
                   rot_x: np.ndarray, rot_y: np.ndarray) -> dict:
    dim = KINDS[kind][0]
    zx = rng.standard_normal((n, dim))
    zy = rho * zx + np.sqrt(1.0 - rho * rho) * rng.standard_normal((n, dim))
    return {"x": _image(kind, ndtr(zx @ rot_x)), "y": _image(kind, ndtr(zy @ rot_y))}


def latent_sample(task: Task, n: int, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """The rotated Gaussian latents behind ``task.sample(n, seed)`` (for checks)."""
    p = task.params
    rng = np.random.default_rng([int(seed), _name_key(task.name)])
    dim = KINDS[p["kind"]][0]
    zx = rng.standard_normal((n, dim))
    zy = p["rho"] * zx + np.sqrt(1.0 - p["rho"] ** 2) * rng.standard_normal((n, dim))
    return zx @ p["rot_x"], zy @ p["rot_y"]


def image_task(kind: str, mi: float) -> Task:
    dim, _, pixels = KINDS[kind]
    name = f"images-{kind}-mi-{mi:g}"
    rot_rng = np.random.default_rng(zlib.crc32(name.encode()))
    rot_x = haar_orthogonal(dim, rot_rng)
    rot_y = haar_orthogonal(dim, rot_rng)
    rho = rho_for_mi(mi / dim)
    side = int(round(np.sqrt(pixels)))
    return Task(
        name=name, measure="mutual_information", family=FAMILY,
        truth=-0.5 * dim * float(np.log1p(-rho * rho)), dims={"x": pixels, "y": pixels},
        sampler=partial(_sample_images, kind=kind, rho=rho, rot_x=rot_x, rot_y=rot_y),
        tags=("image", "high-dimensional", "manifold"),
        description=(f"{side}x{side} {kind} images of {dim}-D correlated normal latents "
                     f"(injective maps); I = latents' MI = {mi:g}"),
        min_n=100,
        params={"kind": kind, "mi": mi, "latent_dim": dim, "rho": rho,
                "rot_x": rot_x, "rot_y": rot_y},
    )


for _kind in KINDS:
    for _mi in LEVELS:
        register(image_task(_kind, _mi))
del _kind, _mi
