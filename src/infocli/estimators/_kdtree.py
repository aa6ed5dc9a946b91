"""A compact kd-tree compiled with numba for the two queries kNN estimators need.

* ``knn``: the k nearest other points of every indexed point (max norm or
  Euclidean), exact, best-first depth-first search with bounding-box pruning.
* ``count_box``: for every point, how many other points lie within its own
  radius (max norm, strict or not). Nodes whose bounding box lies entirely
  inside the query box are counted in O(1) from their size, so the cost
  follows the boundary of the box rather than the number of points inside it,
  which is what makes KSG's marginal counts in several dimensions fast.

Queries run in tree order (neighbouring queries share cache lines) and in
parallel over all cores (``numba.prange``). Compiled functions are cached on
disk after the first call.
"""

from __future__ import annotations

import numpy as np
from numba import prange

from ._jit import njit, torch_threads_kept

LEAF_SIZE = 12


@njit(inline="always")
def _swap(xw, perm, a, b):
    if a != b:
        t = perm[a]
        perm[a] = perm[b]
        perm[b] = t
        for j in range(xw.shape[1]):
            v = xw[a, j]
            xw[a, j] = xw[b, j]
            xw[b, j] = v


@njit(cache=True)
def _select(xw, perm, j, lo, hi, kth):
    """Reorder rows lo..hi of xw (and perm alike) so that row kth holds the kth
    value of column j, smaller values before it, larger after (quickselect)."""
    while hi > lo:
        mid = (lo + hi) // 2
        a = xw[lo, j]
        b = xw[mid, j]
        c = xw[hi, j]
        if (a <= b <= c) or (c <= b <= a):
            piv = mid
        elif (b <= a <= c) or (c <= a <= b):
            piv = lo
        else:
            piv = hi
        pv = xw[piv, j]
        _swap(xw, perm, piv, hi)
        store = lo
        for t in range(lo, hi):
            if xw[t, j] < pv:
                _swap(xw, perm, t, store)
                store += 1
        _swap(xw, perm, store, hi)
        if store == kth:
            return
        if store < kth:
            lo = store + 1
        else:
            hi = store - 1


