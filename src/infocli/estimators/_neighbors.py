"""Nearest-neighbour search and radius counting, on CPU or GPU.

Estimators ask this module for "k-th neighbour distances and radius counts"
(:func:`kneighbor_distances`, :func:`radius_counts`, :func:`joint_counts`) and
never pick a back-end: :func:`plan_search` does, in one place.

Two back-ends, chosen automatically (``backend="auto"``):

* ``kdtree`` - trees on the CPU for joint dimension <= ``KDTREE_MAX_DIM``, on
  all cores, queried in the tree's own point order (much better cache
  locality): SciPy's cKDTree for k-nearest neighbours in up to
  ``CKDTREE_MAX_DIM`` dimensions, infocli's numba kd-tree
  (:mod:`._kdtree`) for neighbours in more dimensions and for every radius
  count in two or more dimensions (it counts whole nodes inside the query
  box). One-dimensional radius counts use sorting and binary search.
* ``brute`` - exact blocked brute force, never an N x N matrix: Euclidean
  distances by matrix products with an exact float64 recheck of every
  undecided pair (:mod:`._brute`; NumPy/BLAS on the CPU, torch on CUDA), or,
  for the max norm, torch's ``cdist`` on blocks of query rows. Each block of
  distances stays under ``BLOCK_BYTES``.

Below ``SMALL_N`` rows the kd-tree back-end's max-norm queries compare all
pairs in NumPy instead (exact: the same distances and counts as the trees, no
SciPy or numba import, no compilation): a 200-row estimate then costs
milliseconds in a fresh process instead of ~1 s of loading numba.

The rule (measured with ``benchmarks/knn_highdim.py``): above ``KDTREE_MAX_DIM``
joint dimensions, or with ``--device cuda``, the brute force runs. For KSG,
Frenzel-Pompe and Ross (``metric="auto"``) the norm follows it: the max norm
over all coordinates on the kd-tree and up to ``KDTREE_MAX_DIM`` joint
dimensions (values as before), and above it the Euclidean norm within each of
x, y, z joined by the max across them (Kraskov et al. 2004, sec. II: any norms
on the marginals with the max as joint norm leave the estimator's formula
unchanged), which is what matrix products compute fast. Each search records
what ran in ``details["neighbors"]``.

Self-matches are always excluded: a point is never its own neighbour and is
never counted inside its own radius.
"""

from __future__ import annotations

import os
import sys
import threading
from contextlib import contextmanager
from dataclasses import dataclass

import numpy as np

from .._device import resolve_torch_device
from ._common import Context

KDTREE_MAX_DIM = 15
CKDTREE_MAX_DIM = 4
#: rows up to which max-norm kd-tree queries compare all pairs in NumPy
SMALL_N = 1000
#: bytes of one block of pairwise differences in that small search
_SMALL_BYTES = 1 << 24
BLOCK_BYTES = 1 << 28  # 256 MiB per distance block in the brute-force backend
_CHUNK = 1 << 17  # query rows per progress step in the tree backends
#: parallel_map runs its parts one after another when they would take less than this
SERIAL_SECONDS = 0.05
#: array library of the matrix-product search on the CPU ("torch" runs the CUDA code
#: path on the CPU; tests use it): NumPy's OpenBLAS sgemm is faster here
CPU_LIBRARY = "numpy"


_local = threading.local()
#: numba's parallel kernels are launched one at a time until its threading layer is
#: known to be thread-safe (OpenMP, TBB): the ``workqueue`` layer, the fallback
#: where neither is found, aborts the process on concurrent launches
_NUMBA_LOCK = threading.Lock()
_numba_threadsafe = False


@contextmanager
def _numba_guard():
    global _numba_threadsafe
    if _numba_threadsafe:
        yield
        return
    with _NUMBA_LOCK:
        yield
        import numba

        try:
            _numba_threadsafe = numba.threading_layer() in ("omp", "tbb")
        except ValueError:  # no parallel kernel has run yet
            pass


def _env_threads() -> int | None:
    """``INFOCLI_NUM_THREADS`` when set to a positive integer (batch workers set it to
    1 so that N worker processes do not run N x cores threads), else None."""
    value = os.environ.get("INFOCLI_NUM_THREADS", "")
    return int(value) if value.isdigit() and int(value) > 0 else None


def thread_budget() -> int:
    """Cores infocli may keep busy: ``INFOCLI_NUM_THREADS`` when set, else the cores
    this process may run on."""
    capped = _env_threads()
    if capped is not None:
        return capped
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not on Linux
        return os.cpu_count() or 1


def _tree_threads() -> int:
    """Threads of SciPy's kd-tree queries: 1 inside :func:`one_thread_each`,
    ``INFOCLI_NUM_THREADS`` when set, else every core (-1)."""
    if getattr(_local, "single", False):
        return 1
    return _env_threads() or -1


@contextmanager
def one_thread_each():
    """Within: this thread's kd-tree queries (SciPy's and numba's) run on one
    thread. For callers that run several small searches at once, one per core:
    SciPy's own threads scale poorly on a few thousand rows (1,250 rows, d = 3:
    1.4 ms on 2 threads against 2.2 ms on one), so concurrent single-threaded
    searches finish sooner."""
    before = getattr(_local, "single", False)
    _local.single = True
    numba = sys.modules.get("numba")  # its thread count is per calling thread
    threads = numba.get_num_threads() if numba is not None else None
    if numba is not None:
        numba.set_num_threads(1)
    try:
        yield
    finally:
        _local.single = before
        if threads is not None:
            numba.set_num_threads(threads)


@contextmanager
def blas_threads(threads: int | None = None):
    """Within: NumPy's BLAS runs on ``threads`` threads (default: 1 inside
    :func:`one_thread_each`, else ``INFOCLI_NUM_THREADS`` when set, else BLAS's
    own setting is left alone). BLAS thread counts are process-wide: the setting
    is restored on exit, and :func:`parallel_map` sets 1 for all of its parts at
    once. Uses threadpoolctl when it is installed (it is not a dependency of
    infocli); without it BLAS keeps its own thread count."""
    if threads is None:
        threads = 1 if getattr(_local, "single", False) else _env_threads()
    if threads is None:
        yield
        return
    try:
        from threadpoolctl import threadpool_limits
    except ImportError:
        yield
        return
    with _BLAS_LOCK:
        if _blas[1] == 0:
            _blas[0] = threadpool_limits(threads, user_api="blas")
        _blas[1] += 1
    try:
        yield
    finally:
        with _BLAS_LOCK:
            _blas[1] -= 1
            if _blas[1] == 0:
                _blas[0].restore_original_limits()
                _blas[0] = None


_BLAS_LOCK = threading.Lock()
#: [limiter, holders]: the first holder sets the limit, the last one restores it
_blas: list = [None, 0]


def parallel_map(fn, items: list) -> list:
    """``[fn(item) for item in items]``, run on up to :func:`thread_budget` threads,
    each with single-threaded searches (:func:`one_thread_each`) and NumPy's BLAS on
    one thread (:func:`blas_threads`). For independent neighbour searches that each
    release the GIL in SciPy, numba or NumPy; the results, and any exception, come
    back in the order of ``items``."""
    import time
    from concurrent.futures import ThreadPoolExecutor

    workers = min(len(items), thread_budget())
    if workers < 2:
        return [fn(item) for item in items]

    def one(item):
        with one_thread_each():
            return fn(item)

    # small work (a few hundred rows): starting threads and BLAS limits costs more
    # than the parts; the first part, timed, decides. Same results either way.
    start = time.perf_counter()
    first = one(items[0])
    if (time.perf_counter() - start) * (len(items) - 1) < SERIAL_SECONDS:
        return [first] + [one(item) for item in items[1:]]
    pool = ThreadPoolExecutor(min(workers, len(items) - 1), thread_name_prefix="infocli-search")
    try:
        with blas_threads(1):  # BLAS is process-wide: one thread for every part at once
            return [first] + list(pool.map(one, items[1:]))
    finally:
        # on an error or Ctrl-C, the items not started yet are dropped; the running
        # ones finish first (a search in C cannot be stopped halfway)
        pool.shutdown(wait=True, cancel_futures=True)