@njit(cache=True)
def _build(x, leaf_size):
    """Median-split kd-tree; returns the tree-ordered copy of x and the nodes."""
    n, d = x.shape
    xw = x.copy()
    perm = np.arange(n)
    max_nodes = 2 * (n // max(leaf_size // 2, 1) + 1) + 1
    start = np.empty(max_nodes, np.int64)
    end = np.empty(max_nodes, np.int64)
    left = np.full(max_nodes, -1, np.int64)
    right = np.full(max_nodes, -1, np.int64)
    lo = np.empty((max_nodes, d))
    hi = np.empty((max_nodes, d))
    stack = np.empty(128, np.int64)
    start[0] = 0
    end[0] = n
    n_nodes = 1
    top = 0
    stack[0] = 0
    while top >= 0:
        node = stack[top]
        top -= 1
        s = start[node]
        e = end[node]
        for j in range(d):
            lo[node, j] = xw[s, j]
            hi[node, j] = xw[s, j]
        for t in range(s + 1, e):
            for j in range(d):
                v = xw[t, j]
                if v < lo[node, j]:
                    lo[node, j] = v
                elif v > hi[node, j]:
                    hi[node, j] = v
        if e - s <= leaf_size:
            continue
        split = 0
        spread = -1.0
        for j in range(d):
            if hi[node, j] - lo[node, j] > spread:
                spread = hi[node, j] - lo[node, j]
                split = j
        if spread <= 0.0:
            continue  # all points identical: keep as a leaf
        mid = s + (e - s) // 2
        _select(xw, perm, split, s, e - 1, mid)
        left[node] = n_nodes
        right[node] = n_nodes + 1
        start[n_nodes] = s
        end[n_nodes] = mid
        start[n_nodes + 1] = mid
        end[n_nodes + 1] = e
        top += 1
        stack[top] = n_nodes
        top += 1
        stack[top] = n_nodes + 1
        n_nodes += 2
    return xw, perm, start[:n_nodes], end[:n_nodes], left[:n_nodes], right[:n_nodes], \
        lo[:n_nodes].copy(), hi[:n_nodes].copy()


@njit(inline="always")
def _box_dist(q, lo, hi, node, cheb):
    acc = 0.0
    for j in range(q.shape[0]):
        v = lo[node, j] - q[j]
        w = q[j] - hi[node, j]
        if w > v:
            v = w
        if v > 0.0:
            if cheb:
                if v > acc:
                    acc = v
            else:
                acc += v * v
    return acc


@njit(parallel=True, cache=True)
def _knn(xs, start, end, left, right, lo, hi, k, cheb, first, last):
    """k nearest other points of xs[first:last] (tree order); squared for Euclidean."""
    d = xs.shape[1]
    m = last - first
    out_d = np.empty((m, k))
    out_i = np.empty((m, k), np.int64)
    for qi in prange(m):
        q = xs[first + qi]
        self_i = first + qi
        best = np.full(k, np.inf)
        bidx = np.full(k, -1, np.int64)
        stack = np.empty(256, np.int64)
        sdist = np.empty(256)
        top = 0
        stack[0] = 0
        sdist[0] = 0.0
        while top >= 0:
            node = stack[top]
            nd = sdist[top]
            top -= 1
            if nd > best[k - 1]:
                continue
            if left[node] < 0:
                for t in range(start[node], end[node]):
                    if t == self_i:
                        continue
                    bound = best[k - 1]
                    acc = 0.0
                    for j in range(d):
                        diff = abs(xs[t, j] - q[j])
                        if cheb:
                            if diff > acc:
                                acc = diff
                        else:
                            acc += diff * diff
                        if acc > bound:
                            break
                    if acc < bound or (acc == bound and bidx[k - 1] < 0):
                        pos = k - 1
                        while pos > 0 and best[pos - 1] > acc:
                            best[pos] = best[pos - 1]
                            bidx[pos] = bidx[pos - 1]
                            pos -= 1
                        best[pos] = acc
                        bidx[pos] = t
                continue
            a = left[node]
            b = right[node]
            da = _box_dist(q, lo, hi, a, cheb)
            db = _box_dist(q, lo, hi, b, cheb)
            if da <= db:  # push the farther child first: the nearer is searched first
                top += 1
                stack[top] = b
                sdist[top] = db
                top += 1
                stack[top] = a
                sdist[top] = da
            else:
                top += 1
                stack[top] = a
                sdist[top] = da
                top += 1
                stack[top] = b
                sdist[top] = db
        out_d[qi] = best
        out_i[qi] = bidx
    return out_d, out_i


@njit(parallel=True, cache=True)
def _count_box(xs, start, end, left, right, lo, hi, radii, strict, first, last):
    """Number of other points within max-norm radius radii[i] of xs[i], i in [first, last)."""
    d = xs.shape[1]
    m = last - first
    out = np.zeros(m, np.int64)
    for qi in prange(m):
        q = xs[first + qi]
        r = radii[first + qi]
        count = 0
        stack = np.empty(256, np.int64)
        top = 0
        stack[0] = 0
        while top >= 0:
            node = stack[top]
            top -= 1
            inside = True
            outside = False
            for j in range(d):
                a = lo[node, j] - q[j]
                b = hi[node, j] - q[j]
                if strict:
                    if a >= r or b <= -r:
                        outside = True
                        break
                    if a <= -r or b >= r:
                        inside = False
                else:
                    if a > r or b < -r:
                        outside = True
                        break
                    if a < -r or b > r:
                        inside = False
            if outside:
                continue
            if inside:
                count += end[node] - start[node]
                continue
            if left[node] < 0:
                for t in range(start[node], end[node]):
                    ok = True
                    for j in range(d):
                        diff = abs(xs[t, j] - q[j])
                        if (strict and diff >= r) or ((not strict) and diff > r):
                            ok = False
                            break
                    if ok:
                        count += 1
                continue
            top += 1
            stack[top] = left[node]
            top += 1
            stack[top] = right[node]
        out[qi] = count - 1  # the point itself is always inside its own box
    return out


class KDTree:
    """kd-tree over the rows of ``x`` for self-queries (see module docstring)."""

    def __init__(self, x: np.ndarray, leaf_size: int = LEAF_SIZE):
        x = np.ascontiguousarray(x, dtype=np.float64)
        self.n = x.shape[0]
        (self.xs, self.perm, self._start, self._end, self._left, self._right, self._lo,
         self._hi) = _build(x, leaf_size)

    def _nodes(self):
        return self._start, self._end, self._left, self._right, self._lo, self._hi

    def knn(self, k: int, metric: str, chunk: int, report=None):
        """Distances (ascending) and original indices of the k nearest other rows."""
        cheb = metric == "chebyshev"
        dist = np.empty((self.n, k))
        idx = np.empty((self.n, k), np.int64)
        for s in range(0, self.n, chunk):
            e = min(s + chunk, self.n)
            with torch_threads_kept():
                dd, ii = _knn(self.xs, *self._nodes(), k, cheb, s, e)
            rows = self.perm[s:e]
            dist[rows] = dd if cheb else np.sqrt(dd)
            idx[rows] = self.perm[ii]
            if report is not None:
                report(e, self.n)
        return dist, idx

    def count_within(self, radii: np.ndarray, strict: bool, chunk: int, report=None):
        """Max-norm counts of other rows within radii (given in original row order)."""
        r = np.ascontiguousarray(np.asarray(radii, dtype=np.float64)[self.perm])
        out = np.empty(self.n, np.int64)
        for s in range(0, self.n, chunk):
            e = min(s + chunk, self.n)
            with torch_threads_kept():
                out[self.perm[s:e]] = _count_box(self.xs, *self._nodes(), r, strict, s, e)
            if report is not None:
                report(e, self.n)
        return out