def choose_backend(backend: str, dim: int, ctx: Context) -> tuple[str, str]:
    """(backend, device) for a search in ``dim`` dimensions."""
    device = ctx.device
    if backend == "auto":
        backend = "brute" if (device.startswith("cuda") or dim > KDTREE_MAX_DIM) else "kdtree"
    if backend == "kdtree":
        if device.startswith("cuda"):
            ctx.warn("backend=kdtree runs on the CPU; --device cuda was not used")
        return "kdtree", "cpu"
    return "brute", resolve_torch_device(device)


@dataclass(frozen=True)
class SearchPlan:
    """What a search runs: ``backend`` "kdtree" or "brute", ``device``, and
    ``norm`` "chebyshev" (max over all coordinates) or "euclidean" (within each
    block of columns, max across blocks)."""

    backend: str
    device: str
    norm: str

    def record(self, ctx: Context, blocks: int) -> None:
        """Say in ``ctx.details["neighbors"]`` what ran (a list when the searches
        of one estimate differ)."""
        if self.norm == "chebyshev":
            norm = "max over all coordinates"
        elif blocks > 1:
            norm = "euclidean within each variable, max across them"
        else:
            norm = "euclidean"
        info = {"backend": self.backend, "device": self.device, "norm": norm}
        if self.backend == "brute" and self.norm == "euclidean":
            info["arithmetic"] = ("float32 matrix products, undecided pairs rechecked "
                                  "exactly in float64")
        got = ctx.details.get("neighbors")
        if got is None:
            ctx.details["neighbors"] = info
        elif isinstance(got, dict) and got != info:
            ctx.details["neighbors"] = [got, info]
        elif isinstance(got, list) and info not in got:
            got.append(info)


def plan_search(dim: int, metric: str, backend: str, ctx: Context) -> SearchPlan:
    """The one rule: back-end from :func:`choose_backend`; ``metric="auto"``
    (KSG-type estimators) is the max norm except on the brute force above
    ``KDTREE_MAX_DIM`` joint dimensions, where it is Euclidean within blocks."""
    backend, device = choose_backend(backend, dim, ctx)
    if metric == "auto":
        metric = "euclidean" if backend == "brute" and dim > KDTREE_MAX_DIM else "chebyshev"
    return SearchPlan(backend, device, metric)


def _blas_search(blocks, plan: SearchPlan, ctx: Context, label: str, **kw):
    """The matrix-product search (:func:`._brute.search`). On the CPU its row blocks
    run side by side on :func:`thread_budget` threads with one BLAS thread each
    (NumPy's elementwise work is single-threaded); inside :func:`one_thread_each`
    (parts of :func:`parallel_map`) on one thread with one BLAS thread."""
    from ._brute import search

    workers = 1 if getattr(_local, "single", False) else thread_budget()
    with blas_threads(1 if workers > 1 else None):
        return search(blocks, device=plan.device, library=CPU_LIBRARY,
                      block_bytes=BLOCK_BYTES, workers=workers,
                      progress=lambda done, total: ctx.report(label, done, total), **kw)


def kneighbor_distances(x: np.ndarray, k: int, ctx: Context, *, metric: str, backend: str,
                        label: str) -> np.ndarray:
    """Distances (n_samples, k) from each row of ``x`` to its k nearest other rows,
    ascending. ``metric``: "euclidean", "chebyshev" or "auto" (see
    :func:`plan_search`)."""
    plan = plan_search(x.shape[1], metric, backend, ctx)
    plan.record(ctx, 1)
    if plan.backend == "brute" and plan.norm == "euclidean":
        return _blas_search([x], plan, ctx, label, k=k).dist
    return NeighborIndex(x, plan.norm, ctx, plan.backend, label=label).kneighbors(k)[0]


def radius_counts(x: np.ndarray, radii: np.ndarray, ctx: Context, *, strict: bool,
                  metric: str, backend: str, label: str) -> np.ndarray:
    """For each row i of ``x``, how many other rows lie within radii[i] (< with
    ``strict``, else <=)."""
    plan = plan_search(x.shape[1], metric, backend, ctx)
    plan.record(ctx, 1)
    if plan.backend == "brute" and plan.norm == "euclidean":
        return _blas_search([x], plan, ctx, label, subsets=[(0,)], radii=radii,
                            strict=strict).counts[0]
    return NeighborIndex(x, plan.norm, ctx, plan.backend, label=label).count_within(
        radii, strict=strict)


def joint_counts(blocks: list[np.ndarray], subsets: list[tuple[int, ...]], k: int,
                 ctx: Context, *, backend: str, algorithm: int = 1,
                 labels: list[str] | None = None) -> list[np.ndarray]:
    """KSG-type neighbour counts, one array (n_samples,) per subset of blocks.

    The joint distance is the max over all ``blocks`` (x, y[, z]); with
    ``algorithm=1`` each subset counts the other rows strictly within the k-th
    joint neighbour distance eps_i (KSG algorithm 1, Frenzel-Pompe); with
    ``algorithm=2`` within (<=) the largest distance on the subset among the k
    joint neighbours (KSG algorithm 2). On a subset the distance is the max over
    its blocks, each block's norm from :func:`plan_search`.
    """
    dim = sum(b.shape[1] for b in blocks)
    plan = plan_search(dim, "auto", backend, ctx)
    plan.record(ctx, len(blocks))
    labels = labels or [f"count {s}" for s in subsets]
    if plan.backend == "brute" and plan.norm == "euclidean":
        found = _blas_search(blocks, plan, ctx, "kNN joint", k=k, subsets=subsets,
                             strict=algorithm == 1, marginal=algorithm == 2)
        return found.counts
    joint = NeighborIndex(np.hstack(blocks), "chebyshev", ctx, plan.backend, label="kNN joint")
    dist, idx = joint.kneighbors(k)
    del joint
    out = []
    for s, label in zip(subsets, labels):
        xs = blocks[s[0]] if len(s) == 1 else np.hstack([blocks[b] for b in s])
        index = NeighborIndex(xs, "chebyshev", ctx, plan.backend, label=label)
        if algorithm == 1:
            out.append(index.count_within(dist[:, k - 1], strict=True))
        else:
            # the largest marginal distance among the k joint neighbours; counts
            # include points at exactly that distance
            eps = np.abs(xs[idx] - xs[:, None, :]).max(axis=(1, 2))
            out.append(index.count_within(eps, strict=False))
    return out


class NeighborIndex:
    """Exact neighbour queries among the rows of ``x`` themselves.

    Parameters
    ----------
    x : ndarray (n_samples, n_dims), float64
    metric : "chebyshev" (max norm) or "euclidean"
    """

    def __init__(self, x: np.ndarray, metric: str, ctx: Context, backend: str = "auto",
                 label: str = "neighbours"):
        self.x = np.ascontiguousarray(x, dtype=np.float64)
        self.n, self.dim = self.x.shape
        self.metric = metric
        self.p = np.inf if metric == "chebyshev" else 2.0
        self.ctx = ctx
        self.label = label
        self.backend, self.device = choose_backend(backend, self.dim, ctx)
        if self.device != "cpu":
            ctx.device_used = self.device
        self._tree = None
        self._nbtree = None
        self._torch_x = None
        self._small = (self.backend == "kdtree" and metric == "chebyshev"
                       and self.n <= SMALL_N)

    # -- kd-tree helpers -------------------------------------------------
    def _kdtree(self):
        if self._tree is None:
            from scipy.spatial import cKDTree

            self._tree = cKDTree(self.x, leafsize=16, balanced_tree=False, compact_nodes=False)
        return self._tree

    def _numba_tree(self):
        if self._nbtree is None:
            from ._kdtree import KDTree

            with _numba_guard():
                self._nbtree = KDTree(self.x)
        return self._nbtree

    def _report(self, done, total):
        self.ctx.report(self.label, done, total)

    def _torch(self):
        if self._torch_x is None:
            import torch

            self._torch_x = torch.as_tensor(self.x, device=self.device)
        return self._torch_x

    def _block_rows(self) -> int:
        return int(max(1, min(self.n, BLOCK_BYTES // (8 * max(self.n, 1)))))

    def _pair_blocks(self):
        """(start, stop, distances) blocks of the max-norm distances from rows
        start:stop to every row, a row's distance to itself set to inf."""
        rows = max(1, min(self.n, _SMALL_BYTES // (8 * max(self.n * self.dim, 1))))
        for s in range(0, self.n, rows):
            e = min(s + rows, self.n)
            d = np.abs(self.x[s:e, None, :] - self.x[None, :, :]).max(axis=2)
            d[np.arange(e - s), np.arange(s, e)] = np.inf
            yield s, e, d

    # -- queries ---------------------------------------------------------
    def kneighbors(self, k: int) -> tuple[np.ndarray, np.ndarray]:
        """Distances and indices of the k nearest other rows, ascending."""
        if self._small:
            dist = np.empty((self.n, k))
            idx = np.empty((self.n, k), dtype=np.intp)
            for s, e, d in self._pair_blocks():
                part = np.argpartition(d, k - 1, axis=1)[:, :k]
                dp = np.take_along_axis(d, part, axis=1)
                order = np.argsort(dp, axis=1, kind="stable")
                dist[s:e] = np.take_along_axis(dp, order, axis=1)
                idx[s:e] = np.take_along_axis(part, order, axis=1)
            self.ctx.report(self.label, self.n, self.n)
            return dist, idx
        if self.backend == "kdtree":
            if self.dim <= CKDTREE_MAX_DIM:
                return self._kneighbors_kdtree(k)
            tree = self._numba_tree()
            with _numba_guard():
                return tree.knn(k, self.metric, _CHUNK, self._report)
        return self._kneighbors_brute(k)

    def _kneighbors_kdtree(self, k):
        tree = self._kdtree()
        order = tree.indices  # tree order: neighbouring queries share cache lines
        xq = self.x[order]
        dist = np.empty((self.n, k))
        idx = np.empty((self.n, k), dtype=np.intp)
        for s in range(0, self.n, _CHUNK):
            e = min(s + _CHUNK, self.n)
            d, i = tree.query(xq[s:e], k=k + 1, p=self.p, workers=_tree_threads())
            # Column 0 is the point itself unless exact duplicates exist; drop
            # the query's own index wherever it appears.
            own = order[s:e, None]
            is_self = i == own
            has_self = is_self.any(axis=1)
            keep = ~is_self
            keep[~has_self, k] = False  # no self found: drop the farthest
            dist[order[s:e]] = d[keep].reshape(e - s, k)
            idx[order[s:e]] = i[keep].reshape(e - s, k)
            self.ctx.report(self.label, e, self.n)
        return dist, idx

    def _kneighbors_brute(self, k):
        import torch

        xt = self._torch()
        dist = np.empty((self.n, k))
        idx = np.empty((self.n, k), dtype=np.int64)
        b = self._block_rows()
        for s in range(0, self.n, b):
            e = min(s + b, self.n)
            d = torch.cdist(xt[s:e], xt, p=self.p, compute_mode="donot_use_mm_for_euclid_dist")
            d[torch.arange(e - s), torch.arange(s, e)] = float("inf")
            v, i = torch.topk(d, k, dim=1, largest=False, sorted=True)
            dist[s:e] = v.cpu().numpy()
            idx[s:e] = i.cpu().numpy()
            self.ctx.report(self.label, e, self.n)
        return dist, idx

    def count_within(self, radii: np.ndarray, *, strict: bool) -> np.ndarray:
        """For each row i, how many other rows lie within radii[i].

        ``strict=True`` counts distances < r, otherwise <= r.
        """
        radii = np.asarray(radii, dtype=np.float64)
        if self.dim == 1:
            return self._count_sorted(radii, strict)
        if self._small:
            out = np.empty(self.n, dtype=np.int64)
            for s, e, d in self._pair_blocks():
                r = radii[s:e, None]
                out[s:e] = ((d < r) if strict else (d <= r)).sum(axis=1)
            self.ctx.report(self.label, self.n, self.n)
            return out
        if self.backend == "kdtree" and self.metric == "chebyshev":
            tree = self._numba_tree()
            with _numba_guard():
                return tree.count_within(radii, strict, _CHUNK, self._report)
        if self.backend == "kdtree":
            tree = self._kdtree()
            order = tree.indices
            r = np.nextafter(radii, 0) if strict else radii
            out = np.empty(self.n, dtype=np.int64)
            xq = self.x[order]
            rq = r[order]
            for s in range(0, self.n, _CHUNK):
                e = min(s + _CHUNK, self.n)
                out[order[s:e]] = tree.query_ball_point(
                    xq[s:e], rq[s:e], p=self.p, return_length=True, workers=_tree_threads()
                )
                self.ctx.report(self.label, e, self.n)
            return out - 1  # the point itself
        return self._count_brute(radii, strict)

    def _count_sorted(self, radii, strict):
        v = self.x[:, 0]
        order = np.argsort(v, kind="stable")
        s = v[order]
        r = radii[order]
        if strict:  # x - r < v_j < x + r
            hi = np.searchsorted(s, s + r, side="left")
            lo = np.searchsorted(s, s - r, side="right")
        else:  # x - r <= v_j <= x + r
            hi = np.searchsorted(s, s + r, side="right")
            lo = np.searchsorted(s, s - r, side="left")
        # s +- r is rounded, so a cut can land one place off: a point at exactly
        # distance r (the k-th neighbour itself) was counted. Let the distances
        # |v_j - x|, computed as the neighbour search computes them, decide.
        hi = _settle(s, r, hi, strict, upper=True)
        lo = _settle(s, r, lo, strict, upper=False)
        out = np.empty(self.n, dtype=np.int64)
        out[order] = hi - lo - 1
        return out

    def _count_brute(self, radii, strict):
        import torch

        xt = self._torch()
        rt = torch.as_tensor(radii, device=xt.device)
        out = np.empty(self.n, dtype=np.int64)
        b = self._block_rows()
        for s in range(0, self.n, b):
            e = min(s + b, self.n)
            d = torch.cdist(xt[s:e], xt, p=self.p, compute_mode="donot_use_mm_for_euclid_dist")
            r = rt[s:e, None]
            inside = (d < r) if strict else (d <= r)
            out[s:e] = inside.sum(dim=1).cpu().numpy() - 1
            self.ctx.report(self.label, e, self.n)
        return out


def _settle(s: np.ndarray, r: np.ndarray, cut: np.ndarray, strict: bool, *,
            upper: bool) -> np.ndarray:
    """Move each cut of sorted ``s`` until exactly the points with |s_j - s_i| < r_i
    (<= r_i unless ``strict``) lie inside: [lo, hi) around point i."""
    n = len(s)
    i = np.arange(n)

    def inside(j):
        d = np.abs(s[np.clip(j, 0, n - 1)] - s)
        return (d < r) if strict else (d <= r)

    cut = cut.copy()
    while True:
        if upper:  # s[hi] inside -> hi + 1; s[hi - 1] outside -> hi - 1
            grow = (cut < n) & inside(cut)
            shrink = (cut - 1 > i) & ~inside(cut - 1)
            step = grow.astype(np.int64) - shrink
        else:  # s[lo - 1] inside -> lo - 1; s[lo] outside -> lo + 1
            grow = (cut > 0) & inside(cut - 1)
            shrink = (cut < i) & ~inside(cut)
            step = shrink.astype(np.int64) - grow
        if not step.any():
            return cut
        cut += step
